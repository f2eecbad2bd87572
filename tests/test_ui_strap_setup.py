"""The strap dialog shows a connection step by step and what the strap offers.

The real window and its Strap… dialog, the real BleStrap through bleak's front end, and
straps emulated on bumble (tests/support): a Polar H10 whose ECG comes from a real
recording, one that refuses ECG, and a plain heart-rate strap. Everything is awaited.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devices.hrm import encode_hrm
from devices.packet import SETUP_STEPS, LinkState, SensorContact, StatusEvent
from devices.pmd import PmdStatus, PmdStream
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_h10 import EmulatedH10, polar_ecg
from tests.support.bumble_strap import EmulatedStrap
from tests.ui_app import open_app
from trm_bio.ui.strap_status import StrapSetup

WAIT_MS = 15000  # generous bound on one awaited change; the rig answers in milliseconds

# A modal Strap… dialog would block the test for good: fail it instead.
pytestmark = pytest.mark.timeout(90, method="thread")


@pytest.fixture(scope="module")
def recording():
    try:
        return polar_ecg()
    except FileNotFoundError as exc:
        pytest.skip(f"needs the real Polar H10 recording: {exc}")


@pytest.fixture
def air() -> Iterator[Air]:
    air = Air()
    yield air
    air.close()


def open_dialog(qtbot, tmp_path, air: Air):
    """The app, with bleak on the emulated air, and its Strap… dialog open."""
    central = BumbleCentral(air)
    parts = open_app(qtbot, tmp_path, connect=False, speed=1.0)
    parts.services.ble_options = {
        "scanner_backend": central.scanner_backend,
        "client_backend": central.client_backend,
        "min_backoff_s": 0.01,
    }
    window = parts.window
    window.choose_device()
    dialog = window.devices_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.setup.isHidden()  # nothing to show before Connect
    return parts, dialog


def connect_found(qtbot, dialog, address: str) -> list[str]:
    """Scan through the dialog, pick the strap at ``address``, press Connect.

    Returns the list the panel's steps are appended to as they change.
    """
    dialog.scan_timeout_s = 1.0
    dialog.scan()
    qtbot.waitUntil(lambda: dialog.scan_button.isEnabled(), timeout=WAIT_MS)
    rows = [dialog.list.item(i) for i in range(dialog.list.count())]
    picked = [i for i, row in enumerate(rows) if address in row.text()]
    assert picked, [row.text() for row in rows]
    dialog.list.setCurrentRow(picked[0])
    steps: list[str] = []
    dialog.setup.step_changed.connect(steps.append)
    dialog.accept()
    assert dialog.isVisible() and not dialog.setup.isHidden()  # it stays, showing the set-up
    return steps


def badges(dialog) -> dict[str, str]:
    return {name: badge.text() for name, badge in dialog.setup.badges.items()}


def beat(index: int) -> bytes:
    return encode_hrm(60, rr_raw=(1000 + index,), contact=SensorContact.CONTACT)


def feed_beats_until(qtbot, strap: EmulatedStrap, done) -> None:
    """Notify a beat every 0.1 s until ``done()`` (a strap sends one about every second)."""
    sent = 0
    last_s = -1.0

    def check() -> bool:
        nonlocal sent, last_s
        if done():
            return True
        if time.monotonic() - last_s >= 0.1:
            last_s = time.monotonic()
            strap.notify(beat(sent))
            sent += 1
        return False

    qtbot.waitUntil(check, timeout=WAIT_MS)


def test_an_h10_is_shown_step_by_step_until_beats_and_its_raw_streams_arrive(
    qtbot, tmp_path, air, recording
):
    strap = EmulatedH10(air, speed=8.0, ecg_delay_s=1.5)  # an ECG that starts late
    parts, dialog = open_dialog(qtbot, tmp_path, air)
    window, panel = parts.window, dialog.setup
    steps = connect_found(qtbot, dialog, strap.address)
    assert strap.subscribed.wait(10)
    qtbot.waitUntil(lambda: panel.current_step == "waiting for beats", timeout=WAIT_MS)
    assert "Moisten the strap's electrodes" in panel.hint.text()
    # While the H10's ECG has not begun, the person is told it takes a while.
    qtbot.waitUntil(lambda: badges(dialog)["ECG"] == "waiting", timeout=WAIT_MS)
    assert "ECG can take 20–30 s to start on a Polar H10." in panel.hint.text()
    feed_beats_until(
        qtbot,
        strap,
        lambda: badges(dialog) == {k: "arriving" for k in ("HR", "RR", "ECG", "ACC")},
    )
    # Every step was shown, in order, and the last is current with the others ticked.
    assert steps == list(SETUP_STEPS)
    rows = panel.step_rows
    assert [rows[s].property("step_state") for s in SETUP_STEPS] == [
        "done",
        "done",
        "done",
        "current",
    ]
    assert all(rows[s].text().startswith("✓") for s in SETUP_STEPS)
    assert "ECG can take" not in panel.hint.text()
    assert not any(note.text() for note in panel.notes.values())
    window.disconnect_strap()
    window.close()


def test_a_strap_refusing_ecg_shows_ecg_refused_with_the_reason(qtbot, tmp_path, air, recording):
    strap = EmulatedH10(air, speed=8.0)
    strap.refuse(PmdStream.ECG, PmdStatus.DEVICE_IN_CHARGER)
    parts, dialog = open_dialog(qtbot, tmp_path, air)
    panel = dialog.setup
    connect_found(qtbot, dialog, strap.address)
    assert strap.subscribed.wait(10)
    feed_beats_until(
        qtbot,
        strap,
        lambda: badges(dialog)["ECG"] == "refused" and badges(dialog)["ACC"] == "arriving",
    )
    assert panel.notes["ECG"].text() == "The strap refused ECG: it is in its charger."
    assert panel.notes["ACC"].text() == ""
    feed_beats_until(qtbot, strap, lambda: panel.current_step == "beats arriving")
    assert badges(dialog)["HR"] == "arriving" and badges(dialog)["RR"] == "arriving"
    parts.window.disconnect_strap()
    parts.window.close()


def test_a_plain_heart_rate_strap_shows_ecg_and_acc_not_offered(qtbot, tmp_path, air):
    strap = EmulatedStrap(air, name="TRM Test Strap", address="C0:11:22:33:44:55")
    parts, dialog = open_dialog(qtbot, tmp_path, air)
    panel = dialog.setup
    steps = connect_found(qtbot, dialog, strap.address)
    assert strap.subscribed.wait(10)
    qtbot.waitUntil(lambda: panel.current_step == "waiting for beats", timeout=WAIT_MS)
    # Known from the services: heart rate, and no raw streams; RR only when one comes.
    assert badges(dialog) == {
        "HR": "offered",
        "RR": "waiting",
        "ECG": "not offered",
        "ACC": "not offered",
    }
    assert "ECG can take" not in panel.hint.text()
    feed_beats_until(qtbot, strap, lambda: panel.current_step == "beats arriving")
    assert steps == list(SETUP_STEPS)
    assert badges(dialog) == {
        "HR": "arriving",
        "RR": "arriving",
        "ECG": "not offered",
        "ACC": "not offered",
    }
    parts.window.disconnect_strap()
    parts.window.close()


def status(state: LinkState, **details: str) -> StatusEvent:
    return StatusEvent(0, "lsl:x", state, "", details=details)


def test_a_source_that_says_no_steps_or_offers_shows_its_offers_unknown():
    # An LSL stream (and a simulated strap until it says what it offers): link states only.
    setup = StrapSetup()
    for state in (LinkState.CONNECTING, LinkState.CONNECTED, LinkState.STREAMING):
        setup.update(status(state))
    assert setup.step == "beats arriving"
    assert {name: setup.capability(name) for name in ("HR", "RR", "ECG", "ACC")} == {
        "HR": "unknown",
        "RR": "unknown",
        "ECG": "unknown",
        "ACC": "unknown",
    }
    # A source that says what it offers (the source's own offers, no details) is believed.
    setup.update(status(LinkState.STREAMING), frozenset({"HR", "RR"}))
    assert {name: setup.capability(name) for name in ("HR", "RR", "ECG", "ACC")} == {
        "HR": "arriving",
        "RR": "arriving",
        "ECG": "not offered",
        "ACC": "not offered",
    }
    # A dropped link starts the steps over; an ended one shows none.
    setup.update(status(LinkState.RECONNECTING, cause="dropped"))
    assert setup.step is None
    setup.update(status(LinkState.DISCONNECTED))
    assert setup.step is None and setup.capability("HR") == "offered"
