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
    """How a baseline is built.

    Parameters
    ----------
    duration_s : float
        Length of the session-start calibration, counted from the first beat with valid
        values (s). Two minutes: with the 60 s RMSSD window the baseline is ready three
        minutes into the session, the usual settling-in time before the first skill, and
        it holds two independent RMSSD windows. Longer is steadier but delays feedback
        and risks including the first skill.
    min_beats : int
        Fewest valid beats the calibration needs (a gap-ridden start keeps calibrating).
    min_hr_spread_bpm : float
        Floor of the heart-rate spread (bpm). Resting HR commonly wanders by several bpm
        from minute to minute (talking, posture), more than two minutes of window means
        show; a smaller spread would turn ordinary fluctuation into "arousal".
    min_ln_rmssd_spread : float
        Floor of the ln RMSSD spread (natural-log units). Short-window (60 s) ln RMSSD at
        rest varies by roughly 0.2-0.4 from window to window (Munoz et al. 2015, PLoS One
        10:e0138921, on ultra-short agreement); day-to-day coefficient of variation of ln
        RMSSD is 3-10 % of about 3.5 (Plews et al. 2012, Int J Sports Physiol Perform
        7:94-101).
    min_resp_spread_per_min : float
        Floor of the respiration-rate spread (breaths/min).
    min_sessions : int
        Fewest earlier session-start baselines needed before they replace the
        session-start calibration.
    """

    duration_s: float = 120.0
    min_beats: int = 90
    min_hr_spread_bpm: float = 4.0
    min_ln_rmssd_spread: float = 0.3
    min_resp_spread_per_min: float = 1.0
    min_sessions: int = 3


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
        """Baseline RMSSD (ms), the exponential of the ln centre."""
        return math.exp(self.ln_rmssd)

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
                ln_rmssd=float(data["ln_rmssd"]),
                ln_rmssd_spread=float(data["ln_rmssd_spread"]),
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


def _robust(values: np.ndarray, floor: float) -> tuple[float, float]:
    centre = float(np.median(values))
    spread = float(np.median(np.abs(values - centre))) * MAD_TO_SD
    return centre, max(spread, floor)


def baseline_from_values(
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    resp_rate_per_min: np.ndarray | None = None,
    *,
    params: BaselineParams = BaselineParams(),
    source: BaselineSource = "session-start",
) -> Baseline:
    """Baseline from per-beat window values that are all to be used.

    Beats where HR or RMSSD is not finite (or RMSSD <= 0) are dropped first.

    Parameters
    ----------
    hr_bpm, rmssd_ms : ndarray
        Per-beat window heart rate (bpm) and RMSSD (ms).
    resp_rate_per_min : ndarray, optional
        Per-beat respiration rate (breaths/min); its own finite values are used.
    params : BaselineParams
        Spread floors.
    source : str
        Recorded as the baseline's source.

    Returns
    -------
    Baseline

    Raises
    ------
    TrmBioError
        When no beat has valid values.
    """
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rmssd = np.asarray(rmssd_ms, dtype=np.float64)
    valid = np.isfinite(hr) & np.isfinite(rmssd) & (rmssd > 0)
    if not valid.any():
        raise TrmBioError("No beat has a valid heart rate and RMSSD to build a baseline from.")
    hr_c, hr_s = _robust(hr[valid], params.min_hr_spread_bpm)
    ln_c, ln_s = _robust(np.log(rmssd[valid]), params.min_ln_rmssd_spread)
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


