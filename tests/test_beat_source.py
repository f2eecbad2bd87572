"""The strap's clock on the host's, and the choice between ECG and RR beats, on beats given
as arrays (the session-level tests with a real H10 are in test_session_ecg_beats.py)."""

from __future__ import annotations

import numpy as np
import pytest

from trm_bio.core.beat_source import ECG_SOURCE, ECG_STOPPED, RR_SOURCE, BeatSourceSelector
from trm_bio.core.strap_clock import StrapClock
from trm_bio.core.timeline import Beats

NS = 1_000_000_000


@pytest.mark.parametrize("drift_ppm", [0.0, 40.0, -60.0])
def test_the_offset_is_the_fastest_frames_and_follows_the_drift(drift_ppm: float) -> None:
    rng = np.random.default_rng(1)
    clock = StrapClock()
    strap0 = 789_000_000 * NS
    host0 = 12 * NS
    errors = []
    # Ten minutes of frames: ECG every 73/130 s and ACC every 36/200 s, as the H10 sends.
    taken_s = np.sort(np.r_[np.arange(0, 600, 73 / 130), np.arange(0, 600, 36 / 200)])
    for t in taken_s.tolist():
        host_true = host0 + round(t * NS)  # when the frame's last sample was taken (host)
        strap = strap0 + round(t * NS * (1 + drift_ppm * 1e-6))
        latency = round(rng.uniform(0.008, 0.045) * NS)  # a 37.5 ms connection interval
        clock.add(host_true + latency, strap)
        # Where the clock puts the last sample, minus the shortest possible transit.
        errors.append((int(clock.host_ns(strap)) - host_true) / 1e6 - 8.0)
    late = np.abs(np.asarray(errors[len(errors) // 4 :]))  # ms, once the drift is known
    assert late.max() < 1.5, late.max()
    assert clock.drift_ppm == pytest.approx(-drift_ppm, abs=15.0)


def feed(
    selector: BeatSourceSelector,
    truth_s: np.ndarray,
    *,
    lag_s: float = 1.1,
    bad_s: tuple[float, float] | None = None,
    ecg_until_s: float = np.inf,
    rr_until_s: float = np.inf,
    lags: list | None = None,
) -> tuple[np.ndarray, list]:
    """Feed ECG chunks every 0.5 s (beats 0.3 s after they happen) and RR packets every
    second (beats ``lag_s`` late on the RR timeline, the RR timeline's own clock)."""
    rr_ms = np.diff(truth_s, prepend=truth_s[0] - 0.8) * 1000.0
    out_t: list[float] = []
    changes = []
    packet_done = 0
    ecg_done = 0
    for now in np.arange(0.5, truth_s[-1] + 3.0, 0.5):
        outputs = []
        if now <= ecg_until_s:
            ready = int(np.searchsorted(truth_s, now - 0.3))
            ok = bad_s is None or not (bad_s[0] <= now <= bad_s[1] + 4.0)
            chunk = truth_s[ecg_done:ready] + np.random.default_rng(ready).normal(0, 0.001)
            ecg_done = ready
            outputs.append(selector.push_ecg(chunk, ok, "ECG contact lost", now - 0.01, now))
        if now % 1.0 == 0 and now <= rr_until_s:
            sent = int(np.searchsorted(truth_s, now - 0.2))
            beats = Beats(
                truth_s[packet_done:sent] + lag_s,
                rr_ms[packet_done:sent],
                np.zeros(sent - packet_done, dtype=np.int64),
            )
            packet_done = sent
            outputs.append(selector.push_rr(beats, now))
        for o in outputs:
            out_t.extend(o.beats.times_s.tolist())
            changes.extend(o.changes)
        if lags is not None:
            lags.append(selector.lag_s)
    return np.asarray(out_t), changes


def heart(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1.0 + np.cumsum(0.8 + 0.15 * np.sin(np.arange(n) / 4.0) + rng.normal(0, 0.03, n))


def test_a_bad_stretch_of_ecg_is_covered_by_the_rr_with_every_beat_once() -> None:
    truth = heart()
    selector = BeatSourceSelector()
    out, changes = feed(selector, truth, bad_s=(100.0, 130.0))
    assert selector.lag_s == pytest.approx(1.1, abs=0.01)
    assert [c.source for c in changes] == [ECG_SOURCE, RR_SOURCE, ECG_SOURCE]
    assert changes[1].reason == "ECG contact lost"
    after = out[out > changes[0].time_s + 15.0]
    expected = truth[(truth > after[0] - 0.05) & (truth < after[-1] + 0.05)]
    assert after.size == expected.size  # none lost, none doubled
    assert np.abs(after - expected).max() < 0.01  # every one on the ECG's clock
    assert np.diff(out).min() > 0.5


def test_in_bigeminy_the_lag_is_never_a_cycle_off() -> None:
    # Short-long pairs (a premature beat and its pause) repeat every two beats: pairs a cycle
    # apart match almost as well as the true ones, and the first few beats cannot tell.
    rng = np.random.default_rng(3)
    rr = np.tile([0.45, 1.05], 150) + rng.normal(0, 0.008, 300)
    truth = 1.0 + np.cumsum(rr)
    for lag_s in (0.2, 1.1, 2.4):
        lags: list = []
        selector = BeatSourceSelector()
        out, changes = feed(selector, truth, lag_s=lag_s, lags=lags)
        known = np.array([lag for lag in lags if lag is not None])
        assert known.size and np.abs(known - lag_s).max() < 0.01, (lag_s, set(known.round(2)))
        tail = out[out > changes[0].time_s + 20.0]
        assert np.abs(tail[:, None] - truth[None, :]).min(axis=1).max() < 0.01


def test_ecg_that_stops_coming_hands_over_to_the_rr() -> None:
    truth = heart()
    selector = BeatSourceSelector()
    out, changes = feed(selector, truth, ecg_until_s=120.0)
    assert [c.source for c in changes] == [ECG_SOURCE, RR_SOURCE]
    assert changes[1].reason == ECG_STOPPED
    tail = out[out > 100.0]
    expected = truth[(truth > 100.0) & (truth <= tail[-1] + 0.05)]
    assert tail.size == expected.size and np.abs(tail - expected).max() < 0.01


def test_without_rr_the_ecg_is_taken_at_once() -> None:
    truth = heart(100)
    selector = BeatSourceSelector()
    out, changes = feed(selector, truth, rr_until_s=0.0)
    assert [c.source for c in changes] == [ECG_SOURCE]
    assert out.size >= truth.size - 6  # the first beats only start the detector's intervals


def test_a_link_break_starts_a_new_segment() -> None:
    selector = BeatSourceSelector()
    first = selector.push_rr(Beats(np.array([1.0, 2.0]), np.array([900.0, 1000.0]),
                                   np.zeros(2, np.int64)), 2.1)
    selector.break_segment()
    second = selector.push_rr(Beats(np.array([9.0, 10.0]), np.array([900.0, 1000.0]),
                                    np.ones(2, np.int64)), 10.1)
    assert first.beats.segment.tolist() == [0, 0]
    assert second.beats.segment.tolist() == [1, 1]
    assert second.beats.times_s.tolist() == [9.0, 10.0]  # without ECG: the timeline's
