"""A person's progress across sessions: resting heart rate and RMSSD, time in the resilient
band, and what most often came before a move toward it.

The view draws a :class:`trm_bio.report.trends.Trends` (plain data built by the composition
root from the library); it never reads the store itself. ``report_requested`` asks the
window to save the HTML/PDF trends report (see :func:`trm_bio.report.save_trends_report`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trm_bio.report.text import display_name
from trm_bio.report.trends import (
    TREND_KEYS,
    axis_range,
    change_sentence,
    session_ticks,
)

if TYPE_CHECKING:
    from trm_bio.report.trends import Trends

# Okabe-Ito: colour-blind-safe; no alarm red for a person's state.
_BLUE, _GREEN, _GREY, _ORANGE = "#0072B2", "#009E73", "#999999", "#E69F00"

#: Height of each plot (px): enough for its axis numbers to stand apart.
PLOT_HEIGHT_PX = 170

#: (attribute of SessionPoint, title, unit, scale, colour)
PLOTS = (
    ("baseline_hr_bpm", "Resting heart rate (session start)", "bpm", 1.0, _BLUE),
    ("baseline_rmssd_ms", "Resting RMSSD (session start)", "ms", 1.0, _GREEN),
    (
        "resilient_share",
        "Time in the resilient band (share of the time with a reading; pauses left out)",
        "%",
        100.0,
        _GREEN,
    ),
)


class HistoryView(QWidget):
    """Trends of one person, one plot per measure, sessions oldest first."""

    report_requested = Signal()

    def __init__(self, trends: Trends, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trends = trends
        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        self.title = QLabel(
            f"<b>{_plain(trends.person)}</b>: {len(trends.sessions)} session(s), oldest first. "
            "The zone indicator is an indicator, not a diagnosis."
        )
        self.title.setWordWrap(True)
        header.addWidget(self.title, 1)
        self.save_button = QPushButton("Save report…")
        self.save_button.clicked.connect(self.report_requested)
        header.addWidget(self.save_button)
        layout.addLayout(header)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.trend_lines: dict[str, pg.PlotDataItem] = {}
        self.changes = QLabel(
            "<br>".join(
                _plain(change_sentence(key, trends.trends.get(key), trends.measured(key))) + "."
                for key in TREND_KEYS
            )
        )
        self.changes.setWordWrap(True)
        layout.addWidget(self.changes)
        #: Why some sessions have no resting RMSSD (hidden when every one has it).
        self.baseline_notes = QLabel("<br>".join(
            _plain(note) + "." for note in trends.baseline_notes()))
        self.baseline_notes.setWordWrap(True)
        self.baseline_notes.setVisible(bool(trends.baseline_notes()))
        layout.addWidget(self.baseline_notes)
        # The plots scroll (each keeps a readable height) so the view fits a small screen.
        plots = QWidget()
        plots_box = QVBoxLayout(plots)
        plots_box.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(plots)
        layout.addWidget(scroll, 3)
        x = np.arange(1, len(trends.sessions) + 1, dtype=np.float64)
        self.ticks = session_ticks(trends)
        for key, title, unit, scale, colour in PLOTS:
            plot = self._plot(title, unit)
            y = np.array([_num(getattr(p, key)) * scale for p in trends.sessions], dtype=np.float64)
            plot.setYRange(*axis_range(y, key), padding=0)
            self.curves[key] = plot.plot(
                x,
                y,
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolBrush=colour,
                connect="finite",
            )
            trend = trends.trends.get(key)
            if trend is not None:
                fitted = (trend.intercept + trend.slope_per_session * (x - 1)) * scale
                self.trend_lines[key] = plot.plot(
                    x, fitted, pen=pg.mkPen(_GREY, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
                )
            self.plots[key] = plot
            plots_box.addWidget(plot)
        plot = self._plot("Own distress at the start and the end (0-10)", "0-10")
        plot.addLegend(offset=(-10, 5), labelTextColor="#222222", brush="#FFFFFFCC")
        plot.setYRange(*axis_range([], "distress"), padding=0)
        for attr, colour, shape, name in (
            ("distress_before", _ORANGE, "o", "at the start"),
            ("distress_after", _BLUE, "s", "at the end"),
        ):
            y = np.array([_num(getattr(p, attr)) for p in trends.sessions], dtype=np.float64)
            given = np.isfinite(y)  # only the sessions where the person gave one
            self.curves[attr] = plot.plot(x[given], y[given], pen=None, symbol=shape,
                                          symbolBrush=colour, name=name)
        self.plots["distress"] = plot
        plots_box.addWidget(plot)
        layout.addWidget(
            QLabel("What most often came before a move toward the band (co-occurrence, not proof):")
        )
        self.helpers = QTableWidget(len(trends.helpers), 4)
        self.helpers.setHorizontalHeaderLabels(["what", "name", "sessions", "toward / measured"])
        for row, h in enumerate(trends.helpers):
            for col, text in enumerate(
                (h.kind, display_name(h.kind, h.label), str(h.n_sessions),
                 f"{h.n_toward} / {h.n_measured}")
            ):
                self.helpers.setItem(row, col, QTableWidgetItem(text))
        self.helpers.resizeColumnsToContents()
        layout.addWidget(self.helpers, 1)
        self.helpers.setMaximumHeight(140)

    def _plot(self, title: str, unit: str) -> pg.PlotWidget:
        """A plot over the sessions: one tick per session, labelled with its library number."""
        plot = pg.PlotWidget(background="w")
        plot.setTitle(title, color="#222222", size="10pt")
        plot.setLabel("left", unit)
        plot.setLabel("bottom", "session (its number in the library)")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMouseEnabled(x=False, y=False)
        plot.setMinimumHeight(PLOT_HEIGHT_PX)
        plot.getAxis("bottom").setTicks([[(float(t), label) for t, label in self.ticks]])
        plot.setXRange(0.5, max(len(self.ticks), 1) + 0.5, padding=0)
        return plot


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _plain(text: str) -> str:
    from html import escape

    return escape(text, quote=False)  # Qt's rich text shows "&#x27;" as it is
