"""Frequency-domain HRV over sliding windows: neurokit2's Welch method, vectorised.

Method (mirrors ``nk.hrv_frequency(..., normalize=False)``): the RR series is interpolated on
an absolute grid (sample k at time k / fs_hz from session start); each window takes N =
window_s * fs_hz samples, removes their mean, and averages Hann-windowed periodograms of
segments of N // 2 samples with 50 % overlap, zero-padded to twice their length, with
scipy's density scaling. Bins below neurokit2's lowest frequency 4 / window_s are dropped; a
band holds the bins with ``low <= f < high`` and its power is their trapezoid integral (ms²).

Why it is fast: the Hann-windowed DFT of a segment is 0.5·X(ω) − 0.25·X(ω−2π/L) −
0.25·X(ω+2π/L) of its plain DFT X, and the plain DFT of every grid-aligned segment is a
difference of prefix sums of x[n]·e^{−iωn} (a sliding DFT). So all windows cost one cumulative
sum per frequency plus gathers. A few windows (the live case) take a direct rfft path that
gives the same numbers.

Interpolation: a cubic Hermite curve through the beats whose slope at a beat is the
derivative of the quartic through it and its two neighbours on each side (fourth-order
accurate, like a cubic spline). A Catmull-Rom curve (slopes from one neighbour on each side,
second order) damps the breathing band: its HF power was 4-6 % below neurokit2's on real
recordings, while this curve and neurokit2's spline agree within 1 % (``bench metrics``). It
is local, so a window's samples depend only on nearby beats; since the curve between beats
i-1 and i needs beat i+2, a window's samples end at the grid point at or before its
third-to-last beat (at most two RR before the window end). Then a window's spectrum depends
only on beats up to its end, and the live engine's call on a short trailing buffer equals
the batch call on the whole recording.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from trm_bio.core import respiration
from trm_bio.core.errors import TrmBioError
from trm_bio.core.windows import as_beats, window_bounds_multi

VLF_HZ = (0.0033, 0.04)
LF_HZ = (0.04, 0.15)
HF_HZ = (0.15, 0.4)
COHERENCE_SEARCH_HZ = (0.04, 0.26)
COHERENCE_HALF_WIDTH_HZ = 0.015
FREQ_KEYS = (
    "VLF", "LF", "HF", "LFHF", "TP", "HFpeak", "Coherence", "RespirationRate",
    "RespirationStatus",
)
#: Band power at or below this (ms²) is no power: the rounding of the arithmetic on intervals
#: that do not vary, far below what any beat clock resolves (1 ms steps alone leave about
#: 0.01 ms² in HF). A band without power has no peak: its peak frequency is NaN, not the
#: band's lower edge (where argmax of a flat spectrum lands).
NO_POWER_MS2 = 1e-6
#: Windows up to this long also get the bins up to the breathing search's top (30 /min);
#: longer ones stop at 0.4 Hz (their spectrum at every beat would cost a third more), so
#: their breathing search ends just below 24 /min.
BREATHING_BINS_MAX_S = 120.0
# Up to this many windows, the direct rfft path is cheaper than the sliding DFT.
DIRECT_MAX_WINDOWS = 48
# Grid samples per chunk of the sliding DFT (bounds memory: bins x chunk complex values).
CHUNK_SAMPLES = 16384
#: Knots after the last sample of a window: the curve between knots i-1 and i reads i+2.
LOOKAHEAD_KNOTS = 2


class _Knots:
    """Valid beats of a series as interpolation knots, with their segment layout."""

    def __init__(self, rr: np.ndarray, times: np.ndarray, seg: np.ndarray) -> None:
        self.t: NDArray[np.float64]
        self.y: NDArray[np.float64]
        self.seg: NDArray[np.int64]
        valid = np.isfinite(rr) & (rr > 0)
        if valid.all():
            self.t, self.y, self.seg = times, rr, seg
        else:
            self.t, self.y, self.seg = times[valid], rr[valid], seg[valid]
        self.slope = self._slopes()

    def _slopes(self) -> NDArray[np.float64]:
        """Slope (ms/s) at every knot: the quartic's derivative where two neighbours on each
        side share the knot's segment, the parabola's where one does, the one-sided secant
        at a segment's first or last knot, 0 for a knot alone in its segment."""
        t, y, seg, n = self.t, self.y, self.seg, self.t.size
        slope = np.zeros(n)
        if n < 2:
            return slope
        h = t[1:] - t[:-1]
        # Two knots at one time: their secant is capped and the quartic left out there.
        degenerate = bool((h <= 0).any())
        if degenerate:
            h = np.maximum(h, 1e-9)
        secant = (y[1:] - y[:-1]) / h
        same_next = seg[1:] == seg[:-1]
        one_segment = bool(same_next.all())
        if n >= 3:
            # The parabola through i-1, i, i+1: the secants, each weighted by the other
            # interval.
            h0, h1 = h[:-1], h[1:]
            slope[1:-1] = (h1 * secant[:-1] + h0 * secant[1:]) / (h0 + h1)
        if n >= 5:
            if degenerate:
                with np.errstate(divide="ignore", invalid="ignore"):
                    quartic = self._quartic_slopes()
                quartic = np.where(np.isfinite(quartic), quartic, slope[2:-2])
            else:
                quartic = self._quartic_slopes()
            if one_segment:
                slope[2:-2] = quartic
            else:  # only where i-2 .. i+2 share a segment (ids never decrease)
                slope[2:-2] = np.where(seg[:-4] == seg[4:], quartic, slope[2:-2])
        if one_segment:  # only the two ends are one-sided
            slope[0] = secant[0]
            slope[-1] = secant[-1]
            return slope
        inner = np.zeros(n, dtype=bool)  # both neighbours in the knot's segment
        inner[1:-1] = same_next[1:] & same_next[:-1]
        slope[~inner] = 0.0
        head = np.zeros(n, dtype=bool)  # first knot of a segment that has a second one
        head[0] = same_next[0]
        head[1:-1] = ~same_next[:-1] & same_next[1:]
        tail = np.zeros(n, dtype=bool)  # last knot of a segment that has two or more
        tail[-1] = same_next[-1]
        tail[1:-1] = same_next[:-1] & ~same_next[1:]
        slope[head] = secant[head[:-1]]
        slope[tail] = secant[tail[1:]]
        return slope

    def _quartic_slopes(self) -> NDArray[np.float64]:
        """At knots 2 .. n-3: the derivative at the knot of the quartic through it and its
        two neighbours on each side (Lagrange form, unequal spacing)."""
        t, y, n = self.t, self.y, self.t.size
        # Offsets d of the neighbours (two before, two after) from the centre knot, and
        # their rises r: the slope is sum_a w_a r_a with the Lagrange basis derivatives
        # w_a = prod_{b != a} (-d_b) / (d_a prod_{b != a} (d_a - d_b)).
        d0, d1, d3, d4 = (t[k : n - 4 + k] - t[2 : n - 2] for k in (0, 1, 3, 4))
        r0, r1, r3, r4 = (y[k : n - 4 + k] - y[2 : n - 2] for k in (0, 1, 3, 4))
        near, far = d0 * d1, d3 * d4
        w0 = -(d1 * far) / (d0 * (d0 - d1) * (d0 - d3) * (d0 - d4))
        w1 = -(d0 * far) / (d1 * (d1 - d0) * (d1 - d3) * (d1 - d4))
        w3 = -(near * d4) / (d3 * (d3 - d0) * (d3 - d1) * (d3 - d4))
        w4 = -(near * d3) / (d4 * (d4 - d0) * (d4 - d1) * (d4 - d3))
        return w0 * r0 + w1 * r1 + w3 * r3 + w4 * r4

    def samples(self, grid_k: np.ndarray, fs_hz: float) -> np.ndarray:
        """RR (ms) at grid times k / fs_hz.

        A time before a segment's first knot (in the gap before it) holds that knot's value,
        and a time after the last knot holds the last value; NaN if there are no knots.
        """
        g = grid_k / fs_hz
        if self.t.size == 0:
            return np.full(g.size, np.nan)
        j = np.searchsorted(self.t, g, side="left")
        if j.size and self._all_inside(j):
            # Every time lies between two knots of one segment (the usual window): the
            # curve itself at every point, the same arithmetic as the masked path below.
            return self._curve(g, j)
        out = np.empty(g.size)
        after = j >= self.t.size
        out[after] = self.y[-1]
        jc = np.minimum(j, self.t.size - 1)
        # The first knot of the segment of knot j: no curve crosses into a previous segment.
        head = (jc == 0) | (self.seg[jc] != self.seg[np.maximum(jc - 1, 0)])
        before = ~after & head
        out[before] = self.y[jc[before]]
        inside = ~after & ~head
        if inside.any():  # none, when every time falls in a gap or past the last knot
            out[inside] = self._curve(g[inside], jc[inside])
        return out

    def _all_inside(self, j: np.ndarray) -> bool:
        """True when every index j has a knot before it, none past the end, one segment."""
        lo, hi = int(j.min()), int(j.max())
        return lo >= 1 and hi < self.t.size and self.seg[lo - 1] == self.seg[hi]

    def _curve(self, g: np.ndarray, ji: np.ndarray) -> np.ndarray:
        """The Hermite curve at times g, each between knots ji - 1 and ji.

        In power form over u = (g - t0) / h, with each interval's coefficients computed once
        for the intervals the times fall in (fewer operations per sample than the basis
        functions)."""
        lo, hi = int(ji.min()), int(ji.max())
        t, y, m = self.t, self.y, self.slope
        t0, t1 = t[lo - 1 : hi], t[lo : hi + 1]
        y0, y1 = y[lo - 1 : hi], y[lo : hi + 1]
        m0, m1 = m[lo - 1 : hi], m[lo : hi + 1]
        h = t1 - t0
        rise = y1 - y0
        # p(u) = y0 + c1 u + c2 u² + c3 u³ (the cubic Hermite basis, collected).
        c1 = h * m0
        c2 = 3.0 * rise - h * (2.0 * m0 + m1)
        c3 = h * (m0 + m1) - 2.0 * rise
        k = ji - lo
        u = g - t0[k]
        u /= h[k]
        out: NDArray[np.float64] = c3[k]
        out *= u
        out += c2[k]
        out *= u
        out += c1[k]
        out *= u
        out += y0[k]
        return out


