"""Whole-recording HRV summary: time domain, frequency domain and Poincaré SD1/SD2."""

from __future__ import annotations

import numpy as np

from trm_bio.core.frequency_domain import FREQ_KEYS, frequency_domain
from trm_bio.core.time_domain import summary_time
from trm_bio.core.windows import as_beats, segment_begin_s


def whole_recording(
    rr_ms: np.ndarray,
    times_s: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    *,
    fs_hz: float = 4.0,
) -> dict[str, float]:
    """HRV of a whole recording taken as one window.

    Parameters
    ----------
    rr_ms, times_s, segment : arrays
        The beats (see :mod:`trm_bio.core.windows`); NaN RR values are rejected beats.
    fs_hz : float
        Interpolation rate (Hz) for the spectrum.

    Returns
    -------
    dict of float
        Time-domain metrics over all beats (as :func:`summary_time`); frequency-domain
        metrics (as :func:`frequency_domain`) over the longest segment as one window, like
        ``nk.hrv_frequency`` on the whole series; SD1 and SD2 (ms) of the Poincaré plot,
        from pairs of successive valid beats in the same segment (ddof=1 as neurokit2).
    """
    rr, times, seg = as_beats(rr_ms, times_s, segment)
    out: dict[str, float] = dict(summary_time(rr, seg))
    out.update({key: float("nan") for key in FREQ_KEYS})
    out["SD1"] = out["SD2"] = float("nan")
    if rr.size < 3:
        return out
    pair = np.isfinite(rr[1:]) & np.isfinite(rr[:-1]) & (seg[1:] == seg[:-1])
    if pair.sum() >= 2:
        before, after = rr[:-1][pair], rr[1:][pair]
        out["SD1"] = float(np.std((after - before) / np.sqrt(2), ddof=1))
        out["SD2"] = float(np.std((after + before) / np.sqrt(2), ddof=1))
    begin = segment_begin_s(rr, times, seg)
    last_of_seg = np.flatnonzero(np.r_[seg[1:] != seg[:-1], True])
    spans = times[last_of_seg] - begin[last_of_seg]
    longest = int(last_of_seg[np.argmax(spans)])
    # A whole number of grid samples, just inside the segment (so the window counts as full).
    span_s = np.floor(float(spans.max()) * fs_hz - 1e-6) / fs_hz
    if span_s * fs_hz < 16:
        return out
    freq = frequency_domain(
        rr, times, seg, window_s=span_s, ends_s=times[longest : longest + 1], fs_hz=fs_hz
    )
    out.update({key: float(val[0]) for key, val in freq.items()})
    return out
