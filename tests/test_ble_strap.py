"""The Bluetooth strap layer against a real host stack: bleak's front end on bumble.

Every test runs unmodified ``devices.ble`` code; only bleak backend classes are injected
(tests/support). Items are awaited through ``Source.get(timeout_s)``, never slept for.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator

import pytest
from bleak import BleakClient
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
)

from devices.ble import (
    HEART_RATE_MEASUREMENT_UUID,
    BleStrap,
    FoundStrap,
    _is_transient,
    scan,
    to_device_error,
)
from devices.errors import (
    BluetoothUnavailableError,
    DeviceError,
    DeviceNotFoundError,
    NotAHeartRateStrapError,
)
from devices.hrm import encode_hrm
from devices.packet import LinkState, Packet, SensorContact, StatusEvent
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import EMULATED_RSSI_DBM, Air
from tests.support.bumble_strap import SETUP_POINTS, EmulatedStrap

WAIT_S = 10.0  # generous bound for one awaited item; the rig answers in milliseconds

STRAP_ADDRESS = "C0:11:22:33:44:55"
STRAP_NAME = "TRM Test Strap"


@pytest.fixture
def air() -> Iterator[Air]:
    air = Air()
    yield air
    air.close()


@pytest.fixture
def central(air: Air) -> BumbleCentral:
    return BumbleCentral(air)


@pytest.fixture
def strap(air: Air) -> EmulatedStrap:
    return EmulatedStrap(air, name=STRAP_NAME, address=STRAP_ADDRESS, battery_percent=87)


def make_source(central: BumbleCentral, target: str = STRAP_ADDRESS, **kwargs) -> BleStrap:
    options = {"min_backoff_s": 0.01, "max_backoff_s": 0.1, "scan_timeout_s": 5.0}
    options.update(kwargs)
    return BleStrap(
        target,
        scanner_backend=central.scanner_backend,
        client_backend=central.client_backend,
        **options,
    )


def next_item(source: BleStrap) -> Packet | StatusEvent:
    item = source.get(WAIT_S)
    assert item is not None, "nothing arrived in time"
    return item


#: The set-up step of the STREAMING event that starts a stream (later STREAMING events say
#: that beats arrive, that contact is back, or how the raw streams are doing).
SUBSCRIBED = "waiting for beats"


def collect_until(
    source: BleStrap, state: LinkState, within_s: float = 3 * WAIT_S, step: str | None = None
) -> list[Packet | StatusEvent]:
    """Every item up to and including the next status event with ``state`` (and ``step``).

    STREAMING means the event of a new subscription (step "waiting for beats") unless
    ``step`` says otherwise. Fails when that event has not come within ``within_s`` (a
    source retrying in vain keeps sending items, so waiting per item alone would never end).
    """
    if step is None and state == LinkState.STREAMING:
        step = SUBSCRIBED
    deadline = time.monotonic() + within_s
    items = []
    while True:
        assert time.monotonic() < deadline, f"no {state.value} within {within_s:g} s"
        item = next_item(source)
        items.append(item)
        if (
            isinstance(item, StatusEvent)
            and item.state == state
            and (step is None or item.details.get("step") == step)
        ):
            return items
        if isinstance(item, StatusEvent) and item.state == LinkState.FAILED:
            raise AssertionError(f"the source failed: {item.message}")


def states(items) -> list[LinkState]:
    return [item.state for item in items if isinstance(item, StatusEvent)]


def steps(items) -> list[str]:
    return [item.details.get("step", "") for item in items if isinstance(item, StatusEvent)]


def next_packet(source: BleStrap) -> Packet:
    """The next packet, passing over status events (the first beats of a link say so)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        item = next_item(source)
        if isinstance(item, Packet):
            return item
    raise AssertionError("no packet in time")


def packets(items) -> list[Packet]:
    return [item for item in items if isinstance(item, Packet)]


def beat(index: int) -> bytes:
    """A distinct, valid payload per index (RR raw values carry the index)."""
    return encode_hrm(60 + index % 60, rr_raw=(700 + index,), contact=SensorContact.CONTACT)


