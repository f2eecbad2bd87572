"""The composition root: the one place that knows every part of the app.

It opens nothing by itself on import. :func:`build` takes an open library and wires the
session controller, the sources (simulated strap, Bluetooth strap), the analysis of stored
sessions and the windows; :func:`run` adds the Qt application and the display check.

A simulated strap may run faster than real time (for demonstrations and tests). Its packets
then carry virtual host times, so the controller's clock must run at the same pace: the
:class:`SimulationClock` follows the running simulated strap.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devices.physiology import SCENARIOS
from trm_bio.controller import SessionController, SessionOptions
from trm_bio.core.pacer import PacerTrack
from trm_bio.core.regulation import RegulationParams
from trm_bio.errors import InputFileError, LibraryError, TrmBioError
from trm_bio.group import GroupController, participants_from_labels
from trm_bio.sources import GroupSources, check_scenario, open_group_sources, open_source
from trm_bio.store.library import GroupInfo, Library, SessionInfo
from trm_bio.ui.services import DeviceChoice, GroupChoice

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from devices.simulated import SimulatedStrap
    from devices.source import Source
    from trm_bio.history import SessionAnalysis
    from trm_bio.report.group import GroupSummary
    from trm_bio.report.trends import Trends
    from trm_bio.ui.group_window import GroupWindow
    from trm_bio.ui.main_window import MainWindow
    from trm_bio.ui.settings import Settings

log = logging.getLogger(__name__)

APP_TITLE = "trm-bio"  # the name Qt shows in every window's title

NO_DISPLAY = (
    "There is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); "
    "to run it without one, set QT_QPA_PLATFORM=offscreen."
)


def display_problem(
    environ: dict[str, str] | None = None, platform: str = sys.platform
) -> str | None:
    """A sentence when Qt would find no display (Qt aborts without a message then), else None."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return None
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY


class SimulationClock:
    """Host monotonic time (ns), running at the pace of a sped-up simulated strap.

    Before the strap starts, and for any other source, it is the plain monotonic clock.
    """

    def __init__(self) -> None:
        self.source: SimulatedStrap | None = None

    def follow(self, source: Source) -> None:
        """Follow ``source`` when it is a simulated strap running faster or slower than life."""
        from devices.simulated import SimulatedStrap

        self.source = None
        if isinstance(source, SimulatedStrap) and source.speed != 1.0:
            self.source = source

    def __call__(self) -> int:
        now_ns = time.monotonic_ns()
        source = self.source
        if source is None or source.start_ns is None:
            return now_ns
        return source.start_ns + round((now_ns - source.start_ns) * source.speed)


