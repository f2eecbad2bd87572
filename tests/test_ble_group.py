"""Several straps on one Bluetooth adapter and one event loop: a group session's straps.

Four emulated straps on one bumble air, one central, a :class:`devices.strap_group.StrapGroup`
of four :class:`devices.ble.BleStrap` on one shared loop. Each strap's RR values carry its
number and a running count (tests/support/group_rig.py), so a beat that reached the wrong
participant, or never arrived, is seen. Items are awaited through ``Source.get``, never slept
for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devices.ble import BleStrap
from devices.hrm import encode_hrm, packet_from_payload
from devices.packet import LinkState, SensorContact, StatusEvent
from devices.strap_group import StrapGroup
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_strap import EmulatedStrap
from tests.support.group_rig import DROP_KINDS, RR_BAND, GroupRig
from trm_bio.errors import TrmBioError
from trm_bio.sources import GroupSources, open_group_sources

WAIT_S = 10.0


@pytest.fixture
def air() -> Iterator[Air]:
    air = Air()
    yield air
    air.close()


@pytest.fixture
def rig(air: Air) -> Iterator[GroupRig]:
    rig = GroupRig(air, count=4, connect_timeout_s=5.0, scan_timeout_s=5.0)
    yield rig
    rig.close()


def test_four_straps_start_together_on_one_loop_without_a_failed_attempt(rig):
    rig.start()
    rig.wait_all_streaming(WAIT_S)
    loops = {strap._loop_thread for strap in rig.group}
    assert loops == {rig.group.loop_thread}  # one loop for all four
    # BlueZ gives one D-Bus client (bleak: one per loop) one scan at a time: the straps took
    # turns, so no start was answered InProgress and none had to be retried.
    assert rig.central.in_progress_answers == 0
    for track in rig.tracks:
        assert LinkState.RECONNECTING not in [e.state for e in track.events]
    rig.send_round()
    rig.settle(WAIT_S)
    rig.assert_no_crossed_and_no_lost()


def test_drops_spread_over_straps_cross_nothing_lose_nothing_and_leave_the_rest_alone(rig):
    rig.start()
    rig.wait_all_streaming(WAIT_S)
    # Twelve drops, one strap at a time, every kind on every strap in turn.
    plan = [(i % 4, DROP_KINDS[i % len(DROP_KINDS)]) for i in range(12)]
    for index, kind in plan:
        rig.send_round()
        rig.drop(index, kind, WAIT_S)
    rig.send_round()
    rig.settle(WAIT_S)
    rig.assert_no_crossed_and_no_lost()
    rig.assert_reconnecting_only_when_dropped()
    for index in range(4):
        assert rig.tracks[index].drops == 3
        assert rig.tracks[index].sent_linked() > 12  # each kept streaming through the rest


def test_a_connect_answered_in_progress_is_retried(rig):
    # BlueZ answers InProgress to a Connect while another connection is being made.
    rig.central.answer_in_progress(2)
    rig.start()
    rig.wait_all_streaming(3 * WAIT_S)
    assert rig.central.in_progress_answers == 2
    retried = [
        e
        for track in rig.tracks
        for e in track.events
        if e.state == LinkState.RECONNECTING and "Operation already in progress" in e.message
    ]
    assert len(retried) == 2
    assert all(e.details == {"cause": "failed attempt"} for e in retried)
    rig.send_round()
    rig.settle(WAIT_S)
    rig.assert_no_crossed_and_no_lost()


def test_stopping_one_strap_ends_only_that_strap(rig):
    rig.start()
    rig.wait_all_streaming(WAIT_S)
    first = rig.group.strap(0)
    first.stop()
    assert rig.emulated[0].idle.wait(WAIT_S)  # its link closed
    rest = rig.drain(0)
    assert [e.state for e in rest if isinstance(e, StatusEvent)][-1] == LinkState.DISCONNECTED
    assert rig.group.loop_thread.thread.is_alive()  # the shared loop runs on
    for index in (1, 2, 3):
        assert rig.emulated[index].connected.is_set()
    rig.tracks[0].retired = True
    for _ in range(3):
        rig.send_round()
    rig.settle(WAIT_S)
    rig.assert_no_crossed_and_no_lost()
    rig.assert_reconnecting_only_when_dropped()
    rig.group.stop()
    assert not rig.group.loop_thread.thread.is_alive()
    for strap in rig.emulated:
        assert strap.idle.wait(WAIT_S)


def test_restart_reconnects_one_strap_while_the_others_stream_on(rig):
    rig.start()
    rig.wait_all_streaming(WAIT_S)
    rig.send_round()
    old = rig.group.strap(2)
    rig.settle(WAIT_S)
    sent_before = [len(track.sent) for track in rig.tracks]
    new = rig.group.restart(2)
    assert isinstance(new, BleStrap) and new is not old and rig.group.strap(2) is new
    assert new._loop_thread is rig.group.loop_thread
    assert old.state == LinkState.DISCONNECTED
    rig.swap_source(2, new)  # the old source's last items are taken first
    assert rig.tracks[2].events[-1].state == LinkState.DISCONNECTED
    # The others stream on while the new strap scans and connects.
    deadline = time.monotonic() + WAIT_S
    while not rig.tracks[2].streaming:
        assert time.monotonic() < deadline, "the restarted strap did not stream again"
        rig.paced_round(2)
    for index in (0, 1, 3):  # streamed all through the restart
        assert len(rig.tracks[index].sent) > sent_before[index]
    for _ in range(3):
        rig.send_round()
    rig.settle(WAIT_S)
    rig.assert_no_crossed_and_no_lost()
    rig.assert_reconnecting_only_when_dropped()
    assert rig.emulated[2].connection_attempts == 2
    for index in (0, 1, 3):
        assert rig.emulated[index].connection_attempts == 1


def test_a_group_refuses_the_same_strap_twice_and_a_wrong_size(air):
    central = BumbleCentral(air)
    options = {"scanner_backend": central.scanner_backend, "client_backend": central.client_backend}
    with pytest.raises(ValueError, match="given twice"):
        StrapGroup(["C0:00:00:00:00:01", "c0:00:00:00:00:01"], **options)
    with pytest.raises(ValueError, match="1 to 8 straps, not 0"):
        StrapGroup([], **options)
    with pytest.raises(ValueError, match="1 to 8 straps, not 9"):
        StrapGroup([f"C0:00:00:00:00:{i:02X}" for i in range(9)], **options)


def test_open_group_sources_puts_the_straps_on_one_loop_and_stops_it(air):
    straps = [
        EmulatedStrap(air, name=f"Strap {i}", address=f"C0:00:00:00:02:0{i}") for i in (1, 2)
    ]
    central = BumbleCentral(air)
    options = {
        "scanner_backend": central.scanner_backend,
        "client_backend": central.client_backend,
        "min_backoff_s": 0.01,
    }
    sources, on_stop = open_group_sources("ble", [s.address for s in straps], ble_options=options)
    assert on_stop == sources.stop
    assert isinstance(sources, GroupSources) and len(sources) == 2
    group = sources.strap_group
    assert group is not None and list(sources) == group.straps
    sources.start()
    try:
        for source, strap in zip(sources, straps, strict=True):
            assert strap.subscribed.wait(WAIT_S)
            assert source._loop_thread is group.loop_thread
        new = sources.restart(1)
        assert sources[1] is new and group.strap(1) is new
        assert new.get(WAIT_S) is not None  # the new strap is at work on the shared loop
    finally:
        sources.stop()
    assert not group.loop_thread.thread.is_alive()
    for strap in straps:
        assert strap.idle.wait(WAIT_S)


@pytest.mark.parametrize(
    ("targets", "words"),
    [
        (["C0:00:00:00:02:01", "c0:00:00:00:02:01"], "given twice"),
        (["Strap A", "Strap A"], "given twice"),
        ([], "1 to 8 straps, not 0"),
        ([f"Strap {i}" for i in range(9)], "1 to 8 straps, not 9"),
    ],
)
def test_a_bad_strap_group_is_one_sentence(targets, words):
    with pytest.raises(TrmBioError) as caught:
        open_group_sources("ble", targets)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_the_rig_would_see_a_crossed_and_a_lost_beat(rig):
    # The bookkeeping the group tests and the benchmark rely on can fail.
    track = rig.tracks[0]
    own, other = RR_BAND * 1 + 7, RR_BAND * 2 + 7  # strap 1's band, strap 2's band
    payload = encode_hrm(60, (own, other), contact=SensorContact.CONTACT)
    track.packets.append(packet_from_payload(payload, 1, track.address))
    track.sent.extend([own, own + 1])
    assert track.crossed() == 1 and track.lost() == 1
    with pytest.raises(AssertionError):
        rig.assert_no_crossed_and_no_lost()
    stranger = packet_from_payload(encode_hrm(60, (own + 1,)), 2, rig.tracks[1].address)
    track.packets.append(stranger)  # strap 1's value, but another strap's id
    assert track.crossed() == 2


def test_a_strap_out_of_reach_holds_no_other_straps_connection_back(air):
    # Participant 1's strap is switched off: it looks for the whole of its long scan
    # timeout, again and again. The others connect, and reconnect after a drop, within a
    # few short scan turns, not after its timeout.
    central = BumbleCentral(air)
    present = [
        EmulatedStrap(air, name=f"Present {i}", address=f"C0:00:00:00:03:{i + 1:02X}")
        for i in range(2)
    ]
    group = StrapGroup(
        ["C0:00:00:00:03:FF", *(strap.address for strap in present)],
        scanner_backend=central.scanner_backend,
        client_backend=central.client_backend,
        min_backoff_s=0.01,
        max_backoff_s=0.1,
        scan_timeout_s=60.0,
    )
    try:
        group.start()
        for strap in present:
            assert strap.subscribed.wait(WAIT_S), "held back by the absent strap's scan"
        assert present[0].drop_link()
        assert present[0].idle.wait(WAIT_S)
        assert present[0].subscribed.wait(WAIT_S), "its reconnection waited for the absent one"
    finally:
        group.stop()
