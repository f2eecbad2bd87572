"""Pausing a session from the window; publishing on Lab Streaming Layer as a setting."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from tests.ui_app import open_app, settings_in


def test_pause_records_nothing_and_leaves_a_gap_then_recording_goes_on(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller, library = parts.window, parts.controller, parts.library
    window.start_session()
    session_id = controller.session_id
    history = controller.session.history
    qtbot.waitUntil(lambda: history.beats.size > 60, timeout=15000)

    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert controller.paused
    assert window.pause_button.text() == "Resume" and window.mode_label.text() == "Paused"
    assert window.statusBar().currentMessage().startswith("Paused")
    paused_s = controller.now_s()
    beats_at_pause = history.beats.size
    frozen_range = window.plots.rr_plot.vb.viewRange()[0]
    # Half a minute of the strap's time passes (it keeps streaming all along).
    qtbot.waitUntil(lambda: controller.now_s() > paused_s + 30.0, timeout=10000)
    qtbot.wait(3 * window.tick_timer.interval())
    assert history.beats.size == beats_at_pause  # nothing shown
    assert window.plots.rr_plot.vb.viewRange()[0] == frozen_range  # the plots hold still
    assert window.readouts.link.text().startswith("Paused")
    # The strap's link is fine: nothing alarming was said about it.
    assert "not connected" not in window.statusBar().currentMessage().lower()

    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert not controller.paused and window.mode_label.text() == "Recording"
    resumed_s = controller.now_s()
    qtbot.waitUntil(lambda: history.beats.size > beats_at_pause + 40, timeout=15000)
    segment = history.beats["segment"]
    assert segment[-1] == segment[beats_at_pause - 1] + 1  # a gap the plots show
    assert window.readouts.link.text() == "Receiving beats"
    assert window.stop_session() == session_id

    # In the library: the pause is a link change of the session itself, no packet was
    # stored while it lasted, and the stored beats have a gap there.
    pauses = [
        e
        for e in library.session_events(session_id, ["connection"])
        if e.payload.get("source") == "session"
    ]
    assert [e.payload["state"] for e in pauses] == ["disconnected", "streaming"]
    pause_s, resume_s = pauses[0].time_s, pauses[1].time_s
    assert abs(pause_s - paused_s) < 2.0 and abs(resume_s - resumed_s) < 2.0
    assert resume_s - pause_s > 30.0
    packets = library.session_packets(session_id)
    pause_ns, resume_ns = pauses[0].host_ns, pauses[1].host_ns
    assert not np.any((packets.host_ns > pause_ns) & (packets.host_ns < resume_ns))
    assert np.sum(packets.host_ns > resume_ns) >= 20  # recording went on
    beats = parts.services.analyse(session_id).beats
    before = beats.times_s <= pause_s
    after = beats.times_s > pause_s
    assert before.sum() >= 60 and after.sum() >= 40
    assert beats.segment[after].min() > beats.segment[before].max()
    # Beats after the pause belong to packets that arrived after it: at most the few
    # intervals one packet carries reach back before the resume.
    first_after = beats.times_s[after][0]
    assert first_after > resume_s - 3.0
    window.close()


def _lsl_publishers(controller) -> list:
    from trm_bio.lsl_outlets import LslPublisher

    return [p for p in controller.publishers if isinstance(p, LslPublisher)]


def test_lsl_setting_toggles_the_publishers_and_is_remembered(qtbot, tmp_path, lsl_on_this_machine):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller = parts.window, parts.controller
    assert not window.lsl_action.isChecked() and not _lsl_publishers(controller)
    window.lsl_action.setChecked(True)  # the running preview publishes from now on
    assert controller.lsl_enabled and len(_lsl_publishers(controller)) == 1
    window.start_session()  # and so does every session started later
    assert len(_lsl_publishers(controller)) == 1
    qtbot.waitUntil(lambda: controller.session.history.beats.size > 10, timeout=10000)
    window.lsl_action.setChecked(False)
    assert not controller.lsl_enabled and not _lsl_publishers(controller)
    window.lsl_action.setChecked(True)
    window.stop_session()
    window.close()
    parts.library.close()
    assert settings_in(tmp_path / "settings").lsl
    again = open_app(qtbot, tmp_path, scenario="calm")  # remembered: on from the start
    assert again.window.lsl_action.isChecked() and again.controller.lsl_enabled
    assert len(_lsl_publishers(again.controller)) == 1
    again.window.close()


def test_without_liblsl_the_setting_says_so_calmly_and_stays_off(qtbot, tmp_path, monkeypatch):
    import devices.lsl

    reason = (
        "Lab Streaming Layer is not available on this computer (pylsl or its liblsl library "
        "could not be loaded: no liblsl here)."
    )
    monkeypatch.setattr(devices.lsl, "lsl_unavailable_reason", lambda: reason)
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller = parts.window, parts.controller
    window.lsl_action.setChecked(True)
    assert not window.lsl_action.isChecked() and not controller.lsl_enabled
    assert window.statusBar().currentMessage() == reason
    assert not window.settings.lsl
    assert window.mode == "preview"  # the rest goes on
    window.close()


def test_app_lsl_option_turns_publishing_on_from_the_start(qtbot, tmp_path, lsl_on_this_machine):
    parts = open_app(qtbot, tmp_path, scenario="calm", lsl=True)  # `trm-bio app --lsl`
    assert parts.window.lsl_action.isChecked() and parts.controller.lsl_enabled
    assert len(_lsl_publishers(parts.controller)) == 1
    parts.window.close()
