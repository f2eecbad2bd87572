"""The session controller: what a window or a terminal asks of a running session.

It owns one source (a strap, the simulated strap, or a replay), the library, the
:class:`~trm_bio.session.Session` pipeline and the practice flow, and offers the actions a
person takes: start and stop a session, walk through skills, log sensations, zone ratings,
Help Now! and markers, replay with speed and seek. It reads the clock (host monotonic time)
so that the session and the flow do not have to. No Qt here: the window drives
:meth:`poll` from a timer, the CLI from a loop, tests directly.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from devices.packet import LinkState, Packet, StatusEvent
from devices.pmd import PmdFrame
from devices.source import Source
from skills.flow import FlowEvent, FlowState, PracticeFlow
from skills.loader import load_plans, load_skills
from skills.model import PlanLibrary, SkillLibrary
from skills.sensations import SensationLog, Valence, Zone, ZoneRating
from trm_bio.core.artifacts import NORMAL
from trm_bio.core.baseline import Baseline
from trm_bio.core.events import SESSION_SOURCE, Event, EventKind, TextPayload, self_rating
from trm_bio.core.regulation import Zone as ZoneCode
from trm_bio.core.timeline import Beats
from trm_bio.errors import LibraryError, TrmBioError
from trm_bio.lsl_outlets import DEFAULT_STREAM_NAME
from trm_bio.session import Session, SessionUpdate
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder
from trm_bio.store.replay import RecordedEvent, ReplaySource, packets_before

log = logging.getLogger(__name__)

#: What the live analysis loads at a session's second beat (scipy.ndimage: a quarter of a
#: second): loaded on a thread of its own once the first beat is on the screen, so that
#: neither the first screen nor a later beat waits for it.
LATER_MODULES = ("scipy.ndimage",)


def load_later_modules() -> threading.Thread:
    """Import :data:`LATER_MODULES` on a daemon thread (started; returned for the tests)."""

    def load() -> None:
        for name in LATER_MODULES:
            importlib.import_module(name)

    thread = threading.Thread(target=load, name="trm-bio later modules", daemon=True)
    thread.start()
    return thread

#: What a strap streams and a pause lets go: heart-rate packets and PMD (ECG, ACC) frames.
_STREAMED = (Packet, PmdFrame)


@dataclass(frozen=True)
class ReplayStatus:
    """A replay's position and state, for the screen."""

    position_s: float
    end_s: float
    paused: bool
    finished: bool
    speed: float


@dataclass(frozen=True)
class Reading:
    """The newest values of the running session, for a screen (NaN or None where unknown).

    The metrics and the zone are those of the newest settled beat; ``hr_bpm`` falls back to
    the newest beat's own rate (bpm) while the window's is not known and that beat is clean.
    """

    hr_bpm: float = math.nan  # bpm
    rmssd_ms: float = math.nan  # ms
    respiration_bpm: float = math.nan  # breaths a minute
    coherence: float = math.nan
    artifact_rate: float = math.nan  # share of the recent beats that were corrected
    arousal: float = math.nan  # baseline spreads above the baseline
    lowness: float = math.nan  # low-side evidence, baseline spreads
    zone: ZoneCode = ZoneCode.UNKNOWN
    tentative: bool = False
    battery_percent: int | None = None
    #: The link: live, the strap's own state; in replay, the recording's.
    link: LinkState | None = None
    #: Whether the live session is paused (nothing is recorded).
    paused: bool = False
    #: Why HRV is not meaningful just now: "" (it is), "irregular", "ectopic" or "checking"
    #: (a failed check too early to name), held as the zone's words are.
    rhythm: str = ""
    #: Whether HRV numbers may show: False while the rhythm or the beat timing spoils them
    #: (the regulation model's one rule); ``rmssd_ms``, ``coherence`` and a breathing rate
    #: from heart rhythm are then NaN.
    hrv_shown: bool = True
    #: Why the zone is UNKNOWN, in a plain sentence ("" when a zone is shown): settling in,
    #: a rejected calibration, an irregular rhythm, too many corrected beats, implausible HRV.
    zone_reason: str = ""
    #: The session-start calibration is running (the person is settling in).
    calibrating: bool = False
    #: Seconds of settling left (NaN when not calibrating, or while it is extended).
    calibration_left_s: float = math.nan
    #: The reference in use: "session-start", "previous-sessions" or "" (none yet).
    baseline_source: str = ""
    #: Where the beats come from: "ECG" (a Polar strap's ECG), "strap RR", "" (none yet).
    beat_source: str = ""
    #: Where ``respiration_bpm`` comes from: "chest movement" (the strap's accelerometer),
    #: "heart rhythm" (the estimate from RSA), "" (unknown).
    respiration_source: str = ""
    #: The strap's ECG in words ("ECG clean", "ECG contact lost: ..."); "" without ECG.
    ecg_status: str = ""
    #: The baseline is kept but the windows are filling again (after a pause or a gap in
    #: the beats): ``arousal``, ``lowness`` and ``zone`` are the last known ones, held.
    settling: bool = False


