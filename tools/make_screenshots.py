"""Make the README's screenshots: every screen of a session, at 1366x768.

Run from the repository root: ``.venv/bin/python tools/make_screenshots.py [--out docs]``.
It drives the real app on a simulated strap (sped up) and a throw-away library and settings
folder, so nothing of the user's own is touched, and saves in ``--out``: the first-run
guide (guide.png), the live screen (live.png), Help Now! with a strategy's guidance on
both screens (helpnow.png, helpnow-client.png), the client view (client.png), the
summary (summary.png), the event list with a correction (events.png), the session
report's first two pages (report.png, report-plots.png), the library (library.png) and a
replay (replay.png); then a group session of 8 simulated participants, one of whose straps
drops: the group window (group.png) and the group's client view (group-client.png).
``--group`` makes the last two only.

Without a display it starts its own X server of 1366x768 (Debian's ``xvfb``, plus
``libxcb-icccm4`` and ``libxcb-keysyms1`` for Qt); with ``DISPLAY`` set it draws there.
The report's pages are drawn by ``pdftoppm`` (Debian's ``poppler-utils``), left out when it
is not there. The offscreen platform would do too, but draws no window frames and fonts
differ from a desktop's.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREEN = (1366, 768)  # the X server's screen, the main window and the client view (px)
LIVE_UNTIL_S = 690.0  # how far into the session the live screenshot is taken
REPLAY_AT_S = 620.0
#: (time s, valence, words, where, strength): what the person notices during the session
SENSATIONS = (
    (200.0, "pleasant", ("warm", "settled"), "hands", 5),
    (395.0, "unpleasant", ("tight",), "chest", 7),
    (640.0, "pleasant", ("calm",), "belly", 4),
)
HELP_NOW_S = (420.0, 470.0)  # Help Now! from, back to the step at
EARLIER_SESSIONS = (("calm", 1), ("stress", 2))  # the person's earlier sessions (scenario, seed)


def start_x_server() -> subprocess.Popen[bytes]:
    """Start Xvfb on a free display and point DISPLAY at it."""
    if shutil.which("Xvfb") is None:
        raise SystemExit(
            "There is no display and no Xvfb to start one: install xvfb (Debian: apt-get "
            "install xvfb libxcb-icccm4 libxcb-keysyms1) or set DISPLAY."
        )
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten", "tcp",
        ],
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


def record_earlier(library_file: Path) -> None:
    """The person's earlier sessions, recorded at full speed (the library shows them)."""
    from devices.simulated import SimulatedStrap
    from trm_bio.controller import SessionController, SessionOptions
    from trm_bio.store.library import Library

    library = Library.open(library_file)
    for scenario, seed in EARLIER_SESSIONS:
        controller = SessionController(library)
        strap = SimulatedStrap(scenario, seed=seed, speed=math.inf, duration_s=480.0)
        controller.start_live(strap, SessionOptions(person="Sam", source_kind="simulated"))
        controller.start_skill("grounding")
        deadline = time.monotonic() + 60
        while strap.running and time.monotonic() < deadline:
            strap.wait(0.25)
            controller.poll()
        controller.poll()
        controller.stop()
    library.close()


def make_screenshots(out: Path) -> None:
    """Drive the app and save every screen's png in ``out`` (see module doc)."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from trm_bio.app import build
    from trm_bio.controller import PracticeAction
    from trm_bio.store.library import Library
    from trm_bio.ui import first_run, theme
    from trm_bio.ui.settings import Settings, use_settings_folder

    scratch = Path(tempfile.mkdtemp(prefix="trm-bio-shots-"))
    use_settings_folder(scratch)
    record_earlier(scratch / "lib.sqlite3")
    app = QApplication(["trm-bio"])
    theme.apply_theme(app, theme.TextScale())
    library = Library.open(scratch / "lib.sqlite3")
    settings = Settings(QSettings(str(scratch / "trm-bio.ini"), QSettings.Format.IniFormat))
    settings.span = "15 min"
    parts = build(library, settings=settings, speed=40, scenario="stress")
    window, controller = parts.window, parts.controller
    window.resize(*SCREEN)
    window.show()
    loop = QEventLoop()
    out.mkdir(parents=True, exist_ok=True)
    saved: list[str] = []

    def run_for(seconds: float) -> None:
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def save(widget: object, name: str) -> None:
        """A widget's own picture, or the whole screen (a dialog over the window)."""
        if widget is None:
            image = app.primaryScreen().grabWindow(0)
        else:
            image = widget.grab()  # type: ignore[attr-defined]
        image.save(str(out / name))
        saved.append(name)

    def tick_words(*words: str) -> None:
        for word in words:
            item = window.tracking.words.findItems(word, Qt.MatchFlag.MatchExactly)[0]
            item.setCheckState(Qt.CheckState.Checked)

    run_for(0.5)
    guide = first_run.show_guide(window)
    guide.go(1)  # the zones
    run_for(0.5)
    save(None, "guide.png")
    guide.close()
    window.person.setText("Sam")
    window.notes.setText("third session: settling after a hard week")
    window.start_session()
    window.skills.select("plan", "settle_and_stay")
    window.skills.begin()
    window.client.resize(*SCREEN)
    window.client.show()
    window.client.move(0, 0)
    pending = list(SENSATIONS)
    in_help_now = helped = False
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
        if not in_help_now and not helped and HELP_NOW_S[0] <= now_s < HELP_NOW_S[1]:
            window.skills.help_now()
            in_help_now = True
            run_for(0.3)
            state = controller.flow_state()
            push = [s.id for s in state.strategies if s.id == "push_wall"]
            window.skills.choose_strategy(push[0] if push else state.strategies[0].id)
            run_for(0.5)
            save(window, "helpnow.png")
            save(window.client, "helpnow-client.png")
        if in_help_now and now_s >= HELP_NOW_S[1] and controller.flow_state().in_help_now:
            window.skills.act(PracticeAction.RETURN_FROM_HELP_NOW)
            in_help_now, helped = False, True
    # A sensation being noted, to show the details form mid-entry.
    window.tracking.notice("neutral")
    tick_words("steady")
    run_for(0.5)
    save(window, "live.png")
    save(window.client, "client.png")
    window.tracking.commit()
    run_for(1.0)
    session_id = window.stop_session()
    window.client.hide()
    run_for(0.5)
    summary = window.reports.summary_dialog
    if summary is not None:
        summary.resize(min(summary.width(), SCREEN[0]), min(summary.height(), SCREEN[1]))
        run_for(0.3)
        save(summary, "summary.png")
        summary.close()
    # The event list of the session just ended, a sensation being corrected.
    dock = window.event_list
    dock.show()
    dock.follow()
    panel = dock.panel
    rows = [r for r, e in enumerate(panel.events) if e.kind == "sensation"]
    if rows:
        panel.select_row(rows[1] if len(rows) > 1 else rows[0])
        dialog = panel.edit_dialog(panel.selected())
        dialog.text.setText("tight, then softer")
        dialog.show()
        dialog.move(
            window.x() + window.width() - dialog.width() - 380, window.y() + SCREEN[1] // 3
        )
        run_for(0.5)
        save(None, "events.png")
        dialog.close()
    dock.hide()
    report_pages(parts.services, session_id, out, saved)
    browser = window.make_browser()
    browser.show()
    run_for(0.5)
    save(None, "library.png")
    browser.close()
    window.open_replay(session_id, 16.0)
    run_for(0.5)
    controller.replay.pause()
    window.span.setCurrentText("Whole session")
    window.seek(REPLAY_AT_S)
    run_for(1.5)
    save(window, "replay.png")
    window.close()
    library.close()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"saved {', '.join(saved)} in {out}")


