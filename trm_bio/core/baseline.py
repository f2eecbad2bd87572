"""A person's own baseline: the reference the regulation indicator is measured against.

A client's resilient zone is personal (see DESIGN.md, "Regulation model anchors"), so the
indicator compares heart rate and vagal HRV with the person's own resting values rather
than with population norms. The baseline is either the first minutes of valid values of
the current session (``source="session-start"``) or a combination of the session-start
baselines of their earlier sessions (``source="previous-sessions"``).

Centre and spread are robust (median and scaled median absolute deviation) because the
first minutes of a session often hold a settling-in drift or a few stray window values.
The values are window means (HR over 30-60 s, RMSSD over 60 s) and so are strongly
autocorrelated: their spread over three minutes understates how much the person's
physiology naturally moves from minute to minute. Each spread therefore has a floor, so a
very steady start does not make the indicator jumpy for the rest of the session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from trm_bio.core.errors import TrmBioError
from trm_bio.core.json_safe import json_safe_fields

BaselineSource = Literal["session-start", "previous-sessions"]

# Scale that turns a median absolute deviation into a standard deviation for normal data.
MAD_TO_SD = 1.482602218505602


@dataclass(frozen=True, slots=True)
class BaselineParams:
    """How a baseline is built, and when a session-start calibration is good enough.

    Parameters
    ----------
    duration_s : float
        Length of the session-start calibration, counted from the first beat with valid
        values (s). Three minutes of valid values: an ordinary resting heart wanders by
        a few bpm from minute to minute, and three minutes hold at least one and a half
        independent 120 s RMSSD windows.
    max_duration_s : float
        A calibration whose last ``duration_s`` show a trend or too little clean data is
        extended (its window slides on) up to this long after it began (s); if it is still
        poor then, it is rejected with its reason and a new one starts.
    min_beats : int
        Fewest valid values the calibration window needs.
    min_valid_share : float
        Share of the window's time that must be covered by valid beats (each valid value
        covers one beat, ``60 / HR`` s); less means gaps, corrections or an irregular
        stretch took too much of it.
    max_hr_trend_bpm : float
        Largest change of heart rate across the window, from a robust (Theil-Sen) line
        (bpm). At real rest the change over 3 minutes is 1-5 bpm (90th percentile 3-6 bpm
        on drivedb drive06 and MIT-BIH 100, 101, 105, 116, 119); a heart settling from 92 to
        75 bpm changes by far more, and its window would set a centre the person has left.
    max_ln_rmssd_trend : float
        Largest change of ln RMSSD across the window (natural-log units; 0.7 is a halving
        or doubling; 90th percentile at rest 0.2-0.6 on the same records).
    hr_spread_factor, ln_rmssd_spread_factor : float
        The detrended robust spread of three minutes of window means understates how far
        the same person's resting values move over longer rest: over the rest periods of
        drive06 and 30 minutes of MIT-BIH 100, 101, 105, 119, 223 the long-rest spread was
        a median 2.0x (HR, 20-30 s windows) and 2.5-3x (ln RMSSD, 120 s window) the
        3-minute detrended spread. The spread is multiplied by these factors.
    min_hr_spread_bpm : float
        Floor of the heart-rate spread (bpm). Resting HR commonly wanders by several bpm
        from minute to minute (talking, posture); a smaller spread would turn ordinary
        fluctuation into "arousal".
    min_ln_rmssd_spread : float
        Floor of the ln RMSSD spread (natural-log units). Short-window ln RMSSD at rest
        varies by roughly 0.2-0.4 from window to window (Munoz et al. 2015, PLoS One
        10:e0138921); day-to-day coefficient of variation of ln RMSSD is 3-10 % of about
        3.5 (Plews et al. 2012, Int J Sports Physiol Perform 7:94-101).
    min_resp_spread_per_min : float
        Floor of the respiration-rate spread (breaths/min).
    check_interval_s : float
        How often (s of beat time) a calibration that has reached its length is judged
        again while it is extended; bounds the live cost.
    min_sessions : int
        Fewest earlier session-start baselines before their pooled baseline is used by
        default instead of a settling calibration (three: one unusual day cannot set it).
    """

    duration_s: float = 180.0
    max_duration_s: float = 420.0
    min_beats: int = 120
    min_valid_share: float = 0.8
    max_hr_trend_bpm: float = 8.0
    max_ln_rmssd_trend: float = 0.7
    hr_spread_factor: float = 2.0
    ln_rmssd_spread_factor: float = 2.5
    min_hr_spread_bpm: float = 4.0
    min_ln_rmssd_spread: float = 0.3
    min_resp_spread_per_min: float = 1.0
    check_interval_s: float = 5.0
    min_sessions: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.duration_s <= self.max_duration_s:
            raise TrmBioError(
                "The calibration length must be above 0 and at most its longest extension."
            )


@dataclass(frozen=True, slots=True)
class Baseline:
    """Robust centre and spread of a person's heart rate and ln RMSSD at rest.

    Parameters
    ----------
    hr_bpm, hr_spread_bpm : float
        Median heart rate and its robust spread (bpm).
    ln_rmssd, ln_rmssd_spread : float
        Median of ln(RMSSD / 1 ms) and its robust spread (natural-log units).
    n_beats : int
        Number of beats the baseline was built from (summed over sessions).
    source : {"session-start", "previous-sessions"}
        Where it came from.
    resp_rate_per_min, resp_spread_per_min : float
        Median respiration rate and spread (breaths/min); NaN when not available.
    n_sessions : int
        Number of sessions combined (1 for a session-start baseline).
    """

    hr_bpm: float
    hr_spread_bpm: float
    ln_rmssd: float
    ln_rmssd_spread: float
    n_beats: int
    source: BaselineSource = "session-start"
    resp_rate_per_min: float = math.nan
    resp_spread_per_min: float = math.nan
    n_sessions: int = 1

    @property
    def rmssd_ms(self) -> float:
        """Baseline RMSSD (ms), the exponential of the ln centre (NaN without HRV)."""
        return math.exp(self.ln_rmssd)

    @property
    def has_hrv(self) -> bool:
        """Whether the baseline holds vagal HRV (False: heart rate only, as from a pulse
        sensor whose beat timing was too noisy for HRV during the calibration)."""
        return math.isfinite(self.ln_rmssd) and self.ln_rmssd_spread > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (NaN becomes None)."""
        return json_safe_fields(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        """Inverse of :meth:`to_dict`; raises TrmBioError on a malformed record."""
        try:
            return cls(
                hr_bpm=float(data["hr_bpm"]),
                hr_spread_bpm=float(data["hr_spread_bpm"]),
                ln_rmssd=_float_or_nan(data["ln_rmssd"]),
                ln_rmssd_spread=_float_or_nan(data["ln_rmssd_spread"]),
                n_beats=int(data["n_beats"]),
                source=str(data.get("source", "session-start")),  # type: ignore[arg-type]
                resp_rate_per_min=_float_or_nan(data.get("resp_rate_per_min")),
                resp_spread_per_min=_float_or_nan(data.get("resp_spread_per_min")),
                n_sessions=int(data.get("n_sessions", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TrmBioError(f"A stored baseline is incomplete or malformed ({exc}).") from exc


def _float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _robust(values: np.ndarray, floor: float, factor: float = 1.0) -> tuple[float, float]:
    centre = float(np.median(values))
    spread = float(np.median(np.abs(values - centre))) * MAD_TO_SD * factor
    return centre, max(spread, floor)


def _theil_sen(times_s: np.ndarray, values: np.ndarray) -> tuple[float, np.ndarray]:
    """Robust line through the values: its slope (per s) and the residuals."""
    # Imported here: scipy.stats takes a second to load, and every command that only
    # starts a session or lists something must not wait for it.
    from scipy import stats

    slope, intercept, _, _ = stats.theilslopes(values, times_s)
    return float(slope), values - (intercept + slope * times_s)


def _detrended(
    times_s: np.ndarray, values: np.ndarray, floor: float, factor: float
) -> tuple[float, float, float]:
    """Median, spread of the detrended values (scaled, floored) and change across the window."""
    centre = float(np.median(values))
    if values.size < 3 or np.ptp(times_s) <= 0:
        _, spread = _robust(values, floor, factor)
        return centre, spread, 0.0
    slope, residuals = _theil_sen(times_s, values)
    _, spread = _robust(residuals, floor, factor)
    return centre, spread, slope * float(np.ptp(times_s))


def baseline_from_values(
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    resp_rate_per_min: np.ndarray | None = None,
    *,
    times_s: np.ndarray | None = None,
    params: BaselineParams = BaselineParams(),
    source: BaselineSource = "session-start",
) -> Baseline:
    """Baseline from per-beat window values that are all to be used.

    Beats where HR is not finite are dropped first; the ln RMSSD part uses the beats whose
    RMSSD is finite and > 0 too, and is NaN (a heart-rate-only baseline,
    :attr:`Baseline.has_hrv` False) when there are none. With ``times_s`` the spread is taken
    around a robust (Theil-Sen) line, so a slow drift does not widen it; without, around the
    median. Either is multiplied by the params' spread factors and floored.

    Parameters
    ----------
    hr_bpm, rmssd_ms : ndarray
        Per-beat window heart rate (bpm) and RMSSD (ms; NaN where HRV was not plausible).
    resp_rate_per_min : ndarray, optional
        Per-beat respiration rate (breaths/min); its own finite values are used.
    times_s : ndarray, optional
        The values' beat times (s).
    params : BaselineParams
        Spread factors and floors.
    source : str
        Recorded as the baseline's source.

    Returns
    -------
    Baseline

    Raises
    ------
    TrmBioError
        When no beat has a valid heart rate.
    """
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rmssd = np.asarray(rmssd_ms, dtype=np.float64)
    valid = np.isfinite(hr) & (hr > 0)
    if not valid.any():
        raise TrmBioError("No beat has a valid heart rate to build a baseline from.")
    hrv = valid & np.isfinite(rmssd) & (rmssd > 0)
    ln = np.log(rmssd[hrv])
    ln_c = ln_s = math.nan
    if times_s is None:
        hr_c, hr_s = _robust(hr[valid], params.min_hr_spread_bpm, params.hr_spread_factor)
        if ln.size:
            ln_c, ln_s = _robust(ln, params.min_ln_rmssd_spread, params.ln_rmssd_spread_factor)
    else:
        t = np.asarray(times_s, dtype=np.float64)
        hr_c, hr_s, _ = _detrended(
            t[valid], hr[valid], params.min_hr_spread_bpm, params.hr_spread_factor
        )
        if ln.size:
            ln_c, ln_s, _ = _detrended(
                t[hrv], ln, params.min_ln_rmssd_spread, params.ln_rmssd_spread_factor
            )
    resp_c = resp_s = math.nan
    if resp_rate_per_min is not None:
        resp = np.asarray(resp_rate_per_min, dtype=np.float64)[valid]
        resp = resp[np.isfinite(resp)]
        if resp.size:
            resp_c, resp_s = _robust(resp, params.min_resp_spread_per_min)
    return Baseline(
        hr_bpm=hr_c,
        hr_spread_bpm=hr_s,
        ln_rmssd=ln_c,
        ln_rmssd_spread=ln_s,
        n_beats=int(valid.sum()),
        source=source,
        resp_rate_per_min=resp_c,
        resp_spread_per_min=resp_s,
    )


class Calibrator:
    """The session-start calibration, fed one valid beat at a time (live and batch alike).

    The calibration window is the last ``params.duration_s`` of valid values. Once the first
    valid value is that far back, the window is judged (then every ``check_interval_s``):
    enough valid beats covering enough of its time, and no trend in heart rate or ln RMSSD
    beyond the params' limits. Beats whose HRV failed the quality gate for their timing or
    rhythm (pulse jitter, an irregular rhythm, ectopy; any source) are pushed with RMSSD NaN:
    they calibrate the heart rate, and the ln RMSSD part is built from the plausible values
    alone when those would make a good window by themselves (enough of them, covering enough
    of its time, no trend), and is left out otherwise (a heart-rate-only baseline, whose HRV
    part the regulator measures later by the same rules). A good window gives the baseline; a
    poor one is extended (the window slides on, so a heart that settles is measured once it
    has settled) until ``max_duration_s`` after the calibration began; then it is rejected
    with its reason (:attr:`rejection`) and a new calibration starts. A rejected calibration
    is never used.

    Parameters
    ----------
    params : BaselineParams
        Lengths, quality limits, spread factors and floors.
    """

    def __init__(self, params: BaselineParams = BaselineParams()) -> None:
        self.params = params
        #: Why the last calibration was rejected ("" when none was).
        self.rejection = ""
        self._restart()

    def _restart(self) -> None:
        self._t: list[float] = []
        self._hr: list[float] = []
        self._rmssd: list[float] = []
        self._resp: list[float] = []
        self._first = 0  # index of the oldest value in the window
        self._t0 = math.nan
        self._next_check = math.inf
        #: Why the window is being extended ("" while it has not been judged poor).
        self.problem = ""

    @property
    def started(self) -> bool:
        """Whether a valid value has started this calibration."""
        return bool(self._t)

    def left_s(self, time_s: float) -> float:
        """Seconds of calibration left at ``time_s`` (NaN while it is being extended)."""
        if self.problem:
            return math.nan
        if not self._t:
            return self.params.duration_s
        return max(self._t0 + self.params.duration_s - time_s, 0.0)

    def push(
        self, time_s: float, hr_bpm: float, rmssd_ms: float, resp_rate_per_min: float = math.nan
    ) -> Baseline | None:
        """Add one beat's values (finite HR; RMSSD > 0, or NaN where HRV is not plausible);
        the baseline once it is good."""
        p = self.params
        if not self._t:
            self._t0 = time_s
            self._next_check = time_s + p.duration_s
        self._t.append(time_s)
        self._hr.append(hr_bpm)
        self._rmssd.append(rmssd_ms)
        self._resp.append(resp_rate_per_min)
        if time_s < self._next_check:
            return None
        self._next_check = time_s + p.check_interval_s
        start = time_s - p.duration_s
        while self._t[self._first] < start:
            self._first += 1
        if self._first > 4096:  # forget what no window can reach
            for values in (self._t, self._hr, self._rmssd, self._resp):
                del values[: self._first]
            self._first = 0
        window = slice(self._first, None)
        t = np.array(self._t[window])
        hr = np.array(self._hr[window])
        rmssd = np.array(self._rmssd[window])
        hrv = np.isfinite(rmssd)
        if hrv.all():
            problem = self._judge(t, hr, np.log(rmssd))
        else:
            # Heart rate from every beat; HRV only if its plausible values alone would make
            # a good window.
            problem = self._judge(t, hr, None)
            if not problem and self._judge(t[hrv], hr[hrv], np.log(rmssd[hrv])):
                rmssd = np.full(rmssd.size, np.nan)
        if not problem:
            return baseline_from_values(
                hr, rmssd, np.array(self._resp[window]), times_s=t, params=p
            )
        self.problem = problem
        if time_s - self._t0 >= p.max_duration_s:
            self.rejection = (
                f"The resting reference could not be set after {p.max_duration_s / 60:.0f} "
                f"minutes: {problem}."
            )
            self._restart()
        return None

    def _judge(self, t: np.ndarray, hr: np.ndarray, ln: np.ndarray | None) -> str:
        """Why the window is not good enough, in a plain phrase ("" when it is); ``ln`` None:
        heart rate alone is judged."""
        p = self.params
        covered_s = float(np.sum(60.0 / hr))
        if t.size < p.min_beats or covered_s < p.min_valid_share * p.duration_s:
            return (
                f"only {covered_s:.0f} s of the last {p.duration_s:.0f} s had clean beats "
                f"(gaps, corrected or irregular beats)"
            )
        hr_trend = _theil_sen(t, hr)[0] * float(np.ptp(t))
        if abs(hr_trend) > p.max_hr_trend_bpm:
            word = "rising" if hr_trend > 0 else "settling"
            return f"the heart rate was still {word} ({hr_trend:+.0f} bpm in {np.ptp(t):.0f} s)"
        if ln is None:
            return ""
        ln_trend = _theil_sen(t, ln)[0] * float(np.ptp(t))
        if abs(ln_trend) > p.max_ln_rmssd_trend:
            word = "rising" if ln_trend > 0 else "falling"
            return f"the heart-rate variability was still {word} (RMSSD x{math.exp(ln_trend):.1f})"
        return ""


def session_start_baseline(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    resp_rate_per_min: np.ndarray | None = None,
    *,
    params: BaselineParams = BaselineParams(),
    usable: np.ndarray | None = None,
) -> tuple[Baseline | None, int]:
    """Baseline from the first minutes of valid values of a session (:class:`Calibrator`).

    Parameters
    ----------
    times_s : ndarray
        Beat times (s from session start).
    hr_bpm, rmssd_ms : ndarray
        Per-beat window HR (bpm) and RMSSD (ms), NaN where invalid.
    resp_rate_per_min : ndarray, optional
        Per-beat respiration rate (breaths/min).
    params : BaselineParams
        Calibration length, quality limits and spreads.
    usable : ndarray of bool, optional
        Beats whose values may calibrate (False where the signal-quality gate failed).

    Returns
    -------
    baseline : Baseline or None
        None when the session never completes a good calibration.
    end_index : int
        Index of the beat that completed it, -1 when none did.
    """
    times = np.asarray(times_s, dtype=np.float64)
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rmssd = np.asarray(rmssd_ms, dtype=np.float64)
    n = times.size
    resp = np.full(n, np.nan) if resp_rate_per_min is None else np.asarray(resp_rate_per_min)
    ok = np.isfinite(hr) & np.isfinite(rmssd) & (rmssd > 0)
    if usable is not None:
        ok &= np.asarray(usable, dtype=bool)
    calibrator = Calibrator(params)
    for i in np.flatnonzero(ok).tolist():
        baseline = calibrator.push(
            float(times[i]), float(hr[i]), float(rmssd[i]), float(resp[i])
        )
        if baseline is not None:
            return baseline, i
    return None, -1


def combine_baselines(
    baselines: Sequence[Baseline], *, params: BaselineParams = BaselineParams()
) -> Baseline | None:
    """One baseline from the person's earlier sessions, or None if there are too few.

    Only session-start baselines that passed their calibration check are stored and
    combined, so a derived baseline never feeds back into the next. The centre is the median
    of the sessions' centres (robust to one unusual day). The spread holds both the
    within-session spread, pooled as ``sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1))``, and the
    day-to-day spread of the centres (scaled MAD): a pooled baseline stands in for today's
    own rest, which sits somewhere among the earlier days' (law of total variance,
    ``sqrt(within^2 + between^2)``), floored as for one session.

    Parameters
    ----------
    baselines : sequence of Baseline
        Stored baselines of earlier sessions, any order.
    params : BaselineParams
        ``min_sessions`` and the spread floors.
    """
    own = [b for b in baselines if b.source == "session-start" and b.n_beats > 1]
    if len(own) < max(1, params.min_sessions):
        return None

    def combined(
        centres: list[float], spreads: list[float], dof: list[int], floor: float
    ) -> tuple[float, float]:
        c = np.asarray(centres, dtype=np.float64)
        s = np.asarray(spreads, dtype=np.float64)
        w = np.asarray(dof, dtype=np.float64)
        centre = float(np.median(c))
        within2 = float(np.sum(w * s * s) / np.sum(w))
        between = float(np.median(np.abs(c - centre))) * MAD_TO_SD
        return centre, max(math.sqrt(within2 + between * between), floor)

    dof = [b.n_beats - 1 for b in own]
    hr_c, hr_s = combined(
        [b.hr_bpm for b in own], [b.hr_spread_bpm for b in own], dof, params.min_hr_spread_bpm
    )
    # A heart-rate-only baseline (a pulse sensor too noisy for HRV) adds its heart rate only.
    hrv_ok = [b for b in own if b.has_hrv]
    ln_c = ln_s = math.nan
    if hrv_ok:
        ln_c, ln_s = combined(
            [b.ln_rmssd for b in hrv_ok], [b.ln_rmssd_spread for b in hrv_ok],
            [b.n_beats - 1 for b in hrv_ok], params.min_ln_rmssd_spread,
        )
    resp_ok = [b for b in own if math.isfinite(b.resp_rate_per_min)]
    resp_c = resp_s = math.nan
    if resp_ok:
        resp_c, resp_s = combined(
            [b.resp_rate_per_min for b in resp_ok], [b.resp_spread_per_min for b in resp_ok],
            [b.n_beats - 1 for b in resp_ok], params.min_resp_spread_per_min,
        )
    return Baseline(
        hr_bpm=hr_c,
        hr_spread_bpm=hr_s,
        ln_rmssd=ln_c,
        ln_rmssd_spread=ln_s,
        n_beats=int(sum(b.n_beats for b in own)),
        source="previous-sessions",
        resp_rate_per_min=resp_c,
        resp_spread_per_min=resp_s,
        n_sessions=len(own),
    )