class PracticeAction(StrEnum):
    """What a person can do in a running practice (see :meth:`SessionController.flow_action`)."""

    NEXT = "next"
    PREVIOUS = "previous"
    SKIP_STEP = "skip_step"
    SKIP_SKILL = "skip_skill"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    RETURN_FROM_HELP_NOW = "return_from_help_now"
    CHOOSE_STRATEGY = "choose_strategy"  # with a strategy id


class Publisher(Protocol):
    """Gets every drain of the running session (e.g. the Lab Streaming Layer outlets)."""

    def publish(
        self, update: SessionUpdate, session: Session, items: Sequence[object] = ()
    ) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SessionOptions:
    """What a new live session is started with."""

    person: str | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()
    record: bool = True
    source_kind: str = "ble"
    device_name: str = ""
    #: Host monotonic time (ns) of beat-clock zero; default: now. An LSL source fed by
    #: another trm-bio passes its publisher's session start so both share one beat clock.
    start_ns: int | None = None
    #: A group session's participant: the group (``Library.create_group``) and their place.
    group_id: int | None = None
    group_seat: int | None = None


def toggle_replay(replay: ReplaySource, *, finished: bool, paused: bool) -> None:
    """Play or pause ``replay`` as a play button does; at the end, play from the start.

    ``finished`` and ``paused`` say the state to act on (a group's replays act together
    on the group's state).
    """
    if finished:
        replay.seek(0.0)
        replay.resume()
    elif paused:
        replay.resume()
    else:
        replay.pause()


def _load_catalogue(skills_dir: Any, clinician_mode: bool) -> tuple[SkillLibrary, PlanLibrary]:
    """The shipped and the clinician's own skills and plans."""
    skills = load_skills(skills_dir, clinician_mode=clinician_mode)
    return skills, load_plans(skills_dir, clinician_mode=clinician_mode, skills=skills)


