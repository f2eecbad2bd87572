"""Per-session recording locks: how a library tells a live recording from a crashed one.

A recorder holds an exclusive OS advisory lock on a small file beside the library for as
long as it records. The operating system drops the lock when the process ends in any way
(including ``kill -9``), so a session still marked "recording" whose lock can be taken was
left by a recorder that is gone.

The lock file is never the library, its ``-wal`` or its ``-shm``: SQLite keeps POSIX locks
on those, and closing any descriptor of them would drop every one this process holds.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

try:  # POSIX
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

except ImportError:  # Windows
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True


def lock_path(library_path: Path, session_id: int) -> Path:
    """The lock file of one session's recording, beside the library file."""
    return library_path.with_name(f"{library_path.name}-rec-{session_id}.lock")


class RecordingLock:
    """An exclusive lock held while a session records; released by ``release`` or exit."""

    def __init__(self, library_path: Path, session_id: int) -> None:
        self.path = lock_path(library_path, session_id)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self._handle: IO[bytes] | None = os.fdopen(fd, "r+b")
        if not _try_lock(self._handle):
            self._handle.close()
            self._handle = None
            raise BlockingIOError(f"session {session_id} is being recorded by another program")

    def release(self, *, remove: bool = True) -> None:
        """Drop the lock (and its file)."""
        if self._handle is None:
            return
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()
        self._handle.close()  # closing the descriptor releases the lock
        self._handle = None


def recording_is_alive(library_path: Path, session_id: int) -> bool:
    """Whether some process still holds the recording lock of a session."""
    path = lock_path(library_path, session_id)
    if not path.exists():
        return False
    try:
        lock = RecordingLock(library_path, session_id)
    except BlockingIOError:
        return True
    except OSError:
        return False  # cannot even open it: nobody can be holding it for us to respect
    lock.release(remove=True)
    return False
