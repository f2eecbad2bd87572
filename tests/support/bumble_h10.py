"""A Polar H10 emulated on bumble: the heart-rate strap plus Polar's PMD service.

:class:`EmulatedH10` is an :class:`~tests.support.bumble_strap.EmulatedStrap` (Heart Rate
Service, battery, every link control) with the Polar Measurement Data service added:

* the control point (``...5C81``: read, write, indicate) answers a read with the features
  (``0F`` and the stream mask: ECG and ACC), and every command by indication with
  ``F0, opcode, stream, status, more[, parameters]``: get settings, start and stop per
  stream, "already in state" for a stream started twice or stopped while stopped, "not
  offered" for PPG and PPI, a refusal status chosen per stream (:meth:`refuse`), and
  "invalid MTU" when the link's ATT MTU is below 232;
* the data characteristic (``...5C82``: notify) carries the frames of the running streams,
  paced by the strap's own clock: ECG from a REAL recording (:func:`polar_ecg`, the Polar
  H10 file of the shared data: µV, 73 samples a frame, the strap's time of the last sample
  in ns since 2000-01-01), and a synthetic chest accelerometer (:func:`chest_acc_mg`:
  gravity plus breathing, mg, 200 Hz, 36 samples a frame);
* the strap's clock starts with the first sample of each signal when the strap is made and
  runs on (``speed`` times real time) whether a stream runs or not: a stream (re)started
  later, or an ECG that starts late (``ecg_delay_s``: the H10 sends its first ECG frames
  20-30 s after the start was acknowledged), begins with the frame of that moment; frames
  can be lost (:meth:`lose_frames`: the gap shows in the timestamps); and every stream
  stops when the link goes, as on the real strap.

Every command received is kept in :attr:`commands` and every frame sent in :attr:`sent`,
for tests to assert on. Methods are called from the test thread; the work runs on the
:class:`Air` loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from bumble import gatt
from bumble.core import UUID
from bumble.device import Connection, Device

from devices.pmd import (
    ECG_SETTINGS,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_EPOCH_UNIX_S,
    PMD_MIN_MTU,
    PMD_SERVICE_UUID,
    PmdOpcode,
    PmdSetting,
    PmdStatus,
    PmdStream,
    encode_frame,
    encode_response,
    encode_settings,
)
from tests.recordings import shared_data_dir
from tests.support.bumble_air import Air
from tests.support.bumble_strap import EmulatedStrap

logger = logging.getLogger(__name__)

ECG_RATE_HZ = 130
ECG_SAMPLES_PER_FRAME = 73  # 10 + 73 x 3 bytes = 229 = MTU 232 - 3
ACC_RATE_HZ = 200
ACC_SAMPLES_PER_FRAME = 36  # 10 + 36 x 6 bytes = 226 bytes
H10_MAX_MTU = 232
POLAR_FILE = "polar_h10_ecg_rr.csv"

#: What the H10 answers to "get settings", per stream (the values it offers).
H10_SETTINGS = {
    PmdStream.ECG: encode_settings(ECG_SETTINGS),
    PmdStream.ACC: bytes((PmdSetting.SAMPLE_RATE, 4))
    + b"".join(rate.to_bytes(2, "little") for rate in (25, 50, 100, 200))
    + encode_settings({PmdSetting.RESOLUTION: 16})
    + bytes((PmdSetting.RANGE, 3))
    + b"".join(g.to_bytes(2, "little") for g in (2, 4, 8)),
}


@dataclass(frozen=True)
class StrapSignal:
    """Samples a stream sends, and the strap's time of each (ns since 2000-01-01)."""

    samples: npt.NDArray[np.int64]  # (n,) µV for ECG, (n, 3) mg for ACC
    strap_ns: npt.NDArray[np.int64]  # (n,)
    period_ns: int  # nominal sample period (ns), for the clock across a wrap-around