class SessionController:
    """Runs at most one session at a time; see module doc.

    Parameters
    ----------
    library : Library
        The open session library.
    clinician_mode : bool
        Offer the clinician-only skills (7-9).
    skills_dir : path, optional
        The clinician's own skills folder (default: the user data folder).
    clock_ns : callable
        Host monotonic clock (ns); tests may pass their own.
    catalogue : (SkillLibrary, PlanLibrary), optional
        Skills and plans already read (default: read them from ``skills_dir``).
    """

    def __init__(
        self,
        library: Library,
        *,
        clinician_mode: bool = False,
        skills_dir: Any = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        catalogue: tuple[SkillLibrary, PlanLibrary] | None = None,
    ) -> None:
        self.library = library
        self.clock_ns = clock_ns
        self.skills_dir = skills_dir
        self.clinician_mode = clinician_mode
        if catalogue is None:  # a group's participants share one reading of the skills
            catalogue = _load_catalogue(skills_dir, clinician_mode)
        self.skills: SkillLibrary = catalogue[0]
        self.plans: PlanLibrary = catalogue[1]
        self.source: Source | None = None
        self.session: Session | None = None
        self.session_id: int | None = None
        self.recorder: Recorder | None = None
        self.flow: PracticeFlow | None = None
        self.replay: ReplaySource | None = None
        self.error: str | None = None  # the last failure, as a sentence
        self._paused = False
        self._resumed_ns: int | None = None  # host time of the last resume (see poll)
        self._later_modules: bool | None = False  # None: due at the next poll
        # Lab Streaming Layer: publishers get every drain (publish(update, session, items))
        # and close() at the end; enable_lsl() adds the LSL one to each new session.
        self.publishers: list[Publisher] = []
        self.lsl_enabled = False
        self.lsl_name = DEFAULT_STREAM_NAME
        self.lsl_wait_s = 0.0

    # -- mode -----------------------------------------------------------------------------
    def set_clinician_mode(self, on: bool) -> None:
        """Show or hide the clinician-only skills."""
        self.clinician_mode = on
        self.skills = self.skills.with_mode(clinician_mode=on)
        self.plans = load_plans(self.skills_dir, clinician_mode=on, skills=self.skills)

    @property
    def running(self) -> bool:
        return self.session is not None

    @property
    def is_replay(self) -> bool:
        return self.replay is not None

    def now_s(self) -> float:
        """The session's beat-clock time now (replay: the replay position)."""
        if self.session is None:
            return 0.0
        if self.replay is not None:
            return self.replay.position_s
        return self.session.time_at(self.clock_ns())

    # -- live sessions ----------------------------------------------------------------------
    def start_live(
        self,
        source: Source,
        options: SessionOptions = SessionOptions(),
        *,
        analyse_live: bool = True,
    ) -> Session:
        """Start a session fed by ``source`` (started here), recording unless told not to.

        ``analyse_live=False`` records and times beats without per-beat metrics (a headless
        recording); the session is analysed in one vectorised pass when it stops.
        """
        self.stop()
        start_ns = self.clock_ns() if options.start_ns is None else int(options.start_ns)
        person_id = self.library.ensure_person(options.person) if options.person else None
        baseline = None
        if person_id is not None:
            from trm_bio.history import person_baseline

            baseline = person_baseline(self.library, person_id)
        if options.record:
            self.session_id = self.library.create_session(
                person_id,
                options.source_kind,
                source_id=source.source_id,
                device_name=options.device_name or source.source_id,
                start_ns=start_ns,
                started_utc=datetime.now(UTC).isoformat(timespec="seconds"),
                notes=options.notes,
                tags=options.tags,
                group_id=options.group_id,
                group_seat=options.group_seat,
            )
            self.recorder = Recorder(self.library, self.session_id)
        self.session = Session(
            start_ns, recorder=self.recorder, baseline=baseline, analyse_live=analyse_live
        )
        self.source = source
        self.error = None
        self._open_lsl(device_name=options.device_name)
        source.start()
        return self.session

    def poll(self) -> SessionUpdate:
        """Drain the source into the session; call from a timer (e.g. 20-60 times a second)."""
        if self.session is None or self.source is None:
            return SessionUpdate()
        if self._later_modules is None:  # the poll after the first beats (drawn by now)
            self._later_modules = True
            load_later_modules()
        items = self.source.drain()
        if self.paused:
            # Paused: the strap keeps streaming but nothing is recorded or shown; link
            # changes still pass so the screen knows the strap's state.
            items = [i for i in items if not isinstance(i, _STREAMED)]
        elif self._resumed_ns is not None:
            # A packet can reach the queue after the resume's last drain yet be stamped
            # before the resume: it came during the pause and is let go like the others.
            items = [
                i
                for i in items
                if not (isinstance(i, _STREAMED) and i.host_ns < self._resumed_ns)
            ]
            if any(isinstance(i, Packet) for i in items):
                self._resumed_ns = None  # the strap's packets come in order: all later now
        update = self.session.process(items)
        if update.beats and self._later_modules is False:
            self._later_modules = None
        self._publish(update, items)
        now_ns = self.clock_ns()
        if self.flow is not None and self.replay is None:
            self._log_flow(self.flow.tick(self.session.time_at(now_ns)), update)
        self.session.tick(now_ns)
        if self.session.recording_error and self.recorder is not None:
            # The session stopped writing (disk full, library read-only): it stays on screen;
            # what was written stays in the library; the window shows this sentence.
            self.error = self.session.recording_error
            self.recorder = None
        return update

    @property
    def paused(self) -> bool:
        """Whether the live session is paused (see :meth:`pause_session`)."""
        return self._paused

    def pause_session(self) -> None:
        """Pause a live session: beats are neither recorded nor shown until it resumes.

        The practice waits too. The pause is stored as a link change ("disconnected",
        source ``session``), so it is a gap on the beat clock that no window spans, live
        and in replay alike.
        """
        if self.session is None or self.replay is not None or self._paused:
            return
        self.poll()  # what arrived before the pause belongs to the session
        self._paused = True
        if self.flow is not None:
            state = self.flow.state(self.now_s())
            if not state.done and not state.paused:
                self._log_flow(self.flow.pause(self.now_s()), None)
        self._session_status(LinkState.DISCONNECTED, "The session was paused.")

    def resume_session(self) -> None:
        """Resume a paused live session (its beats start a new segment)."""
        if self.session is None or not self._paused:
            return
        self.poll()  # still paused: what the strap sent meanwhile is let go
        self._paused = False
        self._resumed_ns = self._session_status(LinkState.STREAMING, "The session goes on.")
        if self.flow is not None and self.flow.state(self.now_s()).paused:
            self._log_flow(self.flow.resume(self.now_s()), None)

    def _session_status(self, state: LinkState, message: str) -> int:
        """Log the session's own link change now; returns its host time (ns)."""
        assert self.session is not None
        status = StatusEvent(self.clock_ns(), SESSION_SOURCE, state, message)
        self.session.process([status])
        return status.host_ns

    def stop(self) -> int | None:
        """End the session (or replay): stop the source, commit, close the flow.

        Returns
        -------
        int or None
            The id of the session that was recorded (None for replay, not recorded, or no
            heartbeat arrived: then the empty session is deleted, see :meth:`_discard_empty`).
        """
        if self.session is None:
            return None
        if self.flow is not None and self.replay is None and not self.flow.state(self.now_s()).done:
            self._log_flow(self.flow.stop(self.now_s()), None)
        if self.source is not None:
            self.source.stop()
            # What the source produced before it stopped still belongs to the session.
            items = self.source.drain()
            self._publish(self.session.process(items), items)
        self._publish(SessionUpdate(), ())  # events logged since the last poll
        self._close_publishers()
        session_id = None
        recorded_id = self.session_id if self.replay is None else None
        if recorded_id is not None and not self.session.received_beats:
            self._discard_empty(recorded_id)
        elif recorded_id is not None and self.recorder is None:
            # Recording failed earlier: what was written is kept, marked as interrupted.
            try:
                self.library.finish_session(recorded_id, status="interrupted")
            except LibraryError as exc:
                log.error("%s", exc)
        elif self.recorder is not None:
            try:
                self.recorder.flush()
                self.library.finish_session(
                    self.recorder.session_id,
                    duration_s=max(self.session.now_s, 0.0),
                    status="complete",
                )
                session_id = self.recorder.session_id
            except LibraryError as exc:
                self.error = str(exc)
        if session_id is not None:
            # A strap's ECG: the live beats, which the stored frames would give again slowly.
            with_ecg = self.session.signals is not None
            self._cache_analysis(session_id, self.session.chosen_beats() if with_ecg else None)
        self.source = self.session = self.recorder = self.flow = self.replay = None
        self._paused = False
        self._resumed_ns = None
        self.session_id = None
        return session_id

    def _discard_empty(self, session_id: int) -> None:
        """Delete a recording that never received a heartbeat: it holds nothing to keep.

        The app and every command end their recordings here, so none of them keeps an
        empty session; :attr:`error` says so (after the strap's own reason, when it failed).
        A session that received beats is kept whatever happened to the strap afterwards.
        """
        assert self.session is not None
        try:
            # Finished first: a session still marked as being recorded is not deleted.
            self.library.finish_session(session_id, status="interrupted")
            self.library.delete_session(session_id)
        except LibraryError as exc:
            log.error("%s", exc)
            self.error = (
                f"No heartbeat arrived, but the empty session {session_id} could not be "
                f"deleted: {exc}."
            )
            return
        nothing = "No heartbeat arrived, so nothing was saved."
        cause = (self.session.failure or "").strip()
        if cause and not cause.endswith((".", "!", "?")):
            cause += "."
        self.error = f"{cause} {nothing}" if cause else nothing

    def _cache_analysis(self, session_id: int, beats: Beats | None = None) -> None:
        """Analyse the finished session once and keep the result in the library.

        Later openings (summary, replay overview, reports) then load it in milliseconds,
        and the session's baseline joins the person's history.
        """
        from trm_bio.history import analyse_session

        try:
            analyse_session(self.library, session_id, beats=beats)
        except TrmBioError as exc:
            log.error("the finished session %d could not be analysed: %s", session_id, exc)

    # -- replay -------------------------------------------------------------------------------
    def open_replay(self, session_id: int, speed: float = 1.0, *, paused: bool = False) -> Session:
        """Replay a stored session through the same pipeline as live."""
        self.stop()
        replay = ReplaySource(self.library, session_id, speed=speed, paused=paused)
        info = replay.info
        baseline = None
        if info.person_id is not None:
            from trm_bio.history import person_baseline

            baseline = person_baseline(self.library, info.person_id, before_session=session_id)
        self.session = Session(
            info.start_ns,
            baseline=baseline,
            history=lambda index: packets_before(replay.items, index),
            recorded_events=lambda index: [
                item.event for item in replay.items[:index] if isinstance(item, RecordedEvent)
            ],
            history_items=lambda index: replay.items[:index],
        )
        self.replay = replay
        self.source = replay
        self.session_id = session_id
        self._open_lsl(device_name=info.device_name or "")
        replay.start()
        return self.session

    # -- Lab Streaming Layer ------------------------------------------------------------------
    def enable_lsl(
        self, on: bool = True, *, name: str | None = None, wait_for_consumers_s: float = 0.0
    ) -> None:
        """Publish sessions on Lab Streaming Layer (off by default); see trm_bio.lsl_outlets.

        Takes effect at once for a running session (publishing from now) and for every
        session started later. ``wait_for_consumers_s``: a new session waits up to that long
        (s) for a program to subscribe before its source starts. Raises TrmBioError with one
        sentence when LSL cannot be loaded on this computer.
        """
        if on:
            from devices.lsl import lsl_unavailable_reason

            reason = lsl_unavailable_reason()
            if reason is not None:
                raise TrmBioError(reason.rstrip("."))
        self.lsl_enabled = on
        self.lsl_name = name or self.lsl_name
        self.lsl_wait_s = float(wait_for_consumers_s)
        if not on:
            self._close_publishers(lsl_only=True)
        elif self.session is not None and not self._lsl_publishers():
            self._open_lsl(wait=False)

    def _lsl_publishers(self) -> list[Publisher]:
        from trm_bio.lsl_outlets import LslPublisher

        return [p for p in self.publishers if isinstance(p, LslPublisher)]

    def _open_lsl(self, device_name: str = "", wait: bool = True) -> None:
        if not self.lsl_enabled or self.session is None or self.source is None:
            return
        from devices.lsl import load_pylsl
        from trm_bio.lsl_outlets import LslPublisher

        session = self.session
        now_lsl = load_pylsl().local_clock()
        elapsed_s = self.now_s() if self.replay is not None else session.time_at(self.clock_ns())
        publisher = LslPublisher(
            self.lsl_name,
            session_start_ns=session.start_ns,
            start_lsl=now_lsl - elapsed_s,
            strap_source_id=self.source.source_id,
            metric_names=session.engine.names,
            device_name=device_name,
        )
        publisher.skip_events(session)  # a stream joined mid-session starts from now
        self.publishers.append(publisher)
        if wait and self.lsl_wait_s > 0:
            publisher.wait_for_consumers(self.lsl_wait_s)

    def _publish(self, update: SessionUpdate, items: Sequence[object]) -> None:
        if self.session is None:
            return
        for publisher in list(self.publishers):
            try:
                publisher.publish(update, self.session, items)
            except Exception as exc:  # a failing publisher must not stop the session
                log.exception("publishing failed")
                self.error = f"publishing stopped: {exc}"
                self.publishers.remove(publisher)

    def _close_publishers(self, lsl_only: bool = False) -> None:
        closing = self._lsl_publishers() if lsl_only else list(self.publishers)
        for publisher in closing:
            self.publishers.remove(publisher)
            try:
                publisher.close()
            except Exception:
                log.exception("closing a publisher failed")

    def replay_status(self) -> ReplayStatus | None:
        """Where the replay is (None when no replay runs)."""
        r = self.replay
        if r is None:
            return None
        return ReplayStatus(r.position_s, r.end_s, r.paused, r.finished, r.speed)

    def replay_toggle(self) -> None:
        """Play or pause the replay; at the end, play again from the start."""
        r = self.replay
        if r is not None:
            toggle_replay(r, finished=r.finished, paused=r.paused)

    def replay_seek(self, time_s: float) -> None:
        """Jump to ``time_s`` (s on the beat clock); the state is rebuilt from what came before."""
        if self.replay is not None:
            self.replay.seek(time_s)

    def replay_set_speed(self, speed: float) -> None:
        """1x to 16x, or ``math.inf`` for as fast as possible."""
        if self.replay is not None:
            self.replay.set_speed(speed)

    # -- the practice flow ------------------------------------------------------------------
    def start_skill(self, key: int | str) -> list[FlowEvent]:
        """Begin guided practice of one skill (by number or id)."""
        self.flow = PracticeFlow.for_skill(self.skills, key)
        return self._logged(self.flow.start(self.now_s()))

    def start_plan(self, plan_id: str) -> list[FlowEvent]:
        """Begin a session plan (a sequence of skills)."""
        self.flow = PracticeFlow.for_plan(self.plans, plan_id)
        return self._logged(self.flow.start(self.now_s()))

    def flow_action(self, action: PracticeAction | str, *args: str) -> list[FlowEvent]:
        """Take a :class:`PracticeAction` (or its value) in the running practice.

        ``choose_strategy`` takes the strategy's id (see :meth:`choose_strategy`). Raises
        TrmBioError with one sentence when no practice runs or the action is unknown.
        """
        flow = self._running_flow()
        try:
            chosen = PracticeAction(action)
        except ValueError:
            raise TrmBioError(f"there is no practice action {action!r}") from None
        if chosen is PracticeAction.CHOOSE_STRATEGY:
            return self.choose_strategy(*args)
        steps: dict[PracticeAction, Callable[[float], list[FlowEvent]]] = {
            PracticeAction.NEXT: flow.next,
            PracticeAction.PREVIOUS: flow.previous,
            PracticeAction.SKIP_STEP: flow.skip_step,
            PracticeAction.SKIP_SKILL: flow.skip_skill,
            PracticeAction.PAUSE: flow.pause,
            PracticeAction.RESUME: flow.resume,
            PracticeAction.STOP: flow.stop,
            PracticeAction.RETURN_FROM_HELP_NOW: flow.return_from_help_now,
        }
        return self._logged(steps[chosen](self.now_s()))

    def choose_strategy(self, strategy_id: str) -> list[FlowEvent]:
        """Take one of Help Now!'s strategies (by id) in the running practice."""
        return self._logged(self._running_flow().choose_strategy(self.now_s(), strategy_id))

    def help_now(self) -> list[FlowEvent]:
        """Help Now!: one key away in every state; starts the skill if no flow runs."""
        if self.flow is None or self.flow.state(self.now_s()).done:
            self.flow = PracticeFlow.for_skill(
                self.skills.with_mode(clinician_mode=True), "help_now"
            )
            return self._logged(self.flow.start(self.now_s()))
        return self._logged(self.flow.help_now(self.now_s()))

    def flow_state(self) -> FlowState | None:
        return self.flow.state(self.now_s()) if self.flow is not None else None

    def _running_flow(self) -> PracticeFlow:
        if self.flow is None:
            raise TrmBioError("no skill is running; choose a skill or a plan first")
        return self.flow

    def _logged(self, events: list[FlowEvent]) -> list[FlowEvent]:
        self._log_flow(events, None)
        return events

    def _log_flow(self, events: list[FlowEvent], update: SessionUpdate | None) -> None:
        if self.session is None or self.replay is not None:
            return
        for flow_event in events:
            logged = self.session.log(
                EventKind.FLOW,
                flow_event.to_dict(),
                time_s=flow_event.time_s,
                host_ns=self.session.host_ns_at(flow_event.time_s),
            )
            if update is not None:
                update.events.append(logged)

    # -- tracking ---------------------------------------------------------------------------
    def log_sensation(
        self,
        valence: Valence | str,
        words: tuple[str, ...] = (),
        location: str | None = None,
        intensity: int | None = None,
        note: str = "",
        time_s: float | None = None,
    ) -> Event:
        """Log what the person notices without stopping anything.

        ``time_s`` (beat clock, s) dates the log at the moment the person noticed it when
        the details (words, location...) were added afterwards; default now.
        """
        entry = SensationLog.record(
            time_s=self.now_s() if time_s is None else time_s,
            valence=valence,
            words=words,
            location=location,
            intensity=intensity,
            note=note,
        )
        return self._log(EventKind.SENSATION, entry.to_dict(), time_s=time_s)

    def log_zone_rating(self, zone: Zone | str, note: str = "") -> Event:
        """The person's own sense of their zone (high, resilient, low)."""
        rating = ZoneRating(time_s=self.now_s(), zone=Zone(zone), note=note)
        return self._log(EventKind.ZONE_RATING, rating.to_dict())

    def log_self_rating(
        self, moment: str, distress: float | None, zone: str | None
    ) -> Event:
        """The person's own distress (0-10) and zone at the start or the end of the session.

        Raises TrmBioError with one sentence for a value out of range or nothing given.
        """
        try:
            payload = self_rating(moment, distress, zone)
        except ValueError as exc:
            raise TrmBioError(str(exc)) from None
        return self._log(EventKind.ZONE_RATING, payload.to_json())

    def log_marker(self, text: str = "") -> Event:
        return self._log(EventKind.MARKER, TextPayload(text).to_json())

    def log_resource(self, text: str) -> Event:
        """A resource the person brings to mind (a person, place, memory or strength)."""
        return self._log(EventKind.RESOURCE, TextPayload(text).to_json())

    def _log(
        self, kind: EventKind, payload: dict[str, Any], time_s: float | None = None
    ) -> Event:
        if self.session is None:
            raise TrmBioError("no session is running; start one first")
        if self.replay is not None:
            raise TrmBioError("a replayed session is read-only")
        payload.pop("time_s", None)
        if time_s is not None:
            return self.session.log(kind, payload, self.session.host_ns_at(time_s), time_s=time_s)
        return self.session.log(kind, payload, self.clock_ns())

    # -- state for the screen -------------------------------------------------------------
    def reading(self) -> Reading:
        """The newest values of the running session (see :class:`Reading`)."""
        session = self.session
        if session is None:
            return Reading()
        h = session.history
        keys = ("HR_20s", "RMSSD", "RespirationRate", "Coherence", "arousal", "lowness", "zone")
        values = dict.fromkeys((*keys, "tentative"), math.nan)
        if h.metrics.size:
            for key in values:
                values[key] = float(h.metrics[key][-1])
        settling = False
        if not math.isfinite(values["arousal"]) and session.regulator.baseline is not None:
            # The baseline stays through a pause or a gap; only the windows refill (about
            # a minute). Until then the last known place is held, never "finding a baseline".
            known = np.flatnonzero(np.isfinite(h.metrics["arousal"]))
            if known.size:
                index = int(known[-1])
                for key in ("arousal", "lowness", "zone"):
                    values[key] = float(h.metrics[key][index])
                values["tentative"] = 1.0
                settling = True
        hr = values["HR_20s"]
        if not math.isfinite(hr) and h.beats.size and h.beats["label"][-1] == NORMAL:
            hr = float(h.beats["hr_bpm"][-1])
        link = session.link_state
        if self.replay is None and link is not None and self.link_state is not None:
            link = self.link_state  # live, the strap's own state: a pause is not its link
        zone = values["zone"]
        last = session.last
        state = session.last_regulation
        # The words and the numbers follow one state: the rhythm in effect (held while the
        # HRV windows still hold the failing beats), not the newest window's check alone.
        rhythm = state.rhythm if state is not None else ""
        hrv_shown = state.hrv_shown if state is not None else True
        if not hrv_shown:
            for key in ("RMSSD", "Coherence", "RespirationRate"):
                values[key] = math.nan
        # Breathing measured from chest movement replaces the estimate from heart rhythm.
        respiration, respiration_source = session.breathing_rate_per_min, "chest movement"
        if not math.isfinite(respiration):
            respiration = values["RespirationRate"]
            respiration_source = "heart rhythm" if math.isfinite(respiration) else ""
        return Reading(
            hr_bpm=hr,
            rmssd_ms=values["RMSSD"],
            respiration_bpm=respiration,
            coherence=values["Coherence"],
            artifact_rate=last.beat.artifact_rate if last is not None else math.nan,
            arousal=values["arousal"],
            lowness=values["lowness"],
            zone=ZoneCode(int(zone)) if math.isfinite(zone) else ZoneCode.UNKNOWN,
            tentative=values["tentative"] > 0,
            battery_percent=session.battery_percent,
            link=link,
            # In replay, a pause of the recorded session (its own link change) shows as one.
            paused=self.paused
            or (
                self.replay is not None
                and link is LinkState.DISCONNECTED
                and session.link_source == SESSION_SOURCE
            ),
            rhythm=rhythm,
            hrv_shown=hrv_shown,
            zone_reason=state.reason if state is not None else "",
            calibrating=state.calibrating if state is not None else False,
            calibration_left_s=state.calibration_left_s if state is not None else math.nan,
            baseline_source=state.baseline_source if state is not None else "",
            beat_source=session.beat_source,
            respiration_source=respiration_source,
            ecg_status=session.ecg_message,
            settling=settling,
        )

    def baseline(self) -> Baseline | None:
        """The baseline the running session measures against (None while it is found)."""
        return self.session.regulator.baseline if self.session is not None else None

    def ecg_window(self, seconds: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
        """The last ``seconds`` of the strap's ECG: beat-clock times (s) and mV (empty
        arrays without ECG), for the clinician's ECG strip."""
        signals = self.session.signals if self.session is not None else None
        if signals is None:
            return np.empty(0), np.empty(0)
        return signals.ecg_window(seconds)

    def breathing_window(self, seconds: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
        """The last ``seconds`` of the breathing trace from chest movement: beat-clock times
        (s) and mg, NaN where breathing is unknown (empty arrays without an accelerometer)."""
        signals = self.session.signals if self.session is not None else None
        if signals is None:
            return np.empty(0), np.empty(0)
        return signals.breathing_window(seconds)

    @property
    def link_state(self) -> LinkState | None:
        if self.source is None:
            return None
        return self.source.state

    @property
    def battery_percent(self) -> int | None:
        return self.source.battery_percent if self.source is not None else None
