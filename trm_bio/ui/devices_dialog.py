"""Choose a strap: the simulated strap is always offered; Bluetooth straps after a scan.

The scan runs on a worker thread (it blocks for its whole timeout) and reports back through
a queued signal; a scan that fails says why in one sentence. Given a way to connect, the
dialog stays open after Connect and shows the connection step by step, with what the strap
offers (:class:`~trm_bio.ui.strap_status.StrapStatusPanel`), fed by :meth:`DevicesDialog.
show_status`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from devices.packet import StatusEvent
from trm_bio.ui.services import AppServices, DeviceChoice
from trm_bio.ui.strap_status import StrapStatusPanel

SCAN_TIMEOUT_S = 5.0


class ScanReport(QObject):
    """A scan's answer, delivered on the thread that made the report (the UI's)."""

    done = Signal(object, str)  # list[DeviceChoice], error sentence ("" when fine)


def scan_in_background(services: AppServices, timeout_s: float, report: ScanReport) -> None:
    """Scan for straps on a worker thread (a scan blocks for its whole timeout); the
    answer comes through ``report.done``, connected queued by its owner."""

    def work() -> None:
        try:
            found = services.scan(timeout_s)
        except Exception as exc:  # DeviceError and OS errors: one sentence
            report.done.emit([], str(exc) or type(exc).__name__)
        else:
            report.done.emit(found, "")

    threading.Thread(target=work, name="strap-scan", daemon=True).start()


class DevicesDialog(QDialog):
    """Scan, pick, connect.

    Without ``connect``, Connect closes the dialog with :attr:`choice` set. With it, Connect
    calls ``connect(choice)`` and the dialog stays open, showing the connection's steps
    from the status events passed to :meth:`show_status`.
    """

    def __init__(
        self,
        services: AppServices,
        current: DeviceChoice | None,
        parent: QWidget | None = None,
        *,
        connect: Callable[[DeviceChoice], None] | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Choose a strap")
        self.services = services
        self.choice: DeviceChoice | None = None
        self._connect = connect
        self.scan_timeout_s = SCAN_TIMEOUT_S  # how long a scan listens (s)
        box = QVBoxLayout(self)
        intro = QLabel(
            "The simulated strap is always here for practice. To use a real chest strap, "
            "put it on (moisten the electrodes), then scan."
        )
        intro.setWordWrap(True)
        box.addWidget(intro)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda _: self.accept())
        box.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(QLabel("Simulated scenario:"))
        self.scenario = QComboBox()
        for name in services.scenarios:
            self.scenario.addItem(name, name)
        if current is not None and current.kind == "simulated":
            self.scenario.setCurrentIndex(max(self.scenario.findData(current.scenario), 0))
        self.scenario.currentIndexChanged.connect(self._refresh_simulated)
        row.addWidget(self.scenario, 1)
        self.scan_button = QPushButton("Scan for straps")
        self.scan_button.clicked.connect(self.scan)
        row.addWidget(self.scan_button)
        box.addLayout(row)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        box.addWidget(self.status)
        self.setup = StrapStatusPanel()
        self.setup.hide()  # until a strap is being connected
        box.addWidget(self.setup)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Connect")
        if connect is not None:
            buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self._report = ScanReport()
        self._report.done.connect(self._scanned, Qt.ConnectionType.QueuedConnection)
        self._refresh_simulated()
        self.resize(480, 360)

    def _simulated(self) -> DeviceChoice:
        return DeviceChoice("simulated", scenario=str(self.scenario.currentData()))

    def _refresh_simulated(self) -> None:
        choice = self._simulated()
        if self.list.count() == 0:
            self.list.addItem(QListWidgetItem(choice.label))
        item = self.list.item(0)
        item.setText(choice.label)
        item.setData(Qt.ItemDataRole.UserRole, choice)
        if self.list.currentRow() < 0:
            self.list.setCurrentRow(0)

    def scan(self) -> None:
        self.scan_button.setEnabled(False)
        self.status.setText(f"Listening for straps for {self.scan_timeout_s:g} seconds…")
        scan_in_background(self.services, self.scan_timeout_s, self._report)

    def _scanned(self, found: list[DeviceChoice], error: str) -> None:
        self.scan_button.setEnabled(True)
        while self.list.count() > 1:
            self.list.takeItem(1)
        for choice in found:
            item = QListWidgetItem(choice.label)
            item.setData(Qt.ItemDataRole.UserRole, choice)
            self.list.addItem(item)
        if error:
            self.status.setText(f"No scan this time: {error}")
        elif not found:
            self.status.setText("No strap answered. Is it on, and moist where it touches the skin?")
        else:
            self.status.setText(f"Found {len(found)} strap(s).")

    def accept(self) -> None:
        item = self.list.currentItem()
        self.choice = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if self._connect is None or self.choice is None:
            super().accept()
            return
        # The panel is ready before the source starts, so that it sees every step.
        self.setup.begin(self.choice.label)
        self.setup.show()
        self.list.setMaximumHeight(120)  # the set-up is what matters now
        self.resize(self.width(), max(self.height(), 560))
        self._connect(self.choice)

    def show_status(self, status: StatusEvent, offers: frozenset[str] = frozenset()) -> None:
        """Show one status event of the strap being connected (``offers``: the source's)."""
        if not self.setup.isHidden():
            self.setup.show_status(status, offers)
