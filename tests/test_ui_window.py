"""The main window in a real session: it fits a laptop, prompts read whole, Help Now!'s
strategies guide on both screens, nothing ends a session unasked, nothing carries over."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from skills.loader import load_skills
from tests.ui_app import (
    activate,
    answer_dialog,
    close_modal_dialog,
    open_app,
    record_session,
    settings_in,
)
from trm_bio.app import configure_application
from trm_bio.core.regulation import Zone
from trm_bio.ui.main_window import first_size
from trm_bio.ui.services import DeviceChoice
from trm_bio.ui.theme import ZONE_WORDS

#: The window's room on a 1366 x 768 screen, and on 1920 x 1080 at 150 % (1280 x 720 logical
#: px), less a task bar (40 px) and a title bar (30 px).
LAPTOPS = (QSize(1366, 768 - 70), QSize(1280, 720 - 70))


def _reachable(window, widget: QWidget) -> bool:
    """Whether ``widget`` can be brought into view inside ``window`` (scrolling if need be)."""
    parent = widget.parentWidget()
    while parent is not None:
        area = parent.parentWidget()
        if isinstance(area, QScrollArea) and area.viewport() is parent:
            area.ensureWidgetVisible(widget, 0, 0)
        parent = parent.parentWidget()
    QApplication.processEvents()
    if not widget.isVisible() or widget.visibleRegion().isEmpty():
        return False
    shown = widget.visibleRegion().boundingRect()
    top_left = widget.mapTo(window, shown.topLeft())
    return window.rect().contains(QRect(top_left, shown.size()))


def _controls(window) -> dict[str, QWidget]:
    tracking, skills = window.tracking, window.skills
    return {
        "log": tracking.log_button,
        **{f"zone {z}": b for z, b in tracking.zone_buttons.items()},
        "pleasant": tracking.valence_buttons["pleasant"],
        "help now": skills.helpnow,
        "next": skills.buttons[next(iter(skills.buttons))],
        "start": window.start_button,
        "end": window.stop_button,
        "status bar": window.statusBar(),
        "heart rate": window.readouts.hr,
    }


def test_the_window_fits_a_laptop_and_never_grows_by_itself(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, speed=1.0)  # the practice runs at its own pace
    window = parts.window
    # First start: sized to the screen it opens on (offscreen: 800 x 800), not a fixed size
    # (no narrower than its minimum, which fits the laptops below).
    room = window.screen().availableGeometry()
    assert window.width() <= max(room.width(), window.minimumSizeHint().width())
    assert window.frameGeometry().height() <= room.height()
    assert first_size(QRect(0, 0, 1366, 728)).size() == QSize(1350, 680)
    assert first_size(QRect(0, 0, 2560, 1400)).size() == QSize(1400, 860)
    window.controller.start_skill("grounding")
    for large in (False, True):
        window.set_large_text(large)  # the application's font and the window's, as the app
        for laptop in LAPTOPS:
            assert window.minimumSizeHint().boundedTo(laptop) == window.minimumSizeHint()
            window.resize(laptop)
            QApplication.processEvents()
            assert window.size() == laptop
            for name, widget in _controls(window).items():
                assert _reachable(window, widget), (name, laptop, large)
            # Help Now! with its twelve strategies, and a strategy's guidance, fit too.
            before = window.size()
            qtbot.keyClick(window, Qt.Key.Key_H)
            window.skills.choose_strategy("push_wall")
            QApplication.processEvents()
            assert window.size() == before
            assert window.minimumSizeHint().boundedTo(laptop) == window.minimumSizeHint()
            assert _reachable(window, window.skills.strategy_buttons["push_wall"])
            assert _reachable(window, window.tracking.zone_buttons["low"])
            window.skills._back_from_help_now()
    window.close()


def test_the_right_column_fits_a_laptop_unscrolled(qtbot, tmp_path):
    """Practice and tracking whole at 1366 x 768 and at 1920 x 1080 at 150 %: Log and the
    person's own zone rating are in view without scrolling the column."""
    window = open_app(qtbot, tmp_path, speed=1.0).window
    window.set_large_text(False)  # the application's theme, as the app applies it
    window.controller.start_skill("grounding")  # its first prompt is its longest
    window.tick()
    column = window.right_column
    for laptop in LAPTOPS:
        window.resize(laptop)
        QApplication.processEvents()
        window.tracking.notice("neutral")  # the details a sensation may take, enabled
        QApplication.processEvents()
        view = column.viewport().rect()
        assert column.verticalScrollBar().maximum() == 0, laptop
        for name, button in (
            ("log", window.tracking.log_button),
            *((f"zone {z}", b) for z, b in window.tracking.zone_buttons.items()),
        ):
            top_left = button.mapTo(column.viewport(), button.rect().topLeft())
            assert view.contains(QRect(top_left, button.size())), (name, laptop)
        window.tracking.commit()
    window.close()


