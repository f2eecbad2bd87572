"""The recorder: writes a session's raw packets and events as they come, losing at most 1 s.

Packets, PMD frames (a Polar strap's ECG and accelerometer) and events are buffered in
memory and committed together in one transaction when the oldest buffered item is one
second old (measured on the host clock the caller passes in: packet and frame arrival
times, event host times, or ``maybe_flush(now_ns)``). No thread, no timer: the session
pipeline calls :meth:`Recorder.maybe_flush` from its drain tick, so a crash or ``kill -9``
loses at most the last second.

A write that fails (disk full, library read-only, disk gone) stops the recording: the
recorder raises :class:`~trm_bio.errors.LibraryError` with one sentence, keeps the reason in
:attr:`Recorder.failure`, and everything committed before stays in the library.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from trm_bio.core.events import EventKind
from trm_bio.errors import LibraryError
from trm_bio.store.library import EventRow, FrameRow, Library, PacketRow, frame_row

if TYPE_CHECKING:
    from devices.packet import Packet
    from devices.pmd import PmdFrame

log = logging.getLogger(__name__)

#: Longest time an item waits in memory before it is committed (ns).
FLUSH_INTERVAL_NS = 1_000_000_000


class Recorder:
    """Writes one session's packets, PMD frames and events to the library.

    Parameters
    ----------
    library : Library
        An open, writable library.
    session_id : int
        A session created with :meth:`Library.create_session` (status "recording").
    flush_interval_ns : int
        Longest wait before a commit (ns); 1 s by default.
    """

    def __init__(
        self, library: Library, session_id: int, *, flush_interval_ns: int = FLUSH_INTERVAL_NS
    ) -> None:
        self.library = library
        self.session_id = int(session_id)
        self.flush_interval_ns = int(flush_interval_ns)
        info = library.get_session(self.session_id)
        self.start_ns = info.start_ns
        self._next_packet_seq, self._next_event_seq = library.next_sequence_numbers(session_id)
        self._next_frame_seq = library.next_frame_seq(session_id)
        self._packets: list[PacketRow] = []
        self._events: list[EventRow] = []
        self._frames: list[FrameRow] = []
        self._oldest_ns: int | None = None
        self._last_ns: int | None = None
        self.failure: str | None = None
        self.packets_written = 0
        self.events_written = 0
        self.frames_written = 0
        library.hold_recording_lock(self.session_id)

    @property
    def pending(self) -> int:
        """Items buffered and not yet committed."""
        return len(self._packets) + len(self._events) + len(self._frames)

    @property
    def failed(self) -> bool:
        """Whether a write failed and recording stopped."""
        return self.failure is not None

    def _check_running(self) -> None:
        if self.failure is not None:
            raise LibraryError(self.failure)

    def _note_time(self, host_ns: int | None) -> None:
        if host_ns is None:
            return
        if self._oldest_ns is None:
            self._oldest_ns = host_ns
        self._last_ns = host_ns if self._last_ns is None else max(self._last_ns, host_ns)
        if host_ns - self._oldest_ns >= self.flush_interval_ns:
            self.flush()

    def add_packet(self, packet: Packet) -> None:
        """Buffer one raw packet; commits when the buffer's oldest item is 1 s old."""
        self._check_running()
        self._packets.append(
            (
                self.session_id,
                self._next_packet_seq,
                int(packet.host_ns),
                packet.source_id,
                bytes(packet.payload),
            )
        )
        self._next_packet_seq += 1
        self._note_time(int(packet.host_ns))

    def add_pmd_frame(self, frame: PmdFrame) -> None:
        """Buffer one raw PMD data frame (bytes as received, decodable or not), as a packet."""
        self._check_running()
        self._frames.append(
            frame_row(
                self.session_id,
                self._next_frame_seq,
                int(frame.host_ns),
                frame.source_id,
                bytes(frame.payload),
            )
        )
        self._next_frame_seq += 1
        self._note_time(int(frame.host_ns))

    def add_event(
        self,
        time_s: float,
        kind: EventKind | str,
        payload: dict[str, Any] | None = None,
        host_ns: int | None = None,
    ) -> int:
        """Buffer one event on the beat clock and return its sequence number.

        Parameters
        ----------
        time_s : float
            Beat-clock time of the event (s from session start).
        kind : EventKind or str
            What it is (see :mod:`trm_bio.core.events`).
        payload : dict
            JSON-serialisable details.
        host_ns : int or None
            Host monotonic time (ns), when known.
        """
        self._check_running()
        try:
            data = json.dumps(payload or {}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise LibraryError(f"the {kind} event cannot be stored ({exc})") from exc
        seq = self._next_event_seq
        self._events.append(
            (
                self.session_id,
                seq,
                float(time_s),
                None if host_ns is None else int(host_ns),
                str(kind),
                data,
            )
        )
        self._next_event_seq += 1
        if self._oldest_ns is None and host_ns is None and self._last_ns is not None:
            self._oldest_ns = self._last_ns  # no own time: it waits no longer than its packet
        self._note_time(None if host_ns is None else int(host_ns))
        return seq

    def maybe_flush(self, now_ns: int) -> bool:
        """Commit if the oldest buffered item is at least the flush interval old at ``now_ns``.

        Returns
        -------
        bool
            Whether a commit happened.
        """
        if not self.pending:
            return False
        if self._oldest_ns is not None and now_ns - self._oldest_ns < self.flush_interval_ns:
            return False
        self.flush()
        return True

    def flush(self) -> None:
        """Commit everything buffered now (one transaction)."""
        self._check_running()
        if not self.pending:
            return
        packets, events, frames = self._packets, self._events, self._frames
        try:
            self.library.write_rows(packets, events, frames)
        except LibraryError as exc:
            self.failure = f"recording stopped: {exc}"
            lost = len(packets) + len(events) + len(frames)
            log.error("%s (%d unsaved item(s) dropped)", self.failure, lost)
            self._packets, self._events, self._frames = [], [], []
            self.library.release_recording_lock(self.session_id)
            raise LibraryError(self.failure) from exc
        self.packets_written += len(packets)
        self.events_written += len(events)
        self.frames_written += len(frames)
        self._packets, self._events, self._frames = [], [], []
        self._oldest_ns = None

    def finish(
        self,
        ended_utc: str | None = None,
        duration_s: float | None = None,
        status: str = "complete",
    ) -> None:
        """Commit what is buffered and mark the session finished (see ``finish_session``)."""
        self.flush()
        self.library.finish_session(self.session_id, ended_utc, duration_s, status)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self.failure is not None:
            return
        if exc_type is None:
            self.finish()
        else:
            self.flush()
            self.library.finish_session(self.session_id, status="interrupted")
