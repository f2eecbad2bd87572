"""What the event markers mean: a legend under the plots and a label on hover.

The plots draw each logged event as a vertical line coloured by its kind and, for a
sensation, its valence (:data:`trm_bio.ui.theme.MARKER_STYLES`). The legend names the
colours; resting the pointer on a line shows its time, kind and words.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF
from PySide6.QtWidgets import QLabel, QToolTip, QWidget

from trm_bio.ui import theme

if TYPE_CHECKING:
    from trm_bio.ui.live_plots import LivePlots, Marker

HOVER_PX = 5  # a marker within this many pixels of the pointer is the one meant
MAX_LISTED = 3  # markers named at once when several lie under the pointer


def clock(time_s: float) -> str:
    """``m:ss`` of a beat-clock time (s), as the plots' time axis writes it."""
    total = int(max(time_s, 0.0))
    return f"{total // 60}:{total % 60:02d}"


def kind_words(marker: Marker) -> str:
    """The legend's words for a marker's kind ("pleasant sensation", "Help Now!"...)."""
    return theme.MARKER_STYLES.get(marker.style_key, ("", str(marker.kind)))[1]


def describe(marker: Marker) -> str:
    """One line: time, kind and words (``12:04 · pleasant sensation: warm``)."""
    words = kind_words(marker)
    label = marker.label.strip()
    if label and label != words:
        return f"{clock(marker.time_s)} · {words}: {label}"
    return f"{clock(marker.time_s)} · {words}"


class MarkerLegend(QLabel):
    """The marker colours with their words, under the plots (wrapped: it never widens them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setObjectName("muted")
        self.setContentsMargins(64, 0, 4, 0)  # under the plots, past their value axis
        self.entries: dict[str, str] = {}
        parts = []
        for key in theme.LEGEND_KEYS:
            colour, words = theme.MARKER_STYLES[key]
            self.entries[key] = words
            bar = "┆" if key == theme.SHIFT else "┃"
            parts.append(
                f'<span style="white-space: nowrap"><b style="color: {colour}">{bar}</b>'
                f"&nbsp;{escape(words)}</span>"
            )
        self.setText(" &nbsp; ".join(parts))
        self.setAccessibleName("What the marker colours mean")
        self.setToolTip("Rest the pointer on a marker to see its time and words.")


class MarkerHover:
    """Shows a marker's time, kind and words when the pointer rests on its line."""

    def __init__(self, plots: LivePlots) -> None:
        self.plots = plots
        self.shown = ""  # the text showing now ("" when none)
        plots.layout_widget.scene().sigMouseMoved.connect(self._moved)

    def text_at(self, scene_pos: QPointF) -> str:
        """The label of the markers under ``scene_pos`` (scene coordinates); "" when none."""
        for plot in self.plots.all_plots:
            box = plot.vb.sceneBoundingRect()
            if not box.contains(scene_pos) or box.width() <= 0:
                continue
            (x0, x1), _ = plot.vb.viewRange()
            time_s = plot.vb.mapSceneToView(scene_pos).x()
            near = self.plots.marker_near(time_s, HOVER_PX * (x1 - x0) / box.width())
            lines = [describe(m) for m in near[:MAX_LISTED]]
            if len(near) > MAX_LISTED:
                lines.append(f"and {len(near) - MAX_LISTED} more")
            return "\n".join(lines)
        return ""

    def _moved(self, scene_pos: QPointF) -> None:
        text = self.text_at(scene_pos)
        if text == self.shown:
            return
        self.shown = text
        if not text:
            QToolTip.hideText()
            return
        view = self.plots.layout_widget
        where = view.mapToGlobal(view.mapFromScene(scene_pos)) + QPoint(12, 12)
        QToolTip.showText(where, text, view)
