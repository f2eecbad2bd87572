"""The group window in real group sessions: a tile per participant showing their own zone,
a dropped strap shown as "reconnecting" on that tile alone, one-key logging for everyone or
one, the projector's view without names unless asked, a laptop's room, and the replay."""

from __future__ import annotations

import itertools
import math
import time

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QApplication

from devices.hrm import encode_hrm
from devices.packet import SensorContact
from devices.simulated import SimulatedStrap
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_strap import EmulatedStrap
from tests.ui_app import (
    SPEED,
    activate,
    answer_dialog,
    close_modal_dialog,
    open_app,
    settings_in,
)
from trm_bio.app import build
from trm_bio.cli import build_parser
from trm_bio.cli.app_cmd import _group_of
from trm_bio.core.events import EventKind
from trm_bio.core.regulation import Zone
from trm_bio.errors import TrmBioError
from trm_bio.group import Connection, GroupController, Participant
from trm_bio.store.library import Library
from trm_bio.ui.group_dialog import NewGroupDialog
from trm_bio.ui.group_summary import GroupSummaryDialog
from trm_bio.ui.group_window import GROUP_SHORTCUTS
from trm_bio.ui.help_dialog import HelpDialog
from trm_bio.ui.services import GroupChoice

#: The window's room on a 1366 x 768 screen, and on 1920 x 1080 at 150 % (1280 x 720 logical
#: px), less a task bar and a title bar (as tests/test_ui_window.py).
LAPTOPS = (QSize(1366, 768 - 70), QSize(1280, 720 - 70))
DROP_S = (520.0, 600.0)  # the dropped strap's link is away from 520 to 600 s (virtual)
NAMES = ("Ana Lima", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eve Stone", "Femi Ade",
         "Gus Ho", "Hana Sato")


def _straps(count: int, drop_seat: int | None = None) -> list[SimulatedStrap]:
    """Simulated participants at test speed; ``drop_seat``'s link drops once (DROP_S)."""
    straps = []
    for seat in range(count):
        strap = SimulatedStrap(
            "calm",
            seed=11 + seat,
            speed=SPEED,
            link_drops=(DROP_S,) if seat == drop_seat else (),
        )
        strap.source_id = f"simulated-{seat + 1}"
        straps.append(strap)
    return straps


def open_group(
    qtbot, tmp_path, count: int, *, drop_seat: int | None = None, record_summaries=True
):
    """The app (composition root) with a live group of ``count`` in its group window; the
    group summary hook records the groups it was asked to show (else the app's own group
    summary shows)."""
    library = Library.open(tmp_path / "lib.sqlite3")
    parts = build(library, settings=settings_in(tmp_path / "settings"), speed=SPEED,
                  connect=False)
    services = parts.services
    summaries: list[int] = []
    if record_summaries:
        services.group_summary = summaries.append
    services.open_group(
        GroupChoice("simulated", NAMES[:count], name="Tuesday group"),
        sources=_straps(count, drop_seat),
    )
    window = services.group_window
    # A test that fails mid-session leaves no question open behind it.
    qtbot.addWidget(window, before_close_func=lambda w: w.stop_session())
    window.resize(LAPTOPS[0])
    window.show()
    qtbot.waitExposed(window)
    activate(qtbot, window)
    return parts, window, summaries


def _zone_coloured_pixels(band) -> int:
    """How many of the band's pixels have a colour at all (a zone's hue, however faint):
    the greys of an unknown band and its muted labels differ by under 20 between their
    red, green and blue; a zone's fill or edge by more."""
    band.repaint()
    image = band.grab().toImage()
    found = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            rgb = image.pixelColor(x, y).getRgb()[:3]
            found += max(rgb) - min(rgb) > 20
    return found


def _zones_shown(window) -> bool:
    return bool(window.tiles) and all(
        t.state is not None and t.state.shows_zone and t.state.zone.zone != Zone.UNKNOWN
        for t in window.tiles
    )


