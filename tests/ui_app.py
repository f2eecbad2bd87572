"""Shared set-up of the UI tests: the real app on a temporary library and settings folder."""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QSettings

from devices.simulated import SimulatedStrap
from trm_bio.app import AppParts, build
from trm_bio.controller import SessionController, SessionOptions
from trm_bio.store.library import Library
from trm_bio.ui.settings import Settings, use_settings_folder

SPEED = 50.0  # the simulated strap runs 50 times faster than real time


def settings_in(folder: Path) -> Settings:
    """Settings kept in ``folder`` (never the user's own)."""
    use_settings_folder(folder)
    return Settings(QSettings(str(folder / "trm-bio.ini"), QSettings.Format.IniFormat))


def open_app(qtbot, tmp_path: Path, **options) -> AppParts:
    """The app built by the composition root, shown offscreen and active."""
    library = Library.open(tmp_path / "lib.sqlite3")
    options.setdefault("speed", SPEED)
    parts = build(library, settings=settings_in(tmp_path / "settings"), **options)
    window = parts.window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    activate(qtbot, window)
    return parts


def activate(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def record_session(
    library: Library, scenario: str = "helpnow", duration_s: float = 600.0, seed: int = 3
) -> int:
    """A stored session made through the controller at full speed, with three sensations
    logged at 150, 300 and 420 s and a skill started at the beginning."""
    controller = SessionController(library)
    strap = SimulatedStrap(scenario, seed=seed, speed=math.inf, duration_s=duration_s)
    controller.start_live(strap, SessionOptions(person="Sam", source_kind="simulated"))
    controller.start_skill("grounding")
    deadline = time.monotonic() + 30
    while (strap.running or controller.session.packets_seen == 0) and time.monotonic() < deadline:
        strap.wait(0.25)  # wake when beats arrive
        controller.poll()
    controller.poll()
    for time_s, valence, word in (
        (150, "unpleasant", "tight"),
        (300, "pleasant", "warm"),
        (420, "neutral", "still"),
    ):
        controller.log_sensation(valence, (word,), time_s=time_s)
    session_id = controller.stop()
    assert session_id is not None
    return session_id


def answer_dialog(qtbot, button_text: str) -> list[str]:
    """Click ``button_text`` on the next modal message box as soon as it opens.

    Returns a list that receives the box's text when it was answered (empty until then).
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    asked: list[str] = []
    timer = QTimer()
    timer.setInterval(20)

    def look() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            timer.stop()
            asked.append(box.text())
            button = next(b for b in box.buttons() if b.text() == button_text)
            button.click()

    timer.timeout.connect(look)
    timer.start()
    timers = getattr(qtbot, "_answer_timers", [])
    timers.append(timer)  # kept alive until the test ends
    qtbot._answer_timers = timers
    return asked


def close_modal_dialog(qtbot) -> list[str]:
    """Close the next modal dialog (not a message box) once it opens; returns its titles."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    closed: list[str] = []
    timer = QTimer()
    timer.setInterval(20)

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog) and not isinstance(dialog, QMessageBox):
            timer.stop()
            closed.append(dialog.windowTitle())
            dialog.reject()

    timer.timeout.connect(look)
    timer.start()
    timers = getattr(qtbot, "_answer_timers", [])
    timers.append(timer)
    qtbot._answer_timers = timers
    return closed
