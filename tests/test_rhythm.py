"""The irregular-rhythm check and the validity of a recording's HRV, on annotated records."""

from __future__ import annotations

import csv
import functools
import json

import numpy as np
import pytest

from tests import recordings
from tests.artifact_injection import clean_nsr001
from tests.cli_run import run
from trm_bio.analysis import RecordingSummary, summarize
from trm_bio.core.engine import analyse_beats
from trm_bio.core.rhythm import (
    COSEN_TOLERANCE_MS,
    IRREGULAR_WINDOW_BEATS,
    PACED_WINDOW_BEATS,
    fixed_rate_rhythm,
    irregular_measures,
    irregular_rhythm,
    irregular_rhythm_last,
)
from trm_bio.core.timeline import beats_from_rr

AF_RECORDS = ("201", "203", "219")  # 46 %, 97 % and 84 % of the beats in fibrillation
SINUS_RECORDS = ("100", "101", "105", "116")  # sinus rhythm, 116 with frequent PVCs
# Sinus rhythm with runs of bigeminy and ventricular tachycardia: not valid as a whole (the
# ectopy check), yet its sinus stretches are not irregular.
ECTOPY_RECORDS = ("223",)


@functools.lru_cache(maxsize=16)
def _summary(record: str) -> RecordingSummary:
    rec = recordings.mitdb_rhythm(record)
    return summarize(analyse_beats(beats_from_rr(rec.rr_ms, rec.times_s)))


def _windows_in(mask: np.ndarray) -> np.ndarray:
    """Beats whose whole trailing irregular-rhythm window lies in ``mask``."""
    inside = np.convolve(mask.astype(float), np.ones(IRREGULAR_WINDOW_BEATS))[: mask.size]
    return inside == IRREGULAR_WINDOW_BEATS


@pytest.mark.parametrize("record", AF_RECORDS)
def test_records_in_atrial_fibrillation_are_not_valid(data_dir, record):
    summary = _summary(record)
    assert not summary.hrv_valid
    assert "irregular" in summary.reason
    assert np.isnan(summary.metrics["RMSSD"]) and np.isfinite(summary.metrics["HR"])
    assert summary.quality["irregular_rhythm_share"] > 0.3


@pytest.mark.parametrize("record", SINUS_RECORDS)
def test_sinus_records_stay_valid(data_dir, record):
    summary = _summary(record)
    assert summary.hrv_valid, summary.reason
    assert summary.quality["irregular_rhythm_share"] < 0.01


def test_a_long_sinus_holter_and_ecg_r_peaks_stay_valid(data_dir):
    holter = recordings.nsr001_rr_ms()[:30_000]
    assert not irregular_rhythm(holter).any()
    peaks = recordings.drivedb_r_peaks_s("drive17a")
    assert not irregular_rhythm(np.diff(peaks) * 1000.0).any()


def test_irregular_windows_follow_the_annotated_rhythm(data_dir):
    for record in AF_RECORDS:
        rec = recordings.mitdb_rhythm(record)
        flagged = irregular_rhythm(rec.rr_ms)
        fibrillating = _windows_in(rec.atrial_fibrillation)
        assert fibrillating.sum() > 500
        assert flagged[fibrillating].mean() > 0.8, record
    for record in SINUS_RECORDS + ECTOPY_RECORDS:
        rec = recordings.mitdb_rhythm(record)
        sinus = _windows_in(rec.rhythm == "(N")
        assert sinus.sum() > 1000
        assert irregular_rhythm(rec.rr_ms)[sinus].mean() < 0.01, record


def test_sustained_bigeminy_stays_caught_as_ectopy(data_dir):
    rr = recordings.polar_strap_rr_ms()
    analysis = analyse_beats(beats_from_rr(rr))
    summary = summarize(analysis)
    assert not summary.hrv_valid and "ectopic" in summary.reason
    assert (~analysis.rhythm_ok).mean() > 0.5


