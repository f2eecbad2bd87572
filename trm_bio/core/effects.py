"""Per-skill and per-resource effect summaries: what followed each logged event.

For one finished session, each event (a skill, a resource, a sensation log, a Help Now! use)
gets a :class:`~trm_bio.core.shifts.Shift`; events of the same kind and label are grouped
and ranked by how far, on average, the body moved toward the resilient band afterwards.
Across sessions the groups are pooled to show which skills and resources most often moved
this person toward the band. These are observations of co-occurrence, not proof that a
skill caused a change; the report should say so.

Everything returned is plain dataclasses with ``to_dict()`` giving JSON-ready dicts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from trm_bio.core.errors import TrmBioError
from trm_bio.core.events import Event, EventKind, FlowPayload, SensationPayload, TextPayload
from trm_bio.core.json_safe import json_safe_fields
from trm_bio.core.regulation import DEFAULT_PARAMS, RegulationParams, RegulationTrace
from trm_bio.core.shifts import (
    DEFAULT_SHIFT_PARAMS,
    Shift,
    ShiftParams,
    detect_shifts,
)


class EffectKind(StrEnum):
    """What an event whose aftermath is measured was (see :func:`effect_events`)."""

    SKILL = "skill"  # labelled with the skill's name
    HELPNOW = "helpnow"  # "Help Now!", or the strategy chosen
    SENSATION = "sensation"  # the words, else the valence
    RESOURCE = "resource"  # the person's words for it


@dataclass(frozen=True, slots=True)
class EffectEvent:
    """One logged event whose aftermath is measured, on the beat clock.

    Parameters
    ----------
    time_s : float
        Beat-clock time (s).
    kind : str
        An :class:`EffectKind`.
    label : str
        Skill name, Help Now! strategy, or the resource / sensation words.
    """

    time_s: float
    kind: str
    label: str


def effect_events(events: Iterable[Event]) -> list[EffectEvent]:
    """The logged events whose aftermath is measured: skills and Help Now! (from the practice
    flow), sensations and resources; live and batch alike."""
    out = []
    for e in events:
        details = e.details
        if isinstance(details, FlowPayload):
            if details.kind == "skill_started":
                label = details.detail or details.skill_id or "skill"
                out.append(EffectEvent(e.time_s, EffectKind.SKILL, label))
            elif details.kind == "helpnow":
                out.append(EffectEvent(e.time_s, EffectKind.HELPNOW, "Help Now!"))
            elif details.kind == "helpnow_strategy":
                out.append(EffectEvent(e.time_s, EffectKind.HELPNOW, details.detail or "Help Now!"))
        elif isinstance(details, SensationPayload):
            label = ", ".join(details.words) if details.words else details.valence or "sensation"
            out.append(EffectEvent(e.time_s, EffectKind.SENSATION, label))
        elif isinstance(details, TextPayload) and e.kind is EventKind.RESOURCE:
            out.append(EffectEvent(e.time_s, EffectKind.RESOURCE, details.text or "resource"))
    return out


def _label_key(label: str) -> str:
    return " ".join(str(label).split()).casefold()


def _as_event(item: EffectEvent | Mapping[str, Any]) -> EffectEvent:
    if isinstance(item, EffectEvent):
        return item
    try:
        return EffectEvent(float(item["time_s"]), str(item["kind"]), str(item.get("label", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise TrmBioError(f"An event needs a time_s, a kind and a label ({exc}).") from exc


@dataclass(frozen=True, slots=True)
class EffectItem:
    """Physiological change that followed one kind+label of event in a session.

    Means are over the events whose change could be measured (``n_measured``), each taken
    from that event's peak after-window (the one with the largest movement).
    """

    kind: str
    label: str
    n_events: int
    n_measured: int
    n_toward: int
    n_away: int
    n_none: int
    mean_movement: float
    mean_d_hr_bpm: float
    mean_d_hr_effect: float
    mean_d_ln_rmssd: float
    mean_d_ln_rmssd_effect: float
    mean_d_arousal: float
    event_times_s: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (NaN becomes None)."""
        return json_safe_fields(self)


