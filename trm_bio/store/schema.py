"""What a stored session may hold: one set of rules for imported files and for rows read back.

An import is checked field by field before anything is written (pydantic models of the
session JSON, strict: a string is never taken for a number), and the same limits are
applied to every row the library reads back, so that a file crafted by hand or a row
damaged on disk is refused with one sentence naming the field instead of crashing a
command later. pydantic was chosen over jsonschema because one model both checks and
converts (ints stay ints, lists become typed values) and its errors carry the field's
path; its checks of long lists (100,000 packets) run in compiled code.

Free-form JSON (event payloads, import details) may hold anything JSON holds,
within :data:`MAX_JSON_DEPTH` levels, with finite numbers and text that is valid Unicode.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from devices.packet import LinkState
from trm_bio.core.events import EventKind

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Longest span a session's times may cover either side of its start (s): far beyond a
#: practice session or a Holter day (a recording left running for weeks stays readable),
#: yet a crafted time cannot make an export of it (EDF at 4 Hz: under 50 MB) unbounded.
MAX_SESSION_S = 31 * 24 * 3600.0
MAX_SESSION_NS = int(MAX_SESSION_S * 1e9)
#: What can be a heart interval at all (ms), artifacts and recording gaps included: nothing
#: shorter than 20 ms (a strap's or detector's shortest false beat is several times that),
#: nothing longer than 10 minutes (a gap in the recording, not a beat). Values outside are
#: refused rather than analysed: they are a broken file, not a heart.
RR_LIMITS_MS = (20.0, 600_000.0)
#: Deepest nesting of free-form JSON (payloads are a few levels deep; Python's own JSON
#: reader and writer recurse, so an unbounded depth could crash them).
MAX_JSON_DEPTH = 32


def check_json_value(
    value: Any, max_depth: int = MAX_JSON_DEPTH, *, depth_only: bool = False, finite: bool = True
) -> Any:
    """``value`` unchanged when it is plain JSON; ValueError saying what is wrong otherwise.

    Checks without recursion: nesting depth, and unless ``depth_only``, text encodable as
    UTF-8 (no lone surrogates), string keys and (when ``finite``) finite numbers.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise ValueError(f"it is nested more than {max_depth} levels deep")
            if depth_only:
                stack.extend((inner, depth + 1) for inner in item.values())
                continue
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise ValueError(f"it has a key {key!r} that is not text")
                _check_text(key)
                stack.append((inner, depth + 1))
        elif isinstance(item, list | tuple):
            if depth > max_depth:
                raise ValueError(f"it is nested more than {max_depth} levels deep")
            stack.extend((inner, depth + 1) for inner in item)
        elif depth_only:
            continue
        elif isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float):
            if finite and not math.isfinite(item):
                raise ValueError(f"it holds {item}, which is not a finite number")
        elif item is not None and not isinstance(item, bool | int):
            raise ValueError(f"it holds a {type(item).__name__}, which JSON cannot hold")
    return value


def _check_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("it holds text that is not valid Unicode") from None
    return text


def _check_iso_time(text: str) -> str:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("it is not an ISO 8601 date and time") from None
    return text


def _check_json_object(value: dict[str, Any]) -> dict[str, Any]:
    return check_json_value(value)


def _check_settings(value: dict[str, Any]) -> dict[str, Any]:
    # Settings were always written allowing NaN (a value not set); nobody computes with them.
    return check_json_value(value, finite=False)


def _check_base64(text: str) -> str:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("it is not base64 text") from None
    return text


