"""A stored session written out in each export format: ``trm-bio export`` and the app's
library dialog call the same function, so both write the same files (each one private to
its owner, through :mod:`trm_bio.store.paths`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from trm_bio.errors import InputFileError, TrmBioError

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
            export_json(out, library.session_record(info.id), group=_group_of(library, info))
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


def _group_of(library: Library, info: Any) -> dict[str, Any] | None:
    """The group a session belongs to, for its JSON export's metadata (None alone)."""
    if info.group_id is None:
        return None
    group = library.get_group(info.group_id)
    seat = info.group_seat if info.group_seat is not None else group.session_ids.index(info.id)
    return {"id": group.id, "name": group.name, "seat": seat + 1}


def export_group(
    library: Library, group_id: int, fmt: str, out: str | Path, *, force: bool = False
) -> list[Path]:
    """Write every session of a group as ``fmt`` into the folder ``out`` (or, when ``out``
    ends in ``.zip``, into one zip file), with a ``group.json`` linking them.

    Each session's files are named by seat and session, never by a participant's name
    (``seat-1-session-12.csv``); ``group.json`` lists the group (id, name, start, notes) and
    each seat's session, person and files. Everything written is private to its owner.

    Parameters
    ----------
    library : Library
        The open library.
    group_id : int
        The group.
    fmt : {"csv", "kubios", "edf", "json"}
        Each session's format.
    out : path
        A folder (made when absent, mode 0700) or a ``.zip`` file.
    force : bool
        Replace files of the same names (never a symbolic link).

    Returns
    -------
    list of Path
        The files written (the zip alone for a zip).

    Raises
    ------
    TrmBioError
        One sentence: no such group, a file that exists (without ``force``), a symbolic
        link, or a file that cannot be written.
    """
    import json
    import tempfile
    import zipfile

    from trm_bio.store.paths import private_output, refuse_symlink, write_private_text

    if fmt not in EXPORT_SUFFIXES:
        raise ValueError(f"unknown export format {fmt!r}")
    out = Path(out)
    group = library.get_group(group_id)
    infos = library.group_sessions(group_id)
    if not infos:
        raise TrmBioError(f"group {group_id} holds no session to export")
    refuse_symlink(out)
    as_zip = out.suffix.lower() == ".zip"
    if as_zip and out.exists() and not force:
        raise TrmBioError(f"{out} already exists; choose another name or add --force")
    if not as_zip and out.exists() and not out.is_dir():
        raise TrmBioError(f"{out} is a file; give a folder, or a name ending in .zip")

    def write_into(folder: Path) -> list[Path]:
        seats = []
        written: list[Path] = []
        for index, info in enumerate(infos):
            seat = (info.group_seat if info.group_seat is not None else index) + 1
            target = folder / f"seat-{seat}-session-{info.id}{EXPORT_SUFFIXES[fmt]}"
            refuse_symlink(target)
            if target.exists() and not force:
                raise TrmBioError(f"{target} already exists; choose another folder or add --force")
            files = export_session(library, info.id, fmt, target)
            written += files
            seats.append({
                "seat": seat, "session": info.id, "person": info.person_name,
                "started_utc": info.started_utc, "duration_s": info.duration_s,
                "files": [p.name for p in files],
            })
        document = {
            "format": "trm-bio group export",
            "version": 1,
            "group": {"id": group.id, "name": group.name, "started_utc": group.started_utc,
                      "notes": group.notes},
            "export_format": fmt,
            "sessions": seats,
        }
        link = folder / "group.json"
        refuse_symlink(link)
        if link.exists() and not force:
            raise TrmBioError(f"{link} already exists; choose another folder or add --force")
        written.append(write_private_text(link, json.dumps(document, indent=2) + "\n"))
        return written

    try:
        if not as_zip:
            out.mkdir(mode=0o700, parents=True, exist_ok=True)
            return write_into(out)
        with tempfile.TemporaryDirectory(prefix="trm-bio-group-") as temporary:
            files = write_into(Path(temporary))
            with private_output(out) as part, zipfile.ZipFile(
                part, "w", compression=zipfile.ZIP_DEFLATED
            ) as archive:
                for path in files:
                    archive.write(path, f"{out.stem}/{path.name}")
        return [out]
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
