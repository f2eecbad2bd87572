"""Whole-recording analysis: the summary of an RR file or a stored session.

The per-beat series come from :func:`trm_bio.core.engine.analyse_beats` (the numbers the
live engine streams); this module adds the whole-recording summary, the regulation trace,
and the per-skill effects of a stored session.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trm_bio.core import artifacts
from trm_bio.core.baseline import Baseline
from trm_bio.core.engine import BeatAnalysis, analyse_beats, recent_artifact_share
from trm_bio.core.frequency_domain import frequency_domain
from trm_bio.core.json_safe import json_safe
from trm_bio.core.regulation import (
    DEFAULT_PARAMS,
    HR_METRIC,
    VAGAL_METRIC,
    RegulationParams,
    RegulationTrace,
    regulate,
    rhythm_words,
)
from trm_bio.core.rhythm import (
    IRREGULAR_MIN_BEATS,
    PACED_BAND_MS,
    PACED_WINDOW_BEATS,
    fixed_rate_judged,
    irregular_judged,
)
from trm_bio.core.time_domain import summary_time
from trm_bio.core.timeline import Beats

if TYPE_CHECKING:  # ecg_peaks loads scipy: the app's first screen must not wait for it
    from trm_bio.core.ecg_quality import UnusableEcg

#: Share of beats in sustained ectopy, an irregular or a fixed-rate rhythm above which a
#: recording's HRV is not reported.
MAX_ECTOPIC_RHYTHM_SHARE = 0.10
#: The least data whose HRV is reported: 60 s of beats, the app's HRV window. Ultra-short
#: RMSSD agrees with 5-minute values from about 30-60 s of beats (Munoz et al., PLoS One
#: 10:e0138921, 2015; Shaffer & Ginsberg, Front Public Health 5:258, 2017); below a minute
#: neither the rhythm nor the variability can be judged. Counted as time covered by beats
#: (the sum of the intervals kept), not from the first beat to the last: a gap holds none.
MIN_VALID_S = 60.0
#: ... and as many intervals as the irregular-rhythm check needs to judge a window.
MIN_VALID_BEATS = IRREGULAR_MIN_BEATS
#: Share of beats the artifact detector flagged (and correction replaced) above which a
#: recording's HRV is not reported: the 5 % rule common in HRV practice (corrections of more
#: than 5 % of the beats smooth or shape the variability, e.g. hrvester's Kubios-style
#: correction caps them at 5 % "to avoid over-smoothing"). It is the share the quality
#: figures call ``artifact_rate`` (flagged beats over all beats). The sinus recordings in
#: ../shared/data stay under it: nsr001 0.08 %, MIT-BIH 100 1.5 %, 101 0.2 %, 105 1.8 %,
#: 116 (frequent PVCs) 4.3 %, drivedb drive06 0.5 %, drive17a 0.6 %. The live screen's gate
#: (trm_bio.core.regulation, ``max_artifact_share``) is 10 % over the last minute: a share
#: over some 70 beats swings far more than one over a recording (MIT-BIH 100 reaches 6.7 %
#: in a minute at 1.5 % overall), so the two limits differ on purpose.
MAX_ARTIFACT_SHARE = 0.05
#: Task Force (1996) practice for long recordings: spectral measures are averaged over
#: consecutive 5-minute windows, not computed over hours at once.
SPECTRAL_WINDOW_S = 300.0
#: Shortest recording whose LF power is reported: LF's lowest frequency is 0.04 Hz.
MIN_SPECTRAL_S = 120.0

TIME_KEYS = ("MeanNN", "SDNN", "RMSSD", "pNN50", "HR", "MinNN", "MaxNN")
FREQUENCY_KEYS = ("VLF", "LF", "HF", "LFHF", "HFpeak")
NONLINEAR_KEYS = ("SD1", "SD2", "SD1SD2")
VARIABILITY_KEYS = ("SDNN", "RMSSD", "pNN50", *FREQUENCY_KEYS, *NONLINEAR_KEYS)


def poincare(nn_ms: np.ndarray, segment: np.ndarray) -> dict[str, float]:
    """Poincaré SD1, SD2 (ms) and SD1/SD2 over successive pairs within segments.

    As neurokit2: SD1 = std((NN_i - NN_i+1) / sqrt 2), SD2 = std((NN_i + NN_i+1) / sqrt 2),
    sample standard deviations (ddof=1).
    """
    pair = (segment[1:] == segment[:-1]) & np.isfinite(nn_ms[1:]) & np.isfinite(nn_ms[:-1])
    x, y = nn_ms[:-1][pair], nn_ms[1:][pair]
    if x.size < 2:
        return dict.fromkeys(NONLINEAR_KEYS, math.nan)
    sd1 = float(np.std((x - y) / math.sqrt(2.0), ddof=1))
    sd2 = float(np.std((x + y) / math.sqrt(2.0), ddof=1))
    return {"SD1": sd1, "SD2": sd2, "SD1SD2": sd1 / sd2 if sd2 > 0 else math.nan}


def spectral_summary(
    nn_ms: np.ndarray, times_s: np.ndarray, segment: np.ndarray
) -> dict[str, float]:
    """Spectral HRV of a recording: the mean over consecutive full 5-minute windows.

    A recording between 2 and 5 minutes is taken as one window; a shorter one gets NaN.
    """
    nan = dict.fromkeys(FREQUENCY_KEYS, math.nan)
    if nn_ms.size < 3:
        return nan
    begin = times_s[0] - nn_ms[0] / 1000.0
    span = times_s[-1] - begin
    if span < MIN_SPECTRAL_S:
        return nan
    if span < SPECTRAL_WINDOW_S:
        window_s, ends = span, np.array([times_s[-1]])
    else:
        window_s = SPECTRAL_WINDOW_S
        # A hair past each boundary, so rounding never makes the first window look not full.
        count = int((span + 1e-6) // SPECTRAL_WINDOW_S)
        ends = begin + SPECTRAL_WINDOW_S * np.arange(1, count + 1) + 1e-6
    values = frequency_domain(nn_ms, times_s, segment, window_s=window_s, ends_s=ends)
    out = {}
    for key in FREQUENCY_KEYS:
        column = values[key]
        column = column[np.isfinite(column)]
        out[key] = float(column.mean()) if column.size else math.nan
    out["SpectralWindows"] = int(np.isfinite(values["LF"]).sum())
    return out


@dataclass(frozen=True)
class RecordingSummary:
    """The whole-recording numbers ``trm-bio analyze`` and ``trm-bio show`` print."""

    metrics: dict[str, float]
    quality: dict[str, Any]
    hrv_valid: bool
    reason: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordingSummary:
        """The summary :meth:`as_dict` stored (None back to NaN)."""
        metrics = {k: math.nan if v is None else float(v) for k, v in data["metrics"].items()}
        quality = {k: math.nan if v is None else v for k, v in data["quality"].items()}
        return cls(metrics, quality, bool(data["hrv_valid"]), str(data["reason"]))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly (NaN as None)."""
        return json_safe(
            {
                "metrics": self.metrics,
                "quality": self.quality,
                "hrv_valid": self.hrv_valid,
                "reason": self.reason,
            }
        )