Text = Annotated[str, AfterValidator(_check_text)]
Name = Annotated[str, Field(min_length=1), AfterValidator(_check_text)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Seq = Annotated[int, Field(ge=0, le=INT64_MAX)]
BeatClockS = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_SESSION_S, le=MAX_SESSION_S)]
DurationS = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=MAX_SESSION_S)]
IsoTime = Annotated[str, AfterValidator(_check_text), AfterValidator(_check_iso_time)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_check_json_object)]
Settings = Annotated[dict[str, Any], AfterValidator(_check_settings)]
Payload = Annotated[str, AfterValidator(_check_base64)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SessionMeta(_Strict):
    """A session's metadata (the ``sessions`` row, or ``session`` of a JSON export)."""

    started_utc: IsoTime
    start_ns: Int64
    ended_utc: IsoTime | None = None
    duration_s: DurationS | None = None
    source_kind: Text
    source_id: Text = ""
    device_name: Text = ""
    notes: Text = ""
    tags: list[Text] = Field(default_factory=list)
    status: Literal["recording", "complete", "interrupted"] = "complete"
    settings: Settings = Field(default_factory=dict)


class _Payload(BaseModel):
    # The keys each reader of an event uses, with their types; other keys are kept as they are.
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class _ConnectionPayload(_Payload):
    state: Literal[tuple(state.value for state in LinkState)] = LinkState.DISCONNECTED.value  # type: ignore[valid-type]
    message: Text | None = None
    source: Text | None = None


class _FlowPayload(_Payload):
    kind: Text | None = None
    skill_number: Int64 | None = None
    skill_id: Text | None = None
    step_index: Annotated[int, Field(ge=0, le=10**6)] | None = None
    prompt: Text | None = None
    plan_id: Text | None = None
    position: Int64 | None = None
    detail: Text | None = None


class _SensationPayload(_Payload):
    valence: Text | None = None
    words: list[Text] | None = None
    location: Text | None = None
    intensity: Annotated[float, Field(allow_inf_nan=False)] | None = None
    note: Text | None = None


class _RatingPayload(_Payload):
    zone: Text | None = None
    note: Text | None = None
    distress: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] | None = None
    moment: Literal["start", "end"] | None = None


class _TextPayload(_Payload):
    text: Text | None = None


_PAYLOADS: dict[str, type[_Payload]] = {
    EventKind.CONNECTION: _ConnectionPayload,
    EventKind.FLOW: _FlowPayload,
    EventKind.SENSATION: _SensationPayload,
    EventKind.ZONE_RATING: _RatingPayload,
    EventKind.RESOURCE: _TextPayload,
    EventKind.NOTE: _TextPayload,
    EventKind.MARKER: _TextPayload,
}


class EventModel(_Strict):
    """One logged event on the beat clock; the payload of a known kind has its keys' types."""

    seq: Seq
    time_s: BeatClockS
    host_ns: Int64 | None = None
    kind: Text
    payload: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _payload_of_kind(self) -> EventModel:
        model = _PAYLOADS.get(self.kind)
        if model is not None:
            try:
                model.model_validate(self.payload)
            except ValidationError as exc:
                raise ValueError(f"payload.{describe_errors(exc)}") from None
        return self


class PacketsModel(_Strict):
    """A session's raw packets as a JSON export lays them out."""

    host_ns: list[Int64]
    source_ids: list[Text]
    source_index: list[Seq]
    payload_b64: list[Payload]

    @model_validator(mode="after")
    def _parallel(self) -> PacketsModel:
        n = len(self.host_ns)
        if not len(self.source_index) == len(self.payload_b64) == n:
            raise ValueError(
                f"host_ns, source_index and payload_b64 have {n}, {len(self.source_index)} "
                f"and {len(self.payload_b64)} entries where each packet needs one of each"
            )
        if self.source_index and max(self.source_index) >= len(self.source_ids):
            raise ValueError(
                f"source_index points at source {max(self.source_index)}, but there are "
                f"only {len(self.source_ids)} source_ids"
            )
        return self


class ImportedRRModel(_Strict):
    """An imported file's exact RR values (ms) and beat times (s)."""

    rr_ms: list[float]
    times_s: list[float] | None = None
    info: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _plausible(self) -> ImportedRRModel:
        check_imported_rr(
            np.asarray(self.rr_ms, dtype=np.float64),
            None if self.times_s is None else np.asarray(self.times_s, dtype=np.float64),
        )
        return self


class SessionDocument(_Strict):
    """A whole-session JSON export (``format`` ``"trm-bio-session"``)."""

    session: SessionMeta
    person: Name | None = None
    packets: PacketsModel
    events: list[EventModel]
    imported_rr: ImportedRRModel | None = None
    #: A Polar strap's raw PMD frames (format version 2), laid out as the packets are.
    pmd_frames: PacketsModel | None = None


