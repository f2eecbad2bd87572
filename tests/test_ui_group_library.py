"""Group sessions in the library dialog and the group summary, on the real app and a real
library file holding a simulated group (recorded through the GroupController) beside a
session recorded alone: the Group column and filter, replaying, exporting and reporting a
group, and the summary's rows, figures and reports."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.group_recording import NAMES, record_group
from tests.ui_app import close_window, open_app, record_session
from trm_bio.store.library import Library
from trm_bio.ui.group_summary import GroupSummaryDialog, show_group_summary
from trm_bio.ui.session_browser import ALL_GROUPS, COLUMNS

GROUP_COLUMN = COLUMNS.index("Group")


@pytest.fixture(scope="module")
def group_and_alone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, list[int], int]:
    path = tmp_path_factory.mktemp("library") / "lib.sqlite3"
    group_id, kept = record_group(path, duration_s=600.0)
    with Library.open(path) as library:
        alone = record_session(library, "calm", duration_s=240.0, seed=1)
    return path, group_id, kept, alone


def _browser(qtbot, tmp_path: Path, source: Path):
    shutil.copyfile(source, tmp_path / "lib.sqlite3")
    parts = open_app(qtbot, tmp_path, connect=False)
    browser = parts.window.make_browser()
    qtbot.addWidget(browser)
    browser.show()
    qtbot.waitExposed(browser)
    return parts, browser


def _column(browser, column: int) -> list[str]:
    return [browser.table.item(r, column).text() for r in range(browser.table.rowCount())]


def _select(browser, session_id: int) -> None:
    browser.table.selectRow(_column(browser, 0).index(str(session_id)))


def test_the_group_column_and_filter(qtbot, tmp_path, group_and_alone) -> None:
    source, group_id, kept, alone = group_and_alone
    parts, browser = _browser(qtbot, tmp_path, source)
    groups = dict(zip(_column(browser, 0), _column(browser, GROUP_COLUMN), strict=True))
    assert groups[str(alone)] == ""
    assert {groups[str(sid)] for sid in kept} == {"Tuesday evening"}
    assert browser.group.itemText(0) == ALL_GROUPS
    browser.group.setCurrentIndex(browser.group.findData(group_id))
    assert sorted(_column(browser, 0)) == sorted(str(sid) for sid in kept)
    browser.group.setCurrentIndex(0)
    assert len(_column(browser, 0)) == len(kept) + 1
    browser.search.setText("Tuesday")  # the search finds a group's name too
    assert sorted(_column(browser, 0)) == sorted(str(sid) for sid in kept)
    browser.search.clear()
    # A session recorded alone has no group: the group buttons say what they need.
    _select(browser, alone)
    for button in browser.group_buttons:
        assert not button.isEnabled() and "group session first" in button.toolTip()
    _select(browser, kept[1])
    assert all(button.isEnabled() for button in browser.group_buttons)
    close_window(parts.window)


def test_replay_group_asks_the_services(qtbot, tmp_path, group_and_alone) -> None:
    source, group_id, kept, _ = group_and_alone
    parts, browser = _browser(qtbot, tmp_path, source)
    _select(browser, kept[0])
    assert browser.replay_group()  # in the group window, a tile per participant
    window = parts.services.group_window
    qtbot.addWidget(window)
    assert window.state == "replay" and window.group_id == group_id
    assert [t.state.label for t in window.tiles] == list(NAMES)
    window.close()
    close_window(parts.window)


def test_export_and_report_a_group_from_the_library(qtbot, tmp_path, group_and_alone) -> None:
    source, _group_id, kept, _ = group_and_alone
    parts, browser = _browser(qtbot, tmp_path, source)
    _select(browser, kept[2])
    folder = tmp_path / "export"
    browser.choose_group_export = lambda gid: (str(folder), "kubios")
    qtbot.mouseClick(browser.group_export_button, Qt.MouseButton.LeftButton)
    link = json.loads((folder / "group.json").read_text())
    assert [s["session"] for s in link["sessions"]] == kept
    assert all((folder / f).is_file() for s in link["sessions"] for f in s["files"])
    assert browser.message.text() == f"The group's 3 sessions were exported into {folder}."
    report = tmp_path / "group.html"
    browser.choose_group_report = lambda gid: str(report)
    qtbot.mouseClick(browser.group_report_button, Qt.MouseButton.LeftButton)
    text = report.read_text()
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert all(name.split()[0] not in text for name in NAMES)
    # The library itself is refused in one sentence.
    browser.choose_group_report = lambda gid: str(tmp_path / "lib.sqlite3")
    qtbot.mouseClick(browser.group_report_button, Qt.MouseButton.LeftButton)
    assert browser.message.text().startswith("The group report was not saved: ")
    close_window(parts.window)


def test_the_group_summary_shows_each_participant_and_writes_reports(
    qtbot, tmp_path, group_and_alone
) -> None:
    source, _group_id, kept, _ = group_and_alone
    parts, browser = _browser(qtbot, tmp_path, source)
    _select(browser, kept[0])
    qtbot.mouseClick(browser.group_summary_button, Qt.MouseButton.LeftButton)
    dialog = browser.group_dialog
    assert isinstance(dialog, GroupSummaryDialog) and dialog.isVisible()
    people = [dialog.people.item(r, 0).text() for r in range(dialog.people.rowCount())]
    assert people == list(NAMES)  # the facilitator's own screen shows their labels
    sessions = [dialog.people.item(r, 1).text() for r in range(dialog.people.rowCount())]
    assert sessions == [str(sid) for sid in kept]
    assert dialog.figures.text().startswith("Time in the resilient band")
    assert dialog.moments.rowCount() > 0
    assert not dialog.seats.isChecked()  # no per-seat rows unless asked for
    out = tmp_path / "g.html"
    dialog.choose_report_path = lambda suggested: str(out)
    dialog.seats.setChecked(True)
    qtbot.mouseClick(dialog.group_report_button, Qt.MouseButton.LeftButton)
    assert "participant 2" in out.read_text()
    assert all(name.split()[0] not in out.read_text() for name in NAMES)
    dialog.people.selectRow(1)
    one = tmp_path / "ben.html"
    dialog.choose_report_path = lambda suggested: str(one)
    qtbot.mouseClick(dialog.participant_button, Qt.MouseButton.LeftButton)
    own = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", one.read_text())
    assert NAMES[1] in own and "part of a group session" in own
    assert NAMES[0].split()[0] not in own and NAMES[2].split()[0] not in own
    folder = tmp_path / "each"
    dialog.choose_folder = lambda: str(folder)
    qtbot.mouseClick(dialog.everyone_button, Qt.MouseButton.LeftButton)
    assert len(list(folder.iterdir())) == 3
    assert dialog.message.text().startswith("3 reports were saved")
    # The app's own "Save report…" of a participant's session says so too.
    saved = parts.services.save_session_report(
        parts.services.analyse(kept[2]), str(tmp_path / "chi.html")
    )
    assert "part of a group session (with 2 other participants)" in saved.read_text()
    dialog.close()
    close_window(parts.window)


def test_a_group_that_is_gone_says_so(qtbot, tmp_path, group_and_alone) -> None:
    source, *_ = group_and_alone
    parts, _ = _browser(qtbot, tmp_path, source)
    dialog = show_group_summary(parts.window, parts.services, 99)
    qtbot.addWidget(dialog)
    assert "cannot be shown" in dialog.heading.text() and "no group 99" in dialog.heading.text()
    assert not dialog.group_report_button.isEnabled()
    dialog.close()
    close_window(parts.window)