# -- scan ------------------------------------------------------------------------------
def test_scan_lists_heart_rate_straps_with_name_address_rssi(air, central, strap):
    EmulatedStrap(air, name="Kettle", address="C0:99:88:77:66:55", advertise_heart_rate=False)
    found = scan(0.3, scanner_backend=central.scanner_backend)
    # The kettle advertises no 0x180D: the service filter must leave it out.
    assert found == [FoundStrap(name=STRAP_NAME, address=STRAP_ADDRESS, rssi=EMULATED_RSSI_DBM)]


def test_scan_on_an_adapter_that_went_away_fails_with_one_sentence(air, central):
    # The emulated adapter's loop is gone (a dongle pulled out): the backend raises an error
    # that is neither BleakError nor OSError; it must still reach the user as a sentence.
    air.close()
    with pytest.raises(DeviceError) as caught:
        scan(0.3, scanner_backend=central.scanner_backend)
    text = str(caught.value)
    assert text.startswith("Bluetooth error with nearby: ") and text.endswith(".")
    assert "\n" not in text


# -- connect ---------------------------------------------------------------------------
@pytest.mark.parametrize("target", [STRAP_ADDRESS, STRAP_NAME, STRAP_ADDRESS.lower()])
def test_connects_by_address_or_name_and_reads_battery_and_location(central, strap, target):
    source = make_source(central, target)
    source.start()
    try:
        items = collect_until(source, LinkState.STREAMING)
        assert states(items) == [
            LinkState.SCANNING,
            LinkState.CONNECTING,
            LinkState.CONNECTED,
            LinkState.CONNECTED,
            LinkState.STREAMING,
        ]
        assert steps(items) == ["", "", "connected", "services read", "waiting for beats"]
        services_read = items[3]
        assert (services_read.battery_percent, services_read.body_location) == (87, 1)
        assert (source.battery_percent, source.body_location) == (87, 1)
        # A strap without Polar's PMD service: heart rate only, said when its services are read.
        assert services_read.details == {
            "step": "services read",
            "offers": "HR",
            "ecg": "not offered",
            "acc": "not offered",
        }
        assert "no ECG or accelerometer" in services_read.message
        assert source.offers == {"HR"}
        assert source.source_id == STRAP_ADDRESS  # the address, even when found by name
        assert strap.subscribed.wait(WAIT_S)
        # The first packet with RR: beats are arriving, and the strap offers RR.
        assert strap.notify(beat(1))
        assert next_item(source).payload == beat(1)
        arriving = next_item(source)
        assert (arriving.state, arriving.message) == (LinkState.STREAMING, "Beats are arriving.")
        assert arriving.details["step"] == "beats arriving"
        assert arriving.details["offers"] == "HR,RR" and source.offers == {"HR", "RR"}
        assert strap.notify(beat(2))
        assert next_item(source).payload == beat(2)  # said once per link
        assert source.drain() == []
    finally:
        source.stop()


def test_strap_without_battery_or_location_still_streams(air, central):
    EmulatedStrap(air, address="C0:10:10:10:10:10", battery_percent=None, body_location=None)
    source = make_source(central, "C0:10:10:10:10:10")
    source.start()
    try:
        items = collect_until(source, LinkState.STREAMING)
        assert (items[-1].battery_percent, items[-1].body_location) == (None, None)
    finally:
        source.stop()


def test_nothing_arrives_before_the_cccd_is_written(air, central, strap):
    async def exchange() -> list[bytes]:
        received: list[bytes] = []
        async with BleakClient(STRAP_ADDRESS, backend=central.client_backend, timeout=5) as client:
            # A misbehaving strap notifies regardless of the CCCD: it must not get through.
            assert await asyncio.to_thread(strap.notify, beat(1), force=True)
            assert not strap.subscribed.is_set()
            arrived = asyncio.Event()

            def on_notify(_characteristic, data: bytearray) -> None:
                received.append(bytes(data))
                arrived.set()

            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, on_notify)
            assert strap.subscribed.is_set()  # the CCCD write reached the strap
            assert await asyncio.to_thread(strap.notify, beat(2))
            await asyncio.wait_for(arrived.wait(), WAIT_S)
            await client.stop_notify(HEART_RATE_MEASUREMENT_UUID)
        return received

    assert asyncio.run(exchange()) == [beat(2)]


