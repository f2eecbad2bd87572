"""Time-domain HRV over sliding windows, vectorised with cumulative sums.

Every window costs O(1) after O(n) prefix sums, so all windows of a 24 h record take a few
milliseconds, and one window (the live case) costs a few tens of microseconds.
"""

from __future__ import annotations

import numpy as np

from trm_bio.core.errors import TrmBioError
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


#: Up to this many window ends, and when they are few against the beats, each window is
#: computed directly from its own beats (the live engine's case: one end on a short buffer);
#: otherwise by prefix sums over the whole series. Both give the same numbers within
#: rounding (a few ulps; the engine test holds them to 1e-9).
DIRECT_MAX_ENDS = 8
_DIRECT_BEATS_PER_END = 16


def time_domain(
    rr_ms: np.ndarray,
    times_s: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    *,
    window_s: float,
    ends_s: np.ndarray | None = None,
    keys: tuple[str, ...] = TIME_KEYS,
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
    keys : tuple of str
        The metrics to compute (any of ``TIME_KEYS``; default all). MinNN and MaxNN cost
        more than the rest together over many windows: ask for them only when needed.

    Returns
    -------
    dict of float arrays (one per key, in ``keys`` order), one value per window end, NaN
    where the window is not full or has too few beats:
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
    unknown = set(keys) - set(TIME_KEYS)
    if unknown:
        raise TrmBioError(f"unknown time-domain metric(s): {', '.join(sorted(unknown))}.")
    rr, times, seg = as_beats(rr_ms, times_s, segment)
    start, stop, full = window_bounds(times, rr, seg, window_s, ends_s)
    if ends_s is not None and (
        start.size <= DIRECT_MAX_ENDS and start.size * _DIRECT_BEATS_PER_END <= rr.size
    ):
        return _direct(rr, start, stop, full, keys)
    return _prefix_sums(rr, seg, start, stop, full, keys)


def _direct(
    rr: np.ndarray, start: np.ndarray, stop: np.ndarray, full: np.ndarray, keys: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Each window from its own beats: a full window lies inside one segment."""
    out = {key: np.full(start.size, np.nan) for key in keys}
    for w in range(start.size):
        if not full[w]:
            continue
        window = rr[start[w] : stop[w]]
        valid = np.isfinite(window)
        values = window if valid.all() else window[valid]
        n = values.size
        if n == 0:
            continue
        mean_nn = float(values.mean())
        for key in keys:
            if key == "MeanNN":
                out[key][w] = mean_nn
            elif key == "HR":
                out[key][w] = 60000.0 / mean_nn
            elif key == "SDNN" and n >= 2:
                dev = values - mean_nn
                out[key][w] = np.sqrt(float(np.dot(dev, dev)) / (n - 1))
            elif key == "MinNN":
                out[key][w] = float(values.min())
            elif key == "MaxNN":
                out[key][w] = float(values.max())
        if "RMSSD" in keys or "pNN50" in keys:
            diff = window[1:] - window[:-1]
            diff = diff[np.isfinite(diff)]
            nd = diff.size
            if nd:
                if "RMSSD" in keys:
                    out["RMSSD"][w] = np.sqrt(float(np.dot(diff, diff)) / nd)
                if "pNN50" in keys:
                    n50 = int(np.count_nonzero(np.abs(diff) > 50.0))
                    out["pNN50"][w] = n50 / (nd + 1.0) * 100.0
    return out


def _prefix_sums(
    rr: np.ndarray,
    seg: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    full: np.ndarray,
    keys: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """Every window in O(1) from prefix sums over the whole series."""
    out: dict[str, np.ndarray] = {}
    valid = np.isfinite(rr)
    all_valid = bool(valid.all())
    one_segment = seg.size == 0 or seg[0] == seg[-1]
    if all_valid:
        n = (stop - start).astype(np.float64)
    else:
        n = _in_window(_prefix(valid), start, stop)
    usable = full & (n >= 1)
    wanted = set(keys)
    if wanted & {"MeanNN", "HR", "SDNN"}:
        # A global reference keeps the sums of squares free of catastrophic cancellation.
        ref_ms = float(np.mean(rr[valid])) if valid.any() else 0.0
        dev = rr - ref_ms
        if not all_valid:
            dev[~valid] = 0.0
        s1 = _in_window(_prefix(dev), start, stop)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_nn = s1 / n
            mean_nn += ref_ms
            mean_nn[~usable] = np.nan
            if "SDNN" in wanted:
                np.multiply(dev, dev, out=dev)
                s2 = _in_window(_prefix(dev), start, stop)
                s1 *= s1
                s1 /= n
                s2 -= s1
                np.maximum(s2, 0.0, out=s2)
                n1 = n - 1.0
                s2 /= n1
                sdnn = np.sqrt(s2, out=s2)
                sdnn[~(full & (n >= 2))] = np.nan
                out["SDNN"] = sdnn
            if "HR" in wanted:
                out["HR"] = np.divide(60000.0, mean_nn)
        out["MeanNN"] = mean_nn
    if wanted & {"RMSSD", "pNN50"}:
        if rr.size > 1:
            # The successive difference at beat i pairs beats i-1 and i (index 0 has none).
            diff = np.empty(rr.size)
            diff[0] = 0.0
            np.subtract(rr[1:], rr[:-1], out=diff[1:])
            if all_valid and one_segment:
                diff_ok = None
            else:
                diff_ok = np.empty(rr.size, dtype=bool)
                diff_ok[0] = False
                diff_ok[1:] = valid[1:] & valid[:-1] & (seg[1:] == seg[:-1])
                diff[~diff_ok] = 0.0
        else:
            diff = np.zeros(rr.size)
            diff_ok = np.zeros(rr.size, dtype=bool)
        dstart = np.minimum(start + 1, stop)
        if diff_ok is None:
            nd = (stop - dstart).astype(np.float64)
        else:
            nd = _in_window(_prefix(diff_ok), dstart, stop)
        has_diff = full & (nd >= 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if "pNN50" in wanted:
                n50 = _in_window(_prefix(np.abs(diff) > 50.0), dstart, stop)
                n50 /= nd + 1.0
                n50 *= 100.0
                n50[~has_diff] = np.nan
                out["pNN50"] = n50
            if "RMSSD" in wanted:
                np.multiply(diff, diff, out=diff)
                dsq = _in_window(_prefix(diff), dstart, stop)
                dsq /= nd
                rmssd = np.sqrt(dsq, out=dsq)
                rmssd[~has_diff] = np.nan
                out["RMSSD"] = rmssd
    for key, op, fill in (("MinNN", np.minimum, np.inf), ("MaxNN", np.maximum, -np.inf)):
        if key in wanted:
            filled = rr if all_valid else np.where(valid, rr, fill)
            out[key] = np.where(usable, _range_extreme(filled, start, stop, op), np.nan)
    return {key: out[key] for key in keys}


def _in_window(prefix: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sum over [lo, hi) of the series whose prefix sums are ``prefix`` (float64)."""
    total = prefix.take(hi)
    total -= prefix.take(lo)
    return total


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
