"""A Polar H10's raw streams (PMD: ECG and accelerometer) through bleak's real front end.

The strap is emulated on bumble (tests/support/bumble_h10.py): a GATT server with the Heart
Rate Service and Polar's PMD service, whose ECG frames come from a REAL H10 recording of the
shared data. Only bleak backend classes are injected; items are awaited, never slept for
(the emulated strap paces its frames by its own clock, faster than real time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from devices.ble import BleStrap
from devices.hrm import encode_hrm
from devices.packet import LinkState, Packet, SensorContact, StatusEvent
from devices.pmd import (
    PMD_MIN_MTU,
    PmdFrame,
    PmdStatus,
    PmdStream,
    decode_frame,
    start_command,
    stop_command,
)
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_h10 import (
    ECG_SAMPLES_PER_FRAME,
    EmulatedH10,
    polar_ecg,
)

WAIT_S = 10.0  # generous bound for one awaited item; the rig answers in milliseconds
SPEED = 8.0  # the emulated strap sends its frames this much faster than real time

START_ECG = start_command(PmdStream.ECG)
START_ACC = start_command(PmdStream.ACC)
STOP_ECG = stop_command(PmdStream.ECG)
STOP_ACC = stop_command(PmdStream.ACC)
assert (START_ECG.hex(), STOP_ECG.hex(), STOP_ACC.hex()) == ("02000001820001010e00", "0300", "0302")

Item = Packet | StatusEvent | PmdFrame


@pytest.fixture(scope="module")
def recording():
    try:
        return polar_ecg()
    except FileNotFoundError as exc:
        pytest.skip(f"needs the real Polar H10 recording: {exc}")


@pytest.fixture
def air() -> Iterator[Air]:
    air = Air()
    yield air
    air.close()


@pytest.fixture
def central(air: Air) -> BumbleCentral:
    return BumbleCentral(air)


@pytest.fixture
def make_h10(air: Air, recording) -> Callable[..., EmulatedH10]:
    def make(**kwargs) -> EmulatedH10:
        kwargs.setdefault("speed", SPEED)
        return EmulatedH10(air, **kwargs)

    return make


def make_source(central: BumbleCentral, strap: EmulatedH10, **kwargs) -> BleStrap:
    options = {"min_backoff_s": 0.01, "max_backoff_s": 0.1, "scan_timeout_s": 5.0}
    options.update(kwargs)
    return BleStrap(
        strap.address,
        scanner_backend=central.scanner_backend,
        client_backend=central.client_backend,
        **options,
    )


def collect(
    source: BleStrap, done: Callable[[list[Item]], bool], within_s: float = 3 * WAIT_S
) -> list[Item]:
    """Items until ``done(items)``; fails after ``within_s`` or on a FAILED event."""
    deadline = time.monotonic() + within_s
    items: list[Item] = []
    while not done(items):
        assert time.monotonic() < deadline, f"not done within {within_s:g} s: {items[-3:]}"
        item = source.get(WAIT_S)
        assert item is not None, "nothing arrived in time"
        assert not (isinstance(item, StatusEvent) and item.state == LinkState.FAILED), item
        items.append(item)
    return items


def statuses(items) -> list[StatusEvent]:
    return [i for i in items if isinstance(i, StatusEvent)]


def frames(items, stream: PmdStream | None = None) -> list[PmdFrame]:
    return [i for i in items if isinstance(i, PmdFrame) and (stream is None or i.stream == stream)]


def packets(items) -> list[Packet]:
    return [i for i in items if isinstance(i, Packet)]


def subscribed(items) -> bool:
    """The heart-rate subscription's STREAMING event has come."""
    return any(s.details.get("step") == "waiting for beats" for s in statuses(items))


def has_frames(ecg: int, acc: int) -> Callable[[list[Item]], bool]:
    return lambda items: (
        len(frames(items, PmdStream.ECG)) >= ecg and len(frames(items, PmdStream.ACC)) >= acc
    )


