"""The zone indicator: the person's own resilient band, with where they are now as a dot.

The band's edges are the regulation model's thresholds, in units of the person's baseline
spread (so the band is personal). What it shows is a :class:`~trm_bio.zone_display.ZoneShown`
(:func:`~trm_bio.zone_display.show_zone`), the same one the label, the client view and the
plots use. The dot glides toward each new reading unless motion is reduced; a tentative
reading (every Low one) is drawn lighter; with no zone reading the band turns grey and has no
dot. Nothing here is red, and nothing is labelled good or bad.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from trm_bio.core.regulation import Zone
from trm_bio.ui import theme
from trm_bio.ui.same import same
from trm_bio.zone_display import ZoneScale, ZoneShown

GLIDE_MS = 50


class ZoneBandWidget(QWidget):
    """Vertical (High on top) or horizontal (High on the right) band with a dot."""

    def __init__(
        self,
        *,
        horizontal: bool = False,
        low_edge: float = ZoneScale.low_edge,  # the model's thresholds unless set_band
        high_edge: float = ZoneScale.high_edge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.horizontal = horizontal
        self.scale = ZoneScale(low_edge, high_edge)
        self.reading = ZoneShown()
        self.reduced_motion = False
        self.show_labels = True
        #: Drawn all grey, band and edge (a group tile whose strap is away): no zone colour.
        self.greyed = False
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

    @property
    def low_edge(self) -> float:
        return self.scale.low_edge

    @property
    def high_edge(self) -> float:
        return self.scale.high_edge

    def set_band(self, low_edge: float, high_edge: float) -> None:
        self.scale = ZoneScale(low_edge, high_edge)
        self.update()

    def set_reading(self, reading: ZoneShown) -> None:
        if same(reading, self.reading):
            return
        self.reading = reading
        target = reading.position
        if self.reduced_motion or math.isnan(self._shown_position) or math.isnan(target):
            self._shown_position = target
            self._glide.stop()
        else:
            self._glide.start()
        self.setToolTip(f"{reading.label}. {reading.reason}" if reading.reason else reading.label)
        self.setAccessibleDescription(reading.label)
        self.update()

    def set_greyed(self, greyed: bool) -> None:
        """Draw the whole band grey (no zone colour at all) or in its zones' colours."""
        if greyed != self.greyed:
            self.greyed = greyed
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
        lo, hi = self.scale.view
        return (min(max(value, lo), hi) - lo) / (hi - lo)

    def _strip(self) -> QRectF:
        # Inset by the dot's radius so a reading at either end stays whole.
        r = QRectF(self.rect()).adjusted(20, 20, -20, -20)
        if self.horizontal:
            return QRectF(r.left(), r.center().y() - 16, r.width(), 32)
        # Vertical: set left of centre, leaving room for the labels beside it.
        return QRectF(r.center().x() - 28, r.top(), 36, r.height())

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

    def dot_centre(self) -> QPointF | None:
        """Where the dot is drawn now (widget pixels; None when there is no dot)."""
        if math.isnan(self._shown_position):
            return None
        return self._point(self._strip(), self._shown_position)

    def part_of(self, zone: Zone) -> QRectF:
        """The band's part for ``zone`` (widget pixels)."""
        lo, hi = self.scale.view
        a, b = {
            Zone.LOW: (lo, self.low_edge),
            Zone.RESILIENT: (self.low_edge, self.high_edge),
            Zone.HIGH: (self.high_edge, hi),
        }[zone]
        return self._part(self._strip(), a, b)

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        strip = self._strip()
        lo, hi = self.scale.view
        clip = QPainterPath()
        clip.addRoundedRect(strip, 14, 14)
        p.setClipPath(clip)
        unknown = self.reading.zone == Zone.UNKNOWN
        for a, b, zone in (
            (lo, self.low_edge, Zone.LOW),
            (self.low_edge, self.high_edge, Zone.RESILIENT),
            (self.high_edge, hi, Zone.HIGH),
        ):
            # No reading: the band is grey, so no segment seems to hold the person.
            fill = theme.colour(theme.ZONE_COLOURS[zone], 90 if unknown else 255)
            if self.greyed:
                fill = QColor(theme.UNKNOWN_ZONE)
            p.fillRect(self._part(strip, a, b), fill)
        p.setClipping(False)
        edge = theme.colour(theme.MUTED_TEXT, 90) if self.greyed else theme.colour(
            theme.BAND_EDGE, 120
        )
        p.setPen(QPen(edge, 1.5))
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

    def label_boxes(self) -> dict[str, QRectF]:
        """Where each part's label is written (widget pixels): below the strip when
        horizontal, beside it when vertical, so the dot never covers a label."""
        strip = self._strip()
        lo, hi = self.scale.view
        boxes = {}
        for text, a, b in (
            ("high", self.high_edge, hi),
            ("resilient", self.low_edge, self.high_edge),
            ("low", lo, self.low_edge),
        ):
            part = self._part(strip, a, b)
            if self.horizontal:
                boxes[text] = QRectF(part.left(), strip.bottom() + 2, part.width(), 18)
            else:
                boxes[text] = QRectF(strip.right() + 2, part.top(), 18, part.height())
        return boxes

    def _labels(self, p: QPainter, strip: QRectF) -> None:
        f = QFont(self.font())
        f.setPointSizeF(max(7.0, f.pointSizeF() * 0.85))
        p.setFont(f)
        p.setPen(QColor(theme.MUTED_TEXT))
        for text, box in self.label_boxes().items():
            if self.horizontal:
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            else:
                # Written upwards beside the strip, in the box's height.
                p.save()
                p.translate(box.center())
                p.rotate(-90)
                p.drawText(
                    QRectF(-box.height() / 2, -box.width() / 2, box.height(), box.width()),
                    Qt.AlignmentFlag.AlignCenter,
                    text,
                )
                p.restore()
