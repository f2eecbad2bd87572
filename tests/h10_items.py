"""Source items of a real Polar H10 session, built from ``polar_h10_ecg_rr.csv``.

The file holds the strap's ECG (one row a sample, about 130 Hz) and, on some rows, the heart
rate and RR values of a Heart Rate Measurement notification (the rows after it without a
heart rate carry the same notification's further RR values). Here the ECG is cut into
frames of 73 samples as the strap sends them (``devices.pmd.encode_frame``, µV, stamped with
the strap's time of the last sample) and the RR into 0x2A37 packets (``encode_hrm``); each
arrives at the host at its row's time plus a radio latency (seeded, 8-60 ms), so the
session sees what it would have seen from the strap itself.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
from devices.packet import LinkState, SensorContact, StatusEvent
from devices.pmd import PMD_EPOCH_UNIX_S, PmdFrame, PmdStream, encode_frame
from tests.recordings import _require

SOURCE = "h10"
SAMPLES_PER_FRAME = 73


@dataclass(frozen=True)
class H10File:
    time_ns: np.ndarray  # epoch ns of each ECG row (int64)
    ecg_mv: np.ndarray
    packet_rows: list[int]  # row of each notification
    packet_rr_ms: list[list[float]]  # its RR values


@lru_cache(maxsize=1)
def h10_file() -> H10File:
    times: list[float] = []
    ecg: list[float] = []
    rows: list[int] = []
    rrs: list[list[float]] = []
    with open(_require() / "polar_h10_ecg_rr.csv", newline="") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            times.append(float(row["time"]))
            ecg.append(float(row["ecg"]))
            if row["hr"]:
                rows.append(i)
                rrs.append([float(row["rr"])] if row["rr"] else [])
            elif row["rr"] and rrs:
                rrs[-1].append(float(row["rr"]))
    return H10File(np.asarray(times).astype(np.int64), np.asarray(ecg), rows, rrs)


def h10_items(
    start_ns: int,
    *,
    flat_s: tuple[tuple[float, float], ...] = (),
    seed: int = 0,
    ecg: bool = True,
) -> list[Any]:
    """The items a live source would have queued, in arrival order.

    ``flat_s``: stretches (s from the file's start) where the ECG is flat (the electrodes
    lost the skin) while the strap's RR still come.
    """
    f = h10_file()
    rng = np.random.default_rng(seed)
    t0 = int(f.time_ns[0])
    rel_s = (f.time_ns - t0) / 1e9
    ecg_uv = np.round(f.ecg_mv * 1000.0)
    for a, b in flat_s:
        ecg_uv[(rel_s >= a) & (rel_s < b)] = 0.0
    items: list[tuple[int, int, Any]] = []

    def arrival(row: int) -> int:
        return start_ns + int(f.time_ns[row] - t0) + int(rng.uniform(8e6, 60e6))

    if ecg:
        for lo in range(0, len(ecg_uv) - SAMPLES_PER_FRAME + 1, SAMPLES_PER_FRAME):
            last = lo + SAMPLES_PER_FRAME - 1
            strap_ns = int(f.time_ns[last]) - PMD_EPOCH_UNIX_S * 1_000_000_000
            payload = encode_frame(PmdStream.ECG, strap_ns, ecg_uv[lo : last + 1])
            host = arrival(last)
            items.append((host, 2, PmdFrame(host, SOURCE, payload)))
    for row, rr in zip(f.packet_rows, f.packet_rr_ms, strict=True):
        host = arrival(row)
        payload = encode_hrm(90, [rr_ms_to_raw(v) for v in rr], SensorContact.CONTACT)
        items.append((host, 1, packet_from_payload(payload, host, SOURCE)))
    items.sort(key=lambda item: (item[0], item[1]))
    head = [
        StatusEvent(start_ns, SOURCE, state)
        for state in (LinkState.CONNECTING, LinkState.CONNECTED, LinkState.STREAMING)
    ]
    return head + [item[2] for item in items]


def packet_arrivals_s(items: list[Any], start_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """The strap's RR values and the arrival (s on the beat clock) of the packet of each."""
    from devices.packet import Packet

    rr: list[float] = []
    arrival: list[float] = []
    for item in items:
        if isinstance(item, Packet):
            rr.extend(item.rr_ms)
            arrival.extend([(item.host_ns - start_ns) / 1e9] * len(item.rr_ms))
    return np.asarray(rr), np.asarray(arrival)
