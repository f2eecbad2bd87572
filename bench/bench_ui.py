"""Live screen speed with a 1-hour session in view: redraw time per frame, packet-to-screen time,
the breathing guide's frames and CPU time; the app's CPU per minute of a live session, and
its start to the first beat on screen.

The real main window (offscreen unless a display is set) runs a recorded live session whose
first hour is fed at once, then packets arrive in real time from a source thread stamped with
``time.monotonic_ns()`` as a strap's callback would. Each frame's redraw is timed from handing
the data to pyqtgraph to the end of a synchronous repaint of the plots; a packet's latency is
from its arrival stamp to the end of the repaint that first drew its beat. neurokit2 draws no
live screen, so there is no ratio here; the targets come from the issue: median redraw under
8 ms on 2 cores, packet to screen under 50 ms.

The CPU and start figures are taken from the app as a person runs it, each in a process of
its own (:mod:`bench.live_app`): the CPU of the whole process (every thread) over a minute of
a recorded session on the simulated strap at real time, with the real window and timers, at
1366x768, without and with the client view; the start from launching ``trm-bio app`` to its
first beat on the live screen. Targets from issue 18: under 3 % of a core, at most 3 s.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HOUR_S = 3600.0
LIVE_S = float(os.environ.get("BENCH_UI_LIVE_S", "60"))  # CPU measured over this long (s)
CPU_TARGET = 3.0  # % of one core
START_TARGET_S = 3.0
PACKET_PERIOD_S = 0.5  # live packets during the measurement (one RR each)
PACKETS_PER_SPAN = 20


def main() -> None:
    """Print the table: measured value, target, pass/fail."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
    from devices.packet import LinkState, Packet, SensorContact
    from devices.simulated import simulate
    from devices.source import Source
    from trm_bio.app import Services, SimulationClock
    from trm_bio.controller import SessionController, SessionOptions
    from trm_bio.store.library import Library
    from trm_bio.ui import theme
    from trm_bio.ui.main_window import MainWindow
    from trm_bio.ui.modes import Mode
    from trm_bio.ui.settings import Settings, use_settings_folder

    class BenchSource(Source):
        """An hour of simulated packets at once, then live packets stamped on arrival."""

        def __init__(self, start_ns: int) -> None:
            super().__init__("bench")
            self.start_ns = start_ns
            self.stopping = threading.Event()
            self.drained_ns: list[int] = []
            self.live = False

        def start(self) -> None:
            for item in simulate("calm", seed=1, duration_s=HOUR_S, start_ns=self.start_ns):
                if isinstance(item, Packet):
                    self._emit(item)
            self._set_state(LinkState.STREAMING, host_ns=self.start_ns + int(HOUR_S * 1e9))
            threading.Thread(target=self._run, daemon=True).start()

        def _run(self) -> None:
            rng = random.Random(0)
            while not self.stopping.wait(PACKET_PERIOD_S * rng.uniform(0.9, 1.1)):
                rr_raw = rr_ms_to_raw(1000.0 * PACKET_PERIOD_S * rng.uniform(0.97, 1.03))
                payload = encode_hrm(120, [rr_raw], SensorContact.CONTACT)
                self._emit(packet_from_payload(payload, time.monotonic_ns(), self.source_id))

        def stop(self, timeout_s: float = 5.0) -> None:
            self.stopping.set()

        def drain(self) -> list:
            items = super().drain()
            if self.live:
                self.drained_ns.extend(i.host_ns for i in items if isinstance(i, Packet))
            return items

    folder = Path(tempfile.mkdtemp(prefix="trm-bio-bench-ui-"))
    use_settings_folder(folder)
    app = QApplication.instance() or QApplication(["bench_ui"])
    theme.apply_theme(app, theme.TextScale())
    library = Library.open(folder / "lib.sqlite3")
    hour_ago = [-int(HOUR_S * 1e9)]
    controller = SessionController(library, clock_ns=lambda: time.monotonic_ns() + hour_ago[0])
    settings = Settings(QSettings(str(folder / "trm-bio.ini"), QSettings.Format.IniFormat))
    settings.trends = ["RMSSD", "SDNN"]
    window = MainWindow(controller, Services(library, SimulationClock(), controller), settings)
    window.resize(1400, 860)
    window.show()
    source = BenchSource(time.monotonic_ns() - int(HOUR_S * 1e9))
    controller.start_live(source, SessionOptions(record=True, source_kind="bench"))
    hour_ago[0] = 0  # the session began an hour ago; from now on the clock is the host's
    window._enter_mode(Mode.RECORDING)
    loop = QEventLoop()

    def run_for(seconds: float) -> None:
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    # Take in the first hour (all at once) before measuring.
    while controller.session.history.beats.size < 3000 or controller.session.now_s < HOUR_S:
        run_for(0.2)
    frames: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}  # the UI thread's own CPU time per frame
    latencies: dict[str, list[float]] = {}
    original = window.redraw
    span_label = ["Whole session"]

    def measured_redraw(now_s: float) -> None:
        if not source.drained_ns:
            original(now_s)  # the time axis slid; no new beat to draw: not a measured frame
            return
        started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
        original(now_s)
        window.plots.layout_widget.viewport().repaint()
        done_ns = time.monotonic_ns()
        frames.setdefault(span_label[0], []).append((time.perf_counter_ns() - started) / 1e6)
        cpu.setdefault(span_label[0], []).append((time.thread_time_ns() - cpu_started) / 1e6)
        latencies.setdefault(span_label[0], []).extend(
            (done_ns - t) / 1e6 for t in source.drained_ns
        )
        source.drained_ns.clear()

    window.redraw = measured_redraw
    for label in ("Whole session", "5 min"):
        window.span.setCurrentText(label)
        span_label[0] = label
        run_for(0.3)
        frames.pop(label, None)
        cpu.pop(label, None)
        latencies.pop(label, None)
        source.drained_ns.clear()
        source.live = True
        run_for(PACKETS_PER_SPAN * PACKET_PERIOD_S)
        source.live = False
    beats_in_view = controller.session.history.beats.size
    window.redraw = original
    pacer = pacer_case(window, run_for)
    # End the recording first: closing a window that records asks the person (a dialog).
    controller.stop()
    window._enter_mode(Mode.IDLE)
    window.close()
    library.close()

    print(
        f"live screen 1400x860, {beats_in_view} beats (1 h) in the session, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
        f"platform {app.platformName()}"
    )
    print(f"{'measure':<48} {'median':>9} {'p95':>9} {'n':>5} {'target':>9}  result")
    for label in ("Whole session", "5 min"):
        for name, values, target in (
            (f"redraw per frame with a new beat, {label}", frames.get(label, []), 8.0),
            ("  same, UI thread CPU time", cpu.get(label, []), 8.0),
            (f"packet to beat on screen, {label}", latencies.get(label, []), 50.0),
        ):
            if not values:
                print(f"{name:<48} {'–':>9} {'–':>9} {0:>5} {target:>7.0f}ms  no data")
                continue
            med = statistics.median(values)
            p95 = sorted(values)[int(0.95 * (len(values) - 1))]
            ok = med < target if "packet" not in name else max(values) < target
            print(
                f"{name:<48} {med:>7.2f}ms {p95:>7.2f}ms {len(values):>5} {target:>7.0f}ms  "
                f"{'pass' if ok else 'FAIL'}"
            )
    print(
        "(redraw target: median; packet-to-screen target: every packet. Wall times include "
        "waiting for a core when other work runs: compare the CPU time and the load average.)"
    )
    print_pacer(pacer)
    live_figures()