@functools.cache
def polar_ecg() -> StrapSignal:
    """The real Polar H10 ECG of the shared data as the strap sent it (µV, strap clock).

    Raises
    ------
    FileNotFoundError
        When the shared recordings are not here (tests skip with that reason).
    """
    folder = shared_data_dir()
    if folder is None or not (folder / POLAR_FILE).exists():
        raise FileNotFoundError(f"the real recording {POLAR_FILE} is not here: set TRM_BIO_DATA")
    table = np.loadtxt(folder / POLAR_FILE, delimiter=",", skiprows=1, usecols=(0, 1))
    # Epoch ns as float64 (the file's spelling) are exact to 256 ns: ample at 130 Hz.
    unix_ns = np.round(table[:, 0]).astype(np.int64)
    strap_ns = unix_ns - np.int64(PMD_EPOCH_UNIX_S * 1_000_000_000)
    ecg_uv = np.round(table[:, 1] * 1000.0).astype(np.int64)  # mV -> µV
    return StrapSignal(ecg_uv, strap_ns, round(1e9 / ECG_RATE_HZ))


def chest_acc_mg(
    duration_s: float = 120.0,
    *,
    breaths_per_min: float = 12.0,
    start_ns: int = 0,
    seed: int = 7,
) -> StrapSignal:
    """A synthetic chest accelerometer at 200 Hz (mg): gravity, breathing and a little noise.

    The strap hangs nearly upright (gravity mostly on x); breathing moves the chest wall
    along its normal by ~15 mg in a wave with a second harmonic (not a pure sine, as real
    breathing is not).
    """
    n = round(duration_s * ACC_RATE_HZ)
    t_s = np.arange(n) / ACC_RATE_HZ
    phase = 2 * np.pi * breaths_per_min / 60.0 * t_s
    breath = np.sin(phase) + 0.25 * np.sin(2 * phase)
    gravity = 1000.0 * np.array([0.96, 0.05, -0.27])
    chest_normal = np.array([0.20, 0.05, 0.98])
    rng = np.random.default_rng(seed)
    acc = gravity + 15.0 * breath[:, None] * chest_normal + rng.normal(0.0, 2.0, (n, 3))
    period_ns = 1_000_000_000 // ACC_RATE_HZ
    strap_ns = np.int64(start_ns) + np.arange(n, dtype=np.int64) * period_ns
    return StrapSignal(np.round(acc).astype(np.int64), strap_ns, period_ns)


class _Stream:
    """One PMD stream of the emulated strap: its signal, its place in it, its sender."""

    def __init__(self, kind: PmdStream, signal: StrapSignal, per_frame: int) -> None:
        self.kind = kind
        self.signal = signal
        self.per_frame = per_frame
        self.frames_in_signal = len(signal.samples) // per_frame
        self.next_frame = 0  # index of the next frame, counting on across wrap-arounds
        self.lose = 0  # frames to skip (the strap's clock runs on)
        self.task: asyncio.Task[None] | None = None

    def frame(self, index: int) -> bytes:
        """Frame ``index`` (wrapping around the signal, its clock running on)."""
        cycle, within = divmod(index, self.frames_in_signal)
        stop = (within + 1) * self.per_frame
        samples = self.signal.samples[within * self.per_frame : stop]
        span_ns = int(self.signal.strap_ns[self.frames_in_signal * self.per_frame - 1]) - int(
            self.signal.strap_ns[0]
        )
        strap_ns = int(self.signal.strap_ns[stop - 1]) + cycle * (span_ns + self.signal.period_ns)
        return encode_frame(self.kind, strap_ns, samples)

    @property
    def frame_period_s(self) -> float:
        return self.per_frame * self.signal.period_ns / 1e9


