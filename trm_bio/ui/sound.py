"""Sound mode: soft generated cues, so a person can practise with their eyes closed.

Off by default. When on, it can play (each cue settable):

* **breath tones** while the pacer is on: a soft tone gliding up at each inhale and down at
  each exhale (the pacer's turns, :meth:`trm_bio.core.pacer.PacerTrack.turns`);
* a **chime** when the practice moves to another skill step;
* an optional, gentle **zone cue** when the zone indicator settles in another zone. The
  indicator already has hysteresis; the cue also ignores tentative readings and waits at
  least ``ZONE_CUE_GAP_S`` after the previous one, so it never sounds per beat.

Every waveform is generated here with numpy (float32, mono, ``SAMPLE_RATE_HZ``), with smooth
raised-cosine edges so nothing clicks. Output goes through PortAudio (the ``sounddevice``
package). Without an audio device, or without PortAudio, :class:`AudioOutput` says so in one
sentence, once, and the app goes on silently.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trm_bio.core.pacer import PacerTrack

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 22050
BREATH_TONE_S = 0.7
CHIME_S = 1.6
ZONE_CUE_S = 0.9
ZONE_CUE_GAP_S = 30.0
HEADROOM = 0.5  # the loudest cue at full volume peaks at half of full scale

Samples = npt.NDArray[np.float32]


# -- waveforms ----------------------------------------------------------------------------


def _edges(n: int, attack_s: float, release_s: float) -> np.ndarray:
    """An envelope rising and falling along raised cosines (no click at either end)."""
    env = np.ones(n)
    a = max(1, int(attack_s * SAMPLE_RATE_HZ))
    r = max(1, int(release_s * SAMPLE_RATE_HZ))
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    env[n - r:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, r + 1) / r)
    return env


def _finish(wave: np.ndarray, volume: float) -> Samples:
    peak = float(np.abs(wave).max()) or 1.0
    gain = HEADROOM * min(1.0, max(0.0, volume)) / peak
    out: Samples = (wave * gain).astype(np.float32)
    return out


def breath_tone(kind: str, volume: float = 0.5) -> Samples:
    """A soft tone for a pacer turn: ``"inhale"`` glides up a fourth (196 to 262 Hz),
    ``"exhale"`` down; a sine with a faint octave, slow edges."""
    if kind not in ("inhale", "exhale"):
        raise ValueError(f"A breath tone is for an inhale or an exhale, not {kind!r}.")
    n = int(BREATH_TONE_S * SAMPLE_RATE_HZ)
    low, high = 196.0, 262.0
    start, end = (low, high) if kind == "inhale" else (high, low)
    u = np.arange(n) / n
    freq = start * (end / start) ** u  # an even glide in pitch
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE_HZ
    wave = (np.sin(phase) + 0.15 * np.sin(2 * phase)) * _edges(n, 0.2, 0.35)
    return _finish(wave, volume)


def chime(volume: float = 0.5) -> Samples:
    """A small bell for a new skill step: partials at 660, 1320 and 1980 Hz, fading."""
    n = int(CHIME_S * SAMPLE_RATE_HZ)
    t = np.arange(n) / SAMPLE_RATE_HZ
    wave = sum(
        a * np.sin(2 * np.pi * f * t) * np.exp(-t / tau)
        for f, a, tau in ((660.0, 1.0, 0.5), (1320.0, 0.35, 0.3), (1980.0, 0.15, 0.2))
    )
    return _finish(np.asarray(wave) * _edges(n, 0.005, 0.2), volume)


def zone_cue(volume: float = 0.5) -> Samples:
    """A gentle two-note cue (330 then 392 Hz) for a settled change of zone; the same for
    every zone, so the sound never judges."""
    half = int(ZONE_CUE_S / 2 * SAMPLE_RATE_HZ)
    notes = []
    for f in (330.0, 392.0):
        t = np.arange(half) / SAMPLE_RATE_HZ
        notes.append(np.sin(2 * np.pi * f * t) * _edges(half, 0.08, 0.2))
    return _finish(np.concatenate(notes), volume)


# -- what to play when ----------------------------------------------------------------------


@dataclass
class SoundSettings:
    """The sound mode's settings: off by default; volume 0..1; each cue on or off."""

    enabled: bool = False
    volume: float = 0.4
    breath: bool = True
    chime: bool = True
    zone: bool = False