@dataclass(frozen=True, slots=True)
class SessionEffects:
    """Effect summary of one session: items ranked by movement toward the band."""

    items: tuple[EffectItem, ...]
    shifts: tuple[tuple[EffectEvent, Shift], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (NaN becomes None)."""
        return {
            "items": [item.to_dict() for item in self.items],
            "shifts": [
                {"event": asdict(event), "shift": shift.to_dict()} for event, shift in self.shifts
            ],
        }


def _rank_key(mean: float) -> float:
    return -mean if math.isfinite(mean) else math.inf


def summarize_session(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    trace: RegulationTrace,
    events: Iterable[EffectEvent | Mapping[str, Any]],
    *,
    kinds: Sequence[str] | None = None,
    params: ShiftParams = DEFAULT_SHIFT_PARAMS,
    regulation: RegulationParams = DEFAULT_PARAMS,
) -> SessionEffects:
    """Each skill / resource / sensation of a session with the change that followed it.

    Parameters
    ----------
    times_s, hr_bpm, rmssd_ms : ndarray
        Beat times (s), window HR (bpm), window RMSSD (ms).
    trace : RegulationTrace
        The session's regulation model (:func:`~trm_bio.core.regulation.regulate`).
    events : iterable of EffectEvent or mapping
        Logged events (``time_s``, ``kind``, ``label``).
    kinds : sequence of str, optional
        Keep only these kinds.
    params, regulation : ShiftParams, RegulationParams
        Windows and thresholds.

    Returns
    -------
    SessionEffects
        Items ranked by mean movement toward the band (unmeasurable ones last).
    """
    evs = [_as_event(e) for e in events]
    if kinds is not None:
        wanted = set(kinds)
        evs = [e for e in evs if e.kind in wanted]
    if trace.baseline is None or not evs:
        shifts: list[Shift] = []
    else:
        shifts = detect_shifts(
            times_s, hr_bpm, rmssd_ms, trace.arousal, [e.time_s for e in evs], trace.baseline,
            zone=trace.zone, lowness=trace.lowness, params=params, regulation=regulation,
        )
    groups: dict[tuple[str, str], list[tuple[EffectEvent, Shift | None]]] = {}
    for i, ev in enumerate(evs):
        groups.setdefault((ev.kind, _label_key(ev.label)), []).append(
            (ev, shifts[i] if shifts else None)
        )
    items = []
    for (kind, _), members in groups.items():
        measured = [s for _, s in members if s is not None and math.isfinite(s.movement)]

        def mean(values: list[float]) -> float:
            finite = [v for v in values if math.isfinite(v)]
            return float(np.mean(finite)) if finite else math.nan

        items.append(
            EffectItem(
                kind=kind,
                label=" ".join(members[0][0].label.split()),
                n_events=len(members),
                n_measured=len(measured),
                n_toward=sum(s.direction == "toward" for s in measured),
                n_away=sum(s.direction == "away" for s in measured),
                n_none=sum(s.direction == "none" for s in measured),
                mean_movement=mean([s.movement for s in measured]),
                mean_d_hr_bpm=mean([s.changes["d_hr_bpm"] for s in measured]),
                mean_d_hr_effect=mean([s.changes["d_hr_effect"] for s in measured]),
                mean_d_ln_rmssd=mean([s.changes["d_ln_rmssd"] for s in measured]),
                mean_d_ln_rmssd_effect=mean([s.changes["d_ln_rmssd_effect"] for s in measured]),
                mean_d_arousal=mean([s.changes["d_arousal"] for s in measured]),
                event_times_s=tuple(e.time_s for e, _ in members),
            )
        )
    items.sort(key=lambda it: _rank_key(it.mean_movement))
    pairs = tuple(zip(evs, shifts, strict=True)) if shifts else ()
    return SessionEffects(tuple(items), pairs)


@dataclass(frozen=True, slots=True)
class CrossSessionEffect:
    """How often one kind+label of event was followed by a move toward the band."""

    kind: str
    label: str
    n_sessions: int
    n_events: int
    n_measured: int
    n_toward: int
    n_away: int
    fraction_toward: float  # n_toward / n_measured
    mean_movement: float  # event-weighted over sessions
    mean_d_hr_bpm: float
    mean_d_ln_rmssd: float
    mean_d_arousal: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (NaN becomes None)."""
        return json_safe_fields(self)


def summarize_across_sessions(
    sessions: Sequence[SessionEffects | Mapping[str, Any]],
) -> list[CrossSessionEffect]:
    """Which skills and resources most often moved this person toward the band.

    Parameters
    ----------
    sessions : sequence of SessionEffects or their ``to_dict()`` form
        Per-session summaries (e.g. loaded from the library as JSON).

    Returns
    -------
    list of CrossSessionEffect
        Ranked by the number of moves toward the band, then the fraction toward, then the
        mean movement.
    """
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for session in sessions:
        record = session.to_dict() if isinstance(session, SessionEffects) else session
        items = record["items"]
        for item in items:
            key = (str(item["kind"]), _label_key(item["label"]))
            a = acc.setdefault(
                key,
                {"label": " ".join(str(item["label"]).split()), "sessions": 0, "events": 0,
                 "measured": 0, "toward": 0, "away": 0, "sums": {}, "weights": {}},
            )
            a["sessions"] += 1
            a["events"] += int(item["n_events"])
            n = int(item["n_measured"])
            a["measured"] += n
            a["toward"] += int(item["n_toward"])
            a["away"] += int(item["n_away"])
            for name in ("mean_movement", "mean_d_hr_bpm", "mean_d_ln_rmssd", "mean_d_arousal"):
                value = item.get(name)
                if value is not None and math.isfinite(value) and n > 0:
                    a["sums"][name] = a["sums"].get(name, 0.0) + n * float(value)
                    a["weights"][name] = a["weights"].get(name, 0) + n

    def wmean(a: dict[str, Any], name: str) -> float:
        w = a["weights"].get(name, 0)
        return a["sums"][name] / w if w else math.nan

    out = [
        CrossSessionEffect(
            kind=kind,
            label=a["label"],
            n_sessions=a["sessions"],
            n_events=a["events"],
            n_measured=a["measured"],
            n_toward=a["toward"],
            n_away=a["away"],
            fraction_toward=a["toward"] / a["measured"] if a["measured"] else math.nan,
            mean_movement=wmean(a, "mean_movement"),
            mean_d_hr_bpm=wmean(a, "mean_d_hr_bpm"),
            mean_d_ln_rmssd=wmean(a, "mean_d_ln_rmssd"),
            mean_d_arousal=wmean(a, "mean_d_arousal"),
        )
        for (kind, _), a in acc.items()
    ]
    out.sort(
        key=lambda e: (
            -e.n_toward,
            -(e.fraction_toward if math.isfinite(e.fraction_toward) else -1.0),
            _rank_key(e.mean_movement),
        )
    )
    return out
