"""Weak slow breathing: does the breathing rate from heart rhythm read a faster false rate?

The simulated low-arousal person breathes at 8 /min with a swing of 8 ms (RSA) and 3 ms of
beat noise, and the app shows a rate in a few windows, mostly 12-20 /min, rarely 8. This
asks whether a real heart would fool the estimator the same way, with a chest belt as the
referee. drivedb drive06 and drive17a, in the 60 s windows whose belt reads 20 /min or
more: each record's RR is low-passed (4th-order Butterworth) below a cut, which removes its
breathing and keeps its other rhythms below the cut, then a swing of 8 ms at 8 /min and
3 ms of Gaussian beat noise are written on (the simulator's low-arousal values).

Two cuts: 7.2 /min (0.12 Hz, as the slow-breathing table of ``bench respiration`` does,
which keeps only the slow waves) and 15 /min (0.25 Hz, which also keeps the real heart's
non-breathing rhythm of 7-15 /min, where the false rates fall). Then the simulated
low-arousal person itself (seeds 0-9, minutes 10-18), and with its heart-rate wander off.

Columns: windows; shown (a rate given); within 1 /min of the true 8 /min; a false faster
rate (10-16 /min) and any rate above 10 /min, as shares of all windows.

A second table compares the simulated low-arousal rhythm with real hearts (60 s windows
with no jump over 20 %): drivedb windows whose belt reads 20 /min or more, and nsr001
windows with RMSSD under 15 ms (no belt: its 11-13 /min may hold breathing). Columns: the
RMSSD, the spread of the part below 7.2 /min (the slow waves), and how much power lies at
11-13 /min beside that at 3-5 /min (median Hann periodograms of the windows, 4 Hz): a
simulator whose slow waves were oversized beside its RMSSD, or whose rhythm between the
slow waves and the breathing were emptier than a real heart's, would show it here.
Run: ``python -m bench weak_slow``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import signal

from devices.physiology import SCENARIOS, model_beats
from tests import recordings
from tests.belt_reference import belt_reference
from trm_bio.core.frequency_domain import frequency_domain

RECORDS = ("drive06", "drive17a")
WINDOW_S = 60.0
STEP_S = 10.0
RATE_PER_MIN = 8.0
SWING_MS = 8.0
NOISE_MS = 3.0
BELT_AT_LEAST = 20.0  # /min: the record's own breathing lies above both cuts
CUTS_HZ = (0.12, 0.25)


def _rates(rr_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window ends (s from the first beat) and the breathing rate shown at each."""
    times = np.cumsum(rr_ms) / 1000.0
    ends = np.arange(times[0] + WINDOW_S, times[-1], STEP_S)
    return ends, frequency_domain(rr_ms, times, window_s=WINDOW_S, ends_s=ends)[
        "RespirationRate"
    ]


def _with_weak_slow_breathing(rr_ms: np.ndarray, cut_hz: float, seed: int) -> np.ndarray:
    times = np.cumsum(rr_ms) / 1000.0
    grid = np.arange(times[0], times[-1], 0.25)
    sos = signal.butter(4, cut_hz, fs=4.0, output="sos")
    kept = np.interp(times, grid, signal.sosfiltfilt(sos, np.interp(grid, times, rr_ms)))
    noise = np.random.default_rng(seed).normal(0.0, NOISE_MS, rr_ms.size)
    return kept + SWING_MS * np.sin(2 * np.pi * RATE_PER_MIN / 60.0 * times) + noise


def _row(name: str, rate: np.ndarray) -> None:
    shown = np.isfinite(rate)
    print(
        f"{name:40s} {rate.size:7d} {100 * shown.mean():6.1f} % "
        f"{100 * np.mean(np.abs(rate - RATE_PER_MIN) <= 1.0):8.1f} % "
        f"{100 * np.mean((rate > 10.0) & (rate < 16.0)):9.1f} % "
        f"{100 * np.mean(rate > 10.0):8.1f} %"
    )


def _lowpassed(rr_ms: np.ndarray, cut_hz: float) -> np.ndarray:
    times = np.cumsum(rr_ms) / 1000.0
    grid = np.arange(times[0], times[-1], 0.25)
    sos = signal.butter(4, cut_hz, fs=4.0, output="sos")
    return np.interp(times, grid, signal.sosfiltfilt(sos, np.interp(grid, times, rr_ms)))