def said(text: str) -> Callable[[list[Item]], bool]:
    return lambda items: any(text in s.message for s in statuses(items))


def beat(index: int) -> bytes:
    return encode_hrm(60 + index % 30, rr_raw=(900 + index,), contact=SensorContact.CONTACT)


# -- the streams ---------------------------------------------------------------------------
def test_ecg_and_acc_frames_arrive_byte_exact_after_the_heart_rate_stream(
    central, make_h10, recording
):
    strap = make_h10()
    source = make_source(central, strap)
    source.start()
    try:
        items = collect(source, subscribed)
        assert strap.notify(beat(1))
        items += collect(source, has_frames(ecg=6, acc=12))
        # The order on the strap: heart rate first, then features, indications and
        # notifications, and only then the commands (ECG, then the accelerometer).
        log = strap.log()
        assert log[:6] == [
            "hr notify on",
            "features read",
            "pmd indicate on",
            "pmd notify on",
            f"command {START_ECG.hex()}",
            f"command {START_ACC.hex()}",
        ]
        assert strap.link_mtu() == PMD_MIN_MTU  # BlueZ asks 517; the H10 gives 232
        # Byte-exact, in order, none lost, each stamped on arrival.
        for stream in (PmdStream.ECG, PmdStream.ACC):
            got = [f.payload for f in frames(items, stream)]
            assert got == strap.frames_sent(stream)[: len(got)]
        host_ns = [f.host_ns for f in frames(items)]
        assert host_ns == sorted(host_ns) and len(set(host_ns)) == len(host_ns)
        assert {f.source_id for f in frames(items)} == {strap.address}
        # The ECG is the real recording (µV), 73 samples a frame, on the strap's clock.
        first = decode_frame(frames(items, PmdStream.ECG)[0].payload)
        assert first.n_samples == ECG_SAMPLES_PER_FRAME
        end = int(np.searchsorted(recording.strap_ns, first.strap_ns))
        assert recording.strap_ns[end] == first.strap_ns
        np.testing.assert_array_equal(
            first.samples, recording.samples[end - ECG_SAMPLES_PER_FRAME + 1 : end + 1]
        )
        acc = decode_frame(frames(items, PmdStream.ACC)[0].payload)
        assert acc.samples.shape[1] == 3 and 900 < np.linalg.norm(acc.samples.mean(0)) < 1100
        # The first frame comes after the heart-rate stream's STREAMING event.
        first_frame = items.index(frames(items)[0])
        assert any(
            s.details.get("step") == "waiting for beats" for s in statuses(items[:first_frame])
        )
        # What the strap offers, and each stream's state, for the strap dialog.
        assert source.offers == {"HR", "RR", "ECG", "ACC"}
        last = statuses(items)[-1].details
        assert last["offers"] == "HR,RR,ECG,ACC"
        assert (last["ecg"], last["acc"]) == ("arriving", "arriving")
        assert said("ECG frames are arriving.")(items)
        assert said("Accelerometer frames are arriving.")(items)
        assert packets(items)[0].payload == beat(1)
    finally:
        source.stop()


def test_streams_already_running_count_as_started(central, make_h10):
    strap = make_h10()
    strap.already_running(PmdStream.ECG, PmdStream.ACC)
    source = make_source(central, strap)
    source.start()
    try:
        items = collect(source, has_frames(ecg=2, acc=2))
        assert strap.responses[:2] == [
            bytes((0xF0, 2, 0, PmdStatus.ALREADY_IN_STATE, 0)),
            bytes((0xF0, 2, 2, PmdStatus.ALREADY_IN_STATE, 0)),
        ]
        assert not any("refused" in s.message or "could not" in s.message for s in statuses(items))
    finally:
        source.stop()


