"""The PMD codec against the byte layouts Polar documents, and on a real H10 recording."""

from __future__ import annotations

import numpy as np
import pytest

from devices.errors import MalformedPacketError
from devices.pmd import (
    PmdOpcode,
    PmdSetting,
    PmdStatus,
    PmdStream,
    decode_frame,
    decode_response,
    decode_settings,
    encode_frame,
    encode_response,
    offered_streams,
    start_command,
    stop_command,
)


def test_start_commands_are_the_documented_bytes() -> None:
    assert start_command(PmdStream.ECG).hex(" ") == "02 00 00 01 82 00 01 01 0e 00"
    assert start_command(PmdStream.ACC).hex(" ") == "02 02 00 01 c8 00 01 01 10 00 02 01 02 00"
    assert stop_command(PmdStream.ECG) == b"\x03\x00"


def test_features_name_the_offered_streams() -> None:
    assert offered_streams(bytes.fromhex("0f 05 00")) == {PmdStream.ECG, PmdStream.ACC}
    with pytest.raises(MalformedPacketError, match="0F"):
        offered_streams(b"\x00\x05")


def test_settings_round_trip_and_truncation() -> None:
    block = bytes.fromhex("00 01 82 00 01 01 0e 00")
    assert decode_settings(block) == {PmdSetting.SAMPLE_RATE: (130,), PmdSetting.RESOLUTION: (14,)}
    with pytest.raises(MalformedPacketError, match="announces 2 values"):
        decode_settings(bytes.fromhex("00 02 82 00"))


def test_responses_accept_already_in_state() -> None:
    ok = decode_response(
        encode_response(PmdOpcode.START, PmdStream.ECG, PmdStatus.ALREADY_IN_STATE)
    )
    assert ok.ok and ok.opcode == PmdOpcode.START
    refused = decode_response(
        encode_response(PmdOpcode.START, PmdStream.ACC, PmdStatus.INVALID_MTU)
    )
    assert not refused.ok
    with pytest.raises(MalformedPacketError):
        decode_response(b"\x01\x02")


@pytest.mark.parametrize(
    ("stream", "shape", "frame_type"),
    [
        (PmdStream.ECG, (73,), None),
        (PmdStream.ACC, (36, 3), 1),
        (PmdStream.ACC, (20, 3), 0),
        (PmdStream.ACC, (20, 3), 2),
    ],
)
def test_frames_round_trip_with_negative_values(stream, shape, frame_type) -> None:
    rng = np.random.default_rng(1)
    width = 3 if stream is PmdStream.ECG else frame_type + 1
    limit = 1 << (8 * width - 1)
    samples = rng.integers(-limit, limit, size=shape)
    samples.flat[0], samples.flat[1] = -limit, limit - 1
    frame = encode_frame(stream, 123_456_789_000, samples, frame_type)
    decoded = decode_frame(frame)
    assert decoded.stream is stream and decoded.strap_ns == 123_456_789_000
    np.testing.assert_array_equal(decoded.samples, samples)
    times = decoded.sample_times_ns(130.0)
    assert times[-1] == 123_456_789_000 and np.all(np.diff(times) > 0)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"\x00\x01", "shorter than its 10-byte header"),
        (bytes(9) + b"\x80" + bytes(6), "delta-compressed"),
        (bytes(10) + b"\x01\x02", "whole number"),
        (b"\x01" + bytes(9) + bytes(3), "neither ECG"),
        (b"\x02" + bytes(8) + b"\x05" + bytes(6), "unknown frame type"),
    ],
)
def test_malformed_frames_get_a_sentence(payload: bytes, match: str) -> None:
    with pytest.raises(MalformedPacketError, match=match):
        decode_frame(payload)


def test_real_h10_ecg_survives_encoding(data_dir) -> None:
    """73-sample frames built from the real H10's ECG decode to the same microvolts."""
    path = data_dir / "polar_h10_ecg_rr.csv"
    import pandas as pd

    ecg_uv = np.round(pd.read_csv(path, usecols=["ecg"])["ecg"].to_numpy()[:7300] * 1000)
    frames = [
        encode_frame(PmdStream.ECG, 10**18 + k, ecg_uv[k : k + 73]) for k in range(0, 7300, 73)
    ]
    assert all(len(f) == 10 + 73 * 3 for f in frames)
    back = np.concatenate([decode_frame(f).samples for f in frames])
    np.testing.assert_array_equal(back, ecg_uv)
