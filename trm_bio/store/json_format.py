"""Whole-session JSON: everything a round trip needs, so export then import gives the same session.

Layout (``format`` = ``"trm-bio-session"``, ``version`` = 1)::

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

Floats are written with Python's shortest exact representation, so they read back
bit for bit; packet bytes are base64.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from trm_bio.errors import InputFileError
from trm_bio.store import schema
from trm_bio.store.library import Event, ImportedRR, PacketBatch, SessionRecord, check_record
from trm_bio.store.paths import open_private_output

FORMAT_NAME = "trm-bio-session"
FORMAT_VERSION = 1
#: Deepest nesting of a whole document: its free-form parts sit a few levels down.
_MAX_DOCUMENT_DEPTH = schema.MAX_JSON_DEPTH + 4


def record_to_json(record: SessionRecord) -> dict[str, Any]:
    """The JSON-ready dict of a session record."""
    packets = record.packets
    source_ids = list(dict.fromkeys(packets.source_ids))
    index = {source: i for i, source in enumerate(source_ids)}
    imported = record.imported_rr
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "session": record.session,
        "person": record.person_name,
        "packets": {
            "host_ns": packets.host_ns.tolist(),
            "source_ids": source_ids,
            "source_index": [index[s] for s in packets.source_ids],
            "payload_b64": [base64.b64encode(p).decode("ascii") for p in packets.payloads],
        },
        "events": [
            {
                "seq": e.seq,
                "time_s": e.time_s,
                "host_ns": e.host_ns,
                "kind": e.kind,
                "payload": e.payload,
            }
            for e in record.events
        ],
        "imported_rr": None
        if imported is None
        else {
            "rr_ms": imported.rr_ms.tolist(),
            "times_s": None if imported.times_s is None else imported.times_s.tolist(),
            "info": imported.info,
        },
        "derived": record.derived,
    }


def export_json(path: str | Path, record: SessionRecord) -> Path:
    """Write a session record (from ``Library.session_record``) as JSON."""
    path = Path(path)
    with open_private_output(path, "w", encoding="utf-8") as handle:
        json.dump(record_to_json(record), handle, ensure_ascii=False, allow_nan=True)
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
    packets = document.packets
    imported = document.imported_rr
    record = SessionRecord(
        session=document.session.model_dump(),
        person_name=document.person,
        packets=PacketBatch(
            np.asarray(packets.host_ns, dtype=np.int64),
            [base64.b64decode(p) for p in packets.payload_b64],
            [packets.source_ids[i] for i in packets.source_index],
        ),
        events=[Event(e.seq, e.time_s, e.host_ns, e.kind, e.payload) for e in document.events],
        imported_rr=None
        if imported is None
        else ImportedRR(
            np.asarray(imported.rr_ms, dtype=np.float64),
            None if imported.times_s is None else np.asarray(imported.times_s, np.float64),
            dict(imported.info),
        ),
    )
    check_record(record)  # what spans fields: times against the start, unique seq numbers
    return record