def test_each_tile_shows_its_own_zone_and_a_drop_only_on_its_tile(qtbot, tmp_path):
    _, window, _ = open_group(qtbot, tmp_path, 3, drop_seat=1)
    group = window.group
    assert [t.name.text() for t in window.tiles] == list(NAMES[:3])
    qtbot.waitUntil(lambda: _zones_shown(window), timeout=20_000)
    for tile, view in zip(window.tiles, group.views(), strict=True):
        # The tile's dot is the participant's own reading, placed as every screen places it.
        assert tile.band.reading.zone == view.reading.zone
        assert not math.isnan(tile.band.reading.position)
        assert tile.words.text() == tile.band.reading.label
    window.toggle_client_view()  # the projector shows the drop alike
    qtbot.waitUntil(
        lambda: window.tiles[1].state.connection is Connection.RECONNECTING, timeout=20_000
    )
    window.refresh()
    client_tile = window.client.tiles[1]
    assert client_tile.words.text() == "reconnecting"
    assert client_tile._look == (True, False) and _zone_coloured_pixels(client_tile.band) == 0
    assert [t.words.text() for t in window.client.tiles[::2]] == ["", ""]  # zone only
    dropped = window.tiles[1]
    assert dropped.words.text() == "reconnecting"
    assert dropped.band.reading.zone == Zone.UNKNOWN  # grey band, never a zone colour
    assert math.isnan(dropped.band.shown_position)  # and no dot
    assert dropped._look == (True, False)  # greyed
    assert _zone_coloured_pixels(dropped.band) == 0
    assert _zone_coloured_pixels(window.tiles[0].band) > 100  # a live band is coloured
    for seat in (0, 2):
        assert window.tiles[seat].state.connection is Connection.LIVE
        assert window.tiles[seat].state.zone.zone != Zone.UNKNOWN
    # The strap comes back: the tile shows a zone again, the other tiles never stopped.
    qtbot.waitUntil(lambda: window.tiles[1].state.connection is Connection.LIVE, timeout=20_000)
    window.stop_session()
    window.close()


def test_one_key_logs_for_the_whole_group_or_for_one(qtbot, tmp_path):
    parts, window, summaries = open_group(qtbot, tmp_path, 4)
    library = parts.library
    qtbot.waitUntil(lambda: all(t.state.shows_zone for t in window.tiles), timeout=20_000)
    qtbot.keyClick(window, Qt.Key.Key_M)  # everyone
    qtbot.keyClick(window, Qt.Key.Key_3)  # participant 3 ...
    assert window.selected == 2
    assert window.tiles[2]._look == (False, True)  # clearly selected
    assert "Chloé Martin only" in window.for_label.text()
    qtbot.keyClick(window, Qt.Key.Key_M)  # ... alone
    assert window.selected is None  # the next log is everyone's again
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # changed their mind: the whole group
    assert window.selected is None
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # pleasant, all
    qtbot.keyClick(window, Qt.Key.Key_4)
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)  # 4 alone
    qtbot.keyClick(window, Qt.Key.Key_6)  # there is no participant 6: said, nothing chosen
    assert window.selected is None
    assert "no participant 6" in window.statusBar().currentMessage()
    # F1 lists the group window's own keys.
    closed = close_modal_dialog(qtbot)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert closed == ["Keyboard shortcuts"]
    table = HelpDialog(window, GROUP_SHORTCUTS).table
    keys = {table.item(row, 0).text() for row in range(table.rowCount())}
    assert {"M", "Ctrl+1", "Esc", "1", "8", "Ctrl+E"} <= keys
    group_id = window.group_id
    kept = window.stop_session()
    assert summaries == [group_id]
    assert len(kept) == 4
    counts = []
    for session_id in kept:
        events = library.session_events(session_id)
        markers = [e for e in events if e.kind == EventKind.MARKER]
        sensations = [e.details.valence for e in events if e.kind == EventKind.SENSATION]
        counts.append((len(markers), sorted(str(v) for v in sensations)))
    assert counts == [
        (1, ["pleasant"]),
        (1, ["pleasant"]),
        (2, ["pleasant"]),
        (1, ["pleasant", "unpleasant"]),
    ]
    window.close()


