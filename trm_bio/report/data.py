"""The session report as plain data: built from :func:`trm_bio.history.analyse_session`.

Every number shown in a report comes from :class:`~trm_bio.history.SessionAnalysis`
(``as_dict()``: the same document ``trm-bio show --format json`` prints) plus the nonlinear
measures of :mod:`trm_bio.report.nonlinear`; nothing is recomputed differently here. The
model is Qt-free and file-free: :mod:`.html`, :mod:`.pdf` and :mod:`.plots` render it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trm_bio.core.events import (
    EventKind,
    FlowPayload,
    SensationPayload,
    TextPayload,
    ZoneRatingPayload,
)
from trm_bio.core.regulation import DEFAULT_PARAMS, Zone
from trm_bio.history import SessionAnalysis
from trm_bio.report.nonlinear import DFA_METHOD, SAMPEN_METHOD, nonlinear_metrics
from trm_bio.zone_display import ZoneScale, gaps, zone_positions, zone_runs

#: Most points a plotted series keeps (the plots are a few hundred pixels wide).
MAX_PLOT_POINTS = 4000

_ZONE_LABELS = {int(z): z.label for z in Zone}


@dataclass(frozen=True)
class Marker:
    """Something logged, placed on the plots and in the timeline (``time_s`` beat clock)."""

    time_s: float
    kind: str  # "skill", "step", "sensation", "resource", "helpnow", "rating", "marker", "note"
    label: str
    detail: str = ""
    valence: str | None = None  # sensations
    rating: str | None = None  # the person's own zone rating
    indicator: str | None = None  # the zone indicator shown at that moment


@dataclass(frozen=True)
class Series:
    """Per-beat series for the plots (decimated to at most :data:`MAX_PLOT_POINTS`).

    ``position`` is where the zone indicator drew each reading (the app's own positions,
    :func:`~trm_bio.zone_display.zone_positions`); ``zone_runs`` and ``gaps`` are computed
    from every beat, so the strip shows what the time shares count, however long the session.
    """

    times_s: np.ndarray
    hr_bpm: np.ndarray  # 20 s window heart rate
    rmssd_ms: np.ndarray  # 60 s window RMSSD
    arousal: np.ndarray  # baseline-spread units
    zone: np.ndarray  # Zone codes (int8)
    position: np.ndarray = field(default_factory=lambda: np.empty(0))  # baseline spreads
    tentative: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    segment: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    zone_runs: tuple[tuple[float, float, int], ...] = ()  # (start_s, end_s, Zone code)
    gaps: tuple[tuple[float, float], ...] = ()  # paused or link lost: (start_s, end_s)


@dataclass(frozen=True)
class SessionReport:
    """Everything a session report shows."""

    summary: dict[str, Any]  # SessionAnalysis.as_dict(), untouched
    nonlinear: dict[str, Any]  # DFA_alpha1, SampEn (NaN as None)
    info: dict[str, Any]  # who, when, source, status
    series: Series
    markers: tuple[Marker, ...]
    high_enter: float = DEFAULT_PARAMS.high_enter
    low_enter: float = DEFAULT_PARAMS.low_enter
    methods: tuple[str, ...] = field(default=(DFA_METHOD, SAMPEN_METHOD))

    @property
    def sensations(self) -> list[Marker]:
        return [m for m in self.markers if m.kind == "sensation"]

    @property
    def ratings(self) -> list[Marker]:
        return [m for m in self.markers if m.kind == "rating"]

    @property
    def effects(self) -> list[dict[str, Any]]:
        return list(self.summary["effects"]["items"])

    def machine_readable(self) -> dict[str, Any]:
        """What the report embeds for programs: the library's summary and the nonlinear values."""
        return {
            "format": "trm-bio session report",
            "version": 1,
            "summary": self.summary,
            "nonlinear": self.nonlinear,
        }


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _decimate(n: int) -> np.ndarray:
    if n <= MAX_PLOT_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_PLOT_POINTS).round().astype(np.int64))


