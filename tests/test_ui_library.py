"""The library dialog on the real app and a real library file: an empty library says so,
sessions are found by person and by text, times are local, long names stay in their column,
and sessions are deleted (after a question, never while recording), annotated and exported
from the app itself."""

from __future__ import annotations

import os
import shutil
import stat
import time
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.ui_app import open_app, record_session
from trm_bio.exporting import EXPORT_FORMATS, EXPORT_SUFFIXES
from trm_bio.report.text import local_time
from trm_bio.store.library import Library
from trm_bio.ui.session_browser import ALL_PEOPLE, MAX_COLUMN_PX

LONG_NAME = "Alexandra " + "Konstantinopoulou-" * 8 + "Wetherington"
PERSON_COLUMN, STARTED_COLUMN = 2, 1


@pytest.fixture
def far_from_utc():
    """A local time zone nine and a half hours from UTC, so local and UTC times differ."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Australia/Darwin"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture(scope="module")
def two_people(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """Sam's session and one of a person with a very long name (recorded once)."""
    path = tmp_path_factory.mktemp("library") / "lib.sqlite3"
    library = Library.open(path)
    ids = [record_session(library, "calm", duration_s=240.0, seed=seed) for seed in (1, 2)]
    library.update_session(ids[1], person_id=library.ensure_person(LONG_NAME))
    library.close()
    return path, ids


def _browser(qtbot, tmp_path: Path, source: Path | None = None):
    if source is not None:
        shutil.copyfile(source, tmp_path / "lib.sqlite3")
    parts = open_app(qtbot, tmp_path, connect=False)
    browser = parts.window.make_browser()
    qtbot.addWidget(browser)
    browser.show()
    qtbot.waitExposed(browser)
    return parts, browser


def _column(browser, column: int) -> list[str]:
    return [browser.table.item(r, column).text() for r in range(browser.table.rowCount())]


def test_an_empty_library_says_so_and_its_buttons_say_why(qtbot, tmp_path) -> None:
    parts, browser = _browser(qtbot, tmp_path)
    assert browser.stack.currentWidget() is browser.empty and browser.empty.isVisible()
    assert browser.empty.text().startswith("The library has no sessions yet.")
    for button in (browser.replay_button, browser.summary_button, browser.report_button,
                   browser.delete_button, browser.export_button, browser.edit_button):
        assert not button.isEnabled()
        assert "no sessions yet" in button.toolTip()
    parts.window.close()


def test_find_by_person_and_text_with_local_times_and_names_elided(
    qtbot, tmp_path, two_people, far_from_utc
) -> None:
    source, (sam, other) = two_people
    parts, browser = _browser(qtbot, tmp_path, source)
    library = parts.library
    # Local times, not UTC.
    info = library.get_session(sam)
    started = dict(zip(_column(browser, 0), _column(browser, STARTED_COLUMN), strict=True))
    utc = datetime.fromisoformat(info.started_utc)
    assert started[str(sam)] == local_time(info.started_utc)
    assert started[str(sam)] != utc.strftime("%Y-%m-%d %H:%M")
    # A long name is elided inside its column (the whole name in the tooltip).
    header = browser.table.horizontalHeader()
    assert header.sectionSize(PERSON_COLUMN) <= MAX_COLUMN_PX
    row = _column(browser, 0).index(str(other))
    assert browser.table.item(row, PERSON_COLUMN).toolTip() == LONG_NAME
    assert header.sectionViewportPosition(header.count() - 1) < browser.table.viewport().width()
    # Filter by person.
    people = [browser.person.itemText(i) for i in range(browser.person.count())]
    assert people[0] == ALL_PEOPLE and {"Sam", LONG_NAME} <= set(people)
    browser.person.setCurrentText("Sam")
    assert _column(browser, 0) == [str(sam)]
    browser.person.setCurrentText(ALL_PEOPLE)
    assert sorted(_column(browser, 0)) == sorted([str(sam), str(other)])

    # Notes and tags, edited in the app, stored in the library and found by the search.
    browser.table.selectRow(_column(browser, 0).index(str(sam)))
    dialog = browser.edit_selected()
    assert dialog is not None and dialog.isVisible()
    dialog.notes.setPlainText("Practised grounding; felt steadier at the end.")
    dialog.tags.setText("first visit,  calm , calm")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save),
                     Qt.MouseButton.LeftButton)
    stored = library.get_session(sam)
    assert stored.notes == "Practised grounding; felt steadier at the end."
    assert stored.tags == ("first visit", "calm")
    qtbot.keyClicks(browser.search, "steadier")
    assert _column(browser, 0) == [str(sam)]
    browser.search.setText("first visit")
    assert _column(browser, 0) == [str(sam)]
    browser.search.setText("nothing like this")
    assert browser.stack.currentWidget() is browser.empty
    assert "No session matches" in browser.empty.text()
    assert not browser.delete_button.isEnabled()
    parts.window.close()