def test_the_client_view_names_nobody_unless_asked(qtbot, tmp_path):
    _, window, _ = open_group(qtbot, tmp_path, 5)
    qtbot.waitUntil(lambda: all(t.state.shows_zone for t in window.tiles), timeout=20_000)
    window.toggle_client_view()
    client = window.client
    qtbot.waitUntil(lambda: client.isVisible() and all(t.state for t in client.tiles))
    assert client.captions() == ["1", "2", "3", "4", "5"]
    words = " ".join(
        label.text() for label in client.findChildren(type(client.prompt)) if label.isVisible()
    )
    for name in NAMES[:5]:
        assert name not in words and name.split()[0] not in words
    window.set_client_labels("initials")
    assert client.captions() == ["AL", "BO", "CM", "DP", "ES"]
    window.set_client_labels("names")
    assert client.captions() == list(NAMES[:5])
    # On a chosen screen, full screen, as the client view of one person; Esc there leaves
    # full screen (it is not the group window's "whole group" key), F11 enters it again.
    window.client_placement.full_action.setChecked(True)
    qtbot.waitUntil(client.isFullScreen, timeout=3000)
    assert client.screen() is window.client_placement.chosen_screen()
    window.select(1)
    activate(qtbot, client)  # a key on the projector's window: it is the active one
    qtbot.keyClick(client, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not client.isFullScreen(), timeout=3000)
    assert window.selected == 1 and client.isVisible()
    qtbot.keyClick(client, Qt.Key.Key_F11)
    qtbot.waitUntil(client.isFullScreen, timeout=3000)
    window.select(None)
    # The shared prompt, in its short form, and never a number on the projector.
    window.skills.select("skill", "grounding")
    window.skills.begin()
    window.refresh()
    assert client.prompt.text()
    assert len(client.prompt.text()) <= len(window.skills.prompt.text())
    window.set_numbers_visible(True)
    window.refresh()
    assert all(not any(ch.isdigit() for ch in t.words.text()) for t in client.tiles)
    assert "bpm" in window.tiles[0].numbers.text()
    window.stop_session()
    window.close()


def _inside(window, widget) -> bool:
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return widget.isVisible() and window.rect().contains(QRect(top_left, widget.size()))


def test_eight_tiles_fit_a_laptop_and_the_window_never_grows(qtbot, tmp_path):
    _, window, _ = open_group(qtbot, tmp_path, 8)
    qtbot.waitUntil(lambda: all(t.state.shows_zone for t in window.tiles), timeout=20_000)
    for large, laptop in itertools.product((False, True), LAPTOPS):
        window.set_large_text(large)
        assert window.minimumSizeHint().boundedTo(laptop) == window.minimumSizeHint(), large
        window.resize(laptop)
        QApplication.processEvents()
        assert window.size() == laptop
        for tile in window.tiles:
            assert _inside(window, tile), (tile.seat, laptop, large)
            assert tile.band.width() >= 120
        before = window.size()
        # Activity: Help Now! with its strategies, numbers on, selections, logs, a pause.
        qtbot.keyClick(window, Qt.Key.Key_H)
        window.skills.choose_strategy("push_wall")
        window.set_numbers_visible(True)
        qtbot.keyClick(window, Qt.Key.Key_8)
        qtbot.keyClick(window, Qt.Key.Key_M)
        window.pause_session()
        qtbot.wait(300)
        window.pause_session()
        qtbot.wait(300)
        QApplication.processEvents()
        assert window.size() == before
        assert window.minimumSizeHint().boundedTo(laptop) == window.minimumSizeHint()
        window.skills._back_from_help_now()
        window.set_numbers_visible(False)
    window.set_large_text(False)  # the application's font, for the tests after this one
    window.stop_session()
    window.close()


def test_ending_and_closing_ask_first_then_the_summary(qtbot, tmp_path):
    _, window, summaries = open_group(qtbot, tmp_path, 2)
    qtbot.waitUntil(lambda: all(t.state.shows_zone for t in window.tiles), timeout=20_000)
    asked = answer_dialog(qtbot, "Keep going")
    window.close()
    assert asked and window.isVisible() and window.recording and summaries == []
    asked = answer_dialog(qtbot, "Keep going")
    window.stop_button.click()
    assert asked and window.recording
    asked = answer_dialog(qtbot, "End and save")
    window.stop_button.click()
    assert asked and not window.recording and window.state == "ended"
    assert summaries == [window.group_id]
    assert [t.state.connection for t in window.tiles] == [Connection.ENDED] * 2
    window.close()  # nothing records: closes without a question
    assert not window.isVisible()


