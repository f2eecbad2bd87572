"""One truth on every screen: the zone label, the indicator's dot, the client view's bar, the
live trace and the report agree; a pause is a gap; the settling-in is invited, not ordered."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QLabel

from tests.ui_app import open_app, record_session
from trm_bio.controller import Reading
from trm_bio.core.regulation import DEFAULT_PARAMS, Zone
from trm_bio.history import analyse_session
from trm_bio.report.data import build_report
from trm_bio.store.library import Library
from trm_bio.ui.baseline_panel import PopulationNorms, norms_from
from trm_bio.ui.live_plots import LivePlots
from trm_bio.ui.zone_widget import ZoneBandWidget
from trm_bio.zone_display import ZONE_WORDS, show_zone


def dot_zone(band) -> Zone:
    """The band part (real widget pixels) that holds the drawn dot's centre."""
    centre = band.dot_centre()
    if centre is None:
        return Zone.UNKNOWN
    held = [z for z in (Zone.LOW, Zone.RESILIENT, Zone.HIGH) if band.part_of(z).contains(centre)]
    assert len(held) == 1, held
    return held[0]


def curve_points(window) -> tuple[np.ndarray, np.ndarray]:
    """The live zone trace as drawn (firm and tentative curves together, gaps dropped)."""
    xs, ys = [], []
    for curve in (window.plots.zone_curve, window.plots.zone_tentative):
        x, y = curve.getData()
        if x is not None:
            xs.append(np.asarray(x))
            ys.append(np.asarray(y))
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = np.isfinite(y)
    order = np.argsort(x[keep], kind="stable")
    return x[keep][order], y[keep][order]


def test_low_arousal_shows_low_on_the_low_side_on_every_screen_and_in_the_report(
    qtbot, tmp_path
):
    # The "slow and flat" Low picture: heart rate and RMSSD both fall, so the arousal
    # indicator stays above the band's low edge (here it even passes the High threshold)
    # while the model reads Low (tentative): a dot placed by arousal sat beside "high".
    parts = open_app(qtbot, tmp_path, scenario="low-arousal", speed=100.0)
    window, controller = parts.window, parts.controller
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)  # no glide
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    client = window.client
    qtbot.waitExposed(client)
    window.start_session()
    low_edge = window.zone_band.low_edge
    qtbot.waitUntil(lambda: controller.reading().zone == Zone.LOW, timeout=60000)
    qtbot.waitUntil(lambda: controller.reading().arousal > low_edge + 1.0, timeout=30000)
    qtbot.waitUntil(lambda: window.readouts.readings.zone.zone == Zone.LOW, timeout=3000)
    qtbot.waitUntil(lambda: client.band.reading.zone == Zone.LOW, timeout=3000)
    window.tick()
    # The label, the dot, the client's bar and the breathing shape say the same thing.
    assert window.readouts.zone.text() == "Low Zone (tentative)"
    assert window.zone_band.reading.tentative
    assert dot_zone(window.zone_band) == Zone.LOW
    assert dot_zone(client.band) == Zone.LOW
    assert client.shape.colour.name().upper() == window.zone_band.reading.colour.upper()
    # The live trace's newest points sit below the band, as the dot does.
    window.redraw(controller.now_s())
    t_live, y_live = curve_points(window)
    assert y_live[-1] < window.plots.low_edge
    session_id = window.stop_session()
    assert session_id is not None
    # The report draws the same positions at the same beats, and a Low strip where the
    # app showed Low.
    analysis = analyse_session(parts.library, session_id)
    report = build_report(analysis)
    s = report.series
    same = np.isin(s.times_s, t_live)
    assert same.sum() > 0.9 * t_live.size
    live_at = dict(zip(t_live.tolist(), y_live.tolist(), strict=False))
    report_y = s.position[same]
    app_y = np.array([live_at[t] for t in s.times_s[same].tolist()])
    assert np.allclose(report_y, app_y, atol=1e-9, equal_nan=True)
    assert s.zone_runs[-1][2] == int(Zone.LOW)  # the strip ends Low, as the screen did
    low_s = sum(b - a for a, b, code in s.zone_runs if code == int(Zone.LOW))
    assert low_s == pytest.approx(analysis.zone_time().seconds["low"]) and low_s > 0
    assert not any(code == int(Zone.HIGH) for _, _, code in s.zone_runs)
    window.close()


