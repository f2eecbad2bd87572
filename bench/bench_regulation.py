"""Regulation model speed: live per-beat update, whole-session batch, many shifts.

neurokit2 has no regulation model, so there is no ratio here; the targets are the live
budget (a per-beat update under 50 µs) and batch work that stays well inside a redraw.
"""

from __future__ import annotations

import time

import numpy as np

from trm_bio.core.regulation import Regulator, regulate
from trm_bio.core.shifts import detect_shifts

N_BEATS = 100_000  # about 24 h of beats


def _series(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.6, 1.1, n))
    slow = np.sin(times / 300.0)
    hr = 70 + 6 * slow + rng.normal(0, 1, n)
    rmssd = np.exp(3.5 - 0.4 * slow + rng.normal(0, 0.05, n))
    return times, hr, rmssd


def main() -> None:
    """Print the table: measured value, target, pass/fail."""
    times, hr, rmssd = _series(N_BEATS)
    live = Regulator()
    tl, hl, rl = times.tolist(), hr.tolist(), rmssd.tolist()
    started = time.perf_counter()
    for i in range(N_BEATS):
        live.update(tl[i], hl[i], rl[i])
    per_beat_us = (time.perf_counter() - started) / N_BEATS * 1e6

    started = time.perf_counter()
    trace = regulate(times, hr, rmssd)
    batch_s = time.perf_counter() - started

    events = np.sort(np.random.default_rng(1).uniform(200, times[-1], 1000))
    started = time.perf_counter()
    detect_shifts(times, hr, rmssd, trace.arousal, events, trace.baseline, zone=trace.zone,
                  lowness=trace.lowness)
    shifts_s = time.perf_counter() - started

    rows = [
        ("live update, one beat", f"{per_beat_us:.2f} µs", "< 50 µs", per_beat_us < 50),
        (f"batch regulate, {N_BEATS} beats", f"{batch_s * 1e3:.0f} ms", "< 1 s", batch_s < 1),
        ("detect_shifts, 1000 events", f"{shifts_s * 1e3:.0f} ms", "< 1 s", shifts_s < 1),
    ]
    print(f"{'work':34s} {'ours':>12s} {'target':>10s}  result")
    for name, value, target, ok in rows:
        print(f"{name:34s} {value:>12s} {target:>10s}  {'pass' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
