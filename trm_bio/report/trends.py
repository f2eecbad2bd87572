"""Progress across sessions for one person: baseline heart rate and HRV, time in the
resilient band, and the skills and resources that most often moved them toward it.

Each session contributes the numbers its analysis caches in the library (the summary and
its own session-start baseline, both written by :func:`trm_bio.history.analyse_session`);
a session without them is analysed now. "Baseline" here is the session-start baseline (the
first calm minutes of each session, before any skill), so it tracks the person's resting
state from one session to the next. A trend is the Theil-Sen slope per session (the median
of pairwise slopes: one unusual session does not tilt it), with the mean of the first and
last three sessions beside it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from trm_bio.analysis import regulation_trace
from trm_bio.core import effects
from trm_bio.core.events import Event, ZoneRatingPayload
from trm_bio.core.json_safe import json_safe
from trm_bio.errors import DamagedSessionError, LibraryError
from trm_bio.history import analyse_session, read_baseline
from trm_bio.report.text import display_name, local_time
from trm_bio.store.library import Library, SessionInfo
from trm_bio.store.person_resonance import assessments, resonance_words

log = logging.getLogger(__name__)

#: Kinds of logged events whose aftermath the "what helped" table ranks.
HELPER_KINDS = (effects.EffectKind.SKILL, effects.EffectKind.RESOURCE, effects.EffectKind.HELPNOW)
TREND_KEYS = ("baseline_hr_bpm", "baseline_rmssd_ms", "hr_bpm", "rmssd_ms", "resilient_share")
EDGE_SESSIONS = 3
#: Fewest sessions with a value before a change across sessions is put into words.
MIN_TREND_SESSIONS = 4
#: The smallest change between the first and the latest sessions called a rise or a fall,
#: by unit: about the day-to-day spread of each measure at rest (bpm, ms, share 0-1).
MEANINGFUL_CHANGE = {"bpm": 2.0, "ms": 3.0, "%": 0.10}


@dataclass(frozen=True)
class SessionPoint:
    """One session's numbers in the trend (None where not measurable)."""

    session: int
    started_utc: str
    duration_s: float | None
    baseline_hr_bpm: float | None  # the session-start baseline
    baseline_rmssd_ms: float | None
    hr_bpm: float | None  # whole session
    rmssd_ms: float | None
    resilient_share: float | None  # of the time with a zone reading (pauses left out), 0-1
    high_share: float | None
    low_share: float | None
    hrv_valid: bool
    distress_before: float | None = None  # the person's own 0-10 rating at the start
    distress_after: float | None = None  # ... and at the end
    zone_before: str | None = None  # their own zone at the start ("high", "resilient", "low")
    zone_after: str | None = None  # ... and at the end
    #: Why the session has no resting RMSSD ("" when it has one, or no baseline at all).
    baseline_note: str = ""

    @property
    def started_local(self) -> str:
        """When the session started, in the computer's local time."""
        return local_time(self.started_utc)


@dataclass(frozen=True)
class Trend:
    """How one measure moved over the sessions."""

    slope_per_session: float  # units of the measure per session (Theil-Sen)
    intercept: float  # value of the fitted line at the first session
    n_sessions: int
    first_mean: float  # mean of the first EDGE_SESSIONS sessions
    last_mean: float  # mean of the last EDGE_SESSIONS sessions

    @property
    def change(self) -> float:
        return self.last_mean - self.first_mean


