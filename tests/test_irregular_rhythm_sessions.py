"""A session whose heart-rate variability was rightly withheld: MIT-BIH 219 (atrial
fibrillation through most of it) and 100 (a steady rhythm) imported from their annotated
beats into a real library for one person. The irregular session's session-start baseline
holds heart rate only; progress (terminal, reports, the app's view) and the session report
must take it as it is, and the report must not draw HRV the words call not valid."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.cli_run import run
from tests.recordings import mitdb
from trm_bio.core.baseline import Baseline
from trm_bio.history import analyse_session, read_baseline
from trm_bio.report.data import build_report
from trm_bio.report.plots import session_figure
from trm_bio.store.library import Library

PERSON = "Q"


@pytest.fixture(scope="module")
def af_library(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, int, int]:
    """A library with Q's sessions: MIT-BIH 100 (steady), then 219 (atrial fibrillation)."""
    folder = tmp_path_factory.mktemp("irregular")
    path = folder / "lib.sqlite3"
    ids = []
    for record in ("100", "219"):
        source = folder / f"rr_{record}.txt"
        source.write_text("\n".join(f"{v:.3f}" for v in mitdb(record).rr_ms))
        run("import", str(source), "--person", PERSON, library=path, check=True)
        with Library.open(path, readonly=True) as library:
            ids.append(library.list_sessions()[-1].id)
    return path, ids[0], ids[1]


def test_a_heart_rate_only_baseline_is_read_and_a_half_one_is_damage() -> None:
    hr_only = Baseline(72.0, 4.0, float("nan"), float("nan"), 300)
    assert not read_baseline(hr_only.to_dict()).has_hrv
    half = hr_only.to_dict() | {"ln_rmssd": 3.5}  # an HRV centre without its spread
    with pytest.raises(ValueError, match="not a baseline"):
        read_baseline(half)


def test_trends_count_the_irregular_session_as_without_resting_hrv(
    af_library, tmp_path, caplog
) -> None:
    source, steady, irregular = af_library
    path = tmp_path / "lib.sqlite3"
    shutil.copyfile(source, path)
    caplog.set_level(logging.WARNING)
    # Twice: the first run analyses and caches the sessions, the second reads the cache.
    for _ in range(2):
        out = run("trends", PERSON, library=path)
        assert out.code == 0, out.err
        assert "damaged" not in out.err and "unreadable" not in out.err
        assert f"Session {irregular}: no resting RMSSD because the heart rhythm is irregular" \
            in out.out
    assert not [r for r in caplog.records if "damaged" in r.getMessage()
                or "unreadable" in r.getMessage()]
    document = json.loads(run("trends", PERSON, "--format", "json", library=path).out)
    points = {s["session"]: s for s in document["sessions"]}
    assert points[irregular]["baseline_rmssd_ms"] is None
    assert points[irregular]["baseline_hr_bpm"] > 0  # the heart rate is still a baseline
    assert "irregular" in points[irregular]["baseline_note"]
    assert points[steady]["baseline_rmssd_ms"] > 0 and points[steady]["baseline_note"] == ""
    html = tmp_path / "trends.html"
    assert run("trends", PERSON, "--format", "html", "-o", str(html), library=path).code == 0
    assert f"Session {irregular}: no resting RMSSD" in html.read_text()
    pdf = tmp_path / "trends.pdf"
    assert run("trends", PERSON, "--format", "pdf", "-o", str(pdf), library=path).code == 0


def _rmssd_axes(report):
    return session_figure(report).axes[1]


def test_the_report_draws_no_hrv_where_the_rhythm_check_failed(af_library, tmp_path) -> None:
    source, steady, irregular = af_library
    path = tmp_path / "lib.sqlite3"
    shutil.copyfile(source, path)
    with Library.open(path) as library:
        af = analyse_session(library, irregular)
        ok = analyse_session(library, steady)
    assert not af.summary.hrv_valid and ok.summary.hrv_valid
    report = build_report(af)
    # No plotted RMSSD where the live screen hid it (the irregular rhythm's words, held),
    # and so none whose window holds a beat that failed the rhythm check.
    times, rhythm_ok = af.beats.times_s, af.analysis.rhythm_ok
    shown = np.isfinite(report.series.rmssd_ms)
    assert af.regulation.hrv_shown[_kept(af, report)][shown].all()
    for t in report.series.times_s[shown]:
        window = (times > t - 60.0) & (times <= t)
        assert rhythm_ok[window].all()
    assert np.isfinite(af.analysis.metrics["RMSSD"]).sum() > 10 * max(shown.sum(), 1)
    # The whole session's HRV is not valid: the RMSSD plot says so and draws no line.
    axes = _rmssd_axes(report)
    assert axes.get_lines() == []
    words = " ".join(t.get_text() for t in axes.texts).replace("\n", " ")
    assert "RMSSD is not drawn" in words and "irregular" in words
    # A steady rhythm keeps every value the screen showed, and its line.
    steady_report = build_report(ok)
    kept = _kept(ok, steady_report)
    np.testing.assert_array_equal(
        np.isfinite(steady_report.series.rmssd_ms),
        (np.isfinite(ok.analysis.metrics["RMSSD"]) & ok.regulation.hrv_shown)[kept],
    )
    assert ok.regulation.hrv_shown.mean() > 0.9
    assert len(_rmssd_axes(steady_report).get_lines()) == 1
    # Both report files are written, the baseline's missing HRV said in words.
    for suffix in ("html", "pdf"):
        target = tmp_path / f"af.{suffix}"
        out = run("report", str(irregular), "-o", str(target), library=path)
        assert out.code == 0, out.err
    assert "no RMSSD (heart-rate variability was not valid at the start)" in (
        tmp_path / "af.html").read_text()


def _kept(result, report) -> np.ndarray:
    """The beats the report's decimated series kept."""
    return np.searchsorted(result.beats.times_s, report.series.times_s)


def test_the_app_shows_the_progress_of_a_person_with_an_irregular_session(
    qtbot, tmp_path, af_library
) -> None:
    from tests.ui_app import open_app

    source, _, irregular = af_library
    shutil.copyfile(source, tmp_path / "lib.sqlite3")
    parts = open_app(qtbot, tmp_path, connect=False)
    window = parts.window
    window.person.setText(PERSON)
    window.reports.show_history(PERSON)
    dialog = window.reports.history_dialog
    assert dialog is not None and dialog.isVisible()
    notes = dialog.view.baseline_notes
    assert notes.isVisible()
    assert f"Session {irregular}: no resting RMSSD because the heart rhythm is irregular" \
        in notes.text()
    assert "heart's own steady rhythm" in notes.text()  # as words, not "&#x27;"
    _, y = dialog.view.curves["baseline_rmssd_ms"].getData()
    assert np.isnan(y[-1]) and np.isfinite(y[0])
    window.close()
