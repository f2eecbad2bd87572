"""Where files live, and how they are written.

Where the session library lives: an explicit path, ``$TRM_BIO_LIBRARY``, or the data folder.
How every output file (export, report, series, settings) is written: only its owner can read
it, never through a symlink, and all at once (see :func:`private_output`).
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import platformdirs

from trm_bio.errors import TrmBioError

log = logging.getLogger(__name__)

ENV_VAR = "TRM_BIO_LIBRARY"
FILE_NAME = "library.sqlite3"


def library_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The library file to use.

    Parameters
    ----------
    explicit : path or None
        A path from ``--library``; wins over everything.

    Returns
    -------
    Path
        ``explicit``, else ``$TRM_BIO_LIBRARY``, else
        ``platformdirs.user_data_dir("trm-bio") / "library.sqlite3"``.
    """
    if explicit is not None and str(explicit):
        return Path(explicit).expanduser()
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return Path(platformdirs.user_data_dir("trm-bio", appauthor=False)) / FILE_NAME


def refuse_symlink(path: str | os.PathLike[str]) -> None:
    """Refuse an output name that is a symbolic link, dangling or not.

    Health data written through a link lands wherever the link points, which the person
    did not choose when they typed the name.

    Raises
    ------
    TrmBioError
        ``path`` is a symbolic link.
    """
    if os.path.islink(path):
        raise TrmBioError(
            f"{path} is a symbolic link; trm-bio writes health data only to a real file, "
            "so give the name of the file itself"
        )


@contextmanager
def private_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a file only its owner can read, all at once: a temporary name, then a rename.

    Yields the temporary file (created empty, mode 0600, with ``O_EXCL`` and never through
    a symlink, in the folder of ``path``) for the caller to write by name. When the block
    ends, the file is flushed to disk and renamed over ``path``; if the block raises, the
    temporary file is removed and ``path`` is untouched. A process killed mid-write thus
    never leaves a partial file under the final name (only a hidden ``.NAME.*.part``).

    Raises
    ------
    TrmBioError
        ``path`` is a symbolic link.
    OSError
        The file cannot be created, written or renamed (the caller says so in a sentence).
    """
    final = Path(path)
    refuse_symlink(final)
    # mkstemp opens with O_CREAT | O_EXCL | O_NOFOLLOW and mode 0600, whatever the umask.
    # The name is cut so that the temporary one stays within the 255-byte limit of names.
    fd, name = tempfile.mkstemp(prefix=f".{final.name[:200]}.", suffix=".part", dir=final.parent)
    temporary = Path(name)
    log.info("writing %s as %s until it is complete", final, temporary.name)
    try:
        yield temporary
        if not os.path.samestat(os.fstat(fd), os.lstat(temporary)):
            raise OSError(errno.EEXIST, "the temporary file was replaced while written", name)
        os.fsync(fd)  # the data is on disk before the name points at it
        os.close(fd)
        fd = -1
        refuse_symlink(final)
        os.replace(temporary, final)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with suppress(FileNotFoundError):
            temporary.unlink()
        raise
    _sync_folder(final.parent)


@contextmanager
def open_private_output(
    path: str | os.PathLike[str], mode: str = "w", **open_args: Any
) -> Iterator[IO[Any]]:
    """:func:`private_output` with the temporary file open: ``open(tmp, mode, **open_args)``."""
    with private_output(path) as temporary, open(temporary, mode, **open_args) as handle:
        yield handle


def write_private_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through :func:`private_output`; returns ``path``."""
    with open_private_output(path, "w", encoding=encoding) as handle:
        handle.write(text)
    return Path(path)


def keep_private(file: str | os.PathLike[str], *, own_folder: bool) -> Path:
    """Make ``file`` (kept up to date by another writer, e.g. QSettings) private before use.

    Creates it empty with mode 0600 if absent (``O_EXCL``, never through a symlink), else
    narrows it to 0600; its folder is created with mode 0700 if absent, and narrowed to 0700
    when ``own_folder`` says the folder belongs to the app alone. A writer that replaces the
    file keeping its mode (Qt's QSaveFile does) then never exposes it.
    """
    file = Path(file)
    folder = file.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
        own_folder = True
    if own_folder:
        os.chmod(folder, 0o700)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.close(os.open(file, flags, 0o600))
    except FileExistsError:
        if not file.is_symlink():
            os.chmod(file, 0o600)
    return file


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the file itself is synced
    finally:
        os.close(fd)