GROUP_NAMES = ("Ana Lima", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eve Stone",
               "Femi Ade", "Gus Ho", "Hana Sato")
GROUP_UNTIL_S = 560.0  # how far into the group session its screenshots are taken
GROUP_DROP = (540.0, 620.0)  # participant 6's strap is away then (it shows "reconnecting")


def make_group_screenshots(out: Path) -> None:
    """The group window and its client view at 1366x768, 8 simulated participants."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from devices.simulated import SimulatedStrap
    from trm_bio.app import build
    from trm_bio.store.library import Library
    from trm_bio.ui import theme
    from trm_bio.ui.services import GroupChoice
    from trm_bio.ui.settings import Settings, use_settings_folder

    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="trm-bio-shots-group-"))
    use_settings_folder(scratch)
    app = QApplication.instance() or QApplication(["trm-bio"])
    theme.apply_theme(app, theme.TextScale())  # type: ignore[arg-type]
    library = Library.open(scratch / "lib.sqlite3")
    settings = Settings(QSettings(str(scratch / "trm-bio.ini"), QSettings.Format.IniFormat))
    parts = build(library, settings=settings, speed=40, connect=False)
    scenarios = ("calm", "stress", "calm", "helpnow", "calm", "stress", "calm", "stress")
    straps = [
        SimulatedStrap(scenario, seed=30 + seat, speed=40,
                       link_drops=(GROUP_DROP,) if seat == 5 else ())
        for seat, scenario in enumerate(scenarios)
    ]
    parts.services.open_group(
        GroupChoice("simulated", GROUP_NAMES, name="Tuesday resiliency group"), sources=straps
    )
    window = parts.services.group_window
    assert window is not None
    window.resize(*SCREEN)
    window.move(0, 0)
    loop = QEventLoop()

    def run_for(seconds: float) -> None:
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    window.skills.select("skill", "grounding")
    window.skills.begin()
    window.client.resize(*SCREEN)
    window.toggle_client_view()
    window.client.move(0, 0)
    while window.group.now_s() < GROUP_UNTIL_S:
        run_for(0.1)
    window.select(2)  # the next log is for participant 3 alone
    window.refresh()
    run_for(0.6)  # the dots' glide ends
    for widget, name in ((window, "group.png"), (window.client, "group-client.png")):
        if not widget.grab().save(str(out / name)):
            raise SystemExit(f"could not save {out / name}")
    window.stop_session()
    window.client.hide()
    window.close()
    library.close()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"saved group.png, group-client.png in {out}")


def report_pages(services: object, session_id: int, out: Path, saved: list[str]) -> None:
    """The session report's first two pages as png (by pdftoppm, when it is there)."""
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is not here (Debian: poppler-utils): the report is left out")
        return
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "report.pdf"
        analysis = services.analyse(session_id)  # type: ignore[attr-defined]
        services.save_session_report(analysis, pdf)  # type: ignore[attr-defined]
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "2", str(pdf), f"{folder}/p"],
            check=True,
        )
        pages = sorted(Path(folder).glob("p-*.png"))
        for page, name in zip(pages, ("report.png", "report-plots.png"), strict=False):
            shutil.copyfile(page, out / name)
            saved.append(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder (default docs)")
    parser.add_argument("--group", action="store_true", help="the group screenshots only")
    args = parser.parse_args(argv)
    server = None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        server = start_x_server()
    try:
        if not args.group:
            make_screenshots(args.out.resolve())
        make_group_screenshots(args.out.resolve())
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
