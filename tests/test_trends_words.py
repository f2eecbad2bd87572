"""Progress across sessions as a person reads it: one tick per session labelled with its
number in the library, axes that do not turn a fraction of a beat into a peak, changes put
in words that do not contradict themselves, and the person's own distress before and after
each session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.ui_app import record_session
from trm_bio.core.events import self_rating
from trm_bio.report import save_trends_report
from trm_bio.report.trends import (
    MIN_AXIS_SPAN,
    SessionPoint,
    Trends,
    fit_trend,
    person_trends,
    trends_table,
)
from trm_bio.store.library import Library
from trm_bio.ui.history_view import HistoryView

DISTRESS = [(7.0, 4.0), (6.0, 3.0), (None, 2.0), (5.0, None)]  # start, end of Kim's sessions


@pytest.fixture(scope="module")
def kims_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """Two sessions of someone else, then four calm ones of Kim (ids 3 to 6) with her own
    ratings at the start and the end."""
    path = tmp_path_factory.mktemp("kim") / "lib.sqlite3"
    with Library.open(path) as library:
        for seed in (1, 2):
            record_session(library, "calm", duration_s=200.0, seed=seed)
        kim = library.ensure_person("Kim")
        ids = []
        for k, (before, after) in enumerate(DISTRESS):
            session_id = record_session(library, "calm", duration_s=260.0, seed=10 + k)
            library.update_session(session_id, person_id=kim)
            if before is not None:
                payload = self_rating("start", before, "high").to_json()
                library.add_event(session_id, 1.0, "zone_rating", payload)
            if after is not None:
                payload = self_rating("end", after, "resilient").to_json()
                library.add_event(session_id, 250.0, "zone_rating", payload)
            ids.append(session_id)
    return path, ids


def test_sessions_are_ticked_by_their_library_numbers_on_sensible_axes(
    qtbot, kims_library
) -> None:
    path, ids = kims_library
    assert ids == [3, 4, 5, 6]
    with Library.open(path, readonly=True) as library:
        trends = person_trends(library, "Kim")
    view = HistoryView(trends)
    qtbot.addWidget(view)
    for key, plot in view.plots.items():
        ticks = plot.getAxis("bottom")._tickLevels
        assert ticks is not None, key  # fixed ticks, not pyqtgraph's 0.5 steps
        positions = [t for level in ticks for t, _ in level]
        labels = [label for level in ticks for _, label in level]
        assert positions == [1.0, 2.0, 3.0, 4.0] and labels == ["3", "4", "5", "6"]
    resting = np.array([p.baseline_hr_bpm for p in trends.sessions], dtype=float)
    assert np.ptp(resting[np.isfinite(resting)]) < MIN_AXIS_SPAN["baseline_hr_bpm"] / 2
    (lo, hi) = view.plots["baseline_hr_bpm"].getViewBox().viewRange()[1]
    assert hi - lo >= MIN_AXIS_SPAN["baseline_hr_bpm"] - 1e-9
    assert lo <= np.nanmin(resting) and np.nanmax(resting) <= hi
    (lo, hi) = view.plots["resilient_share"].getViewBox().viewRange()[1]
    assert (lo, hi) == (0.0, 100.0)


def test_own_distress_before_and_after_each_session(qtbot, kims_library, tmp_path) -> None:
    path, _ = kims_library
    with Library.open(path, readonly=True) as library:
        trends = person_trends(library, "Kim")
    got = [(p.distress_before, p.distress_after) for p in trends.sessions]
    assert got == DISTRESS
    first = trends.sessions[0]
    assert (first.zone_before, first.zone_after) == ("high", "resilient")
    view = HistoryView(trends)
    qtbot.addWidget(view)
    x, before = view.curves["distress_before"].getData()
    assert list(zip(x, before, strict=True)) == [(1.0, 7.0), (2.0, 6.0), (4.0, 5.0)]
    html = save_trends_report(trends, tmp_path / "t.html").read_text(encoding="utf-8")
    assert "7 → 4" in html and "– → 2" in html


def _points(shares: list[float]) -> tuple[SessionPoint, ...]:
    return tuple(
        SessionPoint(session=10 + k, started_utc=f"2026-01-0{k + 1}T09:00:00+00:00",
                     duration_s=600.0, baseline_hr_bpm=None, baseline_rmssd_ms=None,
                     hr_bpm=None, rmssd_ms=None, resilient_share=share, high_share=None,
                     low_share=None, hrv_valid=True)
        for k, share in enumerate(shares)
    )


def test_changes_are_put_in_words_that_agree_with_the_numbers() -> None:
    shares = [0.7, 1.0, 1.0, 1.0, 1.0]
    trend = fit_trend(shares)
    assert trend is not None and trend.slope_per_session == 0.0  # the median pairwise slope
    text = trends_table(Trends("Kim", _points(shares), {"resilient_share": trend}))
    assert "+0.0" not in text and "0.00" not in text
    assert "Time in the resilient band rose (85 % in the first 2 sessions, 100 % in the " \
           "latest 2)" in text
    few = [0.5, 0.9, 1.0]
    text = trends_table(Trends("Kim", _points(few), {"resilient_share": fit_trend(few)}))
    assert "Time in the resilient band: too few sessions for a trend yet (3 of the 4 " \
           "needed)" in text
    assert "per session" not in text
