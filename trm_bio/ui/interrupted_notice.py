"""A calm note in the main window's status bar when sessions were found cut short.

A recording whose process stopped (a crash, a power cut, ``kill -9``) is kept and marked
"interrupted" when the library is next opened. The window then says so once, in a line at
the foot of the window that does not hold anything up: a passing status message covers it
for its few seconds, and it stays until its "OK" is pressed. The library dialog's Status
column says it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from trm_bio.report.text import fmt_clock

if TYPE_CHECKING:
    from trm_bio.ui.main_window import MainWindow
    from trm_bio.ui.services import StoredSession


def notice_text(sessions: Sequence[StoredSession]) -> str:
    """One sentence naming the interrupted sessions and how much of each was kept."""
    parts = []
    for info in sessions:
        who = f" ({info.person_name})" if info.person_name else ""
        parts.append(f"session {info.id}{who}, {fmt_clock(info.duration_s)} kept")
    listed = "; ".join(parts)
    if len(sessions) == 1:
        return (f"The last recording stopped before it was ended: {listed}. It is in the "
                "library, marked interrupted.")
    return (f"{len(sessions)} recordings stopped before they were ended: {listed}. They are "
            "in the library, marked interrupted.")


class InterruptedNotice(QFrame):
    """The note with an "OK" that removes it."""

    def __init__(self, sessions: Sequence[StoredSession]) -> None:
        super().__init__()
        self.sessions = tuple(sessions)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(notice_text(sessions))
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # a person's name is not markup
        self.label.setWordWrap(True)
        self.label.setToolTip("Session > Library… lists every session with its status.")
        self.ok = QPushButton("OK")
        self.ok.setToolTip("Hide this note")
        self.ok.clicked.connect(self.dismiss)
        box.addWidget(self.label, 1)
        box.addWidget(self.ok)

    def dismiss(self) -> None:
        self.hide()
        self.deleteLater()


def attach(window: MainWindow) -> InterruptedNotice | None:
    """Put the note in ``window``'s status bar when the library opened with sessions cut
    short; None when there were none."""
    sessions = list(window.services.recovered_sessions())
    if not sessions:
        return None
    notice = InterruptedNotice(sessions)
    window.statusBar().addWidget(notice, 1)
    return notice
