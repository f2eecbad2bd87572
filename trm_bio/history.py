"""Stored sessions analysed: beats, metrics, regulation, effects, and the person's baseline.

Everything here is derived from the library's ground truth (raw packets with host times,
or an import's exact RR values) with the same functions the live session uses, and can be
recomputed at any time; summaries and baselines are cached in the library.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.pmd import PmdFrame
from trm_bio import __version__
from trm_bio.analysis import RecordingSummary, regulation_trace, summarize
from trm_bio.core import artifacts, effects
from trm_bio.core.baseline import Baseline, combine_baselines
from trm_bio.core.engine import BeatAnalysis, analyse_beats, metric_names
from trm_bio.core.events import Event
from trm_bio.core.regulation import RegulationTrace
from trm_bio.core.timeline import Beats, beats_from_packets, beats_from_rr
from trm_bio.core.zone_time import ZoneTime, zone_time
from trm_bio.errors import TrmBioError
from trm_bio.store.library import Library, SessionInfo
from trm_bio.store.replay import load_items, packets_before

log = logging.getLogger(__name__)


def session_beats(library: Library, info: SessionInfo) -> Beats:
    """The beats of a stored session, exactly as the live pipeline timed them.

    The packets and link changes are read as a replay reads them (a link change breaks the
    segment before the next packet, as it did live). An imported file's exact RR values are
    used (its packets round RR to 1/1024 s).
    """
    imported = library.imported_rr(info.id)
    if imported is not None:
        return beats_from_rr(imported.rr_ms, imported.times_s)
    _, items = load_items(library, info.id)
    if any(isinstance(item, PmdFrame) for item in items):
        # A Polar strap's ECG: the beats the live session chose between ECG and RR.
        from trm_bio.session import beats_from_items

        return beats_from_items(info.start_ns, items)
    packets, breaks = packets_before(items, len(items))
    host_ns = [p.host_ns for p in packets]
    return beats_from_packets(info.start_ns, host_ns, [p.rr_ms for p in packets], breaks)


#: Bump when the analysis computes something different, so cached arrays are recomputed.
ANALYSIS_VERSION = 5  # 5: beats from a Polar strap's ECG


def _cache_key(info: SessionInfo) -> str:
    return f"{__version__}/{ANALYSIS_VERSION}/{info.packet_count}/{info.status}"


def _pack(analysis: BeatAnalysis) -> dict[str, np.ndarray]:
    c = analysis.corrected
    arrays = {
        "times_s": analysis.beats.times_s,
        "rr_ms": analysis.beats.rr_ms,
        "segment": analysis.beats.segment,
        "labels": analysis.labels,
        "rhythm_ok": analysis.rhythm_ok,
        "nn_ms": c.nn_ms,
        "nn_times_s": c.times_s,
        "nn_segment": c.segment,
        "nn_origin": c.origin,
        "nn_corrected": c.corrected,
    }
    if analysis.irregular is not None:
        arrays["irregular"] = analysis.irregular
    if analysis.paced is not None:
        arrays["paced"] = analysis.paced
    arrays.update({f"metric:{k}": v for k, v in analysis.metrics.items()})
    return arrays


_BEAT_ARRAYS = ("times_s", "rr_ms", "segment", "labels", "rhythm_ok")
_NN_ARRAYS = ("nn_ms", "nn_times_s", "nn_segment", "nn_origin", "nn_corrected")


def _unpack(arrays: dict[str, np.ndarray]) -> BeatAnalysis:
    """The analysis the cache holds; ValueError when it is not what :func:`_pack` wrote."""
    wanted = (*_BEAT_ARRAYS, *(f"metric:{name}" for name in metric_names()))
    missing = [name for name in (*wanted, *_NN_ARRAYS) if name not in arrays]
    if missing:
        raise ValueError(f"it lacks {missing[0]}")
    for names in (wanted, _NN_ARRAYS):
        shapes = {arrays[name].shape for name in names}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError("its arrays differ in length")
    if any(a.dtype.kind not in "biuf" for a in arrays.values()):
        raise ValueError("it holds something that is not numbers")
    beats = Beats(arrays["times_s"], arrays["rr_ms"], arrays["segment"])
    corrected = artifacts.CorrectedBeats(
        arrays["nn_ms"],
        arrays["nn_times_s"],
        arrays["nn_segment"],
        arrays["nn_origin"],
        arrays["nn_corrected"],
    )
    metrics = {k.split(":", 1)[1]: v for k, v in arrays.items() if k.startswith("metric:")}
    return BeatAnalysis(
        beats, arrays["labels"], arrays["rhythm_ok"], corrected, metrics, arrays.get("irregular"),
        arrays.get("paced"),
    )


def session_analysis(
    library: Library, info: SessionInfo, *, cache: bool = True, beats: Beats | None = None
) -> BeatAnalysis:
    """Every beat of a stored session analysed, from the library's cache when it is current.

    The per-beat series of a 24 h session take seconds to compute and milliseconds to
    load; they are derived data, recomputed whenever the session or the code changed.
    ``beats``: the session's beats when the caller has them (the live session that just
    ended: :func:`session_beats` gives the same, from the stored frames and packets).
    """
    key = _cache_key(info)
    if cache:
        cached = library.get_arrays(info.id, "analysis", key)
        if cached is not None:
            try:
                return _unpack(cached)
            except ValueError as exc:  # derived data: recomputed (and replaced) below
                log.warning("session %d: the cached analysis is damaged (%s)", info.id, exc)
    analysis = analyse_beats(beats if beats is not None else session_beats(library, info))
    if cache and not library.readonly and info.status != "recording":
        library.store_arrays(info.id, "analysis", key, _pack(analysis))
    return analysis


@dataclass(frozen=True)
class SessionAnalysis:
    """A stored session analysed at every beat, with its summary and effects."""

    info: SessionInfo
    analysis: BeatAnalysis
    summary: RecordingSummary
    regulation: RegulationTrace
    effects: effects.SessionEffects
    events: list[Event]

    @property
    def beats(self) -> Beats:
        return self.analysis.beats

    def zone_time(self) -> ZoneTime:
        """Seconds in each zone, without a reading, and in gaps (see ``zone_time``)."""
        beats = self.analysis.beats
        return zone_time(beats.times_s, self.regulation.zone, beats.segment)

    def zone_shares(self) -> dict[str, float]:
        """Share of the time with a zone reading spent in each zone (by time, not beats)."""
        return self.zone_time().shares()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (NaN as None)."""
        baseline = self.regulation.baseline
        time = self.zone_time()
        return {
            "session": self.info.id,
            "person": self.info.person_name,
            "started_utc": self.info.started_utc,
            "duration_s": self.info.duration_s,
            "status": self.info.status,
            **self.summary.as_dict(),
            "baseline": baseline.to_dict() if baseline is not None else None,
            "zones": {k: (None if math.isnan(v) else v) for k, v in time.shares().items()},
            "zone_seconds": time.to_dict(),
            "effects": self.effects.to_dict(),
            "events": len(self.events),
        }