def test_a_prompt_is_readable_whole_at_any_text_size(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, speed=1.0)  # the timed first step lasts while we look
    window = parts.window
    skills = window.skills
    window.resize(LAPTOPS[1])
    window.controller.start_skill("grounding")  # its first prompt is its longest
    label, area = skills.prompt, skills.prompt_area
    for large in (False, True):
        window.set_large_text(large)
        window.tick()
        assert "You can pause, skip or stop at any time." in skills.prompt.text()
        # Once laid out, the label is as wide as its area and as tall as its wrapped text:
        # nothing is cut off ...
        qtbot.waitUntil(
            lambda: label.width() == area.viewport().width()
            and label.height() >= label.heightForWidth(label.width()),
            timeout=2000,
        )
        # ... and all of it can be scrolled into view within the prompt's area,
        bar = area.verticalScrollBar()
        assert bar.maximum() + area.viewport().height() >= label.height()
        assert area.viewport().height() >= 60
        # which never lies over the step timer.
        prompt_box = QRect(area.mapTo(skills, area.rect().topLeft()), area.size())
        timer_box = QRect(skills.timer.mapTo(skills, skills.timer.rect().topLeft()),
                          skills.timer.size())
        assert not prompt_box.intersects(timer_box)
        assert skills.timer.isVisible() and skills.timer.text()
    window.close()


def test_a_help_now_strategy_shows_its_guidance_on_both_screens(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, speed=1.0)  # the practice runs at its own pace
    window = parts.window
    window.toggle_client_view()
    window.skills.select("skill", "grounding")
    window.skills.begin()
    qtbot.keyClick(window, Qt.Key.Key_H)
    help_now = next(s for s in load_skills() if s.id == "help_now")
    wall = next(s for s in help_now.strategies if s.id == "push_wall")
    trying = next(step.prompt for step in help_now.steps if step.id == "try")
    qtbot.mouseClick(window.skills.strategy_buttons["push_wall"], Qt.MouseButton.LeftButton)
    window.tick()
    for shown in (window.skills.prompt.text(), window.client.prompt.text()):
        assert wall.name in shown and wall.prompt in shown
    assert trying in window.skills.prompt.text()  # and how to try it, for the clinician
    assert window.skills.strategy_buttons["push_wall"].isChecked()
    # Another strategy replaces it; going back shows the step again, on both screens.
    window.skills.choose_strategy("water")
    window.tick()
    assert "sips" in window.client.prompt.text() and wall.prompt not in window.client.prompt.text()
    window.skills._back_from_help_now()
    window.tick()
    step = window.controller.flow_state().prompt
    assert window.skills.prompt.text() == step
    assert window.client.prompt.text() == window.client.client_prompt(step)  # its short form
    window.client.close()
    window.close()


