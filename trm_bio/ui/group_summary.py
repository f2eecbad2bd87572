"""The summary of a group session, on the facilitator's screen: a row per participant (their
labels shown: this is the facilitator's own screen), the group's figures, and the reports.

The group report names nobody (a row per "participant N" only when asked for); each
participant's report is their own session's, saying it was part of a group session. The
group window calls :func:`show_group_summary` when a group session ends; the library dialog
opens it for a stored group.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trm_bio.errors import TrmBioError
from trm_bio.ui.reports import REPORT_FILTERS, sentence
from trm_bio.ui.services import GroupLibraryServices

if TYPE_CHECKING:
    from trm_bio.report.group import GroupSummary

PEOPLE_COLUMNS = ("Participant", "Session", "Time in the band", "Share with a reading",
                  "Settled after", "What helped")
MOMENT_COLUMNS = ("Time", "Moment", "Participants who settled", "Moved away")


def _table(columns: tuple[str, ...], rows: list[list[str]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    return table


class GroupSummaryDialog(QDialog):
    """A group session's summary with buttons for its reports (see the module doc)."""

    def __init__(
        self, services: GroupLibraryServices, group_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.group_id = group_id
        self.summary: GroupSummary | None = None
        self.setWindowTitle(f"Group session {group_id}: summary")
        box = QVBoxLayout(self)
        self.heading = QLabel("")
        self.heading.setWordWrap(True)
        box.addWidget(self.heading)
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        box.addWidget(self.figures)
        try:
            self.summary = services.summarise_group(group_id)
        except TrmBioError as exc:
            self.heading.setText(f"This group's summary cannot be shown: {sentence(str(exc))}")
        summary = self.summary
        self.people = _table(PEOPLE_COLUMNS, self._people_rows())
        self.moments = _table(MOMENT_COLUMNS, summary.moment_rows() if summary else [])
        if summary is not None:
            name = summary.name or f"Group session {group_id}"
            self.setWindowTitle(f"{name}: summary")
            self.heading.setText(
                f"<b>{escape(name)}</b>: {len(summary.participants)} participants. The zone "
                "indicator is an indicator, not a diagnosis; what followed a moment happened "
                "together with it, which is not proof that it caused a change."
            )
            self.figures.setText(summary.band_sentence())
        box.addWidget(QLabel("Each participant (their own session's figures)"))
        box.addWidget(self.people, 1)
        box.addWidget(QLabel("After each practice moment, across the group"))
        box.addWidget(self.moments, 1)
        self.helped = QLabel(self._helped_text())
        self.helped.setWordWrap(True)
        box.addWidget(self.helped)
        self.seats = QCheckBox("In the group report, a row per seat (\"participant 3\", no names)")
        self.seats.setChecked(False)
        box.addWidget(self.seats)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        box.addWidget(self.message)
        row = QHBoxLayout()
        self.group_report_button = QPushButton("Save group report…")
        self.group_report_button.setToolTip(
            "The group's figures as a web page (HTML) or a PDF, naming no participant"
        )
        self.group_report_button.clicked.connect(self.save_group_report)
        self.participant_button = QPushButton("Save this participant's report…")
        self.participant_button.setToolTip(
            "The chosen participant's own report: their session, naming no one else"
        )
        self.participant_button.clicked.connect(self.save_participant_report)
        self.everyone_button = QPushButton("Save each participant's report…")
        self.everyone_button.setToolTip(
            "Every participant's own report into a folder, one file each, named by seat"
        )
        self.everyone_button.clicked.connect(self.save_participant_reports)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        for button in (self.group_report_button, self.participant_button,
                       self.everyone_button):
            button.setEnabled(summary is not None)
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(close)
        box.addLayout(row)
        if self.people.rowCount():
            self.people.selectRow(0)
        self.resize(860, 620)

    def _people_rows(self) -> list[list[str]]:
        if self.summary is None:
            return []
        seat_rows = self.summary.seat_rows(names=True)
        return [
            [row[0], str(p.session_id), row[1], row[2], row[3],
             ", ".join(h.label for h in p.helped) or "–"]
            for p, row in zip(self.summary.participants, seat_rows, strict=True)
        ]

    def _helped_text(self) -> str:
        if self.summary is None:
            return ""
        rows = self.summary.helped_rows()
        if not rows:
            return "Nothing logged was followed by a move toward the band for anyone."
        return "What helped, across the group: " + "; ".join(
            f"{name} ({count})" for _, name, count in rows
        ) + "."

    def say(self, sentence: str) -> None:
        self.message.setText(sentence)

    def selected_session(self) -> int | None:
        """The session of the participant chosen in the table (None when none is)."""
        rows = self.people.selectionModel().selectedRows()
        if self.summary is None or not rows:
            return None
        return self.summary.participants[rows[0].row()].session_id

    # -- where to write (tests replace these) ------------------------------------------------
    def choose_report_path(self, suggested: str) -> str | None:
        """Ask where to save a report (HTML or PDF by the suffix); None: cancelled."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the report", str(Path.home() / suggested), REPORT_FILTERS
        )
        return path or None

    def choose_folder(self) -> str | None:
        """Ask for the folder of the participants' reports; None: cancelled."""
        return QFileDialog.getExistingDirectory(self, "Save each participant's report in") or None

    # -- the reports -------------------------------------------------------------------------
    def save_group_report(self) -> Path | None:
        path = self.choose_report_path(f"trm-bio-group-{self.group_id}-report.html")
        if path is None:
            return None
        try:
            written = self.services.save_group_report(
                self.group_id, path, seats=self.seats.isChecked()
            )
        except TrmBioError as exc:
            self.say(f"The group report was not saved: {sentence(str(exc))}")
            return None
        self.say(f"The group report was saved as {written}.")
        return written

    def save_participant_report(self) -> Path | None:
        session_id = self.selected_session()
        if session_id is None:
            self.say("Choose a participant in the list first.")
            return None
        path = self.choose_report_path(f"trm-bio-session-{session_id}-report.html")
        if path is None:
            return None
        try:
            written = self.services.save_participant_report(session_id, path)
        except TrmBioError as exc:
            self.say(f"The participant's report was not saved: {sentence(str(exc))}")
            return None
        self.say(f"Their report was saved as {written}.")
        return written

    def save_participant_reports(self) -> list[Path]:
        folder = self.choose_folder()
        if folder is None:
            return []
        try:
            written = self.services.save_participant_reports(self.group_id, folder)
        except TrmBioError as exc:
            self.say(f"The participants' reports were not saved: {sentence(str(exc))}")
            return []
        self.say(f"{len(written)} reports were saved in {folder}, one per participant.")
        return written


def show_group_summary(
    parent: QWidget | None, services: GroupLibraryServices, group_id: int
) -> GroupSummaryDialog:
    """Show the summary of group session ``group_id`` over ``parent`` (not modal); the
    dialog is returned, and kept alive by its parent."""
    dialog = GroupSummaryDialog(services, group_id, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
