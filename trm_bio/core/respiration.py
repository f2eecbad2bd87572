"""Breathing rate from the heart rhythm: the clear breathing peak of the RR spectrum.

Breathing modulates the heart rate (respiratory sinus arrhythmia), so the RR spectrum has a
peak at the breathing rate, on top of a trend that falls with frequency and of the slow
(about 0.1 Hz) blood-pressure wave, the Mayer wave. Taking the highest bin of a fixed band
(0.15-0.4 Hz, as before) returned the band's lower edge whenever the trend dominated (half
the windows of drivedb drive06 read 9.0 /min while its chest belt read 12-26 /min) and could
not see slow breathing. Here, per window:

1. The trend: a straight line through log power against log frequency (0.04 Hz to the top
   bin), fitted twice, the second time without the bins more than ``TREND_REFIT_ABOVE``
   (natural log) above the first line, so the peaks do not lift it.
2. Candidates: local maxima of the spectrum (a peak, never a band edge) in 3-30 /min
   (``SEARCH_HZ``), below 0.45 times the heart rate (a rhythm sampled once per beat cannot
   show a faster oscillation), standing at least ``PEAK_OVER_TREND`` times above the trend
   and holding at least ``PEAK_MIN_OF_STRONGEST`` of the strongest bin's power.
3. A peak below 9 /min (``SLOW_BELOW_HZ``: the LF band, where the Mayer wave lies) is
   breathing when it dominates the spectrum, holding ``SLOW_SHARE`` of the 0.04-0.5 Hz
   power, as slow breathing does (it drives the heart at its own rate, and the Mayer wave
   joins it), unless a clear faster candidate that is not its harmonic stands beside it:
   one breathes at one rate at a time, so that is the breathing, and the dominant slow
   peak a strong Mayer wave. Otherwise the breathing peak is the candidate highest above
   the trend; a slow one gives way to the best faster candidate that is not its
   harmonic, and with none the rate is unknown: the slow peak may be the Mayer wave of
   someone whose breathing does not show, or slow breathing that does not dominate.
4. The rate is refined between bins by a parabola through the log power of the peak bin
   and its two neighbours.

Where no candidate is clear, or only a slow one that may be the Mayer wave, the rate is
unknown (NaN) and a status code says why (:data:`STATUS_WORDS`). The thresholds were set
against the chest belt of drivedb drive06 and drive17a, and checked for slow breathing on
real RR whose breathing band was replaced by 4-8 /min breathing (``python -m bench
respiration`` prints the figures).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: Breathing rates searched: 3-30 /min.
SEARCH_HZ = (0.05, 0.5)
#: The trend is fitted from here to the layout's top bin.
TREND_FROM_HZ = 0.04
#: Bins this far above the first trend line (natural log) are left out of the second fit.
TREND_REFIT_ABOVE = 0.5
#: A breathing peak stands at least this many times above the trend (e^1.25, about 3.5).
PEAK_OVER_TREND = math.exp(1.25)
#: Below this a peak may be the Mayer wave (the LF band, under 9 /min).
SLOW_BELOW_HZ = 0.15
#: A slow peak is breathing when it holds this share of the 0.04-0.5 Hz power.
SLOW_SHARE = 0.85
#: A candidate holds at least this fraction of the power of the spectrum's strongest bin
#: (0.04-0.5 Hz): weaker peaks are beat-to-beat noise beside a large slow swing (drivedb
#: breathing peaks the belt confirms: above 5 % but for 1 in 120; noise peaks beside slow
#: breathing written onto real RR: 0.5-2 %).
PEAK_MIN_OF_STRONGEST = 0.05
#: The highest rate a beat-sampled rhythm shows, as a fraction of the heart rate.
NYQUIST_FRACTION = 0.45
#: The search reads the spectrum in bins of at least this width (Hz, 1 /min): a longer
#: window's finer bins are summed in groups, which costs a fifth of the work on a 5-minute
#: spectrum at every beat and changes no rate by more than the parabola's refinement.
SEARCH_BIN_HZ = 1.0 / 60.0

STATUS_SHOWN = 0
STATUS_NO_PEAK = 1
STATUS_SLOW_ONLY = 2
#: Why a window's breathing rate is unknown, in plain words.
STATUS_WORDS = {
    STATUS_SHOWN: "",
    STATUS_NO_PEAK: "no clear breathing rhythm in the heart rate",
    STATUS_SLOW_ONLY: (
        "only a slow rhythm, which may be the blood-pressure wave rather than breathing"
    ),
}


@dataclass(frozen=True)
class PeakBins:
    """The bins of one spectral layout that the breathing search reads (built once)."""

    cols: slice  # columns of the PSD rows: TREND_FROM_HZ up to the top bin, whole groups
    group: int  # PSD bins summed into one search bin
    freqs: np.ndarray  # the search bins' centre frequencies (Hz)
    log_f: np.ndarray
    design: np.ndarray  # bins x 2: 1 and log frequency, the trend's terms
    moments: np.ndarray  # bins x 3: 1, log f and its square (the weighted fit's sums)
    ols: np.ndarray  # 2 x bins: least squares for the trend's level and slope
    in_search: np.ndarray  # bool per bin: inside SEARCH_HZ
    slow: np.ndarray  # bool per bin: below SLOW_BELOW_HZ
    share_cols: np.ndarray  # 1.0 per bin at or below SEARCH_HZ[1], else 0.0
    index: np.ndarray  # bin numbers 0 .. bins - 1
    f0_bins: float  # the first bin's frequency in bins (bin k is at (f0_bins + k) * df)
    lobe_bins: int  # a peak's power: its bin and this many on each side
    df: float


@functools.lru_cache(maxsize=32)
def _peak_bins(freqs_key: tuple[float, ...], lobe_bins: int) -> PeakBins | None:
    freqs = np.asarray(freqs_key)
    if freqs.size < 2:
        return None
    group = max(int(SEARCH_BIN_HZ / (freqs[1] - freqs[0]) + 1e-9), 1)
    index = np.flatnonzero(freqs >= TREND_FROM_HZ)
    count = index.size // group  # whole groups only
    if count < 5:
        return None
    cols = slice(int(index[0]), int(index[0]) + count * group)
    f = freqs[cols].reshape(count, group).mean(axis=1)
    if group > 1:
        # The main lobe narrows with the window: in summed bins it is at most one wide.
        lobe_bins = max(1, -(-lobe_bins // group))
    log_f = np.log(f)
    design = np.column_stack((np.ones_like(log_f), log_f))
    df = float(f[1] - f[0])
    return PeakBins(
        cols=cols,
        group=group,
        freqs=f,
        log_f=log_f,
        design=design,
        moments=np.column_stack((design, log_f * log_f)),
        ols=np.linalg.pinv(design),
        in_search=(f >= SEARCH_HZ[0]) & (f <= SEARCH_HZ[1]),
        slow=f < SLOW_BELOW_HZ,
        share_cols=(f <= SEARCH_HZ[1]).astype(np.float64),
        index=np.arange(f.size),
        f0_bins=float(f[0]) / df,
        lobe_bins=lobe_bins,
        df=df,
    )


def peak_bins(freqs: np.ndarray, lobe_bins: int) -> PeakBins | None:
    """The breathing search's view of a layout's bins (None: too few bins above 0.04 Hz).

    Parameters
    ----------
    freqs : the layout's bin frequencies (Hz), evenly spaced and increasing.
    lobe_bins : bins on each side of a peak that hold its power (the Welch window's main
        lobe: 2 when Hann segments are zero-padded to twice their length).
    """
    return _peak_bins(tuple(np.asarray(freqs, dtype=np.float64).tolist()), int(lobe_bins))


def breathing_rate(
    psd: np.ndarray, bins: PeakBins | None, mean_rr_ms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Breathing rate of each window from its RR spectrum (module notes).

    Parameters
    ----------
    psd : Welch PSD rows (windows x the layout's bins), ms²/Hz.
    bins : from :func:`peak_bins` for that layout.
    mean_rr_ms : mean RR of each window (ms): the heart rate bounds the search.

    Returns
    -------
    rate : breaths/min, NaN where unknown.
    status : float codes, ``STATUS_SHOWN`` where a rate is given, else why not.
    """
    n = psd.shape[0]
    if bins is None or n == 0:
        return np.full(n, np.nan), np.full(n, float(STATUS_NO_PEAK))
    power = psd[:, bins.cols]
    if bins.group > 1:
        power = power.reshape(n, -1, bins.group).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if n == 1:  # the live engine, at every beat
            rate, status = _breathing_rate_one(power[0], bins, float(mean_rr_ms[0]))
            return np.array([rate]), np.array([status])
        return _breathing_rate(power, bins, np.asarray(mean_rr_ms, np.float64))