def _zone_at(times_s: np.ndarray, zone: np.ndarray, t_s: float) -> str | None:
    """The zone indicator shown at time ``t_s`` (the last beat at or before it)."""
    i = int(np.searchsorted(times_s, t_s, side="right")) - 1
    if i < 0 or zone.size == 0:
        return None
    label = _ZONE_LABELS[int(zone[i])]
    return None if label == "unknown" else label


def markers_from_events(result: SessionAnalysis) -> list[Marker]:
    """The session's logged events that a reader needs, in time order."""
    times = result.regulation.times_s
    zone = result.regulation.zone
    out: list[Marker] = []
    for e in result.events:
        d = e.details
        at = _zone_at(times, zone, e.time_s)
        if isinstance(d, FlowPayload):
            if d.kind == "skill_started":
                out.append(Marker(e.time_s, "skill", d.detail or str(d.skill_id)))
            elif d.kind == "step_started":
                out.append(Marker(e.time_s, "step", f"step {(d.step_index or 0) + 1}", d.prompt))
            elif d.kind in ("helpnow", "helpnow_strategy"):
                out.append(Marker(e.time_s, "helpnow", "Help Now!", d.detail))
        elif isinstance(d, SensationPayload):
            extra = []
            if d.location:
                extra.append(d.location.replace("_", " "))
            if d.intensity is not None:
                extra.append(f"intensity {d.intensity}")
            if d.note:
                extra.append(d.note)
            out.append(
                Marker(e.time_s, "sensation", ", ".join(d.words) or d.valence,
                       "; ".join(extra), valence=d.valence or "neutral", indicator=at)
            )
        elif isinstance(d, ZoneRatingPayload):
            out.append(Marker(e.time_s, "rating", f"own rating: {d.zone}", d.note,
                              rating=d.zone, indicator=at))
        elif isinstance(d, TextPayload) and e.kind is EventKind.RESOURCE:
            out.append(Marker(e.time_s, "resource", d.text or "resource", indicator=at))
        elif isinstance(d, TextPayload) and (d.text or e.kind is EventKind.MARKER):
            out.append(Marker(e.time_s, str(e.kind), d.text or "marker"))
    out.sort(key=lambda m: m.time_s)
    return out


def build_report(
    result: SessionAnalysis, resonance: dict[str, Any] | None = None
) -> SessionReport:
    """The report of one analysed session (see :func:`trm_bio.history.analyse_session`);
    ``resonance``: the person's newest resonance assessment
    (:func:`trm_bio.store.person_resonance.latest`), shown with it."""
    summary = result.as_dict()
    corrected = result.analysis.corrected
    nonlinear = {
        k: _clean(v)
        for k, v in nonlinear_metrics(
            corrected.nn_ms, corrected.segment, hrv_valid=bool(summary["hrv_valid"])
        ).items()
    }
    info = result.info
    beats, reg = result.beats, result.regulation
    keep = _decimate(len(beats))
    m = result.analysis.metrics
    scale = ZoneScale(-DEFAULT_PARAMS.low_enter, DEFAULT_PARAMS.high_enter)
    position = zone_positions(reg.arousal, reg.lowness, reg.zone, scale)
    series = Series(
        times_s=beats.times_s[keep],
        hr_bpm=m["HR_20s"][keep],
        rmssd_ms=m["RMSSD"][keep],
        arousal=reg.arousal[keep],
        zone=reg.zone[keep],
        position=position[keep],
        tentative=np.asarray(reg.tentative, dtype=bool)[keep],
        segment=beats.segment[keep],
        zone_runs=tuple(zone_runs(beats.times_s, reg.zone, beats.segment)),
        gaps=tuple(gaps(beats.times_s, beats.segment)),
    )
    return SessionReport(
        summary=summary,
        nonlinear=nonlinear,
        info={
            "session": info.id,
            "person": info.person_name,
            "started_utc": info.started_utc,
            "ended_utc": info.ended_utc,
            "duration_s": info.duration_s,
            "source_kind": info.source_kind,
            "device_name": info.device_name,
            "status": info.status,
            "notes": info.notes,
            "resonance": resonance,
        },
        series=series,
        markers=tuple(markers_from_events(result)),
    )