def summarize(analysis: BeatAnalysis) -> RecordingSummary:
    """Whole-recording metrics, artifact counts and validity of one analysed recording."""
    beats, labels, corrected = analysis.beats, analysis.labels, analysis.corrected
    n = len(beats)
    counts = {name: int(np.sum(labels == code)) for code, name in enumerate(artifacts.LABEL_NAMES)}
    irregular = (
        analysis.irregular if analysis.irregular is not None else np.zeros(n, dtype=bool)
    )
    not_ok = ~analysis.rhythm_ok
    ectopic_share = float(np.mean(not_ok & ~irregular)) if n else 0.0
    irregular_share = float(np.mean(irregular)) if n else 0.0
    paced_share = float(np.mean(analysis.paced)) if n and analysis.paced is not None else 0.0
    duration_s = (
        float(beats.times_s[-1] - (beats.times_s[0] - beats.rr_ms[0] / 1000.0)) if n else 0.0
    )
    beat_time_s = float(np.nansum(beats.rr_ms)) / 1000.0
    artifact_share = float(np.mean(labels != artifacts.NORMAL)) if n else math.nan
    quality: dict[str, Any] = {
        "beats": n,
        "duration_s": duration_s,
        "segments": int(np.unique(beats.segment).size) if n else 0,
        "artifacts": int(np.sum(labels != artifacts.NORMAL)),
        "artifact_rate": artifact_share,
        "corrected_beats": int(np.sum(corrected.corrected)),
        "ectopic_rhythm_share": ectopic_share,
        **{f"n_{name}": count for name, count in counts.items() if name != "normal"},
        "irregular_rhythm_share": irregular_share,
        "paced_rhythm_share": paced_share,
        "beat_time_s": beat_time_s,
    }
    metrics: dict[str, float] = {}
    if n == 0:
        return RecordingSummary(dict.fromkeys(TIME_KEYS, math.nan), quality, False, "no beats")
    metrics.update(summary_time(corrected.nn_ms, corrected.segment))
    metrics.update(spectral_summary(corrected.nn_ms, corrected.times_s, corrected.segment))
    metrics.update(poincare(corrected.nn_ms, corrected.segment))
    judged = fixed_rate_judged(beats.segment)
    reason = validity_reason(
        beat_time_s, n, ectopic_share, irregular_share, paced_share,
        duration_s=duration_s,
        artifact_share=artifact_share,
        constant_ms=_constant_interval(corrected.nn_ms),
        paced_judged_share=(
            float(np.mean(analysis.paced[judged]))
            if analysis.paced is not None and judged.any() else paced_share
        ),
        paced_judged_beats=int(judged.sum()),
    )
    if reason:
        for key in VARIABILITY_KEYS:
            metrics[key] = math.nan
    return RecordingSummary(metrics, quality, not reason, reason)


