"""A stored session as a source: its packets, PMD frames and events again, with their times.

:class:`ReplaySource` implements the devices' source interface, so the session pipeline
cannot tell a replay from a live strap (the mne-lsl model): the same packets and PMD frames
(a Polar strap's ECG and accelerometer, byte for byte), the same connection changes at the
same host times, hence the same beats and metrics bit for bit.
Other events (skill steps, sensation logs...) come back as :class:`RecordedEvent` items at
their times. Play at 1x to 16x or as fast as possible, pause, and seek.

A seek puts a :class:`SeekMarker` on the queue before the items that follow it: the
consumer rebuilds its state from everything before that time (see
:meth:`trm_bio.session.Session.prime`), then goes on with the items.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.errors import MalformedPacketError
from devices.hrm import packet_from_payload
from devices.packet import LinkState, Packet, StatusEvent
from devices.pmd import PmdFrame
from devices.source import Source
from trm_bio.core.events import BREAKING_STATES, ConnectionPayload, Event, EventKind
from trm_bio.core.timeline import NS_PER_S, host_ns_at
from trm_bio.store.library import Library, SessionInfo

log = logging.getLogger(__name__)

SPEEDS = (1.0, 2.0, 4.0, 8.0, 16.0, math.inf)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored event coming back during replay (shown, not recorded again)."""

    host_ns: int
    event: Event


@dataclass(frozen=True, slots=True)
class SeekMarker:
    """The replay jumped: items after this one start at ``time_s`` (s on the beat clock).

    ``index`` is the position in :attr:`ReplaySource.items` of the first item after the
    jump; everything before it is what the consumer rebuilds its state from.
    """

    host_ns: int
    time_s: float
    index: int


def status_from_event(event: Event, start_ns: int) -> StatusEvent:
    """The StatusEvent that a stored ``connection`` event recorded."""
    link = ConnectionPayload.from_json(event.payload)
    return StatusEvent(event.host_time_ns(start_ns), link.source, link.state, link.message)


def load_items(
    library: Library, session_id: int, *, frames: bool = True
) -> tuple[SessionInfo, list[Any]]:
    """A stored session's packets, PMD frames and events as source items, in host-time order.

    Packets whose bytes cannot be decoded (kept in the library since nothing is thrown
    away) are skipped here, as the live path skipped them. PMD frames all come back,
    undecodable ones too (the session counts and skips them as it did live); ``frames``
    False leaves them out (for the beats alone). At equal host times, connection changes
    come first, then packets, then frames, then other events.
    """
    info = library.get_session(session_id)
    batch = library.session_packets(session_id)
    items: list[tuple[int, int, int, Any]] = []
    for seq, (host_ns, payload, source_id) in enumerate(
        zip(batch.host_ns.tolist(), batch.payloads, batch.source_ids, strict=True)
    ):
        try:
            packet = packet_from_payload(payload, int(host_ns), source_id)
        except MalformedPacketError:
            continue
        items.append((int(host_ns), 1, seq, packet))
    if frames:
        stored = library.session_pmd_frames(session_id)
        for seq, (host_ns, payload, source_id) in enumerate(
            zip(stored.host_ns.tolist(), stored.payloads, stored.source_ids, strict=True)
        ):
            items.append((host_ns, 2, seq, PmdFrame(host_ns, source_id, payload)))
    for order, event in enumerate(library.session_events(session_id)):  # in seq order
        host_ns = event.host_time_ns(info.start_ns)
        if event.kind is EventKind.CONNECTION:
            # Status changes were logged when they happened, before the packets that follow.
            items.append((host_ns, 0, order, status_from_event(event, info.start_ns)))
        else:
            items.append((host_ns, 3, order, RecordedEvent(host_ns, event)))
    items.sort(key=lambda item: item[:3])
    return info, [item[3] for item in items]


