"""Test-wide set-up: Qt offscreen, LSL kept on this machine, the shared recordings."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.recordings import shared_data_dir

# Qt aborts without a display; tests always draw offscreen (set before any Qt import).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def user_skills_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty user skills folder: no test reads the developer's own (children inherit it)."""
    from skills.loader import SKILLS_DIR_ENV_VAR

    folder = tmp_path_factory.mktemp("user-skills")
    previous = os.environ.get(SKILLS_DIR_ENV_VAR)
    os.environ[SKILLS_DIR_ENV_VAR] = str(folder)
    yield folder
    if previous is None:
        del os.environ[SKILLS_DIR_ENV_VAR]
    else:
        os.environ[SKILLS_DIR_ENV_VAR] = previous


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("the real recordings are not here: set TRM_BIO_DATA or use ../shared/data")
    return path


# DESIGN.md, "Lab Streaming Layer": discovery must stay on this machine.
LSL_CONFIG = """[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
[lab]
KnownPeers = {127.0.0.1}
"""


@pytest.fixture(scope="session")
def lsl_on_this_machine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point LSLAPICFG at a machine-only configuration before liblsl loads (children inherit).

    Skips when liblsl cannot load here; fails if pylsl was loaded without the configuration.
    """
    config = tmp_path_factory.mktemp("lsl") / "lsl_api.cfg"
    config.write_text(LSL_CONFIG)
    if "pylsl" in sys.modules and os.environ.get("LSLAPICFG") != str(config):
        previous = os.environ.get("LSLAPICFG")
        if not previous or Path(previous).read_text() != LSL_CONFIG:
            pytest.fail("pylsl was loaded before LSLAPICFG kept LSL on this machine")
        return Path(previous)
    os.environ["LSLAPICFG"] = str(config)
    from devices.lsl import lsl_available

    if not lsl_available():
        pytest.skip("liblsl cannot load here")
    return config


#: How long a modal box may wait for an answer in a test before it is closed and the test
#: fails (a box that nobody answers would otherwise hold the whole run until CI's limit).
MODAL_PATIENCE_S = 30.0


@pytest.fixture(autouse=True)
def no_unanswered_modal(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail, rather than hang, a Qt test that leaves a modal dialog waiting for an answer."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    opened: dict[int, float] = {}
    left: list[str] = []
    timer = QTimer()
    timer.setInterval(250)

    def look() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            opened.clear()
            return
        since = opened.setdefault(id(box), time.monotonic())
        if time.monotonic() - since > MODAL_PATIENCE_S and isinstance(box, QDialog):
            words = box.text() if isinstance(box, QMessageBox) else box.windowTitle()
            left.append(words)
            box.done(QDialog.DialogCode.Rejected)

    timer.timeout.connect(look)
    timer.start()
    yield
    timer.stop()
    assert not left, f"a modal dialog was left waiting for an answer: {left}"