@dataclass
class Services:
    """What the windows may ask for (see :class:`trm_bio.ui.services.AppServices`)."""

    library: Library
    clock: SimulationClock
    controller: SessionController
    speed: float = 1.0
    seed: int = 0
    link_drops: tuple[tuple[float, float], ...] = ()
    h10: bool = False  # the simulated strap acts as a Polar H10 (ECG and accelerometer)
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    band: tuple[float, float] = field(
        default_factory=lambda: (-RegulationParams().low_enter, RegulationParams().high_enter)
    )
    #: Extra :class:`devices.ble.BleStrap` arguments: bleak backends and bounds (the tests').
    ble_options: dict[str, Any] = field(default_factory=dict)
    #: A simulated strap started ahead of the window, for its first preview (see warm_up).
    warm: tuple[DeviceChoice, Source] | None = None
    #: The simulated person's resonance rate (breaths/min; None: an ordinary simulated heart).
    resonance_rate: float | None = None
    #: The breathing guide's record: the window's pacer writes it, a simulated person with a
    #: resonance rate breathes along with it.
    pacer_track: PacerTrack = field(default_factory=PacerTrack)
    #: The group session (its own clock: its simulated people run beside the main window's).
    group: GroupController | None = None
    group_clock: SimulationClock = field(default_factory=SimulationClock)
    settings: Settings | None = None  # the windows' settings (the group window's too)
    group_window: GroupWindow | None = None  # made when a group session first opens
    #: Shows an ended group session's summary (by its group id) instead of the group summary
    #: dialog (tests put a recorder of the calls here).
    group_summary: Callable[[int], None] | None = None
    _group_choice: GroupChoice | None = None
    _group_stops: list[Callable[[], None]] = field(default_factory=list)
    #: The live group's straps and their shared loop (Reconnect restarts one on it).
    _group_sources: GroupSources | None = None

    def person_resonance_rate(self, name: str) -> float | None:
        """The person's stored resonance rate (breaths/min), or None."""
        from trm_bio.store.person_resonance import resonance_rate

        person = self.library.find_person(name)
        return resonance_rate(self.library, person.id) if person is not None else None

    def scan(self, timeout_s: float) -> list[DeviceChoice]:
        from devices.ble import scan

        found = scan(timeout_s, scanner_backend=self.ble_options.get("scanner_backend"))
        return [DeviceChoice("ble", f.address, f.name, rssi=f.rssi) for f in found]

    def make_source(self, choice: DeviceChoice) -> Source:
        """A new, unstarted source for ``choice``; the clock follows a sped-up one."""
        source = open_source(
            "simulated" if choice.kind == "simulated" else "ble",
            choice.target,
            scenario=choice.scenario,
            seed=self.seed,
            speed=self.speed,
            link_drops=self.link_drops,
            ble_options=self.ble_options,
            resonance_rate=self.resonance_rate,
            guide=self.pacer_track,
            h10=self.h10,
        )
        self.clock.follow(source)
        return source

    def start_live(self, choice: DeviceChoice, options: SessionOptions) -> None:
        warm, self.warm = self.warm, None
        if warm is not None and warm[0] == choice and not options.record:
            # The strap started while the window was being built: its beat clock began then.
            source = warm[1]
            options = replace(options, start_ns=getattr(source, "start_ns", None))
        else:
            if warm is not None:
                warm[1].stop()
            source = self.make_source(choice)
        self.controller.start_live(source, options)

    def warm_up(self, choice: DeviceChoice) -> None:
        """Start ``choice``'s simulated strap now, for the preview :meth:`start_live` opens
        next: it starts as a strap already worn, whose first beat is sent at once, so the beat
        waits in the queue while the window is still being built and is drawn on its first
        tick."""
        if choice.kind == "simulated":
            from devices.simulated import SimulatedStrap

            source = self.make_source(choice)
            if isinstance(source, SimulatedStrap):
                source.start(worn=True)
            else:
                source.start()
            self.warm = (choice, source)

    def list_sessions(self) -> list[SessionInfo]:
        return self.library.list_sessions()

    def recovered_sessions(self) -> list[SessionInfo]:
        """The sessions found cut short (their recorder had stopped) when the library was
        opened, and marked "interrupted"."""
        found = []
        for session_id in self.library.recovered:
            try:
                found.append(self.library.get_session(session_id))
            except TrmBioError:  # damaged since: every list names it
                continue
        return found

    # -- group sessions ----------------------------------------------------------------------
    def _group(self) -> GroupController:
        if self.group is None:
            self.group = GroupController(
                self.library, clinician_mode=self.controller.clinician_mode,
                clock_ns=self.group_clock,
            )
        return self.group

    def open_group_window(self) -> GroupWindow:
        """The group window (made the first time), shown and raised."""
        if self.group_window is None:
            from trm_bio.ui.group_window import GroupWindow
            from trm_bio.ui.settings import Settings

            self.settings = self.settings or Settings()
            self.group_window = GroupWindow(self._group(), self, self.settings)
        window = self.group_window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def start_group(
        self, choice: GroupChoice, sources: Sequence[Source] | None = None
    ) -> int | None:
        """Start a recorded group session for ``choice`` (one source per participant, made
        by :func:`~trm_bio.sources.open_group_sources` unless given); its group id."""
        group = self._group()
        if group.running and not group.is_replay:
            raise TrmBioError("a group session is already running; end it first")
        on_stop: Callable[[], None] | None = None
        if sources is None:
            sources, on_stop = open_group_sources(
                "simulated" if choice.kind == "simulated" else "ble",
                choice.targets,
                people=len(choice.labels) if choice.kind == "simulated" else None,
                scenario=choice.scenario,
                seed=self.seed,
                speed=self.speed,
                link_drops=self.link_drops,
                ble_options=self.ble_options,
                h10=self.h10,
            )
        self._group_stops = [on_stop] if on_stop is not None else []
        self._group_choice = choice
        self._group_sources = sources if isinstance(sources, GroupSources) else None
        if sources:
            self.group_clock.follow(sources[0])  # the simulated people share one pace
        from trm_bio.group import default_group_name

        return group.start_live(
            list(sources),
            participants_from_labels(choice.labels),
            name=choice.name or default_group_name(),
            source_kind=choice.kind,
            on_stop=self._group_stopped,
        )

    def _group_stopped(self) -> None:
        stops, self._group_stops = self._group_stops, []
        for stop in stops:
            stop()

    def open_group(self, choice: GroupChoice, sources: Sequence[Source] | None = None) -> None:
        """Start a group session and show it in the group window (see :meth:`start_group`)."""
        window = self.group_window
        if window is not None and not window.may_end_recording(
            "A group session is being recorded. End it and save it to start another?",
            "End, save and start", "Cancel",
        ):
            return
        if window is not None and window.group.running:
            window.group.stop()  # a replay
        self.start_group(choice, sources)
        self.open_group_window().show_live(choice.name)

    def open_group_replay(self, group_id: int, speed: float = 1.0) -> None:
        self.library.get_group(group_id)  # a clear sentence if there is no such group
        self.open_group_window().open_replay(group_id, speed)

    def reconnect_seat(self, seat: int) -> None:
        """A new source for participant ``seat``, of the kind and strap they had."""
        group, choice = self._group(), self._group_choice
        if choice is None or not group.running or group.is_replay:
            raise TrmBioError("only a live group session can take another strap")
        if not 0 <= seat < len(choice.labels):
            raise TrmBioError(f"there is no participant {seat + 1} in this group")
        if choice.kind == "simulated":  # cannot restart: the same person made anew
            made, _ = open_group_sources(
                "simulated", people=seat + 1, scenario=choice.scenario, seed=self.seed,
                speed=self.speed, h10=self.h10,
            )
            group.replace_source(seat, made[seat])
            return
        sources = self._group_sources
        if sources is None or sources.strap_group is None:
            raise TrmBioError("this group's straps were not connected by the app; "
                              "end the session and start it again")
        # The new strap joins the group's own loop thread (its stop ends it with the rest).
        group.replace_source(seat, sources.restart(seat))

    def show_group_summary(self, group_id: int) -> None:
        if self.group_summary is not None:
            self.group_summary(group_id)
            return
        from trm_bio.ui.group_summary import show_group_summary

        show_group_summary(self.group_window, self, group_id)

    def analyse(self, session_id: int) -> SessionAnalysis:
        from trm_bio.history import analyse_session

        return analyse_session(self.library, session_id)

    def save_session_report(self, analysis: SessionAnalysis, path: str | Path) -> Path:
        from trm_bio.report import save_session_report
        from trm_bio.report.group import group_sentence
        from trm_bio.store.person_resonance import latest_for_name

        resonance = latest_for_name(self.library, analysis.info.person_name)
        group = group_sentence(self.library, analysis.info)  # a group's participant: says so
        return save_session_report(analysis, path, None, resonance, group)

    def person_trends(self, person: str) -> Trends:
        from trm_bio.report.trends import person_trends

        return person_trends(self.library, person)

    def save_trends_report(self, trends: Trends, path: str | Path) -> Path:
        from trm_bio.report import save_trends_report

        return save_trends_report(trends, path)

    def people(self) -> list[str]:
        return [person.name for person in self.library.list_people()]

    def last_person(self) -> str | None:
        named = [info.person_name for info in self.library.list_sessions() if info.person_name]
        return named[-1] if named else None

    def recording_id(self) -> int | None:
        c = self.controller
        return c.session_id if c.recorder is not None else None

    def delete_session(self, session_id: int) -> None:
        if session_id == self.recording_id():
            # This program's own recorder may delete its session (the library allows it);
            # from the library dialog that would pull the session out from under it.
            raise LibraryError(
                f"session {session_id} is being recorded right now; end the session before "
                "deleting it"
            )
        self.library.delete_session(session_id)

    def add_self_rating(
        self, session_id: int, moment: str, distress: float | None, zone: str | None
    ) -> None:
        from trm_bio.core.events import self_rating

        try:
            payload = self_rating(moment, distress, zone)
        except ValueError as exc:
            raise TrmBioError(str(exc)) from None
        info = self.library.get_session(session_id)
        self.library.add_event(session_id, info.duration_s or 0.0, "zone_rating",
                               payload.to_json())

    def edit_session(self, session_id: int, notes: str, tags: Sequence[str]) -> None:
        self.library.update_session(session_id, notes=notes, tags=list(tags))

    def export_session(self, session_id: int, fmt: str, path: str | Path) -> list[Path]:
        from trm_bio.exporting import export_session
        from trm_bio.store.library import is_library_file
        from trm_bio.store.paths import refuse_symlink

        path = Path(path)
        if is_library_file(path, self.library.path):
            raise InputFileError(f"{path} is the session library itself; choose another name")
        refuse_symlink(path)
        return export_session(self.library, session_id, fmt, path)

    # -- stored group sessions (the library dialog, the group summary) -----------------------
    def _refuse_the_library(self, path: Path) -> None:
        from trm_bio.store.library import is_library_file
        from trm_bio.store.paths import refuse_symlink

        if is_library_file(path, self.library.path):
            raise InputFileError(f"{path} is the session library itself; choose another name")
        refuse_symlink(path)

    def list_groups(self) -> list[GroupInfo]:
        return self.library.list_groups()

    def summarise_group(self, group_id: int) -> GroupSummary:
        from trm_bio.report.group import group_summary

        return group_summary(self.library, group_id)

    def save_group_report(self, group_id: int, path: str | Path, *, seats: bool = False) -> Path:
        from trm_bio.report import save_group_report

        path = Path(path)
        self._refuse_the_library(path)
        return save_group_report(self.summarise_group(group_id), path, seats=seats)

    def save_participant_report(self, session_id: int, path: str | Path) -> Path:
        from trm_bio.report.group import save_participant_report

        path = Path(path)
        self._refuse_the_library(path)
        return save_participant_report(self.library, session_id, path)

    def save_participant_reports(self, group_id: int, folder: str | Path) -> list[Path]:
        from trm_bio.report.group import save_participant_reports

        return save_participant_reports(self.library, group_id, folder)

    def export_group(self, group_id: int, fmt: str, path: str | Path) -> list[Path]:
        from trm_bio.exporting import export_group

        path = Path(path)
        self._refuse_the_library(path)
        return export_group(self.library, group_id, fmt, path)

