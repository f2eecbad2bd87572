"""Whole-session JSON: everything a round trip needs, so export then import gives the same session.

Layout (``format`` = ``"trm-bio-session"``, ``version`` = 1, or 2 with PMD frames)::

    {"format": "trm-bio-session", "version": 1,
     "session": {started_utc, start_ns, ended_utc, duration_s, source_kind, source_id,
                 device_name, notes, tags, status, settings},
     "person": "name or code" | null,
     "packets": {"host_ns": [...], "source_ids": [...distinct ids...],
                 "source_index": [...index into source_ids per packet...],
                 "payload_b64": [...base64 of the raw bytes...]},
     "events": [{"seq", "time_s", "host_ns", "kind", "payload"}, ...],
     "imported_rr": {"rr_ms": [...], "times_s": [...] | null, "info": {...}} | null,
     "derived": {"summary": {...}, ...}}

A session that holds a Polar strap's PMD frames (ECG, accelerometer) is written as
version 2, with two more members (a session without them is written exactly as before,
version 1, which older trm-bio read)::

     "pmd_frames": {same layout as "packets": the raw frames as received},
     "signals": {"ecg": {"time_s": [...], "run": [...], "ecg_uv": [...]},
                 "acc": {"time_s": [...], "run": [...], "acc_x_mg": [...], "acc_y_mg": [...],
                         "acc_z_mg": [...]}}

``signals`` is the frames decoded, every sample on the session's clock (s from its start;
``run`` numbers the stretches without a lost frame; see :mod:`trm_bio.store.pmd_signals`),
for readers without a PMD decoder; an import reads the frames and ignores ``signals``,
which are derived from them.

Floats are written with Python's shortest exact representation, so they read back
bit for bit; packet and frame bytes are base64.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from trm_bio.core.events import Event
from trm_bio.errors import InputFileError
from trm_bio.store import schema
from trm_bio.store.library import ImportedRR, PacketBatch, SessionRecord, check_record
from trm_bio.store.paths import open_private_output
from trm_bio.store.pmd_signals import strap_signals

FORMAT_NAME = "trm-bio-session"
FORMAT_VERSION = 2
#: The version of a file without PMD frames: nothing in it is new since version 1.
_PLAIN_VERSION = 1
#: Deepest nesting of a whole document: its free-form parts sit a few levels down.
_MAX_DOCUMENT_DEPTH = schema.MAX_JSON_DEPTH + 4


def _batch_to_json(batch: PacketBatch) -> dict[str, Any]:
    source_ids = list(dict.fromkeys(batch.source_ids))
    index = {source: i for i, source in enumerate(source_ids)}
    return {
        "host_ns": batch.host_ns.tolist(),
        "source_ids": source_ids,
        "source_index": [index[s] for s in batch.source_ids],
        "payload_b64": [base64.b64encode(p).decode("ascii") for p in batch.payloads],
    }


def _batch_from_json(model: schema.PacketsModel) -> PacketBatch:
    return PacketBatch(
        np.asarray(model.host_ns, dtype=np.int64),
        [base64.b64decode(p) for p in model.payload_b64],
        [model.source_ids[i] for i in model.source_index],
    )


def signals_to_json(record: SessionRecord) -> dict[str, Any]:
    """The session's PMD frames decoded, as arrays on the session's clock (see above)."""
    frames = record.pmd_frames
    out: dict[str, Any] = {}
    signals = strap_signals(
        frames.host_ns, frames.payloads, frames.source_ids, int(record.session["start_ns"])
    )
    for stream, signal in sorted(signals.items()):
        out[stream.name.lower()] = {
            "time_s": signal.time_s.tolist(),
            "run": signal.run.tolist(),
            **{name: column.tolist() for name, column in signal.column_values().items()},
        }
    return out


def record_to_json(
    record: SessionRecord, group: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON-ready dict of a session record; ``group``: the group session it was part of
    (``{"id", "name", "seat"}``), kept as metadata only: importing the file does not make a
    group (the other participants' sessions are not in it)."""
    imported = record.imported_rr
    has_frames = len(record.pmd_frames) > 0
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION if has_frames else _PLAIN_VERSION,
        "session": record.session,
        "person": record.person_name,
        "packets": _batch_to_json(record.packets),
        "events": [e.to_json() for e in record.events],
        "imported_rr": None
        if imported is None
        else {
            "rr_ms": imported.rr_ms.tolist(),
            "times_s": None if imported.times_s is None else imported.times_s.tolist(),
            "info": imported.info,
        },
        "derived": record.derived,
    }
    if group is not None:
        document["group"] = group
    if has_frames:
        document["pmd_frames"] = _batch_to_json(record.pmd_frames)
        document["signals"] = signals_to_json(record)
    return document


def export_json(
    path: str | Path, record: SessionRecord, group: dict[str, Any] | None = None
) -> Path:
    """Write a session record (from ``Library.session_record``) as JSON (``group``: see
    :func:`record_to_json`)."""
    path = Path(path)
    with open_private_output(path, "w", encoding="utf-8") as handle:
        json.dump(record_to_json(record, group), handle, ensure_ascii=False, allow_nan=True)
    return path


def import_json(path: str | Path) -> SessionRecord:
    """Read a session JSON file, every field checked; store it with
    ``Library.add_session_record``.

    The file's ``derived`` caches are not read: they are recomputed from the session.

    Raises
    ------
    InputFileError
        Missing file, not JSON, not a trm-bio session, a newer version, or a field that
        no session can hold (the sentence names it).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"{path} cannot be read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path.name} is not a JSON file ({exc})") from exc
    except RecursionError:
        raise InputFileError(
            f"{path.name} is nested too deeply to be a trm-bio session export"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise InputFileError(f"{path.name} is JSON but not a trm-bio session export")
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise InputFileError(
            f"{path.name} is a damaged trm-bio session export: its version is "
            f"{json.dumps(version)[:40]}, not a format version number"
        )
    if version > FORMAT_VERSION:
        raise InputFileError(
            f"{path.name} was written by a newer trm-bio (format version {version}); "
            "update trm-bio to import it"
        )
    try:
        return record_from_json(data)
    except ValueError as exc:
        raise InputFileError(f"{path.name} is a damaged trm-bio session export: {exc}") from None


def record_from_json(data: dict[str, Any]) -> SessionRecord:
    """A session record from the dict :func:`record_to_json` makes, every field checked.

    Raises
    ------
    ValueError
        Naming the first field that is wrong (e.g. ``session.duration_s``).
    """
    try:
        schema.check_json_value(data, max_depth=_MAX_DOCUMENT_DEPTH, depth_only=True)
    except ValueError as exc:
        raise ValueError(f"the file: {exc}") from None
    document = schema.validate_document(data)
    imported = document.imported_rr
    record = SessionRecord(
        session=document.session.model_dump(),
        person_name=document.person,
        packets=_batch_from_json(document.packets),
        events=[Event(e.time_s, e.kind, e.payload, e.host_ns, e.seq) for e in document.events],
        imported_rr=None
        if imported is None
        else ImportedRR(
            np.asarray(imported.rr_ms, dtype=np.float64),
            None if imported.times_s is None else np.asarray(imported.times_s, np.float64),
            dict(imported.info),
        ),
        pmd_frames=PacketBatch.empty()
        if document.pmd_frames is None
        else _batch_from_json(document.pmd_frames),
    )
    check_record(record)  # what spans fields: times against the start, unique seq numbers
    return record
