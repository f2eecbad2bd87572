"""A bleak backend on bumble's central: the unmodified bleak front end over a real host stack.

``BleakScanner(backend=central.scanner_backend)`` and ``BleakClient(..., backend=
central.client_backend)`` then scan, connect, discover, read, write the CCCD and receive
notifications with real HCI, L2CAP, ATT and GATT traffic underneath (bumble's emulated
controllers on an in-process LocalLink).

Threads: bumble runs on the :class:`Air` loop; bleak runs on whichever loop the code under
test uses. Every call hops to the air loop (``Air.call``) and every callback hops back with
``loop.call_soon_threadsafe`` (FIFO, so notification order and "notifications, then the
disconnect" order survive the hop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic

from tests.support.bumble_air import Air, bleak_uuid

logger = logging.getLogger(__name__)

#: The ATT MTU BlueZ asks for right after connecting (its default; the peer may offer less).
BLUEZ_ATT_MTU = 517

#: What BlueZ answers a second StartDiscovery from the same D-Bus client, or a Connect while
#: another connection is being made (btd_error_busy).
BLUEZ_IN_PROGRESS = "org.bluez.Error.InProgress"


def in_progress_error() -> BleakDBusError:
    """The error bleak raises when BlueZ answers InProgress."""
    return BleakDBusError(BLUEZ_IN_PROGRESS, ["Operation already in progress"])

_PROPERTY_NAMES = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


class BumbleCentral:
    """The host's side of the emulated radio: one bumble Device scanning and connecting.

    ``scanner_backend`` and ``client_backend`` are bleak backend classes bound to it.

    ``one_scan_per_loop`` keeps BlueZ's rule that one D-Bus client runs one discovery at a
    time: bleak keeps one client per event loop, so a scanner started on a loop where another
    one scans raises ``InProgress`` (:func:`in_progress_error`), as bluetoothd answers.
    """

    def __init__(
        self,
        air: Air,
        *,
        name: str = "trm-bio host",
        address: str = "D0:00:00:00:00:01",
        att_mtu: int = BLUEZ_ATT_MTU,
        one_scan_per_loop: bool = True,
    ):
        self.air = air
        self.one_scan_per_loop = one_scan_per_loop
        # Loops (bleak's D-Bus clients) with a scanner running; touched on each scanner's loop.
        self._scanning_loops: set[asyncio.AbstractEventLoop] = set()
        self._busy_lock = threading.Lock()
        self._busy_next = 0  # connections still to be answered InProgress
        self.in_progress_answers = 0  # InProgress answers given (scans and connections)
        # The ATT MTU asked for on every link, as BlueZ does by itself right after connecting;
        # the link gets the smaller of this and the peripheral's own maximum.
        self.att_mtu = att_mtu
        self._scan_users = 0
        self._listeners: set[Callable[[Advertisement], None]] = set()
        self.seen: dict[str, hci.Address] = {}  # address string -> typed address
        # Addresses a BleakScanner scan has heard: BlueZ's device objects. Like BlueZ, a
        # client made from a BLEDevice connects only to a device the adapter still knows.
        self.known: set[str] = set()

        async def create() -> Device:
            device = air.new_device(name, address)
            device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            await device.power_on()
            return device

        self.device: Device = air.run(create())
        self._connect_lock = asyncio.Lock()  # bound to the air loop on first use
        self._scan_switch = asyncio.Lock()  # scanning turned on and off one at a time (air loop)
        central = self

        class ScannerBackend(BumbleBleakScanner):
            _central = central

        class ClientBackend(BumbleBleakClient):
            _central = central

        self.scanner_backend: type[BaseBleakScanner] = ScannerBackend
        self.client_backend: type[BaseBleakClient] = ClientBackend

    def answer_in_progress(self, count: int) -> None:
        """Answer the next ``count`` connections with ``InProgress`` (call from any thread).

        What BlueZ answers a Connect while another connection is being made on the adapter.
        """
        with self._busy_lock:
            self._busy_next = count

    def _take_busy(self) -> bool:
        with self._busy_lock:
            if self._busy_next <= 0:
                return False
            self._busy_next -= 1
            self.in_progress_answers += 1
            return True

    def _begin_scan(self, loop: asyncio.AbstractEventLoop) -> None:
        """A scanner starts on ``loop`` (that loop's thread); InProgress if one runs there."""
        if self.one_scan_per_loop and loop in self._scanning_loops:
            with self._busy_lock:
                self.in_progress_answers += 1
            raise in_progress_error()
        self._scanning_loops.add(loop)

    # -- air loop ------------------------------------------------------------------
    def _on_advertisement(self, advertisement: Advertisement) -> None:
        self.seen[advertisement.address.to_string(False)] = advertisement.address
        for listener in list(self._listeners):
            listener(advertisement)

    def forget(self, address: str) -> None:
        """Forget ``address`` until a scan hears it again (call from the test thread).

        What BlueZ does to a device it has not heard for a while (TemporaryTimeout, 30 s by
        default): its object goes, and connecting through a BLEDevice from an earlier scan
        fails with UnknownObject, which bleak raises as BleakDeviceNotFoundError.
        """

        async def drop() -> None:
            self.known.discard(address.upper())

        self.air.run(drop())

    async def scan_start(self, listener: Callable[[Advertisement], None]) -> None:
        self._listeners.add(listener)
        self._scan_users += 1
        # Serialised with stops: a start that came while the last user's stop was under way
        # would find the radio still scanning, and be left with a radio that stopped.
        async with self._scan_switch:
            if self._scan_users > 0 and not self.device.is_scanning:
                await self.device.start_scanning(filter_duplicates=False)

    async def scan_stop(self, listener: Callable[[Advertisement], None]) -> None:
        self._listeners.discard(listener)
        self._scan_users = max(0, self._scan_users - 1)
        async with self._scan_switch:
            if self._scan_users == 0 and self.device.is_scanning:
                await self.device.stop_scanning()

    async def wait_advertising(self, address: str, timeout_s: float) -> hci.Address:
        """The typed address of ``address`` once it advertises (scanning meanwhile).

        bumble's emulated controller keeps a connection request pending until the peer
        advertises and cannot cancel it cleanly, so connect only to a peer heard right now.
        """
        heard: asyncio.Future[hci.Address] = asyncio.get_running_loop().create_future()

        def listener(advertisement: Advertisement) -> None:
            if advertisement.address.to_string(False) == address.upper() and not heard.done():
                heard.set_result(advertisement.address)

        await self.scan_start(listener)
        try:
            return await asyncio.wait_for(heard, timeout_s)
        except TimeoutError:
            raise BleakDeviceNotFoundError(
                address, f"Device with address {address} was not found."
            ) from None
        finally:
            await self.scan_stop(listener)


def _advertisement_fields(advertisement: Advertisement) -> tuple[str, str | None, list[str], int]:
    data = advertisement.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    uuids: list[str] = []
    for ad_type in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        uuids.extend(bleak_uuid(u) for u in (data.get(ad_type) or []))
    return advertisement.address.to_string(False), name, uuids, advertisement.rssi


class BumbleBleakScanner(BaseBleakScanner):
    """bleak scanner backend fed by bumble advertisement reports."""

    _central: BumbleCentral

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._discovering = False  # this scanner holds its loop's one discovery

    def _on_air(self, advertisement: Advertisement) -> None:
        # Air loop: copy the plain fields and hop to the scanner's loop.
        assert self._loop is not None
        self._central.known.add(advertisement.address.to_string(False))
        with contextlib.suppress(RuntimeError):  # scanner's loop already closed
            self._loop.call_soon_threadsafe(self._deliver, *_advertisement_fields(advertisement))

    def _deliver(self, address: str, name: str | None, uuids: list[str], rssi: int) -> None:
        if not self.is_allowed_uuid(uuids):
            return
        adv = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=rssi,
            platform_data=(),
        )
        device = self.create_or_update_device(address, address, name, address, adv)
        self.call_detection_callbacks(device, adv)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.seen_devices = {}
        self._central._begin_scan(self._loop)
        self._discovering = True
        try:
            await self._central.air.call(self._central.scan_start(self._on_air))
        except BaseException:
            self._end_discovery()
            raise

    async def stop(self) -> None:
        try:
            await self._central.air.call(self._central.scan_stop(self._on_air))
        finally:
            self._end_discovery()

    def _end_discovery(self) -> None:
        if self._discovering and self._loop is not None:
            self._discovering = False
            self._central._scanning_loops.discard(self._loop)


