"""When a recording's HRV is valid: beat time, a rhythm that does not vary, the share of
corrected beats, and how ``trm-bio analyze`` says so."""

from __future__ import annotations

import csv
import functools
import io
import json
import re

import numpy as np
import pytest

from tests import recordings
from tests.artifact_injection import clean_nsr001
from tests.cli_run import run
from trm_bio.analysis import MAX_ARTIFACT_SHARE, MIN_VALID_S, RecordingSummary, summarize
from trm_bio.cli.analyze import BATCH_FIELDS
from trm_bio.core.engine import analyse_beats
from trm_bio.core.frequency_domain import frequency_domain
from trm_bio.core.rhythm import PACED_WINDOW_BEATS
from trm_bio.core.timeline import Beats, beats_from_rr


def _nsr001(n_beats: int, first: int = 0) -> np.ndarray:
    """``n_beats`` intervals (ms) of the Holter from beat ``first``."""
    return recordings.nsr001_rr_ms()[first : first + n_beats]


def _analyze(tmp_path, rr_ms: np.ndarray, *args: str, name: str = "rr.txt"):
    path = tmp_path / name
    path.write_text("\n".join(f"{v:.4f}" for v in rr_ms) + "\n")
    return run("analyze", str(path), *args, check=True)


def _json(tmp_path, rr_ms: np.ndarray) -> dict:
    return json.loads(_analyze(tmp_path, rr_ms, "--format", "json").out)


# ------------------------------------------------------------- minimum data: beat time


def test_the_minimum_data_counts_beat_time_not_the_gaps(tmp_path, data_dir):
    """20 intervals, a 10-minute dropout (a value no heart makes, as a file marks one), 20
    more: ten minutes from first beat to last, 24 s of beats."""
    rr = _nsr001(40)
    gappy = np.concatenate((rr[:20], [600_000.0], rr[20:]))
    document = _json(tmp_path, gappy)
    beat_s = rr.sum() / 1000.0
    assert document["quality"]["duration_s"] > 600.0  # the span, as before
    assert document["quality"]["beat_time_s"] == pytest.approx(beat_s)
    assert document["hrv_valid"] is False
    assert f"only {beat_s:.0f} s of beats" in document["reason"]
    assert f"at least {MIN_VALID_S:.0f} s" in document["reason"]
    assert document["metrics"]["RMSSD"] is None


def test_enough_beat_time_across_a_gap_stays_valid(tmp_path, data_dir):
    rr = _nsr001(int(np.searchsorted(np.cumsum(_nsr001(400)), 90_000.0)))  # 90 s of beats
    half = rr.size // 2
    document = _json(tmp_path, np.concatenate((rr[:half], [600_000.0], rr[half:])))
    assert document["hrv_valid"] is True, document["reason"]
    assert document["quality"]["beat_time_s"] == pytest.approx(rr.sum() / 1000.0)


# ------------------------------------------------------------- intervals that never vary


def test_a_short_constant_rhythm_is_not_valid_and_has_no_hf_peak(tmp_path, data_dir):
    """Fewer beats than the fixed-rate check needs (256): 200 beats at the Holter's own
    median interval, every one the same."""
    level = float(np.round(np.median(_nsr001(2000))))
    rr = np.full(200, level)
    assert rr.size < PACED_WINDOW_BEATS
    document = _json(tmp_path, rr)
    assert document["hrv_valid"] is False
    assert "do not vary at all" in document["reason"]
    assert f"{level:.0f} ms" in document["reason"]
    assert document["metrics"]["HFpeak"] is None and document["metrics"]["SDNN"] is None
    assert document["metrics"]["HR"] == pytest.approx(60_000.0 / level)
    # A beat the strap missed (two intervals as one) is corrected: still a fixed rate.
    missed = np.concatenate((rr[:100], [2 * level], rr[102:]))
    document = _json(tmp_path, missed)
    assert document["quality"]["n_missed"] == 1
    assert document["hrv_valid"] is False and "do not vary at all" in document["reason"]


def test_a_band_without_power_has_no_peak_frequency(data_dir):
    level = float(np.round(np.median(_nsr001(2000))))
    flat = frequency_domain(np.full(600, level), window_s=120.0)
    full = np.isfinite(flat["HF"])
    assert full.any() and np.all(flat["HF"][full] == 0.0)
    assert np.all(np.isnan(flat["HFpeak"]))  # not 0.15 Hz, the band's lower edge
    real = frequency_domain(_nsr001(600), window_s=120.0)
    peak = real["HFpeak"][np.isfinite(real["HF"])]
    assert peak.size and np.all((peak >= 0.15) & (peak <= 0.4))


