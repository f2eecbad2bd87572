"""Codec for the Bluetooth Heart Rate Measurement characteristic (0x2A37).

Layout (Heart Rate Service 1.0, section 3.1): byte 0 is the flags field, then the heart rate
(uint8, or uint16 when flag bit 0 is set), then Energy Expended (uint16, kJ) when flag bit 3 is
set, then zero or more RR intervals (uint16, units of 1/1024 s, oldest first) when flag bit 4
is set. Every field is little-endian. Flag bits 1-2 carry the sensor-contact state and bits
5-7 are reserved for future use, so a decoder ignores them and keeps decoding.

What this decoder accepts and rejects, and why:

* Rejected with :class:`~devices.errors.MalformedPacketError` (one sentence naming the field
  and the byte counts): an empty payload; a heart-rate field cut short; Energy Expended flagged
  but fewer than 2 bytes left for it; RR flagged with an odd number of bytes left (half an
  interval means the flags and the length disagree); bytes left over when RR is not flagged
  (the flags do not describe the payload, so no field can be trusted). The raw bytes are stored
  before decoding, so rejecting loses nothing for good.
* Accepted: the RR flag set with no RR bytes (``n = 0`` is what "n from the remaining length"
  gives, and the heart rate and contact fields are still valid); a heart rate of 0 and RR of 0
  (straps send them right after connecting or off the body; judging values is the artifact
  stage's job, not the codec's); reserved flag bits.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from devices.errors import MalformedPacketError
from devices.packet import Packet, SensorContact

FLAG_HR_UINT16 = 0x01
FLAG_CONTACT_MASK = 0x06
FLAG_ENERGY = 0x08
FLAG_RR = 0x10

RR_UNITS_PER_S = 1024
RR_RAW_MAX = 0xFFFF

_CONTACT_FROM_BITS = {
    0: SensorContact.NOT_SUPPORTED,
    1: SensorContact.NOT_SUPPORTED,
    2: SensorContact.NO_CONTACT,
    3: SensorContact.CONTACT,
}


@dataclass(frozen=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification.

    Parameters
    ----------
    heart_rate_bpm : int
        Heart rate the strap reported (bpm).
    contact : SensorContact
        Sensor-contact state from flag bits 1-2.
    energy_kj : int or None
        Energy expended (kJ) when flagged, else None.
    rr_ms : tuple of float
        RR intervals, oldest first (ms, ``raw * 1000 / 1024``, exact, never rounded).
    rr_raw : tuple of int
        The same RR intervals as sent (units of 1/1024 s).
    """

    heart_rate_bpm: int
    contact: SensorContact
    energy_kj: int | None
    rr_ms: tuple[float, ...]
    rr_raw: tuple[int, ...]


def rr_raw_to_ms(rr_raw: int) -> float:
    """RR interval in ms from the strap's units of 1/1024 s (exact in float64)."""
    return rr_raw * 1000 / RR_UNITS_PER_S


def rr_ms_to_raw(rr_ms: float) -> int:
    """RR interval in units of 1/1024 s, rounded to nearest (ties to even), clamped to 0..65535.

    Parameters
    ----------
    rr_ms : float
        RR interval (ms).

    Returns
    -------
    int
        The value a strap would send for it.
    """
    if not math.isfinite(rr_ms):
        raise ValueError(f"An RR interval must be a finite number of milliseconds, not {rr_ms!r}.")
    return min(max(round(rr_ms * RR_UNITS_PER_S / 1000), 0), RR_RAW_MAX)


