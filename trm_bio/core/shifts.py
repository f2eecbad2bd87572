"""Shift detection: how heart physiology moved after an event (a skill step, a sensation
log, a Help Now! use), relative to the resilient band.

A window before the event is compared with one or more windows after it. Each change is
given in its own units and in units of the baseline's spread (an effect size: the same
spreads the arousal indicator uses). Direction is judged on the *band distance*,
``max(arousal / high_enter, lowness / low_enter, 0)`` (lowness is the low-side evidence,
``-arousal`` unless slow-and-flat): 0 at the person's baseline, 1 at the edge of the band on
either side. Moving from far outside toward
the centre is "toward"; the asymmetric scale means a drift somewhat below baseline (often
deep rest) weighs less than the same drift upward, matching the conservative low side.

RMSSD is a 60 s window value, so an after-window starting at the event still holds some
pre-event beats in its RMSSD; the default second window (60-120 s) is fully post-event.
Events closer together than the windows overlap, and the change is shared between them.

All windows are half-open on the left: ``(event + a, event + b]``; the before window is
``(event - before_s, event]``. Everything is vectorised over events (prefix sums and
``searchsorted``).

A running session measures each event once, with :class:`ShiftWatch`, at the first settled
beat past the end of the event's last after-window, from the beats up to that one: so a live
session and its replay find the same shifts at the same beats, whenever they look.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from trm_bio.core.baseline import Baseline
from trm_bio.core.errors import TrmBioError
from trm_bio.core.json_safe import json_safe_fields
from trm_bio.core.regulation import DEFAULT_PARAMS, RegulationParams, Zone

Direction = Literal["toward", "away", "none", "unknown"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ShiftParams:
    """Windows and the size below which a change is "none".

    Parameters
    ----------
    before_s : float
        Length of the window before the event (s).
    after_windows : tuple of (start_s, end_s)
        Windows after the event, in s relative to it.
    min_movement : float
        Smallest change of band distance that counts as a shift (1 = centre to band edge).
        0.33 is half a spread on the high side with the default thresholds.
    min_coverage : float
        Fraction of a window that valid beats must cover (count x median beat interval).
    """

    before_s: float = 60.0
    after_windows: tuple[tuple[float, float], ...] = ((0.0, 60.0), (60.0, 120.0))
    min_movement: float = 0.33
    min_coverage: float = 0.5

    def __post_init__(self) -> None:
        if self.before_s <= 0 or not self.after_windows:
            raise TrmBioError(
                "A shift needs a positive before window and at least one after window."
            )
        for a, b in self.after_windows:
            if not b > a:
                raise TrmBioError("Each after window must end after it starts.")


DEFAULT_SHIFT_PARAMS = ShiftParams()


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Means over one window around an event (NaN when too few valid beats)."""

    start_s: float  # relative to the event (s)
    end_s: float
    n_beats: int
    hr_bpm: float
    ln_rmssd: float
    rmssd_ms: float
    arousal: float
    band_distance: float
    zone: str  # zone shown at the window's last valid beat


@dataclass(frozen=True, slots=True)
class WindowChange:
    """Change from the before window to one after window."""

    window: WindowStats
    d_hr_bpm: float
    d_hr_effect: float  # d_hr_bpm / baseline HR spread
    d_ln_rmssd: float
    d_ln_rmssd_effect: float  # d_ln_rmssd / baseline ln RMSSD spread
    d_arousal: float  # already in baseline-spread units
    movement: float  # band distance before - after: > 0 toward the band centre
    direction: Direction


