"""A group session over Bluetooth, end to end: emulated straps on one bumble air, bleak's
real front end on one shared loop, the GroupController, and a real SQLite library.

Each strap's RR values lie in its own band and count on, so a beat stored in another
participant's session, or lost while its strap was linked, shows in the library itself.
Straps are dropped one at a time while the others stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
from devices.packet import SensorContact
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_strap import EmulatedStrap
from tests.support.group_rig import strap_address
from trm_bio.group import Connection, GroupController, Participant
from trm_bio.sources import open_group_sources
from trm_bio.store.library import Library

WAIT_S = 15.0
PEOPLE = [Participant("A"), Participant("B"), Participant("C")]


@pytest.fixture
def air() -> Iterator[Air]:
    air = Air()
    yield air
    air.close()


def test_no_beat_crosses_between_sessions_and_none_is_lost_while_linked(
    air: Air, tmp_path: Path
) -> None:
    central = BumbleCentral(air)
    straps = [
        EmulatedStrap(air, name=f"Group Strap {i + 1}", address=strap_address(i))
        for i in range(len(PEOPLE))
    ]
    sources, on_stop = open_group_sources(
        "ble",
        [strap.address for strap in straps],
        ble_options={
            "scanner_backend": central.scanner_backend,
            "client_backend": central.client_backend,
            "min_backoff_s": 0.01,
            "max_backoff_s": 0.1,
            "scan_timeout_s": 5.0,
            "connect_timeout_s": 5.0,
        },
    )
    sent: list[list[int]] = [[] for _ in straps]

    def send_round() -> None:
        for index, strap in enumerate(straps):
            # A plausible interval (0.68-1.16 s) in the strap's own band, counting on.
            raw = 700 + 100 * index + len(sent[index]) % 80
            if strap.notify(encode_hrm(60 + index, (raw,), contact=SensorContact.CONTACT)):
                sent[index].append(raw)  # it went out on a subscribed link

    def run_until(done: object, sending: bool = True) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():  # type: ignore[operator]
            assert time.monotonic() < deadline, [v.connection for v in group.views()]
            if sending:
                send_round()
            sources[0].wait(0.02)  # awaited, not slept: any strap's item wakes the loop
            group.poll()

    with Library.open(tmp_path / "library.sqlite3") as library:
        group = GroupController(library)
        group_id = group.start_live(sources, PEOPLE, source_kind="ble", on_stop=on_stop)
        run_until(lambda: all(v.connection is Connection.LIVE for v in group.views()))
        for drop in range(6):  # spread over the straps, the others streaming meanwhile
            strap = straps[drop % len(straps)]
            assert strap.drop_link()
            run_until(lambda s=strap: not s.subscribed.is_set() or s.idle.is_set())
            run_until(lambda s=strap: s.subscribed.is_set())

        def taken(index: int) -> int:
            session = group.members[index].session
            assert session is not None
            return session.packets_seen

        # Everything sent has reached its session (a lost beat would keep this waiting).
        run_until(
            lambda: all(taken(i) >= len(sent[i]) for i in range(len(straps))), sending=False
        )
        kept = group.stop()
        assert group_id is not None and len(kept) == len(straps)
        for index, session_id in enumerate(kept):
            packets = library.session_packets(session_id)
            assert set(packets.source_ids) == {straps[index].address}
            payloads = packets.payloads
            received = [
                rr_ms_to_raw(rr)
                for payload in payloads
                for rr in packet_from_payload(payload, 0, "").rr_ms
            ]
            # Only this strap's beats, each once, in order, none missing.
            assert received == sent[index], index
            assert {p[1] for p in payloads} == {60 + index}  # its heart-rate byte
            assert len(received) >= 10  # at least the beats after its last drop