def _breathing_rate(
    power: np.ndarray, bins: PeakBins, mean_rr_ms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    # Few, whole-array steps: the live engine calls this on one row at every beat.
    n, m = power.shape
    rows = np.arange(n)
    log_p = np.log(np.maximum(power, 1e-300))
    # The trend: least squares, then again without the bins well above the first line
    # (normal equations from the kept bins' moments: sums of 1, x, x² and of y, x·y).
    trend = (log_p @ bins.ols.T) @ bins.design.T
    keep = (log_p - trend <= TREND_REFIT_ABOVE).astype(np.float64)
    sw, sx, sxx = (keep @ bins.moments).T
    sy, sxy = ((keep * log_p) @ bins.design).T
    det = sw * sxx - sx * sx
    fitted = det > 1e-12  # at least two distinct bins kept
    safe = np.where(fitted, det, 1.0)
    slope = (sw * sxy - sx * sy) / safe
    level = (sxx * sy - sx * sxy) / safe
    refit = log_p - (level[:, None] + slope[:, None] * bins.log_f)
    above = np.where(fitted[:, None], refit, log_p - trend)

    peak = np.zeros((n, m), dtype=bool)
    peak[:, 1:-1] = (log_p[:, 1:-1] > log_p[:, :-2]) & (log_p[:, 1:-1] >= log_p[:, 2:])
    peak &= bins.in_search
    peak &= bins.freqs <= (NYQUIST_FRACTION * 1000.0 / mean_rr_ms)[:, None]
    # A slow peak that dominates the spectrum is breathing, however steep the trend.
    slow_power = np.where(peak & bins.slow, power, -1.0)
    slow_at = np.argmax(slow_power, axis=1)
    cum = np.cumsum(power * bins.share_cols, axis=1)
    lobe = cum[rows, np.minimum(slow_at + bins.lobe_bins, m - 1)]
    lobe -= np.where(slow_at > bins.lobe_bins, cum[rows, slow_at - bins.lobe_bins - 1], 0.0)
    dominant = (slow_power[rows, slow_at] >= 0.0) & (lobe >= SLOW_SHARE * cum[:, -1])
    # Otherwise the candidate highest above the trend, if it is not slow: a slow one may be
    # the Mayer wave, and gives way to the best faster candidate that is not its harmonic.
    strong = power >= PEAK_MIN_OF_STRONGEST * np.max(power * bins.share_cols, axis=1)[:, None]
    score = np.where(peak & strong & (above >= math.log(PEAK_OVER_TREND)), above, -np.inf)
    # A dominant slow peak beside a clear faster one that is not its harmonic is the Mayer
    # wave of someone breathing at the faster rate: one breathes at one rate at a time.
    beside = np.isfinite(score) & ~bins.slow & (
        np.abs(bins.index - 2 * slow_at[:, None] - bins.f0_bins) > bins.lobe_bins
    )
    dominant &= ~beside.any(axis=1)
    first = np.argmax(score, axis=1)
    found = score[rows, first] > -np.inf
    slow = found & bins.slow[first]
    score[:, bins.slow] = -np.inf
    # Bin k is the harmonic when (f0_bins + k) = 2 (f0_bins + first), within a main lobe.
    harmonic = np.abs(bins.index - 2 * first[:, None] - bins.f0_bins) <= bins.lobe_bins
    score[harmonic & slow[:, None]] = -np.inf
    second = np.argmax(score, axis=1)
    has_faster = score[rows, second] > -np.inf
    chosen = np.where(dominant, slow_at, np.where(slow, second, first))
    shown = dominant | (found & (has_faster | ~slow))

    # Between bins: the vertex of the parabola through the peak's log power and its
    # neighbours (a peak is never the first or last bin, so both exist).
    at = np.clip(chosen, 1, m - 2)
    y0, y1, y2 = log_p[rows, at - 1], log_p[rows, at], log_p[rows, at + 1]
    curve = y0 - 2.0 * y1 + y2
    shift = np.where(curve < 0, 0.5 * (y0 - y2) / np.where(curve < 0, curve, -1.0), 0.0)
    rate = 60.0 * (bins.freqs[at] + np.clip(shift, -0.5, 0.5) * bins.df)
    status = np.where(slow, float(STATUS_SLOW_ONLY), float(STATUS_NO_PEAK))
    return np.where(shown, rate, np.nan), np.where(shown, float(STATUS_SHOWN), status)


def _breathing_rate_one(
    power: np.ndarray, bins: PeakBins, mean_rr_ms: float
) -> tuple[float, float]:
    """:func:`_breathing_rate` for one window: the same steps, with scalars where the
    vectorised path has one value per window (a few numpy calls fewer per beat)."""
    m = power.size
    log_p = np.log(np.maximum(power, 1e-300))
    level, slope = bins.ols @ log_p
    trend = level + slope * bins.log_f
    keep = (log_p - trend <= TREND_REFIT_ABOVE).astype(np.float64)
    sw, sx, sxx = keep @ bins.moments
    sy, sxy = (keep * log_p) @ bins.design
    det = sw * sxx - sx * sx
    if det > 1e-12:
        slope = (sw * sxy - sx * sy) / det
        level = (sxx * sy - sx * sxy) / det
        trend = level + slope * bins.log_f
    above = log_p - trend

    peak = np.zeros(m, dtype=bool)
    peak[1:-1] = (log_p[1:-1] > log_p[:-2]) & (log_p[1:-1] >= log_p[2:])
    peak &= bins.in_search
    peak &= bins.freqs <= NYQUIST_FRACTION * 1000.0 / mean_rr_ms
    strong = power >= PEAK_MIN_OF_STRONGEST * np.max(power * bins.share_cols)
    score = np.where(peak & strong & (above >= math.log(PEAK_OVER_TREND)), above, -np.inf)
    slow_peaks = peak & bins.slow
    if slow_peaks.any():
        slow_at = int(np.argmax(np.where(slow_peaks, power, -1.0)))
        share = power * bins.share_cols
        lobe = share[max(slow_at - bins.lobe_bins, 0) : slow_at + bins.lobe_bins + 1]
        beside = np.isfinite(score) & ~bins.slow & (
            np.abs(bins.index - 2 * slow_at - bins.f0_bins) > bins.lobe_bins
        )
        if lobe.sum() >= SLOW_SHARE * share.sum() and not beside.any():
            return _refined(log_p, slow_at, bins), float(STATUS_SHOWN)
    first = int(np.argmax(score))
    if score[first] == -np.inf:
        return math.nan, float(STATUS_NO_PEAK)
    if not bins.slow[first]:
        return _refined(log_p, first, bins), float(STATUS_SHOWN)
    score[bins.slow] = -np.inf
    score[np.abs(bins.index - 2 * first - bins.f0_bins) <= bins.lobe_bins] = -np.inf
    second = int(np.argmax(score))
    if score[second] == -np.inf:
        return math.nan, float(STATUS_SLOW_ONLY)
    return _refined(log_p, second, bins), float(STATUS_SHOWN)


def _refined(log_p: np.ndarray, at: int, bins: PeakBins) -> float:
    """The rate (breaths/min) at the vertex of the parabola through bins at-1, at, at+1."""
    y0, y1, y2 = float(log_p[at - 1]), float(log_p[at]), float(log_p[at + 1])
    curve = y0 - 2.0 * y1 + y2
    shift = min(max(0.5 * (y0 - y2) / curve, -0.5), 0.5) if curve < 0 else 0.0
    return 60.0 * (float(bins.freqs[at]) + shift * bins.df)