def test_a_beat_with_the_subscription_leaves_the_set_up_at_beats_arriving(central, strap):
    # The strap notifies the moment its CCCD is written, so the beat can be taken in before
    # the subscription's own answer: the set-up must not go back to waiting for it.
    strap.beat_on_subscribe(beat(1))
    source = make_source(central)
    source.start()
    try:
        items = collect_until(source, LinkState.STREAMING, step="beats arriving")
        assert packets(items) and packets(items)[0].payload == beat(1)
        # The subscription's own event (STREAMING) says the step reached, not waiting.
        assert [s for s in steps(items) if s] == [
            "connected",
            "services read",
            "beats arriving",
            "beats arriving",
        ]
        assert source.offers == {"HR", "RR"}
        assert strap.notify(beat(2))
        assert next_packet(source).payload == beat(2)
        assert not any(
            isinstance(i, StatusEvent) and i.details.get("step") == SUBSCRIBED
            for i in source.drain()
        )
    finally:
        source.stop()


# -- the stream ------------------------------------------------------------------------
STREAM_CASES = [
    # (heart rate bpm, RR raw 1/1024 s, contact, energy kJ, force uint16 HR)
    (62, (), SensorContact.CONTACT, None, False),
    (61, (1000,), SensorContact.CONTACT, None, False),
    (180, (341, 342), SensorContact.CONTACT, None, False),
    (300, (205, 204, 206), SensorContact.CONTACT, None, False),  # HR needs uint16
    (45, (4095, 1), SensorContact.NOT_SUPPORTED, 1234, False),  # energy before RR
    (58, (1060,) * 9, SensorContact.CONTACT, None, False),  # 9 RR: a full 20-byte payload
    (72, (65535, 0, 833), SensorContact.NO_CONTACT, None, True),  # extremes, uint16 HR
]


def test_byte_exact_payloads_arrive_decoded_exactly(central, strap):
    source = make_source(central)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        sent = []
        for hr, rr_raw, contact, energy, wide in STREAM_CASES:
            payload = encode_hrm(hr, rr_raw, contact=contact, energy_kj=energy, force_uint16=wide)
            assert strap.notify(payload)
            sent.append(payload)
        received = []
        while len(received) < len(sent):
            item = next_item(source)
            if isinstance(item, Packet):
                received.append(item)
        assert [p.payload for p in received] == sent
        for packet, (hr, rr_raw, contact, energy, _wide) in zip(
            received, STREAM_CASES, strict=True
        ):
            assert packet.heart_rate_bpm == hr
            assert packet.rr_ms == tuple(raw * 1000 / 1024 for raw in rr_raw)
            assert packet.contact == contact
            assert packet.energy_kj == energy
            assert packet.source_id == STRAP_ADDRESS
        host_ns = [p.host_ns for p in received]
        assert host_ns == sorted(host_ns)
    finally:
        source.stop()


def test_contact_lost_and_back_are_status_changes(central, strap):
    source = make_source(central)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        for contact in (
            SensorContact.CONTACT,
            SensorContact.NO_CONTACT,
            SensorContact.NO_CONTACT,
            SensorContact.CONTACT,
        ):
            assert strap.notify(encode_hrm(70, (880,), contact=contact))
        items = [next_item(source) for _ in range(7)]
        kinds = [item.state if isinstance(item, StatusEvent) else item.contact for item in items]
        assert kinds == [
            SensorContact.CONTACT,
            LinkState.STREAMING,  # beats are arriving
            SensorContact.NO_CONTACT,
            LinkState.CONTACT_LOST,
            SensorContact.NO_CONTACT,
            SensorContact.CONTACT,
            LinkState.STREAMING,
        ]
    finally:
        source.stop()


def test_malformed_payloads_are_kept_and_the_stream_goes_on(central, strap):
    source = make_source(central)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        malformed = [b"", b"\x10", b"\x11\x3c", b"\x10\x3c\xe8", b"\x08\x3c\x01"]
        assert strap.notify(beat(1))
        for payload in malformed:
            assert strap.notify(payload)
        assert strap.notify(beat(2))
        items = [next_packet(source) for _ in range(len(malformed) + 2)]
        assert [i.payload for i in items] == [beat(1), *malformed, beat(2)]  # bytes kept, in order
        assert [i.error is None for i in items] == [True] + [False] * len(malformed) + [True]
        assert all(i.rr_ms == () for i in items[1:-1])  # no beat from a bad packet
        assert source.malformed_count == len(malformed)
        assert source.state == LinkState.STREAMING
        assert source.drain() == []  # nothing (no duplicate, no failure) came with them
    finally:
        source.stop()