def _as_slice(index: np.ndarray) -> slice:
    """The consecutive indices of a band (frequencies increase) as a slice: views, no gathers."""
    if index.size == 0:
        return slice(0, 0)
    assert index[-1] - index[0] + 1 == index.size, "a band's bins are consecutive"
    return slice(int(index[0]), int(index[-1]) + 1)


class _Layout:
    """Welch layout of one window length, as neurokit2 / scipy.signal.welch use it."""

    def __init__(self, window_s: float, fs_hz: float) -> None:
        n = round(window_s * fs_hz)
        if n < 8:
            raise TrmBioError(
                f"a {window_s} s window at {fs_hz} Hz has too few samples for a spectrum."
            )
        self.n = n
        self.seg_len = n // 2
        self.step = self.seg_len - self.seg_len // 2
        self.n_seg = (n - self.seg_len) // self.step + 1
        self.nfft = 2 * self.seg_len
        self.fs = fs_hz
        freqs = np.fft.rfftfreq(self.nfft, 1.0 / fs_hz)
        min_hz = (2 * fs_hz) / (n / 2)  # neurokit2's default lowest frequency, 4 / window_s
        top = HF_HZ[1]
        if window_s <= BREATHING_BINS_MAX_S:
            # Two bins past the search's top, so a peak there still has a neighbour.
            top = max(top, respiration.SEARCH_HZ[1] + 2.5 * fs_hz / self.nfft)
        keep = np.flatnonzero((freqs >= min_hz) & (freqs < top))
        self.bins = keep  # bins that any output uses
        self.bin_slice = _as_slice(keep)
        self.freqs = freqs[keep]
        self.hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.seg_len) / self.seg_len)
        # Sample index of every Welch segment's samples (n_seg x seg_len), for gathers.
        starts = np.arange(self.n_seg) * self.step
        self.seg_index = starts[:, None] + np.arange(self.seg_len)[None, :]
        # scipy density scaling, one-sided (none of our bins is DC or Nyquist).
        self.scale = 2.0 / (fs_hz * float(np.sum(self.hann**2))) / self.n_seg