def test_ecg_that_starts_late_is_waited_for_while_beats_go_on(central, make_h10):
    delay_s = 1.5  # an H10 takes 20-30 s; the same handling in test time
    strap = make_h10(ecg_delay_s=delay_s)
    # The heart-rate silence bound is shorter than the ECG's delay: silence on a raw stream
    # must not count.
    source = make_source(central, strap, silence_timeout_s=1.0)
    source.start()
    try:
        items = collect(source, said("ECG started"))
        started = statuses(items)[-1]
        assert started.message == "ECG started; its first frames can take 20 to 30 s."
        assert started.details["ecg"] == "waiting"
        sent = 0
        # Beats go on meanwhile, paced by the accelerometer's frames (every 4th).
        while not frames(items, PmdStream.ECG):
            item = source.get(WAIT_S)
            assert item is not None
            items.append(item)
            if isinstance(item, PmdFrame) and len(frames(items, PmdStream.ACC)) % 4 == 0:
                assert strap.notify(beat(sent))
                sent += 1
        first_ecg = frames(items, PmdStream.ECG)[0]
        assert (first_ecg.host_ns - started.host_ns) / 1e9 >= delay_s - 0.1
        # On the strap's clock too: the ECG begins that much after the accelerometer.
        late_ns = (
            decode_frame(first_ecg.payload).strap_ns
            - decode_frame(frames(items, PmdStream.ACC)[0].payload).strap_ns
        )
        assert late_ns / 1e9 >= 0.8 * delay_s * SPEED
        assert sent >= 3 and len(packets(items)) >= sent - 1
        assert LinkState.RECONNECTING not in [s.state for s in statuses(items)]
        assert strap.connection_attempts == 1 and source.error is None
        items += collect(source, said("ECG frames are arriving."))
        assert statuses(items)[-1].details["ecg"] == "arriving"
    finally:
        source.stop()


# -- refusals and straps without PMD ----------------------------------------------------------
@pytest.mark.parametrize(
    ("refused", "status", "sentence", "key", "other"),
    [
        (
            PmdStream.ECG,
            PmdStatus.DEVICE_IN_CHARGER,
            "The strap refused ECG: it is in its charger.",
            "ecg",
            PmdStream.ACC,
        ),
        (
            PmdStream.ACC,
            PmdStatus.INVALID_STATE,
            "The strap refused the accelerometer: it is not in a state to do that.",
            "acc",
            PmdStream.ECG,
        ),
    ],
)
def test_a_refused_stream_is_said_and_rr_keeps_streaming(
    central, make_h10, refused, status, sentence, key, other
):
    strap = make_h10()
    strap.refuse(refused, status)
    source = make_source(central, strap)
    source.start()
    try:
        items = collect(source, said(sentence))
        refusal = statuses(items)[-1]
        assert refusal.details[key] == "refused" and refusal.state == LinkState.STREAMING
        assert refusal.message == sentence  # one plain sentence
        # The other stream runs and the heart rate goes on.
        items += collect(source, lambda got: len(frames(got, other)) >= 2)
        assert not frames(items, refused)
        for index in range(3):
            assert strap.notify(beat(index))
        items += collect(source, lambda got: len(packets(got)) >= 3)
        assert [p.payload for p in packets(items)] == [beat(i) for i in range(3)]
        assert source.state == LinkState.STREAMING and source.error is None
        assert strap.connection_attempts == 1
    finally:
        source.stop()
    # On stop, only the stream that started is stopped.
    assert strap.commands_received() == [START_ECG, START_ACC, stop_command(other)]


def test_a_strap_without_pmd_streams_heart_rate_as_before(central, make_h10):
    strap = make_h10(pmd=False)
    source = make_source(central, strap)
    source.start()
    try:
        items = collect(source, subscribed)
        services_read = next(s for s in statuses(items) if s.details.get("step") == "services read")
        assert (services_read.details["ecg"], services_read.details["acc"]) == (
            "not offered",
            "not offered",
        )
        for index in range(3):
            assert strap.notify(beat(index))
        items += collect(source, lambda got: len(packets(got)) >= 3)
        assert [p.payload for p in packets(items)] == [beat(i) for i in range(3)]
        assert source.offers == {"HR", "RR"}
        assert not frames(items) and strap.commands_received() == []
    finally:
        source.stop()
    assert not frames(source.drain())