# -- link drops and reconnection ----------------------------------------------------------
def test_25_drops_every_beat_once_in_order_and_every_gap_marked(central, strap):
    source = make_source(central)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        sent: list[bytes] = []
        sessions: list[list[Packet | StatusEvent]] = []
        drops = 25  # the guarantee the reliability check holds the app to
        for session in range(drops + 1):
            for index in range(5):
                payload = beat(session * 5 + index)
                assert strap.notify(payload)  # the strap was connected and subscribed
                sent.append(payload)
            if session < drops:
                assert strap.drop_link()
                sessions.append(collect_until(source, LinkState.STREAMING))
        tail = []
        while len(packets(tail)) < 5:
            tail.append(next_item(source))
        sessions.append(tail)

        received = [p.payload for items in sessions for p in packets(items)]
        assert received == sent  # each exactly once, in order, none lost across the drops
        for items in sessions[:-1]:
            # 5 beats (the first says they arrive), then the gap marked: RECONNECTING,
            # CONNECTED (twice: connected, services read), STREAMING.
            assert [type(item) for item in items[:6]] == [Packet, StatusEvent] + [Packet] * 4
            assert states(items) == [
                LinkState.STREAMING,
                LinkState.RECONNECTING,
                LinkState.CONNECTED,
                LinkState.CONNECTED,
                LinkState.STREAMING,
            ]
        assert source.connection_count == drops + 1
        assert strap.connection_attempts == drops + 1
        # The gap is explicit in packet time: the first beat after a reconnect is stamped
        # after the RECONNECTING event that opened the gap.
        for before, after in itertools.pairwise(sessions):
            reconnecting = next(
                i
                for i in before
                if isinstance(i, StatusEvent) and i.state == LinkState.RECONNECTING
            )
            assert packets(after)[0].host_ns > reconnecting.host_ns > packets(before)[-1].host_ns
    finally:
        source.stop()


def test_refused_connections_are_retried_with_growing_backoff(central, strap):
    strap.refuse_connections(3)
    source = make_source(central, min_backoff_s=0.05, max_backoff_s=1.0)
    source.start()
    try:
        items = collect_until(source, LinkState.STREAMING)
        retries = [
            i for i in items if isinstance(i, StatusEvent) and i.state == LinkState.RECONNECTING
        ]
        assert len(retries) == 3
        assert [r.message.split(" failed")[0] for r in retries] == [
            f"Connection attempt {n}" for n in (1, 2, 3)
        ]
        assert strap.connection_attempts == 4
        # Each attempt waited out its backoff (0.05, 0.1, 0.2 s) before the next one.
        connected = next(
            i for i in items if isinstance(i, StatusEvent) and i.state == LinkState.CONNECTED
        )
        assert connected.details["step"] == "connected"
        stamps = [r.host_ns for r in retries] + [connected.host_ns]
        gaps_s = [(b - a) / 1e9 for a, b in itertools.pairwise(stamps)]
        assert all(gap >= wait for gap, wait in zip(gaps_s, (0.05, 0.1, 0.2), strict=True))
        assert strap.notify(beat(1))
        assert next_item(source).payload == beat(1)
    finally:
        source.stop()


def test_a_strap_that_answered_then_went_for_good_fails_once_it_is_not_heard(central, strap):
    # Refused once (so it was there), then gone before the first connection: looked for
    # again, and only a scan that hears nothing ends it, with a sentence saying so.
    strap.refuse_connections(1)
    source = make_source(
        central, min_backoff_s=0.5, max_backoff_s=0.5, connect_timeout_s=0.2, scan_timeout_s=0.3
    )
    source.start()
    try:
        items = collect_until(source, LinkState.RECONNECTING)
        strap.go_away()  # within the 0.5 s backoff before the second attempt
        deadline = time.monotonic() + WAIT_S
        while not (isinstance(items[-1], StatusEvent) and items[-1].state == LinkState.FAILED):
            assert time.monotonic() < deadline, f"still retrying: {items[-1]}"
            items.append(next_item(source))
        assert isinstance(source.error, DeviceNotFoundError)
        assert items[-1].message == str(source.error)
        assert "answered within 0.3 s" in items[-1].message
        assert strap.connection_attempts == 1
        assert states(items).count(LinkState.SCANNING) == 2  # looked for again before giving up
    finally:
        source.stop()