@dataclass(frozen=True, slots=True)
class Shift:
    """What followed one event."""

    event_time_s: float
    before: WindowStats
    after: tuple[WindowChange, ...]
    direction: Direction  # of the after window with the largest |movement|
    movement: float
    peak_window: int  # index into ``after`` (-1 when none could be measured)
    zone_before: str
    zone_after: str
    changes: dict[str, float] = field(default_factory=dict)  # the peak window's changes

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (NaN becomes None)."""
        return json_safe_fields(self)


def band_distance(
    arousal: np.ndarray | float,
    lowness: np.ndarray | float | None,
    params: RegulationParams,
) -> np.ndarray:
    """0 at baseline, 1 at the band's edge on either side (see module docs).

    ``max(arousal / high_enter, lowness / low_enter, 0)``; without ``lowness``, ``-arousal``
    stands for it.
    """
    a = np.asarray(arousal, dtype=np.float64)
    low = -a if lowness is None else np.asarray(lowness, dtype=np.float64)
    out = np.maximum(np.maximum(a / params.high_enter, low / params.low_enter), 0.0)
    return np.where(np.isnan(a) | np.isnan(low), np.nan, out)


def _direction(movement: np.ndarray, min_movement: float) -> np.ndarray:
    out = np.full(movement.shape, "none", dtype=object)
    out[movement >= min_movement] = "toward"
    out[movement <= -min_movement] = "away"
    out[~np.isfinite(movement)] = "unknown"
    return out


class _Windows:
    """Prefix sums of the beat series, for window means over many windows at once."""

    def __init__(self, times_s: np.ndarray, series: dict[str, np.ndarray]) -> None:
        self.times = times_s
        self.sums: dict[str, np.ndarray] = {}
        self.counts: dict[str, np.ndarray] = {}
        for name, values in series.items():
            ok = np.isfinite(values)
            self.sums[name] = np.concatenate(([0.0], np.cumsum(np.where(ok, values, 0.0))))
            self.counts[name] = np.concatenate(([0], np.cumsum(ok)))
        ok = np.isfinite(series["arousal"])
        idx = np.where(ok, np.arange(times_s.size), -1)
        self.last_valid = np.maximum.accumulate(idx) if idx.size else idx
        intervals = np.diff(times_s)
        self.beat_s = float(np.median(intervals)) if intervals.size else math.nan

    def mean(
        self, name: str, lo_s: np.ndarray, hi_s: np.ndarray, min_coverage: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        i0 = np.searchsorted(self.times, lo_s, side="right")
        i1 = np.searchsorted(self.times, hi_s, side="right")
        n = self.counts[name][i1] - self.counts[name][i0]
        with np.errstate(invalid="ignore", divide="ignore"):
            m = (self.sums[name][i1] - self.sums[name][i0]) / n
        enough = n * self.beat_s >= min_coverage * (hi_s - lo_s)
        return np.where(enough & (n > 0), m, np.nan), i0, i1, i1 - i0


def shift_table(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    arousal: np.ndarray,
    event_times_s: np.ndarray,
    baseline: Baseline,
    *,
    zone: np.ndarray | None = None,
    lowness: np.ndarray | None = None,
    params: ShiftParams = DEFAULT_SHIFT_PARAMS,
    regulation: RegulationParams = DEFAULT_PARAMS,
) -> dict[str, np.ndarray]:
    """Vectorised shift measures for many events.

    Parameters
    ----------
    times_s, hr_bpm, rmssd_ms, arousal : ndarray
        Beat times (s), window HR (bpm), window RMSSD (ms) and the arousal indicator.
    event_times_s : ndarray
        Event times on the beat clock (s).
    baseline : Baseline
        Supplies the spreads for effect sizes.
    zone : ndarray of int, optional
        Zone codes per beat (:class:`~trm_bio.core.regulation.Zone`); when absent, a
        window's zone is read from its mean arousal with the enter thresholds.
    lowness : ndarray, optional
        Low-side evidence per beat (``RegulationTrace.lowness``); default ``-arousal``.
    params, regulation : ShiftParams, RegulationParams
        Windows and direction threshold; zone thresholds for the band distance.

    Returns
    -------
    dict of ndarray
        Keys ``hr_bpm``, ``ln_rmssd``, ``arousal``, ``band_distance``, ``zone``,
        ``n_beats``, each of shape (n_events, 1 + n_after): column 0 is the before window;
        and ``d_hr_bpm``, ``d_hr_effect``, ``d_ln_rmssd``, ``d_ln_rmssd_effect``,
        ``d_arousal``, ``movement``, ``direction`` of shape (n_events, n_after).
    """
    times = np.asarray(times_s, dtype=np.float64)
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rmssd = np.asarray(rmssd_ms, dtype=np.float64)
    a = np.asarray(arousal, dtype=np.float64)
    if not (hr.shape == rmssd.shape == a.shape == times.shape):
        raise TrmBioError("Beat times, heart rate, RMSSD and arousal must be equal-length arrays.")
    events = np.atleast_1d(np.asarray(event_times_s, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_rmssd = np.log(np.where(rmssd > 0, rmssd, np.nan))
    low = -a if lowness is None else np.asarray(lowness, dtype=np.float64)
    if low.shape != a.shape:
        raise TrmBioError("The lowness indicator must have one value per beat.")
    win = _Windows(times, {"hr": hr, "ln": ln_rmssd, "arousal": a, "low": low})
    bounds = [(-params.before_s, 0.0), *params.after_windows]
    lo = events[:, None] + np.array([b[0] for b in bounds])[None, :]
    hi = events[:, None] + np.array([b[1] for b in bounds])[None, :]
    cov = params.min_coverage
    hr_m, _, _, n_beats = win.mean("hr", lo, hi, cov)
    ln_m, _, _, _ = win.mean("ln", lo, hi, cov)
    ar_m, i0, i1, _ = win.mean("arousal", lo, hi, cov)
    low_m, _, _, _ = win.mean("low", lo, hi, cov)
    dist = band_distance(ar_m, low_m, regulation)
    # Zone at each window's last valid beat (what the display showed then).
    if zone is not None and times.size:
        z = np.asarray(zone)
        last = win.last_valid[np.maximum(i1 - 1, 0)]
        has = (i1 > 0) & (last >= i0) & np.isfinite(ar_m)
        zones = np.where(has, z[np.maximum(last, 0)], int(Zone.UNKNOWN))
    else:
        zones = np.where(
            ar_m >= regulation.high_enter,
            int(Zone.HIGH),
            np.where(low_m >= regulation.low_enter, int(Zone.LOW), int(Zone.RESILIENT)),
        )
        zones = np.where(np.isfinite(ar_m), zones, int(Zone.UNKNOWN))
    d_hr = hr_m[:, 1:] - hr_m[:, :1]
    d_ln = ln_m[:, 1:] - ln_m[:, :1]
    movement = dist[:, :1] - dist[:, 1:]
    return {
        "hr_bpm": hr_m,
        "ln_rmssd": ln_m,
        "arousal": ar_m,
        "band_distance": dist,
        "zone": zones.astype(np.int8),
        "n_beats": n_beats,
        "d_hr_bpm": d_hr,
        "d_hr_effect": d_hr / baseline.hr_spread_bpm,
        "d_ln_rmssd": d_ln,
        "d_ln_rmssd_effect": d_ln / baseline.ln_rmssd_spread,
        "d_arousal": ar_m[:, 1:] - ar_m[:, :1],
        "movement": movement,
        "direction": _direction(movement, params.min_movement),
    }


def detect_shifts(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    arousal: np.ndarray,
    event_times_s: Sequence[float] | np.ndarray,
    baseline: Baseline,
    *,
    zone: np.ndarray | None = None,
    lowness: np.ndarray | None = None,
    params: ShiftParams = DEFAULT_SHIFT_PARAMS,
    regulation: RegulationParams = DEFAULT_PARAMS,
) -> list[Shift]:
    """:class:`Shift` for each event (vectorised; see :func:`shift_table` for arguments)."""
    tab = shift_table(
        times_s, hr_bpm, rmssd_ms, arousal, np.asarray(event_times_s, dtype=np.float64),
        baseline, zone=zone, lowness=lowness, params=params, regulation=regulation,
    )
    bounds = [(-params.before_s, 0.0), *params.after_windows]
    labels = {int(z): z.label for z in Zone}
    events = np.atleast_1d(np.asarray(event_times_s, dtype=np.float64))
    shifts = []
    for k, t in enumerate(events.tolist()):
        stats = [
            WindowStats(
                start_s=float(bounds[j][0]),
                end_s=float(bounds[j][1]),
                n_beats=int(tab["n_beats"][k, j]),
                hr_bpm=float(tab["hr_bpm"][k, j]),
                ln_rmssd=float(tab["ln_rmssd"][k, j]),
                rmssd_ms=float(np.exp(tab["ln_rmssd"][k, j])),
                arousal=float(tab["arousal"][k, j]),
                band_distance=float(tab["band_distance"][k, j]),
                zone=labels[int(tab["zone"][k, j])],
            )
            for j in range(len(bounds))
        ]
        changes = tuple(
            WindowChange(
                window=stats[j + 1],
                d_hr_bpm=float(tab["d_hr_bpm"][k, j]),
                d_hr_effect=float(tab["d_hr_effect"][k, j]),
                d_ln_rmssd=float(tab["d_ln_rmssd"][k, j]),
                d_ln_rmssd_effect=float(tab["d_ln_rmssd_effect"][k, j]),
                d_arousal=float(tab["d_arousal"][k, j]),
                movement=float(tab["movement"][k, j]),
                direction=tab["direction"][k, j],
            )
            for j in range(len(bounds) - 1)
        )
        mov = tab["movement"][k]
        if np.isfinite(mov).any():
            peak = int(np.nanargmax(np.abs(mov)))
            chosen = changes[peak]
            summary = {
                "d_hr_bpm": chosen.d_hr_bpm,
                "d_hr_effect": chosen.d_hr_effect,
                "d_ln_rmssd": chosen.d_ln_rmssd,
                "d_ln_rmssd_effect": chosen.d_ln_rmssd_effect,
                "d_arousal": chosen.d_arousal,
            }
            shifts.append(
                Shift(t, stats[0], changes, chosen.direction, chosen.movement, peak,
                      stats[0].zone, chosen.window.zone, summary)
            )
        else:
            shifts.append(
                Shift(t, stats[0], changes, "unknown", math.nan, -1, stats[0].zone,
                      changes[-1].window.zone)
            )
    return shifts


def detect_shift(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    arousal: np.ndarray,
    event_time_s: float,
    baseline: Baseline,
    *,
    zone: np.ndarray | None = None,
    lowness: np.ndarray | None = None,
    before_s: float = 60.0,
    after_windows: tuple[tuple[float, float], ...] = ((0.0, 60.0), (60.0, 120.0)),
    min_movement: float = 0.33,
    min_coverage: float = 0.5,
    regulation: RegulationParams = DEFAULT_PARAMS,
) -> Shift:
    """What followed one event: changes before -> after, effect sizes, direction, zones.

    Parameters
    ----------
    times_s, hr_bpm, rmssd_ms, arousal : ndarray
        Beat times (s), window HR (bpm), window RMSSD (ms), arousal indicator.
    event_time_s : float
        Time of the event on the beat clock (s).
    baseline : Baseline
        Supplies the spreads for the effect sizes.
    zone : ndarray of int, optional
        Zone codes per beat, for the zone before/after.
    lowness : ndarray, optional
        Low-side evidence per beat (``RegulationTrace.lowness``); default ``-arousal``.
    before_s, after_windows, min_movement, min_coverage
        See :class:`ShiftParams`.
    regulation : RegulationParams
        Zone thresholds (for the band distance).
    """
    params = ShiftParams(before_s, tuple(after_windows), min_movement, min_coverage)
    return detect_shifts(
        times_s, hr_bpm, rmssd_ms, arousal, [event_time_s], baseline,
        zone=zone, lowness=lowness, params=params, regulation=regulation,
    )[0]


class ShiftWatch(Generic[T]):
    """Measures the shift after each event of a running session, once it can be measured.

    An event is measured at its *due beat*: the first settled beat at or after the end of
    its last after-window (event time + the largest after-window end). Only the beats up to
    the due beat are used, so the result does not depend on when :meth:`measure` runs
    (every drain, after a late log, after a replay's seek). An event waits while the
    regulation model has no baseline yet.

    Parameters
    ----------
    params, regulation : ShiftParams, RegulationParams
        Windows and thresholds (as :func:`detect_shifts`).
    """

    def __init__(
        self,
        params: ShiftParams = DEFAULT_SHIFT_PARAMS,
        regulation: RegulationParams = DEFAULT_PARAMS,
    ) -> None:
        self.params = params
        self.regulation = regulation
        self.wait_s = max(end for _, end in params.after_windows)
        self._pending: list[tuple[float, T]] = []
        self._next_due_s = math.inf

    def add(self, event_time_s: float, tag: T) -> None:
        """Watch an event at ``event_time_s`` (s, beat clock); ``tag`` comes back with it."""
        self._pending.append((float(event_time_s), tag))
        self._next_due_s = min(self._next_due_s, float(event_time_s) + self.wait_s)

    def reset(self) -> None:
        """Forget every waiting event (a replay's seek re-adds those before the new point)."""
        self._pending = []
        self._next_due_s = math.inf

    @property
    def waiting(self) -> int:
        """How many events wait for their due beat."""
        return len(self._pending)

    def due(self, settled_s: float) -> bool:
        """Whether an event's due beat has come by the settled beat at ``settled_s`` (s)."""
        return settled_s >= self._next_due_s

    def measure(
        self,
        times_s: np.ndarray,
        hr_bpm: np.ndarray,
        rmssd_ms: np.ndarray,
        arousal: np.ndarray,
        baseline: Baseline | None,
        *,
        zone: np.ndarray | None = None,
        lowness: np.ndarray | None = None,
    ) -> list[tuple[T, Shift, float]]:
        """Measure the events whose due beat is among the settled beats given.

        Parameters
        ----------
        times_s, hr_bpm, rmssd_ms, arousal : ndarray
            The settled beats so far: times (s), window HR (bpm), window RMSSD (ms), arousal.
        baseline : Baseline or None
            The regulation model's baseline (None: the events wait).
        zone, lowness : ndarray, optional
            Zone codes and low-side evidence per beat (see :func:`shift_table`).

        Returns
        -------
        list of (tag, Shift, due_s)
            In event-time order; ``due_s`` is the time of the due beat (s).
        """
        times = np.asarray(times_s, dtype=np.float64)
        if baseline is None or not times.size or not self.due(float(times[-1])):
            return []
        now_s = float(times[-1])
        ready = sorted(
            (p for p in self._pending if p[0] + self.wait_s <= now_s), key=lambda p: p[0]
        )
        self._pending = [p for p in self._pending if p[0] + self.wait_s > now_s]
        self._next_due_s = min((t + self.wait_s for t, _ in self._pending), default=math.inf)
        found = []
        for event_s, tag in ready:
            end = int(np.searchsorted(times, event_s + self.wait_s, side="left")) + 1
            (shift,) = detect_shifts(
                times[:end],
                np.asarray(hr_bpm)[:end],
                np.asarray(rmssd_ms)[:end],
                np.asarray(arousal)[:end],
                [event_s],
                baseline,
                zone=None if zone is None else np.asarray(zone)[:end].astype(np.int8),
                lowness=None if lowness is None else np.asarray(lowness)[:end],
                params=self.params,
                regulation=self.regulation,
            )
            found.append((tag, shift, float(times[end - 1])))
        return found
