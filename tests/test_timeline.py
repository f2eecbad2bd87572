"""The timeline: packets to beats on the beat clock (DESIGN.md, "One heartbeat", step 3)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trm_bio.core.timeline import (
    NS_PER_S,
    Beats,
    Timeline,
    beats_from_packets,
    beats_from_rr,
    beats_pinned_to_arrivals,
)

START_NS = 5_000_000_000_000


def strap_packets(rr_ms, latency_s, clock_scale=1.0, period_s=1.0):
    """Packetise true beats like a strap: every ``period_s`` the RR completed since the last one.

    Returns (host_ns list, rr lists, true beat times in host seconds since start).
    ``clock_scale`` > 1 means the strap's clock runs slow relative to the host: its RR
    values are shorter than the real intervals.
    """
    true_times = np.cumsum(rr_ms) / 1000.0 * clock_scale
    host_ns, rr_lists = [], []
    edges = np.arange(period_s, true_times[-1] + period_s, period_s)
    index = np.searchsorted(true_times, edges, side="right")
    previous = 0
    for k, stop in enumerate(index):
        carried = rr_ms[previous:stop]
        previous = stop
        arrival = edges[k] + latency_s[k % len(latency_s)]
        host_ns.append(START_NS + int(arrival * NS_PER_S))
        rr_lists.append(list(carried))
    return host_ns, rr_lists, true_times


def test_beats_keep_their_true_spacing_and_arrive_no_later_than_their_packets() -> None:
    rng = np.random.default_rng(1)
    rr = 800 + 50 * rng.standard_normal(600)
    host_ns, rr_lists, true_times = strap_packets(rr, rng.uniform(0.02, 0.3, 97))
    beats = beats_from_packets(START_NS, host_ns, rr_lists)
    assert len(beats) == rr.size
    np.testing.assert_array_equal(beats.rr_ms, rr)  # never rounded, never reordered
    assert np.all(beats.segment == 0)
    # Anchored once, then the RR sum: spacing equals RR exactly; offset to truth is constant.
    np.testing.assert_allclose(np.diff(beats.times_s), rr[1:] / 1000.0, rtol=0, atol=1e-9)
    offset = beats.times_s - true_times
    assert np.ptp(offset) < 1e-9
    assert 0 <= offset[0] < 1.3  # anchored at arrival, at most one packet period late


def test_disconnect_starts_a_new_segment_anchored_at_arrival() -> None:
    timeline = Timeline(START_NS)
    first = timeline.push(START_NS + 1 * NS_PER_S, [800.0, 810.0])
    timeline.break_segment()
    second = timeline.push(START_NS + 30 * NS_PER_S, [790.0])
    assert first.segment.tolist() == [0, 0]
    assert second.segment.tolist() == [1]
    assert second.times_s[0] == 30.0
    np.testing.assert_allclose(first.times_s, [0.19, 1.0])


def test_silence_longer_than_the_gap_bound_is_a_gap() -> None:
    timeline = Timeline(START_NS)
    timeline.push(START_NS + NS_PER_S, [1000.0])
    # 20 s later the next beat arrives: the beats in between were lost.
    later = timeline.push(START_NS + 21 * NS_PER_S, [1000.0])
    assert later.segment.tolist() == [1]
    assert later.times_s[0] == 21.0


def test_packets_without_rr_for_long_break_the_segment() -> None:
    timeline = Timeline(START_NS)
    timeline.push(START_NS + NS_PER_S, [1000.0])
    for k in range(2, 12):  # no skin contact: packets keep coming with no RR
        assert len(timeline.push(START_NS + k * NS_PER_S, [])) == 0
    assert timeline.push(START_NS + 12 * NS_PER_S, [900.0]).segment.tolist() == [1]


def test_junk_rr_is_dropped_and_ends_the_segment() -> None:
    timeline = Timeline(START_NS)
    beats = timeline.push(START_NS + 2 * NS_PER_S, [0.0, 800.0, 820.0])
    assert beats.rr_ms.tolist() == [800.0, 820.0]
    assert timeline.dropped_rr == 1
    later = timeline.push(START_NS + 3 * NS_PER_S, [810.0, 4000.0])
    assert later.rr_ms.tolist() == [810.0]
    nxt = timeline.push(START_NS + 4 * NS_PER_S, [805.0])
    assert nxt.segment[0] > later.segment[0]


def test_clock_drift_is_bounded_by_reanchoring_over_a_day() -> None:
    """A strap whose clock runs 200 ppm off the host for 24 h stays within the bounds."""
    rng = np.random.default_rng(7)
    for scale in (1.0002, 0.9998):
        rr = 850 + 40 * rng.standard_normal(int(24 * 3600 / 0.85))
        host_ns, rr_lists, true_times = strap_packets(rr, rng.uniform(0.02, 0.4, 101), scale)
        timeline = Timeline(START_NS)
        parts = [timeline.push(t, r) for t, r in zip(host_ns, rr_lists, strict=True) if r]
        beats = Beats.concatenate(parts)
        error = beats.times_s - true_times
        assert timeline.reanchors > 0
        assert np.all(beats.segment == 0)
        cfg = timeline.config
        assert error.max() < cfg.behind_bound_s + 1.5
        assert error.min() > -cfg.ahead_bound_s - 1.5
        assert np.all(np.diff(beats.times_s) > 0)


def test_live_and_batch_paths_agree() -> None:
    rng = np.random.default_rng(3)
    rr = 700 + 100 * rng.random(400)
    host_ns, rr_lists, _ = strap_packets(rr, rng.uniform(0.0, 0.5, 13))
    timeline = Timeline(START_NS)
    live = Beats.concatenate([timeline.push(t, r) for t, r in zip(host_ns, rr_lists, strict=True)])
    batch = beats_from_packets(START_NS, host_ns, rr_lists)
    np.testing.assert_array_equal(live.times_s, batch.times_s)
    np.testing.assert_array_equal(live.segment, batch.segment)


@settings(max_examples=200, deadline=None)
@given(
    packets=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=30.0),  # seconds since the previous packet
            st.lists(
                st.one_of(
                    st.floats(min_value=200.0, max_value=2500.0),
                    st.sampled_from([0.0, -5.0, 3500.0, float("nan"), 1e9]),
                ),
                max_size=4,
            ),
            st.booleans(),  # a disconnect before this packet
        ),
        max_size=60,
    )
)
def test_timeline_properties(packets) -> None:
    timeline = Timeline(START_NS)
    t_ns = START_NS
    parts = []
    n_valid = 0
    for dt, rr, disconnect in packets:
        t_ns += int(dt * NS_PER_S)
        if disconnect:
            timeline.break_segment()
        parts.append(timeline.push(t_ns, rr))
        n_valid += sum(1 for v in rr if 0 < v <= 3000)
    beats = Beats.concatenate(parts)
    assert len(beats) == n_valid  # every heartbeat kept, every non-heartbeat dropped
    assert np.all(np.isfinite(beats.times_s))
    assert np.all(np.diff(beats.times_s) > 0)  # time only moves forward
    assert np.all(np.diff(beats.segment) >= 0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=250.0, max_value=2000.0),
            st.sampled_from([0.0, float("nan"), 5000.0]),
        ),
        max_size=50,
    )
)
def test_beats_from_rr_properties(values) -> None:
    rr = np.array(values, dtype=np.float64)
    beats = beats_from_rr(rr)
    valid = np.isfinite(rr) & (rr > 0) & (rr <= 3000)
    np.testing.assert_array_equal(beats.rr_ms, rr[valid])
    # A new segment exactly after each dropped value that has valid beats on both sides.
    breaks = np.flatnonzero(np.diff(beats.segment))
    expected = [
        i
        for i in range(int(valid.sum()) - 1)
        if not np.all(valid[np.flatnonzero(valid)[i] : np.flatnonzero(valid)[i + 1] + 1])
    ]
    assert breaks.tolist() == expected
    if beats.segment.size:
        assert beats.segment[0] == 0


def test_a_finished_recording_puts_its_beats_on_the_host_clock():
    # Beats every 0.8-1.1 s, sent once a second; the first packet is 0.45 s late, later ones
    # 0-0.9 s. Live, the clock anchors at the late first packet and keeps the error (within
    # the ahead bound); afterwards each stretch is pinned by its least-late packet.
    rng = np.random.default_rng(5)
    beat_s = np.cumsum(rng.uniform(0.8, 1.1, 400))
    rr = np.diff(beat_s) * 1000.0
    beat_s = beat_s[1:]
    sends = np.arange(beat_s[0] + 0.45, beat_s[-1] + 1.0, 1.0)
    host_ns, packets, done = [], [], 0
    for send in sends:
        upto = int(np.searchsorted(beat_s, send, side="right"))
        if upto > done:
            host_ns.append(round(float(send) * NS_PER_S))
            packets.append(rr[done:upto].tolist())
            done = upto
    live = beats_from_packets(0, host_ns, packets)
    pinned = beats_pinned_to_arrivals(0, host_ns, packets)
    np.testing.assert_array_equal(pinned.rr_ms, live.rr_ms)
    truth = beat_s[: live.times_s.size]
    assert np.abs(live.times_s - truth).max() > 0.3
    assert np.abs(pinned.times_s - truth).max() < 0.05
