"""Time-domain HRV over sliding windows, vectorised with cumulative sums.

Every window costs O(1) after O(n) prefix sums, so all windows of a 24 h record take a few
milliseconds, and one window (the live case) costs a few tens of microseconds.
"""

from __future__ import annotations

import numpy as np

from trm_bio.core.windows import as_beats, window_bounds

TIME_KEYS = ("MeanNN", "SDNN", "RMSSD", "pNN50", "HR", "MinNN", "MaxNN")


def _prefix(values: np.ndarray) -> np.ndarray:
    """Cumulative sum with a leading zero, so a half-open range [a, b) is p[b] - p[a]."""
    out = np.empty(values.size + 1, dtype=np.float64)
    out[0] = 0.0
    np.cumsum(values, out=out[1:], dtype=np.float64)
    return out


def _range_extreme(values: np.ndarray, start: np.ndarray, stop: np.ndarray, op) -> np.ndarray:
    """Min or max (``op`` = np.minimum / np.maximum) of values[start:stop], sparse table.

    Empty ranges give the fill value that ``values`` carries for rejected beats (±inf).
    """
    length = stop - start
    if values.size == 0 or not length.size:
        return np.full(start.size, np.nan)
    max_len = max(int(length.max()), 1)
    n_levels = max_len.bit_length()
    table = np.empty((n_levels, values.size))
    table[0] = values
    span = 1
    for lvl in range(1, n_levels):
        op(table[lvl - 1, :-span], table[lvl - 1, span:], out=table[lvl, :-span])
        table[lvl, values.size - span :] = table[lvl - 1, values.size - span :]
        span *= 2
    safe_len = np.maximum(length, 1)
    # floor(log2(len)) exactly, from the float exponent (no rounding issue for ints < 2**53).
    level = np.frexp(safe_len.astype(np.float64))[1].astype(np.int64) - 1
    lo = np.minimum(start, values.size - 1)
    hi = np.maximum(stop - np.left_shift(1, level), 0)
    flat = table.ravel()
    return op(flat[level * values.size + lo], flat[level * values.size + hi])


