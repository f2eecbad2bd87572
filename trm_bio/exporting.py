"""A stored session written out in each export format: ``trm-bio export`` and the app's
library dialog call the same function, so both write the same files (each one private to
its owner, through :mod:`trm_bio.store.paths`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from trm_bio.errors import InputFileError

if TYPE_CHECKING:
    from trm_bio.store.exports import Column
    from trm_bio.store.library import Library

#: Export formats and the suffix of each one's file.
EXPORT_SUFFIXES = {"csv": ".csv", "kubios": ".txt", "edf": ".edf", "json": ".json"}
EXPORT_FORMATS = tuple(EXPORT_SUFFIXES)
#: What each format is, for a person choosing one.
EXPORT_DESCRIPTIONS = {
    "csv": "Beats, metrics and events (CSV)",
    "kubios": "RR intervals for Kubios (text)",
    "edf": "European Data Format (EDF+)",
    "json": "Everything, to import again (trm-bio JSON)",
}


def export_session(library: Library, session_id: int, fmt: str, out: str | Path) -> list[Path]:
    """Write a stored session as ``fmt`` to ``out``; returns the files written.

    Parameters
    ----------
    library : Library
        The open library.
    session_id : int
        The session.
    fmt : {"csv", "kubios", "edf", "json"}
        The format (CSV also writes the events beside it).
    out : path
        The file to write (the caller has refused the library itself and any file it
        should not replace).

    Raises
    ------
    InputFileError
        The file cannot be written; ``TrmBioError`` when the session cannot be read.
    """
    from trm_bio.core import artifacts
    from trm_bio.core.regulation import Zone
    from trm_bio.history import analyse_session
    from trm_bio.store import exports
    from trm_bio.store.json_format import export_json

    if fmt not in EXPORT_SUFFIXES:
        raise ValueError(f"unknown export format {fmt!r}")
    out = Path(out)
    info = library.get_session(session_id)
    try:
        if fmt == "json":
            export_json(out, library.session_record(info.id))
            return [out]
        result = analyse_session(library, info.id)
        beats = result.beats
        events = [e.to_json() for e in result.events]
        signals = _strap_signals(library, info.id, info.start_ns)
        if fmt == "kubios":
            return [exports.export_kubios_rr(out, beats.rr_ms)]
        if fmt == "edf":
            return [
                exports.export_edf(
                    out,
                    beats.times_s,
                    beats.rr_ms,
                    segment=beats.segment,
                    events=events,
                    start_utc=info.started_utc,
                    patient_code=(info.person_name or "X").replace(" ", "_"),
                    signals=signals,
                )
            ]
        a = result.analysis
        columns: dict[str, Column] = {
            "time_s": beats.times_s,
            "rr_ms": beats.rr_ms,
            "segment": beats.segment,
            "artifact": [artifacts.LABEL_NAMES[k] for k in a.labels],
            "rhythm_ok": a.rhythm_ok,
            "zone": [Zone(int(z)).label for z in result.regulation.zone],
            "arousal": result.regulation.arousal,
        }
        return exports.export_csv(out, columns, a.metrics, events, signals)
    except OSError as exc:
        raise InputFileError(f"cannot write {out}: {exc.strerror or exc}") from exc


def _strap_signals(library: Library, session_id: int, start_ns: int) -> list[Any]:
    """A session's ECG and accelerometer on its clock (none for most sessions)."""
    from trm_bio.store.pmd_signals import strap_signals

    frames = library.session_pmd_frames(session_id)
    if not len(frames):
        return []
    found = strap_signals(frames.host_ns, frames.payloads, frames.source_ids, start_ns)
    return [found[stream] for stream in sorted(found)]
