"""A group session: several participants at once, each with their own strap and session.

The Community Resiliency Model is taught in groups. A :class:`GroupController` runs one
:class:`~trm_bio.controller.SessionController` per participant: their own source, session,
recording, baseline and zone indicator, exactly as a session alone, so nothing of one
participant can reach another's pipeline. The sessions share one beat clock (the group's
start) and are linked as one group in the library (``Library.create_group``).

The facilitator's practice is kept in step across the participants: starting a skill,
moving on or pausing is done in every participant's session, so each session holds the
skill steps and each participant's shifts after a step are measured on their own beats. An
event (a marker, a sensation, a zone rating) is logged for the whole group or for one
participant.

No Qt here: the group window drives :meth:`GroupController.poll` from a timer, the
``record`` command from a loop, tests directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from devices.packet import LinkState
from devices.source import Source
from skills.flow import FlowEvent, FlowState
from skills.sensations import Valence, Zone
from trm_bio.controller import (
    PracticeAction,
    Reading,
    ReplayStatus,
    SessionController,
    SessionOptions,
    _load_catalogue,
    toggle_replay,
)
from trm_bio.core.events import Event
from trm_bio.errors import LibraryError, TrmBioError
from trm_bio.session import SessionUpdate
from trm_bio.store.library import Library

log = logging.getLogger(__name__)

#: The most participants one computer records at once (one Bluetooth adapter holds
#: several LE links; 8 is what the group view lays out and what was measured).
MAX_PEOPLE = 8


@dataclass(frozen=True)
class Participant:
    """One participant of a group session.

    Parameters
    ----------
    label : str
        What the facilitator calls them on the screen: a name or initials.
    person : str, optional
        The library's person their session belongs to (default: ``label``; ``""``: no
        person, see :meth:`placeholder`).
    """

    label: str
    person: str | None = None

    @property
    def person_name(self) -> str | None:
        """The library's person; None for a placeholder ("" given as ``person``)."""
        if self.person == "":
            return None
        return self.person or self.label

    @classmethod
    def placeholder(cls, seat: int) -> Participant:
        """"Participant N" with no library person: their session calibrates on its own,
        never on the earlier sessions of another group's "Participant N"."""
        return cls(f"Participant {seat + 1}", person="")


class Connection(StrEnum):
    """A participant's strap as the group view shows it (never a zone unless ``LIVE``)."""

    CONNECTING = "connecting"
    LIVE = "live"
    NO_CONTACT = "no skin contact"
    RECONNECTING = "reconnecting"
    PAUSED = "paused"
    ENDED = "disconnected"
    FAILED = "no strap"
    REPLAY = "replay"


_CONNECTION_OF_LINK = {
    None: Connection.CONNECTING,
    LinkState.SCANNING: Connection.CONNECTING,
    LinkState.CONNECTING: Connection.CONNECTING,
    LinkState.CONNECTED: Connection.CONNECTING,
    LinkState.STREAMING: Connection.LIVE,
    LinkState.CONTACT_LOST: Connection.NO_CONTACT,
    LinkState.RECONNECTING: Connection.RECONNECTING,
    LinkState.DISCONNECTED: Connection.ENDED,
    LinkState.FAILED: Connection.FAILED,
}


def connection_of(reading: Reading, *, replay: bool) -> Connection:
    """What a participant's tile says of their strap, from their newest reading.

    A replay shows the link as it was recorded: a strap that had dropped is
    "reconnecting" there too, never a zone.
    """
    if reading.paused:
        return Connection.PAUSED
    connection = _CONNECTION_OF_LINK[reading.link]
    if replay and connection in (Connection.LIVE, Connection.CONNECTING):
        return Connection.REPLAY
    return connection


@dataclass(frozen=True)
class ParticipantView:
    """One participant's state for a tile: who, which session, their strap and reading."""

    seat: int
    label: str
    session_id: int | None
    connection: Connection
    reading: Reading

    @property
    def shows_zone(self) -> bool:
        """Whether the zone may be shown: only while beats arrive (live) or in replay."""
        return self.connection in (Connection.LIVE, Connection.REPLAY)


def participants_from_labels(labels: Sequence[str]) -> list[Participant]:
    """The participants for the labels a facilitator gave, in seat order.

    A blank label, or the default "Participant N" of its seat, is a placeholder with no
    library person (:meth:`Participant.placeholder`): strangers in different groups never
    share one person's history and baseline.
    """
    return [
        Participant.placeholder(seat)
        if not label.strip() or label.strip() == f"Participant {seat + 1}"
        else Participant(label.strip())
        for seat, label in enumerate(labels)
    ]


