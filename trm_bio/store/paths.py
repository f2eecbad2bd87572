"""Where the session library lives: an explicit path, ``$TRM_BIO_LIBRARY``, or the data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

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


def prepare_private_output(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` an empty file only its owner can read, ready to be written.

    Exports and reports hold health data; whatever the umask, the file they write is
    created (or truncated) with mode 0600 before any byte goes in.

    Raises
    ------
    OSError
        The file cannot be created (the caller turns it into a sentence).
    """
    file = Path(path)
    fd = os.open(file, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    os.close(fd)
    os.chmod(file, 0o600)  # an existing file keeps its old mode through O_CREAT: narrow it
    return file
