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

Irregular rhythm (:func:`irregular_rhythm`): atrial fibrillation makes every interval
unpredictable from the last ("irregularly irregular"), which neither check above sees: its
differences do not alternate and the artifact thresholds widen with the spread. Two
published measures over the trailing ``IRREGULAR_WINDOW_BEATS`` beats find it:

* the coefficient of sample entropy, COSEn = SampEn(m=1, r) + ln(2r) - ln(mean RR), with r
  = 30 ms and RR in seconds (Lake & Moorman, Am J Physiol Heart 300:H319, 2011): how rarely
  a pair of intervals that match also match at the next beat, corrected for the tolerance
  and the heart rate. Over 64 beats, the median of sinus records lies between -2.4 and -1.3
  (nine windows in ten below -1.1, even in drivedb drive17a's strong breathing swings),
  that of atrial fibrillation between -0.6 and -0.1 (nine windows in ten above -1.1 in
  MIT-BIH 201, 203, 219);
* the turning-point ratio (Dash et al., Ann Biomed Eng 37:1701, 2009): the share of beats
  that are a local peak or trough, 2/3 for a random series. It keeps the strong, smooth
  swings of a sinus arrhythmia (COSEn up to -1.0 in MIT-BIH 113, where the ratio is 0.5)
  from counting as irregular.

A beat's rhythm is irregular when COSEn exceeds ``COSEN_LIMIT`` and the turning-point ratio
reaches ``TURNING_POINT_MIN``. Frequent ectopic beats raise COSEn too (MIT-BIH 208): HRV is
not meaningful there either. Like the check above, it is trailing and causal.

Fixed-rate rhythm (:func:`fixed_rate_rhythm`): a pacemaker pacing at a fixed rate, or at its
lower rate limit with hardly any beat of the heart's own, gives intervals that do not vary
beyond the jitter of measuring them, and then HRV measures that jitter. A beat's rhythm is
fixed-rate when the middle 90 % of the last ``PACED_WINDOW_BEATS`` intervals of its segment
(about four minutes) lie within ``PACED_BAND_MS`` of each other at a heart rate of at most
100 /min (``PACED_MIN_RR_MS``; exercise can be that steady at a high rate). Measured on sinus
RR series, with the share of beats flagged: none in any of the 54 healthy 24 h Holters of
nsr2db (ages 28-76, nights included; nsr040's steadiest four minutes span 15.6 ms, its
steadiest two 7.8 ms), the nine healthy subjects of Irurzun et al. (PhysioNet 2021), the 44
MIT-BIH records without pacing, drivedb drive06 and drive17a, and the Polar file; of the 29
heart-failure Holters of chf2db two have such windows (chf209 0.44 %, chf226 0.10 % of their
beats: a failing heart's rhythm can be that steady), far under the share that makes a
recording's HRV not valid. It does not see the paced records of MIT-BIH (102, 104, 107, 217):
their paced intervals swing with breathing by 25-40 ms (RMSSD), as a sinus rhythm does, and
RR alone cannot tell them from one. Over five minutes their level is no steadier than that of
many sinus records; over twenty, the 30-beat medians of the paced records span 1.3-2.4 % of
the RR (5th to 95th percentile) and those of the steadiest sinus records 2.7 % (117) and 2.9 %
(232): too close a margin, on three records, to call a rhythm paced. The check is for the
whole recording (``trm-bio analyze``, ``show``), not the live screen: HRV is not shown as
valid over a whole recording held at a fixed rate.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from trm_bio.core.artifacts import NORMAL, windowed_order_statistics
from trm_bio.core.errors import TrmBioError

RHYTHM_WINDOW_BEATS = 20
ALTERNATION_FRACTION = 0.4
FLAGGED_FRACTION = 0.3
JUMP_FRACTION = 0.2
MIN_JUDGED_BEATS = 6

#: Beats in the irregular-rhythm window: about a minute, like the HRV window.
IRREGULAR_WINDOW_BEATS = 64
#: Fewer usable beats than this in the window (a segment's start): not judged, not irregular.
IRREGULAR_MIN_BEATS = 32
#: Lake & Moorman's tolerance r (ms).
COSEN_TOLERANCE_MS = 30.0
#: COSEn above this is irregular (64-beat windows; sinus stays below, fibrillation above).
COSEN_LIMIT = -1.0
#: Turning-point ratio from which a window looks random (2/3 expected; Dash et al.'s lower
#: bound for a random series).
TURNING_POINT_MIN = 0.54

#: Intervals in the fixed-rate window: about four minutes at a pacing rate.
PACED_WINDOW_BEATS = 256
#: The middle 90 % of the window's intervals within this (ms): a fixed rate plus the jitter of
#: measuring the beats (one step of a 128 Hz Holter clock is 7.8 ms).
PACED_BAND_MS = 10.0
#: Only at heart rates up to 100 /min (intervals from 600 ms): pacing rates, not exercise.
PACED_MIN_RR_MS = 600.0
_PACED_FRACTIONS = (0.05, 0.5, 0.95)


def _trailing_sum(flags: np.ndarray, seg_first: np.ndarray, window: int) -> np.ndarray:
    """Sum of ``flags`` over beats j-window+1 .. j of j's segment."""
    csum = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    idx = np.arange(flags.size)
    start = np.maximum(idx - window + 1, seg_first)
    # Annotated: numpy types indexing by an array of unnamed dtype as Any.
    total: np.ndarray = csum[idx + 1] - csum[start]
    return total


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
    steady: np.ndarray = usable & ~alternation & ~flagged
    return steady


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


def _cosen(a: np.ndarray | int, b: np.ndarray | int, mean_rr_ms: np.ndarray) -> np.ndarray:
    """COSEn from the match counts of length 2 (a) and 1 (b) and the mean RR (ms).

    No match of length 2 counts as half a match (SampEn's upper bound, finite).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        sampen = np.log(np.maximum(b, 1.0) / np.maximum(a, 0.5))
        cosen: np.ndarray = (
            sampen + math.log(2.0 * COSEN_TOLERANCE_MS / 1000.0) - np.log(mean_rr_ms / 1000.0)
        )
    return cosen



def _checked_series(
    rr_ms: np.ndarray, segment: np.ndarray | None, window_beats: int
) -> tuple[np.ndarray, np.ndarray]:
    """RR (ms, float64) and segment ids (int64, zeros when None), checked for a window check."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    seg = np.zeros(rr.size, dtype=np.int64) if segment is None else np.asarray(segment, np.int64)
    if seg.shape != (rr.size,):
        raise TrmBioError("segment must have one value per RR interval.")
    if window_beats < 3:
        raise TrmBioError("window_beats must be at least 3.")
    return rr, seg

def irregular_measures(
    rr_ms: np.ndarray,
    segment: np.ndarray | None = None,
    *,
    window_beats: int = IRREGULAR_WINDOW_BEATS,
) -> tuple[np.ndarray, np.ndarray]:
    """Per beat: COSEn and the turning-point ratio over its trailing window.

    Parameters
    ----------
    rr_ms : RR intervals (ms).
    segment : segment ids (int64, non-decreasing); windows never span two segments.
    window_beats : beats in the trailing window.

    Returns
    -------
    cosen, turning_ratio : float arrays, NaN where the window holds fewer than
        ``IRREGULAR_MIN_BEATS`` usable beats. Unusable RR values (NaN, zero, negative) match
        nothing and are left out of the mean.
    """
    rr, seg = _checked_series(rr_ms, segment, window_beats)
    n = rr.size
    if n == 0:
        return np.zeros(0), np.zeros(0)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(rr) & (rr > 0)
    x = np.where(usable, rr, np.nan)
    idx = np.arange(n)
    new_segment = np.ones(n, dtype=bool)
    new_segment[1:] = seg[1:] != seg[:-1]
    seg_first = np.maximum.accumulate(np.where(new_segment, idx, 0))
    start = np.maximum(idx - window_beats + 1, seg_first)

    # Pairs (j, j + lag) of the window [start, e] with j + lag <= e - 1 (SampEn's N - m
    # templates): prefix sums over j of each lag's matches, read at e - lag and start.
    a = np.zeros(n)
    b = np.zeros(n)
    csum = np.zeros(n + 1)
    for lag in range(1, window_beats - 1):
        if lag >= n - 1:
            break
        with np.errstate(invalid="ignore"):
            one = np.abs(x[: n - lag] - x[lag:]) <= COSEN_TOLERANCE_MS  # pair (j, j + lag)
        two = one[:-1] & one[1:]  # and the next pair too
        hi = idx - lag  # prefix end: j <= e - 1 - lag
        ok = hi > start
        np.cumsum(one, out=csum[1 : n - lag + 1])
        b[ok] += csum[hi[ok]] - csum[start[ok]]
        csum[1 : n - lag] = np.cumsum(two)
        a[ok] += csum[hi[ok]] - csum[start[ok]]

    count_prefix = np.r_[0, np.cumsum(usable)]
    sum_prefix = np.r_[0.0, np.cumsum(np.where(usable, rr, 0.0))]
    n_usable = count_prefix[idx + 1] - count_prefix[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_rr = (sum_prefix[idx + 1] - sum_prefix[start]) / n_usable
    cosen = _cosen(a, b, mean_rr)

    # A turning point at beat j (a local peak or trough) needs beats j - 1 and j + 1.
    turn = np.zeros(n)
    with np.errstate(invalid="ignore"):
        turn[1:-1] = (x[1:-1] - x[:-2]) * (x[1:-1] - x[2:]) > 0
    turn_prefix = np.r_[0.0, np.cumsum(turn)]
    # Beats start + 1 .. e - 1 can be judged in the window [start, e].
    judged = np.maximum(idx - start - 1, 1)
    lo = np.minimum(start + 1, idx)
    turning = (turn_prefix[idx] - turn_prefix[lo]) / judged

    enough = n_usable >= IRREGULAR_MIN_BEATS
    return np.where(enough, cosen, np.nan), np.where(enough, turning, np.nan)


def irregular_rhythm(
    rr_ms: np.ndarray,
    segment: np.ndarray | None = None,
    *,
    window_beats: int = IRREGULAR_WINDOW_BEATS,
) -> np.ndarray:
    """Per beat: True when the trailing window's rhythm is irregular (module notes).

    Parameters as in :func:`irregular_measures`. A window too short to judge is not
    irregular.
    """
    cosen, turning = irregular_measures(rr_ms, segment, window_beats=window_beats)
    with np.errstate(invalid="ignore"):
        return (cosen > COSEN_LIMIT) & (turning >= TURNING_POINT_MIN)


def irregular_rhythm_last(
    rr_ms: np.ndarray,
    segment: np.ndarray,
    *,
    window_beats: int = IRREGULAR_WINDOW_BEATS,
) -> bool:
    """``irregular_rhythm(rr_ms, segment)[-1]``, computed for that beat alone.

    The live engine's check of its newest settled beat: the same counts over the same
    trailing window (a pair matrix of at most ``window_beats`` beats). The inputs are
    trusted (the engine's buffers, at least one beat).
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    n = rr.size
    seg = np.asarray(segment)
    start = max(n - window_beats, int(np.searchsorted(seg, seg[-1])))
    w = rr[start:]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(w) & (w > 0)
    n_usable = int(np.count_nonzero(usable))
    if n_usable < IRREGULAR_MIN_BEATS:
        return False
    x = np.where(usable, w, np.nan)
    first, second = _template_pairs(w.size)
    with np.errstate(invalid="ignore"):
        one = np.abs(x[first] - x[second]) <= COSEN_TOLERANCE_MS
        two = one & (np.abs(x[first + 1] - x[second + 1]) <= COSEN_TOLERANCE_MS)
        turns = (x[1:-1] - x[:-2]) * (x[1:-1] - x[2:]) > 0
    mean_rr = np.array([np.sum(w[usable]) / n_usable])
    cosen = float(_cosen(int(np.count_nonzero(two)), int(np.count_nonzero(one)), mean_rr)[0])
    turning = float(np.count_nonzero(turns)) / max(w.size - 2, 1)
    return cosen > COSEN_LIMIT and turning >= TURNING_POINT_MIN


def irregular_judged(
    rr_ms: np.ndarray,
    segment: np.ndarray | None = None,
    *,
    window_beats: int = IRREGULAR_WINDOW_BEATS,
) -> np.ndarray:
    """Per beat: True when the irregular-rhythm check can judge it.

    Its trailing window (within the segment) must hold ``IRREGULAR_MIN_BEATS`` usable beats.
    Before that (the first half-minute of a segment) a failed rhythm check cannot yet tell
    frequent extra beats from an irregular rhythm, so neither may be named. Parameters as in
    :func:`irregular_measures`.
    """
    rr, seg = _checked_series(rr_ms, segment, window_beats)
    n = rr.size
    idx = np.arange(n)
    new_segment = np.ones(n, dtype=bool)
    new_segment[1:] = seg[1:] != seg[:-1]
    seg_first = np.maximum.accumulate(np.where(new_segment, idx, 0)) if n else idx
    start = np.maximum(idx - window_beats + 1, seg_first)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(rr) & (rr > 0)
    count_prefix = np.r_[0, np.cumsum(usable)]
    n_usable: np.ndarray = count_prefix[idx + 1] - count_prefix[start]
    return n_usable >= IRREGULAR_MIN_BEATS


def irregular_judged_last(
    rr_ms: np.ndarray,
    segment: np.ndarray,
    *,
    window_beats: int = IRREGULAR_WINDOW_BEATS,
) -> bool:
    """:func:`irregular_judged` at the last beat alone (the live engine's per-beat path: a
    few numpy calls on the trailing window, not the whole series)."""
    rr = np.asarray(rr_ms, dtype=np.float64)[-window_beats:]
    seg = np.asarray(segment)[-window_beats:]
    if rr.size == 0:
        return False
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(rr) & (rr > 0) & (seg == seg[-1])
    return int(np.count_nonzero(usable)) >= IRREGULAR_MIN_BEATS


@functools.lru_cache(maxsize=8)
def _template_pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Beat pairs (i, j), i < j <= size - 2, of a window of ``size`` beats: SampEn's
    templates of one beat, whose length-2 extensions read beats i + 1 and j + 1."""
    first, second = np.triu_indices(max(size - 1, 0), k=1)
    return first, second


def fixed_rate_judged(
    segment: np.ndarray, *, window_beats: int = PACED_WINDOW_BEATS
) -> np.ndarray:
    """Per beat: True where :func:`fixed_rate_rhythm` can judge it, its segment holding the
    ``window_beats`` intervals up to it (a usable series; an unusable value in the window
    also leaves a beat unjudged there).

    The share of fixed-rate beats is honest only among these: the first
    ``window_beats - 1`` beats of every segment are never called fixed-rate.
    """
    seg = np.asarray(segment, dtype=np.int64)
    n = seg.size
    idx = np.arange(n)
    new_segment = np.ones(n, dtype=bool)
    new_segment[1:] = seg[1:] != seg[:-1]
    seg_first = np.maximum.accumulate(np.where(new_segment, idx, 0))
    judged: np.ndarray = idx - seg_first + 1 >= window_beats
    return judged


def fixed_rate_rhythm(
    rr_ms: np.ndarray,
    segment: np.ndarray | None = None,
    *,
    window_beats: int = PACED_WINDOW_BEATS,
) -> np.ndarray:
    """Per beat: True when the trailing window's intervals hardly vary (module notes).

    Parameters
    ----------
    rr_ms : RR intervals (ms).
    segment : segment ids (int64, non-decreasing); windows never span two segments.
    window_beats : intervals in the trailing window.

    Returns
    -------
    np.ndarray of bool. A window holding fewer than ``window_beats`` intervals of the segment
    (a segment's start), or an unusable value (NaN, zero, negative), is not judged: False.
    """
    rr, seg = _checked_series(rr_ms, segment, window_beats)
    n = rr.size
    if n < window_beats:
        return np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(rr) & (rr > 0)
    idx = np.arange(n)
    new_segment = np.ones(n, dtype=bool)
    new_segment[1:] = seg[1:] != seg[:-1]
    seg_first = np.maximum.accumulate(np.where(new_segment, idx, 0))
    count, (low, mid, high) = windowed_order_statistics(
        np.where(usable, rr, np.nan), seg_first, idx, window_beats - 1, 0, _PACED_FRACTIONS
    )
    # Unusable values in the window: a break in the measurement, not a steady rhythm.
    bad = np.r_[0, np.cumsum(~usable)]
    clean = bad[idx + 1] - bad[np.maximum(idx + 1 - window_beats, 0)] == 0
    with np.errstate(invalid="ignore"):
        paced: np.ndarray = (
            (count >= window_beats)
            & clean
            & (high - low <= PACED_BAND_MS)
            & (mid >= PACED_MIN_RR_MS)
        )
    return paced