class _BandWeights:
    """Each band's trapezoid weights over the layout's bins, so band power is psd @ w."""

    def __init__(self, layout: _Layout) -> None:
        freqs = layout.freqs
        df = layout.fs / layout.nfft
        columns = []
        for band in (VLF_HZ, LF_HZ, HF_HZ):
            sel = np.flatnonzero((freqs >= band[0]) & (freqs < band[1]))
            weight = np.zeros(freqs.size)
            if sel.size >= 2:
                # np.trapezoid over the in-band bins only, as neurokit2 integrates.
                weight[sel] = df
                weight[sel[0]] = weight[sel[-1]] = df / 2
            columns.append(weight)
        # Rectangle total power, 0.0033-0.4 Hz (the bins above serve the breathing search).
        columns.append(np.where((freqs >= VLF_HZ[0]) & (freqs < HF_HZ[1]), df, 0.0))
        self.matrix = np.column_stack(columns)
        self.df = df
        self.hf_cols = _as_slice(np.flatnonzero((freqs >= HF_HZ[0]) & (freqs < HF_HZ[1])))
        self.search_cols = _as_slice(np.flatnonzero(
            (freqs >= COHERENCE_SEARCH_HZ[0]) & (freqs <= COHERENCE_SEARCH_HZ[1])
        ))
        self.half_bins = int(np.floor(COHERENCE_HALF_WIDTH_HZ / df + 1e-9))
        self.freqs = freqs
        # Hann segments zero-padded to twice their length: a peak's main lobe holds about
        # two bins on each side.
        self.breathing = respiration.peak_bins(freqs, lobe_bins=2)


