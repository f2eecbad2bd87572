"""A group of emulated straps on one air, and the bookkeeping that finds a crossed or lost beat.

:class:`GroupRig` puts ``count`` :class:`EmulatedStrap` (distinct names and addresses) on one
:class:`Air`, one :class:`BumbleCentral`, and a :class:`devices.strap_group.StrapGroup` of
:class:`devices.ble.BleStrap` on one shared loop. Strap ``i`` (0-based) notifies RR values
``RR_BAND * (i + 1) + n`` (1/1024 s units) with ``n`` its own running count, so the strap a
beat came from is in the beat itself. Everything is driven from the test thread: sending a
round of beats, dropping one strap in one of :data:`DROP_KINDS`, and pumping the sources
(``Source.get`` with a timeout: items are awaited, never slept for). Used by
tests/test_ble_group.py and bench/bench_group_links.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from devices.ble import BleStrap
from devices.hrm import encode_hrm, rr_ms_to_raw
from devices.packet import LinkState, Packet, SensorContact, StatusEvent
from devices.strap_group import StrapGroup
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_strap import EmulatedStrap

#: RR values of strap i lie in [RR_BAND * (i + 1), RR_BAND * (i + 2)); 8 straps stay in uint16.
RR_BAND = 5000

#: How one strap is dropped: the link goes (it advertises again at once); it goes out of
#: reach and comes back once its source says it is reconnecting; the link goes and the next
#: two connections are refused; the link goes and the next two are dropped during set-up.
DROP_KINDS = ("drop_link", "go_away", "refuse", "setup_drop")

#: At most one round of beats this often while waiting for a strap (s): 50 beats/s a strap,
#: fast for a test and still far inside a strap's RR band however long a reconnection takes.
ROUND_S = 0.02



def strap_address(index: int) -> str:
    """The emulated address of strap ``index`` (random static: top bits set)."""
    return f"C0:00:00:00:01:{index + 1:02X}"


def rr_raw(packet: Packet) -> list[int]:
    """The packet's RR values in the strap's own units (1/1024 s)."""
    return [rr_ms_to_raw(value) for value in packet.rr_ms]


@dataclass
class Track:
    """What one participant's strap sent and what its source delivered."""

    index: int
    address: str
    source: BleStrap
    sent: list[int] = field(default_factory=list)  # RR raw notified on a subscribed link
    packets: list[Packet] = field(default_factory=list)
    events: list[StatusEvent] = field(default_factory=list)
    subscriptions: int = 0  # STREAMING events right after CONNECTED: a new subscription
    subscribed_ns: int = 0  # host time of the latest of them
    reconnects: int = 0  # RECONNECTING events seen
    drops: int = 0
    #: (start, end) host monotonic ns of each drop: from the drop to the new subscription.
    windows: list[tuple[int, int]] = field(default_factory=list)
    #: Seconds from the strap being reachable again to the new subscription, per drop.
    reconnect_s: list[float] = field(default_factory=list)
    retired: bool = False  # stopped on purpose: no more beats are sent to it

    @property
    def streaming(self) -> bool:
        """Whether the source's latest link state is STREAMING (a subscription stands)."""
        states = [e.state for e in self.events if e.state != LinkState.CONTACT_LOST]
        return bool(states) and states[-1] == LinkState.STREAMING

    def received(self) -> list[int]:
        """Every RR value the source delivered, in order."""
        return [raw for packet in self.packets for raw in rr_raw(packet)]

    def sent_linked(self) -> int:
        """Beats notified while the strap was linked and subscribed."""
        return len(self.sent)

    def crossed(self) -> int:
        """Beats this source delivered that another strap sent (or with another's id)."""
        band = self.index + 1
        wrong = sum(1 for raw in self.received() if raw // RR_BAND != band)
        return wrong + sum(len(p.rr_ms) for p in self.packets if p.source_id != self.address)

    def lost(self) -> int:
        """Beats notified while linked that the source did not deliver."""
        got = set(self.received())
        return sum(1 for raw in self.sent if raw not in got)


class GroupRig:
    """``count`` emulated straps, one central and a StrapGroup of BleStraps on one loop.

    Parameters
    ----------
    air : Air
        The shared radio space (the caller closes it).
    count : int
        Straps (1 to 8).
    **strap_options
        BleStrap bounds, over these defaults: backoff 0.01-0.1 s, scan timeout 5 s.
    """

    def __init__(self, air: Air, count: int, **strap_options: Any) -> None:
        self.air = air
        self.central = BumbleCentral(air)
        self.emulated = [
            EmulatedStrap(air, name=f"Group Strap {i + 1}", address=strap_address(i))
            for i in range(count)
        ]
        options: dict[str, Any] = {"min_backoff_s": 0.01, "max_backoff_s": 0.1}
        options.update(strap_options)
        self.group = StrapGroup(
            [strap.address for strap in self.emulated],
            scanner_backend=self.central.scanner_backend,
            client_backend=self.central.client_backend,
            **options,
        )
        self.tracks = [
            Track(i, strap.address, self.group.strap(i)) for i, strap in enumerate(self.emulated)
        ]
        self._next_round = 0.0  # monotonic time (s) the next paced round is due
        self.all_streaming_ns = 0  # host time every strap had first subscribed by

    # -- driving -------------------------------------------------------------------------
    def start(self) -> None:
        """Start every strap at once."""
        self.group.start()

    def close(self) -> None:
        """Stop the group (its straps and loop)."""
        self.group.stop()

    def send_round(self) -> None:
        """One beat from every strap still in use; a beat counts as sent when it went out
        on a subscribed link."""
        for track, strap in zip(self.tracks, self.emulated, strict=True):
            if track.retired:
                continue
            raw = RR_BAND * (track.index + 1) + len(track.sent)
            assert len(track.sent) < RR_BAND, "the strap's RR band is used up"
            payload = encode_hrm(60 + track.index, (raw,), contact=SensorContact.CONTACT)
            if strap.notify(payload):
                track.sent.append(raw)

    def paced_round(self, index: int) -> None:
        """Send a round if one is due, else await strap ``index``'s items until it is."""
        now = time.monotonic()
        if now >= self._next_round:
            self.send_round()
            self._next_round = now + ROUND_S
        self.pump(index, max(0.0, self._next_round - time.monotonic()))

    def _record(self, track: Track, item: object) -> None:
        if isinstance(item, Packet):
            track.packets.append(item)
        elif isinstance(item, StatusEvent):
            # The subscription's own STREAMING event says "waiting for beats", or "beats
            # arriving" when a beat came with the subscription: it is the one after CONNECTED.
            after_connected = bool(track.events) and track.events[-1].state == LinkState.CONNECTED
            track.events.append(item)
            if item.state == LinkState.RECONNECTING:
                track.reconnects += 1
            elif item.state == LinkState.STREAMING and after_connected:
                track.subscriptions += 1
                track.subscribed_ns = item.host_ns

    def drain(self, index: int) -> list[object]:
        """Take every waiting item of strap ``index``'s source into its track."""
        track = self.tracks[index]
        items: list[object] = list(track.source.drain())
        for item in items:
            self._record(track, item)
        return items

    def pump(self, index: int, timeout_s: float) -> None:
        """Await strap ``index``'s next item (up to ``timeout_s``), then take all waiting."""
        track = self.tracks[index]
        item = track.source.get(timeout_s)
        if item is not None:
            self._record(track, item)
        for other in range(len(self.tracks)):
            self.drain(other)

    def swap_source(self, index: int, source: BleStrap) -> None:
        """Strap ``index`` is now delivered by ``source`` (after ``StrapGroup.restart``)."""
        self.drain(index)
        self.tracks[index].source = source

    def wait_all_streaming(self, within_s: float) -> None:
        """Until every strap's source has subscribed once; fails after ``within_s``."""
        deadline = time.monotonic() + within_s
        for index, track in enumerate(self.tracks):
            while track.subscriptions == 0:
                assert time.monotonic() < deadline, f"strap {index + 1} is not streaming"
                failed = [e for e in track.events if e.state == LinkState.FAILED]
                assert not failed, failed[0].message
                self.pump(index, 0.1)
        self.all_streaming_ns = time.monotonic_ns()

    def drop(self, index: int, kind: str, within_s: float) -> None:
        """Drop strap ``index`` in one of :data:`DROP_KINDS` and, sending rounds of beats to
        every strap meanwhile, wait until its source has subscribed again."""
        track, strap = self.tracks[index], self.emulated[index]
        for other in range(len(self.tracks)):
            self.drain(other)
        reconnects, subscriptions = track.reconnects, track.subscriptions
        deadline = time.monotonic() + within_s
        start_ns = time.monotonic_ns()
        if kind == "drop_link":
            assert strap.drop_link()
        elif kind == "refuse":
            strap.refuse_connections(2)
            assert strap.drop_link()
        elif kind == "setup_drop":
            strap.drop_during_setup("discovery", "cccd")
            assert strap.drop_link()
        elif kind == "go_away":
            strap.go_away()
            while track.reconnects == reconnects:
                assert time.monotonic() < deadline, f"strap {index + 1}: no reconnecting"
                self.paced_round(index)
            strap.come_back()
        else:
            raise ValueError(f"unknown drop kind {kind!r}; one of {', '.join(DROP_KINDS)}")
        reachable_ns = time.monotonic_ns()
        while track.subscriptions == subscriptions:
            assert time.monotonic() < deadline, (
                f"strap {index + 1} did not come back ({kind}): "
                + " / ".join(f"{e.state.value}: {e.message}" for e in track.events[-6:])
            )
            failed = [e for e in track.events if e.state == LinkState.FAILED]
            assert not failed, failed[0].message
            self.paced_round(index)
        assert track.reconnects > reconnects, f"strap {index + 1}: the drop was not seen"
        back_ns = track.subscribed_ns
        track.drops += 1
        track.windows.append((start_ns, back_ns))
        track.reconnect_s.append(max(0.0, (back_ns - reachable_ns) / 1e9))

    def settle(self, within_s: float) -> None:
        """Until every source has delivered every beat sent to it, or ``within_s`` passed
        (then the lost beats show in :meth:`Track.lost`)."""
        deadline = time.monotonic() + within_s
        for index, track in enumerate(self.tracks):
            while len(track.received()) < len(track.sent) and time.monotonic() < deadline:
                self.pump(index, 0.05)
        for index in range(len(self.tracks)):
            self.drain(index)

    # -- checks --------------------------------------------------------------------------
    def assert_no_crossed_and_no_lost(self) -> None:
        """Every beat a source got came from its own strap, and every beat sent while linked
        arrived once, in order."""
        for track in self.tracks:
            assert track.crossed() == 0, f"strap {track.index + 1} got another's beats"
            assert track.received() == track.sent, f"strap {track.index + 1} lost beats"

    def unasked_reconnections(self) -> list[StatusEvent]:
        """RECONNECTING events, once every strap streamed, outside the strap's own drops."""
        return [
            event
            for track in self.tracks
            for event in track.events
            if event.state == LinkState.RECONNECTING
            and event.host_ns > self.all_streaming_ns
            and not any(a <= event.host_ns <= b for a, b in track.windows)
        ]

    def assert_reconnecting_only_when_dropped(self) -> None:
        """No source said RECONNECTING, once every strap streamed, outside its own drops."""
        unasked = self.unasked_reconnections()
        assert not unasked, f"{unasked[0].source_id} reconnected unasked: {unasked[0].message}"