class EmulatedH10(EmulatedStrap):
    """An emulated Polar H10: heart rate, battery and PMD (ECG from a real recording, ACC).

    Parameters
    ----------
    air : Air
        The shared radio space.
    name, address, battery_percent, body_location
        As :class:`EmulatedStrap`.
    pmd : bool
        False leaves out the PMD service (a strap with heart rate only).
    streams : iterable of PmdStream
        The streams the features read offers (ECG and ACC for an H10).
    max_mtu : int
        The largest ATT MTU the strap accepts (232 on an H10; less to emulate a link whose
        packets are too small).
    ecg_delay_s : float
        Real seconds between the acknowledged ECG start and its first frame.
    speed : float
        Frames are sent this many times faster than real time (the strap's clock in the
        frames still advances at the nominal rate).
    ecg : StrapSignal or None
        The ECG to send; None: :func:`polar_ecg` (the real recording).
    acc : StrapSignal or None
        The accelerometer to send; None: :func:`chest_acc_mg` on the ECG's strap clock.
    """

    def __init__(
        self,
        air: Air,
        *,
        name: str = "Polar H10 0A1B2C3D",
        address: str = "C0:10:A1:B2:C3:D4",
        battery_percent: int | None = 90,
        body_location: int | None = 1,
        pmd: bool = True,
        streams: tuple[PmdStream, ...] = (PmdStream.ECG, PmdStream.ACC),
        max_mtu: int = H10_MAX_MTU,
        ecg_delay_s: float = 0.0,
        speed: float = 1.0,
        ecg: StrapSignal | None = None,
        acc: StrapSignal | None = None,
    ) -> None:
        self.pmd = pmd
        self.offered = frozenset(streams)
        self.max_mtu = max_mtu
        self.ecg_delay_s = ecg_delay_s
        self.speed = speed
        ecg = ecg if ecg is not None else polar_ecg()
        acc = acc if acc is not None else chest_acc_mg(start_ns=int(ecg.strap_ns[0]))
        self._streams = {
            PmdStream.ECG: _Stream(PmdStream.ECG, ecg, ECG_SAMPLES_PER_FRAME),
            PmdStream.ACC: _Stream(PmdStream.ACC, acc, ACC_SAMPLES_PER_FRAME),
        }
        # What happened on the strap, in order: "hr notify on", "features read", "pmd
        # indicate on", "pmd notify on", "command 0200...", "link down" (see :meth:`log`).
        self._log: list[str] = []
        self.commands: list[bytes] = []  # every control-point write, in order
        self.responses: list[bytes] = []  # every answer indicated, in order
        self.sent: dict[PmdStream, list[bytes]] = {PmdStream.ECG: [], PmdStream.ACC: []}
        self.lost: dict[PmdStream, list[bytes]] = {PmdStream.ECG: [], PmdStream.ACC: []}
        self.running: set[PmdStream] = set()  # started and not stopped on this link
        self.pmd_subscribed = threading.Event()  # control-point indications and data notify on
        self.frame_sent = threading.Event()  # set after every frame sent
        self._refusals: dict[PmdStream, int] = {}
        self._preset: set[PmdStream] = set()  # running when the next link comes (see below)
        self._indicating = False
        self._notifying = False
        self._mute_control_point = False
        self._stalled: set[PmdStream] = set()
        self._clock_origin_s = 0.0  # air-loop time of the strap clock's first sample
        super().__init__(
            air,
            name=name,
            address=address,
            battery_percent=battery_percent,
            body_location=body_location,
        )

    # -- GATT (air loop) ---------------------------------------------------------------
    def _more_services(self, device: Device) -> list[gatt.Service]:
        self._clock_origin_s = asyncio.get_running_loop().time()
        device.gatt_server.max_mtu = self.max_mtu
        if not self.pmd:
            return []
        self.control_point = gatt.Characteristic(
            UUID(PMD_CONTROL_POINT_UUID.upper()),
            gatt.Characteristic.Properties.READ
            | gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=self._features, write=self._on_command),
        )
        self.data = gatt.Characteristic(
            UUID(PMD_DATA_UUID.upper()),
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            b"",
        )
        return [gatt.Service(UUID(PMD_SERVICE_UUID.upper()), [self.control_point, self.data])]

    def _features(self, _connection: Connection) -> bytes:
        self._log.append("features read")
        mask = sum(1 << int(stream) for stream in self.offered)
        return bytes((0x0F,)) + mask.to_bytes(2, "little")

    def _subscription_changed(
        self, characteristic: gatt.Characteristic, notify: bool, indicate: bool
    ) -> None:
        if characteristic is self.hrm_characteristic:
            self._log.append(f"hr notify {'on' if notify else 'off'}")
        if not self.pmd:
            return
        if characteristic is self.control_point:
            self._indicating = indicate
            self._log.append(f"pmd indicate {'on' if indicate else 'off'}")
        elif characteristic is self.data:
            self._notifying = notify
            self._log.append(f"pmd notify {'on' if notify else 'off'}")
        if self._indicating and self._notifying:
            self.pmd_subscribed.set()
        else:
            self.pmd_subscribed.clear()

    def _on_command(self, connection: Connection, value: bytes) -> None:
        command = bytes(value)
        self.commands.append(command)
        self._log.append(f"command {command.hex()}")
        if self._mute_control_point:
            return  # heard, neither done nor answered
        response = self._answer(connection, command)
        self.responses.append(response)
        # After the write's own response has gone out: the answer comes by indication.
        self._spawn(self._indicate(connection, response))

    async def _indicate(self, connection: Connection, response: bytes) -> None:
        if self._connection is not connection:
            return
        await self.device.indicate_subscriber(connection, self.control_point, response)

    def _answer(self, connection: Connection, command: bytes) -> bytes:
        if len(command) < 2:
            return encode_response(command[0] if command else 0, 0, PmdStatus.INVALID_LENGTH)
        opcode, kind = command[0], command[1]
        if opcode not in PmdOpcode._value2member_map_:
            return encode_response(opcode, kind, PmdStatus.INVALID_OP_CODE)
        if kind not in PmdStream._value2member_map_ or PmdStream(kind) not in self.offered:
            return encode_response(opcode, kind, PmdStatus.INVALID_MEASUREMENT_TYPE)
        stream = PmdStream(kind)
        if opcode == PmdOpcode.GET_SETTINGS:
            return encode_response(opcode, kind, PmdStatus.SUCCESS, H10_SETTINGS[stream])
        if opcode == PmdOpcode.STOP:
            if stream not in self.running:
                return encode_response(opcode, kind, PmdStatus.ALREADY_IN_STATE)
            self._stop_stream(stream)
            return encode_response(opcode, kind, PmdStatus.SUCCESS)
        # START
        if stream in self._refusals:
            return encode_response(opcode, kind, self._refusals[stream])
        if connection.att_mtu < PMD_MIN_MTU:
            return encode_response(opcode, kind, PmdStatus.INVALID_MTU)
        if stream in self.running:
            return encode_response(opcode, kind, PmdStatus.ALREADY_IN_STATE)
        status = PmdStatus.ALREADY_IN_STATE if stream in self._preset else PmdStatus.SUCCESS
        self._preset.discard(stream)
        self.running.add(stream)
        delay_s = self.ecg_delay_s if stream is PmdStream.ECG else 0.0
        state = self._streams[stream]
        state.task = asyncio.ensure_future(self._send_frames(connection, state, delay_s))
        return encode_response(opcode, kind, status)

    async def _send_frames(self, connection: Connection, stream: _Stream, delay_s: float) -> None:
        loop = asyncio.get_running_loop()
        if delay_s:
            await asyncio.sleep(delay_s)
        period_s = stream.frame_period_s / self.speed
        due = loop.time()
        # The strap's clock ran on while the stream was off (or late): its first frame is
        # the one of now, so a pause shows in the frames' times as it would on the strap.
        on_clock = int((due - self._clock_origin_s) / period_s)
        stream.next_frame = max(stream.next_frame, on_clock)
        while self._connection is connection and stream.kind in self.running:
            payload = stream.frame(stream.next_frame)
            stream.next_frame += 1
            if stream.kind in self._stalled:
                pass  # a drop-out: the strap's clock runs on, nothing goes out
            elif stream.lose > 0:
                stream.lose -= 1
                self.lost[stream.kind].append(payload)
            else:
                await self.device.notify_subscriber(connection, self.data, payload)
                self.sent[stream.kind].append(payload)
                self.frame_sent.set()
            due += period_s
            await asyncio.sleep(max(0.0, due - loop.time()))

    def _stop_stream(self, stream: PmdStream) -> None:
        self.running.discard(stream)
        task = self._streams[stream].task
        self._streams[stream].task = None
        if task is not None:
            task.cancel()

    def _link_down(self) -> None:
        # The H10 stops its streams when the link goes (and then sleeps off the body).
        self._log.append("link down")
        for stream in list(self.running):
            self._stop_stream(stream)
        self._indicating = self._notifying = False
        self.pmd_subscribed.clear()

    # -- test controls (test thread) -----------------------------------------------------
    def refuse(self, stream: PmdStream, status: int = PmdStatus.DEVICE_IN_CHARGER) -> None:
        """Answer every start of ``stream`` with ``status`` (e.g. in its charger)."""

        async def set_refusal() -> None:
            self._refusals[stream] = status

        self.air.run(set_refusal())

    def mute_control_point(self) -> None:
        """Take commands but neither do nor answer them (older H10 firmware drops PMD so)."""

        async def mute() -> None:
            self._mute_control_point = True

        self.air.run(mute())

    def already_running(self, *streams: PmdStream) -> None:
        """The next start of each stream answers "already in state" (and the stream runs).

        What a strap whose stream an earlier client left running answers.
        """

        async def preset() -> None:
            self._preset.update(streams)

        self.air.run(preset())

    def lose_frames(self, stream: PmdStream, count: int) -> None:
        """Skip the next ``count`` frames of ``stream`` (the strap's clock runs on)."""

        async def lose() -> None:
            self._streams[stream].lose += count

        self.air.run(lose())

    def stall(self, stream: PmdStream) -> None:
        """Stop sending ``stream``'s frames while it still counts as running (a drop-out)."""

        async def stall() -> None:
            self._stalled.add(stream)

        self.air.run(stall())

    def unstall(self, stream: PmdStream) -> None:
        """Send ``stream``'s frames again after :meth:`stall` (from the frame of now)."""

        async def unstall() -> None:
            self._stalled.discard(stream)

        self.air.run(unstall())

    def commands_received(self) -> list[bytes]:
        """The control-point commands received so far, in order (a copy)."""

        async def copy() -> list[bytes]:
            return list(self.commands)

        return self.air.run(copy())

    def log(self) -> list[str]:
        """What happened on the strap so far, in order (a copy); see ``_log``."""

        async def copy() -> list[str]:
            return list(self._log)

        return self.air.run(copy())

    def frames_sent(self, stream: PmdStream) -> list[bytes]:
        """The frames of ``stream`` sent so far, in order (a copy)."""

        async def copy() -> list[bytes]:
            return list(self.sent[stream])

        return self.air.run(copy())

    def frames_lost(self, stream: PmdStream) -> list[bytes]:
        """The frames of ``stream`` skipped by :meth:`lose_frames`, in order (a copy)."""

        async def copy() -> list[bytes]:
            return list(self.lost[stream])

        return self.air.run(copy())

    def link_mtu(self) -> int | None:
        """The ATT MTU of the current link (None without a link)."""

        async def mtu() -> int | None:
            return None if self._connection is None else self._connection.att_mtu

        return self.air.run(mtu())
