"""The library browser: every stored session, to replay or to see its summary."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trm_bio.ui.services import AppServices

COLUMNS = ("Session", "Started (UTC)", "Person", "Length", "Source", "Notes")


def _length(duration_s: float | None) -> str:
    if duration_s is None:
        return "–"
    minutes, seconds = divmod(int(duration_s), 60)
    return f"{minutes}:{seconds:02d}"


class SessionBrowser(QDialog):
    """Lists sessions; emits ``replay_requested``, ``summary_requested`` or
    ``report_requested`` (save the session's report) with an id."""

    replay_requested = Signal(int)
    summary_requested = Signal(int)
    report_requested = Signal(int)

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Session library")
        self.services = services
        box = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.doubleClicked.connect(lambda _: self._emit(self.replay_requested))
        box.addWidget(self.table)
        row = QHBoxLayout()
        self.replay_button = QPushButton("Replay")
        self.replay_button.clicked.connect(lambda: self._emit(self.replay_requested))
        self.summary_button = QPushButton("Summary")
        self.summary_button.clicked.connect(lambda: self._emit(self.summary_requested))
        self.report_button = QPushButton("Save report…")
        self.report_button.setToolTip("Save the session's report as a web page (HTML) or a PDF")
        self.report_button.clicked.connect(lambda: self._emit(self.report_requested))
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        row.addStretch(1)
        for b in (self.report_button, self.summary_button, self.replay_button, close):
            row.addWidget(b)
        box.addLayout(row)
        self.refresh()
        self.resize(760, 420)

    def refresh(self) -> None:
        sessions = list(reversed(self.services.list_sessions()))  # newest first
        self.table.setRowCount(len(sessions))
        for r, info in enumerate(sessions):
            cells = (
                str(info.id),
                info.started_utc.replace("T", " ").split("+")[0],
                info.person_name or "–",
                _length(info.duration_s),
                info.device_name or info.source_kind,
                info.notes,
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                self.table.setItem(r, c, item)
        if sessions:
            self.table.selectRow(0)
        self.table.resizeColumnsToContents()

    def selected_id(self) -> int | None:
        items = self.table.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def _emit(self, signal: SignalInstance) -> None:
        session_id = self.selected_id()
        if session_id is not None:
            signal.emit(session_id)
            if signal is self.replay_requested:
                self.accept()
