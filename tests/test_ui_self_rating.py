"""The person's own rating at the start and the end of a session, in the real window: offered,
skippable, stored with the session in the library file, and shown in the summary and the
report."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui_app import open_app
from trm_bio.core.events import ZoneRatingPayload
from trm_bio.report import save_session_report


def _ratings(library, session_id: int) -> list[ZoneRatingPayload]:
    return [e.details for e in library.session_events(session_id, kinds=["zone_rating"])]


def test_ratings_at_the_start_and_the_end_are_kept_and_shown(qtbot, tmp_path) -> None:
    parts = open_app(qtbot, tmp_path)
    window, library, controller = parts.window, parts.library, parts.controller
    window.person.setText("Rowan")
    window.start_session()
    dialog = window.start_rating
    assert dialog is not None and dialog.isVisible()
    form = dialog.form
    assert not form.save_button.isEnabled()  # nothing chosen yet: nothing to save
    form.distress.setValue(6)
    form.zone.setCurrentText("high")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: (controller.session.packets_seen or 0) > 400, timeout=15000)
    session_id = window.stop_session()
    assert session_id is not None
    (start,) = _ratings(library, session_id)
    assert (start.moment, start.distress, start.zone) == ("start", 6.0, "high")

    summary = window.reports.summary_dialog
    assert summary is not None and summary.isVisible()
    view = summary.view
    assert view.after_form is not None and view.after_form.isVisible()
    view.after_form.distress.setValue(3)  # the zone left out: fine
    qtbot.mouseClick(view.after_form.save_button, Qt.MouseButton.LeftButton)
    assert view.after_form.message.text().startswith("Thank you")
    start, end = _ratings(library, session_id)
    assert (end.moment, end.distress, end.zone) == ("end", 3.0, "")
    assert view.self_ratings.text() == (
        "In their own words: distress 6 at the start, 3 at the end (0-10); their own zone "
        "high at the start, not given at the end."
    )
    rows = [[view.ratings_table.item(r, c).text() for c in range(4)]
            for r in range(view.ratings_table.rowCount())]
    assert [(r[1], r[2], r[3]) for r in rows] == [("at the start", "high", "6"),
                                                   ("at the end", "–", "3")]
    html = save_session_report(parts.services.analyse(session_id), tmp_path / "r.html")
    text = html.read_text(encoding="utf-8")
    assert text.count('data-moment="start"') == 1 and text.count('data-moment="end"') == 1
    assert "distress 6 at the start, 3 at the end" in text
    window.close()


def test_the_start_rating_can_be_skipped(qtbot, tmp_path) -> None:
    parts = open_app(qtbot, tmp_path)
    window = parts.window
    window.start_session()
    dialog = window.start_rating
    qtbot.mouseClick(dialog.form.skip_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert window.isActiveWindow()  # the keyboard stayed with the session
    qtbot.waitUntil(lambda: (parts.controller.session.packets_seen or 0) > 400, timeout=15000)
    session_id = window.stop_session()
    assert _ratings(parts.library, session_id) == []
    view = window.reports.summary_dialog.view
    assert view.self_ratings.text().startswith("No rating of their own was given")
    qtbot.mouseClick(view.after_form.skip_button, Qt.MouseButton.LeftButton)
    assert _ratings(parts.library, session_id) == []
    window.close()
