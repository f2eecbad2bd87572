"""Time-domain HRV over sliding windows, vectorised with cumulative sums.

Every window costs O(1) after O(n) prefix sums, so all windows of a 24 h record take a few
milliseconds, and one window (the live case) costs a few tens of microseconds.
"""

from __future__ import annotations

import numpy as np

from trm_bio.core.errors import TrmBioError
from trm_bio.core.windows import as_beats, window_bounds_multi

TIME_KEYS = ("MeanNN", "SDNN", "RMSSD", "pNN50", "HR", "MinNN", "MaxNN")


def _prefix(values: np.ndarray) -> np.ndarray:
    """Cumulative sum with a leading zero, so a half-open range [a, b) is p[b] - p[a]."""
    out = np.empty(values.size + 1, dtype=np.float64)
    out[0] = 0.0
    np.cumsum(values, out=out[1:], dtype=np.float64)
    return out


def _range_extreme(
    values: np.ndarray, start: np.ndarray, stop: np.ndarray, op: np.ufunc
) -> np.ndarray:
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
    extreme: np.ndarray = op(flat[level * values.size + lo], flat[level * values.size + hi])
    return extreme


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
    return time_domain_windows(
        rr_ms, times_s, segment, windows_s=(window_s,), ends_s=ends_s, keys=keys
    )[0]


def time_domain_windows(
    rr_ms: np.ndarray,
    times_s: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    *,
    windows_s: tuple[float, ...],
    ends_s: np.ndarray | None = None,
    keys: tuple[str, ...] = TIME_KEYS,
) -> tuple[dict[str, np.ndarray], ...]:
    """:func:`time_domain` for several window lengths at once (e.g. 60 s and 300 s).

    The windows share the checks, one binary search for their starts and the prefix sums,
    so two windows cost much less than two calls. Parameters as :func:`time_domain`, with
    ``windows_s`` the window lengths (s).

    Returns
    -------
    tuple of dicts, one per window length in ``windows_s`` order, each as :func:`time_domain`
    returns it.
    """
    unknown = set(keys) - set(TIME_KEYS)
    if unknown:
        raise TrmBioError(f"unknown time-domain metric(s): {', '.join(sorted(unknown))}.")
    rr, times, seg = as_beats(rr_ms, times_s, segment)
    start, stop, full = window_bounds_multi(times, rr, seg, tuple(windows_s), ends_s)
    return time_windows(rr, seg, start, stop, full, (tuple(keys),) * len(windows_s),
                        at_beats=ends_s is None)


