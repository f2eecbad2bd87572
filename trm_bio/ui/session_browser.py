"""The library browser: every stored session, to find, replay, summarise, report, export,
annotate or delete.

Times are the computer's local time; the person and a search box narrow the list; long
names are elided (the whole text is in the cell's tooltip) so every column stays on screen.
With nothing to show, a sentence says why and the buttons say what they need. Deleting asks
first, and a session being recorded cannot be deleted (the services refuse it in one
sentence, as the library does for another program's recording).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trm_bio.errors import TrmBioError
from trm_bio.exporting import EXPORT_DESCRIPTIONS, EXPORT_SUFFIXES
from trm_bio.report.text import fmt_clock, local_time
from trm_bio.ui.reports import REPORT_FILTERS, sentence
from trm_bio.ui.services import AppServices, StoredGroup, StoredSession

COLUMNS = (
    "Session", "Started (local time)", "Person", "Group", "Length", "Status", "Source", "Tags",
    "Notes",
)
#: The Status column's words and what each means (its tooltip).
STATUS_WORDS = {
    "complete": ("complete", "Ended as usual."),
    "interrupted": (
        "interrupted",
        "The recording stopped before it was ended (the app or the computer stopped); "
        "what was recorded until then is kept.",
    ),
    "recording": ("recording now", "Being recorded now."),
}
STATUS_COLUMN = COLUMNS.index("Status")
ALL_PEOPLE = "Everyone"
ALL_GROUPS = "All sessions"
NEEDS_GROUP = "Choose a session of a group session first."
#: Widest a column may grow to fit its text (px); longer text is elided ("…").
MAX_COLUMN_PX = 220
EMPTY_LIBRARY = (
    "The library has no sessions yet. Start a session (Ctrl+R) in the main window: it is "
    "listed here once it ends."
)
NEEDS_SESSION = "Choose a session in the list first."
NO_SESSIONS = "The library has no sessions yet."


def _length(duration_s: float | None) -> str:
    return "–" if duration_s is None else fmt_clock(duration_s)


def _tags_text(tags: Sequence[str]) -> str:
    return ", ".join(tags)


def parse_tags(text: str) -> list[str]:
    """Tags typed as "calm, first visit, follow-up": trimmed, without blanks or repeats."""
    seen: list[str] = []
    for tag in text.split(","):
        tag = " ".join(tag.split())
        if tag and tag not in seen:
            seen.append(tag)
    return seen


class EditSessionDialog(QDialog):
    """The notes and tags of one session, to change."""

    def __init__(self, info: StoredSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Session {info.id}: notes and tags")
        form = QFormLayout(self)
        self.notes = QPlainTextEdit(info.notes)
        self.notes.setTabChangesFocus(True)
        self.tags = QLineEdit(_tags_text(info.tags))
        self.tags.setPlaceholderText("separated by commas, e.g. first visit, calm")
        form.addRow("Notes", self.notes)
        form.addRow("Tags", self.tags)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons
        self.resize(480, 260)


class SessionBrowser(QDialog):
    """Lists sessions; emits ``replay_requested``, ``summary_requested`` or
    ``report_requested`` (save the session's report) with an id; exports, edits and
    deletes through the services itself."""

    replay_requested = Signal(int)
    summary_requested = Signal(int)
    report_requested = Signal(int)

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Session library")
        self.services = services
        self.sessions: list[StoredSession] = []
        self.shown: list[StoredSession] = []
        self.groups: dict[int, StoredGroup] = {}
        self.group_dialog: QWidget | None = None
        self.edit_dialog: EditSessionDialog | None = None
        self.confirm_box: QMessageBox | None = None
        box = QVBoxLayout(self)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Person"))
        self.person = QComboBox()
        self.person.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.person.setMinimumContentsLength(12)
        self.person.currentIndexChanged.connect(lambda _: self._show())
        filters.addWidget(self.person)
        filters.addWidget(QLabel("Group"))
        self.group = QComboBox()
        self.group.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.group.setMinimumContentsLength(12)
        self.group.currentIndexChanged.connect(lambda _: self._show())
        filters.addWidget(self.group)
        filters.addWidget(QLabel("Search"))
        self.search = QLineEdit()
        self.search.setPlaceholderText("notes, tags, person, session number")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _: self._show())
        filters.addWidget(self.search, 1)
        box.addLayout(filters)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setMaximumSectionSize(MAX_COLUMN_PX)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.doubleClicked.connect(lambda _: self._emit(self.replay_requested))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.empty = QLabel(EMPTY_LIBRARY)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        box.addWidget(self.stack, 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        box.addWidget(self.message)
        row = QHBoxLayout()
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.delete_selected)
        self.edit_button = QPushButton("Notes and tags…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export_selected)
        self.replay_button = QPushButton("Replay")
        self.replay_button.clicked.connect(lambda: self._emit(self.replay_requested))
        self.summary_button = QPushButton("Summary")
        self.summary_button.clicked.connect(lambda: self._emit(self.summary_requested))
        self.report_button = QPushButton("Save report…")
        self.report_button.clicked.connect(lambda: self._emit(self.report_requested))
        self.group_replay_button = QPushButton("Replay group")
        self.group_replay_button.clicked.connect(self.replay_group)
        self.group_export_button = QPushButton("Export group…")
        self.group_export_button.clicked.connect(self.export_group)
        self.group_report_button = QPushButton("Group report…")
        self.group_report_button.clicked.connect(self.group_report)
        self.group_summary_button = QPushButton("Group summary…")
        self.group_summary_button.clicked.connect(self.show_group_summary)
        self.group_buttons = {
            self.group_replay_button: "Replay every session of the chosen session's group "
            "together",
            self.group_export_button: "Export every session of the group into one folder, "
            "with a group.json linking them",
            self.group_report_button: "Save the group's report, which names no participant",
            self.group_summary_button: "Show the group's summary: each participant and the "
            "group, with their reports",
        }
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        self.session_buttons = {
            self.delete_button: "Delete the session and everything recorded in it (asks first)",
            self.edit_button: "Change the session's notes and tags",
            self.export_button: "Export the session as CSV, Kubios RR text, EDF+ or trm-bio JSON",
            self.report_button: "Save the session's report as a web page (HTML) or a PDF",
            self.summary_button: "Show the session's summary",
            self.replay_button: "Replay the session with the same screens",
        }
        row.addWidget(self.delete_button)
        row.addWidget(self.edit_button)
        row.addStretch(1)
        for b in (self.export_button, self.report_button, self.summary_button,
                  self.replay_button, close):
            row.addWidget(b)
        group_row = QHBoxLayout()
        group_row.addStretch(1)
        for b in self.group_buttons:
            group_row.addWidget(b)
        box.addLayout(group_row)
        box.addLayout(row)
        self.refresh()
        self.resize(900, 460)

    # -- the list -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the sessions and people again, keeping the filter and the selection."""
        chosen = self.selected_id()
        self.sessions = list(reversed(self.services.list_sessions()))  # newest first
        person = self.person.currentText()
        self.person.blockSignals(True)
        self.person.clear()
        self.person.addItem(ALL_PEOPLE)
        self.person.addItems(self.services.people())
        index = self.person.findText(person)
        self.person.setCurrentIndex(max(index, 0))
        self.person.blockSignals(False)
        self.groups = {g.id: g for g in self.services.list_groups()}
        group = self.group.currentData()
        self.group.blockSignals(True)
        self.group.clear()
        self.group.addItem(ALL_GROUPS, None)
        for g in reversed(self.groups.values()):  # newest first, as the sessions
            self.group.addItem(self.group_name(g.id), g.id)
        self.group.setCurrentIndex(max(self.group.findData(group), 0))
        self.group.blockSignals(False)
        self._show(chosen)

    def group_name(self, group_id: int | None) -> str:
        """A group's name as the list shows it ("" for a session recorded alone)."""
        if group_id is None:
            return ""
        group = self.groups.get(group_id)
        name = group.name if group is not None else ""
        return name or f"Group {group_id}"

    def _matches(self, info: StoredSession) -> bool:
        person = self.person.currentText()
        if person not in ("", ALL_PEOPLE) and info.person_name != person:
            return False
        group = self.group.currentData()
        if group is not None and info.group_id != group:
            return False
        words = self.search.text().casefold().split()
        text = " ".join(
            (str(info.id), info.person_name or "", info.notes, _tags_text(info.tags),
             info.device_name or info.source_kind, local_time(info.started_utc),
             self.group_name(info.group_id), info.status)
        ).casefold()
        return all(word in text for word in words)

    def _show(self, chosen: int | None = None) -> None:
        chosen = self.selected_id() if chosen is None else chosen
        self.shown = [info for info in self.sessions if self._matches(info)]
        self.table.setRowCount(len(self.shown))
        for r, info in enumerate(self.shown):
            cells = (
                str(info.id),
                local_time(info.started_utc),
                info.person_name or "–",
                self.group_name(info.group_id),
                _length(info.duration_s),
                STATUS_WORDS.get(info.status, (info.status, ""))[0],
                info.device_name or info.source_kind,
                _tags_text(info.tags),
                " ".join(info.notes.split()),
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                item.setToolTip(info.notes if c == len(cells) - 1 else text)
                if c == STATUS_COLUMN:
                    item.setToolTip(STATUS_WORDS.get(info.status, (text, text))[1])
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()  # each at most MAX_COLUMN_PX: the rest elided
        if not self.sessions:
            self.empty.setText(EMPTY_LIBRARY)
        elif not self.shown:
            self.empty.setText("No session matches the chosen person, group and search.")
        self.stack.setCurrentWidget(self.table if self.shown else self.empty)
        ids = [info.id for info in self.shown]
        if ids:
            self.table.selectRow(ids.index(chosen) if chosen in ids else 0)
        self._update_buttons()

    def selected_id(self) -> int | None:
        items = self.table.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def selected(self) -> StoredSession | None:
        session_id = self.selected_id()
        return next((info for info in self.shown if info.id == session_id), None)

    def _update_buttons(self) -> None:
        info = self.selected()
        reason = NO_SESSIONS if not self.sessions else NEEDS_SESSION
        recording = self.services.recording_id()
        for button, what in self.session_buttons.items():
            enabled = info is not None
            tip = what if enabled else f"{what}. {reason}"
            if enabled and info is not None and info.id == recording:
                if button in (self.delete_button, self.replay_button, self.export_button,
                              self.report_button, self.summary_button):
                    enabled = False
                    tip = f"{what}. This session is being recorded now: end it first."
            button.setEnabled(enabled)
            button.setToolTip(tip)
        group_id = self.selected_group()
        for button, what in self.group_buttons.items():
            button.setEnabled(group_id is not None)
            button.setToolTip(what if group_id is not None else f"{what}. {NEEDS_GROUP}")

    def selected_group(self) -> int | None:
        """The group of the chosen session (None: none chosen, or recorded alone)."""
        info = self.selected()
        return info.group_id if info is not None else None

    def say(self, sentence: str) -> None:
        self.message.setText(sentence)

    def _emit(self, signal: SignalInstance) -> None:
        info = self.selected()
        if info is None or not self.replay_button.isEnabled():
            return
        signal.emit(info.id)
        if signal is self.replay_requested:
            self.accept()

    # -- managing sessions ----------------------------------------------------------------
    def delete_selected(self) -> QMessageBox | None:
        """Ask before deleting the selected session (the box is returned, not blocking)."""
        info = self.selected()
        if info is None or not self.delete_button.isEnabled():
            return None
        who = f" with {info.person_name}" if info.person_name else ""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete a session",
            f"Delete session {info.id}{who} from {local_time(info.started_utc)} and everything "
            "recorded in it? This cannot be undone.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda _: self._delete(info.id, box.clickedButton() is delete))
        self.confirm_box = box
        box.open()
        return box

    def _delete(self, session_id: int, confirmed: bool) -> None:
        self.confirm_box = None
        if not confirmed:
            self.say("Nothing was deleted.")
            return
        try:
            self.services.delete_session(session_id)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return
        self.refresh()
        self.say(f"Session {session_id} was deleted.")

    def edit_selected(self) -> EditSessionDialog | None:
        """Open the notes and tags of the selected session (saved when accepted)."""
        info = self.selected()
        if info is None:
            return None
        dialog = EditSessionDialog(info, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.accepted.connect(lambda: self._save_edit(info.id, dialog))
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def _save_edit(self, session_id: int, dialog: EditSessionDialog) -> None:
        notes = dialog.notes.toPlainText().strip()
        try:
            self.services.edit_session(session_id, notes, parse_tags(dialog.tags.text()))
        except TrmBioError as exc:
            self.say(f"The notes were not saved: {sentence(str(exc))}")
            return
        self.refresh()
        self.say(f"The notes and tags of session {session_id} were saved.")

    def choose_export(self, session_id: int) -> tuple[str, str] | None:
        """Ask where and in which format to export (tests replace this); None: cancelled."""
        filters = {
            f"{text} (*{EXPORT_SUFFIXES[fmt]})": fmt for fmt, text in EXPORT_DESCRIPTIONS.items()
        }
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the session", str(Path.home() / f"trm-bio-session-{session_id}.csv"),
            ";;".join(filters),
        )
        if not path:
            return None
        by_suffix = {suffix: fmt for fmt, suffix in EXPORT_SUFFIXES.items()}
        fmt = by_suffix.get(Path(path).suffix.lower()) or filters.get(chosen, "csv")
        if Path(path).suffix.lower() != EXPORT_SUFFIXES[fmt]:
            path += EXPORT_SUFFIXES[fmt]
        return path, fmt

    def export_selected(self) -> list[Path]:
        """Export the selected session into files only their owner can read."""
        info = self.selected()
        if info is None or not self.export_button.isEnabled():
            return []
        choice = self.choose_export(info.id)
        if choice is None:
            return []
        path, fmt = choice
        try:
            written = self.services.export_session(info.id, fmt, path)
        except TrmBioError as exc:
            self.say(f"The session was not exported: {sentence(str(exc))}")
            return []
        self.say("Exported as " + " and ".join(str(p) for p in written) + ".")
        return written

    # -- group sessions --------------------------------------------------------------------
    def replay_group(self) -> bool:
        """Replay the chosen session's whole group (in the group window); True when it
        opened."""
        group_id = self.selected_group()
        if group_id is None:
            return False
        try:
            self.services.open_group_replay(group_id)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return False
        self.accept()
        return True

    def choose_group_export(self, group_id: int) -> tuple[str, str] | None:
        """Ask for the folder (or .zip) and the format of a group's export (tests replace
        this); None: cancelled."""
        filters = {
            f"{text}, one folder (*)": fmt for fmt, text in EXPORT_DESCRIPTIONS.items()
        }
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the group session (a folder, or a name ending in .zip)",
            str(Path.home() / f"trm-bio-group-{group_id}"), ";;".join(filters),
        )
        if not path:
            return None
        return path, filters.get(chosen, "csv")

    def export_group(self) -> list[Path]:
        """Export every session of the chosen session's group, with a group.json."""
        group_id = self.selected_group()
        if group_id is None:
            return []
        choice = self.choose_group_export(group_id)
        if choice is None:
            return []
        path, fmt = choice
        try:
            written = self.services.export_group(group_id, fmt, path)
        except TrmBioError as exc:
            self.say(f"The group was not exported: {sentence(str(exc))}")
            return []
        self.say(f"The group's {len(self.groups[group_id].session_ids)} sessions were "
                 f"exported into {path}.")
        return written

    def choose_group_report(self, group_id: int) -> str | None:
        """Ask where to save a group's report (tests replace this); None: cancelled."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the group report",
            str(Path.home() / f"trm-bio-group-{group_id}-report.html"),
            REPORT_FILTERS,
        )
        return path or None

    def group_report(self) -> Path | None:
        """Save the chosen session's group report (naming no participant)."""
        group_id = self.selected_group()
        if group_id is None:
            return None
        path = self.choose_group_report(group_id)
        if path is None:
            return None
        try:
            written = self.services.save_group_report(group_id, path)
        except TrmBioError as exc:
            self.say(f"The group report was not saved: {sentence(str(exc))}")
            return None
        self.say(f"The group report was saved as {written}.")
        return written

    def show_group_summary(self) -> QWidget | None:
        """Open the chosen session's group summary (each participant and the group)."""
        from trm_bio.ui.group_summary import show_group_summary

        group_id = self.selected_group()
        if group_id is None:
            return None
        self.group_dialog = show_group_summary(self, self.services, group_id)
        return self.group_dialog
