"""Logged events and detected shifts as plot markers and timeline entries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trm_bio.ui.live_plots import Marker

if TYPE_CHECKING:
    from trm_bio.core.effects import Event as EffectEvent
    from trm_bio.core.shifts import Shift

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


def marker_for(event: Any) -> Marker | None:
    """The marker of a session event (``SessionEvent`` or stored ``Event``); None to skip."""
    kind, p, t = event.kind, event.payload, float(event.time_s)
    if kind == "flow":
        flow_kind = p.get("kind", "")
        if flow_kind in ("step_finished", "step_skipped", "went_back", "skill_skipped"):
            return None  # the next step's start marks the same moment
        if flow_kind.startswith("helpnow"):
            return Marker(t, "helpnow", _FLOW_WORDS.get(flow_kind, flow_kind))
        label = _FLOW_WORDS.get(flow_kind, flow_kind)
        if flow_kind == "skill_started" and p.get("detail"):
            label = str(p["detail"])
        return Marker(t, "flow", label)
    if kind == "sensation":
        words = ", ".join(p.get("words") or [])
        return Marker(t, "sensation", f"{p.get('valence', '')} {words}".strip())
    if kind == "zone_rating":
        return Marker(t, "zone_rating", f"feels {p.get('zone', '')}")
    if kind == "connection":
        state = p.get("state", "")
        if state in ("connecting", "connected"):
            return None
        if p.get("source") == "session":  # the session's own pause, not the strap's link
            return Marker(t, "connection", "paused" if state == "disconnected" else "went on")
        return Marker(t, "connection", state)
    return Marker(
        t, kind if kind in ("marker", "note", "resource") else "marker", str(p.get("text", kind))
    )


def markers_for(events: Iterable[Any]) -> list[Marker]:
    return [m for m in (marker_for(e) for e in events) if m is not None]


def shift_markers(shifts: Iterable[tuple[EffectEvent, Shift]]) -> list[Marker]:
    """Markers for the shifts toward or away from the band, at their events."""
    out = []
    for event, shift in shifts:
        if shift.direction in ("toward", "away"):
            words = "toward the band" if shift.direction == "toward" else "away from the band"
            out.append(Marker(float(shift.event_time_s), "shift", f"{event.label}: {words}"))
    return out


def prompt_at(events: Iterable[Any], time_s: float) -> str:
    """The practice prompt showing at ``time_s`` in a recorded session ("" when none)."""
    step_prompt = ""  # the step's prompt, shown again when Help Now! ends
    prompt = ""
    for e in events:
        if e.time_s > time_s:
            break
        if e.kind != "flow":
            continue
        flow_kind = e.payload.get("kind")
        text = str(e.payload.get("prompt") or "")
        if flow_kind == "step_started" and text:
            step_prompt = prompt = text
        elif flow_kind == "helpnow_strategy" and text:
            prompt = text
        elif flow_kind == "helpnow_returned":
            prompt = step_prompt
        elif flow_kind in ("stopped", "plan_finished", "skill_finished"):
            step_prompt = prompt = ""
    return prompt
