"""The breathing guide on the main window: a pacer, breathing feedback and the sound mode.

Off by default; one key (:data:`PACER_KEY`) starts and stops it at any time. While on, a
soft shape swells with each inhale and settles with each exhale, and a gentle line traces
one breath, with a dot moving along it at now. The rate runs 3-10 /min in steps of
0.5 (default: the person's resonance rate when one is stored, else 6), with an
inhale:exhale ratio. The words only invite; slow breathing can feel light-headed, and
the note says so.

Its clock is the session's (``now_s``, the controller's beat clock, which a sped-up
simulated strap speeds up too), so the shape, the sound cues, the stored record of when the
pacer ran (:class:`~trm_bio.core.pacer.PacerTrack`) and a simulated person breathing along
all agree. Frames fall on a 60 Hz grid, only while the pacer is on and shown; each frame
repaints only what moved a visible step (the shape's radius, the dot's pixel) and sleeps
until the frame of the shape's next step (:meth:`PacerPanel.animate`; ``bench/bench_ui.py``
measures the frames and the CPU time).

Feedback below it, in plain words: the heart-rate swing per breath and the coherence level
(:mod:`trm_bio.core.breath_feedback`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QRadialGradient,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from trm_bio.core.breath_feedback import (
    COHERENCE_EXPLAINED,
    SWING_EXPLAINED,
    breath_starts,
    coherence_level,
    recent_swing_bpm,
)
from trm_bio.core.pacer import (
    DEFAULT_RATE_PER_MIN,
    DEFAULT_RATIO,
    RATIOS,
    PacerTrack,
    breath_fullness,
    breath_shape,
    clamp_rate,
    step_rate,
)
from trm_bio.ui import theme
from trm_bio.ui.sound import AudioOutput, CueScheduler, SoundSettings, waveform

PACER_KEY = "Ctrl+B"
FRAME_S = 1.0 / 60.0  # the display's frame: a visible change shows at the next one
MAX_FRAMES_AHEAD = 6  # at most this many frames between two: the dot moves 10 times a second
LINE_POINTS = 120  # the gentle line's breath, drawn through this many segments
FEEDBACK_EVERY_S = 1.0  # session seconds between feedback updates

INVITATION = (
    "If it feels okay, you might breathe along with the shape. Let it go whenever you like."
)
NOTE = (
    "Slow breathing can feel light-headed; any rate is fine, and so is breathing as you "
    "usually do."
)


def _backdrop(widget: QWidget) -> QColor:
    """The colour behind a widget that paints every pixel of its own (opaque) area."""
    return widget.palette().color(widget.backgroundRole())


class PacerShape(QWidget):
    """The swelling shape above the gentle line (see module doc), in one opaque widget.

    The shape's radius moves in whole-pixel steps and the dot along the line in whole
    pixels; a frame repaints only the squares that changed, by copying pictures drawn once
    (the shape at each radius step, the line) and drawing the small dot, in one paint.
    """

    STEP_PX = 1.0
    DOT_PX = 5.0
    LINE_H = 44

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(120, 150)
        # It paints every pixel of its own: the panel behind it never repaints for it.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAccessibleName("Breathing guide")
        self.colour = QColor(theme.BAND)
        self.swell = 0.0  # 0 emptied .. 1 full
        self.radius_px = -1.0
        self.dot = (-100, -100)
        self.inhale_fraction = math.nan
        self._shapes: dict[float, QPixmap] = {}
        self._line: QPixmap | None = None
        self._geometry()

    # -- geometry, as plain numbers (the frame's look-ahead calls these many times) --------
    def _geometry(self) -> None:
        w, h = self.width(), self.height()
        self._shape_h = max(20, h - self.LINE_H - 2)
        self._side = min(w, self._shape_h)
        self._centre = (w / 2.0, self._shape_h / 2.0)
        self._line_top = h - self.LINE_H
        self._line_w = max(1, w - 16)

    def radius_for(self, swell: float) -> float:
        """The shape's radius (px, in half-pixel steps) at a breath ``swell`` (0..1)."""
        return round(self._side * (0.18 + 0.28 * swell) / self.STEP_PX) * self.STEP_PX

    def dot_pixel(self, u: float, inhale_fraction: float) -> tuple[int, int]:
        """The pixel of the dot at ``u`` (0..1 of the breath) on the line."""
        y = breath_fullness(u, inhale_fraction)
        return (
            round(8 + u * self._line_w),
            round(self._line_top + 6 + (1.0 - y) * (self.LINE_H - 12)),
        )

    def frames_to_change(
        self, fraction: float, per_frame: float, inhale_fraction: float, most: int
    ) -> int:
        """How many frames ahead the shape's radius step or the in/out turn first changes (at
        most ``most``), the breath being at ``fraction`` and moving ``per_frame`` of a breath
        each frame. The dot is not waited for: it moves on every frame that runs, and
        ``most`` keeps those at least 10 a second."""
        radius = self.radius_for(breath_fullness(fraction, inhale_fraction))
        for k in range(1, most + 1):
            u = fraction + k * per_frame
            if (
                self.radius_for(breath_fullness(u, inhale_fraction)) != radius
                or (u % 1.0 < inhale_fraction) != (fraction < inhale_fraction)
            ):
                return k
        return most

    def resizeEvent(self, event: object) -> None:
        self._geometry()
        self._shapes.clear()
        self._line = None

    # -- a frame --------------------------------------------------------------------------
    def set_frame(self, swell: float, breath_fraction: float, inhale_fraction: float) -> None:
        """Show the breath ``swell`` (0..1) at ``breath_fraction`` (0..1) of a breath."""
        self.swell = swell
        if inhale_fraction != self.inhale_fraction:
            self.inhale_fraction = inhale_fraction
            self._line = None
            self.update()
        radius = self.radius_for(swell)
        if radius != self.radius_px:
            reach = math.ceil(max(radius, self.radius_px) + 3)
            self.radius_px = radius
            cx, cy = round(self._centre[0]), round(self._centre[1])
            self.update(cx - reach, cy - reach, 2 * reach + 1, 2 * reach + 1)
        dot = self.dot_pixel(breath_fraction, inhale_fraction)
        if dot != self.dot:
            r = int(self.DOT_PX) + 2
            for x, y in (self.dot, dot):
                self.update(x - r, y - r, 2 * r + 1, 2 * r + 1)
            self.dot = dot

    # -- pictures drawn once ----------------------------------------------------------------
    def _shape_picture(self, radius: float) -> QPixmap:
        picture = self._shapes.get(radius)
        if picture is not None:
            return picture
        ratio = self.devicePixelRatioF()
        side = math.ceil(2 * radius + 4)
        picture = QPixmap(int(side * ratio), int(side * ratio))
        picture.setDevicePixelRatio(ratio)
        picture.fill(_backdrop(self))  # drawn on the backdrop: a repaint is a plain copy
        p = QPainter(picture)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        centre = QPointF(side / 2, side / 2)
        gradient = QRadialGradient(centre, radius)
        inner = QColor(self.colour)
        inner.setAlpha(220)
        outer = QColor(self.colour)
        outer.setAlpha(50)
        gradient.setColorAt(0.0, inner)
        gradient.setColorAt(1.0, outer)
        p.setPen(QPen(theme.colour(theme.BAND_EDGE, 80), 2))
        p.setBrush(QBrush(gradient))
        p.drawEllipse(centre, radius, radius)
        p.end()
        self._shapes[radius] = picture
        return picture

    def _line_picture(self) -> QPixmap:
        if self._line is not None:
            return self._line
        ratio = self.devicePixelRatioF()
        picture = QPixmap(int(self.width() * ratio), int(self.LINE_H * ratio))
        picture.setDevicePixelRatio(ratio)
        picture.fill(_backdrop(self))
        if math.isfinite(self.inhale_fraction):
            path = QPainterPath()
            for i in range(LINE_POINTS + 1):
                u = i / LINE_POINTS
                y = breath_fullness(u, self.inhale_fraction) if i < LINE_POINTS else 0.0
                point = QPointF(8 + u * self._line_w, 6 + (1.0 - y) * (self.LINE_H - 12))
                if i == 0:
                    path.moveTo(point)
                else:
                    path.lineTo(point)
            p = QPainter(picture)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(theme.colour(theme.BAND_EDGE, 160), 2))
            p.drawPath(path)
            p.end()
        self._line = picture
        return picture

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(event.rect(), _backdrop(self))
        shape = self._shape_picture(max(self.radius_px, 1.0))
        side = shape.width() / shape.devicePixelRatio()
        p.drawPixmap(QPointF(self._centre[0] - side / 2, self._centre[1] - side / 2), shape)
        p.drawPixmap(QPointF(0.0, float(self._line_top)), self._line_picture())
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(QBrush(theme.colour(theme.BAND_EDGE, 230)))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(QPointF(*self.dot), self.DOT_PX, self.DOT_PX)
        p.end()


