"""Several Bluetooth straps on one adapter and one event loop: a group session's straps.

bleak keeps one BlueZ client per event loop, so straps that share a loop share one
connection to bluetoothd (and take turns to scan, :mod:`devices.ble`); each strap still has
its own task, link, queue and reconnection, so one strap's drop never touches another's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devices.aio_thread import LoopThread
from devices.ble import BleStrap, is_address
from devices.source import GROUP_SIZE_MAX

logger = logging.getLogger(__name__)


def _same_strap_key(target: str) -> str:
    # Addresses are compared without case (as BleStrap matches them); names as written.
    return target.strip().upper() if is_address(target.strip()) else target.strip()


class StrapGroup:
    """One :class:`~devices.ble.BleStrap` per target, all on one shared loop thread.

    The group owns the loop: its straps never stop it, :meth:`stop` does (after stopping
    them). The loop thread runs from construction, so call :meth:`stop` even when the
    straps were never started.

    Parameters
    ----------
    targets : sequence of str
        Each participant's strap (address or advertised name), in participant order;
        1 to ``GROUP_SIZE_MAX``, no strap twice.
    **strap_options
        Keyword arguments of every :class:`~devices.ble.BleStrap` (bleak backends, bounds
        in s), e.g. ``scanner_backend=``, ``client_backend=``, ``min_backoff_s=``.

    Raises
    ------
    ValueError
        One sentence for no target, too many, or the same strap twice.
    """

    def __init__(self, targets: Sequence[str], **strap_options: Any) -> None:
        if isinstance(targets, str):  # a lone string would be read letter by letter
            targets = [targets]
        if not 1 <= len(targets) <= GROUP_SIZE_MAX:
            raise ValueError(
                f"A group takes 1 to {GROUP_SIZE_MAX} straps, not {len(targets)}."
            )
        seen: dict[str, str] = {}
        for target in targets:
            key = _same_strap_key(target)
            if key in seen:
                raise ValueError(
                    f"The strap {target} is given twice; each participant needs their own."
                )
            seen[key] = target
        if "loop_thread" in strap_options:
            raise ValueError("A strap group makes its own loop; pass no loop_thread.")
        self.targets: tuple[str, ...] = tuple(targets)
        self._options = dict(strap_options)
        self._loop_thread = LoopThread(name="devices-ble-group")
        self._straps = [self._new_strap(target) for target in self.targets]
        self._started = False
        self._stopped = False

    def _new_strap(self, target: str) -> BleStrap:
        return BleStrap(target, loop_thread=self._loop_thread, **self._options)

    @property
    def loop_thread(self) -> LoopThread:
        """The loop every strap of the group runs on."""
        return self._loop_thread

    @property
    def straps(self) -> list[BleStrap]:
        """The current straps, in participant order (a copy)."""
        return list(self._straps)

    def strap(self, index: int) -> BleStrap:
        """Participant ``index``'s current strap (0-based)."""
        return self._straps[index]

    def __len__(self) -> int:
        return len(self._straps)

    def __iter__(self) -> Iterator[BleStrap]:
        return iter(list(self._straps))

    def start(self) -> None:
        """Start every strap (they scan and connect concurrently); returns at once."""
        if self._stopped:
            raise RuntimeError("a stopped strap group cannot start again")
        self._started = True
        for strap in self._straps:
            strap.start()

    def restart(self, index: int, timeout_s: float = 5.0) -> BleStrap:
        """Reconnect participant ``index``'s strap alone: stop it, start a new one.

        The new :class:`~devices.ble.BleStrap` (same target and options, same loop) replaces
        the old one in the group and is returned, so the caller swaps its source; the other
        straps stream on untouched. It is started when the group or the old strap was.

        Parameters
        ----------
        index : int
            Participant (0-based).
        timeout_s : float
            Bound on stopping the old strap (s).
        """
        if self._stopped:
            raise RuntimeError("a stopped strap group cannot restart a strap")
        old = self._straps[index]
        was_started = self._started or old._loop_thread is not None
        old.stop(timeout_s)
        new = self._new_strap(old.target)
        self._straps[index] = new
        if was_started:
            new.start()
        logger.info("strap %d (%s) restarted", index, old.target)
        return new

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every strap, then the shared loop; any thread but the loop's, idempotent.

        The straps stop together (each waits only for its own link to close), so stopping
        a group takes about as long as stopping one strap.
        """
        if self._stopped:
            return
        self._stopped = True
        with ThreadPoolExecutor(len(self._straps), thread_name_prefix="strap-stop") as pool:
            list(pool.map(lambda strap: strap.stop(timeout_s), self._straps))
        self._loop_thread.stop(timeout_s)