@dataclass
class AppParts:
    library: Library
    services: Services
    controller: SessionController
    window: MainWindow


def build(
    library: Library,
    *,
    settings: Settings | None = None,
    device: str | None = None,
    replay: int | None = None,
    scenario: str = "calm",
    speed: float = 1.0,
    clinician: bool | None = None,
    seed: int = 0,
    link_drops: tuple[tuple[float, float], ...] = (),
    h10: bool = False,
    connect: bool = True,
    lsl: bool | None = None,
    lsl_name: str | None = None,
    resonance_rate: float | None = None,
    group: GroupChoice | None = None,
    replay_group: int | None = None,
) -> AppParts:
    """Wire the app on an open library (a QApplication must exist).

    Parameters
    ----------
    device : str, optional
        A Bluetooth strap's address or name to connect instead of the simulated strap.
    replay : int, optional
        A stored session to open for replay.
    scenario, speed, seed, link_drops
        The simulated strap's scenario, pace (1 is real time), seed and link drops (s).
    h10 : bool
        The simulated strap acts as a Polar H10 (ECG and accelerometer frames too).
    clinician : bool, optional
        Clinician mode (default: as remembered).
    connect : bool
        Connect the strap (or open the replay) at once.
    lsl : bool, optional
        Publish on Lab Streaming Layer (default: as remembered; the window's setting).
    lsl_name : str, optional
        The published streams' name (default trm-bio).
    resonance_rate : float, optional
        The simulated person's resonance rate (breaths/min): they breathe along with the
        breathing guide.
    group : GroupChoice, optional
        Start this group session in the group window (the main window waits, not shown).
    replay_group : int, optional
        A stored group session to open for replay in the group window.
    """
    from trm_bio.ui.settings import Settings

    check_scenario(scenario)
    if not speed > 0:
        raise TrmBioError("The simulated strap's speed must be above 0.")
    settings = settings or Settings()
    if lsl is not None:
        settings.lsl = lsl
    clock = SimulationClock()
    on = settings.clinician_mode if clinician is None else clinician
    controller = SessionController(library, clinician_mode=on, clock_ns=clock)
    if lsl_name:
        controller.lsl_name = lsl_name
    services = Services(
        library, clock, controller, speed=speed, seed=seed, link_drops=tuple(link_drops),
        resonance_rate=resonance_rate,
        h10=h10,
        settings=settings,
    )
    simulated = DeviceChoice("simulated", scenario=scenario)
    grouped = group is not None or replay_group is not None
    if grouped:
        connect = False  # the group window is the app's window this time
        if replay_group is not None:
            library.get_group(replay_group)  # a clear sentence if there is no such group
    if connect and replay is None and not device:
        services.warm_up(simulated)  # its first second passes while the window is built
    from trm_bio.ui.main_window import MainWindow

    window = MainWindow(controller, services, settings)
    if connect:
        if replay is not None:
            library.get_session(replay)  # a clear sentence if there is no such session
            window.open_replay(replay)
        elif device:
            window.connect_device(DeviceChoice("ble", device, device))
        else:
            window.connect_device(simulated)
    if group is not None:
        services.open_group(group)
    elif replay_group is not None:
        services.open_group_replay(replay_group)
    return AppParts(library, services, controller, window)



