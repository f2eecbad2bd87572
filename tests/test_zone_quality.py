"""A zone indicator a person can trust: calibration quality, a pooled baseline by default,
signal-quality gating with plain reasons, and ``analyze --series`` equal to the live app."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from devices.packet import LinkState, Packet, StatusEvent
from devices.simulated import SimulatedStrap, true_beats
from tests.artifact_injection import inject
from tests.cli_run import run
from tests.recordings import mitdb_rhythm, nsr001_rr_ms, shared_data_dir
from trm_bio.analysis import regulation_trace
from trm_bio.controller import SessionController, SessionOptions
from trm_bio.core.baseline import Baseline, BaselineParams, Calibrator
from trm_bio.core.engine import StreamingEngine, analyse_beats
from trm_bio.core.norms import resting_norms
from trm_bio.core.regulation import (
    HR_METRIC,
    REASON_ARTIFACTS,
    REASON_ECTOPIC,
    REASON_HR_ONLY,
    REASON_IMPLAUSIBLE,
    REASON_IRREGULAR,
    REASON_SETTLING_HRV,
    RegulationParams,
    Regulator,
    Zone,
    quality_reason,
)
from trm_bio.core.timeline import beats_from_rr
from trm_bio.session import Session, regulate_beat
from trm_bio.store.library import Library

needs_data = pytest.mark.skipif(
    shared_data_dir() is None, reason="the real recordings (../shared/data) are not here"
)
BASE = Baseline(75.0, 4.0, math.log(30.0), 0.3, 200)


def settling_series(
    fall_until_s: float, duration_s: float = 900.0, start_bpm: float = 92.0, end_bpm: float = 75.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window values at each beat of a heart settling linearly from start_bpm to end_bpm,
    then steady."""
    rng = np.random.default_rng(4)
    grid = np.arange(0.0, duration_s, 0.25)
    rate = np.interp(grid, [0.0, fall_until_s], [start_bpm, end_bpm])
    times = np.interp(np.arange(1.0, np.sum(rate) / 240.0), np.cumsum(rate) / 240.0, grid)
    level = np.interp(times, [0.0, fall_until_s], [start_bpm, end_bpm])
    hr = level + rng.normal(0, 1.0, times.size)
    rmssd = np.exp(math.log(40.0) + rng.normal(0, 0.1, times.size))
    return times, hr, rmssd


# --- calibration ---------------------------------------------------------------------------


def test_a_settling_heart_extends_the_calibration_and_it_measures_the_settled_rest() -> None:
    times, hr, rmssd = settling_series(fall_until_s=240.0)
    live = Regulator()
    states = [live.update(t, h, r) for t, h, r in zip(times, hr, rmssd, strict=True)]
    duration = BaselineParams().duration_s
    end = live.calibration_end_index
    # Not at the first judgement (the window still falls 92 -> 75 bpm): extended, and said so.
    assert times[end] > duration + 30.0
    extended = states[int(np.searchsorted(times, duration + 5.0))]
    assert extended.calibrating and extended.zone is Zone.UNKNOWN
    assert "settling" in extended.reason and math.isnan(extended.calibration_left_s)
    # Before the first valid value the RMSSD window is still filling: the wait counts too.
    waiting = Regulator().update(10.0, 70.0, math.nan)
    assert waiting.calibrating and waiting.reason
    assert waiting.calibration_left_s == pytest.approx(duration + 120.0 - 10.0)
    early = states[60]
    assert early.calibrating
    assert early.calibration_left_s == pytest.approx(duration - (times[60] - times[0]))
    # The reference is the settled heart, not the settling one, and its spread is not blown up.
    assert live.baseline is not None
    assert live.baseline.hr_bpm == pytest.approx(75.0, abs=2.0)
    assert live.baseline.hr_spread_bpm < 5.0
    after = states[end + 1]
    assert not after.calibrating and after.reason == "" and after.zone is Zone.RESILIENT
    assert after.baseline_source == "session-start"


def test_a_calibration_still_poor_at_its_longest_is_rejected_with_its_reason() -> None:
    # A heart that keeps falling for 10 minutes never gives a steady 3 minutes in time.
    times, hr, rmssd = settling_series(fall_until_s=600.0, start_bpm=100.0, end_bpm=60.0)
    params = BaselineParams()
    live = Regulator()
    states = [live.update(t, h, r) for t, h, r in zip(times, hr, rmssd, strict=True)]
    rejected_at = np.flatnonzero(["could not be set" in s.reason for s in states])
    assert rejected_at.size
    first = states[rejected_at[0]]
    assert times[rejected_at[0]] >= params.max_duration_s
    assert first.zone is Zone.UNKNOWN and first.calibrating
    assert "heart rate was still settling" in first.reason
    # Never silently used: nothing is shown until a later, steady calibration succeeds.
    before = np.array([s.zone for s in states[: rejected_at[0] + 1]])
    assert (before == Zone.UNKNOWN).all()
    assert live.baseline is None or live.baseline.hr_bpm < 65.0