PACER_S = 12.0  # seconds of the breathing guide measured, and as long without it
PACER_TURNS = 4  # in this many turns of off then on
FRAME_TARGET_MS = 1000.0 / 60.0


def pacer_case(window: object, run_for: object) -> dict[str, float]:
    """The breathing guide on, with the hour in view and live packets still arriving: its
    frames (each is set for the 60 Hz frame of the next visible step; one that runs more than
    a frame period after it was due is dropped), its own CPU time (the frame's step and the
    shape's paint) as a share of a core, and the UI thread's CPU time with the guide on
    against as long with it off."""
    from trm_bio.ui import pacer as pacer_module

    pacer = window.pacer  # type: ignore[attr-defined]
    ticks: list[int] = []
    own_ns = [0]
    animate = pacer.animate
    parts = (pacer_module.PacerShape,)
    paints = {part: part.paintEvent for part in parts}

    late_ms: list[float] = []

    def timed_animate() -> None:
        ticks.append(time.perf_counter_ns())
        late_ms.append((time.perf_counter() - pacer.due_wall_s) * 1000.0)
        started = time.thread_time_ns()
        animate()
        own_ns[0] += time.thread_time_ns() - started

    def timed(paint: Any) -> Any:
        def timed_paint(widget: object, event: object) -> None:
            started = time.thread_time_ns()
            paint(widget, event)
            own_ns[0] += time.thread_time_ns() - started

        return timed_paint

    pacer.frame.timeout.disconnect()
    pacer.frame.timeout.connect(timed_animate)
    for part, paint in paints.items():
        part.paintEvent = timed(paint)  # type: ignore[method-assign]
    # Off and on in turns, so that the live beats' own work falls on both alike.
    off_cpu = on_cpu = wall = 0
    for _ in range(PACER_TURNS):
        started = time.thread_time_ns()
        run_for(PACER_S / PACER_TURNS)  # type: ignore[operator]
        off_cpu += time.thread_time_ns() - started
        pacer.toggle()
        started, wall_started = time.thread_time_ns(), time.perf_counter_ns()
        run_for(PACER_S / PACER_TURNS)  # type: ignore[operator]
        on_cpu += time.thread_time_ns() - started
        wall += time.perf_counter_ns() - wall_started
        pacer.toggle()
    for part, paint in paints.items():
        part.paintEvent = paint  # type: ignore[method-assign]
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(ticks)]
    late = [x for x in late_ms if x == x]  # the first frame had no due time
    return {
        "frames": float(len(ticks)),
        "median_ms": statistics.median(gaps) if gaps else float("nan"),
        "worst_late_ms": max(late) if late else float("nan"),
        "dropped": float(sum(x > FRAME_TARGET_MS for x in late)),
        "own_core_pct": 100.0 * own_ns[0] / wall,
        "thread_delta_core_pct": 100.0 * (on_cpu - off_cpu) / wall,
    }


