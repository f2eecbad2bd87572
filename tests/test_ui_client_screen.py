"""The client view full screen on a chosen screen, remembered; an unchanged reading costs
nothing to show (issue 18: client view, performance)."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from tests.ui_app import open_app
from trm_bio.ui.same import same
from trm_bio.zone_display import ZoneShown


def test_the_client_view_goes_full_screen_on_the_chosen_screen_and_remembers_it(
    qtbot, tmp_path
):
    parts = open_app(qtbot, tmp_path)
    window, client = parts.window, parts.window.client
    placement = window.client_placement
    screens = QGuiApplication.screens()
    entries = placement.group.actions()
    assert [a.data() for a in entries] == [s.name() for s in screens]  # every screen listed
    chosen = screens[-1]  # with one screen, that one
    entries[-1].trigger()
    placement.full_action.setChecked(True)
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(client.isFullScreen, timeout=3000)
    assert client.screen() is chosen
    assert chosen.geometry().contains(client.geometry().center())
    # Esc on the client view leaves full screen (and is remembered); F11 enters it again.
    qtbot.keyClick(client, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not client.isFullScreen(), timeout=3000)
    assert client.isVisible() and not placement.full_action.isChecked()
    qtbot.keyClick(client, Qt.Key.Key_F11)
    qtbot.waitUntil(client.isFullScreen, timeout=3000)
    window.close()
    # The next launch shows it full screen on the same screen.
    again = open_app(qtbot, tmp_path).window
    assert again.client_placement.full_action.isChecked()
    assert again.client_placement.chosen_screen() is chosen
    again.toggle_client_view()
    qtbot.waitUntil(again.client.isFullScreen, timeout=3000)
    assert again.client.screen() is chosen
    again.close()


def test_a_screen_that_is_gone_falls_back_to_the_main_windows(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    window = parts.window
    window.settings.q.setValue("client/screen", "a projector unplugged since")
    assert window.client_placement.chosen_screen() is window.screen()
    window.toggle_client_view()
    qtbot.waitExposed(window.client)
    assert window.client.screen() is window.screen()
    window.close()


class _Count(QObject):
    def __init__(self, kinds: set[QEvent.Type]) -> None:
        super().__init__()
        self.kinds, self.n = kinds, 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.kinds:
            self.n += 1
        return False


def test_an_unchanged_reading_with_missing_values_is_not_shown_again(qtbot, tmp_path):
    # A missing value is NaN, unequal to itself: each frame once restyled the readouts and
    # repainted the zone indicator although nothing had changed (most of the app's CPU).
    a, b = ZoneShown(position=float("nan")), ZoneShown(position=float("nan"))
    assert same(a, b) and a != b
    assert not same(ZoneShown(position=1.0), ZoneShown())
    parts = open_app(qtbot, tmp_path, speed=5.0)  # a minute of beats takes 12 s
    window, controller = parts.window, parts.controller
    qtbot.waitUntil(lambda: controller.session.history.beats.size > 2, timeout=5000)
    window.tick_timer.stop()  # the controller is polled no more: the reading stays as it is
    reading = controller.reading()
    assert math.isnan(reading.coherence)  # not known in the first minute
    now_s = controller.now_s()
    window._update_panels(now_s)
    QApplication.processEvents()
    # The dot may still be gliding to this reading (its own timer): let it arrive first.
    qtbot.waitUntil(lambda: not window.zone_band._glide.isActive(), timeout=5000)
    QApplication.processEvents()
    styled = _Count({QEvent.Type.StyleChange})
    painted = _Count({QEvent.Type.Paint})
    window.readouts.zone.installEventFilter(styled)
    window.zone_band.installEventFilter(painted)
    for _ in range(20):
        window._update_panels(now_s)  # the same reading: the controller was not polled
        QApplication.processEvents()
    # The old code restyled and repainted on every one of the 20 updates; one repaint may
    # still come from the window system (an expose of the offscreen window in a long run).
    assert styled.n == 0 and painted.n <= 1
    window.close()


def test_the_guide_shows_at_the_first_launch_only_and_again_from_help(qtbot, tmp_path):
    from trm_bio.ui import first_run

    parts = open_app(qtbot, tmp_path)
    window = parts.window
    guide = first_run.offer(window)
    assert guide is not None and guide.isVisible()
    assert not guide.isModal()  # the live screen goes on behind it
    texts = []
    while guide.isVisible():
        texts.append(guide.page_text())
        guide.next_button.click()
    assert 3 <= len(texts) <= 6
    whole = " ".join(texts)
    assert "indicators, not a diagnosis" in whole
    for skill in parts.controller.skills.all_skills:  # the nine skills, each named
        assert skill.name in whole
    assert "client view" in whole.lower() and "clinician" in whole.lower()
    assert first_run.offer(window) is None  # remembered: not again at the next launch
    window.close()
    again = open_app(qtbot, tmp_path).window
    assert first_run.offer(again) is None
    again.guide_action.trigger()  # Help > Guide
    shown = [w for w in again.findChildren(first_run.GuideDialog) if w.isVisible()]
    assert len(shown) == 1 and shown[0].where.text().startswith("1 of")
    again.close()


def test_the_simulated_strap_starts_while_the_window_is_built(qtbot, tmp_path):
    # Start to the first beat on screen: the strap starts before the window is built, as a
    # strap already worn (tests/test_ui_start.py): its session time 0 is set back to its first
    # beat, which the first or second notification (at most about 2 s in) carries.
    started_ns = time.monotonic_ns()
    parts = open_app(qtbot, tmp_path, speed=1.0)
    source = parts.controller.source
    assert parts.services.warm is None  # taken by the preview
    assert started_ns - 2_100_000_000 <= source.start_ns < parts.window.built_ns
    assert parts.controller.session.start_ns == source.start_ns  # one beat clock
    qtbot.waitUntil(lambda: parts.controller.session.history.beats.size > 0, timeout=5000)
    parts.window.close()
