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
from trm_bio.core.shifts import DEFAULT_SHIFT_PARAMS
from trm_bio.history import SessionAnalysis
from trm_bio.report.nonlinear import DFA_METHOD, SAMPEN_METHOD, nonlinear_metrics
from trm_bio.report.text import display_name, place_name
from trm_bio.zone_display import ZoneScale, gaps, zone_positions, zone_runs

#: Most points a plotted series keeps (the plots are a few hundred pixels wide).
MAX_PLOT_POINTS = 4000

_ZONE_LABELS = {int(z): z.label for z in Zone}


@dataclass(frozen=True)
class Marker:
    """Something logged, placed on the plots and in the timeline (``time_s`` beat clock)."""

    time_s: float
    kind: str  # "skill", "step", "sensation", "resource", "helpnow", "rating", "marker", "note"
    label: str  # a sensation's words ("" when none were chosen: its valence says it)
    detail: str = ""
    valence: str | None = None  # sensations
    rating: str | None = None  # the person's own zone rating ("" when they gave none)
    indicator: str | None = None  # the zone indicator shown at that moment
    distress: float | None = None  # a self-rating's 0-10 distress
    moment: str = ""  # a self-rating's "start" or "end" of the session
    place: str = ""  # a sensation's location, as words
    intensity: float | None = None  # a sensation's 0-10 strength
    note: str = ""  # the person's note with a sensation


@dataclass(frozen=True)
class Series:
    """Per-beat series for the plots (decimated to at most :data:`MAX_PLOT_POINTS`).

    ``position`` is where the zone indicator drew each reading (the app's own positions,
    :func:`~trm_bio.zone_display.zone_positions`); ``zone_runs`` and ``gaps`` are computed
    from every beat, so the strip shows what the time shares count, however long the session.
    """

    times_s: np.ndarray
    hr_bpm: np.ndarray  # 20 s window heart rate
    rmssd_ms: np.ndarray  # 60 s window RMSSD (NaN where the window's rhythm was not ok)
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
    helped: tuple[Helped, ...] = ()  # see :func:`what_helped`

    @property
    def sensations(self) -> list[Marker]:
        return [m for m in self.markers if m.kind == "sensation"]

    @property
    def ratings(self) -> list[Marker]:
        """The person's own zone ratings during the session (not the start and end ones)."""
        return [m for m in self.markers if m.kind == "rating" and not m.moment]

    @property
    def self_ratings(self) -> list[Marker]:
        """The person's own ratings at the start and the end of the session."""
        return [m for m in self.markers if m.kind == "rating" and m.moment]

    def self_rating_sentence(self) -> str:
        """The start and end self-ratings in one sentence."""
        return self_rating_sentence(self.self_ratings)

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


def self_rating_sentence(ratings: list[Marker]) -> str:
    """"Before and after, in the person's own words: ..." for the start and end ratings."""
    start = next((m for m in reversed(ratings) if m.moment == "start"), None)
    end = next((m for m in reversed(ratings) if m.moment == "end"), None)
    if start is None and end is None:
        return "No rating of their own was given at the start or the end of the session."

    def pair(before: Any, after: Any, unit: str = "") -> str:
        b = "not given" if before in (None, "") else f"{before:g}" if isinstance(
            before, float) else str(before)
        a = "not given" if after in (None, "") else f"{after:g}" if isinstance(
            after, float) else str(after)
        return f"{b} at the start, {a} at the end{unit}"

    distress = pair(start.distress if start else None, end.distress if end else None,
                    " (0-10)")
    zone = pair(start.rating if start else None, end.rating if end else None)
    return f"In their own words: distress {distress}; their own zone {zone}."


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _decimate(n: int) -> np.ndarray:
    if n <= MAX_PLOT_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_PLOT_POINTS).round().astype(np.int64))


ZONE_PLACE = {"resilient": 0, "high": 1, "low": 1}  # how far a zone is from the band


def zone_at(times_s: np.ndarray, zone: np.ndarray, t_s: float) -> str | None:
    """The zone indicator's reading at time ``t_s`` (None before its first reading).

    The reading of the last beat at or before ``t_s`` that had one: a beat whose window
    held an artifact or a gap has no value of its own, and the indicator keeps showing the
    zone it showed before (:class:`~trm_bio.core.regulation.ZoneTracker` remembers it for
    ``hold_unknown_s``), so that zone is what was on screen.
    """
    i = int(np.searchsorted(times_s, t_s, side="right"))
    known = np.flatnonzero(zone[:i] != int(Zone.UNKNOWN))
    if known.size == 0:
        return None
    last = int(known[-1])
    if t_s - float(times_s[last]) > DEFAULT_PARAMS.hold_unknown_s:
        return None  # the indicator had let go of it by then
    return _ZONE_LABELS[int(zone[last])]


def moved_away(times_s: np.ndarray, zone: np.ndarray, t_s: float,
               horizon_s: float = DEFAULT_SHIFT_PARAMS.after_windows[-1][1]) -> bool:
    """Whether the zone indicator moved away from the resilient zone after ``t_s``.

    Away means: within ``horizon_s`` after the event (the shift's after-windows, 2 min),
    some beat's zone is farther from the resilient zone than the zone shown at the event
    (resilient to high or low). High to low, or a zone held, is not away; an event before
    the first reading cannot be judged and is not counted as away.
    """
    before = zone_at(times_s, zone, t_s)
    if before is None:
        return False
    lo, hi = np.searchsorted(times_s, [t_s, t_s + horizon_s], side="right")
    after = zone[lo:hi]
    far = (after == int(Zone.HIGH)) | (after == int(Zone.LOW))
    return ZONE_PLACE[before] == 0 and bool(far.any())


