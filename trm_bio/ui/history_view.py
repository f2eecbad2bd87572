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
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from trm_bio.report.trends import Trends

# Okabe-Ito: colour-blind-safe; no alarm red for a person's state.
_BLUE, _GREEN, _GREY = "#0072B2", "#009E73", "#999999"

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
        x = np.arange(1, len(trends.sessions) + 1, dtype=np.float64)
        for key, title, unit, scale, colour in PLOTS:
            plot = pg.PlotWidget(background="w")
            plot.setTitle(title, color="#222222", size="10pt")
            plot.setLabel("left", unit)
            plot.setLabel("bottom", "session")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMouseEnabled(x=False, y=False)
            y = np.array([_num(getattr(p, key)) * scale for p in trends.sessions], dtype=np.float64)
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
            layout.addWidget(plot, 1)
        layout.addWidget(
            QLabel("What most often came before a move toward the band (co-occurrence, not proof):")
        )
        self.helpers = QTableWidget(len(trends.helpers), 4)
        self.helpers.setHorizontalHeaderLabels(["what", "name", "sessions", "toward / measured"])
        for row, h in enumerate(trends.helpers):
            for col, text in enumerate(
                (h.kind, h.label, str(h.n_sessions), f"{h.n_toward} / {h.n_measured}")
            ):
                self.helpers.setItem(row, col, QTableWidgetItem(text))
        self.helpers.resizeColumnsToContents()
        layout.addWidget(self.helpers, 1)


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _plain(text: str) -> str:
    from html import escape

    return escape(text)
