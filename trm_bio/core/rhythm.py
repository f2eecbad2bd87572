"""Rhythm check: is the heart in a rhythm whose HRV means anything?

Correction replaces an isolated ectopic beat; it cannot rescue sustained ectopy such as
bigeminy or trigeminy, where every second or third beat is premature. The Kubios-method
detector misses that case by design: its thresholds follow the spread of dRR over the last
91 beats, and during bigeminy the alternating pattern *is* that spread. So this check looks
for the pattern itself:

* alternation: successive differences that are large (more than ``jump_fraction`` of the
  RR) and of opposite sign to the previous one. Sinus rhythm changes by a few percent from
  beat to beat and respiratory arrhythmia keeps one sign for two or more beats; bigeminy
  alternates on every beat, trigeminy on two beats out of three, each by 30-70 % of RR.
* the share of beats the artifact detector flagged.

A beat is not valid when, over the trailing window of ``window_beats`` beats of its
segment, either share reaches its limit. The window is trailing, so the result for beat i
depends only on beats i - window_beats .. i (and on the labels, which have their own
lookahead): computing it on a prefix or a trailing buffer gives the same values.
"""

from __future__ import annotations

import math

import numpy as np

from trm_bio.core.artifacts import NORMAL
from trm_bio.core.errors import TrmBioError

RHYTHM_WINDOW_BEATS = 20
ALTERNATION_FRACTION = 0.4
FLAGGED_FRACTION = 0.3
JUMP_FRACTION = 0.2
MIN_JUDGED_BEATS = 6


def _trailing_sum(flags: np.ndarray, seg_first: np.ndarray, window: int) -> np.ndarray:
    """Sum of ``flags`` over beats j-window+1 .. j of j's segment."""
    csum = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    idx = np.arange(flags.size)
    start = np.maximum(idx - window + 1, seg_first)
    return csum[idx + 1] - csum[start]