@dataclass(frozen=True)
class Helped:
    """Something logged that was followed by a move toward the resilient band."""

    kind: str
    label: str  # its display name
    times_s: tuple[float, ...]  # the events followed by a move toward the band
    n_events: int  # how often it was logged in the session


def what_helped(result: SessionAnalysis) -> list[Helped]:
    """Skills, resources, Help Now! strategies and sensations followed by a move toward the
    band, and never by a move away, in the order they were first logged.

    An event counts when the heart moved toward the band after it (its shift's direction,
    :mod:`trm_bio.core.shifts`) and the zone indicator did not move away from the resilient
    zone in the two minutes after it (:func:`moved_away`): an event after which the screen
    showed the person leaving the resilient zone is never called helpful.
    """
    times, zone = result.regulation.times_s, result.regulation.zone
    def key(kind: str, label: str) -> tuple[str, str]:  # as the effects group them
        return kind, " ".join(label.split()).casefold()

    toward: dict[tuple[str, str], list[float]] = {}
    for event, shift in result.effects.shifts:
        if shift.direction == "toward" and not moved_away(times, zone, event.time_s):
            toward.setdefault(key(event.kind, event.label), []).append(event.time_s)
    out = []
    for item in result.effects.items:
        hits = toward.get(key(item.kind, item.label), [])
        if hits:
            out.append(Helped(item.kind, display_name(item.kind, item.label), tuple(sorted(hits)),
                              item.n_events))
    return sorted(out, key=lambda h: h.times_s[0])


def markers_from_events(result: SessionAnalysis) -> list[Marker]:
    """The session's logged events that a reader needs, in time order."""
    times = result.regulation.times_s
    zone = result.regulation.zone
    out: list[Marker] = []
    for e in result.events:
        d = e.details
        at = zone_at(times, zone, e.time_s)
        if isinstance(d, FlowPayload):
            if d.kind == "skill_started":
                name = d.detail or display_name("skill", str(d.skill_id))
                out.append(Marker(e.time_s, "skill", name))
            elif d.kind == "step_started":
                out.append(Marker(e.time_s, "step", f"step {(d.step_index or 0) + 1}", d.prompt))
            elif d.kind == "helpnow":
                out.append(Marker(e.time_s, "helpnow", "Help Now!", indicator=at))
            elif d.kind == "helpnow_strategy":
                name = display_name("helpnow", d.detail) if d.detail else "Help Now!"
                out.append(Marker(e.time_s, "helpnow", name, indicator=at))
        elif isinstance(d, SensationPayload):
            extra = []
            if d.location:
                extra.append(place_name(d.location))
            if d.intensity is not None:
                extra.append(f"intensity {d.intensity:g}")
            if d.note:
                extra.append(d.note)
            out.append(
                Marker(e.time_s, "sensation", ", ".join(d.words), "; ".join(extra),
                       valence=d.valence or "neutral", indicator=at,
                       place=place_name(d.location), intensity=d.intensity, note=d.note)
            )
        elif isinstance(d, ZoneRatingPayload):
            moment = d.moment if d.moment in ("start", "end") else ""
            label = f"own rating: {d.zone}" if d.zone else "own rating"
            out.append(Marker(e.time_s, "rating", label, d.note, rating=d.zone, indicator=at,
                              distress=d.distress, moment=moment))
        elif isinstance(d, TextPayload) and e.kind is EventKind.RESOURCE:
            out.append(Marker(e.time_s, "resource", d.text or "resource", indicator=at))
        elif isinstance(d, TextPayload) and (d.text or e.kind is EventKind.MARKER):
            out.append(Marker(e.time_s, str(e.kind), d.text or "marker"))
    out.sort(key=lambda m: m.time_s)
    return out


def shown_rmssd(result: SessionAnalysis) -> np.ndarray:
    """The per-beat RMSSD (ms) where the live screen showed it, NaN where it did not
    (:attr:`~trm_bio.core.regulation.RegulationTrace.hrv_shown`: an irregular rhythm or
    sustained ectopy, held as the words beside the numbers were, or beat timing that spoils
    HRV). The engine withholds HRV at the beats that fail the rhythm check, but a window
    ending just after such a stretch still holds its intervals, and in atrial fibrillation
    that reads as an RMSSD of 100-400 ms that means nothing: the report draws what the
    screen showed, so its plot and its words agree with the session as it was seen."""
    rmssd = result.analysis.metrics["RMSSD"]
    shown = result.regulation.hrv_shown
    if shown.size != rmssd.size:  # no regulation trace (no beats)
        return rmssd
    return np.where(shown, rmssd, np.nan)


def build_report(
    result: SessionAnalysis, resonance: dict[str, Any] | None = None, group: str | None = None
) -> SessionReport:
    """The report of one analysed session (see :func:`trm_bio.history.analyse_session`);
    ``resonance``: the person's newest resonance assessment
    (:func:`trm_bio.store.person_resonance.latest`), shown with it; ``group``: the sentence
    saying it was part of a group session (:func:`trm_bio.report.group.group_sentence`)."""
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
        rmssd_ms=shown_rmssd(result)[keep],
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
            "group": group,
        },
        series=series,
        markers=tuple(markers_from_events(result)),
        helped=tuple(what_helped(result)),
    )
