"""Event markers coloured by kind and valence, their legend and hover label, and the event
list: live while recording, correctable after the session and in a replay (issue 18, 8)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.ui_app import open_app, record_session
from trm_bio.core.events import EventKind
from trm_bio.errors import LibraryError
from trm_bio.history import analyse_session
from trm_bio.store.library import Library
from trm_bio.ui import theme
from trm_bio.ui.marker_legend import clock
from trm_bio.ui.markers import prompt_at, replay_markers


def _sensations(library: Library, session_id: int):
    return [e for e in library.session_events(session_id) if e.kind == EventKind.SENSATION]


def test_a_corrected_event_is_stored_on_the_beat_clock_and_the_summary_follows(tmp_path):
    library = Library.open(tmp_path / "lib.sqlite3")
    session_id = record_session(library, duration_s=480.0)
    analyse_session(library, session_id)  # caches the summary, whose effects read events
    assert library.get_summary(session_id) is not None
    tight = next(e for e in _sensations(library, session_id) if "tight" in e.payload["words"])
    start_ns = library.get_session(session_id).start_ns

    moved = library.update_event(
        session_id,
        tight.seq,
        time_s=tight.time_s + 30.0,
        payload={**tight.payload, "valence": "neutral", "words": ["tense"]},
    )
    again = next(e for e in library.session_events(session_id) if e.seq == tight.seq)
    assert again == moved
    assert again.time_s == tight.time_s + 30.0
    assert again.payload["valence"] == "neutral" and again.payload["words"] == ["tense"]
    # The host time moves with the beat-clock time, and stays on the session's clock.
    assert again.host_time_ns(start_ns) == tight.host_time_ns(start_ns) + 30 * 10**9
    assert library.get_summary(session_id) is None  # computed again from the new events
    # A time outside the session, or a payload its kind cannot hold: one sentence, no change.
    with pytest.raises(LibraryError, match="within the session"):
        library.update_event(session_id, tight.seq, time_s=10_000.0)
    with pytest.raises(LibraryError, match="valence"):
        library.update_event(session_id, tight.seq, payload={"valence": 3})
    assert next(e for e in library.session_events(session_id) if e.seq == tight.seq) == again
    library.delete_event(session_id, tight.seq)
    assert tight.seq not in {e.seq for e in library.session_events(session_id)}
    with pytest.raises(LibraryError, match="no event"):
        library.delete_event(session_id, tight.seq)
    library.close()


def test_markers_are_coloured_by_kind_and_valence_with_a_legend_and_a_hover_label(
    qtbot, tmp_path
):
    library = Library.open(tmp_path / "lib.sqlite3")
    session_id = record_session(library, duration_s=480.0)
    markers = replay_markers(analyse_session(library, session_id))
    library.close()
    parts = open_app(qtbot, tmp_path, replay=session_id)
    window = parts.window
    plots = window.plots
    window.toggle_play()  # pause: the view stays where it is drawn below
    plots.set_span(None)
    plots.redraw(480.0)  # the whole session in view
    # One colour per valence: the three sensations are three different colours.
    keys = {m.tone: m.style_key for m in markers if m.kind == EventKind.SENSATION}
    assert set(keys) == {"pleasant", "neutral", "unpleasant"}
    colours = {
        key: plots._marker_curves[(0, key)].opts["pen"].color().name() for key in keys.values()
    }
    assert len(set(colours.values())) == 3
    assert colours[keys["pleasant"]] == QColor(theme.VALENCE_COLOURS["pleasant"]).name()
    assert theme.marker_colour(theme.HELP_NOW) != theme.VALENCE_COLOURS["unpleasant"]
    # The legend names every colour drawn.
    for key in {m.style_key for m in markers}:
        assert key in theme.MARKER_STYLES
    assert "pleasant sensation" in plots.legend.text()
    assert "Help Now!" in plots.legend.text()
    # Resting the pointer on the unpleasant sensation's line names it, with its time.
    unpleasant = next(m for m in markers if m.tone == "unpleasant")
    vb = plots.rr_plot.vb
    y = sum(vb.viewRange()[1]) / 2
    at = vb.mapViewToScene(QPointF(unpleasant.time_s, y))
    text = plots.hover.text_at(at)
    assert text.startswith(f"{clock(unpleasant.time_s)} · unpleasant sensation")
    assert "tight" in text
    view = plots.layout_widget
    where = QPointF(view.mapFromScene(at))
    move = QMouseEvent(
        QEvent.Type.MouseMove, where, QPointF(view.viewport().mapToGlobal(where.toPoint())),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), move)  # the pointer rests on the line
    qtbot.waitUntil(lambda: plots.hover.shown == text, timeout=2000)
    far = vb.mapViewToScene(QPointF(unpleasant.time_s + 60.0, y))
    assert "unpleasant" not in plots.hover.text_at(far)
    window.close()


def test_the_event_list_follows_the_session_and_corrects_it_afterwards(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller = parts.window, parts.controller
    dock = window.event_list
    qtbot.keyClick(window, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    assert dock.isVisible() and window.event_list.menu_action.isChecked()
    window.start_session()
    qtbot.waitUntil(lambda: controller.session.received_beats, timeout=10000)
    window.tracking.notice("unpleasant")
    window.tracking.commit()
    window.put_marker()
    panel = dock.panel
    qtbot.waitUntil(lambda: panel.table.rowCount() >= 2, timeout=3000)
    kinds = [panel.table.item(r, 1).text() for r in range(panel.table.rowCount())]
    assert "unpleasant sensation" in kinds and "marker" in kinds
    assert not panel.editable and not panel.edit_button.isVisible()  # live: read-only
    session_id = controller.session_id
    end_s = controller.now_s()
    window.stop_session()
    if window.reports.summary_dialog is not None:
        window.reports.summary_dialog.close()
    qtbot.waitUntil(lambda: panel.session_id == session_id, timeout=3000)
    assert panel.editable
    # Correct the unpleasant sensation: a pleasant one, earlier, with words.
    row = next(r for r, e in enumerate(panel.events) if e.kind == EventKind.SENSATION)
    panel.select_row(row)
    assert panel.edit_button.isEnabled()
    dialog = panel.edit_dialog(panel.selected())
    qtbot.addWidget(dialog)
    dialog.time.setText("99:00")
    dialog.accept()
    assert dialog.values is None and "lasted" in dialog.problem.text()  # outside: said
    dialog.time.setText("0:01")
    dialog.kind.setCurrentText("pleasant sensation")
    dialog.text.setText("warm, open")
    dialog.accept()
    assert dialog.values is not None
    assert panel.apply_edit(panel.events[row], *dialog.values)
    stored = parts.library.session_events(session_id)
    sensation = next(e for e in stored if e.kind == EventKind.SENSATION)
    assert sensation.time_s == 1.0 and sensation.payload["valence"] == "pleasant"
    assert sensation.payload["words"] == ["warm", "open"]
    assert any(panel.table.item(r, 1).text() == "pleasant sensation"
               for r in range(panel.table.rowCount()))
    # The marker becomes a note; the practice's own events cannot be changed.
    marker_row = next(r for r, e in enumerate(panel.events) if e.kind == EventKind.MARKER)
    assert panel.apply_edit(panel.events[marker_row], 2.0, EventKind.NOTE, "", "looked away")
    note = next(e for e in parts.library.session_events(session_id) if e.kind == EventKind.NOTE)
    assert note.payload["text"] == "looked away" and note.time_s == 2.0
    assert end_s >= 2.0
    window.close()


def test_a_correction_in_a_replay_moves_its_marker(qtbot, tmp_path):
    library = Library.open(tmp_path / "lib.sqlite3")
    session_id = record_session(library, duration_s=480.0)
    library.close()
    parts = open_app(qtbot, tmp_path, replay=session_id)
    window, panel = parts.window, parts.window.event_list.panel
    window.event_list.follow()
    assert panel.session_id == session_id and panel.editable
    row = next(
        r for r, e in enumerate(panel.events)
        if e.kind == EventKind.SENSATION and e.payload["valence"] == "neutral"
    )
    assert panel.apply_edit(panel.events[row], 100.0, EventKind.SENSATION, "pleasant", "soft")
    moved = [m for m in window.replay_markers if m.kind == EventKind.SENSATION]
    assert {(m.time_s, m.tone) for m in moved} >= {(100.0, "pleasant")}
    assert 420.0 not in {m.time_s for m in moved}
    assert window.plots.markers == window.replay_markers
    assert window.replay_bar.timeline.markers == window.replay_markers
    window.close()


def test_an_event_out_of_time_order_does_not_hide_the_prompt():
    from trm_bio.core.events import Event

    events = [
        Event(0.0, EventKind.FLOW, {"kind": "step_started", "prompt": "Notice the chair."}),
        Event(300.0, EventKind.SENSATION, {"valence": "pleasant", "words": ["warm"]}),
        Event(20.0, EventKind.FLOW, {"kind": "step_started", "prompt": "Notice your feet."}),
    ]
    assert prompt_at(events, 30.0) == "Notice your feet."
