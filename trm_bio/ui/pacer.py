"""The breathing guide on the main window: a pacer, breathing feedback and the sound mode.

Off by default; one key (:data:`PACER_KEY`) starts and stops it at any time. While on, a
soft shape swells with each inhale and settles with each exhale, and a gentle line traces
the breath just past and to come, with a dot at now. The rate runs 3-10 /min in steps of
0.5 (default: the person's resonance rate when one is stored, else 6), with an
inhale:exhale ratio. The words only invite; slow breathing can feel light-headed, and
the note says so.

Its clock is the session's (``now_s``, the controller's beat clock, which a sped-up
simulated strap speeds up too), so the shape, the sound cues, the stored record of when the
pacer ran (:class:`~trm_bio.core.pacer.PacerTrack`) and a simulated person breathing along
all agree. The shape redraws at 60 Hz only while the pacer is on and shown; a frame costs a
few small paints (``bench/bench_ui.py`` measures it).

Feedback below it, in plain words: the heart-rate swing per breath and the coherence level
(:mod:`trm_bio.core.breath_feedback`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QRadialGradient
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
    breath_shape,
    clamp_rate,
    step_rate,
)
from trm_bio.ui import theme
from trm_bio.ui.sound import AudioOutput, CueScheduler, SoundSettings, waveform

PACER_KEY = "Ctrl+B"
FRAME_MS = 16  # 60 Hz
LINE_SPAN_S = 16.0  # the gentle line shows this much breath, now at its middle
LINE_POINTS = 120
FEEDBACK_EVERY_S = 1.0  # session seconds between feedback updates

INVITATION = (
    "If it feels okay, you might breathe along with the shape. Let it go whenever you like."
)
NOTE = (
    "Slow breathing can feel light-headed; any rate is fine, and so is breathing as you "
    "usually do."
)


class PacerShape(QWidget):
    """The swelling shape and the gentle line of one pacer (see module doc)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(180, 170)
        self.swell = 0.0  # 0 emptied .. 1 full
        self.line_x = np.linspace(0.0, 1.0, LINE_POINTS)
        self.line_y = np.zeros(LINE_POINTS)
        self.colour = QColor(theme.BAND)
        self.setAccessibleName("Breathing guide")

    def set_frame(self, swell: float, line: np.ndarray) -> None:
        self.swell = swell
        self.line_y = line
        self.update()

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        line_h = max(30.0, h * 0.22)
        shape_h = h - line_h - 6
        side = min(w, shape_h)
        radius = side * (0.18 + 0.28 * self.swell)
        centre = QPointF(w / 2, shape_h / 2)
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
        # The gentle line: the breath from half a span ago to half a span ahead.
        top = shape_h + 6
        path = QPainterPath()
        xs = 8 + self.line_x * (w - 16)
        ys = top + (1.0 - self.line_y) * (line_h - 8) + 4
        path.moveTo(float(xs[0]), float(ys[0]))
        for x, y in zip(xs[1:], ys[1:], strict=True):
            path.lineTo(float(x), float(y))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(theme.colour(theme.BAND_EDGE, 160), 2))
        p.drawPath(path)
        mid = LINE_POINTS // 2
        p.setBrush(QBrush(theme.colour(theme.BAND_EDGE, 230)))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(QPointF(float(xs[mid]), float(ys[mid])), 5.0, 5.0)
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
        self.mirrors: list[QLabel] = []  # other windows' copies of the guide's words
        self._build()
        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.setTimerType(Qt.TimerType.PreciseTimer)
        self.frame.timeout.connect(self.animate)
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
        box.setContentsMargins(4, 4, 4, 4)
        box.setSpacing(4)
        self.button = QPushButton("Breathing guide")
        self.button.setCheckable(True)
        self.button.setToolTip(f"Start or stop the breathing guide ({PACER_KEY})")
        self.button.toggled.connect(self._button_toggled)
        box.addWidget(self.button)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(3)
        self.invitation = QLabel(INVITATION)
        self.invitation.setWordWrap(True)
        self.words = QLabel("")
        self.words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.words.setAccessibleName("Breathing guide words")
        self.shape = PacerShape()
        rate_row = QHBoxLayout()
        self.slower = QPushButton("−")
        self.slower.setToolTip("Slower by half a breath a minute (Ctrl+Shift+Down)")
        self.slower.clicked.connect(lambda: self.set_rate(step_rate(self.rate_per_min, -1)))
        self.faster = QPushButton("+")
        self.faster.setToolTip("Faster by half a breath a minute (Ctrl+Shift+Up)")
        self.faster.clicked.connect(lambda: self.set_rate(step_rate(self.rate_per_min, 1)))
        for b in (self.slower, self.faster):
            b.setFixedWidth(28)
        self.rate_label = QLabel("")
        self.rate_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
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
        self.note = QLabel(NOTE)
        self.note.setWordWrap(True)
        self.note.setObjectName("muted")
        self.swing = QLabel("")
        self.swing.setToolTip(SWING_EXPLAINED)
        self.swing.setWordWrap(True)
        self.coherence = QLabel("")
        self.coherence.setToolTip(COHERENCE_EXPLAINED)
        self.coherence.setWordWrap(True)
        sound_row = QHBoxLayout()
        self.sound_box = QCheckBox("Sound")
        self.sound_box.setToolTip("Soft tones for in and out, a chime at each new step")
        self.sound_box.setChecked(self.sound.enabled)
        self.sound_box.toggled.connect(self.set_sound)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(round(self.sound.volume * 100))
        self.volume.setToolTip("Volume of the sound cues")
        self.volume.valueChanged.connect(self._volume_changed)
        sound_row.addWidget(self.sound_box)
        sound_row.addWidget(self.volume, 1)
        cue_row = QHBoxLayout()
        self.breath_cue = QCheckBox("in/out")
        self.chime_cue = QCheckBox("chime")
        self.zone_cue = QCheckBox("zone")
        self.zone_cue.setToolTip("A gentle cue when the zone indicator settles in another zone")
        for box_, key, attr in (
            (self.breath_cue, "sound_breath", "breath"),
            (self.chime_cue, "sound_chime", "chime"),
            (self.zone_cue, "sound_zone", "zone"),
        ):
            box_.setChecked(bool(getattr(self.sound, attr)))
            box_.toggled.connect(lambda on, k=key, a=attr: self._cue_changed(k, a, on))
            cue_row.addWidget(box_)
        for w in (self.invitation, self.words, self.shape):
            body.addWidget(w)
        body.addLayout(rate_row)
        for w in (self.note, self.swing, self.coherence):
            body.addWidget(w)
        body.addLayout(sound_row)
        body.addLayout(cue_row)
        box.addWidget(self.body, 1)
        self._show_rate()

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
        for label in self.mirrors:
            label.setVisible(on)
        self.button.setText("Stop the breathing guide" if on else "Breathing guide")
        if on and self.isVisible():
            self.frame.start()
            self.animate()
        else:
            self.frame.stop()

    def showEvent(self, event: object) -> None:
        if self.on:
            self.frame.start()

    def hideEvent(self, event: object) -> None:
        self.frame.stop()

    # -- rate and ratio --------------------------------------------------------------------
    def set_rate(self, rate_per_min: float, *, remember: bool = True) -> None:
        """Pace at ``rate_per_min`` (3-10 /min, steps of 0.5), now if the pacer is on."""
        self.rate_per_min = clamp_rate(rate_per_min)
        if remember:
            self._remember("rate", self.rate_per_min)
        if self.on:
            self.track.start(self.now_s(), self.rate_per_min, RATIOS[self.ratio])
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
        now = self._clock()
        running = self.track.current()
        if running is None:
            return
        times = now + (self.shape.line_x - 0.5) * LINE_SPAN_S
        line = breath_shape(running.cycle_phase(times), running.inhale_fraction)
        swell = float(line[LINE_POINTS // 2])
        self.shape.set_frame(swell, line)
        ahead = float(breath_shape(running.cycle_phase(now + 0.05), running.inhale_fraction))
        words = "in …" if ahead >= swell else "… and out"
        if self.words.text() != words:
            self.words.setText(words)
            for label in self.mirrors:
                label.setText(words)

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
            amount = f"{swing:.0f} beats a minute" if numbers else "shown when numbers are on"
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

    def _cue_changed(self, key: str, attr: str, on: bool) -> None:
        setattr(self.sound, attr, on)
        self._remember(key, on)

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
    # The client view shows the guide's words under its shape, only while the guide is on.
    words = QLabel("")
    words.setAlignment(Qt.AlignmentFlag.AlignCenter)
    words.setFont(theme.font(18, window.scale))
    words.setAccessibleName("Breathing guide words")
    words.hide()
    window.client.layout().insertWidget(2, words)
    pacer.mirrors.append(words)