class PacerPanel(QFrame):
    """The breathing guide's panel: the shape, its settings, feedback and sound settings.

    Parameters
    ----------
    now_s : callable
        The session clock (s).
    say : callable
        Shows a sentence to the person (once-only notices, e.g. no audio device).
    track : PacerTrack, optional
        The record to keep (shared with a simulated person who breathes along).
    settings : QSettings-like, optional
        Where the rate, ratio and sound settings are remembered (``value``/``setValue``).
    audio : AudioOutput, optional
        The sound output (default: PortAudio's default device).
    """

    toggled = Signal(bool)

    def __init__(
        self,
        now_s: Callable[[], float],
        say: Callable[[str], None],
        *,
        track: PacerTrack | None = None,
        settings: Any = None,
        audio: AudioOutput | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pacer")
        self.now_s = now_s
        self.track = track if track is not None else PacerTrack()
        self._q = settings
        self.rate_per_min = clamp_rate(self._number("rate", DEFAULT_RATE_PER_MIN))
        ratio = str(self._value("ratio", DEFAULT_RATIO))
        self.ratio = ratio if ratio in RATIOS else DEFAULT_RATIO
        self.sound = SoundSettings(
            enabled=self._flag("sound", False),
            volume=min(1.0, max(0.0, self._number("volume", 0.4))),
            breath=self._flag("sound_breath", True),
            chime=self._flag("sound_chime", True),
            zone=self._flag("sound_zone", False),
        )
        self.cues = CueScheduler(self.sound)
        self.audio = audio if audio is not None else AudioOutput(say)
        self._feedback_at_s = -math.inf
        self._last_now_s = -math.inf
        self._last_frame_now_s = math.nan
        self._words = ""
        self.mirrors: list[QLabel] = []  # other windows' copies of the guide's words
        self.cue_actions: dict[str, Any] = {}  # the Breathing menu's cue switches
        self._build()
        # One shot at a time, set for the frame of the next visible change (see animate).
        self.frame = QTimer(self)
        self.frame.setSingleShot(True)
        self.frame.setTimerType(Qt.TimerType.PreciseTimer)
        self.frame.timeout.connect(self.animate)
        self.pace = 1.0  # session seconds per wall second (a sped-up simulated strap: more)
        self._wall_s = math.nan
        self.due_wall_s = math.nan  # when the scheduled frame should run (perf_counter, s)
        self._show_on(False)

    # -- remembered settings ---------------------------------------------------------------
    def _value(self, key: str, default: Any) -> Any:
        if self._q is None:
            return default
        value = self._q.value(f"pacer/{key}", default)
        return default if value is None else value

    def _number(self, key: str, default: float) -> float:
        try:  # a hand-edited settings file must not stop the window
            return float(self._value(key, default))
        except (TypeError, ValueError):
            return default

    def _flag(self, key: str, default: bool) -> bool:
        return self._value(key, default) in (True, "true", "True", 1, "1")

    def _remember(self, key: str, value: object) -> None:
        if self._q is not None:
            self._q.setValue(f"pacer/{key}", value)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        box = QVBoxLayout(self)
        box.setContentsMargins(2, 2, 2, 2)
        box.setSpacing(3)
        self.button = QPushButton("Breathing guide")
        self.button.setCheckable(True)
        self.button.setToolTip(f"Start or stop the breathing guide ({PACER_KEY})")
        self.button.toggled.connect(self._button_toggled)
        box.addWidget(self.button)
        # The shape and its words: the window places them (beside the zone band), shown
        # while the guide is on.
        self.guide_view = QWidget()
        guide = QVBoxLayout(self.guide_view)
        guide.setContentsMargins(0, 0, 0, 0)
        guide.setSpacing(2)
        self.words = QLabel("")
        self.words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.words.setAccessibleName("Breathing guide words")
        self.shape = PacerShape()
        guide.addWidget(self.words)
        guide.addWidget(self.shape, 1)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(2)
        # One label for the invitation and the note: the left column is short at 768 px.
        self.invitation = self.note = QLabel(f"{INVITATION} {NOTE}")
        self.invitation.setWordWrap(True)
        self.invitation.setObjectName("muted")
        rate_row = QHBoxLayout()
        self.slower = QPushButton("−")
        self.slower.setToolTip("Slower by half a breath a minute (Ctrl+Shift+Down)")
        self.slower.clicked.connect(lambda: self.set_rate(step_rate(self.rate_per_min, -1)))
        self.faster = QPushButton("+")
        self.faster.setToolTip("Faster by half a breath a minute (Ctrl+Shift+Up)")
        self.faster.clicked.connect(lambda: self.set_rate(step_rate(self.rate_per_min, 1)))
        for b in (self.slower, self.faster):
            b.setFixedWidth(30)
        self.rate_label = QLabel("")
        self.rate_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.rate_label.setToolTip("Breaths a minute: 3 to 10, in steps of a half")
        self.ratio_box = QComboBox()
        for name in RATIOS:
            self.ratio_box.addItem(name)
        self.ratio_box.setCurrentText(self.ratio)
        self.ratio_box.setToolTip("In-breath to out-breath")
        self.ratio_box.currentTextChanged.connect(self.set_ratio)
        rate_row.addWidget(self.slower)
        rate_row.addWidget(self.rate_label, 1)
        rate_row.addWidget(self.faster)
        rate_row.addWidget(self.ratio_box)
        self.swing = QLabel("")
        self.swing.setToolTip(SWING_EXPLAINED)
        self.swing.setWordWrap(True)
        self.coherence = QLabel("")
        self.coherence.setToolTip(COHERENCE_EXPLAINED)
        self.coherence.setWordWrap(True)
        sound_row = QHBoxLayout()
        self.sound_box = QCheckBox("Sound")
        self.sound_box.setToolTip(
            "Soft tones for in and out, a chime at each new step; which cues: the Breathing menu"
        )
        self.sound_box.setChecked(self.sound.enabled)
        self.sound_box.toggled.connect(self.set_sound)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(round(self.sound.volume * 100))
        self.volume.setToolTip("Volume of the sound cues")
        self.volume.setAccessibleName("Volume of the sound cues")
        self.volume.valueChanged.connect(self._volume_changed)
        sound_row.addWidget(self.sound_box)
        sound_row.addWidget(self.volume, 1)
        body.addWidget(self.invitation)
        body.addLayout(rate_row)
        body.addWidget(self.swing)
        body.addWidget(self.coherence)
        body.addLayout(sound_row)
        box.addWidget(self.body)
        self._show_rate()

    def set_cue(self, attr: str, on: bool) -> None:
        """Turn one sound cue (``"breath"``, ``"chime"`` or ``"zone"``) on or off."""
        setattr(self.sound, attr, on)
        self._remember(f"sound_{attr}", on)

    # -- on and off ------------------------------------------------------------------------
    @property
    def on(self) -> bool:
        return self.track.current() is not None

    def toggle(self) -> None:
        """Start or stop the pacer (the one key)."""
        self.button.setChecked(not self.on)

    def _button_toggled(self, checked: bool) -> None:
        if checked == self.on:
            return
        now = self.now_s()
        if checked:
            self.track.start(now, self.rate_per_min, RATIOS[self.ratio])
        else:
            self.track.stop(now)
        self._show_on(checked)
        self.toggled.emit(checked)

    def _show_on(self, on: bool) -> None:
        self.body.setVisible(on)
        self.guide_view.setVisible(on)
        for label in self.mirrors:
            label.setVisible(on)
        self.button.setText("Stop the breathing guide" if on else "Breathing guide")
        if on and self.isVisible():
            self.animate()
        else:
            self.frame.stop()

    def showEvent(self, event: object) -> None:
        if self.on:
            self.animate()

    def hideEvent(self, event: object) -> None:
        self.frame.stop()  # the window is hidden or minimised: no frames

    # -- rate and ratio --------------------------------------------------------------------
    def set_rate(self, rate_per_min: float, *, remember: bool = True) -> None:
        """Pace at ``rate_per_min`` (3-10 /min, steps of 0.5), now if the pacer is on."""
        self.rate_per_min = clamp_rate(rate_per_min)
        if remember:
            self._remember("rate", self.rate_per_min)
        if self.on:
            self.track.start(self.now_s(), self.rate_per_min, RATIOS[self.ratio])
            self.animate()
        self._show_rate()

    def set_ratio(self, ratio: str) -> None:
        if ratio not in RATIOS:
            return
        self.ratio = ratio
        self._remember("ratio", ratio)
        if self.ratio_box.currentText() != ratio:
            self.ratio_box.setCurrentText(ratio)
        if self.on:
            self.track.start(self.now_s(), self.rate_per_min, RATIOS[ratio])
            self.animate()

    def _show_rate(self) -> None:
        self.rate_label.setText(f"{self.rate_per_min:g} breaths a minute")

    # -- the frame -------------------------------------------------------------------------
    def swell(self, now_s: float | None = None) -> float | None:
        """How full the guide's breath is now (0..1), or None when the pacer is off."""
        running = self.track.current()
        if running is None:
            return None
        t = self.now_s() if now_s is None else now_s
        return float(breath_shape(running.cycle_phase(t), running.inhale_fraction))

    def _clock(self) -> float:
        """The session clock; when it went back (a new session), the record starts afresh."""
        now = self.now_s()
        if now < self._last_now_s - 1.0:
            self.track.restart(now)
        self._last_now_s = now
        return now

    def animate(self) -> None:
        """Show the guide now, and set the timer for the frame of the next visible change.

        Waking at 60 Hz whatever happens costs more than the guide's whole drawing, and at
        6 /min the shape grows a pixel only every few frames: so each frame looks ahead,
        frame by frame (plain float arithmetic, microseconds), for the first one where the
        shape's radius changes a pixel or the breath turns, and sleeps until then (at most
        ``MAX_FRAMES_AHEAD``). The shape's steps show at the first frame after they happen,
        as with a 60 Hz tick; the dot on the line moves on each frame that runs, at least
        10 times a second (a pixel or two each time at 6 /min).
        """
        wall = time.perf_counter()
        now = self._clock()
        running = self.track.current()
        if running is None:
            return
        if math.isfinite(self._wall_s) and wall > self._wall_s:
            measured = (now - self._last_frame_now_s) / (wall - self._wall_s)
            self.pace = min(1000.0, max(0.0, 0.5 * self.pace + 0.5 * measured))
        self._wall_s, self._last_frame_now_s = wall, now
        rate, start_s, inhale = running.rate_per_min, running.start_s, running.inhale_fraction
        fraction = (rate / 60.0 * (now - start_s)) % 1.0
        self.shape.set_frame(breath_fullness(fraction, inhale), fraction, inhale)
        words = "in …" if fraction < inhale else "… and out"
        if self._words != words:
            self._words = words
            self.words.setText(words)
            for label in self.mirrors:
                label.setText(words)
        frames = self.shape.frames_to_change(
            fraction, rate / 60.0 * FRAME_S * max(self.pace, 1e-3), inhale, MAX_FRAMES_AHEAD
        )
        self.due_wall_s = wall + frames * FRAME_S
        self.frame.start(max(1, round(frames * FRAME_S * 1000.0)))

    # -- feedback and sound ------------------------------------------------------------------
    def update_feedback(
        self,
        now_s: float,
        beats: Any,
        respiration_bpm: float,
        coherence: float,
        numbers: bool = True,
    ) -> None:
        """Refresh the swing and coherence words (at most once a session second).

        ``beats`` has ``time_s`` and ``rr_ms`` arrays (the session history's beats).
        """
        if not self.on or abs(now_s - self._feedback_at_s) < FEEDBACK_EVERY_S:
            return
        self._feedback_at_s = now_s
        running = self.track.current()
        if running is not None:
            period_s = 60.0 / running.rate_per_min
            starts = [t for t, kind in self.track.turns(now_s - 4 * period_s, now_s)
                      if kind == "inhale"]
            edges = np.asarray(starts, dtype=np.float64)
        else:
            edges = breath_starts(now_s, respiration_bpm)
        swing = math.nan
        if edges.size >= 2 and len(beats):
            times = beats["time_s"]
            lo = int(np.searchsorted(times, edges[0] - 2.0))
            swing = recent_swing_bpm(times[lo:], beats["rr_ms"][lo:], edges)
        if math.isfinite(swing):
            amount = f"{swing:.0f} beats a minute" if numbers else "hidden with the numbers"
            self.swing.setText(f"Heart-rate swing per breath: {amount}")
        else:
            self.swing.setText("Heart-rate swing per breath: after a few breaths")
        self.coherence.setText(f"Coherence: {coherence_level(coherence).text}")

    def play_cues(self, now_s: float, step: object, zone: object, tentative: bool) -> list[str]:
        """Play the cues due now (see :class:`~trm_bio.ui.sound.CueScheduler`); returns them."""
        cues = self.cues.due(
            now_s, self.track if self.on else None, step, zone, tentative=tentative
        )
        for cue in cues:
            self.audio.play(waveform(cue, self.sound.volume))
        return cues

    def set_sound(self, on: bool) -> None:
        """Sound mode on or off (off by default); says once when there is no audio device."""
        self.sound.enabled = on
        self._remember("sound", on)
        if self.sound_box.isChecked() != on:
            self.sound_box.setChecked(on)
        if on:
            self.audio.ready()

    def _volume_changed(self, value: int) -> None:
        self.sound.volume = value / 100.0
        self._remember("volume", self.sound.volume)


    # -- the window's hooks ----------------------------------------------------------------
    def use_person(self, lookup: Callable[[str], float | None] | None, person: str | None) -> None:
        """Start from the person's resonance rate when one is stored (not remembered as the
        window's own choice)."""
        if lookup is None or not person:
            return
        rate = lookup(person)
        if rate is not None and math.isfinite(rate):
            self.set_rate(rate, remember=False)

    def follow_session(self, window: Any, now_s: float, reading: Any) -> None:
        """Each frame of the main window: feedback words and sound cues for ``reading``."""
        session = window.controller.session
        beats = session.history.beats if session is not None else ()
        self.update_feedback(
            now_s, beats, reading.respiration_bpm, reading.coherence,
            numbers=not window.settings.hide_numbers,
        )
        flow = window.controller.flow_state()
        step = None
        if flow is not None and flow.step is not None:
            step = (flow.skill.id if flow.skill is not None else None, flow.step_index)
        self.play_cues(now_s, step, reading.zone, bool(reading.tentative))


def install_pacer_actions(window: Any) -> None:
    """The Breathing menu and its keys, on the main window and the client view."""
    from PySide6.QtGui import QAction, QKeySequence

    pacer: PacerPanel = window.pacer
    # The remembered person's resonance rate, if they have one, is where the guide starts.
    pacer.use_person(getattr(window.services, "person_resonance_rate", None),
                     window.person.text().strip())
    menu = window.menuBar().addMenu("&Breathing")
    items: list[tuple[str, str, Callable[[], None]]] = [
        ("Breathing guide on or off", PACER_KEY, pacer.toggle),
        ("Pacer faster", "Ctrl+Shift+Up", lambda: pacer.set_rate(step_rate(pacer.rate_per_min, 1))),
        ("Pacer slower", "Ctrl+Shift+Down",
         lambda: pacer.set_rate(step_rate(pacer.rate_per_min, -1))),
        ("Sound cues on or off", "Ctrl+Shift+B", lambda: pacer.set_sound(not pacer.sound.enabled)),
    ]
    actions = []
    for text, key, handler in items:
        action = QAction(text, window)
        action.setShortcut(QKeySequence(key))
        action.triggered.connect(handler)
        window.addAction(action)
        menu.addAction(action)
        actions.append(action)
    window.client.addActions(actions)  # the same keys work on the client view
    menu.addSeparator()
    for text, attr in (
        ("Sound: soft tones for in and out", "breath"),
        ("Sound: a chime at each new step", "chime"),
        ("Sound: a gentle cue when the zone changes", "zone"),
    ):
        cue = QAction(text, window)
        cue.setCheckable(True)
        cue.setChecked(bool(getattr(pacer.sound, attr)))
        cue.toggled.connect(lambda on, a=attr: pacer.set_cue(a, on))
        menu.addAction(cue)
        pacer.cue_actions[attr] = cue
    # The client view shows the guide's words under its shape, only while the guide is on.
    words = QLabel("")
    words.setAlignment(Qt.AlignmentFlag.AlignCenter)
    words.setFont(theme.font(18, window.scale))
    words.setAccessibleName("Breathing guide words")
    words.hide()
    window.client.layout().insertWidget(2, words)
    pacer.mirrors.append(words)