def test_live_check_equals_batch_across_a_segment_break(data_dir):
    rec = recordings.mitdb_rhythm("201")  # fibrillation, then sinus rhythm with ectopy
    segment = (np.arange(rec.rr_ms.size) >= 900).astype(np.int64)
    full = irregular_rhythm(rec.rr_ms, segment)
    assert full.any() and not full.all()
    for end in range(1, rec.rr_ms.size + 1):
        lo = max(end - IRREGULAR_WINDOW_BEATS, 0)
        assert irregular_rhythm_last(rec.rr_ms[lo:end], segment[lo:end]) == full[end - 1], end
    # No window spans the break: the first beats after it are not judged.
    assert not full[900:931].any()


def test_sample_entropy_equals_neurokit2(data_dir):
    nk = pytest.importorskip("neurokit2")
    rec = recordings.mitdb_rhythm("219")
    cosen, _ = irregular_measures(rec.rr_ms)
    for end in (200, 700, 1500):
        window = rec.rr_ms[end - IRREGULAR_WINDOW_BEATS + 1 : end + 1]
        sampen, _ = nk.entropy_sample(window, dimension=1, tolerance=COSEN_TOLERANCE_MS)
        expected = sampen + np.log(2 * COSEN_TOLERANCE_MS / 1000) - np.log(window.mean() / 1000)
        assert cosen[end] == pytest.approx(expected, rel=1e-9)


def _analyze_json(path) -> dict:
    return json.loads(run("analyze", str(path), "--format", "json", check=True).out)


def test_too_little_data_is_not_valid(tmp_path, data_dir):
    two = tmp_path / "two.txt"
    two.write_text("800\n810\n")
    document = _analyze_json(two)
    assert document["hrv_valid"] is False and "at least 60 s" in document["reason"]
    rr = recordings.mitdb100().nn_ms()
    under = rr[: int(np.searchsorted(np.cumsum(rr), 55_000.0))]
    over = rr[: int(np.searchsorted(np.cumsum(rr), 70_000.0))]
    for series, valid in ((under, False), (over, True)):
        path = tmp_path / f"{series.size}.txt"
        path.write_text("\n".join(f"{v:.1f}" for v in series))
        assert _analyze_json(path)["hrv_valid"] is valid, series.size


# ---------------------------------------------------------------- fixed-rate (paced) rhythm


def _paced_rr(
    intrinsic_rr_ms: np.ndarray, lower_rate_per_min: float, jitter_ms: float, seed: int
) -> np.ndarray:
    """RR of a ventricular demand pacemaker (VVI) as a chest strap would report them.

    The pacemaker fires when no beat of the heart's own comes within its lower-rate interval
    (60000 / rate ms) of the last beat, so each interval is the smaller of the heart's own
    (``intrinsic_rr_ms``; above the lower-rate interval throughout: a fixed rate, as in
    asynchronous VOO pacing) and the lower-rate interval. The strap times each beat with
    Gaussian jitter of ``jitter_ms`` and reports RR in steps of 1/1024 s, as the Heart Rate
    Service does.
    """
    lower_rate_interval = 60_000.0 / lower_rate_per_min
    rr = np.minimum(intrinsic_rr_ms, lower_rate_interval)
    times = np.cumsum(rr) + np.random.default_rng(seed).normal(0.0, jitter_ms, rr.size)
    return np.diff(np.round(times * 1.024) / 1.024)


@functools.lru_cache(maxsize=1)
def _slow_sinus_rr() -> np.ndarray:
    """Half an hour of nsr001's own rhythm slowed to a mean of 1060 ms: a slow heart under a
    pacemaker set to 60 /min, whose own beat comes first now and then (2 % of the beats)."""
    rr = recordings.nsr001_rr_ms()[40_000:41_600]
    return rr * 1060.0 / rr.mean()


@pytest.mark.parametrize(
    ("name", "rate", "intrinsic"),
    [("fixed rate 70 /min", 70.0, None), ("demand pacing at 60 /min", 60.0, "slow sinus")],
)
def test_a_paced_rhythm_is_not_valid_hrv(data_dir, name, rate, intrinsic):
    own = np.full(2100, 10_000.0) if intrinsic is None else _slow_sinus_rr()
    rr = _paced_rr(own, rate, jitter_ms=1.5, seed=3)
    paced = fixed_rate_rhythm(rr)
    assert not paced[: PACED_WINDOW_BEATS - 1].any()  # the first window is not full yet
    assert paced[PACED_WINDOW_BEATS - 1 :].mean() > 0.9, name
    summary = summarize(analyse_beats(beats_from_rr(rr)))
    assert not summary.hrv_valid and "pacemaker" in summary.reason
    assert summary.quality["paced_rhythm_share"] > 0.8
    assert np.isnan(summary.metrics["RMSSD"]) and np.isfinite(summary.metrics["HR"])


