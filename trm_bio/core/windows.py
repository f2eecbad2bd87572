"""Sliding windows over beats: which beats each window holds and whether it is full.

Beats are three parallel arrays: ``times_s`` (time of the beat that ends each interval, s from
session start, non-decreasing), ``rr_ms`` (the interval, ms; NaN for a rejected beat) and
``segment`` (int id, non-decreasing; a new id starts after a gap). A window of length
``window_s`` ending at ``e`` holds the beats with ``e - window_s < t <= e``.

A window is *full* when one segment covers it from start to end: the segment began at or
before ``e - window_s`` and its data run on to ``e`` (the first beat after ``e`` is of the
same segment, or ``e`` lies within one interval of the window's last beat). A window that
holds a gap, or runs past the end of the data, is not full, and its metrics are NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trm_bio.core.errors import TrmBioError


def as_beats(
    rr_ms: np.ndarray,
    times_s: np.ndarray | None = None,
    segment: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check and complete the three beat arrays.

    Parameters
    ----------
    rr_ms : array of float
        RR intervals (ms); NaN marks a rejected beat.
    times_s : array of float, optional
        Beat times (s). Default: ``cumsum(rr_ms) / 1000`` (a NaN interval counts as 0 s).
    segment : array of int, optional
        Segment id per beat, non-decreasing. Default: all zeros.

    Returns
    -------
    rr_ms, times_s, segment : float64, float64, int64 arrays of equal length
    """
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    if times_s is None:
        finite = np.isfinite(rr)
        times = np.cumsum(rr if finite.all() else np.where(finite, rr, 0.0))
        times /= 1000.0
    else:
        times = np.asarray(times_s, dtype=np.float64).ravel()
    seg = (
        np.zeros(rr.size, dtype=np.int64)
        if segment is None
        else np.asarray(segment, dtype=np.int64).ravel()
    )
    if not (rr.size == times.size == seg.size):
        raise TrmBioError(
            f"rr_ms, times_s and segment must have the same length "
            f"(got {rr.size}, {times.size} and {seg.size})."
        )
    if times_s is not None and times.size and not np.isfinite(times).all():
        raise TrmBioError("beat times must be finite numbers of seconds.")
    if times.size > 1 and (
        (times_s is not None and bool((times[1:] < times[:-1]).any()))
        or (segment is not None and bool((seg[1:] < seg[:-1]).any()))
    ):
        raise TrmBioError("beat times and segment ids must not decrease.")
    return rr, times, seg


