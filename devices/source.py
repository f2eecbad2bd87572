"""The one interface every heart-beat source implements.

A source runs on its own thread (or asyncio loop thread) and puts :class:`Packet` and
:class:`StatusEvent` items on a thread-safe queue; the consumer (a session on the Qt thread,
a CLI loop, a test) drains it. Live straps, the simulated strap, LSL inlets and replayed
recordings all look the same to the consumer (the mne-lsl model).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from devices.packet import LinkState, Packet, StatusEvent

if TYPE_CHECKING:  # devices.pmd loads numpy, which a bare start must not (test_guards)
    from devices.pmd import PmdFrame

#: What a source puts on its queue; a Polar strap adds its raw ECG and accelerometer frames.
SourceItem: TypeAlias = "Packet | StatusEvent | PmdFrame"

log = logging.getLogger(__name__)

#: The most sources one group session takes: 8 participants, each with a strap (about as
#: many LE links as a common Bluetooth adapter holds at once).
GROUP_SIZE_MAX = 8


class Source(ABC):
    """Base class: owns the output queue and the latest known device facts.

    Subclasses implement :meth:`start` and :meth:`stop` and call :meth:`_emit` and
    :meth:`_set_state` from any thread.
    """

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self._queue: queue.SimpleQueue[SourceItem] = queue.SimpleQueue()
        self._ready = threading.Event()  # set when items may be waiting
        self.state: LinkState = LinkState.DISCONNECTED
        self.battery_percent: int | None = None
        self.body_location: int | None = None
        # What the device is known to offer, of devices.packet.OFFERS ("HR", "RR", "ECG",
        # "ACC"); empty until known.
        self.offers: frozenset[str] = frozenset()

    # -- lifecycle ---------------------------------------------------------------
    @abstractmethod
    def start(self) -> None:
        """Begin producing items; returns at once (work happens on the source's thread)."""

    @abstractmethod
    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop producing, release the device, and join the source's thread.

        Safe to call from any thread and more than once.
        """

    # -- consumer side -----------------------------------------------------------
    def get(self, timeout_s: float | None = None) -> SourceItem | None:
        """Next item, waiting up to ``timeout_s`` seconds (None: forever); None on timeout."""
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until items may be waiting (without taking them); False on timeout."""
        return self._ready.wait(timeout_s)

    @property
    def pending(self) -> bool:
        """Whether items are waiting to be drained."""
        return not self._queue.empty()

    def drain(self) -> list[SourceItem]:
        """Every item waiting now, oldest first, without blocking."""
        self._ready.clear()  # before taking: an item put meanwhile sets it again
        items: list[SourceItem] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    # -- producer side -----------------------------------------------------------
    def _emit(self, packet: Packet) -> None:
        self._put(packet)

    def _put(self, item: object) -> None:
        """Queue any item for the consumer (packets, status, or a source's own markers)."""
        self._queue.put(item)  # type: ignore[arg-type]
        self._ready.set()

    def _set_state(
        self,
        state: LinkState,
        message: str = "",
        host_ns: int | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        self.state = state
        self._put(
            StatusEvent(
                host_ns=time.monotonic_ns() if host_ns is None else host_ns,
                source_id=self.source_id,
                state=state,
                message=message,
                battery_percent=self.battery_percent,
                body_location=self.body_location,
                details=dict(details or {}),
            )
        )


class ThreadedSource(Source):
    """A source whose work runs on one thread of its own, told to end through an event.

    Subclasses call :meth:`_start_thread` from :meth:`start` and watch ``_stop_event``
    (waiting on it rather than sleeping, so that :meth:`stop` interrupts at once).
    """

    def __init__(self, source_id: str) -> None:
        super().__init__(source_id)
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def _start_thread(self, target: Callable[..., None], *args: object) -> bool:
        """Start ``target(*args)`` on the source's thread; False if it was started before."""
        if self._thread is not None:
            return False
        self._thread = threading.Thread(
            target=target, args=args, name=f"{self.source_id} source", daemon=True
        )
        self._thread.start()
        return True

    def stop(self, timeout_s: float = 5.0) -> None:
        """Tell the thread to end and join it (at most ``timeout_s`` s); safe from any thread."""
        self._stop_event.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("The %s thread did not stop within %.1f s.", self.source_id, timeout_s)

    @property
    def running(self) -> bool:
        """True while the source's thread is alive."""
        return self._thread is not None and self._thread.is_alive()
