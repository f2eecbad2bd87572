"""The client view: a calm second window for the screen the client sees.

Only calm visuals: the resilient band with where they are, a softly breathing shape, and
the current prompt in one or two sentences; during the settling-in at the start of a
session, an invitation to settle with the time left. No numbers unless the clinician turns
them on; with reduced motion the shape holds still. With no zone reading the band is grey
and a calm sentence says so. It follows the main window, which hands it a
:class:`ClientState` each frame.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRect, Qt, QTimer
from PySide6.QtGui import (
    QBrush,
    QColor,
    QPainter,
    QPaintEvent,
    QPen,
    QRadialGradient,
)
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from skills.model import shorten
from trm_bio.core.regulation import Zone
from trm_bio.ui import theme
from trm_bio.ui.same import same
from trm_bio.ui.zone_widget import ZoneBandWidget
from trm_bio.zone_display import CLIENT_UNKNOWN_WORDS, ZoneShown

DEFAULT_BREATH_PER_MIN = 6.0  # a slow, easy rhythm when no breathing rate is known
FRAME_MS = 125  # the breathing shape's frame interval (ms)


def client_prompt(prompt: str, short_prompts: dict[str, str]) -> str:
    """A prompt as the client reads it: one or two sentences (the clinician's view keeps
    the whole text). A step's own short form (``short_prompts``), else the prompt shortened
    by rule; each paragraph on its own (a Help Now! strategy's name, then its invitation)."""
    parts = [part.strip() for part in prompt.split("\n\n") if part.strip()]
    return "\n\n".join(short_prompts.get(part) or shorten(part) for part in parts)


@dataclass(frozen=True)
class ClientState:
    """What the client sees: zone reading, prompt, settling-in, breathing pace, heart rate."""

    reading: ZoneShown = field(default_factory=ZoneShown)
    prompt: str = ""
    settling: str = ""  # the settling-in invitation ("" when there is none)
    respiration_bpm: float = math.nan
    hr_bpm: float = math.nan


class BreathShape(QWidget):
    """A soft circle that swells and settles at the breathing pace (still if reduced motion)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(220, 220)
        self.reduced_motion = False
        self.per_min = DEFAULT_BREATH_PER_MIN
        self.colour = QColor(theme.BAND)
        #: The breathing guide's swell (0..1), None while it is off: the shape follows it.
        self.guide: Callable[[], float | None] | None = None
        self._t0 = time.monotonic()
        self.frame = QTimer(self)
        # 8 frames a second are smooth for a breath of several seconds; a frame repaints
        # the shape's square only, by the shape itself (opaque: the window behind is not
        # repainted), which keeps the client view cheap.
        self.frame.setInterval(FRAME_MS)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.frame.timeout.connect(self._next_frame)
        self._swell_now: float | None = None  # the swell the next paint draws (frame time)
        self._drawn_radius: float | None = None  # the radius last painted (px)
        self.setAccessibleName("Breathing shape")

    def set_colour(self, colour: QColor) -> None:
        if colour != self.colour:
            self.colour = QColor(colour)
            self.update()

    def set_pace(self, per_min: float) -> None:
        # Pace follows breathing within a gentle range; otherwise a slow default.
        self.per_min = (
            per_min if math.isfinite(per_min) and 3 <= per_min <= 30 else DEFAULT_BREATH_PER_MIN
        )

    def set_reduced_motion(self, reduced: bool) -> None:
        self.reduced_motion = reduced
        self._sync_timer()
        self.update()

    def showEvent(self, event: object) -> None:
        self._sync_timer()

    def hideEvent(self, event: object) -> None:
        self.frame.stop()

    def _sync_timer(self) -> None:
        if self.reduced_motion or not self.isVisible():
            self.frame.stop()
        else:
            self.frame.start()

    def radius(self, swell: float) -> float:
        """The circle's radius (px) at ``swell`` (0..1)."""
        return min(self.width(), self.height()) * (0.30 + 0.12 * swell)

    def _next_frame(self) -> None:
        self._swell_now = self.swell()
        new, old = self.radius(self._swell_now), self._drawn_radius
        if old is None:
            self.update()
        elif abs(new - old) >= 0.25:  # a quarter pixel: below that nothing shows
            # The square about the larger circle: a ring-shaped region would make the
            # painter clip to a complex shape, which costs more than the pixels it saves.
            r = max(new, old) + 4
            cx, cy = self.width() / 2, self.height() / 2
            self.update(
                QRect(math.floor(cx - r), math.floor(cy - r), math.ceil(2 * r), math.ceil(2 * r))
            )

    def swell(self) -> float:
        """0..1: how far the shape is swollen now (0.5 when motion is reduced)."""
        if self.reduced_motion:
            return 0.5
        guided = self.guide() if self.guide is not None else None
        if guided is not None:
            return guided
        phase = (time.monotonic() - self._t0) * self.per_min / 60.0
        return 0.5 - 0.5 * math.cos(2 * math.pi * phase)

    def paintEvent(self, event: QPaintEvent) -> None:
        swell = self.swell() if self._swell_now is None or self.reduced_motion else self._swell_now
        radius = self.radius(swell)
        centre = QPointF(self.width() / 2, self.height() / 2)
        gradient = QRadialGradient(centre, radius)
        inner = QColor(self.colour)
        inner.setAlpha(230)
        outer = QColor(self.colour)
        outer.setAlpha(60)
        gradient.setColorAt(0.0, inner)
        gradient.setColorAt(1.0, outer)
        p = QPainter(self)
        p.fillRect(event.rect(), QColor(theme.BACKGROUND))  # opaque: see __init__
        # The shading needs no smoothing (its edge fades out anyway); the edge is smoothed.
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(gradient))
        p.drawEllipse(centre, radius, radius)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(theme.colour(theme.BAND_EDGE, 80), 2))
        p.drawEllipse(centre, radius, radius)
        p.end()
        self._drawn_radius = radius



