"""The breathing pacer's clock: rate, inhale:exhale ratio, breath shape and its on/off record.

A pacer runs at ``rate_per_min`` breaths a minute; each breath is an inhale taking
``inhale_fraction`` of the cycle and an exhale taking the rest. The *cycle phase* (rad,
unwrapped) is 0 at the start of the pacer's first inhale and grows by 2 pi a breath. The
*breath shape* (0 = emptied, 1 = full) rises along a half-cosine during the inhale and falls
along one during the exhale, so the guide moves smoothly, with no corner at either turn.

:class:`PacerTrack` keeps when the pacer was on, at which rate and ratio, on the session's
clock (s). It is what everything else asks: the drawn shape, the sound cues, the
resonance assessment's reference breathing when no measured breathing exists, and the
simulated person who breathes along (it satisfies :class:`devices.physiology.BreathingGuide`).
Stretches are replaced as a whole tuple, so a reader on another thread (the simulated
strap) always sees a consistent record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

RATE_MIN_PER_MIN = 3.0
RATE_MAX_PER_MIN = 10.0
RATE_STEP_PER_MIN = 0.5
DEFAULT_RATE_PER_MIN = 6.0

#: Inhale:exhale ratios offered, as the inhale's share of a breath.
RATIOS: dict[str, float] = {"1:1": 0.5, "2:3": 0.4, "1:2": 1.0 / 3.0}
DEFAULT_RATIO = "1:1"


def clamp_rate(rate_per_min: float) -> float:
    """``rate_per_min`` on the pacer's scale: 3-10 /min in steps of 0.5 (nearest step)."""
    if not math.isfinite(rate_per_min):
        return DEFAULT_RATE_PER_MIN
    stepped = round(rate_per_min / RATE_STEP_PER_MIN) * RATE_STEP_PER_MIN
    return float(min(RATE_MAX_PER_MIN, max(RATE_MIN_PER_MIN, stepped)))


def step_rate(rate_per_min: float, steps: int) -> float:
    """The rate ``steps`` steps of 0.5 /min away, kept within 3-10 /min."""
    return clamp_rate(clamp_rate(rate_per_min) + steps * RATE_STEP_PER_MIN)


def ratio_fraction(ratio: str) -> float:
    """The inhale's share of a breath for a ratio such as ``"2:3"``.

    Raises
    ------
    ValueError
        For a ratio the pacer does not offer (the message lists them).
    """
    try:
        return RATIOS[ratio]
    except KeyError:
        raise ValueError(
            f"The pacer offers the inhale:exhale ratios {', '.join(RATIOS)}, not {ratio!r}."
        ) from None


def breath_shape(cycle_phase_rad: npt.ArrayLike, inhale_fraction: float = 0.5) -> FloatArray:
    """How full the breath is (0 emptied .. 1 full) at each cycle phase (rad).

    The inhale is a rising half-cosine over ``inhale_fraction`` of the cycle, the exhale a
    falling one over the rest.
    """
    u = np.mod(np.asarray(cycle_phase_rad, dtype=np.float64) / (2.0 * math.pi), 1.0)
    inh = float(inhale_fraction)
    rising = 0.5 - 0.5 * np.cos(math.pi * np.minimum(u / inh, 1.0))
    falling = 0.5 + 0.5 * np.cos(math.pi * np.clip((u - inh) / (1.0 - inh), 0.0, 1.0))
    out: FloatArray = np.where(u < inh, rising, falling)
    return out


def breath_fullness(breath_fraction: float, inhale_fraction: float = 0.5) -> float:
    """:func:`breath_shape` of one moment, given as the fraction (0..1) of the breath gone:
    plain float arithmetic, for a drawing frame."""
    u = breath_fraction % 1.0
    if u < inhale_fraction:
        return 0.5 - 0.5 * math.cos(math.pi * u / inhale_fraction)
    return 0.5 + 0.5 * math.cos(math.pi * (u - inhale_fraction) / (1.0 - inhale_fraction))


@dataclass(frozen=True)
class PacerStretch:
    """The pacer on from ``start_s`` to ``end_s`` (s on the session clock; inf: still on)."""

    start_s: float
    rate_per_min: float
    inhale_fraction: float
    end_s: float = math.inf

    def cycle_phase(self, t_s: npt.ArrayLike) -> FloatArray:
        """Cycle phase (rad; 0 at the stretch's first inhale) at times ``t_s`` (s)."""
        t = np.asarray(t_s, dtype=np.float64)
        out: FloatArray = 2.0 * math.pi * self.rate_per_min / 60.0 * (t - self.start_s)
        return out