def configure_application(app: QApplication) -> None:
    """The application's names: its settings' place, and the name Qt adds to window titles.

    Qt appends the display name to every window title that does not end with it, so the
    windows' titles end with it (or are it) rather than repeat it.
    """
    from trm_bio.ui.settings import APPLICATION, ORGANISATION

    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_TITLE)


def run(
    library_file: Path,
    *,
    device: str | None = None,
    replay: int | None = None,
    scenario: str = "calm",
    speed: float = 1.0,
    seed: int = 0,
    h10: bool = False,
    clinician: bool | None = None,
    lsl: bool | None = None,
    lsl_name: str | None = None,
    resonance_rate: float | None = None,
    group: GroupChoice | None = None,
    replay_group: int | None = None,
) -> int:
    """Open the app on its window until it is closed; returns the exit code.

    With ``group`` or ``replay_group`` the group window opens instead of the main window.
    """
    problem = display_problem()
    if problem:
        raise TrmBioError(problem)
    from PySide6.QtWidgets import QApplication

    from trm_bio.ui import theme
    from trm_bio.ui.settings import Settings

    running = QApplication.instance()  # a QApplication already made (the tests make one)
    app = (
        running
        if isinstance(running, QApplication)
        else QApplication([sys.argv[0] if sys.argv else "trm-bio"])
    )
    configure_application(app)
    settings = Settings()
    theme.apply_theme(app, theme.TextScale(theme.LARGE_TEXT_FACTOR if settings.large_text else 1.0))
    library = Library.open(library_file)
    try:
        parts = build(
            library,
            settings=settings,
            device=device,
            replay=replay,
            scenario=scenario,
            speed=speed,
            seed=seed,
            h10=h10,
            clinician=clinician,
            lsl=lsl,
            lsl_name=lsl_name,
            resonance_rate=resonance_rate,
            group=group,
            replay_group=replay_group,
        )
        if group is None and replay_group is None:
            parts.window.show()
            from trm_bio.ui import first_run

            first_run.offer(parts.window)  # the guide, at the first launch only
        return int(app.exec())
    finally:
        library.close()