@dataclass(frozen=True)
class Trends:
    """One person's progress across their sessions (oldest first)."""

    person: str
    sessions: tuple[SessionPoint, ...]
    trends: dict[str, Trend]
    helpers: tuple[effects.CrossSessionEffect, ...] = field(default=())
    #: A sentence for each session left out because it is damaged.
    skipped: tuple[str, ...] = field(default=())
    #: The person's resonance-frequency assessments, oldest first
    #: (``{"resonance_rate", "assessed_utc"}``; see :mod:`trm_bio.store.person_resonance`).
    resonance: tuple[dict[str, Any], ...] = field(default=())

    def measured(self, key: str) -> int:
        """How many sessions have a value of the measure ``key``."""
        return sum(getattr(p, key) is not None for p in self.sessions)

    def baseline_notes(self) -> list[str]:
        """One sentence for each session without a resting RMSSD, saying why."""
        return [f"Session {p.session}: {p.baseline_note}" for p in self.sessions
                if p.baseline_note]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly (NaN as None)."""
        return json_safe(
            {
                "person": self.person,
                "sessions": [asdict(s) for s in self.sessions],
                "trends": {
                    k: {**asdict(t), "change": t.change} for k, t in self.trends.items()
                },
                "helpers": [h.to_dict() for h in self.helpers],
                "resonance": list(self.resonance),
            }
        )


def fit_trend(values: list[float | None]) -> Trend | None:
    """Theil-Sen trend of a measure over sessions (None with fewer than 3 finite values)."""
    y = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    x = np.arange(y.size, dtype=np.float64)
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return None
    from scipy.stats import theilslopes  # a second to load: only when a trend is drawn

    slope, intercept, _, _ = theilslopes(y[ok], x[ok])
    finite = y[ok]
    edge = min(EDGE_SESSIONS, max(1, finite.size // 2))
    return Trend(
        slope_per_session=float(slope),
        intercept=float(intercept),
        n_sessions=int(ok.sum()),
        first_mean=float(np.mean(finite[:edge])),
        last_mean=float(np.mean(finite[-edge:])),
    )


def self_ratings(events: list[Event]) -> dict[str, Any]:
    """The person's own start and end ratings among a session's events (the last of each).

    Returns ``distress_before``, ``distress_after`` (0-10 or None), ``zone_before`` and
    ``zone_after`` (their own zone or None).
    """
    out: dict[str, Any] = {}
    for event in events:
        d = event.details
        if isinstance(d, ZoneRatingPayload) and d.moment in ("start", "end"):
            side = "before" if d.moment == "start" else "after"
            if d.distress is not None:
                out[f"distress_{side}"] = float(d.distress)
            if d.zone:
                out[f"zone_{side}"] = d.zone
    return out


def _point(session: int, started_utc: str, duration_s: float | None,
           summary: dict[str, Any], own: dict[str, Any] | None) -> SessionPoint:
    metrics = summary.get("metrics") or {}
    zones = summary.get("zones") or {}
    baseline = read_baseline(own) if own else None
    hrv = baseline is not None and baseline.has_hrv
    hrv_valid = bool(summary.get("hrv_valid", False))
    note = ""
    if baseline is not None and not hrv:
        # A heart-rate-only baseline: HRV was withheld at the session start.
        why = str(summary.get("reason") or "") if not hrv_valid else ""
        note = "no resting RMSSD because " + (
            why or "the beats at the session start were not regular or clean enough for it"
        )
    return SessionPoint(
        session=session,
        started_utc=started_utc,
        duration_s=duration_s,
        baseline_hr_bpm=baseline.hr_bpm if baseline else None,
        baseline_rmssd_ms=baseline.rmssd_ms if baseline is not None and hrv else None,
        hr_bpm=_number(metrics.get("HR")),
        rmssd_ms=_number(metrics.get("RMSSD")),
        resilient_share=_number(zones.get("resilient")),
        high_share=_number(zones.get("high")),
        low_share=_number(zones.get("low")),
        hrv_valid=hrv_valid,
        baseline_note=note,
    )


def _number(value: Any) -> float | None:
    """A cached measure (None: not measurable); ValueError when it is not a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r:.20} is not a number")
    return float(value)


def _from_cache(
    info: SessionInfo, summary: Any, own: Any
) -> tuple[SessionPoint | None, dict[str, Any]] | None:
    """The session's point and effects from its cached summary; None when the cache is
    damaged (derived data: the session is then analysed again)."""
    if isinstance(summary, dict) and "zone_seconds" not in summary:
        return None  # cached before zone shares were counted by time: analysed again
    try:
        point = _point(info.id, info.started_utc, info.duration_s, summary, own)
        session_effects = summary.get("effects") or {"items": []}
        effects.summarize_across_sessions([session_effects])  # readable, or recompute
        beats = _number((summary.get("quality") or {}).get("beats"))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        log.warning("session %d: the cached summary is damaged (%s); recomputed", info.id, exc)
        return None
    return (point if beats else None), session_effects


