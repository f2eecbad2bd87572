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
