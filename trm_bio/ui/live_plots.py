"""The plots of the live (and replay) screen: RR tachogram, trends, zone over time, markers.

They draw what the session already computed (:class:`trm_bio.session.SessionHistory`):
nothing here computes a metric. Drawing choices:

- one redraw per timer tick, never per beat; only the visible span is handed to pyqtgraph,
  with ``setClipToView`` and, for long spans, peak downsampling to about one min-max pair
  per pixel column; unchanged data is not handed over again;
- the time range moves in steps of about a thirtieth of the view, not at every frame, so
  the time axis is laid out again only once per step (see :meth:`LivePlots.view_range`);
- gaps are gaps: a rejected beat and a segment boundary become NaN, drawn with
  ``connect="finite"``;
- events are vertical markers, one curve per kind (``connect="pairs"``), kept out of the
  autorange; detected shifts are dashed markers;
- the zone row shows the person's own resilient band and where they were, at the positions
  every screen and the report use (:func:`trm_bio.zone_display.zone_positions`): a Low
  reading below the band, never above it; tentative readings are lighter; no zone reading
  and a pause or lost link are gaps, never painted as a zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from trm_bio.core.engine import RHYTHM_INDEPENDENT
from trm_bio.core.events import EventKind
from trm_bio.ui import theme
from trm_bio.ui.marker_legend import MarkerHover, MarkerLegend
from trm_bio.ui.strap_plots import StrapPlots
from trm_bio.zone_display import ZoneScale, with_gaps, zone_positions

pg.setConfigOptions(antialias=False, background=theme.SURFACE, foreground=theme.MUTED_TEXT)

_MARKER_Y = 1e6
#: Peak downsampling pays off for long views (above about half an hour of beats, measured
#: with bench/bench_ui.py); below this many visible points it costs more than it saves.
#: Once on, it keeps about PEAK_POINTS_PER_PIXEL points per pixel column.
DOWNSAMPLE_ABOVE = 2000
PEAK_POINTS_PER_PIXEL = 1.0
LEFT_AXIS_WIDTH = 64  # px: at least this, the same on every plot (see LivePlots.set_band)
VIEW_STEPS = 30  # the time range moves in steps of about 1/30 of the view (see view_range)

METRIC_UNITS = {
    "RMSSD": "ms",
    "SDNN": "ms",
    "MeanNN": "ms",
    "pNN50": "%",
    "HR": "bpm",
    "HR_20s": "bpm",
    "LF": "ms²",
    "HF": "ms²",
    "VLF": "ms²",
    "LFHF": "",
    "RespirationRate": "breaths/min",
    "Coherence": "",
    "HFpeak": "Hz",
}

#: The least span a trend's axis shows, in the metric's unit: the measurement's own noise
#: (a few ms of RMSSD, a bpm or two) must not fill the plot and look like a change.
MIN_SPANS = {
    "RMSSD": 20.0,
    "SDNN": 20.0,
    "MeanNN": 50.0,
    "pNN50": 10.0,
    "HR": 10.0,
    "HR_20s": 10.0,
}


@dataclass(frozen=True)
class Marker:
    """One thing to mark on the plots at ``time_s`` (s on the beat clock)."""

    time_s: float
    kind: str  # an EventKind, theme.HELP_NOW or theme.SHIFT
    label: str = ""
    tone: str = ""  # a sensation's valence, "skill" for a skill's start (see theme.marker_key)

    @property
    def style_key(self) -> str:
        """Its key of :data:`theme.MARKER_STYLES` (its colour and legend words)."""
        return theme.marker_key(self.kind, self.tone)


def visible_slice(times_s: np.ndarray, start_s: float) -> slice:
    """The index range from the last point before ``start_s`` to the end."""
    if not math.isfinite(start_s):
        return slice(0, times_s.size)
    first = max(int(np.searchsorted(times_s, start_s, side="left")) - 1, 0)
    return slice(first, times_s.size)


def _new_plot(layout: pg.GraphicsLayoutWidget, row: int, title: str) -> pg.PlotItem:
    plot = layout.addPlot(row=row, col=0)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setClipToView(True)
    plot.setLabel("left", title)
    for side in ("left", "bottom", "right", "top"):
        # No SI prefixes: they would re-typeset the axis label at every range change.
        plot.getAxis(side).enableAutoSIPrefix(False)
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    return plot


class LivePlots(QWidget):
    """Stacked, x-linked plots: RR tachogram, chosen trends, zone over time."""

    def __init__(self, trends: Sequence[str] = ("RMSSD", "SDNN"), parent: QWidget | None = None):
        super().__init__(parent)
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground(theme.SURFACE)
        self.layout_widget.ci.setSpacing(4)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.layout_widget, 3)
        self.legend = MarkerLegend()
        box.addWidget(self.legend)
        # A Polar strap's ECG strip and breathing trace, under the heart plots (hidden
        # without one; the client's window has none).
        self.strap = StrapPlots()
        box.addWidget(self.strap, 2)
        self.history: Any = None
        self.span_s: float | None = 300.0
        self.markers: list[Marker] = []
        self.scale = ZoneScale()
        self._markers_dirty = True
        self._numbers_visible = True
        self._build(tuple(trends))
        self.setAccessibleName("Heart plots")
        self.hover = MarkerHover(self)

    # -- structure ---------------------------------------------------------------------
    def _build(self, trends: tuple[str, ...]) -> None:
        self.layout_widget.clear()
        self.trends = trends
        self.rr_plot = _new_plot(self.layout_widget, 0, "RR (ms)")
        self.rr_curve = self.rr_plot.plot(
            pen=pg.mkPen(theme.RR, width=1), connect="finite", name="RR"
        )
        self.rr_curve.setSkipFiniteCheck(False)
        self.rejected = self.rr_plot.plot(
            pen=None,
            symbol="o",
            symbolSize=5,
            symbolPen=None,
            symbolBrush=pg.mkBrush(theme.REJECTED),
        )
        self.trend_plots: dict[str, pg.PlotItem] = {}
        self.trend_curves: dict[str, pg.PlotDataItem] = {}
        for row, name in enumerate(trends, start=1):
            unit = METRIC_UNITS.get(name, "")
            plot = _new_plot(self.layout_widget, row, f"{name} ({unit})" if unit else name)
            plot.setXLink(self.rr_plot)
            curve = plot.plot(
                pen=pg.mkPen(theme.METRIC_COLOURS.get(name, theme.HEART), width=1),
                connect="finite",
            )
            self.trend_plots[name], self.trend_curves[name] = plot, curve
        self.zone_plot = _new_plot(self.layout_widget, len(trends) + 1, "zone")
        self.zone_plot.setXLink(self.rr_plot)
        self.zone_plot.enableAutoRange(axis="y", enable=False)
        # A plain rectangle (in data units, spanning all time) paints far faster than a
        # LinearRegionItem.
        self.band = QGraphicsRectItem()
        self.band.setBrush(pg.mkBrush(theme.colour(theme.BAND, 150)))
        self.band.setPen(pg.mkPen(None))
        self.zone_plot.vb.addItem(self.band, ignoreBounds=True)
        self.zone_curve = self.zone_plot.plot(
            pen=pg.mkPen(theme.POSITION, width=1), connect="finite"
        )
        self.zone_tentative = self.zone_plot.plot(
            pen=pg.mkPen(theme.colour(theme.POSITION, 90), width=1), connect="finite"
        )
        self.zone_plot.setLabel("bottom", "time (min:s)")
        for plot in self.all_plots:
            if plot is self.zone_plot:
                plot.getAxis("bottom").tickStrings = _minute_ticks
            else:
                # Only the lowest plot shows time; hidden axes cost nothing to redraw.
                plot.hideAxis("bottom")
            if plot is not self.zone_plot:
                plot.enableAutoRange(axis="y", enable=False)
        self._marker_curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._downsampling = False
        self._drawn: dict[str, Any] = {}  # what each curve group was last given
        self._x_range: tuple[float, float] | None = None
        self._markers_dirty = True
        self.set_numbers_visible(self._numbers_visible)
        self.set_band(self.scale.low_edge, self.scale.high_edge)

    @property
    def all_plots(self) -> list[pg.PlotItem]:
        return [self.rr_plot, *self.trend_plots.values(), self.zone_plot]

    def set_trends(self, trends: Sequence[str]) -> None:
        if tuple(trends) != self.trends:
            self._build(tuple(trends))

    @property
    def low_edge(self) -> float:
        return self.scale.low_edge

    @property
    def high_edge(self) -> float:
        return self.scale.high_edge

    def set_band(self, low_edge: float, high_edge: float) -> None:
        self.scale = ZoneScale(low_edge, high_edge)
        self.band.setRect(QRectF(-1e7, low_edge, 2e7, high_edge - low_edge))
        self.zone_plot.setYRange(*self.scale.view, padding=0.02)
        axis = self.zone_plot.getAxis("left")
        ticks = [(low_edge, "low"), (0.0, "baseline"), (high_edge, "high")]
        axis.setTicks([ticks])
        # Room for the longest tick text beside the axis title (else "baseline" ran into
        # "zone"), on every plot so their time axes stay aligned.
        metrics = QFontMetricsF(axis.style["tickFont"] or axis.font())
        text_w = max(metrics.horizontalAdvance(text) for _, text in ticks)
        width = max(LEFT_AXIS_WIDTH, math.ceil(text_w + 2 * metrics.height() + 12))
        for plot in self.all_plots:
            plot.getAxis("left").setWidth(width)

    def set_span(self, span_s: float | None) -> None:
        self.span_s = span_s

    def set_numbers_visible(self, visible: bool) -> None:
        """Hide the value axes (the shapes stay) when numbers are hidden."""
        self._numbers_visible = visible
        for plot in [self.rr_plot, *self.trend_plots.values()]:
            plot.getAxis("left").setStyle(showValues=visible)

    def set_history(self, history: Any) -> None:
        """The session history to draw from (arrays growing as the session goes)."""
        if history is not self.history:
            self._drawn = {}
        self.history = history

    def set_markers(self, markers: Iterable[Marker]) -> None:
        self.markers = list(markers)
        self._markers_dirty = True

    def add_markers(self, markers: Iterable[Marker]) -> None:
        new = list(markers)
        if new:
            self.markers.extend(new)
            self._markers_dirty = True

    # -- drawing -------------------------------------------------------------------------
    def view_range(self, now_s: float) -> tuple[float, float]:
        """The time range shown at ``now_s`` (s): it moves in steps, not at every frame.

        The right edge is ``now_s`` rounded up to a step of about a thirtieth of the view,
        so the newest beat lands within one step of the edge and the time axis (whose
        ticks are the costliest part of a frame) is laid out again only once per step.
        Fewer moving parts is also calmer to look at.
        """
        if self.span_s is None:
            step = _nice_step(max(now_s, 60.0) / VIEW_STEPS)
            return 0.0, max(math.ceil(now_s / step) * step, 60.0)
        step = _nice_step(self.span_s / VIEW_STEPS)
        x1 = math.ceil(now_s / step) * step
        return x1 - self.span_s, x1

    def redraw(self, now_s: float) -> None:
        """Hand the visible part of the history to the plots (one call per frame)."""
        x0, x1 = self.view_range(now_s)
        margin = 0.02 * (x1 - x0)
        h = self.history
        beats_key = (
            (id(h), h.beats.size, self._first_visible(h, "beats", x0 - margin)) if h else None
        )
        metrics_key = (
            (id(h), h.metrics.size, self._first_visible(h, "metrics", x0 - margin)) if h else None
        )
        # Unchanged data is not handed over again (the time axis may still slide).
        if beats_key == self._drawn.get("beats") and beats_key is not None:
            pass
        elif h is not None and h.beats.size:
            beats = h.beats
            t = beats["time_s"]
            view = visible_slice(t, x0 - margin)
            self._downsample(view.stop - view.start > DOWNSAMPLE_ABOVE)
            t, rr, seg, label = (
                t[view],
                beats["rr_ms"][view],
                beats["segment"][view],
                beats["label"][view],
            )
            bad = label != 0
            shown = np.where(bad, np.nan, rr)
            self.rr_curve.setData(*with_gaps(t, shown, seg), connect="finite")
            self._fit_y(self.rr_plot, shown, step=50.0)
            self.rejected.setData(t[bad], rr[bad])
        else:
            self.rr_curve.setData([], [])
            self.rejected.setData([], [])
        self._drawn["beats"] = beats_key
        if metrics_key == self._drawn.get("metrics") and metrics_key is not None:
            pass
        elif h is not None and h.metrics.size:
            metrics = h.metrics
            t = metrics["time_s"]
            view = visible_slice(t, x0 - margin)
            t = t[view]
            # Variability is not drawn where the regulation model withholds it (the rhythm
            # or the timing spoils it), as the readouts do not show it there.
            withheld = metrics["hrv_shown"][view] == 0
            for name, curve in self.trend_curves.items():
                values = metrics[name][view]
                if name.split("_")[0] not in RHYTHM_INDEPENDENT:
                    values = np.where(withheld, np.nan, values)
                curve.setData(t, values, connect="finite")
                self._fit_y(self.trend_plots[name], values, min_span=MIN_SPANS.get(name, 0.0))
            # Where each reading sits, as the zone indicator and the report place it; far
            # readings rest at the edge of the view rather than leaving it.
            position = zone_positions(
                metrics["arousal"][view], metrics["lowness"][view], metrics["zone"][view],
                self.scale,
            )
            tentative = metrics["tentative"][view] > 0
            segment = self._segments_of(h, t)
            firm_t, firm = with_gaps(t, np.where(tentative, np.nan, position), segment)
            self.zone_curve.setData(firm_t, firm, connect="finite")
            # Tentative stretches are drawn lighter, joined to their firm neighbours.
            light = tentative | np.roll(tentative, 1) | np.roll(tentative, -1)
            light_t, lighter = with_gaps(t, np.where(light, position, np.nan), segment)
            self.zone_tentative.setData(light_t, lighter, connect="finite")
        else:
            for curve in (*self.trend_curves.values(), self.zone_curve, self.zone_tentative):
                curve.setData([], [])
        self._drawn["metrics"] = metrics_key
        if self._markers_dirty:
            self._draw_markers()
        if (x0, x1) != self._x_range:
            self._x_range = (x0, x1)
            self.rr_plot.setXRange(x0, x1, padding=0)

    @staticmethod
    def _segments_of(h: Any, times_s: np.ndarray) -> np.ndarray | None:
        """The segment of each settled beat (its beat's), so a pause breaks the zone line."""
        beats = h.beats
        if not beats.size or not times_s.size:
            return None
        index = np.searchsorted(beats["time_s"], times_s, side="left")
        return np.asarray(beats["segment"][np.minimum(index, beats.size - 1)])

    @staticmethod
    def _first_visible(h: Any, group: str, start_s: float) -> int:
        columns = getattr(h, group)
        if not columns.size:
            return 0
        return visible_slice(columns["time_s"], start_s).start

    def _fit_y(
        self,
        plot: pg.PlotItem,
        values: np.ndarray,
        step: float | None = None,
        min_span: float = 0.0,
    ) -> None:
        """Keep the y range while the data fits it, so the axis is not redrawn every frame.

        The range changes only when the data leaves it or fills less than half of it, and
        then to round steps (``step``, or a tenth of the data's extent in round numbers).
        It spans at least ``min_span`` (the values' unit), centred on the data.
        """
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return
        lo, hi = float(finite.min()), float(finite.max())
        if hi - lo < min_span:
            middle = (lo + hi) / 2
            lo, hi = middle - min_span / 2, middle + min_span / 2
            if float(finite.min()) >= 0 > lo:  # a measure that is never negative
                lo, hi = 0.0, min_span
        (y0, y1) = plot.vb.viewRange()[1]
        if y0 <= lo and hi <= y1 and (hi - lo) >= 0.5 * (y1 - y0):
            return
        if step is None:
            extent = max(hi - lo, abs(hi) * 0.05, 1e-9)
            step = 10.0 ** math.floor(math.log10(extent / 2))
        y0, y1 = math.floor(lo / step) * step, math.ceil(hi / step) * step
        if y1 - y0 < step:
            y1 = y0 + step
        plot.setYRange(y0, y1, padding=0.05)

    def _downsample(self, on: bool) -> None:
        if on != self._downsampling:
            self._downsampling = on
            for plot in self.all_plots:
                for curve in plot.curves:
                    # About one min-max pair per pixel column (pyqtgraph's default keeps
                    # five points per pixel, which for an hour of beats is no reduction).
                    curve.opts["autoDownsampleFactor"] = PEAK_POINTS_PER_PIXEL
                plot.setDownsampling(auto=on, mode="peak")

    def _draw_markers(self) -> None:
        self._markers_dirty = False
        by_key: dict[str, list[float]] = {}
        for m in self.markers:
            by_key.setdefault(m.style_key, []).append(m.time_s)
        for index, plot in enumerate(self.all_plots):
            for key in set(by_key) | {k for (i, k) in self._marker_curves if i == index}:
                times = np.asarray(by_key.get(key, []), dtype=float)
                curve = self._marker_curves.get((index, key))
                if curve is None:
                    style = Qt.PenStyle.DashLine if key == theme.SHIFT else Qt.PenStyle.SolidLine
                    faint = key in (EventKind.FLOW, EventKind.CONNECTION)
                    colour = theme.MARKER_STYLES.get(key, (theme.MUTED_TEXT, ""))[0]
                    pen = pg.mkPen(
                        theme.colour(colour, 110 if faint else 220),
                        width=1 if faint else 2,
                        style=style,
                    )
                    curve = pg.PlotDataItem(pen=pen)
                    plot.vb.addItem(curve, ignoreBounds=True)
                    self._marker_curves[(index, key)] = curve
                x = np.repeat(times, 2)
                y = np.tile([-_MARKER_Y, _MARKER_Y], times.size)
                curve.setData(x, y, connect="pairs")

    def marker_near(self, time_s: float, within_s: float) -> list[Marker]:
        """The markers within ``within_s`` of ``time_s`` (s), nearest first."""
        near = [m for m in self.markers if abs(m.time_s - time_s) <= within_s]
        return sorted(near, key=lambda m: abs(m.time_s - time_s))


def _nice_step(rough_s: float) -> float:
    """The smallest of 1, 2, 5 (times a power of ten) seconds at or above ``rough_s``."""
    exponent = 10.0 ** math.floor(math.log10(max(rough_s, 1e-3)))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * exponent >= rough_s:
            return factor * exponent
    return 10.0 * exponent


def _minute_ticks(values: Sequence[float], scale: float, spacing: float) -> list[str]:
    out = []
    for v in values:
        sign = "-" if v < 0 else ""
        v = abs(v)
        out.append(f"{sign}{int(v // 60)}:{int(v % 60):02d}")
    return out