def decode_hrm(payload: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) payload.

    Parameters
    ----------
    payload : bytes
        The notification value exactly as received.

    Returns
    -------
    HeartRateMeasurement

    Raises
    ------
    MalformedPacketError
        When the payload is truncated or its length disagrees with its flags (see the module
        docstring for the exact rules).
    """
    data = bytes(payload)
    size = len(data)
    if size == 0:
        raise MalformedPacketError(
            "The heart-rate packet is empty; it needs at least 2 bytes (flags and heart rate)."
        )
    flags = data[0]
    offset = 1

    hr_size = 2 if flags & FLAG_HR_UINT16 else 1
    if size - offset < hr_size:
        raise MalformedPacketError(
            f"The heart-rate packet is cut short in its heart-rate field: the flags call for a "
            f"{hr_size}-byte value but {size - offset} byte(s) follow the flags."
        )
    heart_rate_bpm = int.from_bytes(data[offset : offset + hr_size], "little")
    offset += hr_size

    energy_kj: int | None = None
    if flags & FLAG_ENERGY:
        if size - offset < 2:
            raise MalformedPacketError(
                f"The heart-rate packet flags Energy Expended but only {size - offset} byte(s) "
                f"are left for its 2-byte field."
            )
        energy_kj = int.from_bytes(data[offset : offset + 2], "little")
        offset += 2

    remaining = size - offset
    rr_raw: tuple[int, ...] = ()
    if flags & FLAG_RR:
        if remaining % 2:
            raise MalformedPacketError(
                f"The heart-rate packet has {remaining} byte(s) of RR intervals, an odd number, "
                f"but each RR interval takes 2 bytes."
            )
        rr_raw = struct.unpack_from(f"<{remaining // 2}H", data, offset)
    elif remaining:
        raise MalformedPacketError(
            f"The heart-rate packet has {remaining} byte(s) left over after its last flagged "
            f"field, and RR intervals are not flagged."
        )

    return HeartRateMeasurement(
        heart_rate_bpm=heart_rate_bpm,
        contact=_CONTACT_FROM_BITS[(flags & FLAG_CONTACT_MASK) >> 1],
        energy_kj=energy_kj,
        rr_ms=tuple(rr_raw_to_ms(raw) for raw in rr_raw),
        rr_raw=tuple(rr_raw),
    )


def encode_hrm(
    heart_rate_bpm: int,
    rr_raw: Iterable[int] = (),
    contact: SensorContact = SensorContact.NOT_SUPPORTED,
    energy_kj: int | None = None,
    force_uint16: bool = False,
) -> bytes:
    """Build Heart Rate Measurement (0x2A37) bytes as a strap sends them.

    Parameters
    ----------
    heart_rate_bpm : int
        Heart rate (bpm), 0..65535; written as uint8 when it fits unless ``force_uint16``.
    rr_raw : iterable of int
        RR intervals in units of 1/1024 s, oldest first, each 0..65535 (see
        :func:`rr_ms_to_raw`). The RR flag is set only when there is at least one.
    contact : SensorContact
        Sensor-contact state for flag bits 1-2.
    energy_kj : int or None
        Energy expended (kJ), 0..65535, or None to leave it out.
    force_uint16 : bool
        Write the heart rate as uint16 even when it fits in a byte.

    Returns
    -------
    bytes
        The payload. The encoder does not enforce the ATT MTU: with the default MTU of 23 a
        notification holds 20 bytes, so at most 9 RR intervals with a uint8 heart rate.
    """
    rr_values = tuple(int(raw) for raw in rr_raw)
    if not 0 <= heart_rate_bpm <= 0xFFFF:
        raise ValueError(f"A heart rate must be 0 to 65535 bpm to encode, not {heart_rate_bpm}.")
    if energy_kj is not None and not 0 <= energy_kj <= 0xFFFF:
        raise ValueError(f"Energy expended must be 0 to 65535 kJ to encode, not {energy_kj}.")
    bad_rr = [raw for raw in rr_values if not 0 <= raw <= RR_RAW_MAX]
    if bad_rr:
        raise ValueError(f"RR intervals must be 0 to 65535 in 1/1024 s to encode, not {bad_rr[0]}.")

    contact_bits = {
        SensorContact.NOT_SUPPORTED: 0,
        SensorContact.NO_CONTACT: 2,
        SensorContact.CONTACT: 3,
    }[SensorContact(contact)]
    hr_uint16 = force_uint16 or heart_rate_bpm > 0xFF
    flags = (
        (FLAG_HR_UINT16 if hr_uint16 else 0)
        | (contact_bits << 1)
        | (FLAG_ENERGY if energy_kj is not None else 0)
        | (FLAG_RR if rr_values else 0)
    )
    out = bytearray([flags])
    out += int(heart_rate_bpm).to_bytes(2 if hr_uint16 else 1, "little")
    if energy_kj is not None:
        out += int(energy_kj).to_bytes(2, "little")
    out += struct.pack(f"<{len(rr_values)}H", *rr_values)
    return bytes(out)


def packet_from_payload(
    payload: bytes | bytearray | memoryview, host_ns: int, source_id: str
) -> Packet:
    """Wrap received 0x2A37 bytes into a :class:`~devices.packet.Packet`, decoding its fields.

    Parameters
    ----------
    payload : bytes
        The notification value as received (kept verbatim in the packet).
    host_ns : int
        Host monotonic time of arrival (ns).
    source_id : str
        Id of the source that sent it.

    Raises
    ------
    MalformedPacketError
        When the payload cannot be decoded (see :func:`decode_hrm`).
    """
    data = bytes(payload)
    measurement = decode_hrm(data)
    return Packet(
        host_ns=host_ns,
        source_id=source_id,
        payload=data,
        heart_rate_bpm=measurement.heart_rate_bpm,
        rr_ms=measurement.rr_ms,
        contact=measurement.contact,
        energy_kj=measurement.energy_kj,
    )
