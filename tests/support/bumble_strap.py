"""A heart-rate chest strap emulated on bumble: a real GATT server behind an emulated radio.

It advertises its name and the Heart Rate Service (0x180D), serves Heart Rate Measurement
(0x2A37, notify), Body Sensor Location (0x2A38) and Battery Level (0x2A19), and sends exactly
the notification bytes a test hands it (build them with ``devices.hrm.encode_hrm``; bumble's
own heart-rate encoder truncates RR). It can drop the link, refuse the next connections, drop
the link at a chosen point of the central's set-up, keep the link but go quiet (as BlueZ
notifications do after 30-100 s on some setups), go out of reach (stop advertising) and come
back.

Every method is called from the test thread; the work runs on the :class:`Air` loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from bumble import att, gatt, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

from tests.support.bumble_air import Air

logger = logging.getLogger(__name__)

ADVERTISING_INTERVAL_MS = 20.0  # the shortest legal interval: keeps scans and reconnects fast

#: Where :meth:`EmulatedStrap.drop_during_setup` can drop the link, in the order a central
#: reaches them: the link just up (before any ATT request), primary service discovery, descriptor
#: discovery (the end of discovery), the first read (battery / body location, the last step
#: before the CCCD write) and the CCCD write itself (received, never answered).
SETUP_POINTS: dict[str, type[att.ATT_PDU] | None] = {
    "link": None,
    "discovery": att.ATT_Read_By_Group_Type_Request,
    "descriptors": att.ATT_Find_Information_Request,
    "read": att.ATT_Read_Request,
    "cccd": att.ATT_Write_Request,  # the strap has no writable characteristic: only the CCCD
}


class EmulatedStrap:
    """A chest strap on the emulated link.

    Parameters
    ----------
    air : Air
        The shared radio space.
    name : str
        Advertised complete local name.
    address : str
        Random static address (top two bits set), e.g. ``"C0:11:22:33:44:55"``.
    battery_percent : int or None
        Battery Level value; None leaves out the Battery Service.
    body_location : int or None
        Body Sensor Location code (1 chest); None leaves the characteristic out.
    heart_rate_service : bool
        False builds a device without a Heart Rate Service (a wrong device picked by
        address); it still advertises 0x180D unless ``advertise_heart_rate`` is False.
    advertise_heart_rate : bool
        Put 0x180D in the advertising data (False: a device a strap scan must not list).
    """

    def __init__(
        self,
        air: Air,
        *,
        name: str = "TRM Test Strap",
        address: str = "C0:11:22:33:44:55",
        battery_percent: int | None = 87,
        body_location: int | None = 1,
        heart_rate_service: bool = True,
        advertise_heart_rate: bool = True,
    ) -> None:
        self.air = air
        self.name = name
        self.address = address
        self.battery_percent = battery_percent
        self.body_location = body_location
        self.heart_rate_service = heart_rate_service
        self.advertise_heart_rate = advertise_heart_rate
        self.connection_attempts = 0  # every link the strap accepted, refused ones included
        self.subscribed = threading.Event()  # CCCD of 0x2A37 written with notifications on
        self.connected = threading.Event()  # a link the strap serves is up
        self.idle = threading.Event()  # no link at all (set again after every disconnection)
        self.idle.set()
        self.setup_drops = 0  # links dropped by drop_during_setup so far
        self._refuse_next = 0
        self._drop_points: list[str] = []  # one set-up point per coming connection
        self._drop_at: str | None = None  # the point where the current link will be dropped
        self._muted = False
        self._present = True
        self._beat_on_subscribe: bytes | None = None
        self._connection: Connection | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self.device: Device
        self._advertising_lock: asyncio.Lock
        air.run(self._create())

    # -- set-up (air loop) ------------------------------------------------------------
    async def _create(self) -> None:
        self._advertising_lock = asyncio.Lock()  # made on the air loop that uses it
        device = self.air.new_device(self.name, self.address)
        self.device = device
        services: list[gatt.Service] = []
        self.hrm_characteristic = gatt.Characteristic(
            gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC,
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            b"",
        )
        if self.heart_rate_service:
            characteristics = [self.hrm_characteristic]
            if self.body_location is not None:
                characteristics.append(
                    gatt.Characteristic(
                        gatt.GATT_BODY_SENSOR_LOCATION_CHARACTERISTIC,
                        gatt.Characteristic.Properties.READ,
                        gatt.Characteristic.READABLE,
                        bytes([self.body_location]),
                    )
                )
            services.append(gatt.Service(gatt.GATT_HEART_RATE_SERVICE, characteristics))
        if self.battery_percent is not None:
            services.append(
                gatt.Service(
                    gatt.GATT_BATTERY_SERVICE,
                    [
                        gatt.Characteristic(
                            gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC,
                            gatt.Characteristic.Properties.READ,
                            gatt.Characteristic.READABLE,
                            bytes([self.battery_percent]),
                        )
                    ],
                )
            )
        services.extend(self._more_services(device))
        device.add_services(services)
        # A device may claim 0x180D and still lack it: the strap code must say so.
        name_field = (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())
        fields: list[tuple[int, bytes]] = [name_field]
        if self.advertise_heart_rate:
            fields.append(
                (
                    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    UUID.from_16_bits(0x180D).to_bytes(),
                )
            )
        device.advertising_data = bytes(AdvertisingData(fields))
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        device.on("characteristic_subscription", self._on_subscription)
        # Every ATT request from a central passes here first, so the strap can drop the link
        # at a chosen set-up step instead of answering it.
        serve_pdu = device.gatt_server.on_gatt_pdu

        def screen_pdu(bearer: Any, pdu: att.ATT_PDU) -> None:
            point = self._drop_at
            if point is not None and isinstance(pdu, SETUP_POINTS[point] or ()):
                self._drop_current(point)
                return
            serve_pdu(bearer, pdu)

        device.gatt_server.on_gatt_pdu = screen_pdu  # type: ignore[method-assign]
        await device.power_on()
        await self._advertise()

    def _more_services(self, device: Device) -> list[gatt.Service]:
        """Services a subclass adds (an emulated Polar H10 adds PMD); called on the air loop."""
        return []

    def _link_down(self) -> None:
        """What a subclass does when the link goes (air loop); the strap's own state is reset."""

    def _subscription_changed(
        self, characteristic: gatt.Characteristic, notify: bool, indicate: bool
    ) -> None:
        """A CCCD was written (air loop); the Heart Rate Measurement's is handled already."""

    async def _advertise(self) -> None:
        async with self._advertising_lock:
            if self._present and self._connection is None and not self.device.is_advertising:
                await self.device.start_advertising(
                    own_address_type=hci.OwnAddressType.RANDOM,
                    advertising_interval_min=ADVERTISING_INTERVAL_MS,
                    advertising_interval_max=ADVERTISING_INTERVAL_MS,
                )

    def _on_connection(self, connection: Connection) -> None:
        self.connection_attempts += 1
        self.idle.clear()
        connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection())
        if self._refuse_next > 0:
            self._refuse_next -= 1
            logger.info("emulated strap refuses connection %d", self.connection_attempts)
            self._spawn(
                connection.disconnect(hci.HCI_CONNECTION_REJECTED_DUE_TO_LIMITED_RESOURCES_ERROR)
            )
            return
        self._connection = connection
        self._muted = False  # a new link serves notifications again
        self.connected.set()
        if self._drop_points:
            self._drop_at = self._drop_points.pop(0)
            if self._drop_at == "link":
                self._drop_current("link")

    def _drop_current(self, point: str) -> None:
        connection = self._connection
        self._drop_at = None
        if connection is None:
            return
        self.setup_drops += 1
        logger.info("emulated strap drops the link at set-up point %r", point)
        self._spawn(connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR))

    def _on_disconnection(self) -> None:
        self._connection = None
        self._drop_at = None
        self.connected.clear()
        self.subscribed.clear()
        self.idle.set()
        self._link_down()
        self._spawn(self._advertise())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)  # keep a reference until done
        task.add_done_callback(self._tasks.discard)

    def _on_subscription(
        self,
        _connection: Connection,
        characteristic: gatt.Characteristic,
        notify: bool,
        indicate: bool,
    ) -> None:
        if characteristic is self.hrm_characteristic:
            if notify:
                self.subscribed.set()
                payload, self._beat_on_subscribe = self._beat_on_subscribe, None
                if payload is not None:
                    self._spawn(
                        self.device.notify_subscriber(_connection, self.hrm_characteristic, payload)
                    )
            else:
                self.subscribed.clear()
        self._subscription_changed(characteristic, notify, indicate)

    # -- test controls (test thread) -----------------------------------------------------
    def notify(self, payload: bytes, *, force: bool = False) -> bool:
        """Send one Heart Rate Measurement notification with exactly ``payload``.

        Returns True when a central was subscribed (or ``force`` sent it regardless of the
        CCCD, like a misbehaving strap), False when nobody could receive it.
        """

        async def send() -> bool:
            connection = self._connection
            if connection is None:
                return False
            if self._muted or (not force and not self.subscribed.is_set()):
                return False
            await self.device.notify_subscriber(
                connection, self.hrm_characteristic, bytes(payload), force=force
            )
            return True

        return self.air.run(send())

    def beat_on_subscribe(self, payload: bytes) -> None:
        """Notify ``payload`` the moment the next subscription is written (a strap already
        beating may: the beat can reach the central before the CCCD write's answer)."""

        async def set_payload() -> None:
            self._beat_on_subscribe = bytes(payload)

        self.air.run(set_payload())

    def drop_link(self) -> bool:
        """Drop the current link (as if the strap went out of reach for a moment).

        Returns False when there was no link. The strap advertises again at once.
        """

        async def drop() -> bool:
            connection = self._connection
            if connection is None:
                return False
            await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)
            return True

        return self.air.run(drop())

    def drop_during_setup(self, *points: str) -> None:
        """Drop each of the next connections at one set-up point (see :data:`SETUP_POINTS`).

        The n-th coming connection is dropped when the central reaches ``points[n]``; the
        connections after them are served normally. :attr:`setup_drops` counts the drops.
        """
        unknown = set(points) - set(SETUP_POINTS)
        if unknown:
            raise ValueError(f"unknown set-up points {sorted(unknown)}; see SETUP_POINTS")

        async def queue() -> None:
            self._drop_points.extend(points)

        self.air.run(queue())

    def go_quiet(self) -> None:
        """Keep the link up but let no notification through until the next connection.

        What some BlueZ setups do after 30-100 s: the link stays, the notifications stop.
        :meth:`notify` returns False meanwhile.
        """

        async def quiet() -> None:
            self._muted = True

        self.air.run(quiet())

    def refuse_connections(self, count: int) -> None:
        """Accept-and-drop the next ``count`` connections before serving again."""

        async def set_count() -> None:
            self._refuse_next = count

        self.air.run(set_count())

    def go_away(self) -> None:
        """Stop advertising (and drop any link): the strap is out of reach."""

        async def away() -> None:
            self._present = False
            # Serialised with a re-advertising after a disconnection still under way.
            async with self._advertising_lock:
                if self.device.is_advertising:
                    await self.device.stop_advertising()
            if self._connection is not None:
                await self._connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)

        self.air.run(away())

    def come_back(self) -> None:
        """Advertise again after :meth:`go_away`."""

        async def back() -> None:
            self._present = True
            await self._advertise()

        self.air.run(back())