@functools.lru_cache(maxsize=32)
def _layout_and_weights(window_s: float, fs_hz: float) -> tuple[_Layout, _BandWeights]:
    """One Welch layout and its band weights per window length (built once, read only)."""
    layout = _Layout(window_s, fs_hz)
    return layout, _BandWeights(layout)


def _metrics(
    psd: np.ndarray,
    weights: _BandWeights,
    names: tuple[str, ...],
    mean_rr_ms: np.ndarray,
) -> dict[str, np.ndarray]:
    """Band powers, peaks, coherence and breathing rate from Welch PSD rows (windows x bins)
    and each window's mean RR (ms).

    Only the metrics in ``names`` are returned (the others are not computed).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _metrics_of(psd, weights, names, mean_rr_ms)


def _metrics_of(
    psd: np.ndarray, weights: _BandWeights, names: tuple[str, ...], mean_rr_ms: np.ndarray
) -> dict[str, np.ndarray]:
    freqs = weights.freqs
    vlf, lf, hf, total = (psd @ weights.matrix).T
    rows = np.arange(psd.shape[0])
    breathing: tuple[np.ndarray, np.ndarray] | None = None  # rate and status, computed once
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "VLF":
            out[name] = vlf
        elif name == "LF":
            out[name] = lf
        elif name == "HF":
            out[name] = hf
        elif name == "LFHF":
            out[name] = lf / hf
        elif name == "TP":
            out[name] = vlf + lf + hf
        elif name == "HFpeak":
            if weights.hf_cols.stop > weights.hf_cols.start:
                peak_hz = freqs[weights.hf_cols.start + np.argmax(psd[:, weights.hf_cols], axis=1)]
                out[name] = np.where(hf > NO_POWER_MS2, peak_hz, np.nan)
            else:
                out[name] = np.full(rows.size, np.nan)
        elif name == "Coherence":
            if weights.search_cols.stop > weights.search_cols.start:
                peak = weights.search_cols.start + np.argmax(psd[:, weights.search_cols], axis=1)
                cum = np.zeros((psd.shape[0], psd.shape[1] + 1))
                np.cumsum(psd, axis=1, out=cum[:, 1:])
                lo = np.maximum(peak - weights.half_bins, 0)
                hi = np.minimum(peak + weights.half_bins + 1, psd.shape[1])
                peak_power = (cum[rows, hi] - cum[rows, lo]) * weights.df
                out[name] = peak_power / (total - peak_power)
            else:
                out[name] = np.full(rows.size, np.nan)
        elif name in ("RespirationRate", "RespirationStatus"):
            if breathing is None:
                breathing = respiration.breathing_rate(psd, weights.breathing, mean_rr_ms)
            out[name] = breathing[0] if name == "RespirationRate" else breathing[1]
        else:
            raise KeyError(f"no frequency-domain metric named {name!r}")
    return out


def _psd_direct(x: np.ndarray, layout: _Layout) -> np.ndarray:
    """Welch PSD at ``layout.bins`` of each row of x (windows x N samples), by rfft."""
    # The mean as np.mean computes it, without its Python-level wrapper (a live hot path).
    x = x - x.sum(axis=1, keepdims=True) / x.shape[1]
    segs: NDArray[np.float64] = x[:, layout.seg_index]
    segs *= layout.hann
    spec = np.fft.rfft(segs, n=layout.nfft, axis=2)[:, :, layout.bin_slice]
    power = spec.real**2
    power += spec.imag**2
    psd: NDArray[np.float64] = power.sum(axis=1)
    psd *= layout.scale
    return psd


class _SlidingTables:
    """Phase tables of the sliding DFT for one layout, reused by every chunk."""

    def __init__(self, layout: _Layout, max_len: int) -> None:
        nfft = layout.nfft
        # Plain DFT bins needed by the Hann combination: k-2, k, k+2 for every output bin k.
        self.all_bins = np.arange(int(layout.bins[0]) - 2, int(layout.bins[-1]) + 3)
        unit = np.exp(-2j * np.pi * np.arange(nfft) / nfft)
        # rotate[r, j] = e^{-iω_j r}; an exact integer phase index avoids drift for long n.
        self.rotate = unit[(np.arange(nfft)[:, None] * self.all_bins[None, :]) % nfft]
        self.phase = self.rotate[np.arange(max_len) % nfft]
        seg = np.arange(layout.seg_len)
        self.hann_dft = (layout.hann[:, None] * self.rotate[seg % nfft][:, 2:-2]).sum(axis=0)


def _psd_sliding(
    x: np.ndarray, first: np.ndarray, layout: _Layout, tables: _SlidingTables
) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of the windows x[first[w] : first[w] + N], by prefix sums of x·e^{−iωn}.

    The Hann-windowed DFT H of a segment starting at every grid position is built densely
    from the prefix sums; a window's own mean μ enters as |H − μW|² = |H|² − 2μ·Re(H·W̄) +
    μ²|W|² (W: the Hann DFT), so each window only gathers two real rows per segment.
    x must be finite; any constant offset of x only affects rounding. Returns the PSD rows
    and each window's mean μ (of x).
    """
    n, seg_len = layout.n, layout.seg_len
    n_pos = x.size - seg_len + 1  # segment start positions in this chunk
    n_bins = tables.all_bins.size
    prefix = np.empty((x.size + 1, n_bins), dtype=np.complex128)
    prefix[0] = 0.0
    np.multiply(tables.phase[: x.size], x[:, None], out=prefix[1:])
    np.cumsum(prefix[1:], axis=0, out=prefix[1:])
    plain = prefix[seg_len : seg_len + n_pos] - prefix[:n_pos]
    # Rotate so each DFT is relative to its segment's own start.
    plain *= np.conj(tables.phase[:n_pos])
    windowed = 0.5 * plain[:, 2:-2]
    windowed -= 0.25 * plain[:, :-4]
    windowed -= 0.25 * plain[:, 4:]
    del plain, prefix
    power = windowed.real**2
    power += windowed.imag**2
    cross = windowed.real * tables.hann_dft.real
    cross += windowed.imag * tables.hann_dft.imag
    del windowed
    mean_prefix = np.r_[0.0, np.cumsum(x)]
    mu = (mean_prefix[first + n] - mean_prefix[first]) / n
    psd = np.zeros((first.size, layout.bins.size))
    cross_sum = np.zeros_like(psd)
    for q in range(layout.n_seg):
        s = first + q * layout.step
        psd += power.take(s, axis=0)
        cross_sum += cross.take(s, axis=0)
    psd -= 2.0 * mu[:, None] * cross_sum
    psd += (layout.n_seg * mu * mu)[:, None] * np.abs(tables.hann_dft[None, :]) ** 2
    np.maximum(psd, 0.0, out=psd)
    psd *= layout.scale
    return psd, mu


