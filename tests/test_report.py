"""Session reports on a recorded simulated session: the HTML is self-contained (opens in
headless Chromium with no console error and no request leaving the machine), the PDF
renders to pages, and every number equals the library's (``trm-bio show --format json``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from devices.simulated import Artifacts, simulate
from tests.cli_run import Outcome, run, run_process
from trm_bio.core.regulation import RMSSD_WINDOW_S
from trm_bio.errors import InputFileError
from trm_bio.history import analyse_session
from trm_bio.report import save_session_report
from trm_bio.report.data import build_report
from trm_bio.report.plots import session_figure
from trm_bio.session import Session
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder
from trm_bio.zone_display import ZoneScale, zone_positions

START_NS = 1_000_000_000_000
TRICKY_NOTE = 'felt "odd" <script>alert(1)</script> & <img src=https://example.com/x.png>'


def trm(*args: str, library: Path) -> Outcome:
    return run(*args, library=library, check=True)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, object]:
    """A 10-minute stress session with artifacts, a link drop and logged events; its
    report written by the command line as HTML (as its own process, end to end) and PDF,
    and ``show --format json``."""
    folder = tmp_path_factory.mktemp("report")
    path = folder / "library.sqlite3"
    with Library.open(path) as library:
        person = library.add_person("P-07")
        session_id = library.create_session(person, "simulated", "sim", start_ns=START_NS)
        session = Session(START_NS, recorder=Recorder(library, session_id))
        items = list(simulate(
            "stress", seed=4, duration_s=600.0, start_ns=START_NS,
            artifacts=Artifacts(missed_rate=0.01, ectopic_rate=0.005),
            link_drops=((450.0, 465.0),),
        ))
        events = [
            (200.0, "flow", {"kind": "skill_started", "skill_id": "grounding",
                             "detail": "Grounding"}),
            (205.0, "flow", {"kind": "step_started", "skill_id": "grounding", "step_index": 0,
                             "prompt": "Notice what supports you"}),
            (250.0, "sensation", {"valence": "pleasant", "words": ["warm", "settled"],
                                  "location": "chest", "intensity": 3, "note": TRICKY_NOTE}),
            (300.0, "zone_rating", {"zone": "high", "note": ""}),
            (330.0, "flow", {"kind": "skill_started", "skill_id": "resourcing",
                             "detail": "Resourcing <& intensification>"}),
            (340.0, "resource", {"text": "grandmother's garden"}),
            (420.0, "sensation", {"valence": "unpleasant", "words": ["tight"], "location": None,
                                  "intensity": None, "note": ""}),
            (560.0, "zone_rating", {"zone": "resilient", "note": ""}),
        ]
        for item in items:
            session.process([item])
            now_s = (item.host_ns - START_NS) / 1e9
            while events and events[0][0] <= now_s:
                t, kind, payload = events.pop(0)
                session.log(kind, payload, START_NS + int(t * 1e9), time_s=t)
            session.tick(item.host_ns)
        session.close()
        library.finish_session(session_id, duration_s=600.0)
    html_path, pdf_path = folder / "report.html", folder / "report.pdf"
    run_process("report", str(session_id), "-o", str(html_path), library=path, check=True)
    trm("report", str(session_id), "-o", str(pdf_path), library=path)
    shown = json.loads(trm("show", str(session_id), "--format", "json", library=path).out)
    return {"library": path, "session": session_id, "html": html_path, "pdf": pdf_path,
            "shown": shown}


class _Collector(HTMLParser):
    """The embedded JSON block, every data-value cell, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.json_text = ""
        self._in_json = False
        self.scripts = 0
        self.values: dict[tuple[str, str], str] = {}
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
            self._in_json = a.get("type") == "application/json"
        for name in ("src", "href", "action", "poster"):
            if a.get(name):
                self.urls.append(a[name] or "")
        for group in ("metric", "nonlinear"):
            if f"data-{group}" in a:
                self.values[(group, a[f"data-{group}"] or "")] = a.get("data-value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json = False

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.json_text += data


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def test_report_numbers_equal_the_library(recorded) -> None:
    page = parse(Path(recorded["html"]).read_text(encoding="utf-8"))
    embedded = json.loads(page.json_text)
    shown = recorded["shown"]
    assert embedded["summary"] == shown  # every number, exactly (JSON floats round-trip)
    assert shown["quality"]["segments"] == 2 and shown["quality"]["artifacts"] > 0
    metrics = shown["metrics"]
    shown_cells = {k for (g, k) in page.values if g == "metric"}
    assert {"HR", "RMSSD", "SDNN", "SD1", "SD2"} <= shown_cells
    for (group, key), raw in page.values.items():
        source = metrics if group == "metric" else embedded["nonlinear"]
        assert (float(raw) if raw else None) == source[key], key
    nonlinear = embedded["nonlinear"]
    assert 0.3 < nonlinear["DFA_alpha1"] < 1.8
    assert 0.1 < nonlinear["SampEn"] < 3.0 and nonlinear["SampEnWindows"] >= 1
    # The per-skill effect table and the timeline list what was logged.
    assert len(embedded["summary"]["effects"]["items"]) == len(shown["effects"]["items"]) >= 4
    html = Path(recorded["html"]).read_text(encoding="utf-8")
    assert "Resourcing &lt;&amp; intensification&gt;" in html
    assert "not a diagnosis" in html and "How to read this" in html
    assert html.count('data-kind="sensation"') == 2 and html.count('data-kind="rating"') == 2


def test_report_counts_zone_time_and_leaves_the_link_drop_blank(recorded) -> None:
    """Zone shares by time with the gap and unknown time left out and said; the strip and
    the trace leave the 15 s link drop empty; the trace is the app's own positions."""
    shown = recorded["shown"]
    seconds = shown["zone_seconds"]
    assert 14.0 < seconds["gaps"] < 20.0  # the link drop at 450-465 s
    known = seconds["low"] + seconds["resilient"] + seconds["high"]
    for zone, share in shown["zones"].items():
        assert share == pytest.approx(seconds[zone] / known)
    html = Path(recorded["html"]).read_text(encoding="utf-8")
    assert "with a reading; not counted:" in html and "paused or without a signal" in html
    assert "no measurable change" in html and "no clear change" not in html
    with Library.open(recorded["library"]) as library:
        result = analyse_session(library, recorded["session"], cache=False)
    report = build_report(result)
    s = report.series
    (gap_start, gap_end), = s.gaps
    assert gap_end - gap_start > 14.0
    assert all(b <= gap_start or a >= gap_end for a, b, _ in s.zone_runs)
    # The strip's runs add up to the time shares exactly.
    for code, name in ((1, "high"), (0, "resilient"), (-1, "low")):
        painted = sum(b - a for a, b, c in s.zone_runs if c == code)
        assert painted == pytest.approx(seconds[name])
    reg = result.regulation
    expected = zone_positions(
        reg.arousal, reg.lowness, reg.zone, ZoneScale(-report.low_enter, report.high_enter)
    )
    assert np.array_equal(s.position, expected, equal_nan=True)
    fig = session_figure(report)
    lines = fig.axes[2].get_lines()
    drawn = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in lines[1:]])
    assert np.nanmax(drawn) <= ZoneScale().view[1] and np.isfinite(drawn).any()
    # Every Low beat is drawn below the band, never above it.
    low = s.zone == -1
    assert np.all(s.position[low] < -report.low_enter)