class ReplaySource(Source):
    """Plays a stored session on its own thread.

    Parameters
    ----------
    library : Library
        The open library holding the session (read on the caller's thread, at construction).
    session_id : int
        The session to replay.
    speed : float
        1 is real time; up to 16, or ``math.inf`` for as fast as possible.
    paused : bool
        Start paused.
    """

    def __init__(
        self, library: Library, session_id: int, *, speed: float = 1.0, paused: bool = False
    ) -> None:
        self.info, self.items = load_items(library, session_id)
        super().__init__(f"replay:{session_id}")
        self.start_ns = self.info.start_ns
        self.host_ns = np.array([i.host_ns for i in self.items], dtype=np.int64)
        self.end_s = float((self.host_ns[-1] - self.start_ns) / NS_PER_S) if self.items else 0.0
        self._speed = self._check_speed(speed)
        self._cond = threading.Condition()
        self._position = 0  # next item to emit
        self._virtual_s = 0.0  # replay clock: beat-clock seconds reached
        self._paused = paused
        self._stopping = False
        self._thread: threading.Thread | None = None

    @staticmethod
    def _check_speed(speed: float) -> float:
        if not (speed > 0):
            raise ValueError("The replay speed must be above 0.")
        return float(speed)

    # -- controls (any thread) --------------------------------------------------------
    @property
    def position_s(self) -> float:
        """Where the replay is on the beat clock (s)."""
        with self._cond:
            return self._virtual_s

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._position >= len(self.items)

    def set_speed(self, speed: float) -> None:
        """Change the speed (1x to 16x, or ``math.inf``)."""
        with self._cond:
            self._speed = self._check_speed(speed)
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def seek(self, time_s: float) -> SeekMarker:
        """Jump to ``time_s`` (s on the beat clock, clipped to the recording)."""
        time_s = min(max(float(time_s), 0.0), self.end_s)
        target_ns = host_ns_at(self.start_ns, time_s)
        with self._cond:
            index = int(np.searchsorted(self.host_ns, target_ns, side="right"))
            marker = SeekMarker(target_ns, time_s, index)
            self._put(marker)
            self._position = index
            self._virtual_s = time_s
            self._cond.notify_all()
        return marker

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._set_state(LinkState.STREAMING, "Replaying a recorded session.", host_ns=self.start_ns)
        self._thread = threading.Thread(target=self._run, name=self.source_id, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def _run(self) -> None:
        wall_anchor = time.monotonic()
        virtual_anchor = 0.0
        with self._cond:
            while not self._stopping:
                if self._paused or self._position >= len(self.items):
                    self._cond.wait(0.2)
                    wall_anchor, virtual_anchor = time.monotonic(), self._virtual_s
                    continue
                speed = self._speed
                if math.isinf(speed):
                    # As fast as possible, in batches so that pause/seek stay responsive.
                    stop = min(self._position + 2000, len(self.items))
                    for item in self.items[self._position : stop]:
                        self._put(item)
                    self._position = stop
                    self._virtual_s = (self.host_ns[stop - 1] - self.start_ns) / NS_PER_S
                    wall_anchor, virtual_anchor = time.monotonic(), self._virtual_s
                    if stop >= len(self.items):
                        self._set_state(
                            LinkState.DISCONNECTED, "The replay reached the end.",
                            host_ns=int(self.host_ns[-1]),
                        )
                    self._cond.wait(0)
                    continue
                if virtual_anchor != self._virtual_s:  # a seek or a speed change happened
                    wall_anchor, virtual_anchor = time.monotonic(), self._virtual_s
                now_virtual = virtual_anchor + (time.monotonic() - wall_anchor) * speed
                due = int(
                    np.searchsorted(
                        self.host_ns, self.start_ns + now_virtual * NS_PER_S, side="right"
                    )
                )
                for item in self.items[self._position : due]:
                    self._put(item)
                self._position = max(self._position, due)
                self._virtual_s = virtual_anchor = min(now_virtual, self.end_s)
                wall_anchor = time.monotonic()
                if self._position >= len(self.items):
                    self._set_state(
                        LinkState.DISCONNECTED,
                        "The replay reached the end.",
                        host_ns=int(self.host_ns[-1]) if self.items else self.start_ns,
                    )
                    continue
                wait_s = (self.host_ns[self._position] - self.start_ns) / NS_PER_S - self._virtual_s
                self._cond.wait(min(max(wait_s / speed, 0.0), 0.05))


def packets_before(items: list[Any], index: int) -> tuple[list[Packet], list[int]]:
    """The packets among ``items[:index]`` and the packet indices that follow a disconnect."""
    packets: list[Packet] = []
    breaks: list[int] = []
    pending_break = False
    for item in items[:index]:
        if isinstance(item, Packet):
            if pending_break:
                breaks.append(len(packets))
                pending_break = False
            packets.append(item)
        elif isinstance(item, StatusEvent) and item.state in BREAKING_STATES:
            pending_break = True
    return packets, breaks