def _answer(qtbot, browser, text: str) -> None:
    box = browser.confirm_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    button = next(b for b in box.buttons() if b.text().replace("&", "") == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: browser.confirm_box is None, timeout=2000)


def test_delete_asks_first_and_never_takes_a_recording(qtbot, tmp_path, two_people) -> None:
    source, (sam, other) = two_people
    parts, browser = _browser(qtbot, tmp_path, source)
    library = parts.library
    browser.table.selectRow(_column(browser, 0).index(str(other)))
    browser.delete_selected()
    _answer(qtbot, browser, "Cancel")
    assert browser.message.text() == "Nothing was deleted."
    assert {s.id for s in library.list_sessions()} == {sam, other}
    browser.delete_selected()
    _answer(qtbot, browser, "Delete")
    assert {s.id for s in library.list_sessions()} == {sam}
    assert _column(browser, 0) == [str(sam)]
    assert browser.message.text() == f"Session {other} was deleted."
    browser.close()

    # While a session records, the dialog lists it but will not delete it.
    window = parts.window
    window.start_session()
    recording = parts.services.recording_id()
    assert recording is not None and recording not in (sam, other)
    browser = window.make_browser()
    qtbot.addWidget(browser)
    browser.table.selectRow(_column(browser, 0).index(str(recording)))
    assert not browser.delete_button.isEnabled()
    assert "being recorded now" in browser.delete_button.toolTip()
    browser._delete(recording, True)  # as if the question had been answered
    assert browser.message.text().startswith(f"Session {recording} is being recorded")
    assert recording in {s.id for s in library.list_sessions()}
    browser.close()
    window.stop_session_quietly()
    window.close()


def test_export_every_format_from_the_app_into_private_files(
    qtbot, tmp_path, two_people
) -> None:
    source, (sam, _) = two_people
    parts, browser = _browser(qtbot, tmp_path, source)
    browser.table.selectRow(_column(browser, 0).index(str(sam)))
    out = tmp_path / "out"
    out.mkdir()
    for fmt in EXPORT_FORMATS:
        target = out / f"s{EXPORT_SUFFIXES[fmt]}"
        browser.choose_export = lambda session_id, target=target, fmt=fmt: (str(target), fmt)
        qtbot.mouseClick(browser.export_button, Qt.MouseButton.LeftButton)
        assert target.exists(), browser.message.text()
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert browser.message.text().startswith("Exported as ")
    assert (out / "s.json").read_text(encoding="utf-8").startswith("{")
    assert (out / "s.edf").read_bytes()[:8] == b"0       "
    # The library itself, or a symbolic link, is refused in one sentence.
    for bad in (tmp_path / "lib.sqlite3", out / "link.csv"):
        if bad.name == "link.csv":
            bad.symlink_to(out / "elsewhere.csv")
        browser.choose_export = lambda session_id, bad=bad: (str(bad), "csv")
        qtbot.mouseClick(browser.export_button, Qt.MouseButton.LeftButton)
        message = browser.message.text()
        assert message.startswith("The session was not exported: ") and "\n" not in message
    assert not (out / "elsewhere.csv").exists()
    parts.window.close()