def _constant_interval(rr_ms: np.ndarray) -> float:
    """The interval (ms) when every usable interval is the same, else NaN.

    Given the corrected intervals: a fixed rate with a missed beat is still a fixed rate.
    """
    usable = rr_ms[np.isfinite(rr_ms)]
    if usable.size and float(usable.min()) == float(usable.max()):
        return float(usable[0])
    return math.nan


def validity_reason(
    beat_time_s: float,
    n_beats: int,
    ectopic_share: float,
    irregular_share: float,
    paced_share: float = 0.0,
    *,
    duration_s: float | None = None,
    artifact_share: float = 0.0,
    constant_ms: float = math.nan,
    paced_judged_share: float | None = None,
    paced_judged_beats: int | None = None,
) -> str:
    """Why a recording's HRV is not valid, in one plain phrase ("" when it is valid).

    Parameters
    ----------
    beat_time_s : time covered by beats (s): the sum of the intervals kept.
    n_beats : RR intervals.
    ectopic_share, irregular_share, paced_share : shares of beats in sustained ectopy, in an
        irregular rhythm and in a fixed-rate rhythm (0-1).
    duration_s : first to last beat (s), gaps included; said when gaps make it longer.
    artifact_share : share of beats flagged as artifacts and corrected (0-1).
    constant_ms : the interval when no interval differs from another (ms), else NaN.
    paced_judged_share, paced_judged_beats : the share of fixed-rate beats among the beats
        the check could judge (those with ``PACED_WINDOW_BEATS`` intervals of their segment
        behind them), and how many those are; said in the paced reason.
    """
    if beat_time_s < MIN_VALID_S or n_beats < MIN_VALID_BEATS:
        span = (
            f", over {duration_s / 60:.1f} min with gaps"
            if duration_s is not None and duration_s > beat_time_s + 1.0 else ""
        )
        return (
            f"only {beat_time_s:.0f} s of beats ({n_beats} intervals{span}); heart-rate "
            f"variability needs at least {MIN_VALID_S:.0f} s and {MIN_VALID_BEATS} intervals "
            "of beats, so it is not valid for this recording"
        )
    if math.isfinite(constant_ms):
        return (
            f"the intervals do not vary at all (every one is {constant_ms:.0f} ms): a "
            "fixed rate, as from a pacemaker or a generated series, not a heart's own "
            "rhythm, so heart-rate variability is not valid for this recording"
        )
    if ectopic_share + irregular_share + paced_share > MAX_ECTOPIC_RHYTHM_SHARE:
        return _rhythm_reason(
            ectopic_share, irregular_share, paced_share, paced_judged_share, paced_judged_beats
        )
    if artifact_share > MAX_ARTIFACT_SHARE:
        return (
            f"{artifact_share:.1%} of the beats were missed, extra or misplaced and had to be "
            f"corrected; above {MAX_ARTIFACT_SHARE:.0%} the corrections shape the variability "
            "more than the heart does, so heart-rate variability is not valid for this "
            "recording"
        )
    return ""


