"""What a person reads after a session, in the summary dialog and the reports: sensations in
time order, their own ratings apart from the sensations, the same clock times in the dialog
and the report, names instead of stored ids, the zone indicator as it was shown, "What
helped" without anything followed by a move away, and a PDF that never cuts words."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from devices.simulated import simulate
from trm_bio.core.regulation import Zone
from trm_bio.history import analyse_session
from trm_bio.report import save_session_report
from trm_bio.report.data import build_report, moved_away, zone_at
from trm_bio.report.text import fmt_clock, printable
from trm_bio.session import Session
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder
from trm_bio.ui.summary_view import SummaryDialog

START_NS = 1_000_000_000_000
LONG_NOTE = (
    "a warm wave through my shoulders and my belly that kept on going for a long while and "
    "then slowly eased, like standing in the sun after a swim 🌊 and nothing else mattered"
)
LONG_RESOURCE = "grandmother's garden with the old apple tree and the bench by the pond 🍎"
#: Logged out of time order, as a clinician adds what the person said afterwards.
EVENTS = [
    (420.0, "sensation", {"valence": "unpleasant", "words": ["tight"]}),
    (200.0, "flow", {"kind": "skill_started", "skill_id": "grounding", "detail": "Grounding"}),
    (250.0, "sensation", {"valence": "pleasant", "words": ["warm", "settled"],
                          "location": "upper_chest", "intensity": 3, "note": LONG_NOTE}),
    (299.7, "sensation", {"valence": "neutral", "words": []}),  # no words chosen
    (300.0, "zone_rating", {"zone": "high", "note": ""}),
    (320.0, "flow", {"kind": "helpnow_strategy", "detail": "push_wall", "prompt": "Push"}),
    (340.0, "resource", {"text": LONG_RESOURCE}),
]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A 10-minute session in a library file that leaves the resilient zone at about 4:40."""
    folder = tmp_path_factory.mktemp("words")
    path = folder / "library.sqlite3"
    with Library.open(path) as library:
        person = library.add_person("P-11")
        session_id = library.create_session(person, "simulated", "sim", start_ns=START_NS)
        session = Session(START_NS, recorder=Recorder(library, session_id))
        items = list(simulate("stress", seed=4, duration_s=600.0, start_ns=START_NS))
        for i in range(0, len(items), 60):
            session.process(items[i : i + 60])
            session.tick(items[min(i + 59, len(items) - 1)].host_ns)
        for t, kind, payload in EVENTS:
            session.log(kind, payload, START_NS + int(t * 1e9), time_s=t)
        session.close()
        library.finish_session(session_id, duration_s=600.0)
        analysis = analyse_session(library, session_id)
    html = save_session_report(analysis, folder / "report.html").read_text(encoding="utf-8")
    return {"analysis": analysis, "html": html, "folder": folder}