def test_report_is_self_contained_and_escapes_everything(recorded) -> None:
    html = Path(recorded["html"]).read_text(encoding="utf-8")
    page = parse(html)
    assert page.scripts == 1  # only the JSON block: the logged "<script>" stayed text
    assert all(u.startswith("data:") for u in page.urls), page.urls
    assert not re.search(r"url\(\s*['\"]?(?!data:)", html)
    assert "<img src=https" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html


def test_report_says_which_rmssd_window_each_display_uses(recorded) -> None:
    text = re.sub(r"\s+", " ", Path(recorded["html"]).read_text(encoding="utf-8"))
    # The plot shows the 60 s RMSSD; the zone indicator reads the model's own 120 s window.
    assert "RMSSD on the plot uses a 60 s window" in text
    assert f"RMSSD over {RMSSD_WINDOW_S:.0f} s" in text and RMSSD_WINDOW_S == 120.0


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _page_requests(netlog: Path) -> list[str]:
    """URLs the page itself asked the network stack for (Chromium's own traffic excluded)."""
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = {}
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) == "REQUEST_ALIVE":
            continue
        if "url" in params:
            urls.setdefault(event["source"]["id"], params["url"])
    page_sources = {
        event["source"]["id"]
        for event in log["events"]
        if names.get(event["type"]) == "URL_REQUEST_START_JOB"
        and "file://" in str((event.get("params") or {}).get("network_isolation_key", ""))
    }
    return [urls[s] for s in page_sources if s in urls]


def _open_in_chromium(page: Path, tmp_path: Path) -> tuple[str, str, list[str]]:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium)")
    netlog = tmp_path / "netlog.json"
    out = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", f"--user-data-dir={tmp_path / 'profile'}",
         "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout, out.stderr, _page_requests(netlog)


def test_report_opens_in_headless_chromium_without_errors_or_requests(recorded,
                                                                      tmp_path) -> None:
    dom, log, requests = _open_in_chromium(Path(recorded["html"]), tmp_path)
    assert "Session report: P-07" in dom and 'id="trm-bio-data"' in dom
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert console == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []


def test_the_checks_would_catch_a_remote_image_and_a_console_error(tmp_path) -> None:
    """The checks are real: a page with a remote image and a console error shows both."""
    page = tmp_path / "remote.html"
    page.write_text('<!DOCTYPE html><img src="https://example.com/x.png">'
                    '<script>console.error("report-check")</script>')
    _, log, requests = _open_in_chromium(page, tmp_path)
    assert "https://example.com/x.png" in requests
    assert any("CONSOLE" in line and "report-check" in line for line in log.splitlines())