@pytest.mark.parametrize(
    ("zone", "arousal", "lowness", "tentative"),
    [
        (Zone.LOW, 1.4, 2.8, True),  # slow and flat: arousal high, yet Low
        (Zone.LOW, -0.5, 1.6, True),  # held Low above its enter threshold (hysteresis)
        (Zone.HIGH, 0.9, 0.0, False),  # held High below its enter threshold
        (Zone.RESILIENT, 1.6, 0.0, False),  # High not confirmed yet
        (Zone.RESILIENT, 0.2, 3.0, False),  # Low not confirmed yet
    ],
)
def test_the_dot_sits_in_the_part_of_the_band_its_label_names(
    qtbot, tmp_path, zone, arousal, lowness, tentative
):
    parts = open_app(qtbot, tmp_path, connect=False)
    window = parts.window
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    window.client.show()
    qtbot.waitExposed(window.client)
    reading = Reading(zone=zone, arousal=arousal, lowness=lowness, tentative=tentative)
    shown = window.zone_of(reading)
    window.readouts.set_readings(window.readings_of(reading))
    window.zone_band.set_reading(shown)
    window.client.band.set_reading(shown)
    words = ZONE_WORDS[zone] + (" (tentative)" if tentative else "")
    assert window.readouts.zone.text() == words
    assert dot_zone(window.zone_band) == zone
    assert dot_zone(window.client.band) == zone
    window.close()


