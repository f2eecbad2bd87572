"""Codec for Polar's Measurement Data service (PMD): control-point messages and data frames.

Polar straps (the H10 among them) stream raw signals besides the standard heart-rate
service: single-lead ECG at 130 Hz and a 3-axis accelerometer. The service is
``FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8``; its control point (``...5C81``: read, write,
indicate) takes commands and answers them by indication, and its data characteristic
(``...5C82``: notify) carries the frames. Layouts follow Polar's public polar-ble-sdk
(``PmdControlPointCommand``, ``PmdControlPointResponse``, ``EcgData``, ``AccData``):

* Control point read: ``0x0F`` then a bit mask of the stream types the strap offers
  (bit 0 ECG, 1 PPG, 2 ACC, 3 PPI, ...).
* Command: ``opcode, stream type[, settings]``; opcodes 1 get settings, 2 start, 3 stop.
  Settings are ``setting type, count, count x uint16`` triples (0 sample rate in Hz,
  1 resolution in bits, 2 range in g, ...).
* Response (indication): ``0xF0, opcode, stream type, status, more[, parameters]``;
  status 0 is success and 6 "already in state" (a stream left running by an earlier
  connection), which a client accepts as success.
* Data frame: byte 0 the stream type, bytes 1-8 the strap's time of the frame's LAST sample
  (uint64 LE, ns since 2000-01-01 on the strap's clock), byte 9 the frame type, then the
  samples. ECG frame type 0: signed 3-byte LE samples in µV. ACC frame types 0, 1 and 2:
  x, y, z as signed 1-, 2- or 3-byte LE integers in mg. Frame types with bit 7 set are
  delta-compressed; this decoder rejects them with a sentence (the raw bytes are still
  stored, so nothing is lost, and the H10 sends uncompressed frames for the settings we ask).

Decoding is pure: bytes in, numbers out, no Bluetooth. A frame that cannot be decoded raises
:class:`~devices.errors.MalformedPacketError`; the caller stores the raw bytes first.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from devices.errors import MalformedPacketError

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: The ATT MTU the H10 needs to fit an ECG frame (73 samples) in one notification.
PMD_MIN_MTU = 232

#: Seconds from the Unix epoch to 2000-01-01T00:00:00Z, the epoch of PMD timestamps.
PMD_EPOCH_UNIX_S = 946_684_800

_FEATURES_MARKER = 0x0F
_RESPONSE_MARKER = 0xF0
_HEADER_BYTES = 10  # stream type, uint64 timestamp, frame type


class PmdStream(enum.IntEnum):
    """PMD measurement (stream) types."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3


class PmdOpcode(enum.IntEnum):
    """Control-point command opcodes."""

    GET_SETTINGS = 1
    START = 2
    STOP = 3


class PmdSetting(enum.IntEnum):
    """Setting types inside a settings block."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


class PmdStatus(enum.IntEnum):
    """Control-point response status codes."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13


_STATUS_SENTENCES: Mapping[int, str] = {
    PmdStatus.INVALID_OP_CODE: "it does not know that command",
    PmdStatus.INVALID_MEASUREMENT_TYPE: "it does not offer that stream",
    PmdStatus.NOT_SUPPORTED: "it does not support that request",
    PmdStatus.INVALID_LENGTH: "the request had the wrong length",
    PmdStatus.INVALID_PARAMETER: "a setting was not valid",
    PmdStatus.INVALID_RESOLUTION: "it does not offer that resolution",
    PmdStatus.INVALID_SAMPLE_RATE: "it does not offer that sample rate",
    PmdStatus.INVALID_RANGE: "it does not offer that range",
    PmdStatus.INVALID_MTU: "the Bluetooth link's packets are too small (MTU)",
    PmdStatus.INVALID_NUMBER_OF_CHANNELS: "it does not offer that number of channels",
    PmdStatus.INVALID_STATE: "it is not in a state to do that",
    PmdStatus.DEVICE_IN_CHARGER: "it is in its charger",
}

#: Settings of the streams trm-bio asks for: ECG 130 Hz 14 bit; ACC 200 Hz 16 bit ±2 g.
ECG_SETTINGS: Mapping[PmdSetting, int] = {PmdSetting.SAMPLE_RATE: 130, PmdSetting.RESOLUTION: 14}
ACC_SETTINGS: Mapping[PmdSetting, int] = {
    PmdSetting.SAMPLE_RATE: 200,
    PmdSetting.RESOLUTION: 16,
    PmdSetting.RANGE: 2,
}


def status_sentence(status: int) -> str:
    """Plain words for a refusal status (for "the strap refused ECG: ...")."""
    return _STATUS_SENTENCES.get(status, f"it answered with status {status}")


# -- control point -------------------------------------------------------------------------


def offered_streams(features: bytes | bytearray) -> frozenset[PmdStream]:
    """Stream types a strap offers, from the control point's read value.

    Raises
    ------
    MalformedPacketError
        When the value does not start with the features marker 0x0F.
    """
    data = bytes(features)
    if len(data) < 2 or data[0] != _FEATURES_MARKER:
        raise MalformedPacketError(
            f"The PMD control point's features ({data.hex(' ') or 'empty'}) do not start "
            "with 0F and a stream mask."
        )
    mask = int.from_bytes(data[1:], "little")
    return frozenset(s for s in PmdStream if mask >> int(s) & 1)


