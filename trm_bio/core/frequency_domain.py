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

Interpolation: a cubic Hermite (Catmull-Rom) curve through the beats, whose slope at a beat
is the secant through its two neighbours. It is local, so a window's samples depend only on
nearby beats; since the curve between beats i-1 and i needs beat i+1, a window's samples end
at the grid point at or before its second-to-last beat (at most one RR before the window
end). Then a window's spectrum depends only on beats up to its end, and the live engine's
call on a short trailing buffer equals the batch call on the whole recording.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from trm_bio.core.errors import TrmBioError
from trm_bio.core.windows import as_beats, window_bounds

VLF_HZ = (0.0033, 0.04)
LF_HZ = (0.04, 0.15)
HF_HZ = (0.15, 0.4)
COHERENCE_SEARCH_HZ = (0.04, 0.26)
COHERENCE_HALF_WIDTH_HZ = 0.015
FREQ_KEYS = ("VLF", "LF", "HF", "LFHF", "TP", "HFpeak", "Coherence", "RespirationRate")
# Up to this many windows, the direct rfft path is cheaper than the sliding DFT.
DIRECT_MAX_WINDOWS = 48
# Grid samples per chunk of the sliding DFT (bounds memory: bins x chunk complex values).
CHUNK_SAMPLES = 16384


class _Knots:
    """Valid beats of a series as interpolation knots, with their segment layout."""

    def __init__(self, rr: np.ndarray, times: np.ndarray, seg: np.ndarray) -> None:
        valid = np.isfinite(rr) & (rr > 0)
        self.t = times[valid]
        self.y = rr[valid]
        self.seg = seg[valid]
        self.slope = self._slopes()

    def _slopes(self) -> np.ndarray:
        t, y, n = self.t, self.y, self.t.size
        slope = np.zeros(n)
        if n < 2:
            return slope
        secant = (y[1:] - y[:-1]) / np.maximum(t[1:] - t[:-1], 1e-9)
        same_next = self.seg[1:] == self.seg[:-1]
        span = np.maximum(t[2:] - t[:-2], 1e-9)
        slope[1:-1] = (y[2:] - y[:-2]) / span
        if same_next.all():  # one segment: only the two ends are one-sided
            slope[0] = secant[0]
            slope[-1] = secant[-1]
            return slope
        inner = same_next[1:] & same_next[:-1]
        slope[1:-1][~inner] = 0.0
        # Segment ends: the one-sided secant.
        head = np.zeros(n, dtype=bool)  # first knot of a segment that has a second one
        head[0] = same_next[0]
        head[1:-1] = ~same_next[:-1] & same_next[1:]
        tail = np.zeros(n, dtype=bool)  # last knot of a segment that has two or more
        tail[-1] = same_next[-1]
        tail[1:-1] = same_next[:-1] & ~same_next[1:]
        slope[head] = secant[head[:-1]]
        slope[tail] = secant[tail[1:]]
        return slope

    def samples(self, grid_k: np.ndarray, fs_hz: float) -> np.ndarray:
        """RR (ms) at grid times k / fs_hz.

        A time before a segment's first knot (in the gap before it) holds that knot's value,
        and a time after the last knot holds the last value; NaN if there are no knots.
        """
        g = grid_k / fs_hz
        if self.t.size == 0:
            return np.full(g.size, np.nan)
        j = np.searchsorted(self.t, g, side="left")
        out = np.empty(g.size)
        after = j >= self.t.size
        out[after] = self.y[-1]
        jc = np.minimum(j, self.t.size - 1)
        # The first knot of the segment of knot j: no curve crosses into a previous segment.
        head = (jc == 0) | (self.seg[jc] != self.seg[np.maximum(jc - 1, 0)])
        before = ~after & head
        out[before] = self.y[jc[before]]
        inside = ~after & ~head
        ji = jc[inside]
        t0, t1 = self.t[ji - 1], self.t[ji]
        y0, y1 = self.y[ji - 1], self.y[ji]
        h = t1 - t0
        u = (g[inside] - t0) / h
        u2 = u * u
        u3 = u2 * u
        out[inside] = (
            (2 * u3 - 3 * u2 + 1) * y0
            + (u3 - 2 * u2 + u) * h * self.slope[ji - 1]
            + (-2 * u3 + 3 * u2) * y1
            + (u3 - u2) * h * self.slope[ji]
        )
        return out


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
        keep = np.flatnonzero((freqs >= min_hz) & (freqs < top))
        self.bins = keep  # bins that any output uses (all below 0.4 Hz)
        self.freqs = freqs[keep]
        self.hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.seg_len) / self.seg_len)
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
        columns.append(np.where(freqs >= VLF_HZ[0], df, 0.0))  # rectangle total power
        self.matrix = np.column_stack(columns)
        self.df = df
        self.hf_cols = np.flatnonzero((freqs >= HF_HZ[0]) & (freqs < HF_HZ[1]))
        self.search_cols = np.flatnonzero(
            (freqs >= COHERENCE_SEARCH_HZ[0]) & (freqs <= COHERENCE_SEARCH_HZ[1])
        )
        self.half_bins = int(np.floor(COHERENCE_HALF_WIDTH_HZ / df + 1e-9))
        self.freqs = freqs


@functools.lru_cache(maxsize=32)
def _layout_and_weights(window_s: float, fs_hz: float) -> tuple[_Layout, _BandWeights]:
    """One Welch layout and its band weights per window length (built once, read only)."""
    layout = _Layout(window_s, fs_hz)
    return layout, _BandWeights(layout)