def test_too_little_clean_data_extends_then_rejects_the_calibration() -> None:
    calibrator = Calibrator(BaselineParams())
    found = None
    for t in np.arange(1.0, 600.0, 2.0):  # one valid value every other second: half covered
        found = calibrator.push(float(t), 60.0, 40.0)
        if calibrator.rejection:
            break
    assert found is None
    assert "clean beats" in calibrator.rejection


# --- the pooled baseline -------------------------------------------------------------------


def test_a_pooled_baseline_is_used_by_default_once_there_are_enough_sessions(
    tmp_path: Path,
) -> None:
    library = Library.open(tmp_path / "library.sqlite3")
    person = library.ensure_person("P")
    needed = BaselineParams().min_sessions
    for k in range(needed):
        session = library.create_session(person, "simulated", status="complete")
        own = Baseline(64.0 + k, 3.0, math.log(45.0), 0.25, 240)
        library.store_derived(session, "baseline", own.to_dict())
    controller = SessionController(library)
    strap = SimulatedStrap("calm", seed=2, speed=math.inf, duration_s=150.0)
    controller.start_live(strap, SessionOptions(person="P", record=False))
    while strap.running:
        strap.wait(0.25)
        controller.poll()
    controller.poll()
    reading = controller.reading()
    # 150 s in: a session-start calibration would still be settling (it needs 5 minutes).
    assert reading.baseline_source == "previous-sessions"
    assert not reading.calibrating and math.isnan(reading.calibration_left_s)
    assert reading.zone is not Zone.UNKNOWN and reading.zone_reason == ""
    baseline = controller.session.regulator.baseline
    assert baseline is not None and baseline.n_sessions == needed
    controller.stop()
    # With one session fewer, the session calibrates and says so.
    other = library.ensure_person("Q")
    for _ in range(needed - 1):
        library.store_derived(library.create_session(other, "simulated"), "baseline",
                              Baseline(60.0, 3.0, 3.8, 0.25, 240).to_dict())
    strap = SimulatedStrap("calm", seed=2, speed=math.inf, duration_s=150.0)
    controller.start_live(strap, SessionOptions(person="Q", record=False))
    while strap.running:
        strap.wait(0.25)
        controller.poll()
    controller.poll()
    reading = controller.reading()
    assert reading.calibrating and reading.baseline_source == "" and reading.zone_reason
    assert 0 < reading.calibration_left_s <= BaselineParams().duration_s
    controller.stop()
    library.close()


# --- signal-quality gating -----------------------------------------------------------------


@needs_data
@pytest.mark.parametrize("record", ["201", "203", "219"])
def test_atrial_fibrillation_is_unknown_with_its_reason_never_low(record: str) -> None:
    rhythm = mitdb_rhythm(record)
    keep = (rhythm.rr_ms > 0) & (rhythm.rr_ms <= 3000)  # as beats_from_rr keeps them
    af = rhythm.atrial_fibrillation[keep]
    analysis = analyse_beats(beats_from_rr(rhythm.rr_ms))
    trace = regulation_trace(analysis, BASE)  # a reference that would show any zone
    assert af.sum() > 500
    assert not (trace.zone[af] == Zone.LOW).any()
    assert (trace.zone[af] == Zone.UNKNOWN).all()
    reasons = trace.reason[af]
    assert np.mean(reasons == REASON_IRREGULAR) > 0.8
    assert all(reasons)  # every unknown beat says why