def test_strap_out_of_reach_for_a_while_comes_back_into_the_same_stream(central, strap):
    source = make_source(central, connect_timeout_s=0.2, scan_timeout_s=0.3)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        assert strap.notify(beat(1))
        strap.go_away()
        items = collect_until(source, LinkState.RECONNECTING)
        # While away, each attempt times out and is retried.
        items += collect_until(source, LinkState.RECONNECTING)
        strap.come_back()
        items += collect_until(source, LinkState.STREAMING)
        assert strap.notify(beat(2))
        items.append(next_item(source))
        assert [p.payload for p in packets(items)] == [beat(1), beat(2)]
    finally:
        source.stop()


# -- errors as sentences ------------------------------------------------------------------
def test_device_without_heart_rate_service_fails_with_one_sentence(air, central):
    kettle = EmulatedStrap(air, address="C0:22:22:22:22:22", heart_rate_service=False)
    source = make_source(central, "C0:22:22:22:22:22")
    source.start()
    try:
        items = collect_until(source, LinkState.CONNECTING)
        failed = next_item(source)
        assert isinstance(failed, StatusEvent) and failed.state == LinkState.FAILED
        assert isinstance(source.error, NotAHeartRateStrapError)
        assert failed.message == str(source.error)
        assert failed.message.endswith(".") and "\n" not in failed.message
        assert "no Heart Rate Service" in failed.message
        assert kettle.connection_attempts == 1  # a wrong device is not retried
        assert kettle.idle.wait(WAIT_S)  # and the link was released
    finally:
        source.stop()
    assert states(items) == [LinkState.SCANNING, LinkState.CONNECTING]


def test_strap_not_in_reach_fails_with_device_not_found(central, strap):
    source = make_source(central, "Nobody's Strap", scan_timeout_s=0.3)
    source.start()
    try:
        collect_until(source, LinkState.SCANNING)
        failed = next_item(source)
        assert failed.state == LinkState.FAILED
        assert isinstance(source.error, DeviceNotFoundError)
        assert "Nobody's Strap" in failed.message and "\n" not in failed.message
    finally:
        source.stop()


# -- stopping -------------------------------------------------------------------------------
def test_stop_from_another_thread_disconnects_cleanly_and_is_idempotent(central, strap):
    source = make_source(central)
    source.start()
    collect_until(source, LinkState.STREAMING)
    assert strap.connected.is_set()
    stopper = threading.Thread(target=source.stop)
    stopper.start()
    stopper.join(WAIT_S)
    assert not stopper.is_alive()
    assert strap.idle.wait(WAIT_S)  # the strap saw the link closed
    assert not strap.subscribed.is_set()
    assert source._loop_thread is not None and not source._loop_thread.thread.is_alive()
    assert states(source.drain())[-1] == LinkState.DISCONNECTED
    source.stop()  # a second stop is harmless
    assert source.drain() == []


def test_stop_before_start_and_during_scan_are_harmless(central):
    make_source(central).stop()
    source = make_source(central, "Nobody's Strap", scan_timeout_s=30.0)
    source.start()
    collect_until(source, LinkState.SCANNING)
    source.stop()
    assert states(source.drain()) == [LinkState.DISCONNECTED]