def _rhythm_reason(
    ectopic_share: float,
    irregular_share: float,
    paced_share: float,
    paced_judged_share: float | None,
    paced_judged_beats: int | None,
) -> str:
    """The reason of :func:`validity_reason` when too many beats are in an ectopic, an
    irregular or a fixed-rate rhythm."""
    if paced_share > max(ectopic_share, irregular_share):
        if paced_judged_share is None or paced_judged_beats is None:
            through = f"through {paced_share:.0%} of the beats"
        else:
            through = (
                f"through {paced_judged_share:.0%} of the {paced_judged_beats} beats that can "
                f"be judged (each needs the {PACED_WINDOW_BEATS} intervals up to it)"
            )
        return (
            f"the rhythm is too regular for heart-rate variability (as from a pacemaker): "
            f"{through} the intervals stay within "
            f"{PACED_BAND_MS:.0f} ms of each other for minutes, so what varies is the "
            "measurement, and heart-rate variability is not valid for this recording"
        )
    if irregular_share >= ectopic_share:
        return (
            f"the heart rhythm is irregular (as in atrial fibrillation or with frequent "
            f"premature beats) through {irregular_share:.0%} of the beats; heart-rate "
            "variability assumes the heart's own steady rhythm, so it is not valid for this "
            "recording"
        )
    return (
        f"a sustained ectopic rhythm (such as bigeminy) runs through {ectopic_share:.0%} of "
        "the beats; artifact correction cannot restore it, so heart-rate variability is "
        "not valid for this recording"
    )


def regulation_trace(
    analysis: BeatAnalysis,
    baseline: Baseline | None = None,
    *,
    params: RegulationParams = DEFAULT_PARAMS,
    pulse_source: bool = False,
) -> RegulationTrace:
    """The zone indicator at every beat, exactly as the live session computes it.

    The live :class:`~trm_bio.core.regulation.Regulator` is fed the engine's values at
    each beat (the indicator's heart rate and RMSSD, respiration, the rhythm check and the
    last minute's share of corrected beats), with the session-start calibration when no
    ``baseline`` is given.
    """
    m = analysis.metrics
    times = analysis.beats.times_s
    return regulate(
        times,
        m[HR_METRIC],
        m[VAGAL_METRIC],
        m["RespirationRate"],
        baseline=baseline,
        params=params,
        rhythm=rhythm_words(
            analysis.rhythm_ok, analysis.irregular,
            irregular_judged(analysis.beats.rr_ms, analysis.beats.segment),
        ),
        artifact_share=recent_artifact_share(times, analysis.labels),
        pulse_source=pulse_source,
    )


def analyse_recording(
    beats: Beats,
    progress: Callable[[str], None] | None = None,
    ecg: tuple[UnusableEcg, np.ndarray] | None = None,
) -> tuple[BeatAnalysis, RecordingSummary]:
    """Per-beat series and whole-recording summary of timed beats (``ecg``: beats found in
    an ECG, its unusable stretches and every detected beat time, see
    :func:`with_unusable_ecg`)."""
    if progress:
        progress("artifacts and sliding-window metrics")
    analysis = analyse_beats(beats)
    if progress:
        progress("whole-recording summary")
    summary = summarize(analysis)
    if ecg is not None:
        summary = with_unusable_ecg(summary, *ecg)
    return analysis, summary


def with_unusable_ecg(
    summary: RecordingSummary, unusable: UnusableEcg, detected_s: np.ndarray
) -> RecordingSummary:
    """A summary of beats found in an ECG with its unusable stretches' quality keys
    (``ecg_unusable_s``, ``ecg_unusable_share`` ...), and not valid when too much of the ECG
    was unusable (that reason first: it is why the other numbers would mislead).

    Parameters
    ----------
    summary : the summary of the beats kept.
    unusable : the ECG's unusable stretches.
    detected_s : every beat time the detector found (s).
    """
    quality = {**summary.quality, **unusable.quality(detected_s)}
    reason = unusable.reason() or summary.reason
    metrics = dict(summary.metrics)
    if reason:
        for key in VARIABILITY_KEYS:
            if key in metrics:
                metrics[key] = math.nan
    return RecordingSummary(metrics, quality, not reason, reason)