def _metrics(psd: np.ndarray, weights: _BandWeights) -> dict[str, np.ndarray]:
    """Band powers, peaks and coherence from Welch PSD rows (windows x bins)."""
    freqs = weights.freqs
    vlf, lf, hf, total = (psd @ weights.matrix).T
    rows = np.arange(psd.shape[0])
    if weights.hf_cols.size:
        hf_peak = freqs[weights.hf_cols[np.argmax(psd[:, weights.hf_cols], axis=1)]]
    else:
        hf_peak = np.full(rows.size, np.nan)
    if weights.search_cols.size:
        peak = weights.search_cols[np.argmax(psd[:, weights.search_cols], axis=1)]
        cum = np.zeros((psd.shape[0], psd.shape[1] + 1))
        np.cumsum(psd, axis=1, out=cum[:, 1:])
        lo = np.maximum(peak - weights.half_bins, 0)
        hi = np.minimum(peak + weights.half_bins + 1, psd.shape[1])
        peak_power = (cum[rows, hi] - cum[rows, lo]) * weights.df
        with np.errstate(divide="ignore", invalid="ignore"):
            coherence = peak_power / (total - peak_power)
    else:
        coherence = np.full(rows.size, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lfhf = lf / hf
    return {
        "VLF": vlf,
        "LF": lf,
        "HF": hf,
        "LFHF": lfhf,
        "TP": vlf + lf + hf,
        "HFpeak": hf_peak,
        "Coherence": coherence,
        "RespirationRate": 60.0 * hf_peak,
    }


def _psd_direct(x: np.ndarray, layout: _Layout) -> np.ndarray:
    """Welch PSD at ``layout.bins`` of each row of x (windows x N samples), by rfft."""
    x = x - x.mean(axis=1, keepdims=True)
    starts = np.arange(layout.n_seg) * layout.step
    idx = starts[:, None] + np.arange(layout.seg_len)[None, :]
    segs = x[:, idx] * layout.hann
    spec = np.fft.rfft(segs, n=layout.nfft, axis=2)[:, :, layout.bins]
    return (spec.real**2 + spec.imag**2).sum(axis=1) * layout.scale


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
) -> np.ndarray:
    """Welch PSD of the windows x[first[w] : first[w] + N], by prefix sums of x·e^{−iωn}.

    The Hann-windowed DFT H of a segment starting at every grid position is built densely
    from the prefix sums; a window's own mean μ enters as |H − μW|² = |H|² − 2μ·Re(H·W̄) +
    μ²|W|² (W: the Hann DFT), so each window only gathers two real rows per segment.
    x must be finite; any constant offset of x only affects rounding.
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
    return psd


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
        0.15-0.4 Hz), ``Coherence`` (HeartMath-style: power within ±0.015 Hz of the highest
        peak in 0.04-0.26 Hz over the rest of the 0.0033-0.4 Hz power) and
        ``RespirationRate`` (breaths/min, 60 × HFpeak).

    Notes
    -----
    A band with no variability has power 0 (neurokit2 reports NaN there). The window's
    samples end at the grid point at or before its second-to-last beat (see module notes).
    """
    if not np.isfinite(fs_hz) or fs_hz <= 0:
        raise TrmBioError(f"fs_hz must be a positive number of hertz (got {fs_hz}).")
    rr, times, seg = as_beats(rr_ms, times_s, segment)
    layout, weights = _layout_and_weights(float(window_s), float(fs_hz))
    ends = times if ends_s is None else np.asarray(ends_s, dtype=np.float64).ravel()
    _, _, full = window_bounds(times, rr, seg, window_s, ends)
    knots = _Knots(rr, times, seg)
    out_nan = {key: np.full(ends.size, np.nan) for key in FREQ_KEYS}
    if knots.t.size < 2 or not full.any():
        return out_nan
    # The last knot at or before each end, and the one before it, must share a segment.
    last = np.searchsorted(knots.t, ends, side="right") - 1
    usable = full & (last >= 1)
    last_c = np.maximum(last, 1)
    usable &= knots.seg[last_c] == knots.seg[last_c - 1]
    end_k = np.floor(knots.t[last_c - 1] * fs_hz).astype(np.int64)
    first_k = end_k - layout.n + 1
    windows = np.flatnonzero(usable)
    if windows.size == 0:
        return out_nan

    def store(rows: np.ndarray, psd: np.ndarray) -> None:
        for key, val in _metrics(psd, weights).items():
            out_nan[key][rows] = val

    if windows.size <= DIRECT_MAX_WINDOWS:
        grid = first_k[windows, None] + np.arange(layout.n)[None, :]
        x = knots.samples(grid.ravel(), fs_hz).reshape(grid.shape)
        good = np.all(np.isfinite(x), axis=1)
        if good.any():
            store(windows[good], _psd_direct(x[good], layout))
        return out_nan

    order = windows[np.argsort(first_k[windows], kind="stable")]
    starts = first_k[order]
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
        x -= np.mean(x[~bad]) if (~bad).any() else 0.0
        store(order[a:b][good], _psd_sliding(x, rel[good], layout, tables))

    tasks = list(zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True))
    if len(tasks) > 1 and (os.cpu_count() or 1) > 1:
        # numpy releases the GIL in these large array operations: two chunks in parallel.
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(lambda ab: run_chunk(*ab), tasks))
    else:
        for a, b in tasks:
            run_chunk(a, b)
    return out_nan
