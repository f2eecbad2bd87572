"""The breathing rate a chest belt gives per window: the reference for respiration checks.

Shared by tests and bench; also :func:`with_paced_breathing`, slow breathing written onto
real RR (no recording here has paced breathing with a belt). Breaths are the belt's
inhalation peaks found by neurokit2 (``rsp_clean`` then ``rsp_peaks``, Khodadad et al.
2018); a window's rate is the number of breath cycles between its first and last peak over
the time they span. A second count, independent of neurokit2 (peaks of the belt
band-passed to 0.04-1 Hz, at least 30 % of the window's range high and 1.2 s apart),
checks the belt: where the two differ by more than 2 /min (talking, moving, a loose belt),
the window has no reference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import signal

from tests import recordings

MAX_COUNT_DISAGREEMENT = 2.0  # breaths/min


@dataclass(frozen=True)
class BeltReference:
    """Reference breathing rates of windows ending at ``ends_s`` (s from record start)."""

    ends_s: np.ndarray
    rate: np.ndarray  # breaths/min; NaN where the belt gives no clear reference
    window_s: float

    @property
    def valid(self) -> np.ndarray:
        return np.isfinite(self.rate)


def _rate(peaks_s: np.ndarray, end_s: float, window_s: float) -> float:
    inside = peaks_s[(peaks_s > end_s - window_s) & (peaks_s <= end_s)]
    if inside.size < 3:
        return np.nan
    return 60.0 * (inside.size - 1) / (inside[-1] - inside[0])


@functools.lru_cache(maxsize=4)
def _belt_peaks(record: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    import neurokit2 as nk

    belt = recordings.drivedb_belt(record)
    clean = nk.rsp_clean(belt.signal, sampling_rate=belt.fs_hz)
    _, info = nk.rsp_peaks(clean, sampling_rate=belt.fs_hz)
    nk_peaks = np.asarray(info["RSP_Peaks"], dtype=np.float64) / belt.fs_hz
    sos = signal.butter(2, [0.04, 1.0], btype="band", fs=belt.fs_hz, output="sos")
    banded = signal.sosfiltfilt(sos, belt.signal - belt.signal.mean())
    return nk_peaks, banded, np.arange(banded.size) / belt.fs_hz, belt.fs_hz


def _own_count(banded: np.ndarray, fs_hz: float, end_s: float, window_s: float) -> float:
    part = banded[max(int((end_s - window_s) * fs_hz), 0) : int(end_s * fs_hz)]
    if part.size < fs_hz * 10:
        return np.nan
    height = np.percentile(part, 95) - np.percentile(part, 5)
    found, _ = signal.find_peaks(part, prominence=0.3 * height, distance=int(1.2 * fs_hz))
    if found.size < 3:
        return np.nan
    return 60.0 * (found.size - 1) / ((found[-1] - found[0]) / fs_hz)


def belt_reference(record: str, ends_s: np.ndarray, window_s: float = 60.0) -> BeltReference:
    """Reference breathing rate (breaths/min) of the belt over each window."""
    nk_peaks, banded, _, fs_hz = _belt_peaks(record)
    ends = np.asarray(ends_s, dtype=np.float64)
    rate = np.array([_rate(nk_peaks, e, window_s) for e in ends])
    check = np.array([_own_count(banded, fs_hz, e, window_s) for e in ends])
    agree = np.abs(rate - check) <= MAX_COUNT_DISAGREEMENT
    return BeltReference(ends, np.where(agree, rate, np.nan), window_s)


@dataclass(frozen=True)
class Agreement:
    """How rates shown in the windows with a reference compare with it."""

    windows: int  # windows with a belt reference
    shown: float  # share of them with a rate shown
    median_error: float  # breaths/min
    within_2: float  # share of shown rates within 2 /min
    correlation: float

    def row(self) -> str:
        return (
            f"{self.windows:5d} {100 * self.shown:6.0f} % {self.median_error:7.2f} "
            f"{100 * self.within_2:7.0f} % {self.correlation:6.2f}"
        )


def agreement(rate: np.ndarray, reference: np.ndarray) -> Agreement:
    """Shown share, median absolute error, share within 2 /min and Pearson r."""
    ok = np.isfinite(reference)
    shown = ok & np.isfinite(rate)
    error = np.abs(rate[shown] - reference[shown])
    r = (
        float(np.corrcoef(rate[shown], reference[shown])[0, 1])
        if shown.sum() > 2 else np.nan
    )
    return Agreement(
        windows=int(ok.sum()),
        shown=float(shown.sum() / ok.sum()) if ok.any() else np.nan,
        median_error=float(np.median(error)) if error.size else np.nan,
        within_2=float(np.mean(error <= 2.0)) if error.size else np.nan,
        correlation=r,
    )


def with_paced_breathing(
    rr_ms: np.ndarray, per_min: float, swing_ms: float, seed: int, noise_ms: float = 8.0
) -> np.ndarray:
    """Real RR (ms) with its breathing replaced by breathing at ``per_min``.

    The RR is low-passed below 0.12 Hz (its own slow waves and Mayer wave kept, its
    breathing removed), then a sinusoidal swing of ``swing_ms`` at the paced rate and
    Gaussian beat-to-beat noise of ``noise_ms`` are added.
    """
    times = np.cumsum(rr_ms) / 1000.0
    grid = np.arange(times[0], times[-1], 0.25)
    sos = signal.butter(4, 0.12, fs=4.0, output="sos")
    slow = np.interp(times, grid, signal.sosfiltfilt(sos, np.interp(grid, times, rr_ms)))
    noise = np.random.default_rng(seed).normal(0.0, noise_ms, rr_ms.size)
    return slow + swing_ms * np.sin(2 * np.pi * per_min / 60.0 * times) + noise