def test_an_ended_group_shows_the_apps_group_summary(qtbot, tmp_path):
    _, window, _ = open_group(qtbot, tmp_path, 2, record_summaries=False)
    qtbot.waitUntil(lambda: all(t.state.shows_zone for t in window.tiles), timeout=20_000)
    window.stop_session()
    dialog = next(d for d in window.findChildren(GroupSummaryDialog) if d.isVisible())
    assert dialog.group_id == window.group_id
    dialog.close()
    window.close()


def test_a_tile_reconnects_its_own_strap_and_the_session_goes_on(qtbot, tmp_path):
    _, window, _ = open_group(qtbot, tmp_path, 3)
    group = window.group
    qtbot.waitUntil(lambda: all(t.state.shows_zone for t in window.tiles), timeout=20_000)
    session_ids = [m.session_id for m in group.members]
    old = [m.source for m in group.members]
    window.tiles[2].reconnect.click()
    assert group.members[2].source is not old[2]
    assert [m.source for m in group.members[:2]] == old[:2]
    assert [m.session_id for m in group.members] == session_ids
    beats = group.members[2].session.history.beats.size
    qtbot.waitUntil(lambda: group.members[2].session.history.beats.size > beats + 5,
                    timeout=20_000)
    window.stop_session()
    window.close()


def _record_group(library: Library, count: int) -> int:
    """A stored group of ``count`` participants, recorded at full speed (600 s)."""
    group = GroupController(library)
    straps = [SimulatedStrap("calm", seed=20 + s, speed=math.inf, duration_s=600.0)
              for s in range(count)]
    group_id = group.start_live(straps, [Participant(name) for name in NAMES[:count]],
                                source_kind="simulated")
    group.start_skill("grounding")
    deadline = time.monotonic() + 60
    while any(s.running for s in straps) and time.monotonic() < deadline:
        straps[0].wait(0.25)
        group.poll()
    group.poll()
    group.log_marker("everyone")
    assert len(group.stop()) == count
    assert group_id is not None
    return group_id


def test_a_group_replays_in_the_same_tiles(qtbot, tmp_path):
    library = Library.open(tmp_path / "lib.sqlite3")
    group_id = _record_group(library, 3)
    parts = build(library, settings=settings_in(tmp_path / "settings"), replay_group=group_id,
                  speed=SPEED)
    window = parts.services.group_window
    qtbot.addWidget(window)
    assert window.state == "replay" and window.replay_bar.isVisible()
    window.resize(LAPTOPS[0])
    QApplication.processEvents()
    assert [t.name.text() for t in window.tiles] == list(NAMES[:3])
    bar = window.replay_bar
    bar.speed.setCurrentIndex(bar.speed.findData(16.0))  # the bar's own controls
    assert window.group.replay_status().speed == 16.0
    bar.timeline.seek_requested.emit(450.0)
    assert window.group.replay_status().position_s == pytest.approx(450.0, abs=5.0)
    qtbot.waitUntil(lambda: _zones_shown(window), timeout=20_000)
    assert all(t.state.connection is Connection.REPLAY for t in window.tiles)
    assert not any(t.reconnect.isVisible() for t in window.tiles)
    assert window.skills.read_only
    assert window.current_prompt()  # the grounding prompt recorded at 450 s
    # Replays log nothing, and close without a question.
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert "live group session" in window.statusBar().currentMessage()
    window.close()
    assert not window.group.running