class _Rows(HTMLParser):
    """The cells of every table row, with the row's data-kind."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append((dict(attrs).get("data-kind") or "", []))
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html_rows(html: str, kind: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(html)
    return [cells for k, cells in parser.rows if k == kind]


def _cells(table) -> list[list[str]]:
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def test_the_dialog_and_the_report_agree_in_time_order(qtbot, stored) -> None:
    analysis, html = stored["analysis"], stored["html"]
    dialog = SummaryDialog(analysis)
    qtbot.addWidget(dialog)
    view = dialog.view
    sensations = _cells(view.sensations_table)
    times = [row[0] for row in sensations]
    # Three sensations, in time order, and the person's zone rating not among them.
    assert times == ["4:10", "4:59", "7:00"]
    assert [row[1] for row in sensations] == ["pleasant", "neutral", "unpleasant"]
    ratings = _cells(view.ratings_table)
    assert [(row[0], row[2]) for row in ratings] == [("5:00", "high")]
    # The report reads the same times, the same way (299.7 s is 4:59 in both).
    reported = _html_rows(html, "sensation")
    assert [row[0] for row in reported] == times
    assert [row[0] for row in _html_rows(html, "rating")] == ["5:00"]
    # No words chosen: the words column stays empty instead of repeating the valence.
    assert sensations[1][2] == "" and reported[1][3] == ""
    assert reported[0][2] == "pleasant" and reported[0][3] == "warm, settled"
    assert sensations[0][3] == "upper chest" and sensations[0][5] == LONG_NOTE
    # Whole-session and event times: one function.
    assert fmt_clock(299.7) == "4:59" and fmt_clock(3600.0) == "1:00:00"


def test_names_not_ids_anywhere_a_person_reads(qtbot, stored) -> None:
    analysis, html = stored["analysis"], stored["html"]
    dialog = SummaryDialog(analysis)
    qtbot.addWidget(dialog)
    shown = [cell for t in (dialog.view.effects_table, dialog.view.sensations_table,
                            dialog.view.ratings_table) for row in _cells(t) for cell in row]
    assert not any("push_wall" in cell or "upper_chest" in cell for cell in shown)
    text = re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.S)
    assert "push_wall" not in text and "upper_chest" not in text  # the data block keeps ids
    assert "Help Now!: Push against a wall" in text


def test_zone_indicator_then_is_the_zone_on_screen() -> None:
    """A beat whose window held an artifact has no zone of its own; the indicator kept the
    zone it showed, so that is the zone "then" (it used to read "–" while high)."""
    times = np.arange(0.0, 100.0, 1.0)
    zone = np.full(times.size, int(Zone.HIGH), dtype=np.int8)
    zone[:10] = int(Zone.UNKNOWN)  # calibrating
    zone[50:53] = int(Zone.UNKNOWN)  # an artifact
    assert zone_at(times, zone, 51.2) == "high"
    assert zone_at(times, zone, 5.0) is None  # before the first reading: none
    zone[40:] = int(Zone.UNKNOWN)  # a long gap: the indicator lets go after hold_unknown_s
    assert zone_at(times, zone, 99.5) is None


def test_what_helped_never_lists_a_move_away(qtbot, stored) -> None:
    analysis = stored["analysis"]
    reg = analysis.regulation
    # The stress scenario leaves the resilient zone within two minutes of 4:10.
    assert zone_at(reg.times_s, reg.zone, 250.0) == "resilient"
    assert moved_away(reg.times_s, reg.zone, 250.0)
    report = build_report(analysis)
    away = {
        (e.kind, e.label) for e, _ in analysis.effects.shifts
        if moved_away(reg.times_s, reg.zone, e.time_s)
    }
    assert ("sensation", "warm, settled") in away
    for helped in report.helped:
        assert not any(moved_away(reg.times_s, reg.zone, t) for t in helped.times_s)
    dialog = SummaryDialog(analysis)
    qtbot.addWidget(dialog)
    listed = {row[1] for row in _cells(dialog.view.effects_table)}
    assert "warm, settled" not in listed
    assert listed == {h.label for h in report.helped}


def _pdf_text(pdf: Path, *args: str) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed to read the PDF back")
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_the_pdf_keeps_every_word_and_explains_its_plot(stored, tmp_path) -> None:
    pdf = save_session_report(stored["analysis"], tmp_path / "r.pdf")
    text = _pdf_text(pdf, "-raw")
    words = " ".join(text.split())
    # The person's own words whole (wrapped, not cut), emoji written as their names.
    assert " ".join(printable(LONG_NOTE).split()) in words
    assert "[water wave]" in words and "🌊" not in text
    assert "bench by the pond [red apple]" in words
    assert "Help Now!: Push against a wall" in words  # table cells wrap: no "…"
    # The plot page says what its lines, colours and marks are.
    for entry in ("heart rate (20 s)", "resilient band", "high zone", "a skill starts",
                  "unpleasant sensation", "own zone rating"):
        assert entry in words, entry
    # Every line stays on the page: nothing is laid out past its right edge.
    layout = _pdf_text(pdf, "-bbox")
    pages = re.findall(r'<page width="([\d.]+)"(.*?)</page>', layout, flags=re.S)
    for width, body in pages:
        right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', body)]
        assert max(right) <= float(width), "a word runs off the page"