def time_domain(
    rr_ms: np.ndarray,
    times_s: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    *,
    window_s: float,
    ends_s: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Time-domain HRV for windows ending at each beat (or at ``ends_s``).

    Parameters
    ----------
    rr_ms : array of float
        RR intervals (ms). NaN marks a rejected beat: it is left out of every metric, and a
        successive difference that involves it is left out too (as neurokit2 does when the
        interval is missing), so a rejected beat never bridges two neighbours.
    times_s : array of float, optional
        Beat times (s from session start). Default ``cumsum(rr_ms) / 1000``.
    segment : array of int, optional
        Segment id per beat; no window and no successive difference spans two segments.
    window_s : float
        Window length (s).
    ends_s : array of float, optional
        Window end times (s). Default: every beat time.

    Returns
    -------
    dict of float arrays, one value per window end, NaN where the window is not full or has
    too few beats:
        ``MeanNN`` (ms), ``SDNN`` (ms, ddof=1 as neurokit2), ``RMSSD`` (ms), ``pNN50`` (%),
        ``HR`` (bpm, 60000 / MeanNN), ``MinNN``, ``MaxNN`` (ms).

    Notes
    -----
    pNN50 follows neurokit2: NN50 divided by the number of RR intervals in the window (one
    more than the number of successive differences), not by the number of differences.
    With rejected beats it is NN50 / (valid successive differences + 1), as neurokit2 gives
    for intervals with gaps. Differences are taken only between beats inside the same window
    and the same segment.
    """
    rr, times, seg = as_beats(rr_ms, times_s, segment)
    start, stop, full = window_bounds(times, rr, seg, window_s, ends_s)
    valid = np.isfinite(rr)
    all_valid = bool(valid.all())
    # A global reference keeps the sums of squares free of catastrophic cancellation.
    ref_ms = float(np.mean(rr[valid])) if valid.any() else 0.0
    dev = rr - ref_ms
    if not all_valid:
        dev[~valid] = 0.0
    count_p = _prefix(valid)
    sum_p = _prefix(dev)
    sq_p = _prefix(dev * dev)
    if rr.size > 1:
        # The successive difference at beat i pairs beats i-1 and i (index 0 has none).
        diff_ok = np.r_[False, valid[1:] & valid[:-1] & (seg[1:] == seg[:-1])]
        diff = np.r_[0.0, rr[1:] - rr[:-1]]
        if not diff_ok.all():
            diff[~diff_ok] = 0.0
    else:
        diff_ok = np.zeros(rr.size, dtype=bool)
        diff = np.zeros(rr.size)
    dcount_p = _prefix(diff_ok)
    dsq_p = _prefix(diff * diff)
    d50_p = _prefix(np.abs(diff) > 50.0)

    dstart = np.minimum(start + 1, stop)

    def in_window(prefix: np.ndarray, lo: np.ndarray) -> np.ndarray:
        return prefix.take(stop) - prefix.take(lo)

    n = in_window(count_p, start)
    s1 = in_window(sum_p, start)
    s2 = in_window(sq_p, start)
    nd = in_window(dcount_p, dstart)
    dsq = in_window(dsq_p, dstart)
    n50 = in_window(d50_p, dstart)

    with np.errstate(divide="ignore", invalid="ignore"):
        mean_nn = ref_ms + s1 / n
        mean_nn[~(full & (n >= 1))] = np.nan
        sdnn = np.sqrt(np.maximum(s2 - s1 * s1 / n, 0.0) / (n - 1))
        sdnn[~(full & (n >= 2))] = np.nan
        has_diff = full & (nd >= 1)
        rmssd = np.sqrt(dsq / nd)
        rmssd[~has_diff] = np.nan
        pnn50 = n50 / (nd + 1.0) * 100.0
        pnn50[~has_diff] = np.nan
        hr = 60000.0 / mean_nn
    fill_min = rr if all_valid else np.where(valid, rr, np.inf)
    fill_max = rr if all_valid else np.where(valid, rr, -np.inf)
    min_nn = _range_extreme(fill_min, start, stop, np.minimum)
    max_nn = _range_extreme(fill_max, start, stop, np.maximum)
    usable = full & (n >= 1)
    return {
        "MeanNN": mean_nn,
        "SDNN": sdnn,
        "RMSSD": rmssd,
        "pNN50": pnn50,
        "HR": hr,
        "MinNN": np.where(usable, min_nn, np.nan),
        "MaxNN": np.where(usable, max_nn, np.nan),
    }


def summary_time(rr_ms: np.ndarray, segment: np.ndarray | None = None) -> dict[str, float]:
    """Time-domain HRV of a whole series taken as one window.

    Parameters
    ----------
    rr_ms : array of float
        RR intervals (ms); NaN for rejected beats (left out as in :func:`time_domain`).
    segment : array of int, optional
        Segment id per beat; successive differences never span two segments.

    Returns
    -------
    dict of float: MeanNN, SDNN, RMSSD, pNN50, HR, MinNN, MaxNN (units as in
    :func:`time_domain`).
    """
    rr, _, seg = as_beats(rr_ms, None, segment)
    if rr.size == 0:
        return {key: float("nan") for key in TIME_KEYS}
    cuts = np.flatnonzero(seg[1:] != seg[:-1]) + 1
    return _pooled(np.split(rr, cuts))


def _pooled(parts: list[np.ndarray]) -> dict[str, float]:
    values = np.concatenate(parts)
    valid = values[np.isfinite(values)]
    nan = float("nan")
    if valid.size == 0:
        return {key: nan for key in TIME_KEYS}
    diffs = np.concatenate([np.diff(p) for p in parts if p.size > 1] or [np.empty(0)])
    diffs = diffs[np.isfinite(diffs)]
    mean_nn = float(valid.mean())
    return {
        "MeanNN": mean_nn,
        "SDNN": float(valid.std(ddof=1)) if valid.size > 1 else nan,
        "RMSSD": float(np.sqrt(np.mean(diffs**2))) if diffs.size else nan,
        "pNN50": float(np.sum(np.abs(diffs) > 50) / (diffs.size + 1) * 100) if diffs.size else nan,
        "HR": 60000.0 / mean_nn,
        "MinNN": float(valid.min()),
        "MaxNN": float(valid.max()),
    }