def person_trends(
    library: Library, person: str | int, *, recompute: bool = False
) -> Trends:
    """A person's trends across their sessions.

    Parameters
    ----------
    library : Library
        The open library (read-only works: missing analyses are then not cached).
    person : str or int
        Name, pseudonymous code or id.
    recompute : bool
        Analyse every session again instead of using the cached summaries.

    Raises
    ------
    LibraryError
        No such person, or no analysable session.
    """
    found = library.find_person(person)
    if found is None:
        raise LibraryError(f"there is no person called {person!r} in the library")
    points: list[SessionPoint] = []
    session_effects: list[dict[str, Any]] = []
    sessions, damaged = library.sessions_and_damaged(found.id)
    skipped = [f"{exc}; skipped" for exc in damaged]
    for info in sessions:
        if info.status == "recording":
            continue  # still being written
        summary = None if recompute else library.get_summary(info.id)
        own = None if recompute else library.get_derived(info.id, "baseline")
        cached = None if summary is None or own is None else _from_cache(info, summary, own)
        if cached is None:
            try:
                cached = _analysed(library, info)
            except DamagedSessionError as exc:
                skipped.append(f"{exc}; skipped")
                continue
        point, items = cached
        if point is None:
            continue  # no heartbeats
        own = self_ratings(library.session_events(info.id, kinds=["zone_rating"]))
        if own:
            point = replace(point, **own)
        points.append(point)
        session_effects.append(items)
    if not points:
        left_out = f" ({skipped[0]})" if skipped else ""
        raise LibraryError(f"{found.name} has no recorded sessions with heartbeats yet{left_out}")
    trends = {}
    for key in TREND_KEYS:
        trend = fit_trend([getattr(p, key) for p in points])
        if trend is not None:
            trends[key] = trend
    helpers = [
        h for h in effects.summarize_across_sessions(session_effects) if h.kind in HELPER_KINDS
    ]
    resonance = tuple(
        {"resonance_rate": a["resonance_rate"], "assessed_utc": a.get("assessed_utc")}
        for a in assessments(library, found.id)
        if isinstance(a.get("resonance_rate"), int | float)
    )
    return Trends(found.name, tuple(points), trends, tuple(helpers), tuple(skipped), resonance)


def _analysed(library: Library, info: SessionInfo) -> tuple[SessionPoint | None, dict[str, Any]]:
    """The session's point and effects, analysed now (cached unless read-only)."""
    result = analyse_session(library, info.id, cache=not library.readonly)
    summary = result.as_dict()
    own = library.get_derived(info.id, "baseline") if not library.readonly else None
    damaged = False
    if own is not None:
        try:
            read_baseline(own)
        except ValueError as exc:
            log.warning("session %d: the cached baseline is damaged (%s); recomputed", info.id, exc)
            own, damaged = None, True
    if own is None:
        b = regulation_trace(result.analysis).baseline  # the session-start calibration
        own = b.to_dict() if b is not None else None
        if damaged and own is not None:
            library.store_derived(info.id, "baseline", own)
    session_effects = summary.get("effects") or {"items": []}
    if not (summary.get("quality") or {}).get("beats"):
        return None, session_effects
    return _point(info.id, info.started_utc, info.duration_s, summary, own), session_effects


#: Smallest span of each plotted measure's axis, in its shown unit: a day-to-day wobble of
#: 0.2 bpm drawn over the whole height would look like a peak.
MIN_AXIS_SPAN = {
    "baseline_hr_bpm": 10.0,  # bpm
    "baseline_rmssd_ms": 20.0,  # ms
    "hr_bpm": 10.0,
    "rmssd_ms": 20.0,
    "resilient_share": 100.0,  # % (the whole 0-100 scale)
    "distress": 10.0,  # the whole 0-10 scale
}
#: Where each axis may not go below (none of these measures is negative).
AXIS_FLOOR = 0.0


def axis_range(values: Any, key: str) -> tuple[float, float]:
    """The y range to plot ``values`` of measure ``key`` (shown units): the data with a
    little room, and never narrower than :data:`MIN_AXIS_SPAN`."""
    y = np.asarray(values, dtype=np.float64)
    y = y[np.isfinite(y)]
    span = MIN_AXIS_SPAN[key]
    if key in ("resilient_share", "distress"):
        return AXIS_FLOOR, span  # a fixed scale
    if y.size == 0:
        return AXIS_FLOOR, span
    lo, hi = float(y.min()), float(y.max())
    pad = 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if hi - lo < span:
        centre = (lo + hi) / 2
        lo, hi = centre - span / 2, centre + span / 2
    if lo < AXIS_FLOOR:
        lo, hi = AXIS_FLOOR, hi - lo + AXIS_FLOOR
    return lo, hi


def session_ticks(trends: Trends) -> list[tuple[int, str]]:
    """One tick per session at 1, 2, ... labelled with the session's number in the library
    (the same number the library dialog, the reports and ``trm-bio sessions`` show)."""
    return [(k, str(p.session)) for k, p in enumerate(trends.sessions, start=1)]


