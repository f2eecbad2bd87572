"""Feedback for breathing practice, in words a person can work with.

* **Heart-rate swing per breath** (the RSA amplitude): how far the heart rate rises and falls
  within one breath, peak to trough (bpm), the median of the last few whole breaths. Slow,
  even breathing near a person's resonance rate makes it largest.
* **Coherence levels**: the HeartMath-style coherence ratio (the 60 s window's 0.04-0.26 Hz
  peak power over the rest, see :mod:`trm_bio.core.frequency_domain`) shown as one of four
  levels to work toward, never as a raw decimal. The edges sit on a real day of ordinary
  life (PhysioNet nsr001, 22.5 h, 60 s windows every 100 beats: percentiles 25/50/75/90
  of 0.22/0.29/0.41/0.58): level 1 is below the everyday median, level 2 up to about its
  75th percentile, level 3 up to about its 90th, level 4 beyond, which ordinary life
  reaches in under a tenth of its minutes. Slow paced breathing at resonance (the
  simulated person) sits at level 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trm_bio.core.resonance import swing_per_breath

#: Upper edges of levels 1-3 on the coherence ratio (level 4 is above the last).
COHERENCE_EDGES: tuple[float, ...] = (0.30, 0.45, 0.70)
COHERENCE_WORDS: tuple[str, ...] = ("beginning", "settling", "steady", "very steady")
COHERENCE_EXPLAINED = (
    "Coherence: how evenly the heart rate rises and falls with one slow rhythm. "
    "Slow, easy breathing tends to raise it; there is no wrong level."
)
SWING_EXPLAINED = (
    "Heart-rate swing: how far the heart rate rises on the in-breath and falls on the "
    "out-breath, in beats per minute. It grows with slow, easy breathing."
)
SWING_BREATHS = 3  # the median of this many whole breaths


@dataclass(frozen=True)
class CoherenceLevel:
    """A coherence level: 1-4 (0 while unknown) and its word."""

    level: int
    word: str

    @property
    def text(self) -> str:
        if self.level == 0:
            return "not clear yet"
        return f"level {self.level} of {len(COHERENCE_WORDS)}: {self.word}"


def coherence_level(ratio: float) -> CoherenceLevel:
    """The level of a coherence ratio (NaN: level 0, not clear yet)."""
    if not math.isfinite(ratio):
        return CoherenceLevel(0, "")
    level = int(np.searchsorted(COHERENCE_EDGES, ratio, side="right")) + 1
    return CoherenceLevel(level, COHERENCE_WORDS[level - 1])


def recent_swing_bpm(
    beat_times_s: npt.ArrayLike,
    rr_ms: npt.ArrayLike,
    breath_starts_s: npt.ArrayLike,
) -> float:
    """Median peak-to-trough heart-rate swing (bpm) of the last whole breaths.

    Parameters
    ----------
    beat_times_s, rr_ms : array of float
        Recent beats (s, ms); NaN RR are left out.
    breath_starts_s : array of float
        Starts of the recent breaths (s, increasing), the last one ending the last whole
        breath (the pacer's inhales, or one breath period apart from the breathing rate).
    """
    starts = np.asarray(breath_starts_s, dtype=np.float64)[-(SWING_BREATHS + 1):]
    swings = swing_per_breath(beat_times_s, rr_ms, starts)
    return float(np.nanmedian(swings)) if np.isfinite(swings).any() else math.nan


def breath_starts(now_s: float, rate_per_min: float, breaths: int = SWING_BREATHS) -> np.ndarray:
    """Breath boundaries one breath period apart ending at ``now_s`` (no pacer: the rate
    measured from the heart rhythm); empty when the rate is unknown."""
    if not (math.isfinite(rate_per_min) and rate_per_min > 0):
        return np.empty(0)
    period_s = 60.0 / rate_per_min
    out: np.ndarray = now_s - period_s * np.arange(breaths, -1, -1, dtype=np.float64)
    return out