def frequency_domain(
    rr_ms: np.ndarray,
    times_s: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    *,
    window_s: float = 300.0,
    ends_s: np.ndarray | None = None,
    fs_hz: float = 4.0,
) -> dict[str, np.ndarray]:
    """Frequency-domain HRV for windows ending at each beat (or at ``ends_s``).

    Parameters
    ----------
    rr_ms : array of float
        RR intervals (ms); NaN (rejected) beats are left out of the interpolation.
    times_s : array of float, optional
        Beat times (s from session start). Default ``cumsum(rr_ms) / 1000``.
    segment : array of int, optional
        Segment id per beat; no window spans two segments.
    window_s : float
        Window length (s); LF needs at least 120 s (its lowest frequency is 0.04 Hz and
        neurokit2's lowest bin is 4 / window_s).
    ends_s : array of float, optional
        Window end times (s). Default: every beat time.
    fs_hz : float
        Interpolation rate (Hz) of the absolute sample grid.

    Returns
    -------
    dict of float arrays, one value per window end, NaN where the window is not full:
        ``VLF``, ``LF``, ``HF`` (ms², unnormalised, bands 0.0033-0.04, 0.04-0.15,
        0.15-0.4 Hz), ``LFHF``, ``TP`` (VLF + LF + HF, ms²), ``HFpeak`` (Hz, highest PSD bin in
        0.15-0.4 Hz; NaN when HF has no power, ``NO_POWER_MS2``), ``Coherence``
        (HeartMath-style: power within ±0.015 Hz of the highest peak in 0.04-0.26 Hz over
        the rest of the 0.0033-0.4 Hz power),
        ``RespirationRate`` (breaths/min: the clear breathing peak in 3-30 /min, see
        :mod:`trm_bio.core.respiration`; NaN when no peak is clear; windows over 120 s
        search up to 24 /min) and ``RespirationStatus`` (0 where a rate is given, else the
        code of why not: :data:`trm_bio.core.respiration.STATUS_WORDS`).

    Notes
    -----
    A band with no variability has power 0 (neurokit2 reports NaN there). The window's
    samples end at the grid point at or before its third-to-last beat (see module notes).
    """
    if not np.isfinite(fs_hz) or fs_hz <= 0:
        raise TrmBioError(f"fs_hz must be a positive number of hertz (got {fs_hz}).")
    rr, times, seg = as_beats(rr_ms, times_s, segment)
    _layout_and_weights(float(window_s), float(fs_hz))  # checks the window has samples
    ends = times if ends_s is None else np.asarray(ends_s, dtype=np.float64).ravel()
    _, _, full = window_bounds_multi(times, rr, seg, (window_s,), ends)
    return frequency_windows(
        rr, times, seg, (float(window_s),), ends, full, (FREQ_KEYS,), fs_hz=float(fs_hz)
    )[0]


