"""The regulation model: baseline, arousal and zone indicators, shifts, effect summaries."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from trm_bio.core.baseline import (
    Baseline,
    BaselineParams,
    Calibrator,
    combine_baselines,
    session_start_baseline,
)
from trm_bio.core.effects import EffectEvent, summarize_across_sessions, summarize_session
from trm_bio.core.regulation import (
    RegulationParams,
    Regulator,
    Zone,
    ZoneTracker,
    arousal_indicator,
    regulate,
)
from trm_bio.core.shifts import ShiftParams, detect_shift, detect_shifts, shift_table
from trm_bio.errors import TrmBioError

BASE = Baseline(
    hr_bpm=70.0, hr_spread_bpm=4.0, ln_rmssd=math.log(40.0), ln_rmssd_spread=0.25, n_beats=180
)


def beat_clock(duration_s: float, rr_s: float = 1.0) -> np.ndarray:
    return np.arange(1, int(duration_s / rr_s) + 1) * rr_s


def inputs_for(arousal: np.ndarray, baseline: Baseline = BASE) -> tuple[np.ndarray, np.ndarray]:
    """HR and RMSSD whose indicator (default weights) equals ``arousal`` exactly in theory."""
    hr = baseline.hr_bpm + arousal * baseline.hr_spread_bpm
    rmssd = np.exp(baseline.ln_rmssd - arousal * baseline.ln_rmssd_spread)
    return hr, rmssd


def zones_for(times: np.ndarray, arousal: np.ndarray, params: RegulationParams) -> np.ndarray:
    tracker = ZoneTracker(params)
    return np.array([tracker.update(t, a, -a) for t, a in zip(times, arousal, strict=True)])


def n_changes(zone: np.ndarray) -> int:
    return int(np.count_nonzero(np.diff(zone)))


# --- baseline -------------------------------------------------------------------------


def test_baseline_comes_from_the_first_minutes_of_valid_values() -> None:
    rng = np.random.default_rng(1)
    times = beat_clock(900.0)
    hr = 68.0 + rng.normal(0, 2.0, times.size)
    rmssd = np.exp(math.log(45.0) + rng.normal(0, 0.2, times.size))
    rmssd[times <= 60.0] = np.nan  # the 60 s RMSSD window is not full yet
    hr[times > 400.0] += 25.0  # later stress must not leak into the baseline
    params = BaselineParams(
        duration_s=180.0, min_beats=120, min_hr_spread_bpm=1.0, min_ln_rmssd_spread=0.05,
        hr_spread_factor=1.0, ln_rmssd_spread_factor=1.0,
    )
    baseline, end = session_start_baseline(times, hr, rmssd, params=params)
    assert baseline is not None and baseline.source == "session-start"
    first_valid = times[np.isfinite(rmssd)][0]
    assert times[end] == pytest.approx(first_valid + 180.0)
    assert baseline.n_beats == end + 1 - int(np.count_nonzero(~np.isfinite(rmssd[: end + 1])))
    assert baseline.hr_bpm == pytest.approx(68.0, abs=0.6)
    assert baseline.rmssd_ms == pytest.approx(45.0, rel=0.08)
    assert baseline.hr_spread_bpm == pytest.approx(2.0, rel=0.2)
    assert baseline.ln_rmssd_spread == pytest.approx(0.2, rel=0.25)


def test_baseline_spread_has_a_floor_and_short_sessions_give_none() -> None:
    times = beat_clock(400.0)
    flat = np.full(times.size, 60.0)
    baseline, _ = session_start_baseline(times, flat, np.full(times.size, 50.0))
    assert baseline is not None
    assert baseline.hr_spread_bpm == BaselineParams().min_hr_spread_bpm
    assert baseline.ln_rmssd_spread == BaselineParams().min_ln_rmssd_spread
    short = beat_clock(100.0)
    assert session_start_baseline(short, flat[: short.size], flat[: short.size]) == (None, -1)


def test_previous_sessions_combine_by_median_and_pooled_spread() -> None:
    olds = [
        Baseline(60.0, 3.0, math.log(50.0), 0.2, 181),
        Baseline(64.0, 4.0, math.log(40.0), 0.3, 181),
        Baseline(90.0, 5.0, math.log(20.0), 0.4, 181),  # one unusual day
        Baseline(75.0, 9.0, math.log(30.0), 0.9, 900, source="previous-sessions"),
    ]
    params = BaselineParams(min_sessions=3)
    assert combine_baselines(olds[:2], params=params) is None
    combined = combine_baselines(olds, params=params)
    assert combined is not None and combined.source == "previous-sessions"
    assert combined.n_sessions == 3  # the derived baseline is not fed back in
    assert combined.hr_bpm == 64.0
    assert combined.ln_rmssd == pytest.approx(math.log(40.0))
    # Within-session spreads pooled, plus the centres' day-to-day spread (MAD 4 bpm).
    between = 4.0 * 1.482602218505602
    assert combined.hr_spread_bpm == pytest.approx(math.sqrt((9 + 16 + 25) / 3 + between**2))
    assert combined.n_beats == 3 * 181
    record = json.loads(json.dumps(combined.to_dict(), allow_nan=False))
    assert Baseline.from_dict(record) == combined
    with pytest.raises(TrmBioError):
        Baseline.from_dict({"hr_bpm": 60})


def test_beats_without_plausible_hrv_calibrate_the_heart_rate_alone() -> None:
    # A pulse sensor: every beat has a heart rate, RMSSD is plausible at some beats only.
    rng = np.random.default_rng(5)
    times = beat_clock(400.0, 0.8)
    hr = 72.0 + rng.normal(0.0, 1.0, times.size)
    rmssd = np.exp(math.log(35.0) + rng.normal(0.0, 0.1, times.size))

    def calibrate(plausible: np.ndarray) -> Baseline | None:
        calibrator = Calibrator()
        for t, h, r, ok in zip(times, hr, rmssd, plausible, strict=True):
            found = calibrator.push(float(t), float(h), float(r) if ok else math.nan)
            if found is not None:
                return found
        return None

    half = calibrate(np.arange(times.size) % 2 == 0)  # HRV at half the beats: too few
    assert half is not None and not half.has_hrv and math.isnan(half.ln_rmssd)
    assert half.hr_bpm == pytest.approx(72.0, abs=0.5)
    most = calibrate(np.arange(times.size) % 10 != 0)  # 90 %: an HRV reference from those
    assert most is not None and most.has_hrv
    assert most.ln_rmssd == pytest.approx(math.log(35.0), abs=0.05)
    # Stored and pooled: a heart-rate-only baseline adds its heart rate only.
    assert Baseline.from_dict(json.loads(json.dumps(half.to_dict(), allow_nan=False))).hr_bpm \
        == half.hr_bpm
    pooled = combine_baselines([half, most, most])
    assert pooled is not None and pooled.n_sessions == 3
    assert pooled.ln_rmssd == pytest.approx(most.ln_rmssd)
    hr_only = combine_baselines([half] * 3)
    assert hr_only is not None and not hr_only.has_hrv


# --- arousal indicator -----------------------------------------------------------------


def test_arousal_rises_with_heart_rate_and_falls_with_vagal_hrv() -> None:
    target = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    hr, rmssd = inputs_for(target)
    arousal, z_hr, z_vagal = arousal_indicator(hr, rmssd, BASE)
    np.testing.assert_allclose(arousal, target, atol=1e-12)
    np.testing.assert_allclose(z_hr, target, atol=1e-12)
    np.testing.assert_allclose(z_vagal, -target, atol=1e-12)
    # HR alone up by two spreads, RMSSD at baseline: half-weighted.
    a, _, _ = arousal_indicator(np.array([78.0]), np.array([40.0]), BASE)
    assert a[0] == pytest.approx(1.0)
    hr_only = RegulationParams(w_hr=1.0, w_vagal=0.0)
    a, _, _ = arousal_indicator(np.array([78.0]), np.array([10.0]), BASE, params=hr_only)
    assert a[0] == pytest.approx(2.0)
    # Invalid HRV gives no indicator; a runaway component is clipped.
    a, _, zv = arousal_indicator(np.array([70.0, 70.0]), np.array([np.nan, 1e-9]), BASE)
    assert math.isnan(a[0]) and zv[1] == -RegulationParams().z_clip


def test_respiration_joins_only_where_available() -> None:
    base = dataclasses.replace(BASE, resp_rate_per_min=12.0, resp_spread_per_min=2.0)
    params = RegulationParams(w_resp=1.0)
    hr, rmssd = inputs_for(np.zeros(2))
    a, _, _ = arousal_indicator(hr, rmssd, base, np.array([18.0, np.nan]), params=params)
    assert a[0] == pytest.approx(3.0 / 3.0)  # (0 + 0 + 3) / 3
    assert a[1] == pytest.approx(0.0)


def test_bad_parameters_and_inputs_raise_one_sentence_errors() -> None:
    with pytest.raises(TrmBioError):
        RegulationParams(high_enter=1.0, high_exit=1.2)
    with pytest.raises(TrmBioError):
        RegulationParams(low_exit=3.0)
    with pytest.raises(TrmBioError):
        ShiftParams(after_windows=((60.0, 0.0),))
    with pytest.raises(TrmBioError):
        regulate(beat_clock(10), np.ones(9), np.ones(10), baseline=BASE)


# --- zones and hysteresis ---------------------------------------------------------------


def test_hysteresis_keeps_an_oscillation_around_the_threshold_from_flickering() -> None:
    params = RegulationParams()
    times = beat_clock(600.0, 0.8)
    arousal = params.high_enter + 0.4 * np.sin(2 * np.pi * times / 7.0)
    naive = (arousal >= params.high_enter).astype(int)
    assert n_changes(naive) > 100  # the test series does cross the threshold constantly
    zone = zones_for(times, arousal, params)
    assert n_changes(zone) <= 1
    assert zone[-1] == Zone.HIGH  # it never fell below the exit threshold
    # Oscillating around the exit threshold, once inside it stays inside.
    arousal = np.r_[np.full(100, 3.0), params.high_exit + 0.3 * np.sin(np.arange(500.0))]
    zone = zones_for(beat_clock(600.0), arousal, params)
    assert n_changes(zone) <= 2


def test_dwell_and_confirmation_times_are_respected() -> None:
    params = RegulationParams(min_dwell_s=20.0, confirm_s=5.0)
    times = beat_clock(200.0, 0.5)
    # A 3 s spike is shorter than the confirmation: never shown.
    spike = np.where((times > 50) & (times <= 53), 3.0, 0.0)
    assert (zones_for(times, spike, params) == Zone.RESILIENT).all()
    # A 10 s excursion is shown after confirm_s and held for min_dwell_s.
    burst = np.where((times > 50) & (times <= 60), 3.0, 0.0)
    zone = zones_for(times, burst, params)
    high_t = times[zone == Zone.HIGH]
    assert high_t[0] == pytest.approx(50.5 + params.confirm_s)
    assert high_t[-1] - high_t[0] >= params.min_dwell_s - 0.5
    assert high_t[-1] - high_t[0] < params.min_dwell_s + params.confirm_s + 1.0
    assert zone[-1] == Zone.RESILIENT


def test_low_side_is_conservative_and_tentative() -> None:
    params = RegulationParams()
    times = beat_clock(300.0)
    for level, expected in ((2.0, Zone.HIGH), (-2.0, Zone.RESILIENT), (-3.0, Zone.LOW)):
        hr, rmssd = inputs_for(np.where(times > 100, level, 0.0))
        trace = regulate(times, hr, rmssd, baseline=BASE, params=params)
        assert trace.zone[-1] == expected, level
        assert trace.tentative[-1] == (expected == Zone.LOW)
    # A High reading whose components disagree (HRV up too) is tentative.
    hr = np.full(times.size, BASE.hr_bpm + 6 * BASE.hr_spread_bpm)
    rmssd = np.full(times.size, math.exp(BASE.ln_rmssd + 1.5 * BASE.ln_rmssd_spread))
    trace = regulate(times, hr, rmssd, baseline=BASE)
    assert trace.zone[-1] == Zone.HIGH and trace.tentative[-1]
    assert trace.zone_labels()[-1] == "high"


def test_invalid_values_show_unknown_and_the_zone_is_held_through_short_gaps() -> None:
    params = RegulationParams(hold_unknown_s=60.0)
    times = beat_clock(400.0)
    arousal = np.full(times.size, 0.0)
    arousal[(times > 50) & (times <= 400)] = 1.5  # between exit and enter thresholds
    arousal[(times > 50) & (times <= 100)] = 3.0  # enter high
    arousal[(times > 100) & (times <= 130)] = np.nan  # short gap: zone remembered
    arousal[(times > 200) & (times <= 300)] = np.nan  # long gap: zone forgotten
    zone = zones_for(times, arousal, params)
    assert (zone[np.isnan(arousal)] == Zone.UNKNOWN).all()
    after_short = zone[(times > 130) & (times <= 200)]
    assert (after_short == Zone.HIGH).all()  # 1.5 is above high_exit: still high
    after_long = zone[times > 300]
    assert (after_long == Zone.RESILIENT).all()  # 1.5 is below high_enter: a fresh start
    hr, rmssd = inputs_for(arousal)
    trace = regulate(times, hr, rmssd, baseline=BASE, params=params)
    assert np.isnan(trace.arousal[np.isnan(arousal)]).all()
    np.testing.assert_array_equal(trace.zone, zone)


def test_live_regulator_equals_batch() -> None:
    rng = np.random.default_rng(7)
    times = np.cumsum(rng.uniform(0.6, 1.1, 2500))
    slow = np.convolve(rng.normal(0, 1.0, times.size), np.ones(40) / 40 * 6, mode="same")
    hr = 72 + 4 * slow + rng.normal(0, 0.5, times.size)
    rmssd = np.exp(math.log(35) - 0.3 * slow + rng.normal(0, 0.05, times.size))
    resp = 13 + 2 * slow
    rmssd[:80] = np.nan
    rmssd[900:960] = np.nan
    hr[1500:1520] = np.nan
    resp[::7] = np.nan
    cases = [
        (RegulationParams(), None),
        (RegulationParams(w_resp=0.5, min_dwell_s=5.0, confirm_s=0.0), None),
        (RegulationParams(), BASE),
    ]
    for params, given in cases:
        trace = regulate(times, hr, rmssd, resp, baseline=given, params=params)
        live = Regulator(params, baseline=given)
        states = [live.update(*v) for v in zip(times, hr, rmssd, resp, strict=True)]
        assert live.baseline == trace.baseline
        np.testing.assert_allclose([s.arousal for s in states], trace.arousal, rtol=1e-12)
        np.testing.assert_array_equal([int(s.zone) for s in states], trace.zone)
        np.testing.assert_array_equal([s.tentative for s in states], trace.tentative)
        assert n_changes(trace.zone) > 2  # the series exercises the zones
        calibrating = [s.calibrating for s in states]
        assert sum(calibrating) == (trace.calibration_end_index if given is None else 0)


# --- shifts ----------------------------------------------------------------------------


def scripted_recovery(times: np.ndarray, event_s: float) -> np.ndarray:
    """Arousal 3 before the event, falling to 0.3 within 60 s after it."""
    frac = np.clip((times - event_s) / 60.0, 0.0, 1.0)
    return 3.0 - 2.7 * frac


def test_a_recovery_after_an_event_is_a_shift_toward_the_band() -> None:
    times = beat_clock(600.0, 0.75)
    arousal_in = scripted_recovery(times, 300.0)
    hr, rmssd = inputs_for(arousal_in)
    trace = regulate(times, hr, rmssd, baseline=BASE)
    shift = detect_shift(times, hr, rmssd, trace.arousal, 300.0, BASE, zone=trace.zone)
    assert shift.direction == "toward"
    assert shift.zone_before == "high" and shift.zone_after == "resilient"
    assert shift.peak_window == 1  # the fully recovered second minute
    change = shift.after[1]
    assert change.d_hr_bpm == pytest.approx(-2.7 * BASE.hr_spread_bpm, rel=1e-6)
    assert change.d_hr_effect == pytest.approx(-2.7, rel=1e-6)
    assert change.d_ln_rmssd_effect == pytest.approx(2.7, rel=1e-6)
    assert shift.movement == pytest.approx((3.0 - 0.3) / RegulationParams().high_enter)
    json.dumps(shift.to_dict(), allow_nan=False)
    # The reverse is "away", a flat stretch "none", and beyond the data "unknown".
    hr2, rmssd2 = inputs_for(3.3 - scripted_recovery(times, 300.0))
    away = detect_shift(times, hr2, rmssd2, regulate(times, hr2, rmssd2, baseline=BASE).arousal,
                        300.0, BASE)
    assert away.direction == "away" and away.zone_before == "resilient"
    assert detect_shift(times, hr, rmssd, trace.arousal, 500.0, BASE).direction == "none"
    assert detect_shift(times, hr, rmssd, trace.arousal, 590.0, BASE).direction == "unknown"


def test_many_events_vectorised_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    times = beat_clock(1800.0, 0.9)
    hr, rmssd = inputs_for(np.cumsum(rng.normal(0, 0.08, times.size)))
    trace = regulate(times, hr, rmssd, baseline=BASE)
    events = np.sort(rng.uniform(30, 1790, 25))
    many = detect_shifts(times, hr, rmssd, trace.arousal, events, BASE, zone=trace.zone)
    for t, shift in zip(events, many, strict=True):
        one = detect_shift(times, hr, rmssd, trace.arousal, t, BASE, zone=trace.zone)
        assert one == shift or one.to_dict() == shift.to_dict()
    table = shift_table(times, hr, rmssd, trace.arousal, events, BASE)
    assert table["movement"].shape == (25, 2) and table["hr_bpm"].shape == (25, 3)
    # A direct window mean, the slow way, for one event.
    t = events[5]
    inside = (times > t + 60) & (times <= t + 120)
    assert table["hr_bpm"][5, 2] == pytest.approx(hr[inside].mean())


# --- per-skill effects ------------------------------------------------------------------


def test_session_and_cross_session_effects_rank_skills_by_movement_toward_the_band() -> None:
    times = beat_clock(1500.0)
    arousal = np.full(times.size, 0.0)
    # Grounding at 300 s and 900 s: settles a raised state; "tight chest" log at 600 s:
    # followed by a rise.
    for t0 in (300.0, 900.0):
        before = (times > t0 - 90) & (times <= t0)
        after = (times > t0) & (times <= t0 + 150)
        arousal[before] = 2.5
        arousal[after] = 2.5 - 2.2 * np.clip((times[after] - t0) / 60, 0, 1)
    rise = (times > 600) & (times <= 750)
    arousal[rise] = 2.0 * np.clip((times[rise] - 600) / 60, 0, 1)
    hr, rmssd = inputs_for(arousal)
    trace = regulate(times, hr, rmssd, baseline=BASE)
    events = [
        EffectEvent(300.0, "skill", "Grounding"),
        {"time_s": 600.0, "kind": "sensation", "label": "tight  chest"},
        EffectEvent(900.0, "skill", "grounding"),
        EffectEvent(1200.0, "skill", "Resourcing"),
        EffectEvent(1490.0, "marker", "end"),
    ]
    summary = summarize_session(times, hr, rmssd, trace, events, kinds=["skill", "sensation"])
    labels = [(i.kind, i.label.casefold()) for i in summary.items]
    assert labels == [("skill", "grounding"), ("skill", "resourcing"), ("sensation", "tight chest")]
    grounding, resourcing, tight = summary.items
    assert grounding.n_events == 2 and grounding.n_toward == 2 and grounding.mean_d_hr_bpm < 0
    assert resourcing.n_none == 1
    assert tight.n_away == 1 and tight.mean_movement < 0
    record = json.loads(json.dumps(summary.to_dict(), allow_nan=False))
    assert len(record["shifts"]) == 4
    across = summarize_across_sessions([summary, record, summary])
    assert next((e.kind, e.label.casefold()) for e in across) == ("skill", "grounding")
    assert across[0].n_sessions == 3 and across[0].n_toward == 6
    assert across[0].mean_movement == pytest.approx(grounding.mean_movement)
    assert across[-1].label == "tight chest" and across[-1].fraction_toward == 0.0
    json.dumps([e.to_dict() for e in across], allow_nan=False)


# --- the simulated strap's scenarios (the checks) ---------------------------------

SEEDS = range(5)


def scenario_inputs(name: str, seed: int, duration_s: float | None = None):
    """Beat times, HR and RMSSD from the simulated strap's packets, as the app computes them
    for the zone indicator (its HR and RMSSD windows)."""
    simulated = pytest.importorskip("devices.simulated")
    from devices.packet import Packet
    from trm_bio.core.regulation import HR_WINDOW_S, RMSSD_WINDOW_S
    from trm_bio.core.time_domain import time_domain

    scenario = simulated.SCENARIOS[name]
    items = simulated.simulate(name, seed=seed, duration_s=duration_s or scenario.duration_s)
    rr_ms = np.array([rr for p in items if isinstance(p, Packet) for rr in p.rr_ms])
    times = np.cumsum(rr_ms) / 1000.0
    hr = time_domain(rr_ms, times, window_s=HR_WINDOW_S)["HR"]
    rmssd = time_domain(rr_ms, times, window_s=RMSSD_WINDOW_S)["RMSSD"]
    return scenario, times, hr, rmssd


def shown_rmssd(times: np.ndarray, name: str, seed: int) -> np.ndarray:
    """The 60 s RMSSD the app shows and measures shifts with."""
    from trm_bio.core.time_domain import time_domain

    simulated = pytest.importorskip("devices.simulated")
    from devices.packet import Packet

    items = simulated.simulate(name, seed=seed, duration_s=simulated.SCENARIOS[name].duration_s)
    rr_ms = np.array([rr for p in items if isinstance(p, Packet) for rr in p.rr_ms])
    return time_domain(rr_ms, times, window_s=60.0)["RMSSD"]


@pytest.mark.parametrize("seed", SEEDS)
def test_stress_rise_is_marked_high_within_a_minute_and_returns_after_recovery(seed: int) -> None:
    scenario, times, hr, rmssd = scenario_inputs("stress", seed)
    trace = regulate(times, hr, rmssd)
    assert trace.baseline is not None and times[trace.calibration_end_index] < scenario.onset_s
    high = times[trace.zone == Zone.HIGH]
    # The rise is slow (90 s, onset to peak); the model, tuned on real rest and city driving
    # to confirm a change for 20 s at 2 spreads, marks it by 30 s after the rise completes
    # (real city driving: within 45 s of its start, bench/bench_regulation.py).
    assert high.size and scenario.onset_s < high[0] <= scenario.peak_s + 30.0
    assert not trace.tentative[trace.zone == Zone.HIGH].any()  # HR and HRV agree
    back = times[(trace.zone == Zone.RESILIENT) & (times > scenario.recovery_s)]
    assert back.size and back[0] > scenario.recovery_s
    end = times > times[-1] - 30.0
    assert (trace.zone[end] == Zone.RESILIENT).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_calm_scenario_never_leaves_the_band(seed: int) -> None:
    # 20 minutes of a resting heart that wanders as much as real rest does: arousal p95/p99
    # about 1.15/1.5 against the old 2-minute calibration and windows, which the old model
    # (enter at 1.25 spreads after 3 s) turned into false High.
    _, times, hr, rmssd = scenario_inputs("calm", seed, duration_s=1200.0)
    trace = regulate(times, hr, rmssd)
    shown = trace.zone[trace.zone != Zone.UNKNOWN]
    assert shown.size > 0.7 * times.size
    assert (shown == Zone.RESILIENT).all()
    live = Regulator()
    states = [live.update(*v) for v in zip(times, hr, rmssd, strict=True)]
    np.testing.assert_array_equal([int(s.zone) for s in states], trace.zone)


@pytest.mark.parametrize("seed", SEEDS)
def test_recovery_after_help_now_is_a_shift_toward_the_band(seed: int) -> None:
    scenario, times, hr, rmssd = scenario_inputs("helpnow", seed)
    trace = regulate(times, hr, rmssd)
    help_now_s = scenario.events["helpnow"]
    summary = summarize_session(
        times, hr, shown_rmssd(times, "helpnow", seed), trace,
        [EffectEvent(help_now_s, "skill", "Help Now!")],
    )
    (item,) = summary.items
    (_, shift) = summary.shifts[0]
    assert shift.direction == "toward" and item.n_toward == 1
    assert shift.zone_before == "high"
    # Movement is in units of the High enter threshold (2 spreads since the retuning on real
    # recordings, 1.25 before): still well past the least movement that counts.
    assert shift.movement >= ShiftParams().min_movement
    assert shift.changes["d_arousal"] < -0.5
    # Its size: heart rate down by several bpm (over two baseline spreads), vagal HRV up.
    assert shift.changes["d_hr_bpm"] < -5.0 and shift.changes["d_hr_effect"] < -2.0
    assert shift.changes["d_ln_rmssd_effect"] > 1.0


@pytest.mark.parametrize("name", ["low-arousal", "low-arousal-variable"])
def test_both_faces_of_the_low_zone_are_indicated_tentatively(name: str) -> None:
    scenario, times, hr, rmssd = scenario_inputs(name, 0)
    trace = regulate(times, hr, rmssd)
    late = times > scenario.peak_s + 60.0
    assert (trace.zone[late] == Zone.LOW).all()
    assert trace.tentative[late].all()
    assert (trace.zone[times < scenario.onset_s] != Zone.LOW).all()