def time_windows(
    rr: np.ndarray,
    seg: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    full: np.ndarray,
    keys: tuple[tuple[str, ...], ...],
    *,
    at_beats: bool,
) -> tuple[dict[str, np.ndarray], ...]:
    """The kernel of :func:`time_domain_windows` on checked arrays and window bounds.

    ``start``, ``stop``, ``full`` come from :func:`window_bounds_multi` (one row per
    window), ``keys`` names the metrics of each window and ``at_beats`` says the windows
    end at every beat (``ends_s`` was None). The live engine calls this directly.
    """
    n_ends = stop.size
    if not at_beats and n_ends <= DIRECT_MAX_ENDS and n_ends * _DIRECT_BEATS_PER_END <= rr.size:
        return tuple(
            _direct(rr, start[w], stop, full[w], keys[w]) for w in range(start.shape[0])
        )
    return _prefix_sums(rr, seg, start, stop, full, keys, at_beats=at_beats)


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
        all_valid = bool(valid.all())
        values = window if all_valid else window[valid]
        n = values.size
        if n == 0:
            continue
        mean_nn = float(values.sum() / n)  # as ndarray.mean computes it, without its wrapper
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
            if not all_valid:
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
    keys: tuple[tuple[str, ...], ...],
    *,
    at_beats: bool,
) -> tuple[dict[str, np.ndarray], ...]:
    """Every window in O(1) from prefix sums over the whole series (shared by the windows).

    Windows that are not full get NaN counts, so every metric divided by a count comes out
    NaN without a mask per metric. Why blocks and ``out=``: on a day of beats each array is
    about a megabyte, and the first touch of fresh memory (page faults) cost more than the
    arithmetic; so the outputs are rows of one block, the prefix sums rows of another, and
    the temporaries a few rows reused by every window.
    """
    n_beats, n_ends = rr.size, stop.size
    wanted_any = {key for window_keys in keys for key in window_keys}
    valid = np.isfinite(rr)
    all_valid = bool(valid.all())
    trivial_diffs = all_valid and (seg.size == 0 or seg[0] == seg[-1])
    need_dev = bool(wanted_any & {"MeanNN", "HR", "SDNN"})
    need_diffs = bool(wanted_any & {"RMSSD", "pNN50"})
    names = [
        name
        for name, needed in (
            ("valid", not all_valid),
            ("dev", need_dev),
            ("dev2", "SDNN" in wanted_any),
            ("diff_ok", need_diffs and not trivial_diffs),
            ("n50", "pNN50" in wanted_any),
            ("diff2", "RMSSD" in wanted_any),
        )
        if needed
    ]
    prefix_block = np.empty((len(names), n_beats + 1))
    prefix_block[:, 0] = 0.0
    prefix = dict(zip(names, prefix_block, strict=True))
    ref_ms = 0.0
    if not all_valid:
        np.cumsum(valid, out=prefix["valid"][1:], dtype=np.float64)
    if need_dev:
        # A global reference keeps the sums of squares free of catastrophic cancellation.
        if all_valid:
            ref_ms = float(np.mean(rr)) if n_beats else 0.0
        else:
            ref_ms = float(np.mean(rr[valid])) if valid.any() else 0.0
        dev = rr - ref_ms
        if not all_valid:
            dev[~valid] = 0.0
        np.cumsum(dev, out=prefix["dev"][1:])
        if "dev2" in prefix:
            np.multiply(dev, dev, out=dev)
            np.cumsum(dev, out=prefix["dev2"][1:])
        del dev
    if need_diffs:
        # The successive difference at beat i pairs beats i-1 and i (index 0 has none).
        diff = np.zeros(n_beats)
        if n_beats > 1:
            np.subtract(rr[1:], rr[:-1], out=diff[1:])
        if not trivial_diffs:
            diff_ok = np.zeros(n_beats, dtype=bool)
            if n_beats > 1:
                diff_ok[1:] = valid[1:] & valid[:-1] & (seg[1:] == seg[:-1])
            diff[~diff_ok] = 0.0
            np.cumsum(diff_ok, out=prefix["diff_ok"][1:], dtype=np.float64)
        if "n50" in prefix:
            np.cumsum(np.abs(diff) > 50.0, out=prefix["n50"][1:], dtype=np.float64)
        if "diff2" in prefix:
            np.multiply(diff, diff, out=diff)
            np.cumsum(diff, out=prefix["diff2"][1:])
        del diff

    # Windows ending at each of strictly increasing beats stop just after it: read the
    # prefix sums at the stops by slicing instead of gathering.
    stop_is_range = at_beats and n_ends == n_beats and (
        n_ends == 0
        or (int(stop[0]) == 1 and int(stop[-1]) == n_ends and bool(np.all(stop[1:] != stop[:-1])))
    )

    def in_window(name: str, lo: np.ndarray, out: np.ndarray, diffs: bool = False) -> None:
        """out = sum over [lo, stop) of the named series (of its differences: lo+1 ..).

        The indices are in range by construction; ``mode="clip"`` because take with
        ``out`` and the default mode copies ``out`` first."""
        p = prefix[name]
        if not diffs:
            p.take(lo, out=out, mode="clip")
        elif at_beats:  # every window holds its own beat: lo + 1 <= stop
            p[1:].take(lo, out=out, mode="clip")
        else:
            p.take(np.minimum(lo + 1, stop), out=out, mode="clip")
        np.subtract(p[1:] if stop_is_range else p.take(stop), out, out=out)

    out_block = np.empty((sum(len(k) for k in keys), n_ends))
    scratch = np.empty((4, n_ends))
    n, n1, nd1, tmp = scratch
    results = []
    row = 0
    nan = np.nan
    for w in range(start.shape[0]):
        wanted = keys[w]
        lo = start[w]
        out = dict(zip(wanted, out_block[row : row + len(wanted)], strict=True))
        row += len(wanted)
        with np.errstate(divide="ignore", invalid="ignore"):
            if all_valid:
                np.subtract(stop, lo, out=n, casting="unsafe")
            else:
                in_window("valid", lo, n)
            not_full = ~full[w]
            np.copyto(n, nan, where=not_full)
            np.subtract(n, 1.0, out=n1)
            np.copyto(n1, nan, where=n1 < 1.0)  # SDNN and differences need two beats
            if need_dev and (set(wanted) & {"MeanNN", "HR", "SDNN"}):
                mean_nn = out["MeanNN"] if "MeanNN" in out else tmp
                in_window("dev", lo, mean_nn)  # the sum of deviations, s1
                if "SDNN" in out:
                    sdnn = out["SDNN"]
                    np.multiply(mean_nn, mean_nn, out=sdnn)
                    sdnn /= n  # s1² / n
                    s2 = nd1  # free until the differences below
                    in_window("dev2", lo, s2)
                    np.subtract(s2, sdnn, out=sdnn)
                    np.maximum(sdnn, 0.0, out=sdnn)
                    sdnn /= n1
                    np.sqrt(sdnn, out=sdnn)
                mean_nn /= n
                mean_nn += ref_ms
                if "HR" in out:
                    np.divide(60000.0, mean_nn, out=out["HR"])
            if "RMSSD" in out or "pNN50" in out:
                if trivial_diffs:
                    nd = n1
                else:
                    nd = tmp
                    in_window("diff_ok", lo, nd, diffs=True)
                    np.copyto(nd, nan, where=not_full | (nd < 1.0))
                if "pNN50" in out:
                    pnn50 = out["pNN50"]
                    in_window("n50", lo, pnn50, diffs=True)
                    np.add(nd, 1.0, out=nd1)
                    pnn50 /= nd1
                    pnn50 *= 100.0
                if "RMSSD" in out:
                    rmssd = out["RMSSD"]
                    in_window("diff2", lo, rmssd, diffs=True)
                    rmssd /= nd
                    np.sqrt(rmssd, out=rmssd)
        for key, op, fill in (("MinNN", np.minimum, np.inf), ("MaxNN", np.maximum, -np.inf)):
            if key in out:
                usable = n >= 1.0  # NaN (not full) compares False
                filled = rr if all_valid else np.where(valid, rr, fill)
                extreme = _range_extreme(filled, lo, stop, op)
                np.copyto(out[key], np.where(usable, extreme, nan))
        results.append(out)
    return tuple(results)


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