def test_raw_streams_turned_off_start_nothing(central, make_h10):
    strap = make_h10()
    source = make_source(central, strap, raw_streams=False)
    source.start()
    try:
        items = collect(source, said("ECG and the accelerometer are turned off."))
        assert (statuses(items)[-1].details["ecg"], statuses(items)[-1].details["acc"]) == (
            "off",
            "off",
        )
        assert source.offers == {"HR", "ECG", "ACC"}  # offered, not used
        assert strap.notify(beat(1))
        items += collect(source, lambda got: len(packets(got)) >= 1)
        assert strap.commands_received() == [] and not frames(items)
    finally:
        source.stop()
    assert strap.commands_received() == []  # nothing to stop either


def test_mtu_below_232_is_said_and_rr_keeps_streaming(air, central, make_h10):
    strap = make_h10(max_mtu=185)
    source = make_source(central, strap)
    source.start()
    try:
        sentence = (
            "ECG and the accelerometer are off: this Bluetooth link's packets are too small "
            "(MTU 185; the strap needs 232)."
        )
        items = collect(source, said(sentence))
        details = statuses(items)[-1].details
        assert (details["ecg"], details["acc"]) == ("failed", "failed")
        assert strap.commands_received() == []  # never asked for what cannot fit
        assert strap.notify(beat(1))
        items += collect(source, lambda got: len(packets(got)) >= 1)
        assert source.state == LinkState.STREAMING and source.error is None
    finally:
        source.stop()


# -- drops, lost frames, stopping ---------------------------------------------------------------
def test_a_drop_mid_stream_reconnects_and_starts_the_raw_streams_again(central, make_h10):
    strap = make_h10()
    source = make_source(central, strap)
    source.start()
    try:
        items = collect(source, has_frames(ecg=3, acc=3))
        assert strap.drop_link()
        after = collect(
            source, lambda got: any(s.state == LinkState.RECONNECTING for s in statuses(got))
        )
        after += collect(source, subscribed)
        after += collect(source, has_frames(ecg=3, acc=3))
        assert statuses(after)[0].details == {"cause": "dropped"}
        # Started again on the new link (no stop was possible on a dropped link).
        assert strap.commands_received() == [START_ECG, START_ACC, START_ECG, START_ACC]
        assert strap.connection_attempts == 2
        # Every frame received is one the strap sent, once, in order, across the drop.
        for stream in (PmdStream.ECG, PmdStream.ACC):
            got = [f.payload for f in frames(items + after, stream)]
            sent = strap.frames_sent(stream)
            assert len(set(got)) == len(got) and all(p in sent for p in got)
            assert [sent.index(p) for p in got] == sorted(sent.index(p) for p in got)
        assert said("ECG frames are arriving.")(after)  # said again for the new link
    finally:
        source.stop()


def test_lost_frames_show_as_a_gap_in_strap_time_and_the_stream_goes_on(central, make_h10):
    strap = make_h10()
    source = make_source(central, strap)
    source.start()
    try:
        items = collect(source, has_frames(ecg=2, acc=0))
        strap.lose_frames(PmdStream.ECG, 3)
        items += collect(source, lambda got: len(frames(got, PmdStream.ECG)) >= 4)
        ecg = frames(items, PmdStream.ECG)
        lost = strap.frames_lost(PmdStream.ECG)
        assert len(lost) == 3 and not {f.payload for f in ecg} & set(lost)
        strap_ns = np.array([decode_frame(f.payload).strap_ns for f in ecg])
        frame_ns = ECG_SAMPLES_PER_FRAME * 1e9 / 130
        steps = np.diff(strap_ns) / frame_ns
        # One step of about four frames (three lost), every other about one.
        assert np.sum(np.abs(steps - 4) < 0.1) == 1
        assert np.all((np.abs(steps - 1) < 0.1) | (np.abs(steps - 4) < 0.1))
        assert source.state == LinkState.STREAMING and source.error is None
        assert strap.notify(beat(1))
        items += collect(source, lambda got: len(packets(got)) >= 1)
    finally:
        source.stop()


