"""The replay bar: a timeline with events and shifts, play/pause, speed, seek and jumps.

Dragging on the timeline previews the position and seeks on release; the bar emits
signals and the main window forwards them to the replay source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from trm_bio.core.events import EventKind
from trm_bio.ui import theme
from trm_bio.ui.live_plots import Marker

SPEEDS = (
    ("1×", 1.0),
    ("2×", 2.0),
    ("4×", 4.0),
    ("8×", 8.0),
    ("16×", 16.0),
    ("as fast as possible", math.inf),
)


def clock(time_s: float) -> str:
    time_s = max(time_s, 0.0)
    return f"{int(time_s // 60)}:{int(time_s % 60):02d}"


class TimelineWidget(QWidget):
    """The whole recording as a strip: events as ticks, shifts as taller ticks, the position."""

    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(44)
        self.end_s = 1.0
        self.position_s = 0.0
        self.markers: list[Marker] = []
        self.dragging = False
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName("Replay timeline")

    def set_markers(self, markers: Sequence[Marker], end_s: float) -> None:
        self.markers = list(markers)
        self.end_s = max(end_s, 1e-3)
        self.update()

    def set_position(self, position_s: float) -> None:
        if not self.dragging and position_s != self.position_s:
            self.position_s = position_s
            self.update()

    def _x(self, time_s: float) -> float:
        return 8 + (self.width() - 16) * min(max(time_s / self.end_s, 0.0), 1.0)

    def time_at(self, x: float) -> float:
        return min(max((x - 8) / max(self.width() - 16, 1), 0.0), 1.0) * self.end_s

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.dragging = True
        self.position_s = self.time_at(event.position().x())
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.dragging:
            self.position_s = self.time_at(event.position().x())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.dragging:
            self.dragging = False
            self.position_s = self.time_at(event.position().x())
            self.seek_requested.emit(self.position_s)
            self.update()

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(8, self.height() / 2 - 5, self.width() - 16, 10)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#EDE6DC"))
        p.drawRoundedRect(track, 5, 5)
        done = QRectF(track.left(), track.top(), self._x(self.position_s) - track.left(), 10)
        p.setBrush(QColor(theme.BAND))
        p.drawRoundedRect(done, 5, 5)
        for m in self.markers:
            x = self._x(m.time_s)
            tall = m.kind in (theme.SHIFT, EventKind.SENSATION, theme.HELP_NOW)
            h = 16 if tall else 9
            pen = QPen(theme.colour(theme.marker_colour(m.kind, m.tone), 200), 2)
            if m.kind == theme.SHIFT:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(x, track.center().y() - h), QPointF(x, track.center().y() + h))
        x = self._x(self.position_s)
        p.setPen(QPen(QColor("#FFFFFF"), 2))
        p.setBrush(QColor(theme.POSITION))
        p.drawEllipse(QPointF(x, track.center().y()), 8, 8)
        p.end()


class ReplayBar(QWidget):
    """Controls under the plots while a recording plays."""

    play_toggled = Signal()
    speed_chosen = Signal(float)
    seek_requested = Signal(float)
    jump_requested = Signal(int, str)  # +1 / -1, "event" or "shift"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.play = QPushButton("Pause")
        self.play.setToolTip("Play or pause (Space)")
        self.play.clicked.connect(self.play_toggled)
        self.previous_event = QPushButton("◀ event")
        self.previous_event.setToolTip("Back to the previous event ([)")
        self.previous_event.clicked.connect(lambda: self.jump_requested.emit(-1, "event"))
        self.next_event = QPushButton("event ▶")
        self.next_event.setToolTip("On to the next event (])")
        self.next_event.clicked.connect(lambda: self.jump_requested.emit(1, "event"))
        self.next_shift = QPushButton("shift ▶")
        self.next_shift.setToolTip("On to the next detected shift (Shift+])")
        self.next_shift.clicked.connect(lambda: self.jump_requested.emit(1, "shift"))
        self.speed = QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setToolTip("Replay speed (+ / -)")
        self.speed.currentIndexChanged.connect(
            lambda i: self.speed_chosen.emit(float(self.speed.itemData(i)))
        )
        self.timeline = TimelineWidget()
        self.timeline.seek_requested.connect(self.seek_requested)
        self.position = QLabel("0:00 / 0:00")
        self.position.setObjectName("muted")
        for w in (self.play, self.previous_event, self.next_event, self.next_shift, self.speed):
            row.addWidget(w)
        row.addWidget(self.timeline, 1)
        row.addWidget(self.position)

    def set_speed(self, speed: float) -> None:
        index = next((i for i, (_, v) in enumerate(SPEEDS) if v == speed), 0)
        self.speed.blockSignals(True)
        self.speed.setCurrentIndex(index)
        self.speed.blockSignals(False)

    def step_speed(self, direction: int) -> float:
        index = min(max(self.speed.currentIndex() + direction, 0), len(SPEEDS) - 1)
        self.speed.setCurrentIndex(index)
        return float(self.speed.itemData(index))

    def show_position(
        self, position_s: float, end_s: float, paused: bool, *, finished: bool = False
    ) -> None:
        """Where the replay is; at the end the play button offers to start again."""
        self.timeline.set_position(position_s)
        ended = " · the end" if finished else ""
        self.position.setText(f"{clock(position_s)} / {clock(end_s)}{ended}")
        self.play.setText("Play again" if finished else ("Play" if paused else "Pause"))