class CueScheduler:
    """Which cues are due between one frame and the next (see module doc).

    Call :meth:`due` every frame with the session time; it returns the cue names (``"inhale"``,
    ``"exhale"``, ``"chime"``, ``"zone"``) due since the previous call, in time order.
    """

    def __init__(self, settings: SoundSettings) -> None:
        self.settings = settings
        self._last_s: float | None = None
        self._step: object = None
        self._step_seen = False
        self._zone: object = None
        self._zone_cue_s = -math.inf

    def due(
        self,
        now_s: float,
        track: PacerTrack | None,
        step: object = None,
        zone: object = None,
        *,
        tentative: bool = False,
    ) -> list[str]:
        """Cues due at session time ``now_s`` (s).

        Parameters
        ----------
        track : the pacer's track (None: no pacer).
        step : anything that names the current skill step (a change sounds the chime; the
            first one seen does not; None: no practice).
        zone : the zone indicator's zone now (a settled change sounds the zone cue).
        tentative : the indicator's reading is tentative (no zone cue then).
        """
        s = self.settings
        cues: list[tuple[float, str]] = []
        last = self._last_s
        self._last_s = now_s
        if last is not None and now_s < last:
            last = None  # the clock went back (a new session, a seek): start afresh
        if s.enabled and s.breath and track is not None and last is not None:
            cues.extend(track.turns(last, now_s))
        if self._step_seen and step != self._step and step is not None and s.enabled and s.chime:
            cues.append((now_s, "chime"))
        self._step, self._step_seen = step, True
        if zone is not None and not tentative and zone != self._zone:
            first = self._zone is None
            self._zone = zone
            if not first and s.enabled and s.zone and now_s - self._zone_cue_s >= ZONE_CUE_GAP_S:
                self._zone_cue_s = now_s
                cues.append((now_s, "zone"))
        cues.sort(key=lambda c: c[0])
        return [name for _, name in cues]


def waveform(cue: str, volume: float) -> Samples:
    """The samples of a cue name from :meth:`CueScheduler.due`."""
    if cue in ("inhale", "exhale"):
        return breath_tone(cue, volume)
    if cue == "chime":
        return chime(volume)
    if cue == "zone":
        return zone_cue(volume)
    raise ValueError(f"There is no sound cue {cue!r}.")


# -- output ---------------------------------------------------------------------------------


NO_AUDIO = "There is no audio device here, so the sound cues stay silent."


class AudioOutput:
    """Plays cues through PortAudio's default output, or says once why it cannot.

    Parameters
    ----------
    say : callable
        Shows one sentence to the person (the window's status line); called at most once.
    backend : module, optional
        The ``sounddevice`` module (loaded on first use when not given).
    """

    def __init__(self, say: Callable[[str], None], backend: Any = None) -> None:
        self._say = say
        self._backend = backend
        self._checked = False
        self.problem: str | None = None

    def ready(self) -> bool:
        """True when cues can be heard; the first time it is not, say so (once)."""
        if not self._checked:
            self._checked = True
            self.problem = self._check()
            if self.problem is not None:
                log.info("sound mode: %s", self.problem)
                self._say(self.problem)
        return self.problem is None

    def _check(self) -> str | None:
        # Without PortAudio the import fails (OSError); without a device the query raises
        # sounddevice.PortAudioError: either way, a sentence, never a crash.
        try:
            if self._backend is None:
                import sounddevice

                self._backend = sounddevice
            self._backend.query_devices(kind="output")
        except Exception as exc:
            log.debug("no audio output: %s", exc)
            return NO_AUDIO
        return None

    def play(self, samples: Samples) -> None:
        """Start playing ``samples`` (returns at once; a newer cue cuts an older one short)."""
        if not self.ready():
            return
        try:
            self._backend.play(samples, SAMPLE_RATE_HZ, blocking=False)
        except Exception as exc:  # a device that went away: say it once, then stay quiet
            log.debug("could not play a cue: %s", exc)
            if self.problem is None:
                self.problem = NO_AUDIO
                self._say(NO_AUDIO)