@needs_data
def test_a_stretch_with_many_corrected_beats_is_unknown_never_low() -> None:
    rr = nsr001_rr_ms()[20_000:23_000]
    rr = rr[rr <= 3000]
    # Ten minutes in, a 5-minute stretch with 12 % missed and extra beats (a loose strap).
    times = np.cumsum(rr) / 1000.0
    stretch = (times > 600) & (times <= 900)
    lo, hi = np.flatnonzero(stretch)[[0, -1]]
    noisy = inject(rr[lo:hi], np.zeros(hi - lo, dtype=np.int64), 0.12, seed=3, min_spacing=4,
                   kinds=("missed", "extra"))
    rr = np.concatenate([rr[:lo], noisy.rr_ms, rr[hi:]])
    analysis = analyse_beats(beats_from_rr(rr))
    trace = regulation_trace(analysis, BASE)
    t = analysis.beats.times_s
    broken = (t > 600) & (t < 1000)
    assert not (trace.zone[broken] == Zone.LOW).any()
    gated = trace.reason != ""
    assert np.count_nonzero(trace.reason == REASON_ARTIFACTS) > 50
    # Where the correction could not restore it, RMSSD is implausible: not shown either.
    assert np.count_nonzero(trace.reason == REASON_IMPLAUSIBLE) > 50
    assert (trace.zone[gated] == Zone.UNKNOWN).all()
    assert np.mean(gated[(t > 650) & (t < 900)]) > 0.6
    assert not gated[(t > 130) & (t < 550)].any()  # the clean part shows a zone


def test_implausible_hrv_for_the_sensor_is_unknown() -> None:
    params = RegulationParams()
    # 180 ms at 75 bpm: a quarter of the interval, pulse jitter rather than vagal HRV.
    assert quality_reason(75.0, 180.0, params=params) == REASON_IMPLAUSIBLE
    # 100 ms at 75 bpm is plausible from a chest strap, not from a wrist sensor.
    assert quality_reason(75.0, 100.0, params=params) == ""
    assert quality_reason(75.0, 130.0, pulse_source=True, params=params) == REASON_IMPLAUSIBLE
    live = Regulator(baseline=BASE, pulse_source=True)
    state = live.update(10.0, 60.0, 160.0)  # would read as deep, strongly Low arousal
    # No zone, and the arousal is the heart rate's alone (the pulse sensor's rate is sound).
    assert state.zone is Zone.UNKNOWN and state.reason == REASON_HR_ONLY
    assert state.arousal == pytest.approx((60.0 - 75.0) / 4.0) and math.isnan(state.z_vagal)
    # From a chest strap such HRV means missed beats or an irregular rhythm: no zone, the
    # gate's own reason, and the arousal from heart rate alone there too.
    state = Regulator(baseline=BASE).update(10.0, 60.0, 250.0)
    assert state.zone is Zone.UNKNOWN and state.reason == REASON_IMPLAUSIBLE
    assert state.arousal == pytest.approx((60.0 - 75.0) / 4.0) and math.isnan(state.z_vagal)
    # Too many corrected beats bias the rate as well: nothing is read.
    state = Regulator(baseline=BASE).update(10.0, 60.0, 30.0, artifact_share=0.2)
    assert state.reason == REASON_ARTIFACTS and math.isnan(state.arousal)


@needs_data
def test_a_wrist_pulse_too_jittery_for_hrv_calibrates_heart_rate_and_never_reads_low(
    tmp_path: Path,
) -> None:
    # Real beats (nsr001) as a wrist sensor gives them: each pulse arrives up to 75 ms early
    # or late, so successive intervals differ by 50-150 ms, which no HRV reading survives.
    rr = nsr001_rr_ms()[:3000]
    rr = rr[rr <= 3000]
    arrivals_ms = np.cumsum(rr) + np.random.default_rng(7).uniform(-75.0, 75.0, rr.size)
    wrist_rr = np.diff(arrivals_ms)
    session = Session(0)
    session.process([StatusEvent(0, "wrist", LinkState.CONNECTED, body_location=2)])  # wrist
    update = session.process([
        Packet(10**9 + int(t * 1e6), "wrist", b"", round(60_000 / r), (float(r),))
        for t, r in zip(arrivals_ms[1:].tolist(), wrist_rr.tolist(), strict=True)
    ])
    states = [b.regulation for b in update.beats if b.regulation is not None]
    hr = np.array([b.beat.metrics[HR_METRIC] for b in update.beats if b.regulation is not None])
    # The heart rate calibrates, though no beat's HRV passes the gate: the baseline holds the
    # heart rate alone.
    end = session.regulator.calibration_end_index
    baseline = session.regulator.baseline
    assert end >= 0 and baseline is not None and not baseline.has_hrv
    assert 60 < baseline.hr_bpm < 110
    after = states[end + 1:]
    arousal = np.array([s.arousal for s in after])
    assert np.mean(np.isfinite(arousal)) > 0.8
    # The arousal is the heart rate's own z-score; the zone stays unknown with its reason.
    hr_only = np.array([s.reason == REASON_HR_ONLY for s in after])
    assert hr_only.mean() > 0.8
    expected = np.clip((hr[end + 1:] - baseline.hr_bpm) / baseline.hr_spread_bpm, -6.0, 6.0)
    np.testing.assert_allclose(arousal[hr_only], expected[hr_only], rtol=1e-12)
    assert all(s.zone is Zone.UNKNOWN for s, h in zip(after, hr_only, strict=True) if h)
    assert not any(s.zone is Zone.LOW for s in states)
    # analyze --series --pulse-sensor gives the same Arousal column for the same beats.
    path = tmp_path / "wrist.txt"
    path.write_text("".join(f"{r!r}\n" for r in wrist_rr.tolist()))
    out = tmp_path / "series.csv"
    result = run("analyze", str(path), "--series", str(out), "--pulse-sensor")
    assert result.code == 0, result.err
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    settled = [b.beat.settled_index for b in update.beats if b.regulation is not None]
    series = np.array([float(rows[i]["Arousal"] or "nan") for i in settled])
    np.testing.assert_allclose(series, [s.arousal for s in states], rtol=1e-9, equal_nan=True)
    assert "low" not in {row["Zone"] for row in rows}