def test_analyze_says_a_paced_rhythm_is_too_regular(tmp_path):
    rr = _paced_rr(np.full(1500, 10_000.0), 70.0, jitter_ms=1.5, seed=4)
    path = tmp_path / "paced.txt"
    path.write_text("\n".join(f"{v:.3f}" for v in rr))
    series = tmp_path / "series.csv"
    done = run("analyze", str(path), "--format", "json", "--series", str(series), check=True)
    document = json.loads(done.out)
    assert document["hrv_valid"] is False
    assert document["reason"].startswith("the rhythm is too regular for heart-rate variability")
    with open(series, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    flags = [row["paced_rhythm"] == "True" for row in rows]
    assert not any(flags[: PACED_WINDOW_BEATS - 1]) and all(flags[PACED_WINDOW_BEATS - 1 :])


def test_a_steady_fast_heart_is_not_paced():
    """Exercise can hold the rate as steady as a pacemaker, at rates no pacemaker is set to
    hold for minutes: the same steadiness at 120 /min is not called paced."""
    rr = _paced_rr(np.full(2100, 10_000.0), 120.0, jitter_ms=1.5, seed=5)
    assert not fixed_rate_rhythm(rr).any()


def test_sinus_records_are_never_called_paced(data_dir):
    """Not one beat of the sinus records: the whole Holter (its nights and calm stretches
    included), the driving records and the MIT-BIH records, with their raw intervals."""
    rr, segment = clean_nsr001(recordings.nsr001_rr_ms())
    assert not fixed_rate_rhythm(rr, segment).any()
    for record in ("drive06", "drive17a"):
        assert not fixed_rate_rhythm(np.diff(recordings.drivedb_r_peaks_s(record)) * 1000).any()
    for record in recordings.MITDB_RECORDS:
        assert not fixed_rate_rhythm(recordings.mitdb(record).rr_ms).any(), record
    assert not fixed_rate_rhythm(recordings.polar_strap_rr_ms()).any()
    for record in SINUS_RECORDS:
        assert _summary(record).quality["paced_rhythm_share"] == 0.0


def test_fixed_rate_windows_never_span_a_segment_break_or_a_junk_value():
    rr = _paced_rr(np.full(800, 10_000.0), 70.0, jitter_ms=1.0, seed=6)
    segment = (np.arange(rr.size) >= 400).astype(np.int64)
    paced = fixed_rate_rhythm(rr, segment)
    assert paced[PACED_WINDOW_BEATS - 1 : 400].all()
    assert not paced[400 : 400 + PACED_WINDOW_BEATS - 1].any()
    assert paced[400 + PACED_WINDOW_BEATS - 1 :].all()
    junk = rr.copy()
    junk[500] = np.nan
    assert not fixed_rate_rhythm(junk)[500 : 500 + PACED_WINDOW_BEATS].any()


def test_the_live_engine_s_judged_check_equals_the_whole_series_one(data_dir):
    # The engine asks at the newest settled beat alone; it must say what the whole-series
    # function says there, across segment breaks and unusable values.
    from trm_bio.core.rhythm import irregular_judged, irregular_judged_last

    rr = recordings.mitdb("219").rr_ms[:600].copy()
    rr[[50, 51, 300]] = np.nan
    seg = np.zeros(rr.size, dtype=np.int64)
    seg[120:], seg[400:] = 1, 2
    whole = irregular_judged(rr, seg)
    assert whole.any() and not whole.all()
    for pos in range(rr.size):
        lo = max(0, pos + 1 - 64)
        assert irregular_judged_last(rr[lo : pos + 1], seg[lo : pos + 1]) == whole[pos], pos
