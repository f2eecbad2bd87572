"""The client view follows the main window; replay with seek, drag and jumps."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, Qt

from tests.ui_app import open_app, record_session
from trm_bio.store.library import Library


def test_client_view_follows_the_main_window(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, client = parts.window, parts.window.client
    assert not client.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert client.isVisible()
    qtbot.waitExposed(client)
    assert window.skills.select("skill", "grounding")
    window.skills.begin()
    # The prompt the client sees is the one the clinician sees (in its short form), and moves
    # on with it.
    def shown(prompt: str) -> str:
        return client.client_prompt(prompt)

    qtbot.waitUntil(
        lambda: client.prompt.text() == shown(window.skills.prompt.text()) != "", timeout=3000
    )
    first = client.prompt.text()
    qtbot.keyClick(window, Qt.Key.Key_N)
    qtbot.waitUntil(
        lambda: client.prompt.text() == shown(window.skills.prompt.text()) != first, timeout=3000
    )
    # The zone reading follows too, once the baseline is found (the first few minutes).
    history = parts.controller.session.history
    qtbot.waitUntil(
        lambda: history.metrics.size and np.isfinite(history.metrics["arousal"][-1]),
        timeout=30000,
    )
    qtbot.waitUntil(
        lambda: (
            client.band.reading == window.zone_band.reading
            and not math.isnan(client.band.reading.position)
        ),
        timeout=3000,
    )
    # No numbers on the client view unless the clinician turns them on.
    assert client.heart.text() == ""
    window.client_numbers_action.setChecked(True)
    qtbot.waitUntil(lambda: "beats per minute" in client.heart.text(), timeout=3000)
    # Reduced motion: the breathing shape holds still.
    assert client.shape.frame.isActive()
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert not client.shape.frame.isActive() and client.shape.swell() == 0.5
    # The same keys work from the client's window.
    qtbot.keyClick(client, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert not client.isVisible()
    window.close()


def test_replay_with_seek_drag_and_jumps(qtbot, tmp_path):
    library = Library.open(tmp_path / "lib.sqlite3")
    session_id = record_session(library)
    library.close()
    parts = open_app(qtbot, tmp_path, replay=session_id)
    window, controller = parts.window, parts.controller
    replay = controller.replay
    assert window.mode == "replay" and window.replay_bar.isVisible()
    assert not window.tracking.valence_buttons["pleasant"].isEnabled()  # read-only
    kinds = {m.kind for m in window.replay_markers}
    assert {"sensation", "shift", "flow"} <= kinds
    shifts = sorted(m.time_s for m in window.replay_markers if m.kind == "shift")
    assert window.replay_bar.timeline.markers == window.replay_markers

    qtbot.keyClick(window, Qt.Key.Key_Space)  # pause
    assert replay.paused
    history = controller.session.history
    window.seek(200.0)
    qtbot.waitUntil(lambda: window.replay_bar.timeline.position_s == 200.0, timeout=3000)
    qtbot.waitUntil(lambda: controller.session.history is not history, timeout=3000)
    beats = controller.session.history.beats["time_s"]
    assert 190.0 < beats[-1] <= 200.0  # rebuilt from the recording up to the seek

    # ] jumps to the next event after 200 s: the sensation at 300 s (flow steps may come first).
    events_after = sorted(
        m.time_s for m in window.replay_markers if m.kind != "shift" and m.time_s > 200.5
    )
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert replay.position_s == events_after[0]
    # Shift+] jumps to the next detected shift.
    target = window.jump(1, "shift")
    assert target == min(t for t in shifts if t > events_after[0] + 0.5)
    assert replay.position_s == target
    qtbot.waitUntil(
        lambda: (
            window.skills.prompt.text() != "" and window.replay_bar.timeline.position_s == target
        ),
        timeout=3000,
    )
    # Drag along the timeline: the replay seeks where the drag ends.
    timeline = window.replay_bar.timeline
    y = timeline.height() // 2
    qtbot.mousePress(timeline, Qt.MouseButton.LeftButton, pos=QPoint(20, y))
    qtbot.mouseMove(timeline, QPoint(timeline.width() // 4, y))
    qtbot.mouseRelease(timeline, Qt.MouseButton.LeftButton, pos=QPoint(timeline.width() // 2, y))
    expected = timeline.time_at(timeline.width() // 2)
    assert abs(replay.position_s - expected) < 1e-6
    # Play at 16x: the position moves on, and the plots follow.
    window.replay_bar.speed.setCurrentIndex(4)
    assert replay.speed == 16.0
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: replay.position_s > expected + 5.0, timeout=5000)
    window.close()
