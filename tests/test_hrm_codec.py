"""The Heart Rate Measurement (0x2A37) codec: every flag combination, bad input, fuzzing."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import MalformedPacketError
from devices.hrm import (
    HeartRateMeasurement,
    decode_hrm,
    encode_hrm,
    packet_from_payload,
    rr_ms_to_raw,
)
from devices.packet import SensorContact

CONTACT_BITS = {0: SensorContact.NOT_SUPPORTED, 1: SensorContact.NOT_SUPPORTED,
                2: SensorContact.NO_CONTACT, 3: SensorContact.CONTACT}


def _hand_built(flags: int, hr: int, energy: int | None, rr_raw: tuple[int, ...]) -> bytes:
    """Payload written field by field from the specification, independently of encode_hrm."""
    out = bytes([flags])
    out += struct.pack("<H", hr) if flags & 0x01 else struct.pack("<B", hr)
    if flags & 0x08:
        out += struct.pack("<H", energy)
    if flags & 0x10:
        out += b"".join(struct.pack("<H", raw) for raw in rr_raw)
    return out


@pytest.mark.parametrize(
    ("hr16", "contact_bits", "energy", "rr_flag", "reserved"),
    list(itertools.product([0, 1], [0, 1, 2, 3], [0, 1], [0, 1], [0, 0xE0])),
)
def test_every_flag_combination_decodes_each_field(hr16, contact_bits, energy, rr_flag, reserved):
    flags = hr16 | (contact_bits << 1) | (energy << 3) | (rr_flag << 4) | reserved
    hr = 300 if hr16 else 187
    rr_raw = (1023, 1, 65535) if rr_flag else ()
    payload = _hand_built(flags, hr, 4242, rr_raw)

    m = decode_hrm(payload)

    assert m.heart_rate_bpm == hr
    assert m.contact is CONTACT_BITS[contact_bits]
    assert m.energy_kj == (4242 if energy else None)
    assert m.rr_raw == rr_raw
    assert m.rr_ms == tuple(raw * 1000 / 1024 for raw in rr_raw)
    assert all(type(v) is float for v in m.rr_ms)


def test_rr_are_little_endian_oldest_first_and_exact():
    payload = bytes([0x16, 60]) + bytes([0x00, 0x04, 0x01, 0x04, 0xFF, 0x03])
    m = decode_hrm(payload)
    assert m.rr_raw == (1024, 1025, 1023)
    assert m.rr_ms == (1000.0, 1000.9765625, 999.0234375)
    assert m.contact is SensorContact.CONTACT


def test_rr_flag_with_no_rr_bytes_is_accepted_as_no_intervals():
    assert decode_hrm(bytes([0x10, 72])).rr_ms == ()


def test_decode_accepts_bytearray_and_memoryview():
    payload = encode_hrm(61, (900,), SensorContact.CONTACT)
    assert decode_hrm(bytearray(payload)) == decode_hrm(memoryview(payload)) == decode_hrm(payload)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"", "empty"),
        (bytes([0x00]), "heart-rate field"),
        (bytes([0x01, 0x50]), "heart-rate field"),
        (bytes([0x08, 0x50]), "Energy Expended"),
        (bytes([0x08, 0x50, 0x01]), "Energy Expended"),
        (bytes([0x10, 0x50, 0x00]), "odd"),
        (bytes([0x18, 0x50, 0x01, 0x00, 0x00, 0x04, 0x00]), "odd"),
        (bytes([0x00, 0x50, 0x00]), "left over"),
        (bytes([0x06, 0x50, 0x00, 0x04]), "left over"),
    ],
)
def test_truncated_or_inconsistent_payloads_raise_one_sentence(payload, words):
    with pytest.raises(MalformedPacketError) as info:
        decode_hrm(payload)
    message = str(info.value)
    assert words in message
    assert message.endswith(".") and message.count(". ") == 0


def test_encode_matches_the_hand_built_layout():
    assert encode_hrm(70) == bytes([0x00, 70])
    assert encode_hrm(70, force_uint16=True) == bytes([0x01, 70, 0])
    assert encode_hrm(256) == bytes([0x01, 0x00, 0x01])
    assert encode_hrm(70, (1024,), SensorContact.CONTACT) == bytes([0x16, 70, 0x00, 0x04])
    assert encode_hrm(70, (), SensorContact.NO_CONTACT, energy_kj=513) == bytes([0x0C, 70, 1, 2])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"heart_rate_bpm": -1}, "heart rate"),
        ({"heart_rate_bpm": 65536}, "heart rate"),
        ({"heart_rate_bpm": 60, "energy_kj": 70000}, "Energy"),
        ({"heart_rate_bpm": 60, "rr_raw": (1000, 65536)}, "RR"),
    ],
)
def test_encode_rejects_values_that_do_not_fit(kwargs, words):
    with pytest.raises(ValueError, match=words):
        encode_hrm(**kwargs)


def test_rr_ms_to_raw_rounds_to_nearest_unit_and_clamps():
    assert rr_ms_to_raw(1000.0) == 1024
    assert rr_ms_to_raw(1000.9765625) == 1025
    assert rr_ms_to_raw(1000.4) == 1024  # 1024.41 units
    assert rr_ms_to_raw(1000.6) == 1025  # 1024.61 units
    assert rr_ms_to_raw(-5.0) == 0
    assert rr_ms_to_raw(1e9) == 65535
    with pytest.raises(ValueError, match="finite"):
        rr_ms_to_raw(float("nan"))


def test_packet_from_payload_keeps_bytes_and_time():
    payload = encode_hrm(64, (950, 960), SensorContact.CONTACT, energy_kj=12)
    packet = packet_from_payload(bytearray(payload), host_ns=123_456_789, source_id="sim:calm:0")
    assert packet.payload == payload and type(packet.payload) is bytes
    assert packet.host_ns == 123_456_789 and packet.source_id == "sim:calm:0"
    assert packet.heart_rate_bpm == 64 and packet.energy_kj == 12
    assert packet.rr_ms == (950 * 1000 / 1024, 960 * 1000 / 1024)
    assert packet.contact is SensorContact.CONTACT
    with pytest.raises(MalformedPacketError):
        packet_from_payload(b"\x10", 0, "x")


# -- fuzzing -----------------------------------------------------------------------------


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=40))
def test_random_bytes_decode_or_raise_only_malformed(payload):
    try:
        m = decode_hrm(payload)
    except MalformedPacketError as error:
        assert str(error)
        return
    # Whatever decodes re-encodes to the same fields.
    again = decode_hrm(
        encode_hrm(m.heart_rate_bpm, m.rr_raw, m.contact, m.energy_kj,
                   force_uint16=bool(payload[0] & 0x01))
    )
    assert again == m


measurements = st.builds(
    HeartRateMeasurement,
    heart_rate_bpm=st.integers(0, 0xFFFF),
    contact=st.sampled_from(list(SensorContact)),
    energy_kj=st.none() | st.integers(0, 0xFFFF),
    rr_ms=st.just(()),
    rr_raw=st.lists(st.integers(0, 0xFFFF), max_size=12).map(tuple),
)


@settings(max_examples=1500, deadline=None)
@given(measurements, st.booleans())
def test_encode_then_decode_is_the_identity(m, force_uint16):
    payload = encode_hrm(m.heart_rate_bpm, m.rr_raw, m.contact, m.energy_kj, force_uint16)
    decoded = decode_hrm(payload)
    assert decoded.heart_rate_bpm == m.heart_rate_bpm
    assert decoded.contact is m.contact
    assert decoded.energy_kj == m.energy_kj
    assert decoded.rr_raw == m.rr_raw
    assert decoded.rr_ms == tuple(raw * 1000 / 1024 for raw in m.rr_raw)
    # Canonical payloads survive decode -> encode byte for byte.
    hr16 = force_uint16 or m.heart_rate_bpm > 255
    assert encode_hrm(decoded.heart_rate_bpm, decoded.rr_raw, decoded.contact,
                      decoded.energy_kj, hr16) == payload