def rhythm_valid(
    rr_ms: np.ndarray,
    labels: np.ndarray,
    times_s: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    *,
    window_beats: int = RHYTHM_WINDOW_BEATS,
    alternation_fraction: float = ALTERNATION_FRACTION,
    flagged_fraction: float = FLAGGED_FRACTION,
    jump_fraction: float = JUMP_FRACTION,
) -> np.ndarray:
    """Per beat: True when the trailing window shows no sustained ectopy.

    Parameters
    ----------
    rr_ms : RR intervals (ms).
    labels : artifact labels from :func:`trm_bio.core.artifacts.detect_artifacts`.
    times_s : beat times (s); only checked for length (the window counts beats).
    segment : segment ids (int64, non-decreasing); windows never span two segments.
    window_beats : length of the trailing window (beats).
    alternation_fraction : share of alternating large differences that marks ectopy.
    flagged_fraction : share of flagged beats that marks the rhythm as not valid.
    jump_fraction : a difference counts as large above this share of the mean of its two
        intervals.

    Returns
    -------
    np.ndarray of bool. Unusable RR values (NaN, zero, negative) are not valid. A window
    that holds fewer than ``MIN_JUDGED_BEATS`` judged beats (the start of a segment) is
    valid unless already past a limit.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    lab = np.asarray(labels)
    n = rr.size
    if lab.shape != (n,):
        raise TrmBioError("labels must have one value per RR interval.")
    if times_s is not None and np.shape(times_s) != (n,):
        raise TrmBioError("times_s must have one value per RR interval.")
    if window_beats < 2:
        raise TrmBioError("window_beats must be at least 2.")
    seg = (
        np.zeros(n, dtype=np.int64) if segment is None else np.asarray(segment, dtype=np.int64)
    )
    if seg.shape != (n,):
        raise TrmBioError("segment must have one value per RR interval.")
    if n == 0:
        return np.zeros(0, dtype=bool)

    with np.errstate(invalid="ignore"):
        usable = np.isfinite(rr) & (rr > 0)
    new_segment = np.ones(n, dtype=bool)
    new_segment[1:] = seg[1:] != seg[:-1]
    seg_first = np.maximum.accumulate(np.where(new_segment, np.arange(n), 0))

    # Successive differences inside a segment, between usable intervals only.
    has_prev = ~new_segment
    has_prev[1:] &= usable[1:] & usable[:-1]
    has_prev[0] = False
    rr_prev = np.empty(n)
    rr_prev[0] = np.nan
    rr_prev[1:] = rr[:-1]
    with np.errstate(invalid="ignore"):
        drr = np.where(has_prev, rr - rr_prev, np.nan)
        large = np.abs(drr) > jump_fraction * 0.5 * (rr + rr_prev)
    sign = np.sign(drr)
    judged = np.zeros(n, dtype=bool)
    judged[1:] = has_prev[1:] & has_prev[:-1] & ~new_segment[1:]
    alternating = np.zeros(n, dtype=bool)
    alternating[1:] = judged[1:] & large[1:] & large[:-1] & (sign[1:] == -sign[:-1])

    n_judged = _trailing_sum(judged, seg_first, window_beats)
    n_alternating = _trailing_sum(alternating, seg_first, window_beats)
    n_beats = _trailing_sum(np.ones(n, dtype=bool), seg_first, window_beats)
    n_flagged = _trailing_sum(lab != NORMAL, seg_first, window_beats)

    alternation = n_alternating >= alternation_fraction * np.maximum(
        n_judged, MIN_JUDGED_BEATS
    )
    flagged = n_flagged >= flagged_fraction * np.maximum(n_beats, MIN_JUDGED_BEATS)
    return usable & ~alternation & ~flagged


def rhythm_valid_last(
    rr_ms: np.ndarray,
    labels: np.ndarray,
    segment: np.ndarray,
    *,
    window_beats: int = RHYTHM_WINDOW_BEATS,
    alternation_fraction: float = ALTERNATION_FRACTION,
    flagged_fraction: float = FLAGGED_FRACTION,
    jump_fraction: float = JUMP_FRACTION,
) -> bool:
    """``rhythm_valid(rr_ms, labels, None, segment, ...)[-1]``, computed for that beat alone.

    The live engine's check of its newest settled beat: the same counts over the same
    trailing window, without the per-beat running sums over the whole buffer. The inputs
    are trusted (the engine's buffers: one value per beat, non-decreasing segment ids, at
    least one beat); parameters as in :func:`rhythm_valid`.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    n = rr.size
    rr_last = float(rr[-1])
    if not (math.isfinite(rr_last) and rr_last > 0):
        return False
    # The window: the last window_beats beats, within the last beat's segment (a suffix).
    start = max(n - window_beats, int(np.searchsorted(segment, segment[-1])))
    # Whether beat `start` is judged reads the difference at the beat before it: two more.
    lo = max(start - 2, 0)
    part, part_seg = rr[lo:], np.asarray(segment)[lo:]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(part) & (part > 0)
        drr = part[1:] - part[:-1]  # element k: the difference at beat lo + k + 1
        large = np.abs(drr) > jump_fraction * 0.5 * (part[1:] + part[:-1])
    has_prev = (part_seg[1:] == part_seg[:-1]) & usable[1:] & usable[:-1]
    sign = np.sign(drr)
    judged = has_prev[1:] & has_prev[:-1]  # element k: beat lo + k + 2
    alternating = judged & large[1:] & large[:-1] & (sign[1:] == -sign[:-1])
    first = max(start - lo - 2, 0)  # beats 0 and 1 of a buffer are never judged
    judged, alternating = judged[first:], alternating[first:]
    n_judged = int(np.count_nonzero(judged))
    n_alternating = int(np.count_nonzero(alternating))
    n_beats = n - start
    n_flagged = int(np.count_nonzero(np.asarray(labels)[start:] != NORMAL))
    alternation = n_alternating >= alternation_fraction * max(n_judged, MIN_JUDGED_BEATS)
    flagged = n_flagged >= flagged_fraction * max(n_beats, MIN_JUDGED_BEATS)
    return not alternation and not flagged