def encode_settings(settings: Mapping[PmdSetting, int]) -> bytes:
    """A settings block: one ``type, 1, uint16 value`` triple per setting, in type order."""
    return b"".join(
        struct.pack("<BBH", int(kind), 1, int(value)) for kind, value in sorted(settings.items())
    )


def decode_settings(block: bytes | bytearray) -> dict[PmdSetting | int, tuple[int, ...]]:
    """Settings from a block of ``type, count, count x uint16`` (values a strap offers).

    Raises
    ------
    MalformedPacketError
        When a triple is cut short.
    """
    data = bytes(block)
    out: dict[PmdSetting | int, tuple[int, ...]] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise MalformedPacketError(f"A PMD settings block ends inside a header at {pos}.")
        kind, count = data[pos], data[pos + 1]
        end = pos + 2 + 2 * count
        if end > len(data):
            raise MalformedPacketError(
                f"A PMD setting of type {kind} announces {count} values but "
                f"{(len(data) - pos - 2) // 2} follow."
            )
        values = struct.unpack_from(f"<{count}H", data, pos + 2)
        key: PmdSetting | int = PmdSetting(kind) if kind in PmdSetting._value2member_map_ else kind
        out[key] = tuple(values)
        pos = end
    return out


def get_settings_command(stream: PmdStream) -> bytes:
    """Ask which settings a stream offers (``01 TT``)."""
    return bytes((PmdOpcode.GET_SETTINGS, stream))


def start_command(stream: PmdStream, settings: Mapping[PmdSetting, int] | None = None) -> bytes:
    """Start a stream with the given settings (the defaults above for ECG and ACC).

    ``start_command(PmdStream.ECG)`` is ``02 00 00 01 82 00 01 01 0E 00`` and
    ``start_command(PmdStream.ACC)`` is ``02 02 00 01 C8 00 01 01 10 00 02 01 02 00``.
    """
    if settings is None:
        settings = ECG_SETTINGS if stream is PmdStream.ECG else ACC_SETTINGS
    return bytes((PmdOpcode.START, stream)) + encode_settings(settings)


def stop_command(stream: PmdStream) -> bytes:
    """Stop a stream (``03 TT``)."""
    return bytes((PmdOpcode.STOP, stream))


@dataclass(frozen=True, slots=True)
class PmdResponse:
    """The strap's answer to a control-point command.

    Parameters
    ----------
    opcode : int
        The command answered (:class:`PmdOpcode`).
    stream : int
        Its stream type (:class:`PmdStream`).
    status : int
        :class:`PmdStatus` code.
    more : bool
        Whether more parameter frames follow.
    parameters : bytes
        The rest (a settings block for GET_SETTINGS).
    """

    opcode: int
    stream: int
    status: int
    more: bool = False
    parameters: bytes = b""

    @property
    def ok(self) -> bool:
        """Success, or "already in state" (a stream already running or already stopped)."""
        return self.status in (PmdStatus.SUCCESS, PmdStatus.ALREADY_IN_STATE)


def decode_response(payload: bytes | bytearray) -> PmdResponse:
    """Decode a control-point indication.

    Raises
    ------
    MalformedPacketError
        When it is not a response (no 0xF0 marker, or shorter than 4 bytes).
    """
    data = bytes(payload)
    if len(data) < 4 or data[0] != _RESPONSE_MARKER:
        raise MalformedPacketError(
            f"A PMD control-point answer ({data.hex(' ') or 'empty'}) is not a response "
            "(it must start with F0 and hold at least 4 bytes)."
        )
    return PmdResponse(
        opcode=data[1],
        stream=data[2],
        status=data[3],
        more=len(data) > 4 and data[4] != 0,
        parameters=data[5:],
    )


def encode_response(
    opcode: int, stream: int, status: int = PmdStatus.SUCCESS, parameters: bytes = b""
) -> bytes:
    """Build a response (what a strap sends; used by the emulated strap in tests)."""
    return bytes((_RESPONSE_MARKER, opcode, stream, status, 0)) + parameters


