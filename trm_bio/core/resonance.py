"""Resonance-frequency assessment: the protocol, and each paced rate's score.

The standard protocol of HRV biofeedback (Lehrer, Vaschillo & Vaschillo 2000; Shaffer &
Meehan 2020, doi:10.3389/fnins.2020.570400): breathe with a pacer at 6.5, 6.0, 5.5, 5.0 and
4.5 breaths/min for 2 minutes each, with rest between, and choose the rate where the heart
rate's breathing rhythm is strongest. The published criteria, in priority order:

1. **Phase**: heart rate and breathing in phase (0 degrees: heart rate highest as the lungs
   are fullest). The phase of the heart rate's component at the paced rate against the
   breathing reference's: the pacer's breath shape, or measured breathing when the strap
   gives it (any reference whose fundamental marks the breath).
2. **Swing**: the peak-to-trough heart-rate swing per breath (bpm; median over the breaths).
3. **LF power**: 0.04-0.15 Hz power of the RR series (ms²).
4. **LF peak height**: the highest spectral density in 0.04-0.15 Hz (ms²/Hz).
5. **Smoothness**: the share of the heart rate's variance at the paced rate (a smooth,
   sine-like curve has nearly all of it there; 0..1).
6. **Fewest LF peaks**: local peaks of the LF spectrum standing at least 10 % of its highest.

The choice follows the priority order as the protocol describes it: lexicographic, with a
tolerance per criterion (``TOLERANCES``). The rates closest to 0 degrees, within 5 degrees
of the best (about one step's phase measurement error), stay in; among them the largest
swing, within 10 %, stays in; then LF power, LF peak height (10 % each), smoothness (0.05)
and the fewest LF peaks; what is still level goes to the better values in the same order.
Ranking the rest the same way gives each rate's ``rank`` (1: the resonance rate). A weighted
sum would let a lower criterion outvote phase, and the swing is the noisiest of them: a
resting heart's vagal tone wanders by a fifth or so from minute to minute, as much as the
swing differs between neighbouring rates near resonance (10-12 %), so one step's swing is a
coin toss against its neighbour's, while the phase, which amplitude wander leaves alone,
moves 20-30 degrees per 0.5 /min with an error of about 5 degrees. On the simulated people
the largest swing alone finds the rate about half the time; dividing each step's swing by
the rests around it, or taking the top of a parabola through the five log swings, was no
better overall (the rests are short, and the curve is flat near its top).

Each rate also gets credits in 0..1 (phase: 1 - |phase| / 90 degrees, 0 beyond 90 degrees
off; swing, LF power and LF peak height: over the best rate's; smoothness as it is; peaks:
the fewest over this rate's) and a ``score``, their weighted mean with weights 6, 5, 4, 3,
2, 1 in the priority order: a summary to show, not what chooses. The first ``settle_s`` of
each step are left out: the body takes a few breaths to settle into a new rhythm.

On simulated people (``devices.physiology.ResonanceResponse`` in the calm scenario with its
resting wander of heart rate and RSA depth, seeds 0-29, true beats), the rate found is
within 0.25 /min of theirs for 29/30 at 4.5 /min, 29/30 at 5.0 and 30/30 at 5.5, 6.0 and
6.5 (``python -m bench resonance``; on seeds 30-59, not looked at while choosing the
tolerances: 30, 30, 29, 29 and 30 of 30). The weighted sum this replaced
found 73 %, 77 %, 67 %, 53 % and 67 %. Phase against the pacer needs the beats on the
pacer's clock: a live timeline anchors at a packet that can arrive up to a second after its
beats (20 degrees at 6.5 /min), so a finished assessment times its beats with
:func:`trm_bio.core.timeline.beats_pinned_to_arrivals`.

Real people are not always in phase at resonance (Lehrer, Vaschillo & Vidali 2020, "Heart
rate and breathing are not always in phase during resonance frequency breathing": in adults
with asthma, interbeat interval and breathing were 109 degrees apart rather than 180), so
the phases are shown with the choice, for the practitioner to weigh.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from trm_bio.core.pacer import PacerTrack

FloatArray = npt.NDArray[np.float64]

ASSESSMENT_RATES: tuple[float, ...] = (6.5, 6.0, 5.5, 5.0, 4.5)
WEIGHTS: tuple[float, ...] = (6.0, 5.0, 4.0, 3.0, 2.0, 1.0)
CRITERIA: tuple[str, ...] = (
    "phase", "swing", "lf_power", "lf_peak", "smoothness", "fewest_lf_peaks",
)
LF_HZ = (0.04, 0.15)
GRID_HZ = 4.0
PEAK_SHARE = 0.10  # an LF peak counts when it stands this share of the highest one
MIN_BEATS = 25  # fewer beats in a step: it cannot be scored
MIN_SCORED_S = 30.0  # a shorter stretch of beats in a step: it cannot be scored
#: How close two rates must be on a criterion to count as level on it, so that the next
#: criterion decides: ("absolute", units of the criterion) or ("relative", share of the best).
TOLERANCES: dict[str, tuple[str, float]] = {
    "phase": ("absolute", 5.0),  # degrees
    "swing": ("relative", 0.10),
    "lf_power": ("relative", 0.10),
    "lf_peak": ("relative", 0.10),
    "smoothness": ("absolute", 0.05),
    "fewest_lf_peaks": ("absolute", 0.0),
}


@dataclass(frozen=True)
class AssessmentProtocol:
    """The guided protocol: a rest, then each rate for ``step_s`` with ``rest_s`` between.

    Parameters
    ----------
    rates_per_min : tuple of float
        The paced rates, in the order played (breaths/min).
    step_s, rest_s : float
        Length of each paced step and of each rest (s); a rest of ordinary breathing also
        comes first.
    settle_s : float
        The start of each step left out of its score (s).
    inhale_fraction : float
        The pacer's inhale share of a breath.
    """

    rates_per_min: tuple[float, ...] = ASSESSMENT_RATES
    step_s: float = 120.0
    rest_s: float = 60.0
    settle_s: float = 20.0
    inhale_fraction: float = 0.5

    def __post_init__(self) -> None:
        if not self.rates_per_min:
            raise ValueError("The assessment needs at least one rate.")
        if any(not 3.0 <= r <= 10.0 for r in self.rates_per_min):
            raise ValueError("Each assessment rate must be between 3 and 10 breaths/min.")
        if not self.step_s >= 60.0:
            raise ValueError("Each assessment step must last at least 60 seconds.")
        if not 0.0 <= self.settle_s <= self.step_s - 40.0:
            raise ValueError("The settling time must leave at least 40 seconds of each step.")
        if not self.rest_s >= 0.0:
            raise ValueError("The rest between steps cannot be negative.")

    def steps(self) -> list[tuple[float, float, float]]:
        """(rate per min, start s, end s) of each paced step, on the session clock."""
        out = []
        t = self.rest_s
        for rate in self.rates_per_min:
            out.append((rate, t, t + self.step_s))
            t += self.step_s + self.rest_s
        return out

    @property
    def duration_s(self) -> float:
        """The whole protocol (s), ending with the last step."""
        return self.steps()[-1][2]

    def track(self) -> PacerTrack:
        """The pacer of the whole protocol (on during each step, off while resting)."""
        track = PacerTrack()
        for rate, start_s, end_s in self.steps():
            track.start(start_s, rate, self.inhale_fraction)
            track.stop(end_s)
        return track


@dataclass(frozen=True)
class RateScore:
    """One paced rate's measures and score (NaN where the step could not be measured)."""

    rate_per_min: float
    phase_deg: float
    swing_bpm: float
    lf_ms2: float
    lf_peak_ms2_per_hz: float
    smoothness: float
    lf_peaks: int
    beats: int
    score: float = math.nan
    credits: dict[str, float] = field(default_factory=dict)
    rank: int | None = None

    @property
    def measured(self) -> bool:
        return math.isfinite(self.phase_deg) and math.isfinite(self.swing_bpm)