def test_the_main_window_opens_a_group_beside_it(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    main = parts.window
    session_menu = next(a.menu() for a in main.menuBar().actions() if "Session" in a.text())
    assert main.group_action in session_menu.actions()
    dialog = NewGroupDialog(parts.services, main)
    dialog.count.setValue(3)
    dialog.labels[0].setText("Ana Lima")
    dialog.accept()
    window = parts.services.group_window
    qtbot.addWidget(window)
    assert [t.name.text() for t in window.tiles] == ["Ana Lima", "Participant 2", "Participant 3"]
    assert main.isVisible() and window.isVisible()
    # Straps need a strap each: one sentence, nothing started.
    dialog = NewGroupDialog(parts.services, main)
    dialog.straps.setChecked(True)
    dialog.accept()
    assert "strap" in dialog.message.text() and dialog.result() == 0
    window.stop_session()
    window.close()
    main.close()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["app"], None),
        (["app", "--device", "A"], None),
        (["app", "--people", "1"], GroupChoice("simulated", ("Participant 1",))),
        (["app", "--people", "3"],
         GroupChoice("simulated", ("Participant 1", "Participant 2", "Participant 3"))),
        (["app", "--people", "2", "--person", "Ana", "--person", "Ben", "--scenario", "stress"],
         GroupChoice("simulated", ("Ana", "Ben"), scenario="stress")),
        (["app", "--device", "A", "--device", "B", "--person", "Ana", "--person", "Ben"],
         GroupChoice("ble", ("Ana", "Ben"), targets=("A", "B"))),
    ],
)
def test_app_command_line_asks_for_a_group(argv, expected):
    assert _group_of(build_parser().parse_args(argv)) == expected


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["app", *(arg for n in range(9) for arg in ("--device", f"S{n}"))],
         "1 to 8 participants, not 9"),
        (["app", "--people", "2", "--person", "Ana"], "1 --person names for 2 participants"),
        (["app", "--person", "Ana"], "--person names group participants"),
    ],
)
def test_app_command_line_refuses_a_bad_group_in_one_sentence(argv, words):
    with pytest.raises(TrmBioError, match=words):
        _group_of(build_parser().parse_args(argv))


def test_straps_found_by_a_scan_become_a_group_each_on_its_own_tile(qtbot, tmp_path):
    # Two emulated straps on one air, through bleak's real front end: the dialog's scan finds
    # both, the facilitator gives each to a participant (crossed over), and each tile shows
    # its own participant's strap: only the one that sends beats shows a heart rate.
    air = Air()
    try:
        central = BumbleCentral(air)
        straps = [
            EmulatedStrap(air, name=f"TRM Test Strap {n}", address=f"C0:11:22:33:44:5{n}")
            for n in (1, 2)
        ]
        parts = open_app(qtbot, tmp_path, connect=False, speed=1.0)
        parts.services.ble_options = {
            "scanner_backend": central.scanner_backend,
            "client_backend": central.client_backend,
            "min_backoff_s": 0.01,
        }
        dialog = NewGroupDialog(parts.services, parts.window)
        qtbot.addWidget(dialog)
        dialog.straps.setChecked(True)
        dialog.scan()
        qtbot.waitUntil(lambda: dialog.scan_button.isEnabled(), timeout=15_000)
        assert sorted(c.target for c in dialog.found) == [s.address for s in straps]
        assert dialog.count.value() == 2 and len(dialog.strap_boxes) == 2
        dialog.labels[0].setText("Ana")
        dialog.labels[1].setText("Ben")
        ana = dialog.strap_boxes[1].currentData()  # Ana wears the strap scanned second
        dialog.strap_boxes[0].setCurrentIndex(1)
        dialog.strap_boxes[1].setCurrentIndex(0)
        dialog.accept()
        window = parts.services.group_window
        qtbot.addWidget(window, before_close_func=lambda w: w.stop_session())
        assert [t.name.text() for t in window.tiles] == ["Ana", "Ben"]
        anas = next(s for s in straps if s.address == ana)
        # Two links set up at once on one adapter: one may need a second attempt.
        qtbot.waitUntil(lambda: all(s.subscribed.is_set() for s in straps), timeout=30_000)
        for _ in range(3):
            assert anas.notify(encode_hrm(60, (1024,), contact=SensorContact.CONTACT))
        window.set_numbers_visible(True)
        qtbot.waitUntil(lambda: math.isfinite(window.tiles[0].state.hr_bpm), timeout=10_000)
        assert "bpm" in window.tiles[0].numbers.text()
        assert math.isnan(window.tiles[1].state.hr_bpm)  # Ben's strap sent no beat
        assert window.group.members[1].session.history.beats.size == 0
        window.stop_session()
        window.close()
    finally:
        air.close()