TREND_LABELS = {
    "baseline_hr_bpm": ("resting heart rate at the session start", "bpm"),
    "baseline_rmssd_ms": ("resting RMSSD at the session start", "ms"),
    "hr_bpm": ("heart rate over the whole session", "bpm"),
    "rmssd_ms": ("RMSSD over the whole session", "ms"),
    # "Time in" says the share is by time; "(by time)" in a sentence would say it twice.
    "resilient_share": ("time in the resilient band", "%"),
}


def _fmt(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "%":
        return f"{100 * value:.0f} %"
    return f"{value:.1f} {unit}"


def resonance_text(trends: Trends) -> str:
    """The newest resonance rate in words, with the earlier ones (empty when none)."""
    if not trends.resonance:
        return ""
    *earlier, newest = trends.resonance
    text = resonance_words(newest)
    if earlier:
        text += "; earlier " + ", ".join(resonance_words(e) for e in earlier)
    return text


def _value(value: float, unit: str) -> str:
    return f"{100 * value:.0f} %" if unit == "%" else f"{value:.1f} {unit}"


def change_sentence(key: str, trend: Trend | None, n_sessions: int) -> str:
    """How a measure changed across the sessions, in words a person can weigh.

    With fewer than :data:`MIN_TREND_SESSIONS` sessions it says there are too few. Else it
    compares the first and the latest sessions (the mean of up to :data:`EDGE_SESSIONS` at
    each end): a difference under :data:`MEANINGFUL_CHANGE` is "about the same". The steady
    per-session change (the Theil-Sen slope) is added only when it adds up, over the
    sessions, to a meaningful change: "+0.00 per session" beside "70 % → 100 %" would
    contradict itself.
    """
    label, unit = TREND_LABELS[key]
    label = label[:1].upper() + label[1:]
    n = trend.n_sessions if trend is not None else n_sessions
    if trend is None or n < MIN_TREND_SESSIONS:
        return (f"{label}: too few sessions for a trend yet ({n} of the "
                f"{MIN_TREND_SESSIONS} needed)")
    edge = min(EDGE_SESSIONS, max(1, n // 2))
    first, last = _value(trend.first_mean, unit), _value(trend.last_mean, unit)
    span = f"{first} in the first {edge} sessions, {last} in the latest {edge}"
    meaningful = MEANINGFUL_CHANGE[unit]
    change = trend.last_mean - trend.first_mean
    if abs(change) < meaningful:
        words = f"{label} stayed about the same ({span})"
    else:
        words = f"{label} {'rose' if change > 0 else 'fell'} ({span})"
    steady = trend.slope_per_session * (n - 1)
    if abs(change) >= meaningful and abs(steady) >= meaningful and (steady > 0) == (change > 0):
        per = (f"{100 * trend.slope_per_session:+.1f} points" if unit == "%"
               else f"{trend.slope_per_session:+.1f} {unit}")
        words += f", a steady {per} per session"
    return words


def trends_table(trends: Trends) -> str:
    """The trends as plain text for the terminal."""
    lines = [f"Progress for {trends.person}: {len(trends.sessions)} session(s)", ""]
    lines.append(f"  {'ID':>4}  {'STARTED (UTC)':<20} {'MIN':>5}  {'REST HR':>8} "
                 f"{'REST RMSSD':>10} {'HR':>6} {'RMSSD':>7} {'RESILIENT':>9}")
    for p in trends.sessions:
        minutes = f"{p.duration_s / 60:5.1f}" if p.duration_s is not None else "    –"
        lines.append(
            f"  {p.session:>4}  {p.started_utc[:19]:<20} {minutes}  "
            f"{_fmt(p.baseline_hr_bpm, ''):>8} {_fmt(p.baseline_rmssd_ms, ''):>10} "
            f"{_fmt(p.hr_bpm, ''):>6} {_fmt(p.rmssd_ms, ''):>7} "
            f"{_fmt(p.resilient_share, '%'):>9}"
        )
    lines += [f"  {note}." for note in trends.baseline_notes()]
    lines += ["", "  Across the sessions (the first ones against the latest):"]
    for key in TREND_KEYS:
        lines.append(f"    {change_sentence(key, trends.trends.get(key), trends.measured(key))}.")
    if trends.resonance:
        lines += ["", f"  Resonance breathing rate: {resonance_text(trends)}"]
    if trends.helpers:
        lines += ["", "  What most often came before a move toward the resilient band "
                  "(co-occurrence, not proof of cause):"]
        for h in trends.helpers[:10]:
            lines.append(
                f"    {h.kind:<9} {display_name(h.kind, h.label)[:40]:<40} toward {h.n_toward} of "
                f"{h.n_measured} "
                f"measured, in {h.n_sessions} session(s)"
            )
    return "\n".join(lines)