# -- data frames ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One PMD data notification as received: the ground truth a session stores.

    Parameters
    ----------
    host_ns : int
        Host monotonic time of arrival, ``time.monotonic_ns()`` (ns); for replayed sources
        the stored one.
    source_id : str
        Id of the strap that sent it.
    payload : bytes
        The raw bytes of the data characteristic's notification.
    """

    host_ns: int
    source_id: str
    payload: bytes

    @property
    def stream(self) -> int:
        """The stream type byte (:class:`PmdStream`), or -1 for an empty payload."""
        return self.payload[0] if self.payload else -1


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """The samples of one PMD data frame.

    Parameters
    ----------
    stream : PmdStream
        ECG or ACC.
    strap_ns : int
        The strap's time of the LAST sample (ns since 2000-01-01 on the strap's clock).
    frame_type : int
        The frame type byte.
    samples : ndarray
        ECG: shape (n,), µV, int32. ACC: shape (n, 3), x/y/z in mg, int32.
    """

    stream: PmdStream
    strap_ns: int
    frame_type: int
    samples: npt.NDArray[np.int32] = field(repr=False)

    @property
    def n_samples(self) -> int:
        """Number of samples (rows)."""
        return int(self.samples.shape[0])

    def sample_times_ns(self, fs_hz: float) -> npt.NDArray[np.int64]:
        """Strap time of every sample (ns), the last one at ``strap_ns``, spaced by 1/fs."""
        n = self.n_samples
        step_ns = 1e9 / fs_hz
        offsets = np.round((np.arange(n) - (n - 1)) * step_ns).astype(np.int64)
        return np.int64(self.strap_ns) + offsets


def _signed_le(data: bytes, width: int, columns: int) -> npt.NDArray[np.int32]:
    """Signed little-endian integers of ``width`` bytes, in rows of ``columns``."""
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, width).astype(np.int32)
    values = np.zeros(raw.shape[0], dtype=np.int32)
    for byte in range(width):  # at most 3 passes: vectorised over samples
        values |= raw[:, byte] << (8 * byte)
    sign = np.int32(1 << (8 * width - 1))
    values = (values ^ sign) - sign  # sign-extend from width*8 bits
    return values.reshape(-1, columns) if columns > 1 else values


def decode_frame(payload: bytes | bytearray) -> DecodedFrame:
    """Decode one PMD data frame (ECG frame type 0; ACC frame types 0, 1, 2).

    Raises
    ------
    MalformedPacketError
        For a frame shorter than its header, an unknown or compressed frame type, a stream
        other than ECG and ACC, or a sample area that is not a whole number of samples.
    """
    data = bytes(payload)
    if len(data) < _HEADER_BYTES:
        raise MalformedPacketError(
            f"A PMD data frame of {len(data)} bytes is shorter than its 10-byte header."
        )
    stream_byte, strap_ns, frame_type = data[0], int.from_bytes(data[1:9], "little"), data[9]
    body = data[_HEADER_BYTES:]
    if frame_type & 0x80:
        raise MalformedPacketError(
            f"A PMD frame is delta-compressed (frame type {frame_type:#04x}), which trm-bio "
            "does not decode; its bytes are kept."
        )
    if stream_byte == PmdStream.ECG:
        if frame_type != 0:
            raise MalformedPacketError(f"An ECG frame has unknown frame type {frame_type}.")
        width, columns = 3, 1
    elif stream_byte == PmdStream.ACC:
        if frame_type > 2:
            raise MalformedPacketError(f"An ACC frame has unknown frame type {frame_type}.")
        width, columns = frame_type + 1, 3
    else:
        raise MalformedPacketError(
            f"A PMD frame of stream type {stream_byte} is neither ECG (0) nor ACC (2)."
        )
    if len(body) % (width * columns):
        raise MalformedPacketError(
            f"A PMD {PmdStream(stream_byte).name} frame's {len(body)} sample bytes are not a "
            f"whole number of {width * columns}-byte samples."
        )
    return DecodedFrame(
        stream=PmdStream(stream_byte),
        strap_ns=strap_ns,
        frame_type=frame_type,
        samples=_signed_le(body, width, columns),
    )


def encode_frame(
    stream: PmdStream, strap_ns: int, samples: npt.ArrayLike, frame_type: int | None = None
) -> bytes:
    """Build a data frame (what a strap sends; used by the emulated strap and exports).

    ``samples`` are µV (ECG, shape (n,)) or mg (ACC, shape (n, 3)); the frame type defaults
    to 0 for ECG (3 bytes a sample) and 1 for ACC (2 bytes an axis).
    """
    if frame_type is None:
        frame_type = 0 if stream is PmdStream.ECG else 1
    width = 3 if stream is PmdStream.ECG else frame_type + 1
    values = np.asarray(samples, dtype=np.int64).reshape(-1)
    limit = 1 << (8 * width - 1)
    if values.size and (values.min() < -limit or values.max() >= limit):
        raise ValueError(f"A sample does not fit in {width} signed bytes.")
    raw = (values & ((1 << (8 * width)) - 1)).astype("<u4").view(np.uint8).reshape(-1, 4)
    header = bytes((int(stream),)) + int(strap_ns).to_bytes(8, "little") + bytes((frame_type,))
    return header + raw[:, :width].tobytes()


__all__ = [
    "ACC_SETTINGS",
    "ECG_SETTINGS",
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_EPOCH_UNIX_S",
    "PMD_MIN_MTU",
    "PMD_SERVICE_UUID",
    "DecodedFrame",
    "PmdFrame",
    "PmdOpcode",
    "PmdResponse",
    "PmdSetting",
    "PmdStatus",
    "PmdStream",
    "decode_frame",
    "decode_response",
    "decode_settings",
    "encode_frame",
    "encode_response",
    "encode_settings",
    "get_settings_command",
    "offered_streams",
    "start_command",
    "status_sentence",
    "stop_command",
]
