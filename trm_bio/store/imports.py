"""An RR file becomes a session: synthesised strap packets for replay, exact values kept.

Each interval is encoded into a Heart Rate Measurement payload the way a strap would send
it: a packet arrives at each whole second of the beat clock carrying the beats that ended
since the last one (at most 4 per packet, oldest first; more share the second, 1 ns apart),
so replaying an imported file runs through exactly the same pipeline as a recording.
The strap's unit is 1/1024 s, which rounds RR by up to 0.49 ms; the file's exact values are
therefore also stored (``Library.imported_rr``) and metrics of an imported file are computed
from those, so they equal the file's exactly.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np

from devices.hrm import RR_RAW_MAX, encode_hrm, rr_ms_to_raw
from devices.packet import SensorContact
from trm_bio.errors import InputFileError
from trm_bio.store.library import ImportedRR, Library, PacketBatch, SessionRecord, plus_seconds
from trm_bio.store.rr_files import RRRecording
from trm_bio.store.schema import check_imported_rr

log = logging.getLogger(__name__)

MAX_RR_PER_PACKET = 4


def synthesise_packets(rr_ms: np.ndarray, start_ns: int = 0) -> tuple[np.ndarray, list[bytes]]:
    """Strap-like Heart Rate Measurement packets carrying ``rr_ms``.

    Returns
    -------
    host_ns : numpy.ndarray
        Arrival times (ns, int64): ``start_ns`` plus the whole second at or after which each
        packet's last beat ended.
    payloads : list of bytes
        Encoded 0x2A37 payloads (contact detected, heart rate from the packet's mean RR).
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    ends_s = np.cumsum(rr) / 1000.0
    tick = np.ceil(ends_s - 1e-9).astype(np.int64)
    # A new packet when the tick changes or the current one is full.
    new_tick = np.concatenate(([True], tick[1:] != tick[:-1]))
    group_start = np.flatnonzero(new_tick)
    group_id = np.cumsum(new_tick) - 1
    position = np.arange(rr.size) - group_start[group_id]
    chunk = position // MAX_RR_PER_PACKET
    starts = np.flatnonzero(
        np.concatenate(([True], (group_id[1:] != group_id[:-1]) | (chunk[1:] != chunk[:-1])))
    )
    bounds = np.append(starts, rr.size)
    host_ns = start_ns + tick[starts] * 1_000_000_000 + chunk[starts]
    raw = [rr_ms_to_raw(x) for x in rr.tolist()]
    payloads = []
    for first, last in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        mean_rr = float(rr[first:last].mean())
        heart_rate = min(round(60000.0 / mean_rr), 0xFFFF) if mean_rr > 0 else 0
        payloads.append(encode_hrm(heart_rate, raw[first:last], contact=SensorContact.CONTACT))
    return host_ns.astype(np.int64), payloads


def import_rr_recording(
    library: Library,
    recording: RRRecording,
    person: str | int | None = None,
    *,
    started_utc: str | None = None,
    notes: str = "",
    tags: tuple[str, ...] = (),
) -> int:
    """Store an RR file as a complete session of source kind ``"import"``; returns its id.

    Parameters
    ----------
    library : Library
        A writable library.
    recording : RRRecording
        From :func:`trm_bio.store.rr_files.read_rr_file`.
    person : str, int or None
        A person's name or code (added if new) or id.
    started_utc : str or None
        Wall-clock start (UTC ISO 8601); default: from the file's own time stamps when it
        has them (a strap log), else the import time.
    """
    rr = np.asarray(recording.rr_ms, dtype=np.float64)
    try:  # before the packets are made from them
        check_imported_rr(rr, recording.times_s)
    except ValueError as exc:
        raise InputFileError(f"{recording.source_name}: {exc}") from None
    too_long = int(np.sum(rr * 1024 / 1000 > RR_RAW_MAX + 0.5))
    if too_long:
        log.warning(
            "%s: %d interval(s) longer than a strap can send (64 s) are capped in the replay "
            "packets; their exact values are kept",
            recording.source_name,
            too_long,
        )
    name = None
    if person is not None:
        found = library.find_person(person)
        name = found.name if found is not None else str(person)
    info = {
        "file": recording.source_name,
        "format": recording.format,
        "unit": recording.unit,
        "unit_source": recording.unit_source,
        "offset_s": recording.offset_s,
        "rr_column": recording.rr_column,
        "time_column": recording.time_column,
    }
    if started_utc is None and recording.start_epoch_s is not None:
        started_utc = datetime.fromtimestamp(recording.start_epoch_s, UTC).isoformat(
            timespec="seconds"
        )
    started_utc = started_utc or datetime.now(UTC).isoformat(timespec="seconds")
    duration_s = float(rr.sum() / 1000.0)
    start_ns = 0
    host_ns, payloads = synthesise_packets(rr, start_ns)
    source_id = f"file:{recording.source_name}"
    record = SessionRecord(
        session={
            "started_utc": started_utc,
            "start_ns": start_ns,
            "ended_utc": plus_seconds(started_utc, duration_s),
            "duration_s": duration_s,
            "source_kind": "import",
            "source_id": source_id,
            "device_name": f"{recording.format} RR file",
            "notes": notes,
            "tags": list(tags),
            "status": "complete",
            "settings": {"import": info},
        },
        person_name=name,
        packets=PacketBatch(host_ns, payloads, [source_id] * len(payloads)),
        events=[],
        imported_rr=ImportedRR(rr, recording.times_s, info),
    )
    # One transaction: a file refused halfway leaves no session (nor person) behind.
    return library.add_session_record(record)