def test_the_fixed_rate_share_is_of_the_beats_judged(data_dir):
    """300 intervals within 3 ms of the Holter's median: only the last 45 have the 256
    intervals the fixed-rate check needs, and all 45 are fixed-rate; the reason says 100 % of
    those 45, not 15 % of the beats."""
    level = float(np.round(np.median(_nsr001(2000))))
    wobble = np.diff(_nsr001(301)) / 50.0  # the Holter's own beat-to-beat changes, shrunk
    rr = level + np.clip(np.round(wobble), -3.0, 3.0)
    assert np.ptp(rr) > 0
    summary = summarize(analyse_beats(beats_from_rr(rr)))
    judged = rr.size - PACED_WINDOW_BEATS + 1
    assert not summary.hrv_valid and "pacemaker" in summary.reason
    assert f"through 100% of the {judged} beats that can be judged" in summary.reason


# ------------------------------------------------------------- share of corrected beats


def _with_missed_beats(rr_ms: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Merge the two intervals around about ``share`` x len of the beats, at least four
    beats apart: beats a strap missed."""
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(np.arange(2, rr_ms.size - 2, 5), int(share * rr_ms.size),
                               replace=False))
    out = rr_ms.astype(np.float64).copy()
    out[picks] += out[picks + 1]
    return np.delete(out, picks + 1)


def test_too_many_corrected_beats_is_not_valid(tmp_path, data_dir):
    rr = _nsr001(600)
    document = _json(tmp_path, _with_missed_beats(rr, 0.10, seed=1))
    share = document["quality"]["artifact_rate"]
    assert share > MAX_ARTIFACT_SHARE
    assert document["hrv_valid"] is False
    assert f"{share:.1%} of the beats" in document["reason"]
    assert f"above {MAX_ARTIFACT_SHARE:.0%}" in document["reason"]
    assert document["metrics"]["RMSSD"] is None
    # A few missed beats are corrected and the HRV stays valid.
    document = _json(tmp_path, _with_missed_beats(rr, 0.02, seed=1))
    assert document["quality"]["artifact_rate"] <= MAX_ARTIFACT_SHARE
    assert document["hrv_valid"] is True, document["reason"]


@functools.lru_cache(maxsize=8)
def _sinus_summary(name: str) -> RecordingSummary:
    if name == "nsr001":
        rr, segment = clean_nsr001(recordings.nsr001_rr_ms())
        beats = Beats(np.cumsum(rr) / 1000.0, rr, segment)
    elif name.startswith("drive"):
        beats = beats_from_rr(np.diff(recordings.drivedb_r_peaks_s(name)) * 1000.0)
    else:
        rec = recordings.mitdb_rhythm(name)
        beats = beats_from_rr(rec.rr_ms, rec.times_s)
    return summarize(analyse_beats(beats))


@pytest.mark.parametrize("name", ["nsr001", "100", "101", "105", "116", "drive06", "drive17a"])
def test_sinus_recordings_stay_under_the_artifact_limit(data_dir, name):
    summary = _sinus_summary(name)
    assert summary.quality["artifact_rate"] < MAX_ARTIFACT_SHARE
    assert summary.hrv_valid, summary.reason


# ------------------------------------------------------------- words and columns


def test_the_irregular_reason_does_not_claim_fibrillation(data_dir):
    """MIT-BIH 208 is sinus rhythm with frequent premature ventricular beats (and runs of
    trigeminy): irregular, but no atrial fibrillation."""
    rec = recordings.mitdb_rhythm("208")
    assert (rec.rhythm == "(N").mean() > 0.8 and not rec.atrial_fibrillation.any()
    summary = summarize(analyse_beats(beats_from_rr(rec.rr_ms, rec.times_s)))
    assert not summary.hrv_valid
    assert "irregular" in summary.reason and "premature beats" in summary.reason
    assert "at random" not in summary.reason


def test_single_file_csv_has_the_batch_columns(tmp_path, data_dir):
    rr = _nsr001(40)
    done = _analyze(tmp_path, rr, "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(done.out)))
    document = _json(tmp_path, rr)
    for key in ("file", "hrv_valid", *document["metrics"], *document["quality"]):
        assert key in row, key  # the columns it had
    for key in BATCH_FIELDS[3:]:  # format, unit, unit_source
        assert row[key] == document["recording"][key], key
    assert row["reason"] == document["reason"] and re.search(r"\d+ s of beats", row["reason"])
