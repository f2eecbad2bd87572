"""Reports and progress from the window: "Save report…" on the summary and in the library,
the person's history view, and a replay that plays to its end."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.ui_app import open_app, record_session
from trm_bio.report.trends import person_trends
from trm_bio.store.library import Library

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


class _EmbeddedJson(HTMLParser):
    """The text of the report's ``application/json`` script block."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._inside = tag == "script" and dict(attrs).get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.text += data


def embedded_json(path: Path) -> dict:
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    parser = _EmbeddedJson()
    parser.feed(html)
    return json.loads(parser.text)


@pytest.fixture(scope="module")
def recorded_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """A library file with three finished sessions of Sam (recorded once per module)."""
    path = tmp_path_factory.mktemp("recorded") / "lib.sqlite3"
    library = Library.open(path)
    ids = [
        record_session(library, scenario=scenario, duration_s=duration_s, seed=seed)
        for scenario, duration_s, seed in (
            ("helpnow", 600.0, 3),
            ("calm", 480.0, 4),
            ("calm", 480.0, 5),
        )
    ]
    library.close()
    return path, ids


@pytest.fixture
def library_with_sessions(tmp_path: Path, recorded_library: tuple[Path, list[int]]) -> list[int]:
    """A copy of the recorded library where the app will open it; the sessions' ids."""
    path, ids = recorded_library
    shutil.copyfile(path, tmp_path / "lib.sqlite3")
    return ids


def test_save_report_from_the_summary_and_the_library(qtbot, tmp_path, library_with_sessions):
    first, second, _ = library_with_sessions
    parts = open_app(qtbot, tmp_path, connect=False)
    window, library = parts.window, parts.library
    asked: list[str] = []
    target = [tmp_path / "out" / "session.html"]

    def choose(title: str, suggested: str) -> str:
        asked.append(suggested)
        return str(target[0])

    window.reports.choose_path = choose
    (tmp_path / "out").mkdir()
    window.reports.show_summary(first)
    qtbot.mouseClick(window.reports.summary_dialog.view.save_button, Qt.MouseButton.LeftButton)
    assert asked == [f"trm-bio-session-{first}.html"]
    embedded = embedded_json(target[0])
    assert embedded["summary"] == library.get_summary(first)  # every number, exactly
    assert window.statusBar().currentMessage() == f"Report saved as {target[0]}."

    # From the library browser, for the selected session, as a PDF (by the suffix).
    browser = window.make_browser()
    qtbot.addWidget(browser)
    row = next(
        r for r in range(browser.table.rowCount()) if browser.table.item(r, 0).text() == str(second)
    )
    browser.table.selectRow(row)
    target[0] = tmp_path / "out" / "second.pdf"
    qtbot.mouseClick(browser.report_button, Qt.MouseButton.LeftButton)
    assert asked[-1] == f"trm-bio-session-{second}.html"
    assert target[0].read_bytes().startswith(b"%PDF-")

    # A folder that is not there: one calm sentence, no file, nothing raised.
    target[0] = tmp_path / "missing" / "x.html"
    qtbot.mouseClick(browser.report_button, Qt.MouseButton.LeftButton)
    message = window.statusBar().currentMessage()
    assert message.startswith("The report was not saved: ") and message.count("\n") == 0
    assert not target[0].exists()
    browser.close()
    window.close()


def test_history_view_shows_the_persons_progress_and_saves_it(
    qtbot, tmp_path, library_with_sessions
):
    parts = open_app(qtbot, tmp_path, connect=False)
    window, library = parts.window, parts.library
    expected = person_trends(library, "Sam")
    assert [p.session for p in expected.sessions] == library_with_sessions

    window.person.setText("Nobody")
    qtbot.keyClick(window, Qt.Key.Key_H, CTRL_SHIFT)
    assert window.reports.history_dialog is None
    assert "Nobody" in window.statusBar().currentMessage()  # said, not raised

    window.person.setText("Sam")
    qtbot.keyClick(window, Qt.Key.Key_H, CTRL_SHIFT)
    dialog = window.reports.history_dialog
    assert dialog is not None and dialog.isVisible()
    view = dialog.view
    assert "3 session(s)" in view.title.text()
    x, y = view.curves["baseline_hr_bpm"].getData()
    assert list(x) == [1.0, 2.0, 3.0]
    wanted = [
        math.nan if p.baseline_hr_bpm is None else p.baseline_hr_bpm for p in expected.sessions
    ]
    np.testing.assert_array_equal(y, np.array(wanted))
    assert np.isfinite(y).sum() >= 2
    _, share = view.curves["resilient_share"].getData()
    for shown, point in zip(share, expected.sessions, strict=True):
        if point.resilient_share is not None:
            assert shown == 100.0 * point.resilient_share

    target = tmp_path / "progress.html"
    window.reports.choose_path = lambda title, suggested: str(target)
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    embedded = embedded_json(target)
    assert embedded["person"] == "Sam"
    assert [s["session"] for s in embedded["sessions"]] == library_with_sessions
    assert embedded["sessions"] == expected.as_dict()["sessions"]

    # With no name typed, the person of the newest session is shown.
    window.person.setText("")
    window.reports.show_history(window.person.text())
    shown = window.reports.history_dialog
    assert shown is not dialog and shown.view.trends.person == "Sam"
    window.close()


def test_replay_as_fast_as_possible_shows_its_end(qtbot, tmp_path, library_with_sessions):
    session_id = library_with_sessions[1]
    parts = open_app(qtbot, tmp_path, replay=session_id)
    window, replay = parts.window, parts.controller.replay
    window.replay_bar.speed.setCurrentIndex(window.replay_bar.speed.count() - 1)
    assert math.isinf(replay.speed)
    bar = window.replay_bar
    qtbot.waitUntil(lambda: bar.play.text() == "Play again", timeout=5000)
    end = bar.position.text()
    assert end.endswith("· the end")
    elapsed, total = end.split(" · ")[0].split(" / ")
    assert elapsed == total != "0:00"
    assert bar.timeline.position_s == replay.end_s
    assert window.readouts.link.text() == "The replay reached the end."
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage().startswith("The replay reached the end."),
        timeout=3000,
    )
    # Play again: from the start.
    window.replay_bar.speed.setCurrentIndex(0)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: bar.play.text() == "Pause", timeout=3000)
    assert replay.position_s < 5.0 and not replay.finished
    window.close()


def test_a_damaged_session_is_named_in_the_window_and_not_replayed(
    qtbot, tmp_path, library_with_sessions
):
    damaged = library_with_sessions[1]
    db = sqlite3.connect(tmp_path / "lib.sqlite3")  # before the app opens it: damage on disk
    with db:
        db.execute("UPDATE events SET payload = '{oops' WHERE session_id = ?", (damaged,))
    db.close()
    parts = open_app(qtbot, tmp_path, connect=False)
    window = parts.window
    window.open_replay(damaged)
    assert window.mode != "replay" and parts.controller.replay is None
    assert window.statusBar().currentMessage().startswith(f"Session {damaged} is damaged (")
    window.open_replay(library_with_sessions[2])  # the others still replay
    assert window.mode == "replay"
    window.close()
