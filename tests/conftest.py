"""Test-wide set-up: Qt offscreen, LSL kept on this machine, the shared recordings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.recordings import shared_data_dir

# Qt aborts without a display; tests always draw offscreen (set before any Qt import).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("the real recordings are not here: set TRM_BIO_DATA or use ../shared/data")
    return path