def test_stop_stops_the_raw_streams_before_disconnecting(central, make_h10):
    strap = make_h10()
    source = make_source(central, strap)
    source.start()
    collect(source, has_frames(ecg=1, acc=1))
    source.stop()
    assert strap.idle.wait(WAIT_S)
    log = [entry for entry in strap.log() if entry.startswith(("command", "link"))]
    assert log[-3:] == [f"command {STOP_ECG.hex()}", f"command {STOP_ACC.hex()}", "link down"]
    assert strap.commands_received() == [START_ECG, START_ACC, STOP_ECG, STOP_ACC]
    assert strap.responses[-2:] == [bytes((0xF0, 3, 0, 0, 0)), bytes((0xF0, 3, 2, 0, 0))]
    assert [s.state for s in statuses(source.drain())][-1] == LinkState.DISCONNECTED


def test_stop_while_the_ecg_is_still_late_stops_it_too(central, make_h10):
    strap = make_h10(ecg_delay_s=30.0)
    source = make_source(central, strap)
    source.start()
    collect(source, lambda items: said("ECG started")(items) and said("The acc")(items))
    source.stop()
    assert strap.idle.wait(WAIT_S)
    assert strap.commands_received() == [START_ECG, START_ACC, STOP_ECG, STOP_ACC]
    assert strap.sent[PmdStream.ECG] == []  # it never sent one, and will not


def test_a_control_point_that_never_answers_is_said_and_rr_keeps_streaming(central, make_h10):
    strap = make_h10()
    strap.mute_control_point()
    source = make_source(central, strap, pmd_timeout_s=0.3)
    source.start()
    try:
        sentence = (
            "ECG and the accelerometer could not be started: the strap did not answer within 0.3 s."
        )
        items = collect(source, said(sentence))
        details = statuses(items)[-1].details
        assert (details["ecg"], details["acc"]) == ("failed", "failed")
        assert strap.notify(beat(1))
        items += collect(source, lambda got: len(packets(got)) >= 1)
        assert source.state == LinkState.STREAMING and strap.connection_attempts == 1
    finally:
        source.stop()  # the unanswered ECG start is stopped too, within its bound
    assert strap.commands_received() == [START_ECG, STOP_ECG]


def test_frames_that_stop_mid_stream_are_said_and_said_again_when_back(central, make_h10):
    strap = make_h10()
    source = make_source(central, strap, raw_silence_s=0.5)
    source.start()
    try:
        items = collect(source, has_frames(ecg=2, acc=2))
        strap.stall(PmdStream.ECG)  # a PMD drop-out: the heart rate and ACC go on
        items = collect(source, said("ECG frames have stopped arriving"))
        stalled = statuses(items)[-1]
        assert (
            stalled.message == "ECG frames have stopped arriving for 0.5 s; the heart rate goes on."
        )
        assert (stalled.details["ecg"], stalled.details["acc"]) == ("stalled", "arriving")
        assert stalled.state == LinkState.STREAMING
        assert strap.notify(beat(1))
        items = collect(source, lambda got: len(packets(got)) >= 1)
        strap.unstall(PmdStream.ECG)
        items = collect(source, said("ECG frames are arriving again."))
        assert statuses(items)[-1].details["ecg"] == "arriving"
        assert strap.connection_attempts == 1 and source.error is None
    finally:
        source.stop()
