"""The device layer's own asyncio event-loop thread.

bleak is asyncio; the Qt thread (or a CLI loop, or a test) must never run it, so every
Bluetooth source owns one :class:`LoopThread` and hands coroutines to it with
``asyncio.run_coroutine_threadsafe``. Windows needs bleak on a multithreaded COM apartment,
which a plain worker thread is and a GUI thread is not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running on a daemon thread of its own.

    Parameters
    ----------
    name : str
        Thread name (shows in debuggers and thread dumps).
    """

    def __init__(self, name: str = "devices-asyncio") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self._cancel_leftover_tasks()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def _cancel_leftover_tasks(self) -> None:
        tasks = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    @property
    def thread(self) -> threading.Thread:
        """The thread the loop runs on."""
        return self._thread

    def in_loop_thread(self) -> bool:
        """True when called from the loop's own thread."""
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop from any thread; returns a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (seconds; None waits forever).

        Must not be called from the loop thread itself (it would wait on itself).
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("LoopThread.run() called from its own loop thread")
        future = self.submit(coro)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"the Bluetooth operation took longer than {timeout_s} s") from None

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the loop (cancelling what still runs) and join the thread; idempotent."""
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            try:
                self.loop.call_soon_threadsafe(self.loop.stop)
            except RuntimeError:  # closed between the check and the call
                return
        if not self.in_loop_thread():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("the device loop thread did not stop within %.1f s", timeout_s)