def calibration_end(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    *,
    params: BaselineParams = BaselineParams(),
) -> int:
    """Index of the beat that completes the session-start calibration, or -1.

    The calibration is complete at the first valid beat (finite HR, RMSSD > 0) that lies at
    least ``params.duration_s`` after the first valid beat and brings the count of valid
    beats to at least ``params.min_beats``. The live :class:`~trm_bio.core.regulation.Regulator`
    applies the same rule beat by beat.
    """
    times = np.asarray(times_s, dtype=np.float64)
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rmssd = np.asarray(rmssd_ms, dtype=np.float64)
    valid = np.isfinite(hr) & np.isfinite(rmssd) & (rmssd > 0)
    valid_idx = np.flatnonzero(valid)
    if valid_idx.size == 0:
        return -1
    t0 = times[valid_idx[0]]
    count = np.arange(1, valid_idx.size + 1)
    done = (times[valid_idx] - t0 >= params.duration_s) & (count >= params.min_beats)
    hit = np.flatnonzero(done)
    return int(valid_idx[hit[0]]) if hit.size else -1


def session_start_baseline(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    resp_rate_per_min: np.ndarray | None = None,
    *,
    params: BaselineParams = BaselineParams(),
) -> tuple[Baseline | None, int]:
    """Baseline from the first minutes of valid values of a session.

    Parameters
    ----------
    times_s : ndarray
        Beat times (s from session start).
    hr_bpm, rmssd_ms : ndarray
        Per-beat window HR (bpm) and RMSSD (ms), NaN where invalid.
    resp_rate_per_min : ndarray, optional
        Per-beat respiration rate (breaths/min).
    params : BaselineParams
        Calibration length, minimum beats and spread floors.

    Returns
    -------
    baseline : Baseline or None
        None when the session never completes the calibration.
    end_index : int
        Index of the beat that completed it (the baseline uses beats ``0..end_index``), -1
        when incomplete.
    """
    end = calibration_end(times_s, hr_bpm, rmssd_ms, params=params)
    if end < 0:
        return None, -1
    stop = end + 1
    resp = None if resp_rate_per_min is None else np.asarray(resp_rate_per_min)[:stop]
    baseline = baseline_from_values(
        np.asarray(hr_bpm)[:stop], np.asarray(rmssd_ms)[:stop], resp, params=params
    )
    return baseline, end


def combine_baselines(
    baselines: Sequence[Baseline], *, params: BaselineParams = BaselineParams()
) -> Baseline | None:
    """One baseline from the person's earlier sessions, or None if there are too few.

    Only session-start baselines are combined, so a derived baseline never feeds back into
    the next. The centre is the median of the sessions' centres (robust to one unusual
    day); the spread is the pooled within-session spread, ``sqrt(sum((n_i - 1) s_i^2) /
    sum(n_i - 1))``, floored as for one session.

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
    dof = np.array([b.n_beats - 1 for b in own], dtype=np.float64)

    def pooled(spreads: list[float], weights: np.ndarray, floor: float) -> float:
        s = np.asarray(spreads, dtype=np.float64)
        return max(float(np.sqrt(np.sum(weights * s * s) / np.sum(weights))), floor)

    resp_ok = [b for b in own if math.isfinite(b.resp_rate_per_min)]
    resp_c = resp_s = math.nan
    if resp_ok:
        resp_c = float(np.median([b.resp_rate_per_min for b in resp_ok]))
        resp_s = pooled(
            [b.resp_spread_per_min for b in resp_ok],
            np.array([b.n_beats - 1 for b in resp_ok], dtype=np.float64),
            params.min_resp_spread_per_min,
        )
    return Baseline(
        hr_bpm=float(np.median([b.hr_bpm for b in own])),
        hr_spread_bpm=pooled([b.hr_spread_bpm for b in own], dof, params.min_hr_spread_bpm),
        ln_rmssd=float(np.median([b.ln_rmssd for b in own])),
        ln_rmssd_spread=pooled(
            [b.ln_rmssd_spread for b in own], dof, params.min_ln_rmssd_spread
        ),
        n_beats=int(sum(b.n_beats for b in own)),
        source="previous-sessions",
        resp_rate_per_min=resp_c,
        resp_spread_per_min=resp_s,
        n_sessions=len(own),
    )
