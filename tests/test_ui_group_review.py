"""The group window after issue 19's review: tiles as large as a smaller group allows after a
bigger one, the projector naming nobody at the start of each group, a tile's number styled
only when its selection changes, a replay numbering participants by their stored seat, and
Reconnect on Bluetooth straps staying on the group's one loop thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication

from devices.hrm import encode_hrm
from devices.packet import SensorContact
from tests.support.bleak_bumble_backend import BumbleCentral
from tests.support.bumble_air import Air
from tests.support.bumble_strap import EmulatedStrap
from tests.test_ui_group import NAMES, _record_group, _straps, open_group
from tests.ui_app import SPEED, activate, open_app, settings_in
from trm_bio.app import build
from trm_bio.store.library import Library
from trm_bio.ui.services import GroupChoice


class _StyleChanges(QObject):
    """Counts the style changes (a style sheet set: the widget is polished anew) of widgets."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.StyleChange:
            self.count += 1
        return False


def _new_group(window, count: int) -> None:
    """End the group in the window and start another of ``count`` through the app."""
    window.stop_session()
    window.services.open_group(
        GroupChoice("simulated", NAMES[:count], name="Next group"), sources=_straps(count)
    )


def _fills_its_cell(tile, area, count: int, columns: int, rows: int) -> bool:
    spacing = 8  # the grids' spacing (px)
    width = (area.width() - (columns - 1) * spacing) / columns
    height = (area.height() - (rows - 1) * spacing) / rows
    return tile.width() >= 0.9 * width and tile.height() >= 0.9 * height


def test_tiles_of_a_smaller_group_after_a_bigger_one_fill_the_room(qtbot, tmp_path):
    _, window, _ = open_group(qtbot, tmp_path, 8)
    window.toggle_client_view()
    client = window.client
    client.resize(1200, 700)
    _new_group(window, 3)
    assert window.client.isVisible()
    QApplication.processEvents()
    assert len(window.tiles) == 3 and len(client.tiles) == 3
    for tile in window.tiles:  # three in a row, the whole height
        assert _fills_its_cell(tile, window.tiles_area, 3, 3, 1), (tile.size(),
                                                                  window.tiles_area.size())
    area = client.tiles[0].parentWidget()
    for tile in client.tiles:
        assert _fills_its_cell(tile, area, 3, 3, 1), (tile.size(), area.size())
    window.stop_session()
    window.close()


def test_the_projector_shows_numbers_again_for_each_new_group_and_replay(qtbot, tmp_path):
    parts, window, _ = open_group(qtbot, tmp_path, 2)
    window.toggle_client_view()
    client = window.client
    window.client_label_actions["names"].trigger()  # the facilitator turns names on
    qtbot.waitUntil(lambda: all(t.state for t in client.tiles))
    window.refresh()
    assert client.captions() == list(NAMES[:2])  # within this group: as chosen
    _new_group(window, 2)
    window.refresh()
    assert client.captions() == ["1", "2"]  # the next group starts with no names
    assert window.client_label_actions["numbers"].isChecked()
    window.set_client_labels("initials")
    window.stop_session()
    group_id = _record_group(parts.library, 2)
    assert window.open_replay(group_id)
    window.refresh()
    assert client.captions() == ["1", "2"]  # a replay too
    window.close()
    # Nor does the choice outlive the window: a new one starts with numbers.
    window.services.group_window = None
    window.services.open_group(GroupChoice("simulated", NAMES[:2]), sources=_straps(2))
    again = window.services.group_window
    qtbot.addWidget(again, before_close_func=lambda w: w.stop_session())
    assert again.client.labels == "numbers"
    again.stop_session()
    again.close()