# -- error mapping at the boundary ------------------------------------------------------------
@pytest.mark.parametrize(
    ("raised", "expected_type", "retried"),
    [
        (FileNotFoundError(2, "No such file or directory"), BluetoothUnavailableError, False),
        (
            BleakBluetoothNotAvailableError(
                "Bluetooth is turned off", BleakBluetoothNotAvailableReason.POWERED_OFF
            ),
            BluetoothUnavailableError,
            False,
        ),
        (PermissionError(13, "Permission denied"), BluetoothUnavailableError, False),
        (
            BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", ["Rejected send message"]),
            BluetoothUnavailableError,
            False,
        ),
        (BleakDBusError("org.bluez.Error.InProgress", ["In Progress"]), DeviceError, True),
        (
            BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),
            DeviceError,
            True,
        ),
        (BleakDeviceNotFoundError("C0:11:22:33:44:55"), DeviceNotFoundError, True),
        (TimeoutError(), DeviceError, True),
    ],
)
def test_bleak_and_os_errors_become_one_sentence(raised, expected_type, retried):
    error = to_device_error(raised, "TRM Test Strap (C0:11:22:33:44:55)")
    assert type(error) is expected_type
    text = str(error)
    assert text.endswith(".") and "\n" not in text and text[0].isupper()
    assert _is_transient(error) is retried
    assert not _is_transient(NotAHeartRateStrapError("x."))


def test_stop_right_after_start_ends_with_disconnected(central, strap):
    source = make_source(central)
    source.start()
    source.stop()
    assert states(source.drain())[-1] == LinkState.DISCONNECTED
    assert strap.idle.wait(WAIT_S)


# -- drops during connection set-up --------------------------------------------------------
TEN_SETUP_DROPS = list(SETUP_POINTS) * 2  # every set-up point, twice, ten drops in a row


def retries_in(items) -> list[StatusEvent]:
    return [i for i in items if isinstance(i, StatusEvent) and i.state == LinkState.RECONNECTING]


def assert_names_its_cause(message: str) -> None:
    # One sentence that says what happened: never an empty reason ("...: .").
    assert message.endswith(".") and "\n" not in message, message
    assert ": ." not in message and "()" not in message, message
    assert "dropped" in message or "disconnected" in message, message


def test_ten_setup_drops_in_a_row_after_streaming_then_the_stream_recovers(central, strap):
    source = make_source(central)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        assert strap.notify(beat(1))
        strap.drop_during_setup(*TEN_SETUP_DROPS)
        assert strap.drop_link()
        items = collect_until(source, LinkState.STREAMING)
        assert strap.setup_drops == 10
        assert strap.connection_attempts == 1 + 10 + 1  # every drop was retried
        retries = retries_in(items)
        assert len(retries) == 1 + 10  # the plain drop, then one per set-up drop
        assert retries[0].details == {"cause": "dropped"}
        for retry in retries[1:]:
            assert_names_its_cause(retry.message)
            assert retry.details == {"cause": "failed attempt"}
        assert LinkState.FAILED not in states(items) and source.error is None
        assert strap.notify(beat(2))
        items.append(next_item(source))
        assert [p.payload for p in packets(items)] == [beat(1), beat(2)]
    finally:
        source.stop()


def test_ten_setup_drops_before_the_first_connection_then_it_streams(central, strap):
    strap.drop_during_setup(*TEN_SETUP_DROPS)
    # Five attempts without a connection used to be the end; a strap that answers and
    # drops is there, so it is retried until it streams.
    source = make_source(central)
    source.start()
    try:
        items = collect_until(source, LinkState.STREAMING)
        assert strap.setup_drops == 10 and strap.connection_attempts == 11
        assert len(retries_in(items)) == 10
        for retry in retries_in(items):
            assert_names_its_cause(retry.message)
        assert strap.notify(beat(3))
        assert next_item(source).payload == beat(3)
    finally:
        source.stop()


@pytest.mark.parametrize("point", list(SETUP_POINTS))
def test_a_drop_at_each_setup_point_is_retried_with_its_cause_named(central, strap, point):
    strap.drop_during_setup(point)
    source = make_source(central)
    source.start()
    try:
        items = collect_until(source, LinkState.STREAMING)
        (retry,) = retries_in(items)
        assert retry.message.startswith("Connection attempt 1 failed (")
        assert_names_its_cause(retry.message)
        assert strap.subscribed.wait(WAIT_S)
    finally:
        source.stop()