def frequency_windows(
    rr: np.ndarray,
    times: np.ndarray,
    seg: np.ndarray,
    windows_s: tuple[float, ...],
    ends: np.ndarray,
    full: np.ndarray,
    names: tuple[tuple[str, ...], ...],
    *,
    fs_hz: float = 4.0,
) -> tuple[dict[str, np.ndarray], ...]:
    """The kernel of :func:`frequency_domain` for several window lengths at the same ends.

    Takes checked float64/int64 arrays, the window ends, ``full`` from
    :func:`~trm_bio.core.windows.window_bounds_multi` (one row per window) and the metric
    names of each window; no validation (the live engine calls it on every beat). The
    interpolation knots are built once; with few ends the grid samples are interpolated once
    for the longest window and each shorter window takes the tail of them (the same
    samples: every window ends at the same grid point).
    """
    if ends.size == 1:
        return _frequency_at_end(rr, times, seg, windows_s, float(ends[0]), full[:, 0], names,
                                 fs_hz)
    nan_rows = tuple(
        {key: np.full(ends.size, np.nan) for key in window_names} for window_names in names
    )
    if not full.any():
        return nan_rows
    knots = _Knots(rr, times, seg)
    if knots.t.size < 2:
        return nan_rows
    # The last knot at or before each end and the two before it must share a segment: the
    # samples end at the third-to-last knot, the last whose curve is known (module notes).
    last = np.searchsorted(knots.t, ends, side="right") - 1
    usable = last >= LOOKAHEAD_KNOTS
    last_c = np.maximum(last, LOOKAHEAD_KNOTS)
    usable &= knots.seg[last_c] == knots.seg[last_c - LOOKAHEAD_KNOTS]
    end_k = np.floor(knots.t[last_c - LOOKAHEAD_KNOTS] * fs_hz).astype(np.int64)
    plans = []
    for w, window_s in enumerate(windows_s):
        layout, weights = _layout_and_weights(float(window_s), fs_hz)
        rows = np.flatnonzero(full[w] & usable)
        if rows.size:
            plans.append((nan_rows[w], names[w], layout, weights, rows))
    if not plans:
        return nan_rows

    def store(
        out: dict[str, np.ndarray],
        window_names: tuple[str, ...],
        weights: _BandWeights,
        rows: np.ndarray,
        psd: np.ndarray,
        mean: np.ndarray,
    ) -> None:
        for key, val in _metrics(psd, weights, window_names, mean).items():
            out[key][rows] = val

    if all(rows.size <= DIRECT_MAX_WINDOWS for *_, rows in plans):
        # Direct path: the samples of every end once, for the longest window there.
        rows_any = np.unique(np.concatenate([rows for *_, rows in plans]))
        n_max = max(layout.n for _, _, layout, _, _ in plans)
        grid = end_k[rows_any, None] + np.arange(1 - n_max, 1)[None, :]
        x_all = knots.samples(grid.ravel(), fs_hz).reshape(grid.shape)
        for out, window_names, layout, weights, rows in plans:
            x = x_all[np.searchsorted(rows_any, rows), n_max - layout.n :]
            good = np.all(np.isfinite(x), axis=1)
            if not good.all():
                rows, x = rows[good], x[good]
            if rows.size:
                mean = x.sum(axis=1) / x.shape[1]
                store(out, window_names, weights, rows, _psd_direct(x, layout), mean)
        return nan_rows

    for out, window_names, layout, weights, rows in plans:
        first_k = end_k[rows] - layout.n + 1
        _sliding_windows(knots, first_k, rows, layout, weights, fs_hz,
                         functools.partial(store, out, window_names, weights))
    return nan_rows