def analyse_session(
    library: Library,
    session_id: int,
    *,
    baseline: Baseline | None = None,
    cache: bool = True,
    beats: Beats | None = None,
) -> SessionAnalysis:
    """Analyse a stored session; caches its summary and session-start baseline.

    Parameters
    ----------
    library : Library
        The open library.
    session_id : int
        The session.
    baseline : Baseline, optional
        The person's baseline (default: from their earlier sessions, else this session's start).
    cache : bool
        Store the summary and the baseline in the library (skipped on a read-only library).
    beats : Beats, optional
        The session's beats when the caller has them (see :func:`session_analysis`).
    """
    info = library.get_session(session_id)
    analysis = session_analysis(library, info, cache=cache, beats=beats)
    beats = analysis.beats
    key = _cache_key(info)
    summary = _cached_summary(library, session_id, key) if cache else None
    fresh = summary is None  # computed now, not loaded
    if summary is None:
        summary = summarize(analysis)
    if baseline is None and info.person_id is not None:
        baseline = person_baseline(library, info.person_id, before_session=session_id)
    m = analysis.metrics
    trace = regulation_trace(analysis, baseline)
    events = library.session_events(session_id)
    session_effects = effects.summarize_session(
        beats.times_s, m["HR_20s"], m["RMSSD"], trace, effects.effect_events(events)
    )
    result = SessionAnalysis(info, analysis, summary, trace, session_effects, events)
    if cache and not library.readonly:
        # The session's own start baseline joins the person's history (computed once).
        if fresh:
            # Only a calibration that passed its quality check is kept (never a rejected one).
            own = trace if baseline is None else regulation_trace(analysis)
            if own.baseline is not None:
                library.store_derived(session_id, "baseline", own.baseline.to_dict())
            library.store_derived(
                session_id, "recording-summary", {"key": key, "summary": summary.as_dict()}
            )
        library.store_summary(session_id, result.as_dict())
    return result


def _cached_summary(library: Library, session_id: int, key: str) -> RecordingSummary | None:
    """The session's cached summary when it is current and readable, else None."""
    stored = library.get_derived(session_id, "recording-summary")
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    try:
        return RecordingSummary.from_dict(stored["summary"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("session %d: the cached summary is damaged (%s); recomputed", session_id, exc)
        return None


def read_baseline(data: Any) -> Baseline:
    """A cached session-start baseline; ValueError when it is damaged (recompute it).

    A heart-rate-only baseline (no HRV centre nor spread: the calibration's HRV was
    withheld, as for an irregular rhythm or a noisy pulse) is a baseline, not damage.
    """
    try:
        baseline = Baseline.from_dict(data)
    except (AttributeError, TrmBioError) as exc:
        raise ValueError(str(exc)) from None
    centres = [baseline.hr_bpm]
    spreads = [baseline.hr_spread_bpm]
    if not (math.isnan(baseline.ln_rmssd) and math.isnan(baseline.ln_rmssd_spread)):
        centres.append(baseline.ln_rmssd)  # HRV stored: both halves must be numbers
        spreads.append(baseline.ln_rmssd_spread)
    finite = all(map(math.isfinite, centres + spreads))
    if not (finite and min(spreads) > 0 and baseline.hr_bpm > 0):
        raise ValueError("its values are not a baseline")
    return baseline


def person_baseline(
    library: Library, person_id: int, *, before_session: int | None = None
) -> Baseline | None:
    """The person's baseline from their earlier sessions' cached session-start baselines.

    Used by default for a new session (live, replay and reports) once the person has
    ``BaselineParams.min_sessions`` (3) earlier sessions whose calibration passed its quality
    check (a rejected calibration stores no baseline); the session then needs no settling
    calibration. None when there are fewer (then the session calibrates on its own first
    minutes).
    """
    stored = []
    for info in library.list_sessions(person_id):
        if before_session is not None and info.id >= before_session:
            continue
        data = library.get_derived(info.id, "baseline")
        if data:
            try:
                stored.append(read_baseline(data))
            except ValueError as exc:
                log.warning("session %d has an unreadable baseline (%s); skipped", info.id, exc)
    return combine_baselines(stored)