def test_a_strap_bluez_has_forgotten_is_looked_for_again(central, strap):
    # BlueZ drops a device it has not heard for a while; the BLEDevice from the first scan
    # then only gives "not found". The strap must be looked for again, not asked in vain.
    source = make_source(central, connect_timeout_s=0.2, scan_timeout_s=0.3)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        assert strap.notify(beat(1))
        central.forget(STRAP_ADDRESS)  # as if it had been out of reach for a while
        assert strap.drop_link()  # it advertises again at once: only a scan will know
        items = collect_until(source, LinkState.STREAMING, within_s=WAIT_S)
        items = [
            i for i in items if not (isinstance(i, StatusEvent) and i.message.startswith("Beats"))
        ]
        assert states(items)[:3] == [
            LinkState.RECONNECTING,
            LinkState.RECONNECTING,  # "not found" through the forgotten device
            LinkState.SCANNING,
        ]
        assert strap.notify(beat(2))
        items.append(next_item(source))
        assert [p.payload for p in packets(items)] == [beat(1), beat(2)]
    finally:
        source.stop()


# -- a strap that stays connected but goes silent -----------------------------------------------
SILENCE_S = 1.0  # injected: the same detection as the default 10 s, in test time


def test_a_silent_strap_is_said_calmly_and_reconnected_and_beats_resume(central, strap):
    source = make_source(central, silence_timeout_s=SILENCE_S)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        assert strap.notify(beat(1))
        assert next_item(source).payload == beat(1)
        strap.go_quiet()  # the link stays up; nothing gets through any more
        assert not strap.notify(beat(2))
        items = collect_until(source, LinkState.RECONNECTING)
        assert states(items) == [LinkState.STREAMING, LinkState.RECONNECTING]  # beats arrived
        quiet = items[-1]
        assert quiet.message == (
            f"No beats have arrived from {STRAP_NAME} ({STRAP_ADDRESS}) for {SILENCE_S:g} s "
            "although it is still connected; reconnecting."
        )
        assert quiet.details == {"cause": "silent"}
        items = collect_until(source, LinkState.STREAMING)
        assert states(items) == [LinkState.CONNECTED, LinkState.CONNECTED, LinkState.STREAMING]
        assert strap.connection_attempts == 2  # the quiet link was closed, a new one made
        assert strap.notify(beat(3))
        after = next_item(source)
        assert after.payload == beat(3) and after.host_ns > quiet.host_ns
        assert source.connection_count == 2 and source.error is None
    finally:
        source.stop()


def test_a_stream_with_beats_inside_the_silence_bound_is_left_alone(central, strap):
    source = make_source(central, silence_timeout_s=0.5)
    source.start()
    try:
        collect_until(source, LinkState.STREAMING)
        # Beats 0.1 s apart for four times the bound: the timing is what is tested, so the
        # sender is paced by the clock.
        for index in range(20):
            assert strap.notify(beat(index))
            assert next_packet(source).payload == beat(index)
            time.sleep(0.1)
        assert strap.connection_attempts == 1
        assert source.state == LinkState.STREAMING and source.drain() == []
    finally:
        source.stop()


def test_a_strap_that_never_sends_is_retried_with_growing_waits(central, strap):
    source = make_source(central, silence_timeout_s=0.2, min_backoff_s=0.05, max_backoff_s=1.0)
    source.start()
    try:
        items = collect_until(source, LinkState.STREAMING)
        for _ in range(3):
            items += collect_until(source, LinkState.STREAMING)
        quiet = retries_in(items)
        assert [q.message.rsplit("reconnecting", 1)[1] for q in quiet] == [
            " in 0.05 s.",
            " in 0.1 s.",
            " in 0.2 s.",
        ]
        assert strap.connection_attempts == 4  # each quiet link closed and made again
        # Each wait was waited out before the next connection.
        connected = [
            i
            for i in items
            if isinstance(i, StatusEvent)
            and i.state == LinkState.CONNECTED
            and i.details["step"] == "connected"
        ]
        for retry, after, wait_s in zip(quiet, connected[1:], (0.05, 0.1, 0.2), strict=True):
            assert (after.host_ns - retry.host_ns) / 1e9 >= wait_s
    finally:
        source.stop()


def test_without_reconnect_a_silent_strap_ends_with_a_sentence(central, strap):
    source = make_source(central, silence_timeout_s=0.2, reconnect=False)
    source.start()
    try:
        items = collect_until(source, LinkState.DISCONNECTED)
        assert "although it is still connected." in items[-1].message
        assert strap.idle.wait(WAIT_S)
    finally:
        source.stop()
