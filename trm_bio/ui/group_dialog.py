"""New group session: how many participants, what each is called, and (with straps) whose
strap is whose; then the group window opens beside the main window.

Simulated participants need nothing else. Straps are found by a scan (the devices dialog's,
on a worker thread) and each is assigned to a participant; a strap given to two
participants is refused by the services with one sentence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from trm_bio.errors import TrmBioError
from trm_bio.ui.devices_dialog import SCAN_TIMEOUT_S, ScanReport, scan_in_background
from trm_bio.ui.menus import find_menu
from trm_bio.ui.reports import sentence
from trm_bio.ui.services import AppServices, DeviceChoice, GroupChoice

if TYPE_CHECKING:
    from trm_bio.ui.main_window import MainWindow

MIN_PEOPLE, MAX_PEOPLE = 2, 8


class NewGroupDialog(QDialog):
    """See module doc. Start opens the group session through ``services.open_group``."""

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New group session")
        self.services = services
        self.found: list[DeviceChoice] = []
        box = QVBoxLayout(self)
        intro = QLabel(
            "Each participant gets their own session and zone indicator; the sessions are "
            "saved together as one group. Name each participant as you will call them (a "
            "name or initials)."
        )
        intro.setWordWrap(True)
        box.addWidget(intro)
        self.name = QLineEdit()
        self.name.setPlaceholderText("the group's name (optional)")
        box.addWidget(self.name)
        kinds = QHBoxLayout()
        self.simulated = QRadioButton("Simulated participants")
        self.straps = QRadioButton("Straps")
        self.simulated.setChecked(True)
        self.simulated.toggled.connect(self._rows)
        kinds.addWidget(self.simulated)
        kinds.addWidget(self.straps)
        self.scenario = QComboBox()
        for scenario in services.scenarios:
            self.scenario.addItem(scenario, scenario)
        kinds.addWidget(self.scenario)
        kinds.addStretch(1)
        self.scan_button = QPushButton("Scan for straps")
        self.scan_button.clicked.connect(self.scan)
        kinds.addWidget(self.scan_button)
        box.addLayout(kinds)
        count_row = QHBoxLayout()
        count_row.addWidget(QLabel("Participants:"))
        self.count = QSpinBox()
        self.count.setRange(MIN_PEOPLE, MAX_PEOPLE)
        self.count.setValue(4)
        self.count.valueChanged.connect(self._rows)
        count_row.addWidget(self.count)
        count_row.addStretch(1)
        box.addLayout(count_row)
        self.form = QFormLayout()
        box.addLayout(self.form)
        self.labels: list[QLineEdit] = []
        self.strap_boxes: list[QComboBox] = []
        self.message = QLabel("")
        self.message.setObjectName("muted")
        self.message.setWordWrap(True)
        box.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start group session")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self._report = ScanReport()
        self._report.done.connect(self._scanned, Qt.ConnectionType.QueuedConnection)
        self._rows()

    def _rows(self) -> None:
        """One row per participant: their label, and with straps whose strap it is."""
        kept = [edit.text() for edit in self.labels]
        while self.form.rowCount():
            self.form.removeRow(0)
        self.labels, self.strap_boxes = [], []
        straps = self.straps.isChecked()
        self.scan_button.setEnabled(straps)
        self.scenario.setEnabled(not straps)
        for seat in range(self.count.value()):
            edit = QLineEdit(kept[seat] if seat < len(kept) else "")
            edit.setPlaceholderText(f"Participant {seat + 1}")
            self.labels.append(edit)
            row: QWidget = edit
            if straps:
                row = QWidget()
                line = QHBoxLayout(row)
                line.setContentsMargins(0, 0, 0, 0)
                line.addWidget(edit, 1)
                strap = QComboBox()
                for choice in self.found:
                    strap.addItem(choice.label, choice.target)
                if seat < strap.count():
                    strap.setCurrentIndex(seat)
                line.addWidget(strap, 2)
                self.strap_boxes.append(strap)
            self.form.addRow(f"{seat + 1}.", row)

    def scan(self) -> None:
        self.scan_button.setEnabled(False)
        self.message.setText(f"Listening for straps for {SCAN_TIMEOUT_S:g} seconds…")
        scan_in_background(self.services, SCAN_TIMEOUT_S, self._report)

    def _scanned(self, found: list[DeviceChoice], error: str) -> None:
        self.scan_button.setEnabled(self.straps.isChecked())
        self.found = [choice for choice in found if choice.kind == "ble"]
        if error:
            self.message.setText(f"No scan this time: {error}")
        elif not self.found:
            self.message.setText("No strap answered. Are they on, and moist where they touch?")
        else:
            self.message.setText(f"Found {len(self.found)} strap(s); give each to a participant.")
            self.count.setValue(min(max(len(self.found), MIN_PEOPLE), MAX_PEOPLE))
        self._rows()

    def choice(self) -> GroupChoice:
        """The group session as set up (``TrmBioError``: one sentence, e.g. no strap)."""
        labels = tuple(
            edit.text().strip() or f"Participant {seat + 1}"
            for seat, edit in enumerate(self.labels)
        )
        name = self.name.text().strip()
        if self.simulated.isChecked():
            return GroupChoice(
                "simulated", labels, name=name, scenario=str(self.scenario.currentData())
            )
        targets = tuple(str(box.currentData() or "") for box in self.strap_boxes)
        if not all(targets):
            raise TrmBioError("give every participant a strap (scan for straps first)")
        return GroupChoice("ble", labels, targets=targets, name=name)

    def accept(self) -> None:
        try:
            self.services.open_group(self.choice())
        except TrmBioError as exc:
            self.message.setText(sentence(str(exc)))
            return
        super().accept()


def attach(window: MainWindow) -> QAction:
    """Add "New group session…" to the main window's Session menu."""
    action = QAction("New group session…", window)
    action.setToolTip("Several participants at once, each with their own strap and session")
    action.triggered.connect(lambda: NewGroupDialog(window.services, window).exec())
    menu = find_menu(window, "Session")
    if menu is not None:
        actions = menu.actions()
        if actions:
            menu.insertAction(actions[0], action)
        else:
            menu.addAction(action)
    return action
