"""Live engine cost per beat: ours (one update per beat) vs neurokit2 doing the same update.

Feeds real beats one by one through :class:`StreamingEngine` (2 h of nsr001 and a 30-minute
simulated session with strap artifacts) and times each ``push_beat``. neurokit2's cost of the
same per-beat update (``hrv_time`` + ``hrv_frequency`` on the 60 s and 300 s windows at that
beat) is measured on a sample of beats in the same run. Memory: tracemalloc peak and the
engine's buffer size after a full 22.5 h record fed through. Run: ``python -m bench engine``.
"""

from __future__ import annotations

import os
import time
import tracemalloc
import warnings

import numpy as np

from devices.packet import Packet
from devices.simulated import Artifacts, simulate
from tests.recordings import nsr001_rr_ms
from trm_bio.core.engine import StreamingEngine
from trm_bio.core.timeline import Beats, beats_from_packets, beats_from_rr

NK_SAMPLE = 50
TARGET_P99_MS = 1.0
WARMUP_BEATS = 400  # the 300 s window fills; earlier updates skip the spectrum


def _feed(beats: Beats) -> np.ndarray:
    """Per-beat update time (ms) of a fresh engine fed ``beats`` one by one."""
    engine = StreamingEngine()
    times, rr, seg = beats.times_s.tolist(), beats.rr_ms.tolist(), beats.segment.tolist()
    costs = np.empty(len(times))
    clock = time.perf_counter
    for k, (t, r, s) in enumerate(zip(times, rr, seg, strict=True)):
        started = clock()
        engine.push_beat(t, r, s)
        costs[k] = clock() - started
    return costs[WARMUP_BEATS:] * 1e3


def _nk_update_ms(beats: Beats) -> float:
    """neurokit2's median cost (ms) of one update: time + frequency domain on the windows."""
    import neurokit2 as nk

    rr, times = beats.rr_ms, beats.times_s
    rng = np.random.default_rng(0)
    picks = rng.choice(np.flatnonzero(times > times[0] + 310.0), NK_SAMPLE, replace=False)
    costs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in picks:
            started = time.perf_counter()
            for window_s in (60.0, 300.0):
                sel = rr[(times > times[i] - window_s) & (times <= times[i])]
                peaks = np.r_[0.0, np.cumsum(sel)]
                if window_s == 60.0:
                    nk.hrv_time(peaks, sampling_rate=1000)
                nk.hrv_frequency(peaks, sampling_rate=1000, normalize=False)
            costs.append(time.perf_counter() - started)
    return float(np.median(costs)) * 1e3


def _simulated_session() -> Beats:
    items = simulate(
        "calm", seed=3, duration_s=1800.0,
        artifacts=Artifacts(missed_rate=0.01, extra_rate=0.005, ectopic_rate=0.01),
    )
    packets = [item for item in items if isinstance(item, Packet)]
    return beats_from_packets(
        0, [p.host_ns for p in packets], [p.rr_ms for p in packets]
    )


def main() -> None:
    """Print the table: per-beat update time, neurokit2's, ratio, target, pass/fail; memory."""
    rr = nsr001_rr_ms()
    stretches = {
        "nsr001, 2 h": beats_from_rr(rr[20_000:20_000 + 9_000]),
        "simulated 30 min, artifacts": _simulated_session(),
    }
    header = (
        f"{'stretch':30s} {'beats':>6s} {'median':>8s} {'p99':>8s} {'max':>8s} "
        f"{'neurokit2':>10s} {'ratio':>7s} {'target p99':>11s}  ok"
    )
    # Per-beat costs are a fraction of a millisecond: other load on a shared machine shows.
    load_1min, load_5min, _ = os.getloadavg()
    print(f"load average {load_1min:.2f} (1 min), {load_5min:.2f} (5 min) on {os.cpu_count()} cpus")
    print(header)
    print("-" * len(header))
    for name, beats in stretches.items():
        costs = _feed(beats)
        nk_ms = _nk_update_ms(beats)
        median, p99 = float(np.median(costs)), float(np.percentile(costs, 99))
        print(
            f"{name:30s} {len(beats):6d} {median:6.3f}ms {p99:6.3f}ms {costs.max():6.2f}ms "
            f"{nk_ms:8.1f}ms {nk_ms / median:6.0f}x {'< 1 ms':>11s}  "
            f"{'PASS' if p99 < TARGET_P99_MS else 'FAIL'}"
        )

    # Memory: a whole 22.5 h record through one engine (tracemalloc, which slows numpy's
    # small allocations several times, only over the last beats: the steady state).
    whole = beats_from_rr(rr)
    engine = StreamingEngine()
    traced_from = len(whole) - 2_000
    sizes = []
    for k, (t, r, s) in enumerate(
        zip(whole.times_s.tolist(), whole.rr_ms.tolist(), whole.segment.tolist(), strict=True)
    ):
        if k == traced_from:
            tracemalloc.start()
        engine.push_beat(t, r, s)
        if k % 1000 == 0:
            sizes.append(engine._times.view.size)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"memory after {len(whole):,} beats (22.5 h): tracemalloc peak over the last 2,000 "
        f"{peak / 1e6:.2f} MB, buffer {engine._times.view.size} beats (max {max(sizes)} over "
        f"the run)  {'PASS' if max(sizes) < 2_000 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