def test_unknown_is_grey_with_its_reason_and_the_client_hears_something_calm(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window = parts.window
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitExposed(window.client)
    reason = "The pulse signal is too uneven to read a zone just now."
    reading = Reading(zone=Zone.UNKNOWN, arousal=2.0, lowness=0.0, zone_reason=reason)
    shown = window.zone_of(reading)
    window.readouts.set_readings(window.readings_of(reading))
    window.zone_band.set_reading(shown)
    window._update_client(reading)
    assert window.readouts.zone.text() == "Zone unknown"
    assert window.readouts.zone_reason.isVisibleTo(window) and window.readouts.zone_reason.text(
    ) == reason
    assert shown.colour == window.readouts.readings.zone.colour
    assert "#E6E3DF".lower() in window.readouts.zone.styleSheet().lower()  # grey, no zone
    assert dot_zone(window.zone_band) == Zone.UNKNOWN  # no dot
    client = window.client
    assert dot_zone(client.band) == Zone.UNKNOWN
    assert client.zone_words.text() and "signal" not in client.zone_words.text()
    window.close()


def test_a_pause_is_a_gap_and_the_shares_count_time_without_it(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="stress", speed=100.0)
    window, controller = parts.window, parts.controller
    window.start_session()
    history = controller.session.history
    # Past the settling-in, so zones are read before and after the pause.
    qtbot.waitUntil(
        lambda: history.metrics.size and history.metrics["zone"][-1] != int(Zone.UNKNOWN),
        timeout=30000,
    )
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    paused_s = controller.now_s()
    qtbot.waitUntil(lambda: controller.now_s() > paused_s + 60.0, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    beats_after = history.beats.size
    qtbot.waitUntil(lambda: history.beats.size > beats_after + 200, timeout=15000)
    window.redraw(controller.now_s())
    # The live trace breaks at the pause: no drawn segment spans it.
    x, y = window.plots.zone_curve.getData()
    drawn = np.isfinite(y)
    joined = drawn[:-1] & drawn[1:]
    assert not np.any(joined & (x[:-1] < paused_s + 1.0) & (x[1:] > paused_s + 59.0))
    session_id = window.stop_session()
    analysis = analyse_session(parts.library, session_id)
    time = analysis.zone_time()
    assert time.gaps_s > 59.0
    beats = analysis.beats
    duration = float(beats.times_s[-1] - beats.times_s[0])
    assert time.known_s + time.unknown_s + time.gaps_s == pytest.approx(duration)
    # By time, not beats: each zone's share is its seconds over the seconds with a reading.
    shares = analysis.zone_shares()
    for label, seconds in time.seconds.items():
        assert shares[label] == pytest.approx(seconds / time.known_s)
    # The stress scenario's High stretch beats faster, so counting beats would weigh it more.
    zone = analysis.regulation.zone
    known = zone != int(Zone.UNKNOWN)
    by_beats = float(np.mean(zone[known] == int(Zone.HIGH)))
    assert shares["high"] < by_beats - 0.005
    # The summary shows the same shares and says what was left out.
    view = window.reports.summary_dialog.view
    rows = {
        view.metrics_table.item(r, 0).text(): view.metrics_table.item(r, 1).text()
        for r in range(view.metrics_table.rowCount())
    }
    assert rows["Time in the high zone"].startswith(f"{100 * shares['high']:.0f} %")
    assert rows["Not counted: paused or no signal"].startswith("1 min")
    # The report's strip leaves the pause empty.
    report = build_report(analysis)
    (gap_start, gap_end), = report.series.gaps
    assert gap_end - gap_start > 59.0
    for a, b, _ in report.series.zone_runs:
        assert b <= gap_start or a >= gap_end
    window.close()


def test_settling_in_is_invited_with_the_time_left_then_gives_way(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm", speed=20.0)
    window, controller = parts.window, parts.controller
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    client = window.client
    qtbot.waitExposed(client)
    window.start_session()
    qtbot.waitUntil(lambda: window.settling.isVisibleTo(window), timeout=5000)
    reading = controller.reading()
    assert reading.calibrating and reading.calibration_left_s > 60.0
    text = window.settling.text()
    assert "settle in" in text and "You might notice" in text and "left" in text
    assert client.settling.isVisibleTo(client) and "settle in" in client.settling.text()
    assert "to go" in client.settling.text()
    # The zone label speaks as the invitation does (it once read "Finding your baseline").
    assert window.readouts.zone.text() == "Settling in"
    assert dot_zone(window.zone_band) == Zone.UNKNOWN
    first_left = reading.calibration_left_s
    # The time left counts down (once the windows hold enough beats to measure).
    qtbot.waitUntil(
        lambda: controller.reading().calibration_left_s < first_left - 10, timeout=30000
    )
    # Once the baseline is found the invitation gives way to the zone.
    qtbot.waitUntil(lambda: not controller.reading().calibrating, timeout=60000)
    qtbot.waitUntil(lambda: not window.settling.isVisibleTo(window), timeout=3000)
    qtbot.waitUntil(lambda: not client.settling.isVisibleTo(client), timeout=3000)
    assert controller.reading().baseline_source == "session-start"
    assert window.baseline_panel.own["hr"].text().endswith("bpm")
    window.close()


def test_a_baseline_from_earlier_sessions_needs_no_settling(qtbot, tmp_path):
    with Library.open(tmp_path / "lib.sqlite3") as library:
        for seed in range(3):  # each long enough for its settling-in to find a baseline
            record_session(library, "calm", duration_s=480.0, seed=seed)
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, controller = parts.window, parts.controller
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitExposed(window.client)
    window.person.setText("Sam")
    window.start_session()
    qtbot.waitUntil(lambda: window.settling.isVisibleTo(window), timeout=5000)
    reading = controller.reading()
    assert not reading.calibrating and reading.baseline_source == "previous-sessions"
    assert "earlier sessions" in window.settling.text()
    assert "no settling" in window.settling.text()
    assert "earlier sessions" in window.client.settling.text()
    assert "earlier sessions" in window.baseline_panel.title.text()
    window.close()


def test_population_values_stand_beside_the_own_baseline_on_the_clinician_side_only(
    qtbot, tmp_path
):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window = parts.window
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitExposed(window.client)
    panel = window.baseline_panel
    window.set_population_norms(None)
    assert not panel.population["hr"].isVisibleTo(window)  # none given: none shown
    window.set_population_norms(
        PopulationNorms(hr_bpm=(58.0, 82.0), rmssd_ms=(19.0, 75.0), group="adults 30-39")
    )
    panel.show_baseline(66.4, 41.2, "session-start")
    assert panel.population["hr"].isVisibleTo(window)
    assert panel.population["hr"].text() == "58–82 bpm"
    assert panel.population["rmssd"].text() == "19–75 ms"
    assert panel.own["hr"].text() == "66 bpm" and panel.own["rmssd"].text() == "41 ms"
    assert "Population values (adults 30-39)" in panel.norms_note.text()
    assert "orientation only" in panel.norms_note.text()
    assert "own baseline" in panel.norms_note.toolTip()
    # The model's population values (ranges of study means, with their source) fit as given.
    model_values = SimpleNamespace(
        hr_low_bpm=51.7, hr_high_bpm=76.4, rmssd_low_ms=19.0, rmssd_high_ms=75.0,
        source="Nunan et al. 2010",
    )
    window.set_population_norms(norms_from(model_values))
    assert panel.population["hr"].text() == "52–76 bpm"
    assert "Nunan" in panel.norms_note.toolTip()
    client_texts = " ".join(label.text() for label in window.client.findChildren(QLabel))
    assert "opulation" not in client_texts and "58" not in client_texts
    window.close()


def test_shift_results_of_none_read_no_measurable_change(qtbot, tmp_path):
    with Library.open(tmp_path / "lib.sqlite3") as library:
        session_id = record_session(library, "calm", duration_s=600.0)
        analysis = analyse_session(library, session_id)
    assert any(item.n_none for item in analysis.effects.items)
    from trm_bio.ui.summary_view import SummaryView

    view = SummaryView(analysis)
    qtbot.addWidget(view)
    moved = [view.effects_table.item(r, 3).text() for r in range(view.effects_table.rowCount())]
    assert any("no measurable change" in text for text in moved)
    assert not any("no change" in text.replace("no measurable change", "") for text in moved)
    assert math.isfinite(analysis.zone_time().known_s)
    # A clean recording's artifact rate of 0 is shown as 0, not as missing.
    rows = {
        view.metrics_table.item(r, 0).text(): view.metrics_table.item(r, 1).text()
        for r in range(view.metrics_table.rowCount())
    }
    rate = analysis.summary.as_dict()["quality"]["artifact_rate"]
    assert rows["Artifacts"] == f"{100 * rate:.1f} %"


# --- small things of the screens ----------------------------------------------------------


def test_the_band_takes_its_edges_from_the_model_and_no_dot_covers_a_label(qtbot):
    for horizontal in (False, True):
        band = ZoneBandWidget(horizontal=horizontal)
        qtbot.addWidget(band)
        # Before any set_band, the edges are the model's thresholds (once 1.25 by hand).
        assert band.high_edge == DEFAULT_PARAMS.high_enter
        assert band.low_edge == -DEFAULT_PARAMS.low_enter
        band.reduced_motion = True
        band.resize(*((400, 80) if horizontal else (90, 320)))
        for zone, arousal, lowness in (
            (Zone.LOW, -4.0, 4.0), (Zone.LOW, -2.8, 2.8), (Zone.RESILIENT, 1.5, 0.0),
            (Zone.RESILIENT, 0.0, 2.0), (Zone.HIGH, 2.5, 0.0), (Zone.HIGH, 6.0, 0.0),
        ):
            band.set_reading(show_zone(zone, arousal=arousal, lowness=lowness))
            centre = band.dot_centre()
            assert centre is not None and band.part_of(zone).contains(centre)
            radius = min(band._strip().width(), band._strip().height()) * 0.42 + 1.5
            dot = QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)
            for text, box in band.label_boxes().items():
                assert not dot.intersects(box), (horizontal, zone, text)
                assert band.rect().contains(box.toRect()), (horizontal, text)


def test_the_zone_plots_tick_words_leave_room_for_its_axis_title(qtbot):
    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.resize(700, 500)
    plots.show()
    qtbot.waitExposed(plots)
    axis = plots.zone_plot.getAxis("left")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert {text for _, _, text in texts} == {"low", "baseline", "high"}
    title = axis.label.mapRectToParent(axis.label.boundingRect())
    assert title.width() > 0
    for rect, _, text in texts:
        assert not title.intersects(rect), text
    # Every plot's time axis stays aligned with the zone plot's.
    assert {p.getAxis("left").width() for p in plots.all_plots} == {axis.width()}
