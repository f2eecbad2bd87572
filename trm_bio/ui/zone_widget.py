"""The zone indicator: the person's own resilient band, with where they are now as a dot.

The band's edges are the regulation model's thresholds, in units of the person's baseline
spread (so the band is personal). The dot glides toward each new reading unless motion is
reduced; a tentative reading (every Low one) is drawn lighter. Nothing here is red, and
nothing is labelled good or bad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from trm_bio.core.regulation import Zone
from trm_bio.ui import theme
from trm_bio.ui.same import same

GLIDE_MS = 50


@dataclass(frozen=True)
class ZoneReading:
    """What the indicator shows: the position in baseline spreads and the zone code.

    ``position`` is the arousal indicator on the High side and minus the low-side evidence
    below the baseline (NaN while calibrating); ``zone`` is the regulation model's zone.
    """

    position: float = math.nan
    zone: Zone = Zone.UNKNOWN
    tentative: bool = False


def display_position(arousal: float, lowness: float) -> float:
    """Where the dot sits: arousal above the baseline, minus the low-side evidence below."""
    if math.isnan(arousal):
        return -lowness if not math.isnan(lowness) else math.nan
    if arousal >= 0 or math.isnan(lowness):
        return arousal
    return -lowness


class ZoneBandWidget(QWidget):
    """Vertical (High on top) or horizontal (High on the right) band with a dot."""

    RANGE = (-4.0, 3.0)  # shown span of the position axis (baseline spreads)

    def __init__(
        self,
        *,
        horizontal: bool = False,
        low_edge: float = -2.5,
        high_edge: float = 1.25,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.horizontal = horizontal
        self.low_edge = low_edge
        self.high_edge = high_edge
        self.reading = ZoneReading()
        self.reduced_motion = False
        self.show_labels = True
        self._shown_position = math.nan
        self._glide = QTimer(self)
        # The dot glides to a new reading in about half a second, 20 frames a second: a
        # reading comes with each beat, and a faster glide repaints the band for nothing.
        self._glide.setInterval(GLIDE_MS)
        self._glide.timeout.connect(self._step_glide)
        if horizontal:
            self.setMinimumSize(240, 70)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        else:
            self.setMinimumSize(90, 200)
            self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Zone indicator")

    def set_band(self, low_edge: float, high_edge: float) -> None:
        self.low_edge, self.high_edge = low_edge, high_edge
        self.update()

    def set_reading(self, reading: ZoneReading) -> None:
        if same(reading, self.reading):
            return
        self.reading = reading
        target = reading.position
        if self.reduced_motion or math.isnan(self._shown_position) or math.isnan(target):
            self._shown_position = target
            self._glide.stop()
        else:
            self._glide.start()
        self.setToolTip(theme.ZONE_WORDS.get(reading.zone, ""))
        self.update()

    @property
    def shown_position(self) -> float:
        return self._shown_position

    def _step_glide(self) -> None:
        target = self.reading.position
        if math.isnan(target):
            self._glide.stop()
            return
        delta = target - self._shown_position
        if abs(delta) < 0.02:
            self._shown_position = target
            self._glide.stop()
        else:
            self._shown_position += 0.35 * delta
        self.update()

    # -- drawing -------------------------------------------------------------------------
    def _fraction(self, value: float) -> float:
        lo, hi = self.RANGE
        return (min(max(value, lo), hi) - lo) / (hi - lo)

    def _strip(self) -> QRectF:
        # Inset by the dot's radius so a reading at either end stays whole.
        r = QRectF(self.rect()).adjusted(20, 20, -20, -20)
        if self.horizontal:
            return QRectF(r.left(), r.center().y() - 16, r.width(), 32)
        return QRectF(r.center().x() - 18, r.top(), 36, r.height())

    def _point(self, strip: QRectF, value: float) -> QPointF:
        f = self._fraction(value)
        if self.horizontal:
            return QPointF(strip.left() + f * strip.width(), strip.center().y())
        return QPointF(strip.center().x(), strip.bottom() - f * strip.height())

    def _part(self, strip: QRectF, a: float, b: float) -> QRectF:
        pa, pb = self._point(strip, a), self._point(strip, b)
        if self.horizontal:
            return QRectF(pa.x(), strip.top(), pb.x() - pa.x(), strip.height())
        return QRectF(strip.left(), pb.y(), strip.width(), pa.y() - pb.y())

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        strip = self._strip()
        lo, hi = self.RANGE
        clip = QPainterPath()
        clip.addRoundedRect(strip, 14, 14)
        p.setClipPath(clip)
        p.fillRect(self._part(strip, lo, self.low_edge), QColor(theme.LOW_SIDE))
        p.fillRect(self._part(strip, self.low_edge, self.high_edge), QColor(theme.BAND))
        p.fillRect(self._part(strip, self.high_edge, hi), QColor(theme.HIGH_SIDE))
        p.setClipping(False)
        p.setPen(QPen(theme.colour(theme.BAND_EDGE, 120), 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(strip, 14, 14)
        if self.show_labels:
            self._labels(p, strip)
        position = self._shown_position
        if not math.isnan(position):
            centre = self._point(strip, position)
            alpha = 130 if self.reading.tentative else 255
            p.setPen(QPen(theme.colour("#FFFFFF", alpha), 3))
            p.setBrush(QBrush(theme.colour(theme.POSITION, alpha)))
            radius = min(strip.width(), strip.height()) * 0.42
            p.drawEllipse(centre, radius, radius)
        p.end()

    def _labels(self, p: QPainter, strip: QRectF) -> None:
        f = QFont(self.font())
        f.setPointSizeF(max(7.0, f.pointSizeF() * 0.85))
        p.setFont(f)
        p.setPen(QColor(theme.MUTED_TEXT))
        lo, hi = self.RANGE
        for text, a, b in (
            ("high", self.high_edge, hi),
            ("resilient", self.low_edge, self.high_edge),
            ("low", lo, self.low_edge),
        ):
            part = self._part(strip, a, b)
            if self.horizontal:
                box = QRectF(part.left(), strip.bottom() + 2, part.width(), 18)
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            else:
                p.save()
                p.translate(part.center())
                p.rotate(-90)
                p.drawText(
                    QRectF(-part.height() / 2, -10, part.height(), 20),
                    Qt.AlignmentFlag.AlignCenter,
                    text,
                )
                p.restore()
