"""Score R-peak detections against reference beats (shared by tests and bench).

A detection matches an annotated beat within ``TOLERANCE_S`` (150 ms, the ANSI/AAMI EC57
window), one to one, nearest first. Sensitivity = TP / (TP + FN), positive predictivity =
TP / (TP + FP); timing error = |detected - annotated| of the matched pairs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

TOLERANCE_S = 0.150


@dataclass(frozen=True)
class PeakScore:
    tp: int
    fn: int
    fp: int
    errors_s: np.ndarray  # |timing error| of each match (s)

    def __add__(self, other: PeakScore) -> PeakScore:
        return PeakScore(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp,
                         np.r_[self.errors_s, other.errors_s])

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def ppv(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def median_error_ms(self) -> float:
        return 1000.0 * float(np.median(self.errors_s)) if self.errors_s.size else float("nan")


def match(reference_s: np.ndarray, detected_s: np.ndarray,
          tolerance_s: float = TOLERANCE_S) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (reference, detected) matched one to one within the tolerance."""
    reference_s = np.asarray(reference_s, dtype=float)
    detected_s = np.asarray(detected_s, dtype=float)
    if reference_s.size == 0 or detected_s.size == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    # Every pair within the tolerance, nearest first; each side used once.
    j = np.searchsorted(detected_s, reference_s)
    pairs = []
    for offset in (-2, -1, 0, 1):
        k = j + offset
        ok = (k >= 0) & (k < detected_s.size)
        r = np.flatnonzero(ok)
        d = np.abs(detected_s[k[ok]] - reference_s[r])
        near = d <= tolerance_s
        pairs.append(np.c_[d[near], r[near], k[ok][near]])
    table = np.concatenate(pairs)
    table = table[np.argsort(table[:, 0], kind="stable")]
    used_r: set[int] = set()
    used_d: set[int] = set()
    out_r, out_d = [], []
    for _, r, k in table:
        r, k = int(r), int(k)
        if r in used_r or k in used_d:
            continue
        used_r.add(r)
        used_d.add(k)
        out_r.append(r)
        out_d.append(k)
    order = np.argsort(out_r)
    return np.asarray(out_r, dtype=int)[order], np.asarray(out_d, dtype=int)[order]


def score(reference_s: np.ndarray, detected_s: np.ndarray,
          tolerance_s: float = TOLERANCE_S) -> PeakScore:
    """Sensitivity, PPV and timing errors of ``detected_s`` against ``reference_s`` (s)."""
    r, d = match(reference_s, detected_s, tolerance_s)
    errors = np.abs(np.asarray(detected_s)[d] - np.asarray(reference_s)[r])
    return PeakScore(r.size, len(reference_s) - r.size, len(detected_s) - d.size, errors)


def mitdb_ecg_at(record: str, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Lead MLII of an MIT-BIH record resampled to ``fs_hz`` (mV), and its annotated beat
    times (s)."""
    from fractions import Fraction

    import scipy.signal
    import wfdb

    from tests.recordings import _require, mitdb

    rec = wfdb.rdrecord(str(_require() / "mitdb" / record), channels=[0])
    assert rec.sig_name[0] == "MLII", rec.sig_name
    ratio = Fraction(fs_hz / rec.fs).limit_denominator(1000)
    ecg = scipy.signal.resample_poly(rec.p_signal[:, 0], ratio.numerator, ratio.denominator)
    beats = mitdb(record)
    return ecg, beats.peak_samples / beats.sampling_rate_hz


@dataclass(frozen=True)
class PolarRecording:
    """The Polar H10 file: ECG on the strap's clock and the strap's own RR values."""

    times_s: np.ndarray  # sample times (s from the first sample)
    ecg_mv: np.ndarray
    rr_ms: np.ndarray  # the strap's RR values, in order
    rr_arrival_s: np.ndarray  # when each RR value was logged (s, same clock)

    @property
    def fs_hz(self) -> float:
        return (self.times_s.size - 1) / float(self.times_s[-1] - self.times_s[0])


def polar_recording() -> PolarRecording:
    """``polar_h10_ecg_rr.csv``: every row an ECG sample; some rows also carry an RR value."""
    import csv

    from tests.recordings import _require

    times, ecg, rr, arrival = [], [], [], []
    with open(_require() / "polar_h10_ecg_rr.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            times.append(float(row["time"]))
            ecg.append(float(row["ecg"]))
            if row["rr"]:
                rr.append(float(row["rr"]))
                arrival.append(float(row["time"]))
    t = np.asarray(times)
    start = t[0]
    return PolarRecording((t - start) / 1e9, np.asarray(ecg), np.asarray(rr),
                          (np.asarray(arrival) - start) / 1e9)


#: A strap interval is matched when two consecutive detected beats span it within this (ms).
RR_TOLERANCE_MS = 10.0
#: The strap sends an RR value up to this long (s) after the beat that ends it.
MAX_DELAY_S = 6.0


@dataclass(frozen=True)
class RRAgreement:
    strap: int  # strap RR values
    matched: int  # of them, spanned by two consecutive detected beats within the tolerance
    differences_ms: np.ndarray  # detected - strap RR, per strap RR (aligned packet by packet)
    delays_s: np.ndarray  # per packet: arrival - its last beat as detected (s)

    @property
    def share(self) -> float:
        return self.matched / self.strap if self.strap else 1.0

    @property
    def median_abs_ms(self) -> float:
        d = self.differences_ms
        return float(np.median(np.abs(d))) if d.size else float("nan")


def strap_agreement(strap_rr_ms: np.ndarray, arrival_s: np.ndarray, detected_s: np.ndarray,
                    tolerance_ms: float = RR_TOLERANCE_MS) -> RRAgreement:
    """How many of the strap's RR intervals the detected beats reproduce.

    The strap's RR values carry no beat times, only when they arrived (several values of
    one notification share an arrival time, the last ending the latest beat). Each
    notification's values are laid on the detected intervals that end at one detected
    beat in the ``MAX_DELAY_S`` before the arrival: the beat where their summed absolute
    difference is least. A strap value is matched when its detected interval differs by at
    most ``tolerance_ms``. Aligning packet by packet, rather than by the running sum of
    the RR values, survives a beat the strap left out (it then sends one long interval).
    """
    detected_s = np.asarray(detected_s, dtype=float)
    detected_rr = np.diff(detected_s) * 1000.0  # detected_rr[e - 1] ends at beat e
    diffs = np.full(strap_rr_ms.size, np.nan)
    delays = []
    packets = np.flatnonzero(np.r_[True, np.diff(arrival_s) != 0, True])
    for lo, hi in itertools.pairwise(packets):
        rr = strap_rr_ms[lo:hi]
        m = rr.size
        ends = np.flatnonzero((detected_s <= arrival_s[lo]) &
                              (detected_s >= arrival_s[lo] - MAX_DELAY_S))
        ends = ends[ends >= m]
        if ends.size == 0:
            continue
        # cost[e] = sum_i |detected interval ending m-1-i beats before e - rr[m-1-i]|
        table = detected_rr[ends[:, None] - m + np.arange(m)[None, :]]
        cost = np.abs(table - rr[None, :]).sum(axis=1)
        best = int(np.argmin(cost))
        diffs[lo:hi] = table[best] - rr
        delays.append(arrival_s[lo] - detected_s[ends[best]])
    paired = np.isfinite(diffs)
    matched = int(np.sum(np.abs(diffs[paired]) <= tolerance_ms))
    return RRAgreement(strap_rr_ms.size, matched, diffs[paired], np.asarray(delays))