def print_pacer(r: dict[str, float]) -> None:
    ok_frames = r["dropped"] == 0
    ok_cpu = r["own_core_pct"] < 1.0
    print(
        f"breathing guide, 1 h in view: {r['frames']:.0f} frames in {PACER_S:g} s (each at "
        f"the 60 Hz frame of the next visible step), interval median {r['median_ms']:.1f} ms, "
        f"latest {r['worst_late_ms']:.1f} ms after due, dropped (over a frame late) "
        f"{r['dropped']:.0f} (target 0)  {'pass' if ok_frames else 'FAIL'}"
    )
    print(
        f"breathing guide CPU: its frames {r['own_core_pct']:.2f} % of a core (target under "
        f"1 %)  {'pass' if ok_cpu else 'FAIL'}; the UI thread with it on minus off "
        f"{r['thread_delta_core_pct']:+.2f} % (live beats arrive meanwhile: noisy)"
    )


def _child(*args: str) -> dict[str, float]:
    """Run :mod:`bench.live_app` in a process of its own; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.live_app", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def live_figures() -> None:
    """CPU per minute of a live session and start to the first beat (see module doc)."""
    print(f"\nthe app live on the simulated strap at 1x, {LIVE_S:.0f} s, window 1366x768")
    print(f"{'measure':<48} {'value':>9} {'target':>9}  result")
    for label, extra in (("main window", ()), ("main window and client view", ("--client",))):
        got = _child("cpu", str(LIVE_S), *extra)
        per_minute = 60.0 * got["cpu_s"] / got["wall_s"]
        ok = got["percent_of_core"] < CPU_TARGET
        print(
            f"{'CPU, ' + label:<48} {got['percent_of_core']:>7.2f} % {CPU_TARGET:>7.0f} %  "
            f"{'pass' if ok else 'FAIL'}  ({per_minute:.2f} s of CPU per minute, "
            f"{got['platform']})"
        )
    session = got["start_session_to_first_beat_s"]
    print(f"{'Start session to its first beat on screen':<48} {session:>7.2f} s {'':>9}")
    launched = time.time()
    first = _child("start", repr(launched))["first_beat_s"]
    ok = first <= START_TARGET_S
    print(
        f"{'launch of trm-bio app to first beat on screen':<48} {first:>7.2f} s "
        f"{START_TARGET_S:>7.0f} s  {'pass' if ok else 'FAIL'}"
    )
    print(
        "(CPU: process time of every thread over wall time, after a 10 s warm-up; the "
        "simulated strap sends a packet a second, as a real strap does.)"
    )


if __name__ == "__main__":
    main()