def _frequency_at_end(
    rr: np.ndarray,
    times: np.ndarray,
    seg: np.ndarray,
    windows_s: tuple[float, ...],
    end_s: float,
    full: np.ndarray,
    names: tuple[tuple[str, ...], ...],
    fs_hz: float,
) -> tuple[dict[str, np.ndarray], ...]:
    """:func:`frequency_windows` at one end (the live engine's call on every beat).

    The same steps as the direct path (knots, one interpolation for the longest window,
    :func:`_psd_direct`, :func:`_metrics`) with scalars in place of per-end arrays.
    """
    nan1 = np.array([np.nan])
    out = tuple({key: nan1.copy() for key in window_names} for window_names in names)
    if not full.any():
        return out
    knots = _Knots(rr, times, seg)
    if knots.t.size < 2:
        return out
    last = int(np.searchsorted(knots.t, end_s, side="right")) - 1
    if last < LOOKAHEAD_KNOTS or knots.seg[last] != knots.seg[last - LOOKAHEAD_KNOTS]:
        return out
    end_k = math.floor(knots.t[last - LOOKAHEAD_KNOTS] * fs_hz)
    plans = [
        (out[w], names[w], *_layout_and_weights(float(window_s), fs_hz))
        for w, window_s in enumerate(windows_s)
        if full[w]
    ]
    n_max = max(layout.n for _, _, layout, _ in plans)
    x_all = knots.samples(np.arange(end_k - n_max + 1, end_k + 1), fs_hz)
    all_finite = bool(np.isfinite(x_all).all())
    for window_out, window_names, layout, weights in plans:
        x = x_all[None, n_max - layout.n :]
        if not all_finite and not np.isfinite(x).all():
            continue
        mean = x.sum(axis=1) / x.shape[1]
        window_out.update(_metrics(_psd_direct(x, layout), weights, window_names, mean))
    return out


