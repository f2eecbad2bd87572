"""Irregular rhythm (atrial fibrillation) from RR alone, per record, against the annotations.

MIT-BIH Arrhythmia records (cardiologist beat annotations; the rhythm of each beat from the
annotations' aux_note: "(AFIB", "(AFL", "(N", ...), nsr001 (24 h sinus Holter), drivedb
drive06 and drive17a (sinus, R-peaks from the ECG) and the Polar H10 file (bigeminy).
A window is the trailing 64 beats the check reads; "AF windows" lie wholly in atrial
fibrillation or flutter, "sinus windows" wholly in "(N". Sensitivity: AF windows flagged
irregular; specificity: sinus windows not flagged. Records with frequent ectopy (106, 119,
208, 223) have sinus windows full of premature beats: their flags count against
specificity here, though HRV is not valid there either.

Beside ours, the same rule with neurokit2's sample entropy (``entropy_sample``, m=1, r=30
ms) on every 16th window, measured in the same run: its agreement with our vectorised
counts, and the time per window. Then the share of beats the fixed-rate (paced) check flags:
every record here is unpaced, so each is a false positive. The last columns are the whole
record's verdict (``trm-bio analyze``). Run: ``python -m bench rhythm``.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from tests import recordings
from trm_bio.analysis import summarize
from trm_bio.core.engine import analyse_beats
from trm_bio.core.rhythm import (
    COSEN_LIMIT,
    COSEN_TOLERANCE_MS,
    IRREGULAR_WINDOW_BEATS,
    TURNING_POINT_MIN,
    fixed_rate_rhythm,
    irregular_measures,
)
from trm_bio.core.timeline import beats_from_rr

MITDB = ("100", "101", "105", "106", "116", "119", "201", "203", "208", "219", "223")
NK_EVERY = 16


def _whole_window(mask: np.ndarray) -> np.ndarray:
    inside = np.convolve(mask.astype(float), np.ones(IRREGULAR_WINDOW_BEATS))[: mask.size]
    return inside == IRREGULAR_WINDOW_BEATS


def _nk_flags(rr: np.ndarray, turning: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, float]:
    """The same rule with neurokit2's sample entropy at beats ``at``; seconds per window."""
    import neurokit2 as nk

    flags = np.zeros(at.size, dtype=bool)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, end in enumerate(at):
            window = rr[end - IRREGULAR_WINDOW_BEATS + 1 : end + 1]
            sampen, _ = nk.entropy_sample(window, dimension=1, tolerance=COSEN_TOLERANCE_MS)
            if not np.isfinite(sampen):  # no length-2 match: as irregular as it gets
                sampen = math.inf
            cosen = sampen + math.log(2 * COSEN_TOLERANCE_MS / 1000) - math.log(
                window.mean() / 1000)
            flags[k] = cosen > COSEN_LIMIT and turning[end] >= TURNING_POINT_MIN
    return flags, (time.perf_counter() - started) / max(at.size, 1)


def _row(name: str, rr: np.ndarray, rhythm: np.ndarray | None, totals: dict) -> None:
    started = time.perf_counter()
    cosen, turning = irregular_measures(rr)
    ours_s = time.perf_counter() - started
    flagged = (cosen > COSEN_LIMIT) & (turning >= TURNING_POINT_MIN)
    summary = summarize(analyse_beats(beats_from_rr(rr)))
    cells = ["", "", "", ""]
    if rhythm is not None:
        af = _whole_window(np.isin(rhythm, ("(AFIB", "(AFL")))
        sinus = _whole_window(rhythm == "(N")
        if af.any():
            cells[0] = f"{af.sum():5d}"
            cells[1] = f"{100 * flagged[af].mean():5.1f} %"
            totals["af"] += af.sum()
            totals["af_hit"] += flagged[af].sum()
        if sinus.any():
            cells[2] = f"{sinus.sum():5d}"
            cells[3] = f"{100 * (1 - flagged[sinus].mean()):6.2f} %"
            totals["sinus"] += sinus.sum()
            totals["sinus_ok"] += (~flagged[sinus]).sum()
        at = np.arange(IRREGULAR_WINDOW_BEATS - 1, rr.size, NK_EVERY)
        theirs, per_window_s = _nk_flags(rr, turning, at)
        totals["nk_same"] += int((theirs == flagged[at]).sum())
        totals["nk_windows"] += at.size
        totals["nk_s"] += per_window_s * at.size
        totals["ours_s"] += ours_s * at.size / rr.size
    paced = fixed_rate_rhythm(rr)
    totals["paced"] += int(paced.sum())
    totals["beats"] += rr.size
    q = summary.quality
    verdict = "valid" if summary.hrv_valid else (
        f"not valid: irregular {100 * q['irregular_rhythm_share']:.0f} %, sustained ectopy "
        f"{100 * q['ectopic_rhythm_share']:.0f} %, fixed-rate "
        f"{100 * q['paced_rhythm_share']:.0f} % of the beats"
    )
    print(f"{name:9s} {rr.size:7d} {cells[0]:>6s} {cells[1]:>8s} {cells[2]:>6s} "
          f"{cells[3]:>9s} {100 * flagged.mean():7.1f} % {100 * paced.mean():7.2f} %  {verdict}")


def main() -> None:
    """Print per record: AF windows and sensitivity, sinus windows and specificity, the
    flagged share, the record's verdict; then the totals and neurokit2's agreement."""
    print(f"{'record':9s} {'beats':>7s} {'AF win':>6s} {'sens':>8s} {'sinus':>6s} "
          f"{'spec':>9s} {'flagged':>9s} {'paced':>9s}  record verdict")
    totals = dict.fromkeys(
        ("af", "af_hit", "sinus", "sinus_ok", "nk_same", "nk_windows", "nk_s", "ours_s",
         "paced", "beats"), 0
    )
    for record in MITDB:
        rec = recordings.mitdb_rhythm(record)
        _row(record, rec.rr_ms, rec.rhythm, totals)
    holter = recordings.nsr001_rr_ms()
    _row("nsr001", holter[holter <= 3000], None, totals)
    for record in ("drive06", "drive17a"):
        _row(record, np.diff(recordings.drivedb_r_peaks_s(record)) * 1000.0, None, totals)
    _row("polar", recordings.polar_strap_rr_ms(), None, totals)
    print("-" * 100)
    print(f"MIT-BIH windows: sensitivity {100 * totals['af_hit'] / totals['af']:.1f} % "
          f"({totals['af']} AF windows), specificity "
          f"{100 * totals['sinus_ok'] / totals['sinus']:.2f} % ({totals['sinus']} sinus "
          f"windows)")
    print(f"fixed-rate (paced) check on these unpaced records: {totals['paced']} of "
          f"{totals['beats']} beats flagged")
    print(f"neurokit2's sample entropy, same rule, {totals['nk_windows']} windows: same flag "
          f"in {100 * totals['nk_same'] / totals['nk_windows']:.2f} %; "
          f"{1e6 * totals['nk_s'] / totals['nk_windows']:.0f} µs per window vs ours "
          f"{1e6 * totals['ours_s'] / totals['nk_windows']:.1f} µs (all beats at once)")


if __name__ == "__main__":
    main()
