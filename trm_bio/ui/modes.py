"""The main window's modes, the moves allowed between them, and what each mode offers.

Plain Python (no Qt), so the rules can be tested by feeding transitions. The window asks
:meth:`ModeMachine.go` before it changes what runs, and draws buttons and labels from
:attr:`ModeMachine.enables`.

``idle``: nothing connected. ``preview``: a strap shows live, nothing is recorded.
``recording``: a session is being stored. ``paused``: that session waits (nothing recorded
or shown). ``replay``: a stored session plays, read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trm_bio.errors import TrmBioError


class Mode(StrEnum):
    """What the main window is showing."""

    IDLE = "idle"
    PREVIEW = "preview"
    RECORDING = "recording"
    PAUSED = "paused"
    REPLAY = "replay"


@dataclass(frozen=True)
class Enables:
    """What a mode offers the person.

    Attributes
    ----------
    label : str
        The words beside the session buttons.
    start, pause, stop : bool
        The "Start session", "Pause"/"Resume" and "End session" buttons.
    pause_words : str
        The pause button's words ("Resume" while paused).
    live : bool
        Live data: new events and shifts are marked as they come.
    recording : bool
        A session is being recorded (paused or not): starting another is refused.
    replay : bool
        The replay bar and "Back to live"; the practice panels are read-only.
    """

    label: str
    start: bool = False
    pause: bool = False
    pause_words: str = "Pause"
    stop: bool = False
    live: bool = False
    recording: bool = False
    replay: bool = False


ENABLES: dict[Mode, Enables] = {
    Mode.IDLE: Enables("Not connected", start=True),
    Mode.PREVIEW: Enables("Preview: nothing is recorded", start=True, live=True),
    Mode.RECORDING: Enables("Recording", pause=True, stop=True, live=True, recording=True),
    Mode.PAUSED: Enables(
        "Paused", pause=True, pause_words="Resume", stop=True, live=True, recording=True
    ),
    Mode.REPLAY: Enables("Replay", replay=True),
}

#: The moves allowed from each mode. Connecting a strap, opening a replay or disconnecting
#: ends whatever ran (a recording is kept); a pause only comes from a recording and only
#: goes back to it (or ends with the session).
ALLOWED: dict[Mode, frozenset[Mode]] = {
    Mode.IDLE: frozenset({Mode.IDLE, Mode.PREVIEW, Mode.RECORDING, Mode.REPLAY}),
    Mode.PREVIEW: frozenset({Mode.IDLE, Mode.PREVIEW, Mode.RECORDING, Mode.REPLAY}),
    Mode.RECORDING: frozenset({Mode.IDLE, Mode.PREVIEW, Mode.PAUSED, Mode.REPLAY}),
    Mode.PAUSED: frozenset({Mode.IDLE, Mode.PREVIEW, Mode.RECORDING, Mode.REPLAY}),
    Mode.REPLAY: frozenset({Mode.IDLE, Mode.PREVIEW, Mode.RECORDING, Mode.REPLAY}),
}


class ModeError(TrmBioError):
    """A move between modes that is not allowed."""


class ModeMachine:
    """The current mode; moves only along :data:`ALLOWED`."""

    def __init__(self, mode: Mode = Mode.IDLE) -> None:
        self._mode = Mode(mode)

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def enables(self) -> Enables:
        """What the current mode offers."""
        return ENABLES[self._mode]

    def can(self, to: Mode) -> bool:
        """Whether the move to ``to`` is allowed from the current mode."""
        return Mode(to) in ALLOWED[self._mode]

    def go(self, to: Mode) -> Enables:
        """Move to ``to``; raises :class:`ModeError` when that move is not allowed."""
        to = Mode(to)
        if not self.can(to):
            raise ModeError(f"the window cannot go from {self._mode} to {to}")
        self._mode = to
        return ENABLES[to]
