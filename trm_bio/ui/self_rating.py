"""The person's own rating at the start and the end of a session: how distressed they feel
(0-10) and their own sense of their zone. Both are optional and either may be skipped: the
form invites, it never insists. Stored as zone-rating events with a ``moment`` (see
:func:`trm_bio.core.events.self_rating`) and shown in the summary, the report and the trends.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from trm_bio.core.events import OWN_ZONES

NOT_GIVEN = "not given"
INVITATIONS = {
    "start": "Before you begin, if you like: how distressed do you feel right now, from 0 "
    "(not at all) to 10 (the most), and which zone do you sense you are in? Either may be "
    "left out.",
    "end": "Now that the session has ended, if you like: how distressed do you feel, from 0 "
    "to 10, and which zone do you sense you are in? Either may be left out.",
}


class SelfRatingForm(QWidget):
    """Distress 0-10 and the own zone, each "not given" until chosen; Save and Not now.

    ``saved`` carries (distress or None, zone or None); ``skipped`` says the person let it be.
    """

    saved = Signal(object, object)
    skipped = Signal()

    def __init__(self, moment: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.moment = moment
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.invitation = QLabel(INVITATIONS[moment])
        self.invitation.setWordWrap(True)
        box.addWidget(self.invitation)
        row = QHBoxLayout()
        row.addWidget(QLabel("Distress (0-10)"))
        self.distress = QSpinBox()
        self.distress.setRange(-1, 10)  # -1 shows "not given"
        self.distress.setSpecialValueText(NOT_GIVEN)
        self.distress.setValue(-1)
        self.distress.setAccessibleName("Distress from 0 to 10")
        row.addWidget(self.distress)
        row.addWidget(QLabel("Own zone"))
        self.zone = QComboBox()
        self.zone.addItems([NOT_GIVEN, *OWN_ZONES])
        self.zone.setAccessibleName("Your own zone")
        row.addWidget(self.zone)
        row.addStretch(1)
        self.skip_button = QPushButton("Not now")
        self.skip_button.clicked.connect(self.skipped)
        self.save_button = QPushButton("Save")
        self.save_button.setEnabled(False)
        self.save_button.setToolTip("Choose a distress rating or a zone first")
        self.save_button.clicked.connect(self._save)
        row.addWidget(self.skip_button)
        row.addWidget(self.save_button)
        box.addLayout(row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        box.addWidget(self.message)
        self.distress.valueChanged.connect(lambda _: self._changed())
        self.zone.currentIndexChanged.connect(lambda _: self._changed())

    def values(self) -> tuple[float | None, str | None]:
        distress = self.distress.value()
        zone = self.zone.currentText()
        return (None if distress < 0 else float(distress),
                None if zone == NOT_GIVEN else zone)

    def _changed(self) -> None:
        self.save_button.setEnabled(self.values() != (None, None))

    def _save(self) -> None:
        distress, zone = self.values()
        if distress is not None or zone is not None:
            self.saved.emit(distress, zone)

    def done(self, sentence: str) -> None:
        """Say what happened and take no more input."""
        self.message.setText(sentence)
        for widget in (self.distress, self.zone, self.save_button, self.skip_button):
            widget.setEnabled(False)


class SelfRatingDialog(QDialog):
    """The start rating beside the main window (not modal: the session runs meanwhile)."""

    def __init__(self, moment: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Your own rating" + (" before you begin" if moment == "start"
                                                  else " after the session"))
        self.setWindowModality(Qt.WindowModality.NonModal)
        # Beside the session, not in its way: the main window keeps the keyboard (its
        # tracking keys and shortcuts) until the person turns to this one.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        box = QVBoxLayout(self)
        self.form = SelfRatingForm(moment)
        self.form.skipped.connect(self.reject)
        box.addWidget(self.form)
        self.resize(520, 150)