# ---- checks shared with the library's row readers ------------------------------------------


def check_span(start_ns: int, host_ns: np.ndarray, field: str) -> None:
    """ValueError when a host time lies more than :data:`MAX_SESSION_S` from the start."""
    if host_ns.size == 0:
        return
    # Python ints: the difference of two int64 may not fit in one.
    low, high = int(host_ns.min()) - int(start_ns), int(host_ns.max()) - int(start_ns)
    worst = low if abs(low) > abs(high) else high
    if abs(worst) > MAX_SESSION_NS:
        raise ValueError(
            f"{field} holds a time {worst / 1e9:.6g} s from the session start, more than "
            f"the {MAX_SESSION_S / 86400:g} days a session may span"
        )


def check_imported_rr(rr_ms: np.ndarray, times_s: np.ndarray | None) -> None:
    """ValueError when imported RR values (ms) or their times (s) are not plausible."""
    low, high = RR_LIMITS_MS
    if rr_ms.size == 0:
        raise ValueError("rr_ms holds no RR intervals")
    bad = np.flatnonzero(~(np.isfinite(rr_ms) & (rr_ms >= low) & (rr_ms <= high)))
    if bad.size:
        raise ValueError(
            f"rr_ms value {bad[0] + 1} ({rr_ms[bad[0]]:g}) is not a heart interval (RR "
            f"intervals lie between {low:g} ms and {high / 60000:g} minutes)"
        )
    if float(rr_ms.sum()) / 1000.0 > MAX_SESSION_S:
        raise ValueError(f"rr_ms adds up to more than the {MAX_SESSION_S / 86400:g} days a "
                         "session may span")
    if times_s is None:
        return
    if times_s.shape != rr_ms.shape:
        raise ValueError(
            f"times_s has {times_s.size} times for {rr_ms.size} RR intervals (one each)"
        )
    bad = np.flatnonzero(~(np.isfinite(times_s) & (np.abs(times_s) <= MAX_SESSION_S)))
    if bad.size:
        raise ValueError(
            f"times_s value {bad[0] + 1} ({times_s[bad[0]]:g}) is not a time within the "
            f"{MAX_SESSION_S / 86400:g} days a session may span"
        )


def describe_errors(error: ValidationError) -> str:
    """The first problem pydantic found, in words naming the field (``events[3].time_s``)."""
    first = error.errors(include_url=False)[0]
    where = ""
    for part in first["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif not _is_union_tag(part):
            where += f".{part}" if where else part
    message = str(first["msg"])
    if first["type"] == "missing":
        return f"{where} is missing"
    if first["type"] in ("value_error", "assertion_error"):
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if not where:
            return message
        # A check of the whole model may name a field inside it ("payload.state is ...").
        joint = "." if re.match(r"[\w\[\]]+\.\w", message) else ": "
        return f"{where}{joint}{message}"
    message = re.sub(r"^\w+ should", "should", message)  # "Input should be..."
    message = message[:1].lower() + message[1:]
    return f"{where or 'the file'} is {_short(first.get('input'))}, but it {message}"


def _is_union_tag(part: str | int) -> bool:
    # pydantic names the branch of a union it tried ("float", "none") in the location.
    return isinstance(part, str) and (
        part in ("none", "float", "int", "str", "list[float]", "dict[str,any]")
        or part.startswith(("function-after", "constrained-", "list[", "dict["))
    )


def _short(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return f"a {'list' if isinstance(value, list) else 'JSON object'}"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_document(data: dict[str, Any]) -> SessionDocument:
    """The checked session document; ValueError naming the first field that is wrong."""
    try:
        return SessionDocument.model_validate(data)
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None


def validate_event(values: dict[str, Any]) -> EventModel:
    """One checked event; ValueError naming the field that is wrong."""
    try:
        return EventModel.model_validate(values)
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None


def validate_session_meta(values: dict[str, Any]) -> SessionMeta:
    """Checked session metadata; ValueError naming the field that is wrong."""
    try:
        return SessionMeta.model_validate(values)
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None
