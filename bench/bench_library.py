"""A 24-hour session: recording it, and opening it with its full-session metrics.

Targets (library issue): records in under 60 s (simulated at full speed), opens with its
full-session metrics in under 2 s. neurokit2 has no recorder; its whole-record
``hrv_time`` + ``hrv_frequency`` on the same beats is printed as the reference for opening.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np

from devices.simulated import SimulatedStrap, simulate
from trm_bio.controller import SessionController
from trm_bio.history import analyse_session, session_beats
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder

DAY_S = 24 * 3600.0


def _record_packets_only(library: Library) -> tuple[int, float, int]:
    """Simulated strap at full speed straight into the recorder (what `record` stores)."""
    started = time.perf_counter()
    items = simulate("calm", seed=11, duration_s=DAY_S, start_ns=0)
    session_id = library.create_session(None, "simulated", "sim:calm:11", start_ns=0)
    recorder = Recorder(library, session_id)
    count = 0
    for item in items:
        if hasattr(item, "payload"):
            recorder.add_packet(item)
            count += 1
    recorder.flush()
    library.finish_session(session_id)
    return session_id, time.perf_counter() - started, count


def _record_headless(library: Library) -> tuple[int, float, int]:
    """What ``trm-bio record --simulate --quiet`` does: strap thread, session, recorder,
    then the vectorised analysis of the whole session at stop."""
    started = time.perf_counter()
    controller = SessionController(library)
    strap = SimulatedStrap("calm", seed=12, speed=math.inf, duration_s=DAY_S)
    controller.start_live(strap, analyse_live=False)
    while strap.running or strap.pending:
        controller.poll()
    controller.poll()
    beats = controller.session.beats_seen
    session_id = controller.stop()
    return session_id, time.perf_counter() - started, beats


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "library.sqlite3"
        with Library.open(path) as library:
            sid, record_s, packets = _record_packets_only(library)
            sid2, pipeline_s, beats_live = _record_headless(library)
        size_mb = path.stat().st_size / 1e6
        with Library.open(path) as library:
            started = time.perf_counter()
            analyse_session(library, sid)  # what stopping a recording does, once
            first_s = time.perf_counter() - started
        with Library.open(path) as library:
            started = time.perf_counter()
            result = analyse_session(library, sid)
            open_s = time.perf_counter() - started
            beats = session_beats(library, library.get_session(sid))
        import neurokit2 as nk

        started = time.perf_counter()
        peaks = np.round(np.cumsum(beats.rr_ms)).astype(np.int64)
        nk.hrv_time(peaks, sampling_rate=1000)
        nk.hrv_frequency(peaks, sampling_rate=1000, normalize=False)
        nk_s = time.perf_counter() - started

    n = result.summary.quality["beats"]
    print(f"24 h simulated session: {packets:,} packets, {n:,} beats, library {size_mb:.1f} MB")
    rows = [
        (
            "record 24 h: simulate + store packets",
            f"{record_s:.1f} s",
            "-",
            "< 60 s",
            record_s < 60,
        ),
        (
            "record 24 h: `record --quiet` path + analysis",
            f"{pipeline_s:.1f} s",
            "-",
            "< 60 s",
            pipeline_s < 60,
        ),
        (
            "analyse 24 h at every beat (once, at stop)",
            f"{first_s:.2f} s",
            f"{nk_s:.2f} s",
            "(info)",
            True,
        ),
        (
            "open 24 h with full-session metrics",
            f"{open_s:.2f} s",
            f"{nk_s:.2f} s",
            "< 2 s",
            open_s < 2,
        ),
    ]
    print(f"{'work':<42}{'ours':>10}{'neurokit2':>12}{'target':>10}  pass")
    for work, ours, theirs, target, ok in rows:
        print(f"{work:<42}{ours:>10}{theirs:>12}{target:>10}  {'yes' if ok else 'NO'}")
    print(f"(headless recording timed {beats_live:,} beats; session {sid2})")
    print("neurokit2 column: hrv_time + hrv_frequency of the whole 24 h record, no per-beat series")