class ClientWindow(QWidget):
    """The second window; see module doc."""

    def __init__(self, scale: theme.TextScale, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        # Qt adds the app's name to a title that does not end with it: said once here.
        self.setWindowTitle("For you — trm-bio")
        self.setStyleSheet(f"background: {theme.BACKGROUND};")
        self.numbers_visible = False
        self.state = ClientState()
        self.short_prompts: dict[str, str] = {}
        box = QVBoxLayout(self)
        box.setContentsMargins(40, 30, 40, 30)
        box.setSpacing(20)
        self.prompt = QLabel("")
        self.prompt.setWordWrap(True)
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setStyleSheet(f"color: {theme.TEXT};")
        self.prompt.setAccessibleName("Prompt")
        self.settling = QLabel("")
        self.settling.setWordWrap(True)
        self.settling.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.settling.setStyleSheet(f"color: {theme.TEXT};")
        self.settling.setAccessibleName("Settling in")
        self.settling.setVisible(False)
        self.shape = BreathShape()
        self.band = ZoneBandWidget(horizontal=True)
        self.band.setMinimumHeight(80)
        self.zone_words = QLabel("")
        self.zone_words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zone_words.setObjectName("muted")
        self.heart = QLabel("")
        self.heart.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.heart.setObjectName("muted")
        # The prompt takes the height its wrapped words need, the shape the rest: a long
        # prompt (a Help Now! strategy) is read whole, never cut off.
        box.addWidget(self.prompt)
        box.addWidget(self.settling)
        box.addWidget(self.shape, 1)
        box.addWidget(self.band)
        box.addWidget(self.zone_words)
        box.addWidget(self.heart)
        self.set_scale(scale)
        self.resize(900, 700)

    def set_short_prompts(self, short: dict[str, str]) -> None:
        """The skills' prompts to their short forms (see :meth:`client_prompt`)."""
        self.short_prompts = dict(short)

    def client_prompt(self, prompt: str) -> str:
        """A prompt as the client reads it (see :func:`client_prompt`)."""
        return client_prompt(prompt, self.short_prompts)

    def set_scale(self, scale: theme.TextScale) -> None:
        self.prompt.setFont(theme.font(22, scale))
        self.settling.setFont(theme.font(18, scale))
        self.zone_words.setFont(theme.font(14, scale))
        self.heart.setFont(theme.font(16, scale))

    def set_band(self, low_edge: float, high_edge: float) -> None:
        self.band.set_band(low_edge, high_edge)

    def set_reduced_motion(self, reduced: bool) -> None:
        self.band.reduced_motion = reduced
        self.shape.set_reduced_motion(reduced)

    def set_numbers_visible(self, visible: bool) -> None:
        self.numbers_visible = visible
        self.show_state(self.state, force=True)

    def show_state(self, state: ClientState, *, force: bool = False) -> None:
        if same(state, self.state) and not force:
            return
        self.state = state
        prompt = self.client_prompt(state.prompt)
        if self.prompt.text() != prompt:
            self.prompt.setText(prompt)
        if self.settling.text() != state.settling:
            self.settling.setText(state.settling)
        self.settling.setVisible(bool(state.settling))
        self.band.set_reading(state.reading)
        unknown = state.reading.zone == Zone.UNKNOWN
        # While settling in, the invitation says it all; otherwise a calm word for "no reading".
        self.zone_words.setText(CLIENT_UNKNOWN_WORDS if unknown and not state.settling else "")
        self.shape.set_pace(state.respiration_bpm)
        self.shape.set_colour(QColor(theme.BAND if unknown else state.reading.colour))
        if self.numbers_visible and math.isfinite(state.hr_bpm):
            self.heart.setText(f"{state.hr_bpm:.0f} beats per minute")
        else:
            self.heart.setText("")