def test_nothing_ends_a_recording_without_asking_and_its_summary_always_shows(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    window, controller = parts.window, parts.controller
    stored = record_session(parts.library, duration_s=120.0)
    window.start_session()
    recording = controller.session_id
    qtbot.waitUntil(lambda: controller.session.history.beats.size > 5, timeout=10000)

    # Opening a replay from the library asks; Cancel keeps recording.
    asked = answer_dialog(qtbot, "Cancel")
    window.open_replay(stored)
    assert asked and "recorded" in asked[0]
    assert window.mode == "recording" and controller.session_id == recording
    # Ctrl+Q (and Alt+F4, the title bar's button: all close the window) asks; keep going.
    asked = answer_dialog(qtbot, "Keep going")
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert asked and window.isVisible() and window.mode == "recording"
    # Ending for the replay saves the session and shows its summary, then replays.
    answer_dialog(qtbot, "End, save and replay")
    window.open_replay(stored)
    assert window.mode == "replay"
    summary = window.reports.summary_dialog
    assert summary is not None and summary.isVisible()
    assert summary.windowTitle().startswith(f"Session {recording}")
    assert parts.library.get_session(recording).status == "complete"
    summary.close()

    # Closing while recording, "End and save": the summary shows before the window goes.
    window.connect_device(DeviceChoice("simulated"))
    window.start_session()
    second = controller.session_id
    qtbot.waitUntil(lambda: controller.session.history.beats.size > 5, timeout=10000)
    answer_dialog(qtbot, "End and save")
    closed = close_modal_dialog(qtbot)
    assert window.close()
    assert closed == [f"Session {second}: summary"]
    assert parts.library.get_session(second).status == "complete"


def test_details_do_not_carry_over_between_sessions_or_libraries(qtbot, tmp_path):
    # An earlier launch remembered a name: it must not reach this library.
    old = settings_in(tmp_path / "settings")
    old.person = "Earlier Client"
    old.sync()
    from trm_bio.store.library import Library

    library = Library.open(tmp_path / "lib.sqlite3")
    record_session(library, duration_s=60.0)  # Sam's
    library.close()
    parts = open_app(qtbot, tmp_path)
    window = parts.window
    assert window.person.text() == ""
    assert window.person.people() == ["Sam"]  # the library's people, to choose from
    assert not settings_in(tmp_path / "settings").q.contains("person")
    window.person.setText("Alex")  # a new name is allowed
    window.notes.setText("first practice")
    window.start_session()
    first = parts.controller.session_id
    qtbot.waitUntil(lambda: parts.controller.session.history.beats.size > 5, timeout=10000)
    window.stop_session()
    window.reports.summary_dialog.close()
    # The next session starts clean; Alex is offered now.
    assert window.notes.text() == "" and window.person.text() == ""
    assert window.person.people() == ["Alex", "Sam"]
    window.start_session()
    qtbot.waitUntil(lambda: parts.controller.session.history.beats.size > 5, timeout=10000)
    second = window.stop_session()
    window.reports.summary_dialog.close()
    first_info, second_info = (parts.library.get_session(i) for i in (first, second))
    assert first_info.notes == "first practice" and first_info.person_name == "Alex"
    assert second_info.notes == "" and second_info.person_name is None
    window.close()


def test_after_a_pause_the_zone_is_held_not_found_again(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller = parts.window, parts.controller
    window.toggle_client_view()
    window.start_session()
    qtbot.waitUntil(lambda: controller.reading().zone is not Zone.UNKNOWN, timeout=30000)
    window.pause_session()
    paused_s = controller.now_s()
    qtbot.waitUntil(lambda: controller.now_s() > paused_s + 20.0, timeout=10000)
    window.pause_session()  # resume
    history = controller.session.history
    resumed_beats = history.beats.size
    seen_words: set[str] = set()
    positions: list[float] = []

    def look() -> bool:
        seen_words.add(window.readouts.zone.text())
        positions.append(window.client.band.reading.position)
        return history.beats.size > resumed_beats + 30  # about half a minute: windows refill

    qtbot.waitUntil(look, timeout=15000)
    assert ZONE_WORDS[Zone.UNKNOWN] not in seen_words
    assert all(math.isfinite(p) for p in positions)  # the client's dot stays
    window.stop_session()
    window.client.close()
    window.close()


def test_beats_arriving_again_only_after_a_real_interruption(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    window = parts.window
    seen: list[str] = []
    window.statusBar().messageChanged.connect(seen.append)
    window.connect_device(DeviceChoice("simulated"))
    history = parts.controller.session.history
    qtbot.waitUntil(lambda: history.beats.size > 10, timeout=10000)
    assert window.readouts.link.text() == "Receiving beats"
    assert "Beats are arriving again." not in seen
    window.close()


def test_hidden_numbers_show_as_shapes_and_axes_keep_a_sensible_span(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller = parts.window, parts.controller
    window.trend_actions["HR"].setChecked(True)
    history = controller.session.history
    qtbot.waitUntil(
        lambda: history.metrics.size and math.isfinite(controller.reading().rmssd_ms),
        timeout=20000,
    )
    window.hide_numbers_action.setChecked(True)
    window.tick()
    rmssd = window.readouts.values["rmssd"].text()
    assert set(rmssd) <= {"●", "○"} and len(rmssd) == 5 and "●" in rmssd
    window.hide_numbers_action.setChecked(False)
    window.redraw(controller.now_s())
    for name, least in (("RMSSD", 20.0), ("HR", 10.0)):
        y0, y1 = window.plots.trend_plots[name].vb.viewRange()[1]
        assert y1 - y0 >= least, name
    window.close()


@pytest.fixture
def display_name():
    app = QApplication.instance()
    names = app.organizationName(), app.applicationName(), app.applicationDisplayName()
    yield
    app.setOrganizationName(names[0])
    app.setApplicationName(names[1])
    app.setApplicationDisplayName(names[2])


def test_the_client_title_names_the_app_once(qtbot, tmp_path, display_name):
    app = QApplication.instance()
    configure_application(app)
    parts = open_app(qtbot, tmp_path)
    title = parts.window.client.windowTitle()
    # Qt adds the display name to a title that does not end with it.
    assert title.endswith(app.applicationDisplayName())
    assert title.count("trm-bio") == 1 and "for you" in title.lower()
    parts.window.close()


def test_a_replay_offers_no_session_controls_and_keeps_its_details(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    window = parts.window
    stored = record_session(parts.library, duration_s=60.0)
    window.open_replay(stored)
    for name in ("start_session", "pause_session", "stop_session"):
        assert not window.shortcut_actions[name].isEnabled(), name
    assert not window.person.isEnabled() and window.notes.isReadOnly()
    assert window.person.text() == "Sam"  # the recording's, shown
    window.back_to_live()
    assert window.shortcut_actions["start_session"].isEnabled()
    assert window.person.isEnabled() and not window.notes.isReadOnly()
    assert window.person.text() == "" and window.notes.text() == ""
    window.close()
