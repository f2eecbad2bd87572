"""The event list: every logged event of the session as it happens, editable afterwards.

A dock beside the plots lists the session's events (time, kind, words), each with the
colour of its marker. While a session is recorded the list follows it and is read-only;
once the session has ended, and in a replay, the person's own entries (sensations, zone
ratings, markers, notes, resources) can be corrected: their time, kind and words, or
deleted. The corrections go to the library (:meth:`Library.update_event`), on the beat
clock, so the summary, the report and the replay read them. The practice's own events (a
skill or step starting, Help Now!, the strap's link) are the record of what happened and
stay as they are.

The dock follows the window's controller on a slow timer of its own (it changes only when
an event is logged, about once a minute), so the window's frame loop stays as it is.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trm_bio.core.events import (
    Event,
    EventKind,
    SensationPayload,
    TextPayload,
    ZoneRatingPayload,
)
from trm_bio.errors import TrmBioError
from trm_bio.ui import theme
from trm_bio.ui.help_dialog import SHORTCUTS
from trm_bio.ui.marker_legend import clock, kind_words
from trm_bio.ui.markers import marker_for
from trm_bio.ui.menus import find_menu
from trm_bio.ui.reports import sentence

if TYPE_CHECKING:
    from trm_bio.ui.main_window import MainWindow
    from trm_bio.ui.services import EventStore

log = logging.getLogger(__name__)

FOLLOW_MS = 300  # how often the dock looks for new events and a new session
#: The kinds a person's own entry may be given: (words, event kind, tone).
EDIT_KINDS: tuple[tuple[str, str, str], ...] = (
    ("pleasant sensation", EventKind.SENSATION, "pleasant"),
    ("neutral sensation", EventKind.SENSATION, "neutral"),
    ("unpleasant sensation", EventKind.SENSATION, "unpleasant"),
    ("marker", EventKind.MARKER, ""),
    ("note", EventKind.NOTE, ""),
    ("resource", EventKind.RESOURCE, ""),
)
#: Kinds of event that are the person's own entries, and so may be corrected.
EDITABLE = frozenset(
    {EventKind.SENSATION, EventKind.ZONE_RATING, EventKind.MARKER, EventKind.NOTE,
     EventKind.RESOURCE}
)
_CLOCK = re.compile(r"^\s*(?:(\d+)\s*:\s*)?(\d+(?:\.\d*)?)\s*$")


def parse_clock(text: str) -> float:
    """Seconds (s) from ``m:ss`` or plain seconds; ValueError with a sentence otherwise."""
    match = _CLOCK.match(text)
    if match is None:
        raise ValueError(f"“{text.strip()}” is not a time: write minutes and seconds, as 12:05.")
    minutes, seconds = match.groups()
    if minutes is not None and float(seconds) >= 60:
        raise ValueError(f"“{text.strip()}” has more than 59 seconds.")
    return 60.0 * int(minutes or 0) + float(seconds)


def entry_text(event: Event) -> str:
    """The words of an entry as the edit form holds them (a sensation's words, a note...)."""
    details = event.details
    if isinstance(details, SensationPayload):
        return ", ".join(details.words)
    if isinstance(details, ZoneRatingPayload):
        return details.note
    if isinstance(details, TextPayload):
        return details.text or ""
    return ""


def edited_payload(event: Event, kind: str, tone: str, text: str) -> dict[str, Any]:
    """The payload of ``event`` turned into ``kind`` (with ``tone``) holding ``text``.

    What the form does not show (a sensation's place and strength, keys this version does
    not know) is kept while the kind stays.
    """
    text = " ".join(text.split())
    payload = dict(event.payload)
    if kind == EventKind.SENSATION:
        words = [w.strip() for w in text.split(",") if w.strip()]
        if event.kind != EventKind.SENSATION:
            payload = {}
        payload.update(valence=tone, words=words)
        return payload
    if kind == EventKind.ZONE_RATING:
        payload["note"] = text
        return payload
    if event.kind not in (EventKind.MARKER, EventKind.NOTE, EventKind.RESOURCE):
        payload = {}
    payload["text"] = text or None
    return payload


class EventEditDialog(QDialog):
    """Time, kind and words of one entry; :attr:`values` once accepted."""

    def __init__(self, event: Event, end_s: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Correct an event")
        self.entry = event
        self.end_s = end_s
        self.values: tuple[float, str, str, str] | None = None
        form = QFormLayout(self)
        self.time = QLineEdit(clock(event.time_s))
        self.time.setToolTip("Minutes and seconds from the start of the session, as 12:05")
        self.kind = QComboBox()
        marker = marker_for(event)
        if event.kind == EventKind.ZONE_RATING:
            self.kind.addItem(kind_words(marker) if marker else "own zone rating")
            self.kind.setEnabled(False)  # a rating is a zone, not words: kept as it is
        else:
            for words, _, _ in EDIT_KINDS:
                self.kind.addItem(words)
            current = marker.style_key if marker is not None else str(event.kind)
            for index, (_, kind, tone) in enumerate(EDIT_KINDS):
                if theme.marker_key(kind, tone) == current:
                    self.kind.setCurrentIndex(index)
        self.text = QLineEdit(entry_text(event))
        self.text.setPlaceholderText(
            "words, separated by commas" if event.kind == EventKind.SENSATION else "words"
        )
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        form.addRow("Time", self.time)
        form.addRow("Kind", self.kind)
        form.addRow("Words", self.text)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        try:
            time_s = parse_clock(self.time.text())
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        if time_s > self.end_s:
            self.problem.setText(f"The session lasted {clock(self.end_s)}; pick a time within it.")
            return
        if self.entry.kind == EventKind.ZONE_RATING:
            kind, tone = str(EventKind.ZONE_RATING), ""
        else:
            _, kind, tone = EDIT_KINDS[self.kind.currentIndex()]
        self.values = (time_s, str(kind), tone, self.text.text())
        super().accept()


class EventListPanel(QWidget):
    """The list itself: one row per event, edit and delete buttons."""

    COLUMNS = ("Time", "Kind", "What")

    def __init__(self, library: EventStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.session_id: int | None = None  # the stored session shown (None: live or none)
        self.editable = False
        self.events: list[Event] = []
        self.end_s = 0.0
        self.say = lambda text: None  # where a sentence for the user goes (the status bar)
        self.changed = lambda session_id: None  # called after a correction was saved
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("No session yet.")
        self.title.setObjectName("muted")
        self.title.setWordWrap(True)
        box.addWidget(self.title)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(1, 130)  # a kind's words may run under the next column
        self.setMinimumWidth(340)
        self.table.doubleClicked.connect(lambda _: self.edit_selected())
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        self.table.setAccessibleName("Events of the session")
        box.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.edit_button = QPushButton("Correct…")
        self.edit_button.setToolTip("Correct the chosen entry's time, kind or words")
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the chosen entry (asks first)")
        self.delete_button.clicked.connect(self.delete_selected)
        row.addWidget(self.edit_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        box.addLayout(row)
        self._sync_buttons()

    # -- what is shown ---------------------------------------------------------------------
    def show_live(self, events: list[Event]) -> None:
        """A session being recorded: its events so far, read-only."""
        self.session_id, self.editable = None, False
        self.title.setText("This session's events as they are logged. They can be corrected "
                           "once the session has ended.")
        self._fill(events)

    def add_live(self, events: list[Event]) -> None:
        """Events newly logged in the live session."""
        for event in events:
            self._add_row(event)
        if events:
            self.table.scrollToBottom()

    def show_stored(self, session_id: int) -> None:
        """A stored session's events, correctable; a sentence instead if it cannot be read."""
        try:
            info = self.library.get_session(session_id)
            events = self.library.session_events(session_id)
        except TrmBioError as exc:
            self.show_nothing(f"The events of session {session_id} cannot be read: {exc}.")
            return
        self.session_id, self.editable = session_id, True
        self.end_s = max([info.duration_s or 0.0, *(e.time_s for e in events)])
        self.title.setText(
            f"Session {session_id}. Double-click an entry of the person's own to correct it."
        )
        self._fill(events)

    def show_nothing(self, words: str = "No session yet.") -> None:
        self.session_id, self.editable = None, False
        self.title.setText(words)
        self._fill([])

    def _fill(self, events: list[Event]) -> None:
        self.events = []
        self.table.setRowCount(0)
        for event in events:
            self._add_row(event)
        self._sync_buttons()

    def _add_row(self, event: Event) -> None:
        marker = marker_for(event)
        if marker is None:
            return  # not marked on the plots either (e.g. a step's end: the next one starts)
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.events.append(event)
        swatch = QPixmap(12, 12)
        swatch.fill(QColor(theme.MARKER_STYLES.get(marker.style_key, (theme.MUTED_TEXT, ""))[0]))
        cells = (
            QTableWidgetItem(clock(event.time_s)),
            QTableWidgetItem(swatch, kind_words(marker)),
            QTableWidgetItem(marker.label),
        )
        own = event.kind in EDITABLE
        for column, cell in enumerate(cells):
            cell.setToolTip(
                marker.label if own else "Recorded by the practice or the strap: kept as it is."
            )
            if not own:
                cell.setForeground(QColor(theme.MUTED_TEXT))
            self.table.setItem(row, column, cell)

    def selected(self) -> Event | None:
        rows = self.table.selectionModel().selectedRows()
        return self.events[rows[0].row()] if rows else None

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    def _sync_buttons(self) -> None:
        event = self.selected()
        ok = self.editable and event is not None and event.kind in EDITABLE
        self.edit_button.setEnabled(ok)
        self.delete_button.setEnabled(ok)
        self.edit_button.setVisible(self.editable)
        self.delete_button.setVisible(self.editable)

    # -- corrections ---------------------------------------------------------------------------
    def edit_selected(self) -> None:
        event = self.selected()
        if not self.editable or event is None:
            return
        if event.kind not in EDITABLE:
            self.say("That entry was recorded by the practice or the strap; it stays as it is.")
            return
        dialog = self.edit_dialog(event)
        if dialog.exec() and dialog.values is not None:
            self.apply_edit(event, *dialog.values)

    def edit_dialog(self, event: Event) -> EventEditDialog:
        return EventEditDialog(event, self.end_s, self)

    def apply_edit(self, event: Event, time_s: float, kind: str, tone: str, text: str) -> bool:
        """Save a correction of ``event`` in the library; True when it was saved."""
        if self.session_id is None or event.seq is None:
            return False
        try:
            self.library.update_event(
                self.session_id,
                event.seq,
                time_s=time_s,
                kind=kind,
                payload=edited_payload(event, kind, tone, text),
            )
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return False
        self._reload(f"The entry at {clock(time_s)} was corrected.")
        return True

    def delete_selected(self) -> None:
        event = self.selected()
        if not self.editable or event is None or event.kind not in EDITABLE:
            return
        marker = marker_for(event)
        what = f"{kind_words(marker)} at {clock(event.time_s)}" if marker else "entry"
        answer = QMessageBox.question(
            self, "Delete the entry?", f"Delete the {what}? This cannot be undone."
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(event)

    def delete(self, event: Event) -> bool:
        """Delete ``event`` from the library; True when it was deleted."""
        if self.session_id is None or event.seq is None:
            return False
        try:
            self.library.delete_event(self.session_id, event.seq)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return False
        self._reload(f"The entry at {clock(event.time_s)} was deleted.")
        return True

    def _reload(self, words: str) -> None:
        session_id = self.session_id
        assert session_id is not None
        row = self.table.currentRow()
        self.show_stored(session_id)
        self.select_row(min(row, self.table.rowCount() - 1))
        self.say(words)
        self.changed(session_id)


class EventListDock(QDockWidget):
    """The event list as a dock of the main window, following its controller."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__("Events", window)
        self.setObjectName("event_list")
        self.window_ = window
        self.panel = EventListPanel(window.controller.library, self)
        self.panel.say = window.say
        self.panel.changed = self._changed
        self.setWidget(self.panel)
        self.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self._followed: tuple[int, int | None, bool] | None = None  # (session, id, replay)
        self._recorded_id: int | None = None  # the recording followed live, if any
        self._seen = 0
        self.menu_action: QAction | None = None  # View > Event list (see attach)
        self.follow_timer = QTimer(self)
        self.follow_timer.setInterval(FOLLOW_MS)
        self.follow_timer.timeout.connect(self.follow)
        self.follow_timer.start()

    @classmethod
    def attach(cls, window: MainWindow) -> EventListDock:
        """Add the dock to ``window`` (hidden unless it was showing last time) and its
        View menu entry (Ctrl+J)."""
        dock = cls(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

        def widen(visible: bool) -> None:
            if visible:
                window.resizeDocks([dock], [380], Qt.Orientation.Horizontal)

        dock.visibilityChanged.connect(widen)
        action: QAction = dock.toggleViewAction()
        action.setText("Event list")
        # The key itself is the window's (help_dialog.SHORTCUTS); here it is only named.
        action.setShortcut(QKeySequence(SHORTCUTS["event_list"][0]))
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        menu = find_menu(window, "View")
        if menu is not None:
            menu.addAction(action)
        dock.menu_action = action
        shown = window.settings.q.value("event_list/visible", False) in (True, "true")
        dock.setVisible(bool(shown))
        dock.visibilityChanged.connect(
            lambda visible: window.settings.q.setValue("event_list/visible", bool(visible))
        )
        return dock

    def follow(self) -> None:
        """Show what the controller holds now: a live recording, a replay, or the last one."""
        c = self.window_.controller
        session = c.session
        recording = session is not None and c.recorder is not None and not c.is_replay
        state = (id(session), c.session_id, c.is_replay)
        if state != self._followed:
            self._followed = state
            self._seen = 0
            if recording and session is not None:
                self._recorded_id = c.session_id
                self._seen = len(session.events)
                self.panel.show_live(list(session.events))
            elif c.is_replay and c.session_id is not None:
                self.panel.show_stored(c.session_id)
            elif self._recorded_id is not None:
                self.panel.show_stored(self._recorded_id)  # the session that just ended
            else:
                self.panel.show_nothing()
            return
        if recording and session is not None and len(session.events) > self._seen:
            self.panel.add_live(session.events[self._seen :])
            self._seen = len(session.events)

    def _changed(self, session_id: int) -> None:
        self.window_.events_corrected(session_id)
