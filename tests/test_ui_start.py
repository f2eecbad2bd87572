"""Start to the first beat on screen (issue 18): the preview's strap and the first tick."""

from __future__ import annotations

import time

from devices.packet import Packet
from devices.simulated import SimulatedStrap
from tests.ui_app import settings_in
from trm_bio.app import build
from trm_bio.store.library import Library


def first_beat(strap: SimulatedStrap, timeout_s: float = 10.0) -> Packet:
    """The strap's first packet carrying a beat, as the queue hands it over."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        strap.wait(0.1)
        for item in strap.drain():
            if isinstance(item, Packet) and item.rr_ms:
                return item
    raise AssertionError(f"no beat in {timeout_s} s")


def test_a_worn_simulated_strap_sends_its_first_beat_at_once() -> None:
    """A strap already on the chest answers within a second; the simulated one (the app's
    preview) has its first beat due when start() returns, not a second later."""
    fresh = SimulatedStrap("calm", seed=0)
    fresh.start()
    fresh_beat = first_beat(fresh)
    fresh.stop()
    assert fresh.start_ns is not None and fresh_beat.host_ns > fresh.start_ns  # waits as before

    worn = SimulatedStrap("calm", seed=0)
    worn.start(worn=True)
    started_ns = time.monotonic_ns()
    beat = first_beat(worn)
    worn.stop()
    assert worn.start_ns is not None
    assert beat.host_ns <= started_ns  # due at once
    # The same items, only session time 0 set back: the beat and its session time agree.
    assert beat.rr_ms == fresh_beat.rr_ms
    assert beat.host_ns - worn.start_ns == fresh_beat.host_ns - fresh.start_ns


def test_the_apps_first_beat_waits_for_the_window_and_is_drawn_on_its_first_tick(
    qtbot, tmp_path
) -> None:
    library = Library.open(tmp_path / "lib.sqlite3")
    parts = build(library, settings=settings_in(tmp_path / "settings"), speed=1.0)
    window = parts.window
    qtbot.addWidget(window)
    window.tick_timer.stop()  # the test ticks
    window.show()
    source = parts.controller.source
    assert isinstance(source, SimulatedStrap)
    assert source.wait(5.0)  # the thread has put its first items in the queue
    window.tick()
    session = parts.controller.session
    assert len(session.history.beats) > 0, "the first tick after the window was built drew no beat"
    assert window.plots.rr_curve.xData is not None and len(window.plots.rr_curve.xData) > 0
    # What it drained had arrived (host time) before the window was even begun.
    assert session.last_host_ns <= window.built_ns
    window.close()
    library.close()