def swing_per_breath(
    beat_times_s: npt.ArrayLike, rr_ms: npt.ArrayLike, boundaries_s: npt.ArrayLike
) -> FloatArray:
    """Peak-to-trough heart-rate swing (bpm) within each breath (the RSA amplitude).

    Parameters
    ----------
    beat_times_s, rr_ms : array of float
        Beat times (s) and RR intervals (ms); NaN RR (rejected beats) are left out.
    boundaries_s : array of float
        Breath starts (s), increasing; breath k runs from boundary k to boundary k+1.

    Returns
    -------
    numpy.ndarray
        One swing per breath (bpm); NaN for a breath with fewer than 3 beats.
    """
    t = np.asarray(beat_times_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    edges = np.asarray(boundaries_s, dtype=np.float64)
    good = np.isfinite(rr) & (rr > 0)
    t, hr = t[good], 60000.0 / rr[good]
    if edges.size < 2:
        return np.empty(0)
    start = np.searchsorted(t, edges[:-1], side="left")
    stop = np.searchsorted(t, edges[1:], side="left")
    out = np.full(edges.size - 1, np.nan)
    for k, (a, b) in enumerate(zip(start, stop, strict=True)):
        if b - a >= 3:
            out[k] = float(hr[a:b].max() - hr[a:b].min())
    return out


def _lf_spectrum(hr_grid: FloatArray, rr_grid: FloatArray) -> tuple[FloatArray, FloatArray]:
    from scipy.signal import periodogram

    # One Hann-windowed periodogram of the whole step, zero-padded for a smooth LF curve:
    # a 100 s step has 0.01 Hz resolution, enough to tell 4.5 from 6.5 /min.
    nfft = max(4096, int(2 ** math.ceil(math.log2(rr_grid.size))))
    freqs, psd = periodogram(rr_grid, fs=GRID_HZ, window="hann", nfft=nfft, detrend="linear")
    return np.asarray(freqs, dtype=np.float64), np.asarray(psd, dtype=np.float64)


def measure_rate(
    beat_times_s: npt.ArrayLike,
    rr_ms: npt.ArrayLike,
    rate_per_min: float,
    start_s: float,
    end_s: float,
    reference_t_s: npt.ArrayLike,
    reference: npt.ArrayLike,
) -> RateScore:
    """The six measures of one paced step (unscored; see :func:`score_rates`).

    Parameters
    ----------
    beat_times_s, rr_ms : array of float
        The session's beats (s, ms); NaN RR are left out.
    rate_per_min : float
        The paced rate (breaths/min).
    start_s, end_s : float
        The stretch to measure (s), settling already left out.
    reference_t_s, reference : array of float
        The breathing reference: times (s) and a signal that is highest as the lungs are
        fullest (the pacer's breath shape, or measured breathing); NaN where unknown.
    """
    from scipy.signal import find_peaks

    t = np.asarray(beat_times_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    # An interval's heart rate belongs to its middle, not to the beat that ends it: at the
    # end it would lag by half a beat (about 14 degrees of a 5 /min breath).
    t = t - np.where(np.isfinite(rr), rr, 0.0) / 2000.0
    inside = (t >= start_s) & (t < end_s) & np.isfinite(rr) & (rr > 0)
    t, rr = t[inside], rr[inside]
    nan = RateScore(rate_per_min, math.nan, math.nan, math.nan, math.nan, math.nan, 0, t.size)
    if t.size < MIN_BEATS:
        return nan
    grid = np.arange(max(start_s, t[0]), min(end_s, t[-1]), 1.0 / GRID_HZ)
    if grid.size < MIN_SCORED_S * GRID_HZ:
        return nan
    rr_grid = np.interp(grid, t, rr)
    hr_grid = 60000.0 / rr_grid
    ref = np.interp(grid, np.asarray(reference_t_s, dtype=np.float64),
                    np.asarray(reference, dtype=np.float64))
    omega = 2.0 * math.pi * rate_per_min / 60.0
    carrier = np.exp(-1j * omega * grid)
    hr_dev = hr_grid - hr_grid.mean()
    z_hr = complex(np.sum(hr_dev * carrier))
    known = np.isfinite(ref)
    phase_deg = math.nan
    if known.mean() > 0.8:
        z_ref = complex(np.sum((ref[known] - ref[known].mean()) * carrier[known]))
        if abs(z_ref) > 0:
            phase_deg = math.degrees(np.angle(z_hr / z_ref))
    # The variance of a sinusoid with the fitted amplitude 2|z|/N over the heart rate's.
    amplitude = 2.0 * abs(z_hr) / grid.size
    variance = float(np.var(hr_dev))
    smoothness = min(1.0, 0.5 * amplitude**2 / variance) if variance > 0 else math.nan

    period_s = 60.0 / rate_per_min
    edges = np.arange(grid[0], grid[-1] + 1e-9, period_s)
    swings = swing_per_breath(t, rr, edges)
    swing = float(np.nanmedian(swings)) if np.isfinite(swings).any() else math.nan

    freqs, psd = _lf_spectrum(hr_grid, rr_grid)
    lf = (freqs >= LF_HZ[0]) & (freqs < LF_HZ[1])
    lf_power = float(np.trapezoid(psd[lf], freqs[lf]))
    lf_peak = float(psd[lf].max())
    peaks, _ = find_peaks(psd[lf], prominence=PEAK_SHARE * lf_peak)
    return RateScore(
        rate_per_min, phase_deg, swing, lf_power, lf_peak, smoothness, max(1, peaks.size),
        int(t.size),
    )


def _criterion_values(m: RateScore) -> tuple[float, ...]:
    """The six criteria of one rate, each the higher the better, in priority order."""
    return (
        -abs(m.phase_deg),
        m.swing_bpm,
        m.lf_ms2,
        m.lf_peak_ms2_per_hz,
        m.smoothness if math.isfinite(m.smoothness) else 0.0,
        -float(m.lf_peaks),
    )


def _tied(values: list[float], criterion: str) -> list[bool]:
    """Which values are level with the best one within the criterion's tolerance."""
    best = max(values)
    kind, tol = TOLERANCES[criterion]
    margin = tol * abs(best) if kind == "relative" else tol
    return [v >= best - margin for v in values]


def _first(candidates: list[RateScore]) -> RateScore:
    """The rate the criteria put first: lexicographic, each level within its tolerance."""
    pool = list(candidates)
    for i, criterion in enumerate(CRITERIA):
        if len(pool) == 1:
            break
        keep = _tied([_criterion_values(m)[i] for m in pool], criterion)
        pool = [m for m, k in zip(pool, keep, strict=True) if k]
    # Level on every criterion: the better values, exactly, in priority order.
    return max(pool, key=_criterion_values)


def score_rates(measures: list[RateScore]) -> list[RateScore]:
    """Each rate's credits, score and rank (see module doc); unmeasured rates keep a NaN score
    and no rank."""
    measured = [m for m in measures if m.measured]
    if not measured:
        return list(measures)
    best_swing = max(m.swing_bpm for m in measured)
    best_lf = max(m.lf_ms2 for m in measured)
    best_peak = max(m.lf_peak_ms2_per_hz for m in measured)
    fewest = min(m.lf_peaks for m in measured)
    ranks: dict[float, int] = {}
    left = list(measured)
    while left:
        first = _first(left)
        ranks[first.rate_per_min] = len(ranks) + 1
        left.remove(first)
    out = []
    for m in measures:
        if not m.measured:
            out.append(m)
            continue
        credits = {
            "phase": max(0.0, 1.0 - abs(m.phase_deg) / 90.0),
            "swing": m.swing_bpm / best_swing if best_swing > 0 else 0.0,
            "lf_power": m.lf_ms2 / best_lf if best_lf > 0 else 0.0,
            "lf_peak": m.lf_peak_ms2_per_hz / best_peak if best_peak > 0 else 0.0,
            "smoothness": m.smoothness if math.isfinite(m.smoothness) else 0.0,
            "fewest_lf_peaks": fewest / m.lf_peaks,
        }
        score = sum(w * credits[c] for w, c in zip(WEIGHTS, CRITERIA, strict=True)) / sum(
            WEIGHTS
        )
        out.append(RateScore(
            **{**_fields(m), "score": score, "credits": credits, "rank": ranks[m.rate_per_min]}
        ))
    return out


def _fields(m: RateScore) -> dict[str, Any]:
    return {k: getattr(m, k) for k in RateScore.__dataclass_fields__}


def best_rate(scores: list[RateScore]) -> float | None:
    """The resonance rate: the rate ranked first (see :func:`score_rates`); None when no rate
    could be measured."""
    ranked = [s for s in scores if s.rank is not None]
    if not ranked:
        return None
    return min(ranked, key=lambda s: s.rank or 0).rate_per_min


@dataclass(frozen=True)
class Assessment:
    """A finished assessment: the scores per rate, the resonance rate and its reference."""

    scores: list[RateScore]
    resonance_rate: float | None
    reference: str  # "pacer" or "measured breathing"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: rates with their measures and score, ``resonance_rate`` (breaths/min)."""

        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        rates = []
        for s in self.scores:
            row = {k: clean(v) for k, v in asdict(s).items() if k != "credits"}
            row["credits"] = {k: round(v, 4) for k, v in s.credits.items()}
            rates.append(row)
        return {
            "resonance_rate": self.resonance_rate,
            "reference": self.reference,
            "rates": rates,
        }


def accel_trace_lead_rad(rate_per_min: float, config: Any = None) -> float:
    """How far (rad) :mod:`trm_bio.core.accel_breathing`'s trace leads the chest's own
    breathing at ``rate_per_min``.

    The trace is filtered causally (a slow exponential mean taken off as gravity, then a
    2nd-order Butterworth band-pass, on 0.1 s cells), and a causal high-pass leads: at
    6 /min by about 40 degrees. The response is computed from the same settings
    (``AccBreathingConfig``), so a phase taken against the trace can be turned into one
    against the breath.
    """
    from scipy.signal import butter, sosfreqz

    from trm_bio.core.accel_breathing import AccBreathingConfig

    cfg = config or AccBreathingConfig()
    nyquist = 0.5 / cfg.cell_s
    sos = butter(2, [cfg.band_hz[0] / nyquist, cfg.band_hz[1] / nyquist],
                 btype="bandpass", output="sos")
    w = 2.0 * math.pi * rate_per_min / 60.0 * cfg.cell_s  # rad per cell
    _, band = sosfreqz(sos, worN=[w])
    a = 1.0 - math.exp(-cfg.cell_s / cfg.gravity_tau_s)
    z = complex(np.exp(-1j * w))
    gravity_removed = 1.0 - a / (1.0 - (1.0 - a) * z)
    return float(np.angle(complex(band[0]) * gravity_removed))


def assess(
    beat_times_s: npt.ArrayLike,
    rr_ms: npt.ArrayLike,
    protocol: AssessmentProtocol,
    *,
    breathing_t_s: npt.ArrayLike | None = None,
    breathing: npt.ArrayLike | None = None,
    breathing_lead_rad: Callable[[float], float] | None = None,
) -> Assessment:
    """Score every step of ``protocol`` from the session's beats and choose the rate.

    Parameters
    ----------
    beat_times_s, rr_ms : array of float
        Beats on the protocol's clock (s from its start) and RR (ms).
    protocol : AssessmentProtocol
        What was paced when.
    breathing_t_s, breathing : array of float, optional
        Measured breathing (e.g. :mod:`trm_bio.core.accel_breathing`'s ``trace_mg``; NaN
        where unknown), turned the right way up against the pacer (:func:`_upright`). A step
        where it is known at least 80 % of the time takes its phase against it; otherwise
        against the pacer.
    breathing_lead_rad : callable, optional
        How far (rad) the measured trace leads the breath itself at a rate (breaths/min),
        e.g. :func:`accel_trace_lead_rad` for the accelerometer's filtered trace; taken off
        the measured phases. Default: no lead.
    """
    lead = breathing_lead_rad or (lambda rate: 0.0)
    track = protocol.track()
    measures = []
    used_measured = False
    if breathing_t_s is not None and breathing is not None:
        breathing = _upright(breathing_t_s, breathing, protocol, track, lead)
    for rate, start_s, end_s in protocol.steps():
        lo = start_s + protocol.settle_s
        grid = np.arange(lo, end_s, 1.0 / GRID_HZ)
        m: RateScore | None = None
        if breathing_t_s is not None and breathing is not None:
            m = measure_rate(beat_times_s, rr_ms, rate, lo, end_s, breathing_t_s, breathing)
            if math.isfinite(m.phase_deg):
                used_measured = True
                # Against the breath itself: the trace's own lead added back.
                phase = m.phase_deg + math.degrees(lead(rate))
                m = RateScore(**{**_fields(m), "phase_deg": (phase + 180.0) % 360.0 - 180.0})
        if m is None or not math.isfinite(m.phase_deg):
            _, shape = track.guide(grid)
            m = measure_rate(beat_times_s, rr_ms, rate, lo, end_s, grid, shape)
        measures.append(m)
    scores = score_rates(measures)
    return Assessment(
        scores, best_rate(scores), "measured breathing" if used_measured else "pacer"
    )


def _upright(
    t_s: npt.ArrayLike,
    trace: npt.ArrayLike,
    protocol: AssessmentProtocol,
    track: PacerTrack,
    lead: Callable[[float], float],
) -> FloatArray:
    """The measured trace turned so that it is highest as the lungs are fullest.

    Which way a chest strap's accelerometer trace swings with the in-breath depends on how
    the strap sits. A person breathing along follows the pacer within a fraction of a
    breath, so over all the steps together the trace's fundamental lies within 90 degrees
    of the pacer's; when it points the other way, the strap sits the other way round. One
    sign for the whole assessment: the strap does not turn over between steps, and a
    person lagging in one step keeps their lag.
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(trace, dtype=np.float64)
    agreement = 0.0
    for rate, start_s, end_s in protocol.steps():
        inside = (t >= start_s + protocol.settle_s) & (t < end_s) & np.isfinite(x)
        if inside.sum() < 10:
            continue
        carrier = np.exp(-1j * 2.0 * math.pi * rate / 60.0 * t[inside])
        _, paced = track.guide(t[inside])
        z_measured = np.sum((x[inside] - x[inside].mean()) * carrier)
        z_paced = np.sum((paced - paced.mean()) * carrier)
        z_breath = z_measured * np.exp(-1j * lead(rate))
        agreement += float(np.real(z_breath * np.conj(z_paced)))
    out: FloatArray = -x if agreement < 0 else x
    return out