def test_a_tiles_number_is_restyled_only_when_its_selection_changes(qtbot, tmp_path):
    _, window, _ = open_group(qtbot, tmp_path, 2)
    # Once every tile shows a zone its look is settled (a tile's own style sheet, set on a
    # change of look, polishes its number too).
    qtbot.waitUntil(lambda: all(t._look == (False, False) for t in window.tiles),
                    timeout=20_000)
    changes = _StyleChanges()
    for tile in window.tiles:
        tile.number.installEventFilter(changes)
    shown = [0]
    original = window.show_tiles

    def counting(states):
        changed = original(states)
        shown[0] += changed
        return changed

    window.show_tiles = counting
    qtbot.waitUntil(lambda: shown[0] >= 10, timeout=20_000)  # beats changed the tiles
    assert changes.count == 0
    window.select(1)
    assert changes.count > 0  # the chosen tile's number shows it (the count sees it)
    window.stop_session()
    window.close()


def _ble_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("devices-ble"))


def test_reconnect_restarts_a_strap_on_the_groups_own_loop(qtbot, tmp_path):
    # Two emulated straps through bleak's real front end; Reconnect on Ben's tile twice:
    # no new Bluetooth loop thread, Ben's new strap on the group's loop, and his beats
    # arrive in his session through it.
    air = Air()
    try:
        central = BumbleCentral(air)
        straps = [
            EmulatedStrap(air, name=f"TRM Test Strap {n}", address=f"C0:11:22:33:44:6{n}")
            for n in (1, 2)
        ]
        parts = open_app(qtbot, tmp_path, connect=False, speed=1.0)
        services = parts.services
        services.ble_options = {
            "scanner_backend": central.scanner_backend,
            "client_backend": central.client_backend,
            "min_backoff_s": 0.01,
        }
        services.open_group(GroupChoice(
            "ble", ("Ana", "Ben"), targets=tuple(s.address for s in straps)
        ))
        window = services.group_window
        qtbot.addWidget(window, before_close_func=lambda w: w.stop_session())
        qtbot.waitUntil(lambda: all(s.subscribed.is_set() for s in straps), timeout=30_000)
        threads = _ble_threads()
        assert len(threads) == 1
        group = window.group
        ben = group.members[1]
        loop = ben.source._shared_loop  # the group's, which Ana's strap shares
        assert loop is not None and group.members[0].source._shared_loop is loop
        for _ in range(2):
            old = ben.source
            window.tiles[1].reconnect.click()
            assert ben.source is not old
            assert _ble_threads() == threads
            assert ben.source._shared_loop is loop
            beats = ben.session.history.beats.size

            def arrived(beats=beats) -> bool:
                straps[1].notify(encode_hrm(60, (1024,), contact=SensorContact.CONTACT))
                return ben.session.history.beats.size > beats

            qtbot.waitUntil(arrived, timeout=30_000)
        assert group.members[0].session.history.beats.size == 0  # none of Ben's crossed
        window.stop_session()
        window.close()
    finally:
        air.close()


def test_a_replay_numbers_participants_by_their_stored_seat(qtbot, tmp_path):
    # Chloé's strap sent no beat in the recording: her session was not kept, so the stored
    # seats are 0 and 2 (as the exports and reports number them: 1 and 3).
    library = Library.open(tmp_path / "lib.sqlite3")
    group_id = _record_group(library, 3)
    middle = library.get_group(group_id).session_ids[1]
    library.delete_session(middle)
    parts = build(library, settings=settings_in(tmp_path / "settings"), replay_group=group_id,
                  speed=SPEED)
    window = parts.services.group_window
    qtbot.addWidget(window)
    assert window.state == "replay"
    assert [t.number.text() for t in window.tiles] == ["1", "3"]
    window.toggle_client_view()
    assert window.client.captions() == ["1", "3"]
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_3)  # the key of the number shown
    assert window.selected == 1 and "for 3 ·" in window.for_label.text()
    qtbot.keyClick(window, Qt.Key.Key_2)
    assert window.selected == 1 and "no participant 2" in window.statusBar().currentMessage()
    # A live group after it is numbered 1, 2 ... again, on the projector too.
    window.services.open_group(GroupChoice("simulated", NAMES[:3]), sources=_straps(3))
    assert [t.number.text() for t in window.tiles] == ["1", "2", "3"]
    window.refresh()
    assert window.client.captions() == ["1", "2", "3"]
    window.stop_session()
    window.close()
