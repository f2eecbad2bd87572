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
import binascii
import json
from pathlib import Path
from typing import Any

import numpy as np

from trm_bio.errors import InputFileError
from trm_bio.store.library import Event, ImportedRR, PacketBatch, SessionRecord
from trm_bio.store.paths import open_private_output

FORMAT_NAME = "trm-bio-session"
FORMAT_VERSION = 1


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
    """Read a session JSON file; store it with ``Library.add_session_record``.

    Raises
    ------
    InputFileError
        Missing file, not JSON, not a trm-bio session, a newer version, or damaged fields.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path.name} is not a JSON file ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise InputFileError(f"{path.name} is JSON but not a trm-bio session export")
    if int(data.get("version", 0)) > FORMAT_VERSION:
        raise InputFileError(
            f"{path.name} was written by a newer trm-bio (format version {data['version']}); "
            "update trm-bio to import it"
        )
    try:
        return record_from_json(data)
    except (KeyError, TypeError, ValueError, IndexError, binascii.Error) as exc:
        raise InputFileError(f"{path.name} is a damaged trm-bio session export ({exc!r})") from exc


def record_from_json(data: dict[str, Any]) -> SessionRecord:
    """A session record from the dict :func:`record_to_json` makes."""
    packets = data["packets"]
    source_ids = packets["source_ids"]
    host_ns = np.asarray(packets["host_ns"], dtype=np.int64)
    payloads = [base64.b64decode(p, validate=True) for p in packets["payload_b64"]]
    sources = [source_ids[i] for i in packets["source_index"]]
    if not len(host_ns) == len(payloads) == len(sources):
        raise ValueError("packet fields have different lengths")
    imported = data.get("imported_rr")
    return SessionRecord(
        session=dict(data["session"]),
        person_name=data.get("person"),
        packets=PacketBatch(host_ns, payloads, sources),
        events=[
            Event(
                int(e["seq"]),
                float(e["time_s"]),
                e.get("host_ns"),
                str(e["kind"]),
                dict(e.get("payload") or {}),
            )
            for e in data["events"]
        ],
        imported_rr=None
        if imported is None
        else ImportedRR(
            np.asarray(imported["rr_ms"], dtype=np.float64),
            None
            if imported.get("times_s") is None
            else np.asarray(imported["times_s"], dtype=np.float64),
            dict(imported.get("info") or {}),
        ),
        derived=dict(data.get("derived") or {}),
    )