def _sliding_windows(
    knots: _Knots,
    first_k: np.ndarray,
    rows: np.ndarray,
    layout: _Layout,
    weights: _BandWeights,
    fs_hz: float,
    store: Callable[[np.ndarray, np.ndarray, np.ndarray], None],
) -> None:
    """Welch PSD of many windows by the sliding DFT, in chunks of the sample grid.

    ``store(rows, psd, mean)`` receives each chunk's result rows, Welch PSD rows and mean RR.
    """
    order = np.argsort(first_k, kind="stable")
    starts = first_k[order]
    order = rows[order]
    chunk_of = (starts - starts[0]) // CHUNK_SAMPLES
    cuts = np.flatnonzero(np.r_[True, chunk_of[1:] != chunk_of[:-1], True])
    tables = _SlidingTables(layout, CHUNK_SAMPLES + layout.n)

    def run_chunk(a: int, b: int) -> None:
        k0 = int(starts[a])
        x = knots.samples(np.arange(k0, int(starts[b - 1]) + layout.n), fs_hz)
        bad = ~np.isfinite(x)
        rel = starts[a:b] - k0
        if bad.any():
            bad_prefix = np.r_[0, np.cumsum(bad)]
            good = (bad_prefix[rel + layout.n] - bad_prefix[rel]) == 0
            x[bad] = 0.0
        else:
            good = np.ones(rel.size, dtype=bool)
        if not good.any():
            return
        # A local offset keeps the long prefix sums well conditioned.
        offset = float(np.mean(x[~bad])) if (~bad).any() else 0.0
        x -= offset
        psd, mean = _psd_sliding(x, rel[good], layout, tables)
        store(order[a:b][good], psd, mean + offset)

    tasks = list(zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True))
    if len(tasks) > 1 and (os.cpu_count() or 1) > 1:
        # numpy releases the GIL in these large array operations: two chunks in parallel.
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(lambda ab: run_chunk(*ab), tasks))
    else:
        for a, b in tasks:
            run_chunk(a, b)
