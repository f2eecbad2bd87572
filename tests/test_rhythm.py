"""The irregular-rhythm check and the validity of a recording's HRV, on annotated records."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from tests import recordings
from tests.cli_run import run
from trm_bio.analysis import RecordingSummary, summarize
from trm_bio.core.engine import analyse_beats
from trm_bio.core.rhythm import (
    COSEN_TOLERANCE_MS,
    IRREGULAR_WINDOW_BEATS,
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
