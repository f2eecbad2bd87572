"""The app as a whole: no-display sentence, CLI, shortcuts and help, settings, modes, colours."""

from __future__ import annotations

import colorsys

import numpy as np
from PySide6.QtGui import QAction, QColor, QKeySequence

from tests.ui_app import open_app, settings_in
from trm_bio.app import NO_DISPLAY, display_problem
from trm_bio.cli import main
from trm_bio.ui import theme
from trm_bio.ui.help_dialog import SHORTCUTS, HelpDialog


def test_without_a_display_the_app_says_so_in_one_sentence(monkeypatch, tmp_path, capsys):
    assert display_problem({}, "linux") == NO_DISPLAY
    assert "QT_QPA_PLATFORM=offscreen" in NO_DISPLAY
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "win32") is None
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    code = main(["app", "--library", str(tmp_path / "lib.sqlite3")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == f"trm-bio: {NO_DISPLAY}"


def test_every_shortcut_is_bound_and_listed_in_help(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    window = parts.window
    for name, (key, _) in SHORTCUTS.items():
        assert window.shortcut_actions[name].shortcut() == QKeySequence(key), name
    keys = [QKeySequence(key) for key, _ in SHORTCUTS.values()]
    assert len(set(k.toString() for k in keys)) == len(keys)  # no key does two things
    dialog = HelpDialog(window)
    qtbot.addWidget(dialog)
    listed = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert listed == {key for key, _ in SHORTCUTS.values()}
    window.close()


def test_the_window_keeps_the_qt_methods_of_its_base_classes(qtbot, tmp_path):
    # Its shortcuts and its "disconnect the strap" once shadowed QWidget.actions() and
    # QObject.disconnect(): Qt's own calls on the window found a dict and a slot.
    window = open_app(qtbot, tmp_path).window
    extra = QAction("extra", window)
    window.addAction(extra)
    assert extra in window.actions()
    titles: list[str] = []
    connection = window.windowTitleChanged.connect(titles.append)
    assert window.disconnect(connection)
    window.setWindowTitle("after")
    assert titles == []
    window.close()


def test_a_list_setting_stored_as_a_number_reads_as_the_default(tmp_path):
    # QSettings gives back what an INI file's @Variant holds: here the number 5.
    folder = tmp_path / "settings"
    folder.mkdir()
    (folder / "trm-bio.ini").write_text("[General]\ntrends=@Variant(\\0\\0\\0\\x2\\0\\0\\0\\x5)\n")
    settings = settings_in(folder)
    assert settings.q.value("trends") == 5
    assert settings.trends == ["RMSSD", "SDNN"]


def test_settings_are_remembered_between_runs(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    window = parts.window
    window.large_text_action.setChecked(True)
    window.hide_numbers_action.setChecked(True)
    window.span.setCurrentText("15 min")
    window.trend_actions["pNN50"].setChecked(True)
    assert window.plots.trends == ("RMSSD", "SDNN", "pNN50")
    assert window.readouts.hr.text() == "♥"  # numbers hidden
    window.close()
    parts.library.close()
    again = settings_in(tmp_path / "settings")
    assert again.large_text and again.hide_numbers
    assert again.span == "15 min" and again.trends == ["RMSSD", "SDNN", "pNN50"]
    parts2 = open_app(qtbot, tmp_path)
    window2 = parts2.window
    assert window2.plots.span_s == 900.0 and window2.plots.trends == ("RMSSD", "SDNN", "pNN50")
    assert window2.readouts.hr.font().pointSize() > 40  # large text
    window2.close()


def test_clinician_only_skills_appear_only_in_clinician_mode(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, clinician=False)
    window = parts.window
    assert not window.skills.select("skill", "titration")
    assert window.skills.select("skill", "tracking")
    window.clinician_action.setChecked(True)
    assert window.skills.select("skill", "titration")
    window.close()


def test_the_person_state_is_never_drawn_in_red():
    colours = [
        *theme.ZONE_COLOURS.values(),
        theme.BAND,
        theme.POSITION,
        theme.HIGH_SIDE,
        theme.LOW_SIDE,
        *theme.VALENCE_COLOURS.values(),
    ]
    for code in colours:
        c = QColor(code)
        h, _, s = colorsys.rgb_to_hls(c.redF(), c.greenF(), c.blueF())
        hue_deg = h * 360
        assert s < 0.15 or 20 <= hue_deg <= 330, code  # grey, or anything but red


def test_a_recorded_prompt_comes_back_after_help_now():
    from trm_bio.core.events import Event, EventKind
    from trm_bio.ui.markers import prompt_at

    def flow(t, kind, prompt=""):
        return Event(t, EventKind.FLOW, {"kind": kind, "prompt": prompt})

    events = [
        flow(0.0, "step_started", "Notice the chair."),
        flow(10.0, "helpnow"),
        flow(12.0, "helpnow_strategy", "Take a sip of water."),
        flow(30.0, "helpnow_returned"),
        flow(50.0, "stopped"),
    ]
    assert prompt_at(events, 5.0) == "Notice the chair."
    assert prompt_at(events, 20.0) == "Take a sip of water."
    assert prompt_at(events, 40.0) == "Notice the chair."
    assert prompt_at(events, 60.0) == ""


def test_the_time_range_moves_in_steps_and_keeps_the_newest_beat_in_view(qtbot):
    from trm_bio.ui.live_plots import LivePlots

    plots = LivePlots(("RMSSD",))
    qtbot.addWidget(plots)
    for span_s in (60.0, 300.0, 900.0, None):
        plots.set_span(span_s)
        ranges = set()
        for now_s in np.arange(0.0, 3600.0, 0.37):
            x0, x1 = plots.view_range(float(now_s))
            step = (x1 - x0) / 30 if span_s is not None else max(x1, 60.0) / 30
            assert x0 <= now_s <= x1 <= max(now_s + 2.5 * step, 60.0)
            if span_s is not None:
                assert x1 - x0 == span_s
            else:
                assert x0 == 0.0
            ranges.add((x0, x1))
        # Nearly ten thousand frames in an hour; the time axis moved once per step only.
        assert len(ranges) <= (30 * 3600.0 / span_s + 1 if span_s else 100)