def test_pdf_renders_to_pages_with_the_same_numbers(recorded, tmp_path) -> None:
    pdf = Path(recorded["pdf"])
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3 and all(p.stat().st_size > 1000 for p in pages)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    metrics = recorded["shown"]["metrics"]
    assert "Session report: P-07" in text and "not a diagnosis" in text
    assert f"{metrics['RMSSD']:.4g}" in text and f"{metrics['HR']:.4g}" in text


def test_save_report_from_an_analysis_and_unwritable_path(recorded, tmp_path) -> None:
    with Library.open(recorded["library"], readonly=True) as library:
        result = analyse_session(library, recorded["session"], cache=False)
    report = build_report(result)
    assert [m.kind for m in report.sensations] == ["sensation", "sensation"]
    assert [m.rating for m in report.ratings] == ["high", "resilient"]
    written = save_session_report(result, tmp_path / "r.html")
    assert parse(written.read_text()).json_text
    with pytest.raises(InputFileError):
        save_session_report(result, tmp_path / "missing-folder" / "r.html")


# -- a person's own words: "$" is a dollar, "<!--" and "</script>" are text --------------------
ODD_SKILL = "Ground $x^$ <!-- </script>"  # "$x^$" is a mathtext syntax error
ODD_RESOURCE = "pay $5 & $10 > <!--"  # mathtext would eat the dollars
ODD_PERSON = "P-$a^$"
ODD_NOTES = "cost $5 and $10 </script><!--"


@pytest.fixture(scope="module")
def odd_names(tmp_path_factory) -> dict[str, object]:
    """Two short sessions of a person whose name, notes, skill and resource hold text that
    matplotlib would read as mathtext and that would end or confuse a <script> block."""
    from trm_bio.report.trends import person_trends

    folder = tmp_path_factory.mktemp("odd")
    with Library.open(folder / "library.sqlite3") as library:
        person = library.add_person(ODD_PERSON)
        results = []
        for k in range(2):
            session_id = library.create_session(person, "simulated", "sim", start_ns=START_NS,
                                                notes=ODD_NOTES)
            session = Session(START_NS, recorder=Recorder(library, session_id))
            items = list(simulate("stress", seed=10 + k, duration_s=420.0, start_ns=START_NS))
            events = [
                (200.0, "flow", {"kind": "skill_started", "skill_id": "grounding",
                                 "detail": ODD_SKILL}),
                (260.0, "resource", {"text": ODD_RESOURCE}),
                (300.0, "sensation", {"valence": "pleasant", "words": ["$warm$"],
                                      "note": ODD_NOTES}),
            ]
            for i in range(0, len(items), 60):
                part = items[i : i + 60]
                session.process(part)
                now_s = (part[-1].host_ns - START_NS) / 1e9
                while events and events[0][0] <= now_s:
                    t, kind, payload = events.pop(0)
                    session.log(kind, payload, START_NS + int(t * 1e9), time_s=t)
                session.tick(part[-1].host_ns)
            session.close()
            library.finish_session(session_id, duration_s=420.0)
            results.append(analyse_session(library, session_id))
        trends = person_trends(library, person)
    return {"folder": folder, "analysis": results[-1], "trends": trends}


def _pdf_text(pdf: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None  # CI installs poppler-utils; the PDF was still made without an error
    return subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_odd_text_in_a_session_report_stays_text(odd_names, tmp_path) -> None:
    from trm_bio.report import save_trends_report

    result = odd_names["analysis"]
    html = save_session_report(result, tmp_path / "s.html").read_text(encoding="utf-8")
    page = parse(html)
    assert page.scripts == 1 and "<" not in page.json_text
    expected = json.loads(json.dumps(build_report(result).machine_readable()))
    assert json.loads(page.json_text) == expected
    assert ODD_SKILL in {it["label"] for it in expected["summary"]["effects"]["items"]}
    assert escape(ODD_SKILL) in html and escape(ODD_NOTES) in html
    trends = odd_names["trends"]
    html = save_trends_report(trends, tmp_path / "t.html").read_text(encoding="utf-8")
    page = parse(html)
    assert page.scripts == 1 and "<" not in page.json_text
    assert json.loads(page.json_text) == json.loads(json.dumps(
        {"format": "trm-bio trends", "version": 1, **trends.as_dict()}))
    assert ODD_RESOURCE in {h["label"] for h in json.loads(page.json_text)["helpers"]}


def test_odd_text_in_a_pdf_report_is_printed_as_written(odd_names, tmp_path) -> None:
    from trm_bio.report import save_trends_report

    session_pdf = save_session_report(odd_names["analysis"], tmp_path / "s.pdf")
    trends_pdf = save_trends_report(odd_names["trends"], tmp_path / "t.pdf")
    for pdf in (session_pdf, trends_pdf):
        assert pdf.read_bytes().startswith(b"%PDF")
    text = _pdf_text(session_pdf)
    if text is None:
        pytest.skip("pdftotext (poppler-utils) is not installed to read the PDF back")
    assert f"Session report: {ODD_PERSON}" in text and f"Notes: {ODD_NOTES}" in text
    assert ODD_SKILL in text and ODD_RESOURCE in text and "$warm$" in text
    text = _pdf_text(trends_pdf)
    assert f"Progress over time: {ODD_PERSON}" in text and ODD_RESOURCE in text
