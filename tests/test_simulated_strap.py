"""The simulated strap: physiology model, packetisation, link events, the threaded source."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from devices.hrm import decode_hrm, rr_ms_to_raw
from devices.packet import LinkState, Packet, SensorContact, StatusEvent
from devices.physiology import (
    SCENARIOS,
    HeartModel,
    Profile,
    model_beats,
    rmssd_range_ms,
)
from devices.simulated import (
    Artifacts,
    BeatLabel,
    SimulatedStrap,
    simulate,
    strap_beats,
    true_beats,
)

MAX_LATE_S = 0.045 + 0.005  # latest arrival after a strap's send time (latency + jitter)


def packets(items) -> list[Packet]:
    return [item for item in items if isinstance(item, Packet)]


def statuses(items) -> list[StatusEvent]:
    return [item for item in items if isinstance(item, StatusEvent)]


def rmssd(rr_ms: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr_ms) ** 2)))


def wait_for(source, predicate, timeout_s: float = 10.0) -> list:
    """Items from ``source`` up to and including the first that satisfies ``predicate``."""
    got = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = source.get(timeout_s=max(0.0, deadline - time.monotonic()))
        if item is None:
            break
        got.append(item)
        if predicate(item):
            return got
    raise AssertionError(f"no matching item within {timeout_s} s; got {len(got)} items")


# -- the model -----------------------------------------------------------------------------


def test_same_seed_gives_the_same_items_and_another_seed_does_not():
    first = list(simulate("stress", seed=7, duration_s=120, start_ns=5))
    again = list(simulate("stress", seed=7, duration_s=120, start_ns=5))
    other = list(simulate("stress", seed=8, duration_s=120, start_ns=5))
    assert first == again
    assert [p.payload for p in packets(first)] != [p.payload for p in packets(other)]


def test_chunked_model_matches_one_shot_run():
    times_s, rr_ms = model_beats("helpnow", seed=4, duration_s=500)
    heart = HeartModel(SCENARIOS["helpnow"], 4)
    parts = [heart.beats_until(end) for end in (*np.arange(13.7, 500, 13.7), 500.0)]
    assert np.allclose(np.concatenate([p[0] for p in parts]), times_s, rtol=0, atol=1e-9)
    assert np.allclose(np.concatenate([p[1] for p in parts]), rr_ms, rtol=0, atol=1e-6)


def test_profiles_interpolate_linearly_or_smoothly_and_hold_at_the_ends():
    linear = Profile((10.0, 20.0), (60.0, 80.0))
    smooth = Profile((10.0, 20.0), (60.0, 80.0), "smooth")
    assert linear([0.0, 15.0, 17.5, 99.0]).tolist() == [60.0, 70.0, 75.0, 80.0]
    assert smooth([0.0, 15.0, 99.0]).tolist() == [60.0, 70.0, 80.0]
    assert 75.0 < smooth(17.5) < 80.0  # S-curve: slower near the knots
    with pytest.raises(ValueError, match="increase"):
        Profile((2.0, 1.0), (0.0, 0.0))


@pytest.mark.parametrize(
    ("name", "phase"),
    [(name, phase) for name, sc in SCENARIOS.items() for phase in sc.phases],
)
def test_each_steady_phase_stays_in_its_documented_rmssd_range(name, phase):
    scenario = SCENARIOS[name]
    start_s, end_s = scenario.phases[phase]
    window_s = 120.0
    low, high = rmssd_range_ms(name, phase)
    for seed in range(6):
        beats = true_beats(name, seed=seed, duration_s=end_s)
        for window_end_s in np.arange(start_s + window_s, end_s + 1e-9, window_s):
            inside = (beats.times_s > window_end_s - window_s) & (beats.times_s <= window_end_s)
            assert low <= rmssd(beats.rr_ms[inside]) <= high, (seed, window_end_s)
        # The mean heart rate follows the script too, within the model's 3 % and three
        # standard deviations of the slow wander's mean over the phase.
        inside = (beats.times_s > start_s) & (beats.times_s <= end_s)
        scripted = scenario.at(0.5 * (start_s + end_s))
        mean_hr = 60000.0 / beats.rr_ms[inside].mean()
        span_s = end_s - start_s
        wander = 3 * scenario.hr_wander_bpm * math.sqrt(2 * scenario.wander_tau_s / span_s)
        expected = scripted["heart_rate_bpm"]
        assert mean_hr == pytest.approx(expected, abs=0.03 * expected + wander)


def test_scenarios_expose_their_event_times():
    stress = SCENARIOS["stress"]
    assert (stress.onset_s, stress.peak_s, stress.recovery_s, stress.recovered_s) == (
        360.0, 450.0, 630.0, 930.0,
    )
    helpnow = SCENARIOS["helpnow"]
    assert helpnow.events["helpnow"] == helpnow.recovery_s == 600.0
    assert SCENARIOS["calm"].onset_s is None
    paced = SCENARIOS["paced-breathing"]
    assert paced.at(400.0)["breaths_per_min"] == 6.0
    assert paced.at(300.0)["breaths_per_min"] == 12.0  # calm while the baseline settles
    for scenario in SCENARIOS.values():
        times = [t for t in scenario.events.values()]
        assert all(0 < t < scenario.duration_s for t in times)


def test_unknown_scenario_is_one_sentence():
    with pytest.raises(ValueError, match=r"no simulated scenario 'nope'; choose one of calm"):
        list(simulate("nope", duration_s=10))


# -- packets ------------------------------------------------------------------------------


def test_payloads_carry_the_generated_rr_to_the_nearest_1024th_of_a_second():
    duration_s = 300.0
    items = list(simulate("calm", seed=3, duration_s=duration_s))
    sent = packets(items)
    decoded = [decode_hrm(p.payload) for p in sent]
    truth = true_beats("calm", seed=3, duration_s=duration_s)
    raw = [r for m in decoded for r in m.rr_raw]
    # Every beat is delivered in order, except those after the last notification.
    assert len(truth) - 2 <= len(raw) <= len(truth)
    assert raw == [rr_ms_to_raw(v) for v in truth.rr_ms[: len(raw)]]
    assert np.max(np.abs(np.asarray(raw) * 1000 / 1024 - truth.rr_ms[: len(raw)])) <= 0.4883
    # The packet's decoded fields are the payload's.
    assert all(p.rr_ms == m.rr_ms and p.heart_rate_bpm == m.heart_rate_bpm
               for p, m in zip(sent, decoded, strict=True))
    # Each beat completed before its packet arrived and after the previous packet was sent.
    beat_index = 0
    previous_arrival_s = 0.0
    for packet in sent:
        arrival_s = packet.host_ns / 1e9
        for _ in packet.rr_ms:
            beat_s = truth.times_s[beat_index]
            assert previous_arrival_s - MAX_LATE_S < beat_s < arrival_s
            beat_index += 1
        previous_arrival_s = arrival_s


def test_about_one_packet_a_second_with_zero_to_three_rr_and_an_averaged_heart_rate():
    items = list(simulate("calm", seed=1, duration_s=600, start_ns=10**12))
    sent = packets(items)
    arrivals_s = (np.array([p.host_ns for p in sent]) - 10**12) / 1e9
    assert len(sent) in range(598, 601)
    assert np.all(np.diff(arrivals_s) > 0.95) and np.all(np.diff(arrivals_s) < 1.05)
    counts = [len(p.rr_ms) for p in sent]
    # At 65 bpm (1.08 beats/s) a packet carries 1 or 2 RR, or none after a long beat.
    assert {1, 2} <= set(counts) <= {0, 1, 2}
    assert all(p.contact is SensorContact.CONTACT for p in sent)
    rr_so_far: list[float] = []
    for packet in sent:
        rr_so_far.extend(packet.rr_ms)
        if rr_so_far:
            assert abs(packet.heart_rate_bpm - 60000 / np.mean(rr_so_far[-4:])) <= 0.55
    assert items[0].host_ns == 10**12
    assert [s.state for s in statuses(items)] == [
        LinkState.CONNECTING, LinkState.CONNECTED, LinkState.STREAMING, LinkState.DISCONNECTED,
    ]
    assert all(s.battery_percent == 100 and s.body_location == 1 for s in statuses(items))
    assert all(item.source_id == "sim:calm:1" for item in items)
    host = [item.host_ns for item in items]
    assert host == sorted(host)
    assert items[-1].host_ns == 10**12 + 600 * 10**9


@pytest.mark.parametrize(("heart_rate_bpm", "rr_counts"), [(150.0, {2, 3}), (50.0, {0, 1})])
def test_rr_per_packet_follow_the_heart_rate(heart_rate_bpm, rr_counts):
    scenario = dataclasses.replace(
        SCENARIOS["calm"], name="steady", heart_rate_bpm=Profile.constant(heart_rate_bpm)
    )
    counts = [len(p.rr_ms) for p in packets(simulate(scenario, seed=0, duration_s=120))]
    assert set(counts) == rr_counts


def test_stress_raises_heart_rate_after_onset_and_recovers():
    scenario = SCENARIOS["stress"]
    sent = packets(simulate("stress", seed=2, duration_s=scenario.duration_s))
    t_s = np.array([p.host_ns for p in sent]) / 1e9
    hr = np.array([p.heart_rate_bpm for p in sent], dtype=float)
    rr_t = np.repeat(t_s, [len(p.rr_ms) for p in sent])
    rr = np.concatenate([p.rr_ms for p in sent])

    def mean_hr(a, b):
        return hr[(t_s > a) & (t_s <= b)].mean()

    def rmssd_between(a, b):
        return rmssd(rr[(rr_t > a) & (rr_t <= b)])

    baseline = mean_hr(60, scenario.onset_s)
    # Calm up to the onset: the last minute is within the resting heart's slow wander.
    calm_band = 2 * scenario.hr_wander_bpm
    last_minute = mean_hr(scenario.onset_s - 60, scenario.onset_s)
    assert last_minute == pytest.approx(baseline, abs=calm_band)
    assert 20 <= mean_hr(scenario.peak_s, scenario.recovery_s) - baseline <= 30
    assert rmssd_between(scenario.peak_s, scenario.recovery_s) < 0.4 * rmssd_between(60, 360)
    assert mean_hr(scenario.recovered_s, scenario.duration_s) - baseline < 3 + calm_band
    # The rise has begun a minute after onset, and has not before it.
    assert mean_hr(scenario.onset_s + 30, scenario.onset_s + 60) > baseline + 5


def test_link_drop_gives_status_events_and_a_gap_then_resumes():
    items = list(simulate("calm", seed=5, duration_s=120, link_drops=[(40.0, 55.0)]))
    sent = packets(items)
    arrivals_s = np.array([p.host_ns for p in sent]) / 1e9
    assert not np.any((arrivals_s >= 40.0) & (arrivals_s < 55.05))
    gap = np.diff(arrivals_s).max()
    assert gap >= 15.0 and arrivals_s[np.argmax(np.diff(arrivals_s)) + 1] <= 56.1
    events = [(s.host_ns / 1e9, s.state) for s in statuses(items)]
    in_drop = [(t, state) for t, state in events if 40.0 <= t <= 56.0]
    assert [state for _, state in in_drop] == [
        LinkState.DISCONNECTED, LinkState.RECONNECTING, LinkState.CONNECTED, LinkState.STREAMING,
    ]
    assert in_drop[0][0] == pytest.approx(42.0) and in_drop[2][0] == pytest.approx(55.0)
    host = [item.host_ns for item in items]
    assert host == sorted(host)
    # Beats in the gap are lost; the first packet after it carries the beats since the
    # strap's previous (lost) notification, and from there on every beat arrives.
    truth = true_beats("calm", seed=5, duration_s=120)
    truth_raw = [rr_ms_to_raw(v) for v in truth.rr_ms]
    after = [p for p in sent if p.host_ns > 55e9]
    raw_after = [r for p in after for r in decode_hrm(p.payload).rr_raw]
    first = int(np.searchsorted(truth.times_s, after[0].host_ns / 1e9 - 1.0 - MAX_LATE_S))
    first += next(k for k in range(4) if truth_raw[first + k : first + k + 20] == raw_after[:20])
    assert raw_after == truth_raw[first : first + len(raw_after)]
    assert len(truth_raw) - (first + len(raw_after)) <= 2
    before = [r for p in sent if p.host_ns < 40e9 for r in decode_hrm(p.payload).rr_raw]
    assert before == truth_raw[: len(before)]
    assert first - len(before) >= 13  # about 15 s of beats never arrived


def test_contact_loss_flags_packets_and_drops_the_rr_it_touches():
    items = list(simulate("calm", seed=6, duration_s=90, contact_loss=[(30.0, 40.0)]))
    sent = packets(items)
    lost = [p for p in sent if p.contact is SensorContact.NO_CONTACT]
    assert 9 <= len(lost) <= 11
    assert all(p.rr_ms == () and p.heart_rate_bpm == 0 for p in lost)
    assert all(30.0 <= p.host_ns / 1e9 < 40.0 + MAX_LATE_S for p in lost)
    states = [s.state for s in statuses(items)]
    assert states.count(LinkState.CONTACT_LOST) == 1
    assert states[states.index(LinkState.CONTACT_LOST) + 1] is LinkState.STREAMING
    beats = strap_beats("calm", seed=6, duration_s=90, contact_loss=[(30.0, 40.0)])
    starts_s = beats.times_s - beats.rr_ms / 1000
    assert not np.any((beats.times_s > 30.0) & (starts_s < 40.0))
    assert np.any(beats.times_s > 40.0) and np.any(beats.times_s < 30.0)


def test_artifacts_are_labelled_and_sent():
    artifacts = Artifacts(missed_rate=0.02, extra_rate=0.02, ectopic_rate=0.02)
    reported = strap_beats("calm", seed=9, duration_s=1200, artifacts=artifacts)
    truth = true_beats("calm", seed=9, duration_s=1200)
    labels = np.bincount(reported.label, minlength=4)
    n = len(truth)
    # Each rate per true beat; EXTRA and ECTOPIC change two intervals each.
    assert 0.01 * n < labels[BeatLabel.MISSED] < 0.03 * n
    assert 0.02 * n < labels[BeatLabel.EXTRA] < 0.06 * n
    assert 0.02 * n < labels[BeatLabel.ECTOPIC] < 0.06 * n
    assert len(reported) == n - labels[BeatLabel.MISSED] + labels[BeatLabel.EXTRA] // 2
    # Reported intervals still add up to the elapsed time, and normal ones are the heart's.
    assert reported.rr_ms.sum() / 1000 == pytest.approx(
        reported.times_s[-1] - (truth.times_s[0] - truth.rr_ms[0] / 1000), abs=1e-6
    )
    normal = reported.label == BeatLabel.NORMAL
    assert np.isin(reported.times_s[normal], truth.times_s).all()
    missed = reported.rr_ms[reported.label == BeatLabel.MISSED]
    assert missed.min() > 1.5 * np.median(truth.rr_ms)
    sent = packets(simulate("calm", seed=9, duration_s=1200, artifacts=artifacts))
    raw = [r for p in sent for r in decode_hrm(p.payload).rr_raw]
    assert raw == [rr_ms_to_raw(v) for v in reported.rr_ms[: len(raw)]]


def test_junk_after_connect_and_clock_drift():
    artifacts = Artifacts(junk_after_connect=True, clock_drift_ppm=2000)
    items = list(
        simulate("calm", seed=2, duration_s=120, artifacts=artifacts, link_drops=[(50, 60)])
    )
    with_rr = [p for p in packets(items) if p.rr_ms]
    first_after_drop = next(p for p in with_rr if p.host_ns > 60e9)
    assert with_rr[0].rr_ms[0] == 0.0 and first_after_drop.rr_ms[0] == 0.0
    assert sum(1 for p in with_rr for v in p.rr_ms if v == 0.0) == 2
    sent = [v for p in with_rr if p.host_ns < 50e9 for v in p.rr_ms if v > 0]
    truth = true_beats("calm", seed=2, duration_s=50).rr_ms[: len(sent)]
    assert sum(sent) / truth.sum() == pytest.approx(1.002, abs=1e-4)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        list(simulate("calm", duration_s=60, link_drops=[(10, 20), (15, 30)]))
    with pytest.raises(ValueError, match=r"at most 0\.5"):
        Artifacts(missed_rate=0.4, extra_rate=0.4)
    with pytest.raises(ValueError, match="finite speed"):
        SimulatedStrap("calm", speed=math.inf)


# -- the threaded source -------------------------------------------------------------------


def test_strap_at_full_speed_delivers_exactly_the_generator_items():
    options = {"seed": 11, "duration_s": 300.0, "link_drops": [(100.0, 110.0)]}
    strap = SimulatedStrap("stress", speed=math.inf, **options)
    assert strap.source_id == "sim:stress:11"
    strap.start()
    try:
        got = wait_for(
            strap,
            lambda item: isinstance(item, StatusEvent)
            and item.state is LinkState.DISCONNECTED
            and item.message == "The simulated session ended.",
        )
    finally:
        strap.stop()
    expected = list(simulate("stress", start_ns=strap.start_ns, **options))
    assert got == expected
    assert strap.drain() == []  # nothing after the end: the stop added no second DISCONNECTED
    assert not strap.running


def test_stop_interrupts_a_pause_and_joins_at_once():
    # So slow that the next packet is due in about 20 minutes: only stop() can end the wait.
    strap = SimulatedStrap("calm", seed=0, speed=1e-3)
    strap.start()
    first = wait_for(strap, lambda item: getattr(item, "state", None) is LinkState.STREAMING)
    assert [item.state for item in first] == [
        LinkState.CONNECTING, LinkState.CONNECTED, LinkState.STREAMING,
    ]
    assert strap.running
    strap.stop(timeout_s=5.0)
    assert not strap.running
    last = strap.get(timeout_s=1.0)
    assert isinstance(last, StatusEvent) and last.state is LinkState.DISCONNECTED
    assert strap.state is LinkState.DISCONNECTED
    strap.stop()  # twice is fine


def test_real_time_pacing_stamps_packets_with_their_arrival():
    strap = SimulatedStrap("calm", seed=1, speed=1.0, duration_s=2.5)
    strap.start()
    try:
        packet = wait_for(strap, lambda item: isinstance(item, Packet), timeout_s=5.0)[-1]
        received_ns = time.monotonic_ns()
    finally:
        strap.stop()
    # Never early, and (at speed 1) host_ns is the real arrival time.
    assert 0 <= received_ns - packet.host_ns < 250_000_000
    assert packet.host_ns - strap.start_ns > 250_000_000


# -- through the core ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ten_minutes_of_calm_through_the_core_give_its_breathing_rate_and_rmssd(seed):
    timeline = pytest.importorskip("trm_bio.core.timeline")
    frequency = pytest.importorskip("trm_bio.core.frequency_domain")
    time_domain = pytest.importorskip("trm_bio.core.time_domain")
    strap = SimulatedStrap("calm", seed=seed, speed=math.inf, duration_s=600.0)
    strap.start()
    try:
        items = wait_for(
            strap, lambda i: getattr(i, "message", "") == "The simulated session ended."
        )
    finally:
        strap.stop()
    sent = packets(items)
    beats = timeline.beats_from_packets(
        strap.start_ns, [p.host_ns for p in sent], [decode_hrm(p.payload).rr_ms for p in sent]
    )
    assert len(beats) > 600
    ends_s = np.array([360.0, 480.0, 595.0])
    spectrum = frequency.frequency_domain(
        beats.rr_ms, beats.times_s, beats.segment, window_s=300.0, ends_s=ends_s
    )
    scripted = SCENARIOS["calm"].at(300.0)["breaths_per_min"]
    assert np.all(np.abs(np.asarray(spectrum["RespirationRate"]) - scripted) <= 1.0)
    metrics = time_domain.time_domain(
        beats.rr_ms, beats.times_s, beats.segment, window_s=300.0, ends_s=ends_s
    )
    low, high = rmssd_range_ms("calm", "rest")
    assert np.all((np.asarray(metrics["RMSSD"]) >= low) & (np.asarray(metrics["RMSSD"]) <= high))
