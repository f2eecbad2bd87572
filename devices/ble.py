"""Bluetooth LE heart-rate straps through bleak: scan, connect, stream, reconnect.

A strap that also offers Polar's Measurement Data service (PMD: a Polar H10) streams its
raw ECG and accelerometer through the same source, started after the heart-rate stream
runs; the heart-rate stream never depends on them (see :class:`BleStrap`).

bleak runs on the device layer's own asyncio loop thread (:class:`devices.aio_thread.
LoopThread`), never on the caller's thread. The caller's side is plain blocking calls
(:func:`scan`) or a :class:`~devices.source.Source` queue (:class:`BleStrap`).

bleak backends are injectable: production passes none and bleak picks the OS backend; the
tests pass a backend built on bumble's host stack (``tests/support``).

Every failure that crosses this boundary is a :class:`devices.errors.DeviceError` whose
message is one sentence: ``(BleakError, OSError)`` are caught here and mapped, and so is any
other exception a backend raises (bleak's BlueZ backend has bare asserts that fire when the
link vanishes under a call; they carry no text, so the sentence names their type).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import logging
import re
import time
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)
from bleak.uuids import normalize_uuid_16

from devices.aio_thread import LoopThread
from devices.errors import (
    BluetoothUnavailableError,
    DeviceError,
    DeviceNotFoundError,
    MalformedPacketError,
    NotAHeartRateStrapError,
)
from devices.hrm import packet_from_payload
from devices.packet import LinkState, Packet, SensorContact, offers_text
from devices.pmd import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_MIN_MTU,
    PMD_SERVICE_UUID,
    PmdFrame,
    PmdResponse,
    PmdStream,
    decode_response,
    offered_streams,
    start_command,
    status_sentence,
    stop_command,
)
from devices.source import Source

logger = logging.getLogger(__name__)

T = TypeVar("T")

HEART_RATE_SERVICE_UUID = normalize_uuid_16(0x180D)
HEART_RATE_MEASUREMENT_UUID = normalize_uuid_16(0x2A37)
BODY_SENSOR_LOCATION_UUID = normalize_uuid_16(0x2A38)
BATTERY_LEVEL_UUID = normalize_uuid_16(0x2A19)

_ADDRESS_RE = re.compile(
    r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"  # Bluetooth address (Linux, Windows)
    r"|^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"  # macOS id
)


@dataclass(frozen=True, slots=True)
class FoundStrap:
    """A heart-rate strap heard by :func:`scan`.

    Parameters
    ----------
    name : str
        Advertised local name (or the OS name; empty when the strap sent none).
    address : str
        Bluetooth address (a UUID on macOS); what :class:`BleStrap` takes as target.
    rssi : int
        Received signal strength of the latest advertisement (dBm).
    """

    name: str
    address: str
    rssi: int


def is_address(target: str) -> bool:
    """True when ``target`` looks like a Bluetooth address or a macOS device UUID."""
    return bool(_ADDRESS_RE.match(target))


def to_device_error(exc: BaseException, what: str = "the strap") -> DeviceError:
    """Map a bleak or OS error to the device layer's one-sentence :class:`DeviceError`.

    Parameters
    ----------
    exc : BaseException
        The error bleak or the OS raised.
    what : str
        The device the operation was about, for the sentence.
    """
    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, FileNotFoundError):
        # bleak's BlueZ backend raises this when there is no D-Bus system bus at all.
        return BluetoothUnavailableError(
            "Bluetooth is not available on this computer (no Bluetooth service is running)."
        )
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason = str(exc).rstrip(".") or "no adapter is present or it is switched off"
        return BluetoothUnavailableError(f"Bluetooth is not available: {reason}.")
    if isinstance(exc, PermissionError):
        return BluetoothUnavailableError(
            "This program is not allowed to use Bluetooth; grant it Bluetooth permission."
        )
    if isinstance(exc, BleakDBusError):
        name = exc.dbus_error
        if "AccessDenied" in name or "NotPermitted" in name or "NotAuthorized" in name:
            return BluetoothUnavailableError(
                "This program is not allowed to use Bluetooth; grant it Bluetooth permission."
            )
        if name.endswith(("ServiceUnknown", "NotReady")):
            # No bluetoothd on the bus, or the adapter is powered off.
            return BluetoothUnavailableError(
                "Bluetooth is not ready on this computer (is the adapter switched on?)."
            )
        return DeviceError(f"Bluetooth error with {what}: {exc.dbus_error_details or name}.")
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError(f"No answer from {what}; make sure it is worn and switched on.")
    if isinstance(exc, TimeoutError):
        return DeviceError(f"Timed out talking to {what}.")
    return DeviceError(f"Bluetooth error with {what}: {plain_reason(exc)}.")


# Said when an exception carries no text of its own (bleak's backends raise bare asserts
# when the link vanishes under them, dbus-fast an EOFError when the system bus closes).
_PLAIN_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (AssertionError, "the Bluetooth library lost track of the connection"),
    (EOFError, "the connection to the Bluetooth service closed"),
    (ConnectionError, "the connection to the Bluetooth service broke"),
)


def plain_reason(exc: BaseException) -> str:
    """What went wrong, as a clause without a final full stop; never empty.

    The exception's own text when it has one, else a plain description and its type.
    """
    text = str(exc).strip().rstrip(".")
    if text:
        return text
    for kind, words in _PLAIN_REASONS:
        if isinstance(exc, kind):
            return f"{words} ({type(exc).__name__})"
    return f"an unexplained {type(exc).__name__}"


def _is_transient(error: DeviceError) -> bool:
    """Whether retrying the connection may help (missing Bluetooth or a wrong device won't).

    BlueZ's ``InProgress`` and ``le-connection-abort-by-local``, timeouts, a strap that is
    out of reach for a moment, a link that drops during set-up and any unexpected error from
    the Bluetooth stack all map to plain DeviceError: retried.
    """
    return not isinstance(error, BluetoothUnavailableError | NotAHeartRateStrapError)


# --------------------------------------------------------------------------------------
# scan
# --------------------------------------------------------------------------------------
async def _scan_async(
    timeout_s: float, scanner_backend: type[BaseBleakScanner] | None
) -> list[FoundStrap]:
    options: BleakScanner.ExtraArgs = {"service_uuids": [HEART_RATE_SERVICE_UUID]}
    if scanner_backend is not None:  # None (bleak's platform scanner) is not in bleak's types
        options["backend"] = scanner_backend
    found = await BleakScanner.discover(timeout_s, return_adv=True, **options)
    straps = [
        FoundStrap(name=adv.local_name or device.name or "", address=device.address, rssi=adv.rssi)
        for device, adv in found.values()
    ]
    return sorted(straps, key=lambda strap: strap.rssi, reverse=True)


def scan(
    timeout_s: float = 5.0, *, scanner_backend: type[BaseBleakScanner] | None = None
) -> list[FoundStrap]:
    """Straps advertising the Heart Rate Service (0x180D) within ``timeout_s`` seconds.

    Blocks the caller (bleak runs on a loop thread of its own); strongest signal first.

    Parameters
    ----------
    timeout_s : float
        How long to listen (s).
    scanner_backend : type or None
        bleak scanner backend class; None lets bleak pick the OS backend.

    Raises
    ------
    BluetoothUnavailableError
        No Bluetooth service or adapter, or no permission to use it.
    DeviceError
        Any other Bluetooth failure, as one sentence.
    """
    loop_thread = LoopThread(name="devices-ble-scan")
    try:
        return loop_thread.run(_scan_async(timeout_s, scanner_backend), timeout_s + 30.0)
    except (BleakError, OSError) as exc:
        raise to_device_error(exc, "nearby") from exc
    except Exception as exc:  # a backend's bare assert or EOFError: still one sentence
        logger.info("scan failed", exc_info=True)
        raise to_device_error(exc, "nearby") from exc
    finally:
        loop_thread.stop()


# --------------------------------------------------------------------------------------
# BleStrap
# --------------------------------------------------------------------------------------
#: Bound on a silent but connected strap (s). Straps notify about once a second and a scan or
#: a second connection can pause a stream for 4-5 s; twice that pause is still a stream that
#: is only slow, so quieter than this the notifications have stopped (as they do after
#: 30-100 s on some BlueZ setups) and the link is made again.
SILENCE_TIMEOUT_S = 10.0

#: How long the PMD control point may take to answer one command (s); the H10 answers in
#: tens of milliseconds, a start included (its ECG frames may still come 20-30 s later).
PMD_RESPONSE_TIMEOUT_S = 5.0

#: A raw stream that was arriving and sends nothing this long has stopped (s): an ECG frame
#: comes every 0.56 s and an accelerometer frame every 0.18 s.
RAW_SILENCE_S = 5.0

#: Bound on stopping the raw streams before disconnecting (s): the strap is asked to stop
#: so that it can sleep, but the user's stop must not wait on an unanswering strap.
PMD_STOP_TIMEOUT_S = 2.0

#: The raw streams trm-bio starts, in order, with their key in StatusEvent.details and the
#: name in sentences (devices.packet documents the keys).
_RAW_STREAMS: tuple[tuple[PmdStream, str, str], ...] = (
    (PmdStream.ECG, "ecg", "ECG"),
    (PmdStream.ACC, "acc", "the accelerometer"),
)
_RAW_KEY = {stream: key for stream, key, _name in _RAW_STREAMS}
_RAW_NAME = {stream: name for stream, _key, name in _RAW_STREAMS}
_OFFER_NAME = {PmdStream.ECG: "ECG", PmdStream.ACC: "ACC"}
_FRAMES_NAME = {PmdStream.ECG: "ECG", PmdStream.ACC: "Accelerometer"}


# bleak keeps one BlueZ manager, so one D-Bus client, per event loop, and BlueZ lets each
# client run one discovery at a time (a second StartDiscovery is answered InProgress): straps
# that share a loop take turns to scan.
_SCAN_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


#: Longest turn one strap scans before the next waiting strap's turn (s): a strap out of
#: reach, looking for the whole of its ``scan_timeout_s``, holds another's reconnection back
#: by at most this.
SCAN_TURN_S = 1.0


def _scan_turn() -> asyncio.Lock:
    """The running loop's scan lock (one scan at a time per loop; FIFO, so every strap gets
    its turn)."""
    loop = asyncio.get_running_loop()
    lock = _SCAN_TURNS.get(loop)
    if lock is None:
        lock = _SCAN_TURNS[loop] = asyncio.Lock()
    return lock


def _sentence_start(name: str) -> str:
    return name[:1].upper() + name[1:]


class _StopRequested(Exception):
    """stop() was called while a scan or a connection attempt was under way."""


class _End(enum.Enum):
    """How one connection ended."""

    STOPPED = "stopped"  # stop() was called
    DROPPED = "dropped"  # the link went
    SILENT = "silent"  # the link stayed but nothing arrived for silence_timeout_s


class BleStrap(Source):
    """A live heart-rate strap over Bluetooth LE as a :class:`~devices.source.Source`.

    Emits a :class:`~devices.packet.Packet` per Heart Rate Measurement notification and a
    :class:`~devices.packet.StatusEvent` per link change: SCANNING, CONNECTING, CONNECTED,
    STREAMING, CONTACT_LOST (and back to STREAMING), RECONNECTING, DISCONNECTED or
    FAILED (message: one sentence; the error is also kept in :attr:`error`).

    While the strap is wanted (until :meth:`stop`), whatever goes wrong is retried with
    exponential backoff into the same stream, each retry a RECONNECTING event whose message
    names the cause: a dropped link, a link that drops during set-up, a refused or timed-out
    connection, BlueZ's ``InProgress`` or ``le-connection-abort-by-local``, any unexpected
    error from the Bluetooth stack, and a strap that stays connected but goes silent for
    ``silence_timeout_s``. The gap shows in the packets' ``host_ns`` and is bracketed by
    RECONNECTING and CONNECTED/STREAMING events; RECONNECTING's ``details["cause"]`` is
    ``"dropped"``, ``"silent"`` or ``"failed attempt"``. A strap that bleak reports as gone
    is looked for again (BlueZ forgets a device it has not heard for a while). It ends in
    FAILED only when retrying cannot help, and says why: no usable Bluetooth, a device that
    is not a heart-rate strap, or a strap never heard within ``scan_timeout_s`` before it
    ever streamed.

    Each connection says its set-up step by step in ``StatusEvent.details`` (keys documented
    in :mod:`devices.packet`): CONNECTED ``step="connected"``, CONNECTED ``"services read"``,
    STREAMING ``"waiting for beats"``, then ``"beats arriving"`` with the first RR; what the
    strap offers is in :attr:`offers` and ``details["offers"]``.

    Raw streams (Polar PMD): when the strap offers the PMD service and ``raw_streams`` is on,
    once the heart-rate stream runs the source reads the control point's features, turns on
    its indications and the data notifications, checks the ATT MTU (at least 232), and
    starts ECG and then the accelerometer; "already in state" counts as started. Every data
    notification is put on the queue as a :class:`~devices.pmd.PmdFrame` (raw bytes and host
    time). Each stream's state is in ``details["ecg"]`` / ``["acc"]`` with a sentence: started,
    first frames arriving, refused and why ("The strap refused ECG: it is in its charger."),
    or failed and why. Silence on a raw stream is not a failure (an H10's ECG can start 20-30
    s late); the silence watchdog watches the heart-rate stream only. A stream whose frames
    stop for ``raw_silence_s`` after arriving is said to have stopped (``"stalled"``), and
    said again when they come back. A refusal, a strap
    without PMD or any PMD failure leaves the heart-rate stream as it is. :meth:`stop` stops
    the raw streams (``03 00``, ``03 02``) before disconnecting, so the strap can sleep; a
    new connection starts them again.

    Parameters
    ----------
    target : str
        Bluetooth address (or macOS id) or advertised name of the strap.
    scanner_backend, client_backend : type or None
        bleak backend classes; None lets bleak pick the OS backend.
    reconnect : bool
        Reconnect after the link drops or goes silent (False: end with DISCONNECTED).
    min_backoff_s, max_backoff_s : float
        First and longest wait between failed connection attempts (s); it doubles each time.
    scan_timeout_s : float
        How long to look for the strap before DeviceNotFoundError (s).
    connect_timeout_s : float
        Timeout of one connection attempt, and of the set-up after it (s).
    silence_timeout_s : float
        How long a connected strap may send nothing before the link is made again (s).
    raw_streams : bool
        Start a Polar strap's ECG and accelerometer (False: heart rate only).
    pmd_timeout_s : float
        How long the PMD control point may take to answer one command (s).
    raw_silence_s : float
        How long a raw stream that was arriving may send nothing before that is said (s).
    loop_thread : LoopThread or None
        A loop shared with other straps (one Bluetooth adapter, one event loop: see
        :class:`devices.strap_group.StrapGroup`): the strap runs its tasks on it and never
        stops it, its owner does. None: the strap runs on a loop thread of its own, made by
        :meth:`start` and ended by :meth:`stop`.
    """

    def __init__(
        self,
        target: str,
        *,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        reconnect: bool = True,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 16.0,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        silence_timeout_s: float = SILENCE_TIMEOUT_S,
        raw_streams: bool = True,
        pmd_timeout_s: float = PMD_RESPONSE_TIMEOUT_S,
        raw_silence_s: float = RAW_SILENCE_S,
        loop_thread: LoopThread | None = None,
    ) -> None:
        super().__init__(source_id=target)
        self.target = target
        self.reconnect = reconnect
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.silence_timeout_s = silence_timeout_s
        self.raw_streams = raw_streams
        self.pmd_timeout_s = pmd_timeout_s
        self.raw_silence_s = raw_silence_s
        self.error: DeviceError | None = None
        self.malformed_count = 0  # notifications that could not be decoded (kept, no beats)
        self.connection_count = 0  # successful connections, the first one included
        self._scanner_backend = scanner_backend
        self._client_backend = client_backend
        self._shared_loop = loop_thread  # not ours to stop
        self._loop_thread: LoopThread | None = None  # set by start()
        self._main: concurrent.futures.Future[None] | None = None  # the main task
        self._stop_requested: asyncio.Event | None = None
        self._stopped = False
        self._heard_ns = 0  # monotonic time of the latest notification (or of subscribing)
        self._heard_count = 0  # notifications on the current connection
        # The current connection's set-up, as StatusEvent.details carry it.
        self._details: dict[str, str] = {}
        self._beats_arriving = False  # a packet with RR came on the current connection
        self._mtu: int | None = None  # the link's ATT MTU when known
        self._pmd_responses: asyncio.Queue[PmdResponse] | None = None
        self._pmd_attempted: list[PmdStream] = []  # streams a start was sent for (to stop)
        # Host time of the latest frame of each stream type on this link.
        self._pmd_last_ns: dict[int, int] = {}

    # -- lifecycle (caller's thread) ------------------------------------------------
    def start(self) -> None:
        """Start finding and connecting to the strap; returns at once."""
        if self._loop_thread is not None:
            return
        # asyncio.Event binds to a loop on first use, so it can be made here.
        self._stop_requested = asyncio.Event()
        self._loop_thread = self._shared_loop or LoopThread(name=f"devices-ble-{self.target}")
        self._main = self._loop_thread.submit(self._run())

    def stop(self, timeout_s: float = 5.0) -> None:
        """Unsubscribe, disconnect and end this strap's task; any thread, idempotent.

        A loop of the strap's own is stopped and its thread joined too; a shared loop is
        left running (only this strap's task and link end).
        """
        loop_thread = self._loop_thread
        if loop_thread is None or self._stopped:
            return
        self._stopped = True
        loop = loop_thread.loop
        if loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._request_stop)
        except RuntimeError:  # loop closed meanwhile
            return
        if loop_thread.in_loop_thread():
            return  # called from a callback: the main task winds down on its own
        if self._main is not None:
            try:
                self._main.result(timeout_s)
            except concurrent.futures.TimeoutError:
                # Cancelled, so that a shared loop does not keep a task nobody waits for.
                logger.warning("the strap %s did not stop within %.1f s", self.target, timeout_s)
                self._main.cancel()
            except Exception:  # the task reports its own failures as status events
                logger.debug("BleStrap main task ended with an error", exc_info=True)
        if self._shared_loop is None:
            loop_thread.stop(timeout_s)

    def _request_stop(self) -> None:
        if self._stop_requested is not None:
            self._stop_requested.set()
        elif self._main is not None:
            self._main.cancel()

    # -- main task (loop thread) ------------------------------------------------------
    async def _run(self) -> None:
        try:
            await self._keep_streaming()
        except _StopRequested:
            self._set_state(LinkState.DISCONNECTED, "Disconnected.")
        except DeviceError as error:
            self._fail(error)
        except asyncio.CancelledError:
            self._set_state(LinkState.DISCONNECTED, "Disconnected.")
            raise
        except Exception as exc:  # a bug must still end the stream with a sentence
            logger.exception("unexpected error in the Bluetooth strap task")
            self._fail(
                DeviceError(f"Unexpected error with the strap {self.target}: {plain_reason(exc)}.")
            )

    async def _until_stopped(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` unless stop() comes first (then cancel it, raise _StopRequested)."""
        assert self._stop_requested is not None
        work = asyncio.ensure_future(coro)
        stop_wait = asyncio.ensure_future(self._stop_requested.wait())
        try:
            await asyncio.wait({work, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()  # never leave the work running on its own
            raise
        finally:
            stop_wait.cancel()
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        raise _StopRequested

    def _fail(self, error: DeviceError) -> None:
        self.error = error
        logger.info("strap %s failed: %s", self.target, error)
        self._set_state(LinkState.FAILED, str(error))

    async def _find(self) -> BLEDevice:
        self._set_state(LinkState.SCANNING, f"Looking for {self.target}.")
        wanted = self.target.lower()

        def matches(device: BLEDevice, adv: AdvertisementData) -> bool:
            return (
                device.address.lower() == wanted
                or adv.local_name == self.target
                or device.name == self.target
            )

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.scan_timeout_s
        device = None
        # On a shared loop the straps scan one at a time in short turns (see _scan_turn);
        # a strap with a loop of its own scans in one go.
        turn_s = SCAN_TURN_S if self._shared_loop is not None else self.scan_timeout_s
        while device is None and (left := deadline - loop.time()) > 0:
            async with _scan_turn():
                device = await BleakScanner.find_device_by_filter(
                    matches,
                    timeout=min(left, turn_s),
                    backend=self._scanner_backend,  # type: ignore[arg-type]
                )
        if device is None:
            kind = "address" if is_address(self.target) else "name"
            raise DeviceNotFoundError(
                f"No strap with the {kind} {self.target} answered within "
                f"{self.scan_timeout_s:g} s; make sure it is worn and switched on."
            )
        # Packets carry the address even when the user chose the strap by name.
        self.source_id = device.address
        return device

    def _backoff_s(self, failures: int) -> float:
        return min(self.max_backoff_s, self.min_backoff_s * 2.0 ** max(0, failures - 1))

    async def _keep_streaming(self) -> None:
        """Find, connect and stream until stop(), retrying whatever can be retried."""
        assert self._stop_requested is not None
        device: BLEDevice | None = None
        failures = 0  # consecutive attempts that failed (or went silent without a packet)
        streamed = False  # some connection reached STREAMING
        while not self._stop_requested.is_set():
            try:
                if device is None:
                    device = await self._until_stopped(self._find())
                    self._set_state(LinkState.CONNECTING, f"Connecting to {self._label(device)}.")
                end = await self._session(device)
            except _StopRequested:
                raise
            except Exception as exc:  # every failure is a sentence, and retried if it can help
                if not isinstance(exc, BleakError | OSError | DeviceError):
                    logger.warning("unexpected error from the Bluetooth stack", exc_info=True)
                what = self.target if device is None else self._label(device)
                error = to_device_error(exc, what)
                if not _is_transient(error):
                    raise error from exc
                if isinstance(error, DeviceNotFoundError):
                    if device is None and not streamed:
                        raise error from exc  # never heard: nothing to wait for
                    # Look for it again: a scan is how to wait for a strap out of reach, and
                    # bleak may hold a device BlueZ has forgotten (then only "not found").
                    device = None
                failures += 1
                wait_s = self._backoff_s(failures)
                logger.info(
                    "connection attempt %d failed (%s: %s); retrying in %.2f s",
                    failures,
                    type(exc).__name__,
                    error,
                    wait_s,
                )
                self._set_state(
                    LinkState.RECONNECTING,
                    f"Connection attempt {failures} failed ({str(error).rstrip('.')}); "
                    f"retrying in {wait_s:.2g} s.",
                    details={"cause": "failed attempt"},
                )
                if await self._wait_stop(wait_s):
                    break
                continue
            streamed = True
            if end is _End.STOPPED:
                break
            label = self._label(device)
            wait_s = 0.0
            if end is _End.DROPPED:
                failures = 0
                what = "The strap disconnected"
            else:
                # A strap that went quiet after streaming is reconnected at once; one that
                # never sent anything on this link waits like a failed attempt.
                failures = 0 if self._heard_count else failures + 1
                wait_s = self._backoff_s(failures) if failures else 0.0
                what = (
                    f"No beats have arrived from {label} for {self.silence_timeout_s:g} s "
                    "although it is still connected"
                )
            details = {"cause": end.value}
            if not self.reconnect:
                self._set_state(LinkState.DISCONNECTED, f"{what}.", details=details)
                return
            later = f" in {wait_s:.2g} s" if wait_s else ""
            self._set_state(
                LinkState.RECONNECTING, f"{what}; reconnecting{later}.", details=details
            )
            if wait_s and await self._wait_stop(wait_s):
                break
        self._set_state(LinkState.DISCONNECTED, "Disconnected.")

    async def _wait_stop(self, wait_s: float) -> bool:
        assert self._stop_requested is not None
        try:
            await asyncio.wait_for(self._stop_requested.wait(), wait_s)
        except TimeoutError:
            return False
        return True

    def _label(self, device: BLEDevice) -> str:
        return f"{device.name} ({device.address})" if device.name else device.address

    async def _session(self, device: BLEDevice) -> _End:
        """One connection: connect, read facts, subscribe, stream until it ends.

        Raises
        ------
        DeviceError
            The link dropped during set-up, or the device is not a heart-rate strap.
        _StopRequested
            stop() came during set-up.
        Exception
            Whatever bleak or the OS raised during set-up.
        """
        assert self._stop_requested is not None
        loop = asyncio.get_running_loop()
        dropped = asyncio.Event()
        label = self._label(device)

        def on_disconnect(_client: BleakClient) -> None:
            loop.call_soon_threadsafe(dropped.set)

        client = BleakClient(
            device,
            disconnected_callback=on_disconnect,
            timeout=self.connect_timeout_s,
            backend=self._client_backend,
        )
        linked = False  # connect() returned: from here on a lost link means a set-up drop

        def link_lost() -> bool:
            return linked and (dropped.is_set() or not client.is_connected)

        async def set_up() -> BleakGATTCharacteristic:
            nonlocal linked
            try:
                await client.connect()
            except TimeoutError as exc:
                # Nothing answered: like "not found", the strap is looked for again.
                raise DeviceNotFoundError(
                    f"No answer from {label} within {self.connect_timeout_s:g} s; make sure "
                    "it is worn and switched on."
                ) from exc
            linked = True
            hrm = self._heart_rate_measurement(client, label)
            self._new_connection()
            self._set_state(LinkState.CONNECTED, f"Connected to {label}.", details=self._details)
            # bleak's connect has its own timeout; what follows gets one too.
            async with asyncio.timeout(self.connect_timeout_s):
                await self._read_facts(client)
                if self.raw_streams and client.services.get_service(PMD_SERVICE_UUID):
                    self._mtu = await self._read_mtu(client)
                if link_lost():
                    raise DeviceError(f"The link to {label} dropped during set-up.")
                self.connection_count += 1
                self._offer("HR")
                self._details["step"] = "services read"
                read = "Services read"
                if client.services.get_service(PMD_SERVICE_UUID) is None:
                    self._details.update(ecg="not offered", acc="not offered")
                    read += " (heart rate, no ECG or accelerometer)"
                self._set_state(
                    LinkState.CONNECTED,
                    f"{read}; subscribing to the heart rate.",
                    details=self._details,
                )
                self._heard_ns = time.monotonic_ns()
                self._heard_count = 0
                await client.start_notify(hrm, self._on_notification)
            # In the same step as the subscription. A beat can still have come before it:
            # the strap may notify before the CCCD write's answer reaches bleak, and then
            # the set-up is past waiting (it must not go back to it for the whole link).
            waiting = "beats arriving" if self._beats_arriving else "waiting for beats"
            self._details["step"] = waiting
            self._set_state(LinkState.STREAMING, f"Streaming; {waiting}.", details=self._details)
            return hrm

        try:
            try:
                hrm = await self._until_stopped(set_up())
            except (_StopRequested, DeviceError):
                raise
            except Exception as exc:
                if link_lost():
                    logger.info("set-up of %s ended by the lost link: %r", label, exc)
                    raise DeviceError(f"The link to {label} dropped during set-up.") from exc
                raise
            # The raw streams start beside the heart-rate stream, never in its way.
            raw = asyncio.ensure_future(self._run_raw_streams(client))
            try:
                end = await self._watch(dropped)
            finally:
                raw.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await raw
            if end is _End.STOPPED and client.is_connected:
                await self._stop_raw_streams(client)
                try:
                    async with asyncio.timeout(self.connect_timeout_s):
                        await client.stop_notify(hrm)
                except Exception as exc:  # the link may be going anyway
                    logger.info("stop_notify failed while stopping: %s", plain_reason(exc))
            return end
        finally:
            await self._release(client)

    async def _watch(self, dropped: asyncio.Event) -> _End:
        """Wait until stop(), a dropped link, or ``silence_timeout_s`` without a notification."""
        assert self._stop_requested is not None
        stop_wait = asyncio.ensure_future(self._stop_requested.wait())
        drop_wait = asyncio.ensure_future(dropped.wait())
        try:
            while True:
                if stop_wait.done():
                    return _End.STOPPED
                if drop_wait.done():
                    return _End.DROPPED
                quiet_s = (time.monotonic_ns() - self._heard_ns) / 1e9
                if quiet_s >= self.silence_timeout_s:
                    logger.info("no notification for %.1f s on a connected link", quiet_s)
                    return _End.SILENT
                await asyncio.wait(
                    {stop_wait, drop_wait},
                    timeout=self.silence_timeout_s - quiet_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
        finally:
            stop_wait.cancel()
            drop_wait.cancel()

    async def _release(self, client: BleakClient) -> None:
        """Disconnect if the link is still up; a failure here is only logged."""
        if not client.is_connected:
            return
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await client.disconnect()
        except Exception as exc:
            logger.info("disconnect failed: %s", plain_reason(exc))

    def _heart_rate_measurement(self, client: BleakClient, label: str) -> BleakGATTCharacteristic:
        if client.services.get_service(HEART_RATE_SERVICE_UUID) is None:
            raise NotAHeartRateStrapError(
                f"{label} is not a heart-rate strap (it has no Heart Rate Service)."
            )
        hrm = client.services.get_characteristic(HEART_RATE_MEASUREMENT_UUID)
        if hrm is None:
            raise NotAHeartRateStrapError(f"{label} has no Heart Rate Measurement to stream.")
        return hrm

    async def _read_facts(self, client: BleakClient) -> None:
        for uuid, attribute in (
            (BATTERY_LEVEL_UUID, "battery_percent"),
            (BODY_SENSOR_LOCATION_UUID, "body_location"),
        ):
            if client.services.get_characteristic(uuid) is None:
                continue
            try:
                value = await client.read_gatt_char(uuid)
            except Exception as exc:  # optional facts: the stream matters more
                logger.info("could not read %s: %s", uuid, plain_reason(exc))
                if not client.is_connected:
                    return  # the caller sees the lost link
                continue
            if value:
                setattr(self, attribute, int(value[0]))

    def _on_notification(self, _characteristic: object, payload: bytearray) -> None:
        # Runs on the loop thread for every notification: stamp, decode, queue. Nothing else.
        host_ns = time.monotonic_ns()
        self._heard_ns = host_ns
        self._heard_count += 1
        try:
            packet = packet_from_payload(bytes(payload), host_ns, self.source_id)
        except MalformedPacketError as exc:
            self.malformed_count += 1
            logger.warning("a malformed heart-rate packet %s: %s", payload.hex(), exc)
            # Delivered with its reason, so the session stores the bytes; it carries no beat.
            self._emit(Packet(host_ns, self.source_id, bytes(payload), 0, error=str(exc)))
            return
        self._emit(packet)
        if packet.contact == SensorContact.NO_CONTACT and self.state == LinkState.STREAMING:
            self._set_state(
                LinkState.CONTACT_LOST,
                "The strap has lost skin contact.",
                host_ns,
                details=self._details,
            )
        elif packet.contact != SensorContact.NO_CONTACT and self.state == LinkState.CONTACT_LOST:
            self._set_state(
                LinkState.STREAMING, "Skin contact is back.", host_ns, details=self._details
            )
        if packet.rr_ms and not self._beats_arriving:
            self._beats_arriving = True
            self._offer("RR")
            self._say("Beats are arriving.", {"step": "beats arriving"}, host_ns)

    # -- set-up steps and what the strap offers (loop thread) -----------------------------
    def _new_connection(self) -> None:
        self._details = {"step": "connected"}
        if self.offers:
            self._details["offers"] = offers_text(self.offers)
        self._beats_arriving = False
        self._mtu = None
        self._pmd_responses = None
        self._pmd_attempted = []
        self._pmd_last_ns = {}

    def _offer(self, *names: str) -> None:
        self.offers = self.offers | frozenset(names)
        self._details["offers"] = offers_text(self.offers)

    def _say(
        self, message: str, details: dict[str, str] | None = None, host_ns: int | None = None
    ) -> None:
        """A status event in the current link state that updates the set-up details."""
        self._details.update(details or {})
        self._set_state(self.state, message, host_ns, details=self._details)

    # -- raw streams: Polar PMD (loop thread) ----------------------------------------------
    async def _read_mtu(self, client: BleakClient) -> int | None:
        """The link's ATT MTU, or None when it cannot be known.

        BlueZ exchanges the MTU by itself on connecting, but bleak's BlueZ backend reports 23
        until its ``_acquire_mtu`` has asked (what bleak's own ``mtu_size`` example does);
        other backends know it at once.
        """
        acquire = getattr(client._backend, "_acquire_mtu", None)
        if acquire is not None:
            try:
                await acquire()
            except Exception as exc:  # unknown, not small: the strap will say if it is
                logger.info("could not read the ATT MTU: %s", plain_reason(exc))
                return None
        return int(client.mtu_size)

    async def _run_raw_streams(self, client: BleakClient) -> None:
        """Start the raw streams; every failure is a sentence, never the link's end."""
        try:
            await self._start_raw_streams(client)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not client.is_connected:
                logger.info("raw streams not started, the link went: %s", plain_reason(exc))
                return  # the watch sees the lost link and says it
            if isinstance(exc, TimeoutError):
                reason = f"the strap did not answer within {self.pmd_timeout_s:g} s"
            else:
                reason = plain_reason(exc)
            logger.info("raw streams not started: %s", reason)
            pending = {
                key: "failed"
                for _stream, key, _name in _RAW_STREAMS
                if self._details.get(key) in (None, "starting")
            }
            self._say(f"ECG and the accelerometer could not be started: {reason}.", pending)

    async def _start_raw_streams(self, client: BleakClient) -> None:
        control = client.services.get_characteristic(PMD_CONTROL_POINT_UUID)
        data = client.services.get_characteristic(PMD_DATA_UUID)
        if client.services.get_service(PMD_SERVICE_UUID) is None:
            return  # said when the services were read
        if control is None or data is None:
            self._say(
                "This strap's raw data service lacks its control point or data, so it offers "
                "no ECG or accelerometer.",
                {"ecg": "not offered", "acc": "not offered"},
            )
            return
        offered = offered_streams(await client.read_gatt_char(control))
        wanted = [stream for stream, _key, _name in _RAW_STREAMS if stream in offered]
        self._offer(*(_OFFER_NAME[stream] for stream in wanted))
        for stream, key, _name in _RAW_STREAMS:
            if stream not in offered:
                self._details[key] = "not offered"
        if not wanted:
            self._say("This strap offers heart rate but no ECG or accelerometer.")
            return
        if not self.raw_streams:
            self._say(
                "ECG and the accelerometer are turned off.",
                {_RAW_KEY[stream]: "off" for stream in wanted},
            )
            return
        # Indications and notifications first: the answers and frames need them.
        self._pmd_responses = asyncio.Queue()
        await client.start_notify(control, self._on_pmd_response)
        await client.start_notify(data, self._on_pmd_frame)
        mtu = self._mtu
        if mtu is not None and mtu < PMD_MIN_MTU:
            self._say(
                f"ECG and the accelerometer are off: this Bluetooth link's packets are too "
                f"small (MTU {mtu}; the strap needs {PMD_MIN_MTU}).",
                {_RAW_KEY[stream]: "failed" for stream in wanted},
            )
            return
        for stream in wanted:
            key, name = _RAW_KEY[stream], _RAW_NAME[stream]
            self._details[key] = "starting"
            self._pmd_attempted.append(stream)
            response = await self._pmd_command(client, control, start_command(stream))
            if not response.ok:
                self._pmd_attempted.remove(stream)  # not running: nothing to stop
                self._say(
                    f"The strap refused {name}: {status_sentence(response.status)}.",
                    {key: "refused"},
                )
            elif stream in self._pmd_last_ns:
                self._say(f"{_sentence_start(name)} started.", {key: "arriving"})
            elif stream is PmdStream.ECG:
                self._say("ECG started; its first frames can take 20 to 30 s.", {key: "waiting"})
            else:
                self._say(f"{_sentence_start(name)} started.", {key: "waiting"})
        await self._watch_raw_streams()

    async def _watch_raw_streams(self) -> None:
        """Say when frames of a running stream stop (and come back); until cancelled.

        Older H10 firmware and Windows drop PMD streams at times while the heart rate goes
        on; that is said, and the link is left alone (the heart rate's watchdog is the one
        that reconnects).
        """
        while True:
            await asyncio.sleep(self.raw_silence_s / 4)
            now_ns = time.monotonic_ns()
            for stream, key, _name in _RAW_STREAMS:
                last_ns = self._pmd_last_ns.get(stream)
                if last_ns is None:
                    continue  # not yet: an ECG may take 20-30 s to begin
                quiet = (now_ns - last_ns) / 1e9 >= self.raw_silence_s
                if quiet and self._details.get(key) == "arriving":
                    self._say(
                        f"{_FRAMES_NAME[stream]} frames have stopped arriving for "
                        f"{self.raw_silence_s:g} s; the heart rate goes on.",
                        {key: "stalled"},
                    )
                elif not quiet and self._details.get(key) == "stalled":
                    self._say(
                        f"{_FRAMES_NAME[stream]} frames are arriving again.", {key: "arriving"}
                    )

    async def _pmd_command(
        self, client: BleakClient, control: BleakGATTCharacteristic, command: bytes
    ) -> PmdResponse:
        """Write one control-point command and await the strap's answer to it.

        Raises
        ------
        TimeoutError
            No answer within ``pmd_timeout_s``.
        """
        responses = self._pmd_responses
        assert responses is not None
        async with asyncio.timeout(self.pmd_timeout_s):
            await client.write_gatt_char(control, command, response=True)
            while True:
                response = await responses.get()
                if (response.opcode, response.stream) == (command[0], command[1]):
                    return response
                logger.info("a PMD answer to another command: %s", response)

    async def _stop_raw_streams(self, client: BleakClient) -> None:
        """Stop every stream a start was sent for, so the strap can sleep; bounded."""
        control = client.services.get_characteristic(PMD_CONTROL_POINT_UUID)
        if not self._pmd_attempted or control is None or self._pmd_responses is None:
            return
        deadline = asyncio.get_running_loop().time() + PMD_STOP_TIMEOUT_S
        for stream in self._pmd_attempted:
            # Each stream is asked on its own: one unanswered stop does not keep the other on.
            try:
                async with asyncio.timeout_at(deadline):
                    response = await self._pmd_command(client, control, stop_command(stream))
            except Exception as exc:  # the strap stops its streams when the link goes anyway
                logger.info("could not stop %s: %s", _RAW_NAME[stream], plain_reason(exc))
                continue
            if not response.ok:
                logger.info(
                    "the strap did not stop %s: %s",
                    _RAW_NAME[stream],
                    status_sentence(response.status),
                )

    def _on_pmd_response(self, _characteristic: object, payload: bytearray) -> None:
        try:
            response = decode_response(payload)
        except MalformedPacketError as exc:
            logger.warning("a malformed PMD control-point answer: %s", exc)
            return
        if self._pmd_responses is not None:
            self._pmd_responses.put_nowait(response)

    def _on_pmd_frame(self, _characteristic: object, payload: bytearray) -> None:
        # Runs on the loop thread for every frame: stamp and queue (the session decodes).
        frame = PmdFrame(time.monotonic_ns(), self.source_id, bytes(payload))
        self._put(frame)
        first = frame.stream not in self._pmd_last_ns
        self._pmd_last_ns[frame.stream] = frame.host_ns
        if first:  # once per stream and link
            if frame.stream in _RAW_KEY:
                stream = PmdStream(frame.stream)
                self._say(
                    f"{_FRAMES_NAME[stream]} frames are arriving.",
                    {_RAW_KEY[stream]: "arriving"},
                    frame.host_ns,
                )