# --- analyze --series equals the live app --------------------------------------------------


def test_series_arousal_and_zone_equal_a_live_replay_of_the_same_beats(tmp_path: Path) -> None:
    rr = true_beats("stress", seed=3, duration_s=1000.0).rr_ms
    path = tmp_path / "stress.txt"
    path.write_text("".join(f"{r:.3f}\n" for r in rr))
    out = tmp_path / "series.csv"
    result = run("analyze", str(path), "--series", str(out))
    assert result.code == 0, result.err
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"time_s", "rr_ms", "RMSSD", "HR_20s", "Arousal", "Zone"} <= set(rows[0])
    # The live path: the engine beat by beat, the regulator at each settled beat.
    engine = StreamingEngine()
    live = Regulator()
    beats = beats_from_rr(np.array([float(r["rr_ms"]) for r in rows]))
    states = {}
    for update in engine.push(beats):
        if update.settled_index >= 0:
            states[update.settled_index] = regulate_beat(live, update)
    settled = sorted(states)
    zones = [rows[i]["Zone"] for i in settled]
    assert zones == [states[i].zone.label for i in settled]
    series = np.array([float(rows[i]["Arousal"] or "nan") for i in settled])
    expected = np.array([states[i].arousal for i in settled])
    np.testing.assert_allclose(series, expected, rtol=1e-9, equal_nan=True)
    assert {"unknown", "resilient", "high"} <= set(zones)  # calibration, rest and stress


# --- population norms ----------------------------------------------------------------------


def test_population_norms_orient_beside_the_personal_baseline() -> None:
    norms = resting_norms()
    assert norms.hr_low_bpm < norms.hr_bpm < norms.hr_high_bpm
    assert norms.rmssd_low_ms < norms.rmssd_ms < norms.rmssd_high_ms
    assert norms.ln_rmssd == pytest.approx(math.log(norms.rmssd_ms))
    assert norms.source


# --- heart rate alone where HRV is gated, on any source ------------------------------------


def wrist_like_rr(rr_ms: np.ndarray, seed: int = 7) -> np.ndarray:
    """Real beats as a wrist sensor gives them: each pulse arrives up to 75 ms early or late."""
    arrivals_ms = np.cumsum(rr_ms) + np.random.default_rng(seed).uniform(-75.0, 75.0, rr_ms.size)
    return np.diff(arrivals_ms)


@needs_data
def test_an_rr_file_of_wrist_beats_reads_heart_rate_alone_without_the_pulse_flag(
    tmp_path: Path,
) -> None:
    # What a check that knows nothing of --pulse-sensor runs on a wrist recording.
    rr = nsr001_rr_ms()[:3000]
    path = tmp_path / "wrist.txt"
    path.write_text("".join(f"{r!r}\n" for r in wrist_like_rr(rr[rr <= 3000]).tolist()))
    out = tmp_path / "series.csv"
    result = run("analyze", str(path), "--series", str(out))
    assert result.code == 0, result.err
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    arousal = np.array([float(row["Arousal"] or "nan") for row in rows])
    hr = np.array([float(row[HR_METRIC] or "nan") for row in rows])
    zones = np.array([row["Zone"] for row in rows])
    shown = np.flatnonzero(np.isfinite(arousal))
    # The heart rate calibrates, though HRV is gated almost everywhere.
    assert shown.size and shown[0] < 600
    after = slice(shown[0], None)
    assert np.mean(np.isfinite(arousal[after])) > 0.9
    gated = np.isfinite(arousal) & (zones == "unknown")
    assert np.mean(gated[after]) > 0.8
    # There the arousal is heart rate alone: one straight line through the window heart rate
    # (the baseline's centre and spread), away from the clip.
    inner = gated & (np.abs(arousal) < 5.9)
    slope, intercept = np.polyfit(hr[inner], arousal[inner], 1)
    np.testing.assert_allclose(arousal[inner], slope * hr[inner] + intercept, atol=1e-9)
    assert slope > 0
    assert "low" not in set(zones.tolist())


