"""A simulated session from start to summary, driven through the real window by keys."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from devices.physiology import SCENARIOS
from tests.ui_app import close_window, open_app
from trm_bio.report.data import what_helped


def test_session_from_start_to_summary_with_sensations_by_key(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller = parts.window, parts.controller
    assert window.mode == "preview"
    window.person.setText("Alex")
    window.notes.setText("first practice")
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.mode == "recording"
    qtbot.keyClick(window, Qt.Key.Key_G)  # begin the chosen skill (Tracking, the first)
    qtbot.waitUntil(lambda: window.skills.prompt.text() != "", timeout=3000)
    assert controller.flow_state().skill.id == "tracking"
    history = controller.session.history
    qtbot.waitUntil(lambda: history.beats.size > 80, timeout=15000)

    # One key each: pleasant with a word and a place, then unpleasant (committed by the
    # neutral key that follows), then neutral committed with Enter.
    qtbot.keyClick(window, Qt.Key.Key_1)
    noticed_s = window.tracking.pending[1]
    window.tracking.words.findItems("warm", Qt.MatchFlag.MatchExactly)[0].setCheckState(
        Qt.CheckState.Checked
    )
    window.tracking.location.setCurrentText("chest")
    window.tracking.intensity.setValue(6)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    qtbot.keyClick(window, Qt.Key.Key_3)
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    qtbot.keyClick(window, Qt.Key.Key_H)  # Help Now!, one key away
    assert controller.flow_state().in_help_now
    assert window.skills.strategy_box.isVisibleTo(window)
    qtbot.keyClick(window, Qt.Key.Key_M)

    sensations = [e for e in controller.session.events if e.kind == "sensation"]
    assert [e.payload["valence"] for e in sensations] == ["pleasant", "unpleasant", "neutral"]
    assert sensations[0].payload["words"] == ["warm"]
    assert sensations[0].payload["location"] == "chest"
    assert sensations[0].payload["intensity"] == 6
    assert sensations[0].time_s == noticed_s  # dated when noticed, not when the details came
    beat_times = history.beats["time_s"]
    # On the same clock as the beats (a tick of 25 ms is 1.25 s of simulated time).
    assert beat_times[0] < noticed_s <= beat_times[-1] + 5.0

    # Every event shows on the plots as a marker.
    def all_marked() -> bool:
        kinds = {m.kind for m in window.plots.markers}
        return {
            "sensation",
            "helpnow",
            "flow",
            "marker",
        } <= kinds and not window.plots._markers_dirty

    qtbot.waitUntil(all_marked, timeout=3000)
    # One line per sensation, in the colour of its valence (tests/test_ui_events.py).
    x = np.concatenate([
        curve.getData()[0] for (row, key), curve in window.plots._marker_curves.items()
        if row == 0 and key.startswith("sensation")
    ])
    assert np.allclose(np.unique(x), sorted(e.time_s for e in sensations))

    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.reports.summary_dialog
    assert dialog is not None and dialog.isVisible()
    view = dialog.view
    assert view.sensations_table.rowCount() == 3
    assert view.sensations_table.item(0, 1).text() == "pleasant"
    assert view.sensations_table.item(0, 2).text() == "warm"
    # "What helped": only what was followed by a move toward the band, never away.
    helped = [view.effects_table.item(r, 1).text() for r in range(view.effects_table.rowCount())]
    assert helped == [h.label for h in what_helped(view.analysis)]
    assert view.metrics_table.item(3, 1).text().endswith("ms")  # RMSSD of the session
    stored = parts.library.list_sessions()
    assert len(stored) == 1 and stored[0].person_name == "Alex"
    assert stored[0].notes == "first practice" and stored[0].status == "complete"
    events = parts.library.session_events(stored[0].id)
    assert any(e.kind == "flow" and e.payload.get("kind") == "helpnow" for e in events)
    # The strap keeps showing live after the session ended, without recording.
    assert window.mode == "preview"
    close_window(window)


def test_live_shifts_are_marked_where_they_happened_and_match_the_summary(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="stress")
    window, controller = parts.window, parts.controller
    window.start_session()
    # The stress scenario's heart rate starts rising at its onset (after the 5 minutes the
    # zone's reference takes); a sensation logged then is followed by a move away from the
    # band, measurable two minutes later.
    onset_s = SCENARIOS["stress"].onset_s
    qtbot.waitUntil(lambda: controller.now_s() >= onset_s + 10.0, timeout=30000)
    qtbot.keyClick(window, Qt.Key.Key_3)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    (logged,) = [e for e in controller.session.events if e.kind == "sensation"]

    def shift_marked() -> bool:
        return any(m.kind == "shift" for m in window.plots.markers)

    qtbot.waitUntil(shift_marked, timeout=20000)
    (shift,) = [m for m in window.plots.markers if m.kind == "shift"]
    assert shift.time_s == logged.time_s
    assert "away from the band" in shift.label
    session_id = window.stop_session()
    analysis = parts.services.analyse(session_id)
    after = [s for e, s in analysis.effects.shifts if e.kind == "sensation"]
    assert after and after[0].direction == "away"
    close_window(window)
