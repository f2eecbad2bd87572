"""Sensation tracking: one key for pleasant, neutral or unpleasant, then optional details.

The valence key dates the sensation at the moment it was noticed; words, body location,
intensity and a note can follow while the session runs on. The entry is logged with Enter or
"Log", when another valence key is pressed, or by itself after a quiet while, always at
the time it was noticed. The person's own zone rating sits here too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from skills.sensations import BODY_LOCATIONS, SENSATION_WORDS
from trm_bio.controller import SessionController
from trm_bio.ui import theme

VALENCE_KEYS = (("pleasant", "1"), ("neutral", "2"), ("unpleasant", "3"))
AUTO_LOG_MS = 30_000  # details left untouched this long are logged as they are
WORDS_MIN_HEIGHT = 70  # px: three rows of the sensation words
WORDS_MAX_HEIGHT = 110  # px: five rows


class TrackingPanel(QGroupBox):
    """Valence buttons, details form, zone rating."""

    message = Signal(str)
    logged = Signal(object)  # the logged Event

    def __init__(
        self, controller: SessionController, scale: theme.TextScale, parent: QWidget | None = None
    ):
        super().__init__("Tracking", parent)
        self.controller = controller
        self.pending: tuple[str, float] | None = None  # (valence, time_s noticed)
        box = QVBoxLayout(self)
        theme.compact(box)
        # As tall as its rows can use (the word list's five rows at most), never taller: the
        # column's room beyond that goes to the prompt.
        box.setSizeConstraint(QLayout.SizeConstraint.SetMinAndMaxSize)
        row = QHBoxLayout()
        self.valence_buttons: dict[str, QPushButton] = {}
        for valence, key in VALENCE_KEYS:
            button = QPushButton(f"{valence.capitalize()}  ({key})")
            button.setObjectName("valence")
            button.setStyleSheet(f"border-left: 6px solid {theme.VALENCE_COLOURS[valence]};")
            button.setToolTip(f"Log a {valence} sensation now (key {key})")
            button.clicked.connect(lambda _=False, v=valence: self.notice(v))
            row.addWidget(button)
            self.valence_buttons[valence] = button
        box.addLayout(row)
        self.details = QWidget()
        d = QVBoxLayout(self.details)
        d.setContentsMargins(0, 0, 0, 0)
        d.setSpacing(theme.PANEL_SPACING)
        d.setSizeConstraint(QLayout.SizeConstraint.SetMinAndMaxSize)
        # One short line (the fields below say what may be added): it neither wraps nor
        # widens the column.
        self.pending_label = QLabel("")
        self.pending_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        d.addWidget(self.pending_label)
        self.words = QListWidget()
        self.words.setViewMode(QListView.ViewMode.IconMode)
        self.words.setFlow(QListView.Flow.LeftToRight)
        self.words.setWrapping(True)
        self.words.setResizeMode(QListView.ResizeMode.Adjust)
        self.words.setMovement(QListView.Movement.Static)
        self.words.setSpacing(2)
        # Three rows of words at least (the rest scroll), up to five where there is room: the
        # list asks for no more than its minimum, so the column fits a laptop unscrolled.
        self.words.setMinimumHeight(WORDS_MIN_HEIGHT)
        self.words.setMaximumHeight(WORDS_MAX_HEIGHT)
        policy = self.words.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
        self.words.setSizePolicy(policy)
        self.words.setAccessibleName("Sensation words")
        for word in SENSATION_WORDS:
            item = QListWidgetItem(word)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.words.addItem(item)
        self.words.itemChanged.connect(self._touched)
        d.addWidget(self.words)
        where = QHBoxLayout()
        self.location = QComboBox()
        self.location.setAccessibleName("Where in the body")
        self.location.addItem("where in the body…", None)
        for place in BODY_LOCATIONS:
            self.location.addItem(place, place)
        self.location.currentIndexChanged.connect(self._touched)
        self.intensity = QSpinBox()
        self.intensity.setRange(-1, 10)
        self.intensity.setSpecialValueText("strength –")
        self.intensity.setPrefix("strength ")
        self.intensity.setValue(-1)
        self.intensity.setToolTip("How strong, 0 (barely there) to 10")
        self.intensity.valueChanged.connect(self._touched)
        where.addWidget(self.location, 1)
        where.addWidget(self.intensity)
        d.addLayout(where)
        # The note and Log share a row: Log is where Enter in the note would take it.
        note_row = QHBoxLayout()
        self.note = QLineEdit()
        self.note.setPlaceholderText("In the person's own words (optional)")
        self.note.textEdited.connect(self._touched)
        self.note.returnPressed.connect(self.commit)
        note_row.addWidget(self.note, 1)
        self.log_button = QPushButton("Log  (Enter)")
        self.log_button.clicked.connect(self.commit)
        note_row.addWidget(self.log_button)
        d.addLayout(note_row)
        box.addWidget(self.details)
        zone_row = QHBoxLayout()
        label = QLabel("Where do you sense you are?")
        label.setObjectName("muted")
        zone_row.addWidget(label)
        self.zone_buttons: dict[str, QPushButton] = {}
        for zone, key in (("high", "F6"), ("resilient", "F7"), ("low", "F8")):
            button = QPushButton(zone)
            button.setToolTip(f"The person's own sense: {zone} zone ({key})")
            button.clicked.connect(lambda _=False, z=zone: self.rate_zone(z))
            zone_row.addWidget(button)
            self.zone_buttons[zone] = button
        box.addLayout(zone_row)
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(AUTO_LOG_MS)
        self._quiet.timeout.connect(self.commit)
        self._clear_details()

    # -- input ---------------------------------------------------------------------------
    def notice(self, valence: str) -> None:
        """A valence key: date the sensation now; details may follow."""
        if self.controller.session is None or self.controller.is_replay:
            self.message.emit("Tracking is logged during a live session.")
            return
        if self.pending is not None:
            self.commit()
        self.pending = (valence, self.controller.now_s())
        self.details.setEnabled(True)
        minutes, seconds = divmod(int(self.pending[1]), 60)
        self.pending_label.setText(
            f"<b>{valence.capitalize()}</b>, noticed at {minutes}:{seconds:02d}; "
            "details may follow, Enter logs it."
        )
        self.pending_label.setToolTip(
            "You might add words, a place, a strength or a note; Enter or Log logs it."
        )
        self._quiet.start()

    def _touched(self, *args: object) -> None:
        if self.pending is not None:
            self._quiet.start()

    def commit(self) -> None:
        """Log the pending sensation with whatever details were given."""
        self._quiet.stop()
        if self.pending is None:
            return
        valence, time_s = self.pending
        self.pending = None
        words = tuple(
            self.words.item(i).text()
            for i in range(self.words.count())
            if self.words.item(i).checkState() == Qt.CheckState.Checked
        )
        intensity = self.intensity.value()
        try:
            event = self.controller.log_sensation(
                valence,
                words,
                self.location.currentData(),
                None if intensity < 0 else intensity,
                self.note.text(),
                time_s=time_s,
            )
        except Exception as exc:  # SensationError / TrmBioError: say it, keep going
            self.message.emit(str(exc).capitalize())
        else:
            self.message.emit(f"Logged a {valence} sensation.")
            self.logged.emit(event)
        self._clear_details()

    def rate_zone(self, zone: str) -> None:
        if self.controller.session is None or self.controller.is_replay:
            return
        event = self.controller.log_zone_rating(zone)
        self.message.emit(f"Noted: the person senses the {zone} zone.")
        self.logged.emit(event)

    def _clear_details(self) -> None:
        self.words.blockSignals(True)
        for i in range(self.words.count()):
            self.words.item(i).setCheckState(Qt.CheckState.Unchecked)
        self.words.blockSignals(False)
        for w in (self.location, self.intensity):
            w.blockSignals(True)
        self.location.setCurrentIndex(0)
        self.intensity.setValue(-1)
        for w in (self.location, self.intensity):
            w.blockSignals(False)
        self.note.clear()
        self.pending_label.setText("Press 1, 2 or 3 when something is noticed.")
        self.pending_label.setToolTip("")
        self.details.setEnabled(False)

    def set_read_only(self, read_only: bool) -> None:
        for button in (*self.valence_buttons.values(), *self.zone_buttons.values()):
            button.setEnabled(not read_only)
        if read_only:
            self.pending = None
            self._clear_details()