@needs_data
@pytest.mark.parametrize("record", ["201", "203"])
def test_a_chest_session_opening_in_atrial_fibrillation_gets_its_zone_once_sinus_settles(
    record: str,
) -> None:
    rhythm = mitdb_rhythm(record)
    af = (rhythm.atrial_fibrillation & (rhythm.rr_ms > 0) & (rhythm.rr_ms <= 3000))
    af_rr = rhythm.rr_ms[af][np.cumsum(rhythm.rr_ms[af]) <= 180_000.0]  # 3 minutes
    sinus = nsr001_rr_ms()[60_000:61_200]  # about 17 minutes of sinus rhythm near 70 bpm
    sinus = sinus[sinus <= 3000]
    analysis = analyse_beats(beats_from_rr(np.concatenate([af_rr, sinus])))
    trace = regulation_trace(analysis)
    t = analysis.beats.times_s
    in_af = np.arange(t.size) < af_rr.size
    assert not (trace.zone[in_af] == Zone.LOW).any() and (trace.zone[in_af] == Zone.UNKNOWN).all()
    # The heart rate of the irregular stretch calibrates: arousal from heart rate alone, no zone.
    end = trace.calibration_end_index
    assert end >= 0 and trace.baseline is not None
    hr_only = np.isfinite(trace.arousal) & np.isnan(trace.z_vagal)
    assert hr_only[end + 1:].any() and (trace.zone[hr_only] == Zone.UNKNOWN).all()
    # Each says why: the rhythm, or that HRV's own reference is still being measured.
    for reason in {str(r) for r in trace.reason[hr_only]}:
        assert reason in (REASON_IRREGULAR, REASON_ECTOPIC) or reason.startswith(
            REASON_SETTLING_HRV[:-1]
        ), reason
    # The reference was found without HRV; sinus beats then measure its HRV part, and say so.
    settling = np.array([str(r).startswith(REASON_SETTLING_HRV[:-1]) for r in trace.reason])
    assert settling[end + 1:].any()
    # Once sinus HRV has its own resting reference, the zone is shown again.
    assert trace.baseline.has_hrv
    shown = np.flatnonzero(trace.zone != Zone.UNKNOWN)
    assert shown.size and t[shown[0]] < t[af_rr.size] + 600.0
    assert np.mean(trace.zone[shown[0]:] != Zone.UNKNOWN) > 0.9
    assert not (trace.zone == Zone.LOW).any()


def test_a_baseline_without_hrv_gets_its_hrv_part_from_the_plausible_values_that_follow() -> None:
    rng = np.random.default_rng(11)
    times = np.cumsum(np.full(700, 0.8))  # 75 bpm for about 9 minutes
    hr = 75.0 + rng.normal(0.0, 1.0, times.size)
    rmssd = np.exp(math.log(40.0) + rng.normal(0.0, 0.1, times.size))
    heart_rate_only = Baseline(75.0, 4.0, math.nan, math.nan, 200)
    live = Regulator(baseline=heart_rate_only)  # a chest strap, as read from an RR file
    states = [live.update(t, h, r) for t, h, r in zip(times, hr, rmssd, strict=True)]
    first = states[0]
    # Plausible HRV but no reference for it yet: heart rate alone, no zone, and it says why.
    assert first.zone is Zone.UNKNOWN and first.reason == REASON_SETTLING_HRV
    assert first.arousal == pytest.approx((hr[0] - 75.0) / 4.0) and not first.calibrating
    done = next(i for i, s in enumerate(states) if s.reason == "")
    duration = BaselineParams().duration_s
    assert duration <= times[done] - times[0] < duration + 10.0
    assert live.baseline is not None and live.baseline.has_hrv
    assert live.baseline.ln_rmssd == pytest.approx(math.log(40.0), abs=0.05)
    assert live.baseline.hr_bpm == 75.0  # the heart-rate part, and so the arousal's scale, stays
    assert all(s.zone is Zone.RESILIENT for s in states[done:])