class PacerTrack:
    """When the pacer was on, at which rate and ratio (see module doc).

    Changing the rate or ratio while on ends one stretch and starts the next at the same
    moment, with the cycle phase carried over so the drawn breath does not jump.
    """

    def __init__(self) -> None:
        self._stretches: tuple[PacerStretch, ...] = ()

    @property
    def stretches(self) -> tuple[PacerStretch, ...]:
        """Every stretch so far, in time order."""
        return self._stretches

    def current(self) -> PacerStretch | None:
        """The stretch still running, or None when the pacer is off."""
        s = self._stretches
        return s[-1] if s and math.isinf(s[-1].end_s) else None

    def start(self, t_s: float, rate_per_min: float, inhale_fraction: float = 0.5) -> None:
        """Turn the pacer on at ``t_s`` (s), or change rate/ratio if it is on."""
        rate = clamp_rate(rate_per_min)
        if not 0.0 < inhale_fraction < 1.0:
            raise ValueError("The inhale's share of a breath must be between 0 and 1.")
        running = self.current()
        start_s = float(t_s)
        if running is not None:
            # Carry the phase over: the new stretch's phase 0 is placed so that its phase at
            # t_s equals the old stretch's.
            phase = float(running.cycle_phase(t_s))
            start_s = float(t_s) - phase / (2.0 * math.pi * rate / 60.0)
            self.stop(t_s)
        self._stretches = (
            *self._stretches, PacerStretch(start_s, rate, float(inhale_fraction)),
        )

    def stop(self, t_s: float) -> None:
        """Turn the pacer off at ``t_s`` (s); nothing happens when it is off."""
        running = self.current()
        if running is None:
            return
        ended = PacerStretch(running.start_s, running.rate_per_min, running.inhale_fraction,
                             max(float(t_s), running.start_s))
        self._stretches = (*self._stretches[:-1], ended)

    def restart(self, t_s: float) -> None:
        """Forget the record and, if the pacer was on, go on from ``t_s`` (s): the session
        clock started again (a new session)."""
        running = self.current()
        self._stretches = ()
        if running is not None:
            self.start(t_s, running.rate_per_min, running.inhale_fraction)

    def _covers(self) -> list[tuple[float, float, PacerStretch]]:
        """(from s, to s, stretch) for each stretch. A carried-over phase may put a stretch's
        phase origin before the moment it was turned on; it covers from that moment."""
        out: list[tuple[float, float, PacerStretch]] = []
        previous_end = -math.inf
        for s in self._stretches:
            out.append((max(s.start_s, previous_end), s.end_s, s))
            previous_end = s.end_s
        return out

    def _at(self, t: FloatArray) -> tuple[list[PacerStretch], npt.NDArray[np.intp]]:
        """The stretches and, per time, the index of the stretch covering it (-1: off)."""
        covers = self._covers()
        which = np.full(t.shape, -1, dtype=np.intp)
        for i, (begin, end, _) in enumerate(covers):
            which[(t >= begin) & (t < end)] = i
        return [s for _, _, s in covers], which

    def guide(self, t_s: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Rate (breaths/min) and breath shape (0..1) at times ``t_s`` (s); NaN when off."""
        t = np.asarray(t_s, dtype=np.float64)
        stretches, which = self._at(t)
        rate = np.full(t.shape, np.nan)
        shape = np.full(t.shape, np.nan)
        for i, s in enumerate(stretches):
            mask = which == i
            if mask.any():
                rate[mask] = s.rate_per_min
                shape[mask] = breath_shape(s.cycle_phase(t[mask]), s.inhale_fraction)
        return rate, shape

    def cycle_phase(self, t_s: npt.ArrayLike) -> FloatArray:
        """Cycle phase (rad) at times ``t_s`` (s); NaN when off."""
        t = np.asarray(t_s, dtype=np.float64)
        stretches, which = self._at(t)
        phase = np.full(t.shape, np.nan)
        for i, s in enumerate(stretches):
            mask = which == i
            if mask.any():
                phase[mask] = s.cycle_phase(t[mask])
        return phase

    def turns(self, start_s: float, end_s: float) -> list[tuple[float, str]]:
        """The pacer's turns in ``[start_s, end_s)``: (time s, "inhale" or "exhale"), in order.

        An inhale starts at each whole cycle, an exhale ``inhale_fraction`` of a cycle later;
        these are the moments the sound mode plays its tones.
        """
        out: list[tuple[float, str]] = []
        for begin, end, s in self._covers():
            lo, hi = max(start_s, begin), min(end_s, end)
            if lo >= hi:
                continue
            period_s = 60.0 / s.rate_per_min
            first = math.ceil((lo - s.start_s) / period_s - s.inhale_fraction) - 1
            k = max(first, 0)
            while True:
                breath_s = s.start_s + k * period_s
                if breath_s >= hi:
                    break
                for when, kind in ((breath_s, "inhale"),
                                   (breath_s + s.inhale_fraction * period_s, "exhale")):
                    if lo <= when < hi:
                        out.append((when, kind))
                k += 1
        out.sort()
        return out
