"""The app as a person runs it, measured from outside its window (for bench/bench_ui.py).

``python -m bench.live_app cpu SECONDS [--client]``: the real main window on the simulated
strap at real time (1x) with the real timers, a session recorded; prints the process's CPU
time (every thread) over SECONDS of the live session, after a warm-up, as JSON.

``python -m bench.live_app start T0``: runs ``trm-bio app`` itself and prints, as JSON, the
seconds from T0 (the launcher's ``time.time()`` just before starting this process) to the
first beat drawn on the live screen, and from Start session to its first beat.

Both use a throw-away library and settings folder (the user's own are never touched).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

WARM_UP_S = 10.0
SIZE = (1366, 768)


def _isolate() -> Path:
    """A scratch folder for the library and the settings (QSettings follows XDG on Linux)."""
    scratch = Path(tempfile.mkdtemp(prefix="trm-bio-bench-live-"))
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")
    os.environ["XDG_DATA_HOME"] = str(scratch / "data")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return scratch


def cpu(seconds: float, client: bool) -> dict[str, float]:
    """CPU of the whole process over ``seconds`` of a recorded live session (1x)."""
    scratch = _isolate()
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from trm_bio.app import build
    from trm_bio.store.library import Library
    from trm_bio.ui import theme
    from trm_bio.ui.settings import Settings, use_settings_folder

    use_settings_folder(scratch / "settings")
    app = QApplication(["trm-bio"])
    theme.apply_theme(app, theme.TextScale())
    library = Library.open(scratch / "lib.sqlite3")
    settings = Settings(QSettings(str(scratch / "trm-bio.ini"), QSettings.Format.IniFormat))
    parts = build(library, settings=settings, speed=1.0)
    window = parts.window
    window.resize(*SIZE)
    window.show()
    loop = QEventLoop()

    def run_for(s: float) -> None:
        QTimer.singleShot(int(s * 1000), loop.quit)
        loop.exec()

    run_for(1.0)
    started = time.perf_counter()
    window.start_session()
    history = parts.controller.session.history  # the new session's, not the preview's

    def drawn() -> bool:  # the plots were last handed this history, holding a beat
        key = window.plots._drawn.get("beats")
        return key is not None and key[0] == id(history) and key[1] > 0

    while not drawn():
        run_for(0.01)
    first_beat_s = time.perf_counter() - started
    if client:
        window.toggle_client_view()
    run_for(WARM_UP_S)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run_for(seconds)
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    # End the recording first: closing while recording asks the person (a modal question
    # nobody answers here).
    window.stop_session(reconnect=False)
    window.close()
    library.close()
    return {
        "cpu_s": cpu_s,
        "wall_s": wall_s,
        "percent_of_core": 100.0 * cpu_s / wall_s,
        "start_session_to_first_beat_s": first_beat_s,
        "platform": app.platformName(),
    }


def start(t0: float) -> dict[str, float]:
    """Seconds from ``t0`` (the launcher's clock) to the first beat on the live screen."""
    scratch = _isolate()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(["trm-bio"])
    found: dict[str, float] = {}

    def look() -> None:
        for widget in app.topLevelWidgets():
            plots = getattr(widget, "plots", None)
            data = getattr(getattr(plots, "rr_curve", None), "xData", None)
            if data is not None and len(data):
                found["first_beat_s"] = time.time() - t0
                widget.close()
                app.quit()
                return

    watch = QTimer()
    watch.timeout.connect(look)
    watch.start(5)
    from trm_bio.cli import main

    main(["app", "--library", str(scratch / "lib.sqlite3")])
    return found


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "cpu":
        result = cpu(float(sys.argv[2]), "--client" in sys.argv)
    else:
        result = start(float(sys.argv[2]))
    print(json.dumps(result), flush=True)
