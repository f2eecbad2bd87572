"""The simulated strap as a Polar H10 through the controller: beats from its ECG, breathing
from its accelerometer in the reading, and the ECG and breathing windows for the clinician."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from devices.physiology import get_scenario
from devices.pmd import PmdFrame, PmdStream, decode_frame
from devices.simulated import SimulatedStrap, true_beats
from devices.simulated_h10 import simulate_h10
from trm_bio.controller import SessionController, SessionOptions
from trm_bio.core.beat_source import ECG_SOURCE, RR_SOURCE
from trm_bio.store.library import Library


@pytest.fixture()
def controller(tmp_path: Path) -> SessionController:
    library = Library.open(tmp_path / "library.sqlite3")
    controller = SessionController(library)
    yield controller
    controller.stop()
    library.close()


def run(controller: SessionController, strap: SimulatedStrap) -> None:
    controller.start_live(strap, SessionOptions(record=False, source_kind="simulated"))
    while strap.running:
        strap.wait(0.25)
        controller.poll()
    controller.poll()


def test_the_simulated_h10_sends_ecg_and_accelerometer_frames_as_the_strap_does() -> None:
    items = list(simulate_h10("calm", seed=2, duration_s=30.0, start_ns=0))
    frames = [i for i in items if isinstance(i, PmdFrame)]
    decoded = [decode_frame(f.payload) for f in frames]
    ecg = [d for d in decoded if d.stream is PmdStream.ECG]
    acc = [d for d in decoded if d.stream is PmdStream.ACC]
    assert {d.n_samples for d in ecg} == {73} and {d.n_samples for d in acc} == {36}
    assert len(ecg) == pytest.approx(30 * 130 / 73, abs=2)
    assert len(acc) == pytest.approx(30 * 200 / 36, abs=2)
    host = [i.host_ns for i in items]
    assert host == sorted(host)  # merged in arrival order
    # Same seed, same bytes.
    again = [i for i in simulate_h10("calm", seed=2, duration_s=30.0, start_ns=0)]
    assert [f.payload for f in frames] == [i.payload for i in again if isinstance(i, PmdFrame)]


def test_beats_come_from_the_simulated_ecg_and_breathing_from_the_chest(controller) -> None:
    strap = SimulatedStrap("calm", seed=3, speed=math.inf, duration_s=150.0, h10=True)
    run(controller, strap)
    session = controller.session
    reading = controller.reading()
    assert reading.beat_source == ECG_SOURCE
    assert reading.ecg_status == "ECG clean"
    # Breathing measured from the chest replaces the estimate from heart rhythm.
    assert reading.respiration_source == "chest movement"
    assert reading.respiration_bpm == session.breathing_rate_per_min
    truth_per_min = float(get_scenario("calm").breaths_per_min(150.0))
    assert reading.respiration_bpm == pytest.approx(truth_per_min, abs=1.0)
    rsa = float(session.history.metrics["RespirationRate"][-1])
    assert reading.respiration_bpm != rsa
    # The ECG beats fall on the heart's own beats (the minimum radio latency later).
    times = session.history.beats["time_s"]
    truth = true_beats("calm", seed=3, duration_s=150.0).times_s
    from_ecg = truth[truth > 20.0]
    i = np.clip(np.searchsorted(times, from_ecg), 1, times.size - 1)
    error = np.minimum(np.abs(times[i] - from_ecg), np.abs(times[i - 1] - from_ecg))
    assert np.median(error) < 0.015 and np.mean(error < 0.03) > 0.99
    # The clinician's ECG strip and breathing trace.
    t, mv = controller.ecg_window(10.0)
    assert 9.0 < t[-1] - t[0] <= 10.0 and t.size == mv.size and np.ptp(mv) > 1.0
    t, trace = controller.breathing_window(60.0)
    assert 55.0 < t[-1] - t[0] <= 60.0 and np.isfinite(trace).mean() > 0.9


def test_without_an_accelerometer_the_reading_keeps_the_rsa_estimate(controller) -> None:
    strap = SimulatedStrap("calm", seed=3, speed=math.inf, duration_s=150.0)
    run(controller, strap)
    reading = controller.reading()
    assert reading.beat_source == RR_SOURCE and reading.ecg_status == ""
    assert reading.respiration_source == "heart rhythm"
    assert reading.respiration_bpm == controller.session.history.metrics["RespirationRate"][-1]
    assert controller.ecg_window(10.0)[0].size == 0
    assert controller.breathing_window(60.0)[0].size == 0


def test_the_clinician_sees_the_ecg_strip_and_breathing_trace_and_the_client_does_not(
    qtbot, tmp_path: Path
) -> None:
    from tests.ui_app import open_app
    from trm_bio.ui.strap_plots import StrapPlots

    parts = open_app(qtbot, tmp_path, h10=True)
    window = parts.window
    strap = window.plots.strap
    qtbot.waitUntil(lambda: window.controller.reading().beat_source == ECG_SOURCE, timeout=20000)
    qtbot.waitUntil(strap.isVisible, timeout=5000)
    t, mv = strap.ecg_curve.getData()
    assert t is not None and 8.0 < t[-1] - t[0] <= 10.0 and np.ptp(mv) > 1.0
    assert not window.client.findChildren(StrapPlots)
    window.controller.stop()


def test_without_ecg_the_strip_stays_hidden(qtbot, tmp_path: Path) -> None:
    from tests.ui_app import open_app

    parts = open_app(qtbot, tmp_path)
    window = parts.window
    qtbot.waitUntil(lambda: window.controller.session.beats_seen > 5, timeout=20000)
    window.redraw(window.controller.now_s())
    assert not window.plots.strap.isVisible()
    window.controller.stop()


def test_a_seek_in_a_replay_with_ecg_and_breathing_gives_the_live_beats_and_zones(
    tmp_path: Path,
) -> None:
    from trm_bio.session import Session
    from trm_bio.store.recorder import Recorder
    from trm_bio.store.replay import SeekMarker, load_items, packets_before

    start_ns = 7_000_000_000_000
    items = list(simulate_h10("calm", seed=4, duration_s=420.0, start_ns=start_ns))
    library = Library.open(tmp_path / "library.sqlite3")
    try:
        session_id = library.create_session(None, "simulated", "sim", start_ns=start_ns)
        live = Session(start_ns, recorder=Recorder(library, session_id))
        states = []
        for item in items:
            states.extend(live.process([item]).beats)
        live.close()
        library.finish_session(session_id)
        info, stored = load_items(library, session_id)
    finally:
        library.close()
    seek_s = 300.0
    index = int(np.searchsorted([i.host_ns for i in stored], start_ns + seek_s * 1e9))
    replay = Session(
        info.start_ns,
        history=lambda i: packets_before(stored, i),
        history_items=lambda i: stored[:i],
    )
    replay.process([SeekMarker(int(start_ns + seek_s * 1e9), seek_s, index)])
    after = replay.process(stored[index:]).beats
    first = after[0].beat.index
    expected = states[first:]
    assert [s.beat.time_s for s in after] == [s.beat.time_s for s in expected]

    def arousal(run: list) -> np.ndarray:
        return np.array([s.regulation.arousal if s.regulation else np.nan for s in run])

    assert np.isfinite(arousal(expected)).sum() > 50  # the zone is known after the seek
    np.testing.assert_allclose(arousal(after), arousal(expected), rtol=1e-9, atol=1e-9)
    assert replay.breathing_rate_per_min == live.breathing_rate_per_min


def test_the_finished_session_is_analysed_on_the_beats_its_frames_give(controller) -> None:
    from trm_bio.history import session_analysis, session_beats

    strap = SimulatedStrap("calm", seed=6, speed=math.inf, duration_s=90.0, h10=True)
    controller.start_live(strap, SessionOptions(source_kind="simulated"))
    while strap.running:
        strap.wait(0.25)
        controller.poll()
    controller.poll()
    live = controller.session.chosen_beats()
    session_id = controller.stop()
    assert session_id is not None
    library = controller.library
    info = library.get_session(session_id)
    cached = session_analysis(library, info)  # what stop() cached from the live beats
    stored = session_beats(library, info)  # the same, from the stored frames and packets
    assert len(live) > 80
    assert np.array_equal(cached.beats.times_s, live.times_s)
    assert np.array_equal(stored.times_s, live.times_s)
    assert np.array_equal(stored.rr_ms, live.rr_ms)
