"""The one vocabulary of logged events: their kinds, the event record and its typed payloads.

An event is something that happened in a session, dated on the beat clock: a change of the
strap's link (or the session's own pause), a transition of the practice flow, a sensation the
person noticed, their own zone rating, a resource, a marker or a note. The session logs
them, the library stores them (a kind and a JSON payload), exports carry them, and the
screens, reports and commands read them, all as :class:`Event`.

The payload is kept as the JSON object that is stored: it is the ground truth, written and
read unchanged, so libraries and exports made before read the same and no key is lost, not
even one this version does not know. :attr:`Event.details` reads it as its kind's record,
the one way every reader uses. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from devices.packet import LinkState
from trm_bio.core.timeline import host_ns_at


class EventKind(StrEnum):
    """What an event is; each value is the ``kind`` libraries and exports store."""

    CONNECTION = "connection"  # the strap's link changed, or the session paused or went on
    FLOW = "flow"  # a transition of the practice flow (skills.flow.FlowEvent)
    SENSATION = "sensation"  # skills.sensations.SensationLog
    ZONE_RATING = "zone_rating"  # skills.sensations.ZoneRating
    RESOURCE = "resource"
    MARKER = "marker"
    NOTE = "note"


_KINDS: Final = {kind.value: kind for kind in EventKind}

#: Link states after which beats cannot continue the current segment: the link was lost,
#: so what follows is not contiguous with what came before.
BREAKING_STATES: Final = frozenset(
    {LinkState.DISCONNECTED, LinkState.RECONNECTING, LinkState.FAILED}
)

#: Source id of the session's own link changes (a pause is "disconnected", going on
#: "streaming"), told apart from the strap's.
SESSION_SOURCE: Final = "session"


@dataclass(frozen=True, slots=True)
class ConnectionPayload:
    """A link change: the new state, its sentence for the user, and whose link it is."""

    state: LinkState
    message: str = ""
    source: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConnectionPayload:
        """Raises ValueError for a state that is not a :class:`LinkState` value."""
        return cls(
            LinkState(data.get("state", LinkState.DISCONNECTED.value)),
            str(data.get("message") or ""),
            str(data.get("source") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value, "message": self.message, "source": self.source}


@dataclass(frozen=True, slots=True)
class FlowPayload:
    """A transition of the practice flow; the fields of ``skills.flow.FlowEvent``.

    ``kind`` is the transition (``skill_started``, ``step_started``, ``helpnow``...);
    ``detail`` the skill or plan name, why a step finished, or the Help Now! strategy.
    """

    kind: str = ""
    skill_number: int | None = None
    skill_id: str | None = None
    step_index: int | None = None
    prompt: str = ""
    plan_id: str | None = None
    position: int | None = None
    detail: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlowPayload:
        return cls(
            str(data.get("kind") or ""),
            data.get("skill_number"),
            data.get("skill_id"),
            data.get("step_index"),
            str(data.get("prompt") or ""),
            data.get("plan_id"),
            data.get("position"),
            str(data.get("detail") or ""),
        )


@dataclass(frozen=True, slots=True)
class SensationPayload:
    """A sensation the person noticed (``intensity`` 0-10 as it was stored)."""

    valence: str = ""
    words: tuple[str, ...] = ()
    location: str | None = None
    intensity: float | None = None
    note: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SensationPayload:
        return cls(
            str(data.get("valence") or ""),
            tuple(str(word) for word in data.get("words") or ()),
            data.get("location") or None,
            data.get("intensity"),
            str(data.get("note") or ""),
        )


@dataclass(frozen=True, slots=True)
class ZoneRatingPayload:
    """The person's own sense of their zone ("high", "resilient", "low")."""

    zone: str = ""
    note: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ZoneRatingPayload:
        return cls(str(data.get("zone") or ""), str(data.get("note") or ""))


@dataclass(frozen=True, slots=True)
class TextPayload:
    """The words of a marker, a note or a resource (None: none were given)."""

    text: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TextPayload:
        text = data.get("text")
        return cls(None if text is None else str(text))

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text}


Payload = ConnectionPayload | FlowPayload | SensationPayload | ZoneRatingPayload | TextPayload

_READERS: Final[dict[str, Callable[[Mapping[str, Any]], Payload]]] = {
    EventKind.CONNECTION: ConnectionPayload.from_json,
    EventKind.FLOW: FlowPayload.from_json,
    EventKind.SENSATION: SensationPayload.from_json,
    EventKind.ZONE_RATING: ZoneRatingPayload.from_json,
    EventKind.RESOURCE: TextPayload.from_json,
    EventKind.MARKER: TextPayload.from_json,
    EventKind.NOTE: TextPayload.from_json,
}


@dataclass(frozen=True, slots=True)
class Event:
    """Something logged in a session, on the beat clock.

    Attributes
    ----------
    time_s : float
        Beat-clock time (s from session start).
    kind : EventKind or str
        What it is; a kind this version does not know stays the stored text.
    payload : dict
        The JSON object stored with it (see the module doc); :attr:`details` reads it.
    host_ns : int or None
        Host monotonic time (ns) when it happened, when known.
    seq : int or None
        Its number among the session's events in the library (None: not read from one).
    """

    time_s: float
    kind: EventKind | str
    payload: dict[str, Any] = field(default_factory=dict)
    host_ns: int | None = None
    seq: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _KINDS.get(self.kind, self.kind))

    @property
    def details(self) -> Payload | None:
        """The payload as its kind's record; None for a kind that has none."""
        read = _READERS.get(self.kind)
        return None if read is None else read(self.payload)

    def host_time_ns(self, start_ns: int) -> int:
        """Host time (ns): the stored one, else the beat-clock time after ``start_ns`` (ns)."""
        return self.host_ns if self.host_ns is not None else host_ns_at(start_ns, self.time_s)
