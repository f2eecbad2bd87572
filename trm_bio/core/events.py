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
from dataclasses import dataclass, field, fields
from enum import Enum, StrEnum
from typing import Any, Final, Self

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

#: The key of a marker's payload saying which source the beats come from from then on
#: (``"ECG"`` or ``"strap RR"``, see trm_bio.core.beat_source); ``reason`` says why.
BEAT_SOURCE_KEY: Final = "beat_source"

#: Source id of the session's own link changes (a pause is "disconnected", going on
#: "streaming"), told apart from the strap's.
SESSION_SOURCE: Final = "session"


@dataclass(frozen=True, slots=True)
class _Payload:
    """A payload record, read from and written to its JSON object one way for every kind."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The record of a stored payload: a key absent or null takes the field's default;
        under a text default a value is read as text, under a tuple as a tuple of text,
        under an enum member as its member (ValueError for a value the enum lacks); under
        None it is taken as it is. Keys the record does not name are left out."""
        values = {}
        for f in fields(cls):
            value, default = data.get(f.name), f.default
            if value is None or default is None:
                values[f.name] = default if value is None else value
            elif isinstance(default, Enum):
                values[f.name] = type(default)(value)
            elif isinstance(default, tuple):
                values[f.name] = tuple(str(item) for item in value)
            else:
                values[f.name] = str(value)
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the record (an enum member as its value)."""
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value.value if isinstance(value, Enum) else value for name, value in values}


@dataclass(frozen=True, slots=True)
class ConnectionPayload(_Payload):
    """A link change: the new state, its sentence for the user, and whose link it is."""

    state: LinkState = LinkState.DISCONNECTED
    message: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class FlowPayload(_Payload):
    """A transition of the practice flow, as ``skills.flow.FlowEvent`` stores it.

    ``kind`` is the transition (``skill_started``, ``step_started``, ``helpnow``...);
    ``detail`` the skill or plan name, why a step finished, or the Help Now! strategy.
    """

    kind: str = ""
    detail: str = ""
    prompt: str = ""
    skill_id: str | None = None
    skill_number: int | None = None
    step_index: int | None = None
    plan_id: str | None = None
    position: int | None = None


@dataclass(frozen=True, slots=True)
class SensationPayload(_Payload):
    """A sensation the person noticed (``intensity`` 0-10 as it was stored)."""

    valence: str = ""
    words: tuple[str, ...] = ()
    location: str | None = None
    intensity: float | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ZoneRatingPayload(_Payload):
    """The person's own sense of their zone ("high", "resilient", "low"; "" when not given).

    A self-rating at the start or the end of a session has ``moment`` "start" or "end"
    and may carry ``distress``, the person's own 0-10 rating of how distressed they feel.
    """

    zone: str = ""
    note: str = ""
    distress: float | None = None
    moment: str = ""


#: The person's own zones a self-rating may name.
OWN_ZONES: Final = ("high", "resilient", "low")


def self_rating(moment: str, distress: float | None, zone: str | None) -> ZoneRatingPayload:
    """The person's own rating at the ``moment`` ("start" or "end") of a session.

    Parameters
    ----------
    moment : {"start", "end"}
        When in the session it was given.
    distress : float or None
        How distressed they feel, 0 (not at all) to 10 (the most); None: not given.
    zone : {"high", "resilient", "low"} or None
        Their own sense of their zone; None: not given.

    Raises
    ------
    ValueError
        With one sentence: a value out of range, or nothing given at all.
    """
    if moment not in ("start", "end"):
        raise ValueError(f"a self-rating is given at the start or the end, not {moment!r}")
    if distress is not None and not (0.0 <= float(distress) <= 10.0):
        raise ValueError(f"distress is rated from 0 to 10, not {distress!r}")
    if zone is not None and zone not in OWN_ZONES:
        raise ValueError(f"the own zone is high, resilient or low, not {zone!r}")
    if distress is None and zone is None:
        raise ValueError("a self-rating needs a distress rating or the person's own zone")
    return ZoneRatingPayload(
        zone=zone or "", distress=None if distress is None else float(distress), moment=moment
    )


@dataclass(frozen=True, slots=True)
class TextPayload(_Payload):
    """The words of a marker, a note or a resource (None: none were given)."""

    text: str | None = None


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

    def to_json(self) -> dict[str, Any]:
        """The event as a session export holds it (``kind`` as text, the payload as stored)."""
        return {
            "seq": self.seq,
            "time_s": self.time_s,
            "host_ns": self.host_ns,
            "kind": str(self.kind),
            "payload": self.payload,
        }

    def host_time_ns(self, start_ns: int) -> int:
        """Host time (ns): the stored one, else the beat-clock time after ``start_ns`` (ns)."""
        return self.host_ns if self.host_ns is not None else host_ns_at(start_ns, self.time_s)


def beat_source_payload(source: str, reason: str = "") -> dict[str, Any]:
    """A marker's payload for a change of beat source: its words and the source, kept apart
    so that readers need not parse the words."""
    text = f"beat source: {source}" + (f" ({reason})" if reason else "")
    return {"text": text, BEAT_SOURCE_KEY: source, "reason": reason}