def segment_begin_s(rr_ms: np.ndarray, times_s: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Start time (s) of the segment of each beat: its first beat time minus that first RR.

    A segment whose first RR is NaN or negative begins at its first beat time (the
    conservative choice: fewer windows count as full).
    """
    if times_s.size == 0:
        return np.empty(0, dtype=np.float64)
    first = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    first_rr_s = rr_ms[first] / 1000.0
    first_rr_s = np.where(np.isfinite(first_rr_s) & (first_rr_s > 0), first_rr_s, 0.0)
    begin_of_run = times_s[first] - first_rr_s
    run_of_beat: NDArray[np.intp] = np.cumsum(np.r_[True, segment[1:] != segment[:-1]]) - 1
    return begin_of_run[run_of_beat]


def window_bounds(
    times_s: np.ndarray,
    rr_ms: np.ndarray,
    segment: np.ndarray | None,
    window_s: float,
    ends_s: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beat index range of every window, and whether the window is full.

    Parameters
    ----------
    times_s : array of float
        Beat times (s), non-decreasing.
    rr_ms : array of float
        RR intervals (ms); only the first RR of each segment is used (segment start).
    segment : array of int or None
        Segment id per beat (None: one segment).
    window_s : float
        Window length (s), > 0.
    ends_s : array of float, optional
        Window end times (s). Default: every beat time.

    Returns
    -------
    start, stop : int64 arrays
        Half-open beat index range ``[start, stop)`` of the beats with
        ``end - window_s < t <= end``.
    full : bool array
        True where one segment covers the window from start to end: the segment of the
        window's last beat began at or before ``end - window_s``, the window holds no beat
        of another segment, and the segment reaches the end (see :func:`reaches_end`).
    """
    start, stop, full = window_bounds_multi(times_s, rr_ms, segment, (window_s,), ends_s)
    return start[0], stop, full[0]


def window_bounds_multi(
    times_s: np.ndarray,
    rr_ms: np.ndarray,
    segment: np.ndarray | None,
    windows_s: tuple[float, ...],
    ends_s: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`window_bounds` for several window lengths ending at the same times.

    Parameters are those of :func:`window_bounds`, with ``windows_s`` the window lengths
    (s). One binary search serves every window's start (and the ends, when given).

    Returns
    -------
    start : int64 array (len(windows_s), n_ends)
    stop : int64 array (n_ends,)
        Shared: the windows end at the same times.
    full : bool array (len(windows_s), n_ends)
    """
    for window_s in windows_s:
        if not np.isfinite(window_s) or window_s <= 0:
            raise TrmBioError(f"window_s must be a positive number of seconds (got {window_s}).")
    times = np.asarray(times_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    seg = None if segment is None else np.asarray(segment)
    ends = None if ends_s is None else np.asarray(ends_s, dtype=np.float64).ravel()
    return window_bounds_kernel(times, rr, seg, np.asarray(windows_s, dtype=np.float64), ends)


def reaches_end(
    times: np.ndarray, rr: np.ndarray, seg: np.ndarray | None, stop: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Whether the segment of each window's last beat reaches the window's end.

    A window ending at a beat ends where its segment has data. A window ending on a time
    grid ends after its last beat ``times[stop - 1]``; its segment reaches that end when the
    first beat after the end is of the same segment (the interval up to that beat covers
    the end), or when the end lies within one interval (the last beat's RR; none when it
    is NaN) of the last beat: no beat that was due by then is missing. Otherwise the data
    stop before the end (a gap or the recording's end) and the window is not full.

    Parameters
    ----------
    times, rr, seg : the beats (s, ms, segment ids or None for one segment), at least one.
    stop : int array
        One past each window's last beat (as from :func:`window_bounds`); windows without
        beats are left to the caller.
    ends : float array
        Window end times (s).
    """
    n = times.size
    last = np.maximum(stop - 1, 0)
    t_last = times[last]
    last_rr_s = rr[last] / 1000.0
    reach = t_last + np.where(np.isfinite(last_rr_s) & (last_rr_s > 0), last_rr_s, 0.0)
    covered: np.ndarray = ends <= reach
    later = stop < n
    if seg is None or seg[0] == seg[-1]:
        covered |= later
    else:
        covered |= later & (seg[np.minimum(stop, n - 1)] == seg[last])
    return covered


def window_bounds_kernel(
    times: np.ndarray,
    rr: np.ndarray,
    seg: np.ndarray | None,
    windows_s: np.ndarray,
    ends: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel of :func:`window_bounds_multi` on checked float64 arrays (no validation)."""
    n_windows = windows_s.size
    at_beats = ends is None
    if ends is None:
        ends = times
    lows = ends[None, :] - windows_s[:, None]
    if at_beats and times.size > 1 and bool(np.all(times[1:] > times[:-1])):
        # Windows ending at each of strictly increasing beats end just after that beat.
        stop = np.arange(1, times.size + 1, dtype=np.int64)
        start = np.searchsorted(times, lows.ravel(), side="right")
    else:
        # One search for every window's start and the ends (the stops) together.
        found = np.searchsorted(times, np.concatenate((lows.ravel(), ends)), side="right")
        start, stop = found[: lows.size], found[lows.size :]
    start = start.reshape(n_windows, ends.size)
    if times.size == 0:
        return start, stop, np.zeros(lows.shape, dtype=bool)
    if seg is None or seg[0] == seg[-1]:
        # One segment (the common case): its begin is one number, no gathers needed.
        first_rr_s = rr[0] / 1000.0
        begin0 = times[0] - (first_rr_s if np.isfinite(first_rr_s) and first_rr_s > 0 else 0.0)
        if at_beats:
            # Sorted ends give sorted lows: "full" (lows >= begin0; every window holds its
            # own beat, and ends at it) is a suffix of each row.
            full = np.zeros(lows.shape, dtype=bool)
            for row in range(n_windows):
                full[row, int(np.searchsorted(lows[row], begin0, side="left")) :] = True
            return start, stop, full
        full = stop > start
        full &= lows >= begin0
        if ends.size and float(ends.max()) > times[-1]:
            # Only an end past the last beat can lie beyond the data.
            full &= reaches_end(times, rr, None, stop, ends)
        return start, stop, full
    last = np.maximum(stop - 1, 0)
    if ends.size <= 8:
        # A few ends (the live engine): the begin of just the last beats' segments.
        first_of_segment = np.searchsorted(seg, seg[last], side="left")
        first_rr_s = rr[first_of_segment] / 1000.0
        ok = np.isfinite(first_rr_s) & (first_rr_s > 0)
        begin_last = times[first_of_segment] - np.where(ok, first_rr_s, 0.0)
    else:
        begin_last = segment_begin_s(rr, times, seg)[last]
    first = np.minimum(start, times.size - 1)
    full = (stop > start) & (begin_last <= lows) & (seg[first] == seg[last])
    if not at_beats:
        # Windows at beats end at their last beat; those on a grid may end in a gap.
        full &= reaches_end(times, rr, seg, stop, ends)
    return start, stop, full
