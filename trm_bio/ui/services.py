"""What the windows may ask of the rest of the app, beside the session controller.

The composition root (:mod:`trm_bio.app`) implements :class:`AppServices`; the windows never
open the library or a device themselves (they import neither: :class:`StoredSession` says
what they read of a stored session). A live session is started here, on the strap the
person chose, so the window never holds a source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trm_bio.controller import SessionOptions
    from trm_bio.core.events import Event
    from trm_bio.history import SessionAnalysis
    from trm_bio.report.group import GroupSummary
    from trm_bio.report.trends import Trends


@dataclass(frozen=True)
class DeviceChoice:
    """A strap the person picked: the simulated one (with a scenario) or a Bluetooth one."""

    kind: str  # "simulated" or "ble"
    target: str = ""  # Bluetooth address or name (empty for the simulated strap)
    name: str = "Simulated strap"
    scenario: str = "calm"
    rssi: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "simulated":
            return f"Simulated strap ({self.scenario})"
        signal = f", {self.rssi} dBm" if self.rssi is not None else ""
        return f"{self.name or 'Heart-rate strap'} [{self.target}{signal}]"


@dataclass(frozen=True)
class GroupChoice:
    """A group session the facilitator set up: simulated participants or straps, and labels.

    ``labels`` are what the facilitator calls each participant on the screen (a name or
    initials), in seat order; with straps, ``targets`` holds one strap (address or name)
    per participant, in the same order.
    """

    kind: str  # "simulated" or "ble"
    labels: tuple[str, ...]
    targets: tuple[str, ...] = ()
    name: str = ""
    scenario: str = "calm"


class StoredSession(Protocol):
    """What the windows read of a stored session's metadata (the store's ``SessionInfo``)."""

    @property
    def id(self) -> int: ...

    @property
    def started_utc(self) -> str: ...  # ISO 8601, UTC

    @property
    def person_name(self) -> str | None: ...

    @property
    def duration_s(self) -> float | None: ...  # s

    @property
    def source_kind(self) -> str: ...

    @property
    def device_name(self) -> str: ...

    @property
    def notes(self) -> str: ...

    @property
    def tags(self) -> tuple[str, ...]: ...

    @property
    def status(self) -> str: ...  # "recording", "complete" or "interrupted"

    @property
    def group_id(self) -> int | None: ...  # the group session it was part of (None: alone)

    @property
    def group_seat(self) -> int | None: ...  # its participant's place in the group (0-based)


class StoredGroup(Protocol):
    """What the windows read of a stored group session (the store's ``GroupInfo``)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def started_utc(self) -> str: ...  # ISO 8601, UTC

    @property
    def session_ids(self) -> tuple[int, ...]: ...  # in seat order


class EventStore(Protocol):
    """The library as the event list corrects it: a stored session's events, after it."""

    def get_session(self, session_id: int) -> StoredSession: ...

    def session_events(self, session_id: int) -> list[Event]: ...

    def update_event(
        self,
        session_id: int,
        seq: int,
        *,
        time_s: float | None = None,
        kind: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Event: ...

    def delete_event(self, session_id: int, seq: int) -> None: ...


class GroupLibraryServices(Protocol):
    """What the library dialog and the group summary ask of stored group sessions."""

    def list_groups(self) -> Sequence[StoredGroup]:
        """The library's group sessions, oldest first."""
        ...

    def summarise_group(self, group_id: int) -> GroupSummary:
        """A stored group session's summary (``TrmBioError``: one sentence)."""
        ...

    def save_group_report(self, group_id: int, path: str, *, seats: bool = False) -> Path:
        """Write the group report (HTML or PDF by the suffix), naming no participant;
        ``seats``: a row per "participant N". ``TrmBioError``: one sentence."""
        ...

    def save_participant_report(self, session_id: int, path: str) -> Path:
        """Write one participant's own report (their session's, with a line saying it was
        part of a group session, naming no one else). ``TrmBioError``: one sentence."""
        ...

    def save_participant_reports(self, group_id: int, folder: str) -> list[Path]:
        """Every participant's own report into ``folder``, named by seat and session."""
        ...

    def export_group(self, group_id: int, fmt: str, path: str) -> list[Path]:
        """Export every session of a group as ``fmt`` into the folder (or .zip) ``path``,
        with a group.json linking them (``TrmBioError``: one sentence)."""
        ...

    def open_group_replay(self, group_id: int, speed: float = 1.0) -> None:
        """Replay a stored group session in the group window (``TrmBioError``: one
        sentence)."""
        ...



class AppServices(GroupLibraryServices, Protocol):
    """The composition root's offer to the windows (with stored group sessions)."""

    @property
    def scenarios(self) -> tuple[str, ...]: ...

    @property
    def band(self) -> tuple[float, float]:
        """The regulation model's Low and High thresholds (baseline spreads)."""
        ...

    def scan(self, timeout_s: float) -> list[DeviceChoice]:
        """Straps in reach (blocks; called on a worker thread)."""
        ...

    def start_live(self, choice: DeviceChoice, options: SessionOptions) -> None:
        """Start a live session on a new source for ``choice`` (the controller runs it)."""
        ...

    def list_sessions(self) -> Sequence[StoredSession]:
        """The library's sessions, newest last."""
        ...

    def recovered_sessions(self) -> Sequence[StoredSession]:
        """The sessions found cut short (a recorder that had stopped: a crash, a power cut)
        when the library was opened, and marked "interrupted"."""
        ...

    def analyse(self, session_id: int) -> SessionAnalysis:
        """The stored session analysed.

        Raises ``TrmBioError`` with one sentence (no such session, unreadable).
        """
        ...

    def save_session_report(self, analysis: SessionAnalysis, path: str) -> Path:
        """Write the session's report (HTML or PDF by the suffix of ``path``); returns the path.

        Raises ``TrmBioError`` with one sentence when the file cannot be written.
        """
        ...

    def person_trends(self, person: str) -> Trends:
        """A person's progress across sessions.

        Raises ``TrmBioError`` with one sentence (no such person, no session yet).
        """
        ...

    def save_trends_report(self, trends: Trends, path: str) -> Path:
        """Write a person's trends report (HTML or PDF by the suffix); returns the path."""
        ...

    def people(self) -> list[str]:
        """The names (or codes) of the people in the library."""
        ...

    def last_person(self) -> str | None:
        """The person of the newest session that has one (None when there is none)."""
        ...

    def recording_id(self) -> int | None:
        """The session this program is recording now (None when it is not recording)."""
        ...

    def delete_session(self, session_id: int) -> None:
        """Delete a stored session and everything recorded in it.

        Raises ``TrmBioError`` with one sentence when it is being recorded (here or by
        another program) or cannot be deleted.
        """
        ...

    def add_self_rating(
        self, session_id: int, moment: str, distress: float | None, zone: str | None
    ) -> None:
        """Store the person's own rating given after the session ``session_id`` ended (at
        its end), e.g. from the summary; ``TrmBioError`` with one sentence."""
        ...

    def edit_session(self, session_id: int, notes: str, tags: Sequence[str]) -> None:
        """Replace a session's notes and tags (``TrmBioError``: one sentence)."""
        ...

    def export_session(self, session_id: int, fmt: str, path: str) -> list[Path]:
        """Export a session as ``fmt`` ("csv", "kubios", "edf", "json") into private files.

        Raises ``TrmBioError`` with one sentence (the library itself, a symbolic link, a
        file that cannot be written).
        """
        ...

    def open_group(self, choice: GroupChoice) -> None:
        """Start a recorded group session for ``choice`` and show it in the group window.

        Raises ``TrmBioError`` with one sentence (a strap named twice, 1 to 8 participants).
        """
        ...



class GroupServices(Protocol):
    """What the group window may ask of the rest of the app, beside the group controller."""

    @property
    def band(self) -> tuple[float, float]:
        """The regulation model's Low and High thresholds (baseline spreads)."""
        ...

    def reconnect_seat(self, seat: int) -> None:
        """Give participant ``seat`` (0-based) a new source of the same kind and strap, in
        place of the one they had (their session goes on); ``TrmBioError``: one sentence."""
        ...

    def show_group_summary(self, group_id: int) -> None:
        """Show the summary of the group session ``group_id`` that has just ended."""
        ...

    def analyse(self, session_id: int) -> SessionAnalysis:
        """The stored session analysed (``TrmBioError``: one sentence)."""
        ...
