"""Make the README's screenshots: the live screen, the client view and a replay.

Run from the repository root: ``.venv/bin/python tools/make_screenshots.py [--out docs]``.
It drives the real app on a simulated strap (sped up) and a throw-away library and settings
folder, so nothing of the user's own is touched. Without a display it starts its own X
server (Debian's ``xvfb``, plus ``libxcb-icccm4`` and ``libxcb-keysyms1`` for Qt); with
``DISPLAY`` set it draws there. The offscreen platform would do too, but draws no window
frames and fonts differ from a desktop's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1500, 900)  # the main window, in pixels
CLIENT_SIZE = (1000, 720)
LIVE_UNTIL_S = 690.0  # how far into the session the live screenshot is taken
REPLAY_AT_S = 620.0
#: (time s, valence, words, where, strength): what the person notices during the session
SENSATIONS = (
    (200.0, "pleasant", ("warm", "settled"), "hands", 5),
    (395.0, "unpleasant", ("tight",), "chest", 7),
    (640.0, "pleasant", ("calm",), "belly", 4),
)
HELP_NOW_S = (420.0, 470.0)  # Help Now! from, back to the step at


def start_x_server() -> subprocess.Popen[bytes]:
    """Start Xvfb on a free display and point DISPLAY at it."""
    if shutil.which("Xvfb") is None:
        raise SystemExit(
            "There is no display and no Xvfb to start one: install xvfb (Debian: apt-get "
            "install xvfb libxcb-icccm4 libxcb-keysyms1) or set DISPLAY."
        )
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # Xvfb writes its display number once it is ready
    if not number:
        server.kill()
        raise SystemExit("Xvfb did not start.")
    os.environ["DISPLAY"] = f":{number}"
    return server


def make_screenshots(out: Path) -> None:
    """Drive the app and save live.png, client.png and replay.png in ``out``."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from trm_bio.app import build
    from trm_bio.controller import PracticeAction
    from trm_bio.store.library import Library
    from trm_bio.ui import theme
    from trm_bio.ui.settings import Settings, use_settings_folder

    scratch = Path(tempfile.mkdtemp(prefix="trm-bio-shots-"))
    use_settings_folder(scratch)
    app = QApplication(["trm-bio"])
    theme.apply_theme(app, theme.TextScale())
    library = Library.open(scratch / "lib.sqlite3")
    settings = Settings(QSettings(str(scratch / "trm-bio.ini"), QSettings.Format.IniFormat))
    settings.span = "15 min"
    parts = build(library, settings=settings, speed=40, scenario="stress")
    window, controller = parts.window, parts.controller
    window.resize(*SIZE)
    window.show()
    loop = QEventLoop()

    def run_for(seconds: float) -> None:
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def tick_words(*words: str) -> None:
        for word in words:
            item = window.tracking.words.findItems(word, Qt.MatchFlag.MatchExactly)[0]
            item.setCheckState(Qt.CheckState.Checked)

    run_for(0.5)
    window.person.setText("Sam")
    window.notes.setText("second session: settling after a hard week")
    window.start_session()
    window.skills.select("plan", "settle_and_stay")
    window.skills.begin()
    window.client.resize(*CLIENT_SIZE)
    window.client.show()
    pending = list(SENSATIONS)
    in_help_now = False
    while controller.now_s() < LIVE_UNTIL_S:
        run_for(0.05)
        now_s = controller.now_s()
        if pending and now_s >= pending[0][0]:
            _, valence, words, where, strength = pending.pop(0)
            window.tracking.notice(valence)
            tick_words(*words)
            window.tracking.location.setCurrentText(where)
            window.tracking.intensity.setValue(strength)
            window.tracking.commit()
        if not in_help_now and HELP_NOW_S[0] <= now_s < HELP_NOW_S[1]:
            window.skills.help_now()
            in_help_now = True
            run_for(0.3)
            window.skills.choose_strategy(controller.flow_state().strategies[0].id)
        if in_help_now and now_s >= HELP_NOW_S[1] and controller.flow_state().in_help_now:
            window.skills.act(PracticeAction.RETURN_FROM_HELP_NOW)
    # A sensation being noted, to show the details form mid-entry.
    window.tracking.notice("neutral")
    tick_words("steady")
    run_for(0.5)
    out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out / "live.png"))
    window.client.grab().save(str(out / "client.png"))
    window.tracking.commit()
    run_for(1.0)
    session_id = window.stop_session()
    if window.reports.summary_dialog is not None:
        window.reports.summary_dialog.close()
    window.client.hide()
    window.open_replay(session_id, 16.0)
    run_for(0.5)
    controller.replay.pause()
    window.span.setCurrentText("Whole session")
    window.seek(REPLAY_AT_S)
    run_for(1.5)
    window.grab().save(str(out / "replay.png"))
    window.close()
    library.close()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"saved live.png, client.png and replay.png in {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder (default docs)")
    args = parser.parse_args(argv)
    server = None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        server = start_x_server()
    try:
        make_screenshots(args.out.resolve())
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