class BumbleBleakClient(BaseBleakClient):
    """bleak client backend on a bumble Connection and its GATT client (Peer)."""

    _central: BumbleCentral

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        # bleak's BlueZ backend connects a BLEDevice through the object its scan found, and
        # scans first only for a bare address.
        self._from_scan = isinstance(address_or_ble_device, BLEDevice)

    # -- connection ----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    def _on_disconnection(self, reason: int) -> None:
        # Air loop. Only an unsolicited drop reaches the bleak disconnected callback.
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if not self._closing and self._disconnected_callback is not None and self._loop:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._disconnected_callback)

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = False
        central = self._central
        if central._take_busy():
            raise in_progress_error()
        # A timeout raises TimeoutError, as bleak's BlueZ backend does.
        async with asyncio.timeout(self._timeout):
            await central.air.call(self._connect_on_air())

    async def _connect_on_air(self) -> None:
        central = self._central
        if self._from_scan and self.address.upper() not in central.known:
            raise BleakDeviceNotFoundError(
                self.address,
                f"Device with address {self.address} was not found. It may have been removed "
                "from BlueZ when scanning stopped.",
            )
        address = await central.wait_advertising(self.address, self._timeout)
        async with central._connect_lock:  # one pending LE connection per controller
            # Shielded: the peer was just heard, so this completes within milliseconds; a
            # cancelled caller then closes the link instead of leaving it orphaned.
            pending = asyncio.ensure_future(central.device.connect(address, timeout=None))
            try:
                connection = await asyncio.shield(pending)
            except asyncio.CancelledError:
                with contextlib.suppress(core.BaseBumbleError):
                    await (await pending).disconnect()
                raise
            except core.BaseBumbleError as exc:
                raise BleakError(f"le-connection-abort-by-local ({exc})") from exc
        # Registered before the next await: an immediate drop is still seen.
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._connection = connection
        peer = Peer(connection)
        try:
            await connection.cancel_on_disconnection(self._discover(peer))
        except (asyncio.CancelledError, core.BaseBumbleError, att.ATT_Error) as exc:
            if self._connection is None:
                raise BleakError(f"{self.address} disconnected during connection") from exc
            self._closing = True  # the caller gave up: close the link it will never use
            with contextlib.suppress(core.BaseBumbleError):
                await connection.disconnect()
            raise
        if self._connection is None:
            raise BleakError(f"{self.address} disconnected during connection")
        self._peer = peer

    async def _discover(self, peer: Peer) -> None:
        # The MTU exchange comes first, as BlueZ makes it right after the link is up; bleak's
        # front end then reads the result from ``mtu_size``.
        await peer.request_mtu(self._central.att_mtu)
        await peer.discover_all()
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in service.characteristics:
                properties = [
                    name
                    for flag, name in _PROPERTY_NAMES.items()
                    if characteristic.properties & flag
                ]
                bleak_characteristic = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    properties,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_characteristic)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            bleak_uuid(descriptor.type),
                            bleak_characteristic,
                        )
                    )
        self.services = collection

    async def disconnect(self) -> None:
        self._closing = True
        connection = self._connection
        if connection is None:
            return

        async def close() -> None:
            with contextlib.suppress(core.BaseBumbleError):
                await connection.disconnect()

        await self._central.air.call(close())
        self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not emulated")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not emulated")

    # -- GATT ----------------------------------------------------------------------
    async def _gatt(self, coro: Any) -> Any:
        connection = self._connection
        if connection is None or self._peer is None:
            coro.close()
            raise BleakError("Not connected")

        async def guarded() -> Any:
            try:
                return await connection.cancel_on_disconnection(coro)
            except att.ATT_Error as exc:
                raise BleakGATTProtocolError(exc.error_code) from exc
            except (asyncio.CancelledError, core.BaseBumbleError) as exc:
                task = asyncio.current_task()
                if isinstance(exc, asyncio.CancelledError) and task and task.cancelling():
                    raise  # the caller gave up on the call: nobody waits for an error
                raise BleakError(f"{self.address} disconnected: {exc!r}") from exc

        return await self._central.air.call(guarded())

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        assert self._peer is not None
        return bytearray(await self._gatt(self._peer.read_value(characteristic.obj)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        assert self._peer is not None
        return bytearray(await self._gatt(self._peer.read_value(descriptor.obj)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        assert self._peer is not None
        await self._gatt(self._peer.write_value(characteristic.obj, bytes(data), response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        assert self._peer is not None
        await self._gatt(self._peer.write_value(descriptor.obj, bytes(data), True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        assert self._peer is not None and self._loop is not None
        loop = self._loop

        def on_value(value: bytes) -> None:
            # Air loop: hand the exact bytes to the client's loop, in arrival order.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, bytearray(value))

        self._subscribers[characteristic.handle] = on_value
        # bumble writes the CCCD (0x0001, with response) inside subscribe().
        await self._gatt(self._peer.subscribe(characteristic.obj, on_value, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        assert self._peer is not None
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._gatt(self._peer.unsubscribe(characteristic.obj, subscriber))