def check_people(count: int) -> None:
    """Raise TrmBioError with one sentence unless ``count`` is 1 to :data:`MAX_PEOPLE`."""
    if not 1 <= count <= MAX_PEOPLE:
        raise TrmBioError(
            f"a group session has 1 to {MAX_PEOPLE} participants, not {count}"
        )


class GroupController:
    """Runs one group session (live or replayed) at a time; see the module doc.

    Parameters
    ----------
    library : Library
        The open session library (every participant's session is recorded in it).
    clinician_mode : bool
        Offer the clinician-only skills (7-9).
    skills_dir : path, optional
        The clinician's own skills folder (default: the user data folder).
    clock_ns : callable
        Host monotonic clock (ns); tests may pass their own.
    """

    def __init__(
        self,
        library: Library,
        *,
        clinician_mode: bool = False,
        skills_dir: Any = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.library = library
        self.clock_ns = clock_ns
        self.skills_dir = skills_dir
        self.clinician_mode = clinician_mode
        self.skills, self.plans = _load_catalogue(skills_dir, clinician_mode)
        self.members: list[SessionController] = []
        self.participants: list[Participant] = []
        #: Each participant's place in the group (0-based), in the order of ``members``.
        self.seats: list[int] = []
        self.group_id: int | None = None
        self.error: str | None = None  # the last failure, as a sentence
        self._on_stop: Callable[[], None] | None = None

    # -- state -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self.members)

    @property
    def is_replay(self) -> bool:
        return bool(self.members) and self.members[0].is_replay

    @property
    def paused(self) -> bool:
        return bool(self.members) and self.members[0].paused

    def now_s(self) -> float:
        """The group's beat-clock time now (replay: the replay position), s."""
        return self.members[0].now_s() if self.members else 0.0

    def _member(self, seat: int) -> SessionController:
        if not 0 <= seat < len(self.members):
            raise TrmBioError(
                f"there is no participant {seat + 1}; the group has {len(self.members)}"
            )
        return self.members[seat]

    def _new_member(self) -> SessionController:
        return SessionController(
            self.library,
            clinician_mode=self.clinician_mode,
            skills_dir=self.skills_dir,
            clock_ns=self.clock_ns,
            catalogue=(self.skills, self.plans),
        )

    # -- live --------------------------------------------------------------------------
    def start_live(
        self,
        sources: Sequence[Source],
        participants: Sequence[Participant],
        *,
        name: str = "",
        notes: str = "",
        record: bool = True,
        source_kind: str = "ble",
        analyse_live: bool = True,
        on_stop: Callable[[], None] | None = None,
    ) -> int | None:
        """Start every participant's session, one source each, in seat order.

        Parameters
        ----------
        sources : sequence of Source
            One unstarted source per participant (started here).
        participants : sequence of Participant
            Who wears each source, in the same order.
        name, notes : str
            The group's name and notes (the participants' sessions carry no notes of
            another participant).
        record : bool
            Record the sessions and link them as one group in the library.
        source_kind : str
            ``"ble"``, ``"simulated"``...: stored with each session.
        analyse_live : bool
            False records and times beats only (headless); analysed when it stops.
        on_stop : callable, optional
            Called once when the group ends, before each participant's session takes what
            its source left: it stops every source together and ends a shared device loop
            (``open_group_sources`` gives it).

        Returns
        -------
        int or None
            The group's id in the library (None when not recording).
        """
        self.stop()
        self.group_id = None  # a replayed group is not this one (and never removed by it)
        self._on_stop = on_stop
        self.error = None
        try:
            if len(sources) != len(participants):
                raise TrmBioError(
                    f"{len(sources)} straps for {len(participants)} participants; "
                    "give one strap per participant"
                )
            check_people(len(sources))
            start_ns = self.clock_ns()  # one beat clock for the whole group
            self.group_id = self.library.create_group(name, notes=notes) if record else None
            self.participants = list(participants)
            self.seats = list(range(len(participants)))
            for seat, (source, participant) in enumerate(zip(sources, participants, strict=True)):
                member = self._new_member()
                self.members.append(member)
                member.start_live(
                    source,
                    SessionOptions(
                        person=participant.person_name,
                        record=record,
                        source_kind=source_kind,
                        device_name=source.source_id,
                        start_ns=start_ns,
                        group_id=self.group_id,
                        group_seat=seat,
                    ),
                    analyse_live=analyse_live,
                )
        except BaseException:
            # Nothing half-started stays behind: sessions, the group row, a device loop.
            self._end(replay=False)
            raise
        return self.group_id

    def replace_source(self, seat: int, source: Source) -> None:
        """Give participant ``seat`` a new source (a strap swapped or connected anew).

        Their session goes on: the old source is stopped and what it sent is kept; the
        new one is started and its beats join the same session after a link change.
        """
        member = self._member(seat)
        if member.is_replay or member.session is None:
            raise TrmBioError("only a live group session can take another strap")
        old = member.source
        if old is not None:
            old.stop()
            member.session.process(old.drain())
        member.source = source
        source.start()

    def poll(self) -> list[SessionUpdate]:
        """Drain every participant's source into their session; one update each, seat order."""
        updates = []
        for member in self.members:
            updates.append(member.poll())
        return updates

    def pause_session(self) -> None:
        """Pause every participant's session (nothing is recorded until it resumes)."""
        for member in self.members:
            member.pause_session()

    def resume_session(self) -> None:
        for member in self.members:
            member.resume_session()

    def stop(self) -> list[int]:
        """End the group session (or replay); the ids of the sessions kept, in seat order.

        A participant whose strap never sent a heartbeat keeps no session (their reason is
        in :attr:`error`); a group in which nobody's session was kept is removed again.
        """
        if not self.members:
            return []
        return self._end(replay=self.is_replay)

    def _end(self, *, replay: bool) -> list[int]:
        kept: list[int] = []
        problems: list[str] = []
        on_stop, self._on_stop = self._on_stop, None
        try:
            if on_stop is not None:
                # Every strap stops together (a shared loop stops its straps in parallel);
                # each member still drains what its source sent before it stopped.
                on_stop()
        except Exception:
            log.exception("ending the group's device loop failed")
        for seat, member in enumerate(self.members):
            recorded = None if replay else member.session_id
            try:
                session_id = member.stop()
            except Exception as exc:  # one participant's failure must not strand the others
                log.exception("ending participant %d's session failed", seat + 1)
                problems.append(f"{self._label(seat)}: {exc}")
                session_id = None
            if session_id is None and recorded is not None and self._still_stored(recorded):
                session_id = recorded  # kept as interrupted (e.g. the disk was full)
            if session_id is not None:
                kept.append(session_id)
            if member.error:
                problems.append(f"{self._label(seat)}: {member.error}")
        if self.group_id is not None and not kept and not replay:
            # A replay keeps no new session (its group stays); a live group in which
            # nobody's session was kept holds nothing and is removed again.
            try:
                self.library.delete_group(self.group_id)
            except LibraryError as exc:
                log.error("%s", exc)
        self.error = " ".join(problems) or None
        self.members = []
        return kept

    def _still_stored(self, session_id: int) -> bool:
        try:
            self.library.get_session(session_id)
        except LibraryError:
            return False
        return True

    def _label(self, seat: int) -> str:
        if seat < len(self.participants):
            return self.participants[seat].label
        return f"Participant {seat + 1}"

    # -- replay ------------------------------------------------------------------------
    def open_replay(self, group_id: int, speed: float = 1.0, *, paused: bool = False) -> None:
        """Replay every session of a stored group together, through the live pipeline.

        Participants are named by their person's name (else "Participant N").
        """
        self.stop()
        group = self.library.get_group(group_id)
        infos = self.library.group_sessions(group_id)
        if not infos:
            raise TrmBioError(f"group {group_id} holds no session to replay")
        self.group_id = group.id
        # Numbered by their stored seat: a seat left empty (no beats) keeps the numbers.
        self.participants = [
            Participant(
                info.person_name or f"Participant {self._seat_of(info, index) + 1}",
                info.person_name or "",
            )
            for index, info in enumerate(infos)
        ]
        self.seats = [self._seat_of(info, index) for index, info in enumerate(infos)]
        try:
            for info in infos:
                member = self._new_member()
                self.members.append(member)
                # Opened paused and started together: no participant runs ahead.
                member.open_replay(info.id, speed, paused=True)
        except BaseException:
            self.stop()
            raise
        if not paused:
            for member in self.members:
                if member.replay is not None:
                    member.replay.resume()

    @staticmethod
    def _seat_of(info: Any, index: int) -> int:
        return int(info.group_seat) if info.group_seat is not None else index

    def replay_status(self) -> ReplayStatus | None:
        """Where the group replay is: the longest session sets the end."""
        statuses = [s for s in (m.replay_status() for m in self.members) if s is not None]
        if not statuses:
            return None
        first = statuses[0]
        return ReplayStatus(
            position_s=first.position_s,
            end_s=max(s.end_s for s in statuses),
            paused=first.paused,
            finished=all(s.finished for s in statuses),
            speed=first.speed,
        )

    def replay_toggle(self) -> None:
        """Play or pause every participant's replay together (at the end: from the start)."""
        status = self.replay_status()
        if status is None:
            return
        for member in self.members:
            if member.replay is not None:
                toggle_replay(member.replay, finished=status.finished, paused=status.paused)

    def replay_seek(self, time_s: float) -> None:
        """Jump every participant's replay to ``time_s`` (s on the group's beat clock)."""
        for member in self.members:
            member.replay_seek(time_s)

    def replay_set_speed(self, speed: float) -> None:
        """1x to 16x, or ``math.inf``, for every participant."""
        for member in self.members:
            member.replay_set_speed(speed)

    # -- the facilitator's practice ----------------------------------------------------
    def _in_every_session(
        self, act: Callable[[SessionController], list[FlowEvent]]
    ) -> list[FlowEvent]:
        if not self.members:
            raise TrmBioError("no group session is running; start one first")
        events: list[FlowEvent] = []
        for seat, member in enumerate(self.members):
            done = act(member)
            if seat == 0:
                events = done
        return events

    def start_skill(self, key: int | str) -> list[FlowEvent]:
        """Begin guided practice of one skill for the whole group."""
        return self._in_every_session(lambda m: m.start_skill(key))

    def start_plan(self, plan_id: str) -> list[FlowEvent]:
        """Begin a session plan for the whole group."""
        return self._in_every_session(lambda m: m.start_plan(plan_id))

    def flow_action(self, action: PracticeAction | str, *args: str) -> list[FlowEvent]:
        """Take a practice action (next, skip, pause...) for the whole group."""
        return self._in_every_session(lambda m: m.flow_action(action, *args))

    def choose_strategy(self, strategy_id: str) -> list[FlowEvent]:
        return self._in_every_session(lambda m: m.choose_strategy(strategy_id))

    def help_now(self) -> list[FlowEvent]:
        """Help Now! for the whole group."""
        return self._in_every_session(lambda m: m.help_now())

    def flow_state(self) -> FlowState | None:
        """The shared prompt: the practice as it stands (the same in every session)."""
        return self.members[0].flow_state() if self.members else None

    # -- events for everyone or for one ------------------------------------------------
    def _log(self, seat: int | None, act: Callable[[SessionController], Event]) -> list[Event]:
        if not self.members:
            raise TrmBioError("no group session is running; start one first")
        members = self.members if seat is None else [self._member(seat)]
        return [act(member) for member in members]

    def log_marker(self, text: str = "", seat: int | None = None) -> list[Event]:
        """A marker for the whole group (``seat`` None) or for one participant."""
        return self._log(seat, lambda m: m.log_marker(text))

    def log_sensation(
        self,
        valence: Valence | str,
        words: tuple[str, ...] = (),
        *,
        seat: int | None = None,
        note: str = "",
    ) -> list[Event]:
        """A sensation noticed by the whole group or by one participant."""
        time_s = self.now_s()  # one moment for everyone it is logged for
        return self._log(
            seat, lambda m: m.log_sensation(valence, words, note=note, time_s=time_s)
        )

    def log_zone_rating(self, zone: Zone | str, seat: int) -> list[Event]:
        """One participant's own sense of their zone."""
        return self._log(seat, lambda m: m.log_zone_rating(zone))

    def log_self_rating(
        self, seat: int, moment: str, distress: float | None, zone: str | None
    ) -> list[Event]:
        """One participant's distress (0-10) and zone at the start or the end."""
        return self._log(seat, lambda m: m.log_self_rating(moment, distress, zone))

    # -- for the screen ----------------------------------------------------------------
    def views(self) -> list[ParticipantView]:
        """Every participant's tile state, in seat order."""
        views = []
        for seat, member in enumerate(self.members):
            reading = member.reading()
            views.append(
                ParticipantView(
                    seat=seat,
                    label=self._label(seat),
                    session_id=member.session_id,
                    connection=connection_of(reading, replay=member.is_replay),
                    reading=reading,
                )
            )
        return views

    def member_errors(self) -> list[tuple[int, str]]:
        """(seat, sentence) for each participant whose session has a problem now."""
        return [(seat, m.error) for seat, m in enumerate(self.members) if m.error]


def default_group_name(now: datetime | None = None) -> str:
    """A group's name when the facilitator gives none: "Group, <local date and time>"."""
    moment = (now or datetime.now(UTC)).astimezone()
    return f"Group, {moment:%Y-%m-%d %H:%M}"


def initials(name: str) -> str:
    """A name's initials for a tile ("Ana Lima" -> "AL"); at most three letters."""
    letters = [part[0].upper() for part in name.split() if part and part[0].isalnum()]
    return "".join(letters[:3]) or name[:3]


__all__ = [
    "MAX_PEOPLE",
    "Connection",
    "GroupController",
    "Participant",
    "ParticipantView",
    "check_people",
    "connection_of",
    "default_group_name",
    "initials",
    "participants_from_labels",
]
