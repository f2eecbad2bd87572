"""The clinician's ECG strip and breathing trace from a Polar strap (hidden without one).

They draw what the session already has (:meth:`trm_bio.controller.SessionController.ecg_window`
and ``breathing_window``): the last 10 s of ECG, as a monitor shows it, and the last minute of
breathing from chest movement (gaps where breathing is unknown). The client's window never
shows them; the whole widget stays hidden while a strap sends no ECG or accelerometer.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from trm_bio.ui import theme

ECG_SPAN_S = 10.0
BREATHING_SPAN_S = 60.0


def _plot(layout: pg.GraphicsLayoutWidget, row: int, title: str, colour: str) -> pg.PlotDataItem:
    plot = layout.addPlot(row=row, col=0)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setLabel("left", title)
    plot.getAxis("left").setWidth(64)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    plot.hideAxis("bottom")
    curve = plot.plot(pen=pg.mkPen(colour, width=1), connect="finite")
    curve.setSkipFiniteCheck(False)
    return curve


class StrapPlots(QWidget):
    """An ECG strip over a breathing trace; :meth:`show_signals` each redraw."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground(theme.SURFACE)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.layout_widget)
        self.ecg_curve = _plot(self.layout_widget, 0, "ECG (mV)", theme.HEART)
        self.breathing_curve = _plot(self.layout_widget, 1, "breathing (mg)", theme.POSITION)
        self.setAccessibleName("ECG strip and breathing trace")
        self.setMinimumHeight(160)
        self.hide()

    def show_signals(
        self, ecg: tuple[np.ndarray, np.ndarray], breathing: tuple[np.ndarray, np.ndarray]
    ) -> None:
        """Draw the ECG (times s, mV) and breathing (times s, mg); hide when both are empty."""
        has_any = bool(ecg[0].size or breathing[0].size)
        self.setVisible(has_any)
        if not has_any:
            return
        for curve, (t, values), span in (
            (self.ecg_curve, ecg, ECG_SPAN_S),
            (self.breathing_curve, breathing, BREATHING_SPAN_S),
        ):
            curve.setData(t, values)
            if t.size:
                curve.getViewBox().setXRange(float(t[-1]) - span, float(t[-1]), padding=0)
