"""The radio space the emulated devices share: bumble controllers on one in-process LocalLink.

Every bumble object (link, controllers, hosts, devices) must live on ONE asyncio loop: the
LocalLink delivers packets with ``asyncio.get_running_loop().call_soon``, so a controller on
another loop would be driven from the wrong thread. :class:`Air` runs that loop on a thread
of its own; the test thread calls in with :meth:`Air.run`, and the code under test (which has
its own asyncio loop thread) with ``await air.call(...)``.
"""

from __future__ import annotations

import asyncio
import uuid as uuid_mod
from collections.abc import Coroutine
from typing import Any, TypeVar

from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from devices.aio_thread import LoopThread

T = TypeVar("T")

# bumble's emulated controller reports every advertisement at this strength (dBm).
EMULATED_RSSI_DBM = -50


def bleak_uuid(uuid: UUID) -> str:
    """A bumble UUID as bleak spells it (lower-case 128-bit string)."""
    return str(uuid_mod.UUID(bytes=bytes(reversed(uuid.to_bytes(force_128=True)))))


class Air:
    """One LocalLink and the loop thread every bumble object of a test runs on."""

    def __init__(self) -> None:
        self._thread = LoopThread(name="bumble-air")
        self.loop = self._thread.loop
        self.link = LocalLink()

    # -- hand-off -------------------------------------------------------------------
    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        """Run ``coro`` on the air loop from a plain thread and return its result."""
        return self._thread.run(coro, timeout_s)

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the air loop from a coroutine running on ANOTHER loop.

        Cancelling the caller cancels the air-side task too.
        """
        if asyncio.get_running_loop() is self.loop:
            return await coro
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        except RuntimeError:  # the air is closed: like an adapter that went away
            coro.close()
            raise
        return await asyncio.wrap_future(future)

    # -- devices --------------------------------------------------------------------
    def new_device(self, name: str, address: str) -> Device:
        """A bumble Device with an emulated controller on this link (call on the air loop)."""
        controller = Controller(name, link=self.link)
        host = Host(controller, AsyncPipeSink(controller))
        return Device(name=name, address=Address(address), host=host)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the air loop and join its thread."""
        self._thread.stop(timeout_s)