def _low_rmssd_windows(
    rr_ms: np.ndarray, ends_s: np.ndarray, below_ms: float = np.inf
) -> tuple[list[float], list[float], list[np.ndarray]]:
    """RMSSD, slow-wave spread (ms) and periodogram of each clean window under ``below_ms``."""
    times = np.cumsum(rr_ms) / 1000.0
    slow = _lowpassed(rr_ms, CUTS_HZ[0])
    rmssd, spread, spectra = [], [], []
    for end in ends_s:
        inside = (times > end - WINDOW_S) & (times <= end)
        x = rr_ms[inside]
        if x.size < 30 or np.any(np.abs(np.diff(x)) > 0.2 * x[:-1]):
            continue
        value = float(np.sqrt(np.mean(np.diff(x) ** 2)))
        if value >= below_ms:
            continue
        grid = np.arange(end - WINDOW_S, end, 0.25)
        even = signal.detrend(np.interp(grid, times[inside], x))
        _, power = signal.periodogram(even, fs=4.0, window="hann", nfft=480)
        rmssd.append(value)
        spread.append(float(np.std(slow[inside])))
        spectra.append(power)
    return rmssd, spread, spectra


def _realism_table() -> None:
    freqs = np.fft.rfftfreq(480, 0.25) * 60.0  # /min

    def level(power: np.ndarray, lo: float, hi: float) -> float:
        return float(power[(freqs >= lo) & (freqs < hi)].mean())

    print(f"\n{'rhythm':40s} {'windows':>7s} {'RMSSD':>7s} {'slow SD':>8s} "
          f"{'11-13 / 3-5 /min':>17s}")
    rows = {}
    for record in RECORDS:
        peaks = recordings.drivedb_r_peaks_s(record)
        rr = np.diff(peaks) * 1000.0
        ends = np.arange(np.sum(rr[:30]) / 1000.0 + WINDOW_S, np.sum(rr) / 1000.0, STEP_S)
        belt = belt_reference(record, ends + peaks[0], WINDOW_S).rate
        # Breathing at 20 /min or more: 11-13 /min holds the heart's other rhythms only.
        rows[f"{record}, belt 20 /min or more"] = _low_rmssd_windows(
            rr, ends[belt >= BELT_AT_LEAST]
        )
    holter = recordings.nsr001_rr_ms()
    times = np.cumsum(holter) / 1000.0
    rows["nsr001, RMSSD under 15 ms"] = _low_rmssd_windows(
        holter, np.arange(WINDOW_S, times[-1], STEP_S), below_ms=15.0
    )
    parts: tuple[list[float], list[float], list[np.ndarray]] = ([], [], [])
    for seed in range(10):
        beat_times, rr = model_beats("low-arousal", seed=seed, duration_s=1080.0)
        low = beat_times >= 480.0
        found = _low_rmssd_windows(rr[low], np.arange(180.0, 600.0, STEP_S))
        for into, values in zip(parts, found, strict=True):
            into.extend(values)
    rows["simulated low-arousal, minutes 11-18"] = parts
    for name, (rmssd, spread, spectra) in rows.items():
        power = np.median(np.array(spectra), axis=0)
        print(f"{name:40s} {len(rmssd):7d} {np.median(rmssd):5.1f} ms {np.median(spread):5.1f} ms "
              f"{level(power, 11, 13) / level(power, 3, 5):17.3f}")


def main() -> None:
    """Print one row per background (see the module docs)."""
    print(f"{'background':40s} {'windows':>7s} {'shown':>8s} {'8+-1/min':>10s} "
          f"{'10-16/min':>11s} {'>10/min':>10s}")
    for record in RECORDS:
        peaks = recordings.drivedb_r_peaks_s(record)
        rr = np.diff(peaks) * 1000.0
        for cut in CUTS_HZ:
            ends, rate = _rates(_with_weak_slow_breathing(rr, cut, seed=1))
            belt = belt_reference(record, ends + peaks[0], WINDOW_S).rate
            _row(f"{record}, kept below {60 * cut:4.1f} /min", rate[belt >= BELT_AT_LEAST])
    scenario = SCENARIOS["low-arousal"]
    for name, sc in (
        ("simulated low-arousal", scenario),
        ("simulated low-arousal, no HR wander", dataclasses.replace(scenario, hr_wander_bpm=0.0)),
    ):
        parts = []
        for seed in range(10):
            times, rr = model_beats(sc, seed=seed, duration_s=1080.0)
            ends = np.arange(600.0, 1080.0, STEP_S)
            parts.append(
                frequency_domain(rr, times, window_s=WINDOW_S, ends_s=ends)["RespirationRate"]
            )
        _row(name, np.concatenate(parts))
    _realism_table()


if __name__ == "__main__":
    main()
