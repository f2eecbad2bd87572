"""A recording process killed with SIGKILL mid-session, then the app started on its library:
the window says once, calmly and without a dialog, that the session was cut short and kept
(with its length), and the library dialog's Status column marks it interrupted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.test_library_integrity import Child
from tests.ui_app import open_app
from trm_bio.report.text import fmt_clock
from trm_bio.store.library import Library
from trm_bio.ui.session_browser import COLUMNS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and locks")

STATUS = COLUMNS.index("Status")


def _killed_mid_recording(library_file: Path) -> tuple[int, int]:
    """A finished session, then one whose recording process is killed with SIGKILL after
    its 40th committed packet; their ids."""
    with Library.open(library_file) as library:
        finished = library.create_session(None, "simulated", "sim:0", start_ns=10**9)
        library.finish_session(finished, status="complete")
    child = Child(library_file, "during")
    try:
        child.expect("ready")
        child.send("go")
        committed = 0
        while committed < 40:
            _, session, count = child.expect("committed")
            committed = int(count)
    finally:
        child.kill()
    return finished, int(session)


def test_the_window_says_once_that_a_killed_recording_was_kept(qtbot, tmp_path) -> None:
    finished, killed = _killed_mid_recording(tmp_path / "lib.sqlite3")
    parts = open_app(qtbot, tmp_path, connect=False)
    window, library = parts.window, parts.library
    info = library.get_session(killed)
    assert info.status == "interrupted" and info.duration_s and info.duration_s > 30
    notice = window.interrupted_notice
    assert notice is not None
    qtbot.waitUntil(notice.isVisible, timeout=2000)
    assert notice.label.text() == (
        f"The last recording stopped before it was ended: session {killed}, "
        f"{fmt_clock(info.duration_s)} kept. It is in the library, marked interrupted."
    )
    assert window.statusBar().isAncestorOf(notice)  # at the foot, holding nothing up
    assert window.isActiveWindow()  # no dialog came in front of the window

    # The library dialog says which session was cut short.
    browser = window.make_browser()
    qtbot.addWidget(browser)
    browser.show()
    qtbot.waitExposed(browser)
    status = {
        browser.table.item(r, 0).text(): browser.table.item(r, STATUS).text()
        for r in range(browser.table.rowCount())
    }
    assert status == {str(killed): "interrupted", str(finished): "complete"}
    assert "kept" in browser.table.item(
        [browser.table.item(r, 0).text() for r in range(browser.table.rowCount())].index(
            str(killed)), STATUS).toolTip()
    browser.search.setText("interrupted")
    assert [browser.table.item(r, 0).text() for r in range(browser.table.rowCount())] == [
        str(killed)]
    browser.close()

    # "OK" removes the note; the next start has nothing new to say.
    notice.ok.click()
    assert not notice.isVisible()
    window.close()
    library.close()
    again = open_app(qtbot, tmp_path, connect=False)
    assert again.window.interrupted_notice is None
    again.window.close()
    again.library.close()
