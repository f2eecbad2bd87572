"""A link drop shown calmly and recovered; the devices dialog; disconnect and connect."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from devices.hrm import encode_hrm
from devices.packet import SensorContact
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_strap import EmulatedStrap
from tests.ui_app import answer_dialog, open_app
from trm_bio.ui.devices_dialog import DevicesDialog
from trm_bio.ui.services import DeviceChoice


def test_a_link_drop_is_shown_as_a_gap_and_recovered(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, link_drops=((30.0, 45.0),))
    window, controller = parts.window, parts.controller
    window.start_session()
    seen: list[str] = []
    window.statusBar().messageChanged.connect(seen.append)
    readouts = window.readouts
    qtbot.waitUntil(lambda: "Reconnecting" in readouts.link.text(), timeout=10000)
    # Said calmly in the status bar too; the readout follows the strap's state at once,
    # while the status change that carries the sentence can reach the window a tick later.
    qtbot.waitUntil(lambda: any("reconnecting on its own" in m for m in seen), timeout=10000)
    qtbot.waitUntil(lambda: readouts.link.text() == "Receiving beats", timeout=10000)
    assert "Beats are arriving again." in seen
    history = controller.session.history
    qtbot.waitUntil(lambda: history.beats.size and history.beats["time_s"][-1] > 70, timeout=10000)
    # The beats after the drop are a new segment, and the tachogram shows a gap there.
    assert np.unique(history.beats["segment"]).size == 2
    window.set_span("Whole session")
    window.redraw(controller.now_s())
    x, y = window.plots.rr_curve.getData()
    gap = np.flatnonzero(np.isnan(y))
    assert gap.size >= 1 and 30.0 <= x[gap[0]] <= 45.0
    connection = [m for m in window.plots.markers if m.kind == "connection"]
    assert {m.label for m in connection} >= {"disconnected", "reconnecting", "streaming"}
    # The link state is never drawn in an alarm colour.
    assert "red" not in readouts.link.styleSheet()
    # Disconnect and connect again, by key and through the dialog's choice (ending the
    # recording asks first).
    asked = answer_dialog(qtbot, "End, save and disconnect")
    qtbot.keyClick(
        window,
        Qt.Key.Key_D,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert asked and window.mode == "idle" and controller.session is None
    assert parts.library.list_sessions()[0].status == "complete"
    window.connect_device(DeviceChoice("simulated", scenario="stress"))
    assert window.mode == "preview" and "stress" in window.device_label.text()
    qtbot.waitUntil(lambda: controller.session.history.beats.size > 5, timeout=5000)
    window.close()


def test_devices_dialog_offers_the_simulated_strap_and_says_why_a_scan_found_nothing(
    qtbot, tmp_path
):
    parts = open_app(qtbot, tmp_path)
    dialog = DevicesDialog(parts.services, parts.window.device, parts.window)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 1 and "Simulated strap" in dialog.list.item(0).text()
    dialog.scenario.setCurrentIndex(dialog.scenario.findData("paced-breathing"))
    assert "paced-breathing" in dialog.list.item(0).text()
    # This machine has no Bluetooth: the real scan fails, and the dialog says so in a sentence.
    dialog.scan()
    qtbot.waitUntil(lambda: dialog.scan_button.isEnabled(), timeout=15000)
    assert dialog.status.text().startswith(("No scan this time:", "No strap answered", "Found"))
    dialog.list.setCurrentRow(0)
    dialog.accept()
    assert dialog.choice == DeviceChoice("simulated", scenario="paced-breathing")
    parts.window.close()


def test_a_strap_gone_quiet_is_said_calmly_and_its_beats_come_back(qtbot, tmp_path):
    # A real Bluetooth strap (bleak's front end on the emulated one) whose first link drops
    # during set-up, then keeps its link but stops notifying, as some BlueZ setups do: the
    # window says each in its own calm words, and never that the strap is out of reach.
    air = Air()
    try:
        central = BumbleCentral(air)
        strap = EmulatedStrap(air, name="TRM Test Strap", address="C0:11:22:33:44:55")
        strap.drop_during_setup("cccd")
        parts = open_app(qtbot, tmp_path, connect=False, speed=1.0)
        parts.services.ble_options = {
            "scanner_backend": central.scanner_backend,
            "client_backend": central.client_backend,
            "min_backoff_s": 0.01,
            "silence_timeout_s": 1.0,
        }
        window = parts.window
        seen: list[str] = []
        window.statusBar().messageChanged.connect(seen.append)
        window.connect_device(DeviceChoice("ble", strap.address, strap.name))
        qtbot.waitUntil(lambda: any("did not work this time; trying again" in m for m in seen))
        assert strap.subscribed.wait(10)
        assert strap.notify(encode_hrm(60, (1024,), contact=SensorContact.CONTACT))
        qtbot.waitUntil(lambda: window.readouts.link.text() == "Receiving beats", timeout=10000)
        links = strap.connection_attempts
        strap.go_quiet()
        qtbot.waitUntil(lambda: any("went quiet although it is still" in m for m in seen))
        assert not any("link dropped" in m for m in seen)  # it did not drop: not said so
        qtbot.waitUntil(
            lambda: strap.connection_attempts == links + 1 and strap.subscribed.is_set()
        )
        assert strap.notify(encode_hrm(61, (1000,), contact=SensorContact.CONTACT))
        qtbot.waitUntil(lambda: "Beats are arriving again." in seen, timeout=10000)
        assert not any("could not be reached" in m for m in seen)
        window.disconnect_strap()
        window.close()
    finally:
        air.close()
