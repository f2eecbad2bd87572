"""Logged events and detected shifts as plot markers and timeline entries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from devices.packet import LinkState
from trm_bio.core.events import (
    SESSION_SOURCE,
    ConnectionPayload,
    Event,
    EventKind,
    FlowPayload,
    SensationPayload,
    TextPayload,
    ZoneRatingPayload,
)
from trm_bio.ui.live_plots import Marker
from trm_bio.ui.theme import HELP_NOW, SHIFT
from trm_bio.zone_display import SHIFT_WORDS

if TYPE_CHECKING:
    from trm_bio.core.effects import EffectEvent
    from trm_bio.core.shifts import Shift
    from trm_bio.history import SessionAnalysis

_FLOW_WORDS = {
    "plan_started": "plan",
    "skill_started": "skill",
    "step_started": "step",
    "paused": "paused",
    "resumed": "resumed",
    "helpnow": "Help Now!",
    "helpnow_strategy": "Help Now! strategy",
    "helpnow_returned": "back from Help Now!",
    "skill_finished": "skill finished",
    "plan_finished": "plan finished",
    "stopped": "practice stopped",
}


def marker_for(event: Event) -> Marker | None:
    """The marker of a logged event; None to skip."""
    details, t = event.details, float(event.time_s)
    if isinstance(details, FlowPayload):
        flow_kind = details.kind
        if flow_kind in ("step_finished", "step_skipped", "went_back", "skill_skipped"):
            return None  # the next step's start marks the same moment
        if flow_kind.startswith("helpnow"):
            label = _FLOW_WORDS.get(flow_kind, flow_kind)
            if flow_kind == "helpnow_strategy" and (details.prompt or details.detail):
                # The strategy's own words: its id (e.g. push_wall) is no name for a person.
                label = _first_words(details.prompt or details.detail.replace("_", " "))
            return Marker(t, HELP_NOW, label)
        label = _FLOW_WORDS.get(flow_kind, flow_kind)
        if flow_kind == "skill_started" and details.detail:
            label = details.detail
        if flow_kind == "step_started" and details.prompt:
            label = _first_words(details.prompt)
        tone = "skill" if flow_kind in ("plan_started", "skill_started") else ""
        return Marker(t, EventKind.FLOW, label, tone)
    if isinstance(details, SensationPayload):
        return Marker(t, EventKind.SENSATION, sensation_words(details), details.valence)
    if isinstance(details, ZoneRatingPayload):
        return Marker(t, EventKind.ZONE_RATING, f"feels {details.zone or 'rated'}")
    if isinstance(details, ConnectionPayload):
        state = details.state
        if state in (LinkState.CONNECTING, LinkState.CONNECTED):
            return None
        if details.source == SESSION_SOURCE:  # the session's own pause, not the strap's link
            words = "paused" if state is LinkState.DISCONNECTED else "went on"
            return Marker(t, EventKind.CONNECTION, words)
        return Marker(t, EventKind.CONNECTION, state.value)
    kind = event.kind if isinstance(details, TextPayload) else EventKind.MARKER
    text = TextPayload.from_json(event.payload).text  # an unknown kind's words too
    return Marker(t, kind, str(event.kind) if text is None else text)


def sensation_words(details: SensationPayload) -> str:
    """A sensation's words, where and how strong, and its note (``warm (hands, 5/10)``)."""
    where = [details.location] if details.location else []
    if details.intensity is not None:
        where.append(f"{details.intensity:g}/10")
    text = ", ".join(details.words)
    if where:
        text = f"{text} ({', '.join(where)})".strip()
    if details.note:
        text = f"{text}: {details.note}" if text else details.note
    return text


def _first_words(prompt: str, most: int = 60) -> str:
    """The start of a prompt, to name its step on a marker."""
    return prompt if len(prompt) <= most else prompt[: most - 1].rsplit(" ", 1)[0] + "…"


def markers_for(events: Iterable[Event]) -> list[Marker]:
    return [m for m in (marker_for(e) for e in events) if m is not None]


def shift_markers(shifts: Iterable[tuple[EffectEvent, Shift]]) -> list[Marker]:
    """Markers for the shifts toward or away from the band, at their events."""
    out = []
    for event, shift in shifts:
        if shift.direction in ("toward", "away"):
            words = SHIFT_WORDS[shift.direction]
            out.append(Marker(float(shift.event_time_s), SHIFT, f"{event.label}: {words}"))
    return out


def replay_markers(analysis: SessionAnalysis) -> list[Marker]:
    """A stored session's events and detected shifts as markers, in time order."""
    events = markers_for(analysis.events)
    shifts = shift_markers(analysis.effects.shifts)
    return sorted(events + shifts, key=lambda m: m.time_s)


def prompt_at(events: Iterable[Event], time_s: float) -> str:
    """The practice prompt showing at ``time_s`` in a recorded session ("" when none)."""
    step_prompt = ""  # the step's prompt, shown again when Help Now! ends
    prompt = ""
    for e in events:
        flow = e.details
        if isinstance(flow, SensationPayload | ZoneRatingPayload | TextPayload):
            continue  # the person's own entries, which a correction may move in time
        if e.time_s > time_s:
            break
        if not isinstance(flow, FlowPayload):
            continue
        if flow.kind == "step_started" and flow.prompt:
            step_prompt = prompt = flow.prompt
        elif flow.kind == "helpnow_strategy" and flow.prompt:
            prompt = flow.prompt
        elif flow.kind == "helpnow_returned":
            prompt = step_prompt
        elif flow.kind in ("stopped", "plan_finished", "skill_finished"):
            step_prompt = prompt = ""
    return prompt
