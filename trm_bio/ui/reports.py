"""The report dialogs: a finished session's summary, a person's progress, and saving either
as a report (HTML or PDF, by the file's suffix).

Everything shown comes from the services the composition root gave the window; a report
that cannot be written is said in one sentence on the window's status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QVBoxLayout, QWidget

from trm_bio.errors import TrmBioError
from trm_bio.report.data import markers_from_events
from trm_bio.ui.history_view import HistoryView
from trm_bio.ui.services import AppServices
from trm_bio.ui.summary_view import SummaryDialog

if TYPE_CHECKING:
    from trm_bio.history import SessionAnalysis
    from trm_bio.report.trends import Trends

REPORT_FILTERS = "Web page (*.html);;PDF (*.pdf)"


class HistoryDialog(QDialog):
    """The person's progress across sessions, in a window of its own."""

    def __init__(self, trends: Trends, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Progress: {trends.person}")
        box = QVBoxLayout(self)
        self.view = HistoryView(trends)
        box.addWidget(self.view)
        self.resize(820, 700)  # fits a 1366×768 screen


class ReportDialogs:
    """Opens the summary and progress dialogs over ``parent`` and saves their reports.

    Parameters
    ----------
    services : AppServices
        Analyses, trends and report writing.
    parent : QWidget
        The window the dialogs belong to.
    say : callable
        Shows one calm sentence (the window's status bar).
    """

    def __init__(self, services: AppServices, parent: QWidget, say: Callable[[str], None]):
        self.services = services
        self.parent = parent
        self.say = say
        self.summary_dialog: SummaryDialog | None = None
        self.history_dialog: HistoryDialog | None = None

    def show_summary(self, session_id: int, *, just_ended: bool = False) -> None:
        """A finished session's summary, with "Save report…"; after a session that just
        ended, it invites the person's own rating at its end."""
        analysis = self.services.analyse(session_id)
        self.summary_dialog = SummaryDialog(analysis, self.parent, ask_after=just_ended)
        view = self.summary_dialog.view
        view.report_requested.connect(lambda: self.save_session_report(analysis))
        if view.after_form is not None:
            view.after_form.saved.connect(
                lambda distress, zone: self.save_after_rating(session_id, distress, zone)
            )
        self.summary_dialog.show()

    def save_after_rating(self, session_id: int, distress: float | None, zone: str | None) -> None:
        """Store the rating given after the session, and show it in the summary."""
        dialog = self.summary_dialog
        form = dialog.view.after_form if dialog is not None else None
        try:
            self.services.add_self_rating(session_id, "end", distress, zone)
            analysis = self.services.analyse(session_id)
        except TrmBioError as exc:
            if form is not None:
                form.message.setText(f"The rating was not saved: {sentence(str(exc))}")
            return
        if dialog is not None and form is not None:
            form.done("Thank you: your rating is saved with the session.")
            dialog.view.show_ratings(markers_from_events(analysis))

    def show_history(self, person: str) -> None:
        """A person's progress across their sessions ("": the newest session's person)."""
        person = person.strip() or (self.services.last_person() or "")
        if not person:
            self.say(
                "Type the person's name or code first; their progress across sessions shows then."
            )
            return
        try:
            trends = self.services.person_trends(person)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return
        if self.history_dialog is not None:
            self.history_dialog.close()
        self.history_dialog = HistoryDialog(trends, self.parent)
        self.history_dialog.view.report_requested.connect(lambda: self.save_trends_report(trends))
        self.history_dialog.show()

    def choose_path(self, title: str, suggested_name: str) -> str | None:
        """Ask where to save a report (tests replace this); None when the person cancels."""
        path, chosen_filter = QFileDialog.getSaveFileName(
            self.parent, title, str(Path.home() / suggested_name), REPORT_FILTERS
        )
        if not path:
            return None
        if Path(path).suffix.lower() not in (".html", ".htm", ".pdf"):
            path += ".pdf" if "pdf" in chosen_filter.lower() else ".html"
        return path

    def save_session_report(self, analysis: SessionAnalysis) -> Path | None:
        """Ask for a file and write the session's report there (HTML or PDF by suffix)."""
        path = self.choose_path(
            "Save the session's report", f"trm-bio-session-{analysis.info.id}.html"
        )
        if path is None:
            return None
        return self._write(lambda: self.services.save_session_report(analysis, path))

    def save_report_of(self, session_id: int) -> Path | None:
        """Save the report of a stored session (from the library browser)."""
        try:
            analysis = self.services.analyse(session_id)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return None
        return self.save_session_report(analysis)

    def save_trends_report(self, trends: Trends) -> Path | None:
        path = self.choose_path(
            "Save the progress report", f"trm-bio-progress-{_file_safe(trends.person)}.html"
        )
        if path is None:
            return None
        return self._write(lambda: self.services.save_trends_report(trends, path))

    def _write(self, write: Callable[[], str | Path]) -> Path | None:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            written = Path(write())
        except TrmBioError as exc:
            self.say(f"The report was not saved: {sentence(str(exc))}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.say(f"Report saved as {written}.")
        return written


def sentence(text: str) -> str:
    """``text`` as one sentence: capitalised, with a full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _file_safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "person"
