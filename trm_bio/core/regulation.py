"""The regulation model: arousal indicator and resilient-zone indicator, batch and live.

Physiology (DESIGN.md, "Regulation model anchors"): parasympathetic (vagal) activity lowers
heart rate and raises respiratory sinus arrhythmia, hence RMSSD; sympathetic activation
does the opposite. Kubios HRV summarises this as a PNS index (mean RR, RMSSD, Poincaré SD1)
and an SNS index (mean HR, Baevsky's stress index, SD2), each a z-score against population
norms (Tarvainen et al., Kubios HRV user's guide; Nussinovitch et al. 2011 for the norms).
We keep the two fastest, most robust members of those families and measure them against
the person's *own* baseline (:mod:`trm_bio.core.baseline`), since a resilient zone is
personal:

* heart rate (window mean, 30-60 s): the fastest sympathetic/vagal read-out, valid from a
  few beats; it stands in for mean RR (PNS) and mean HR (SNS), which carry the same
  information;
* ln RMSSD (120 s window, see below): the vagal HRV measure valid on short windows (from about
  30-60 s; Munoz et al. 2015, PLoS One 10:e0138921; Esco & Flatt 2014, J Sports Sci Med
  13:535-541). SD1 equals RMSSD/sqrt(2), so it adds nothing. The log makes its skewed
  distribution roughly normal, so a spread in ln units is meaningful.
* respiration rate (optional, off by default): faster breathing is part of the High Zone
  picture, but an RSA-derived rate needs a longer window and fails when breathing leaves the
  0.15-0.4 Hz band (slow paced breathing during resourcing), so it is only an add-on.

LF power needs at least 2 minutes of beats (its lowest frequency is 0.04 Hz) and the SD2 /
stress-index members need long windows too, so they are not used in this fast indicator.

The indicator is ``arousal = (w_hr * z_hr - w_vagal * z_vagal [+ w_resp * z_resp]) /
(w_hr + w_vagal [+ w_resp])``: a weighted mean of z-scores, in units of the baseline's
spread. 0 is the person's own baseline; +1 means heart rate up and/or vagal HRV down by one
spread on average. Where HRV is gated for the beat timing or rhythm (pulse jitter, an
irregular rhythm, ectopy) but the window heart rate is sound (see "Signal-quality gating"),
the weighted mean drops the vagal term and ``arousal = z_hr``, heart rate alone; the zone is
not read from it.

Zones: a zone indicator is an *indicator*, never a diagnosis. It says where this person's
heart physiology sits relative to their own baseline, nothing about how they feel; their own
rating of their zone is recorded beside it. The High Zone has a clear signature (faster
heart, less variability) and is read from ``arousal``. The Low Zone has none: it can be slow
with high variability (strongly negative arousal, which also looks like deep rest) or slow
and *flat* (HR and vagal HRV both down: the two terms of ``arousal`` cancel). The low side
is therefore read from its own evidence, ``lowness = max(-arousal, w_flat * min(-z_hr,
-z_vagal))`` (:func:`lowness_indicator`), with a more conservative threshold than the high
side, and every Low reading is flagged ``tentative``.

Inputs and thresholds, tuned on real recordings (``python -m bench regulation`` prints every
figure below; beats from the ECG R-peaks or the cardiologists' annotations, analysed by the
app's own engine, the indicator run exactly as live, calibrated at each recording's start):

* heart rate as a 20 s window mean (``HR_METRIC``), ln RMSSD over 120 s (``VAGAL_METRIC``;
  twice the 60 s window shown as "RMSSD": at rest a 60 s RMSSD moves by 0.2-0.4 ln units
  from window to window, the 120 s one by about half as much, while a real stress rise still
  shows through the heart rate within seconds);
* High at ``arousal >= 2.0`` spreads, held for 20 s before it is shown (``confirm_s``), back
  at ``< 1.0``; Low at ``lowness >= 2.5`` (unchanged: the low side is the least certain);
* the session-start calibration (:class:`~trm_bio.core.baseline.Calibrator`): 3 minutes of
  valid values, spread from detrended values (Theil-Sen line, scaled MAD) times a factor for
  what 3 minutes cannot see (HR 2.0, ln RMSSD 2.5, measured on drive06 and MIT-BIH 100, 101,
  105, 119, 223), extended while it trends or lacks clean data, rejected after 7 minutes.
  With the 120 s RMSSD window the first zone appears about 5 minutes into a session; a
  person with 3 earlier sessions skips it (their pooled baseline is used by default).

Figures (rest: share of rest time shown High, after the calibration; episodes: High entries
per 10 minutes of rest):

==============================  ============================  ==========================
recording                       previous model (20 s HR,      this model
                                60 s RMSSD, 2-min calib.,
                                enter 1.25 after 3 s)
==============================  ============================  ==========================
drivedb drive06 rest (27 min)   High 6.2 %, 1.1 episodes      High 0.0 %, 0 episodes
                                (4.4 % without the first      (3.3 % with the first 60 s
                                60 s after driving)           after driving, when the
                                                              heart is still at 111 bpm)
drive06 city, High reached      23, 0, 0 s after the          45, 0, 0 s
after segment start             segment start
drive06 AUC city vs rest        arousal 0.968 (HR 0.964)      arousal 0.974 (HR alone 0.962)
MIT-BIH 100 / 101 / 105, 30     High 0 / 0 / 15.2 %           High 0 / 0 / 0 %
min of quiet Holter each
drivedb drive17a (no segment   High 27 %                     High 0 %
labels, information only)
nsr001, 22 one-hour sessions    --                            High median 10.8 %, quartiles
of daily life (not rest)                                      0.4-25.7 %; 0.36 episodes
                                                              per 10 min
Stress-Predict wrist BVP, 28    -- (this model with the gate  with --pulse-sensor: 27
people (rest High; AUC of       alone: 4 calibrated, AUC      calibrated, rest High 0 %,
tasks vs rest)                  0.49, HR alone 0.78)          Low 0 %, AUC median 0.560
                                                              (HR alone 0.560); as a plain
                                                              RR file: 28 calibrated, rest
                                                              High 0 %, Low 0 %, AUC median
                                                              0.566 (HR alone 0.557)
==============================  ============================  ==========================

Real rest arousal p95/p99 under the previous model was 1.03/1.29 (drive06), 0.82/1.11
(MIT-BIH 100), 1.32/1.49 (105); under this model 0.93/1.16, 0.76/1.02, 1.07/1.25, so the
2.0 enter threshold sits well above resting fluctuation. Trade-offs measured on the same
recordings: entering at 1.75 spreads showed High in 4.7 % of drive17a and raised the nsr001
quartiles to 2.6-25.9 %; at 1.5 (back at 0.75, 10 s) 19 % of drive17a; a 10 s confirmation
at 2.0 showed High in 6.8 % of drive17a (0.8 episodes per 10 min); a 30 s one delays the
first city segment to 55 s (the target is 60 s). A 4-minute calibration gave the same rest
figures and a later start. (The previous model's column is these recordings run with its
parameters and calibration.) The targets (rest High <= 2 %, <= 0.3 episodes per 10 min, every
city segment High within 60 s, AUC of arousal >= AUC of heart rate alone) are met on these
recordings except the 60 s right after the drive06 car stopped, which is arousal, not rest.
Wrist pulse: on the public Stress-Predict recordings (28 usable people, Empatica E4 wrist
BVP, beats found by neurokit2; a Stroop test, an interview and hyperventilation with rest
between; ``TRM_BIO_STRESS_PREDICT`` runs it in the bench) the beat series jitter by a median
50-250 ms from beat to beat, which no HRV reading survives: the quality gate fails at almost
every beat. With the gate alone, only 4 people ever completed a calibration and the arousal
separated tasks from rest no better than chance (AUC 0.49, heart rate alone 0.78 on those
4). Now beats gated for their timing or rhythm still calibrate the heart rate and give the
arousal from heart rate alone, on any source. With ``--pulse-sensor`` 27 of 28 people
calibrate, the arousal is from heart rate alone in a median 97 % of rest, and its tasks-vs-
rest AUC is heart rate alone's (median 0.560 both, mean 0.581 against 0.584 over the 27).
The same files read as plain RR files (``trm-bio analyze FILE --series``, what a check that
does not know the flag runs; the chest-strap gate) calibrate all 28, with the arousal from
heart rate alone in a median 100 % of rest and an AUC median 0.566 (mean 0.579) against
heart rate alone's 0.557 (0.581). Either way 4 people later complete an HRV reference from
stretches of plausible-looking HRV (below), and their arousal then holds the vagal term: per
person the AUC moves by -0.053 to +0.049 against heart rate alone (-0.053: S34, whose
wrist HRV passed as plausible for half the time). The zone stays UNKNOWN where the arousal is
heart rate alone, so no rest time is shown High (target <= 8 %) and none Low, in either
run. A High-only zone read from that heart-rate arousal was measured and not adopted: it
showed High in up to 9.4 % of one person's rest (two of 27 above 8 %) while marking a median
0 % of the tasks, mild stress that heart rate alone barely shows (AUC 0.56).

Signal-quality gating (:func:`quality_reason`; the zone is UNKNOWN with a plain reason,
never Low, and the beat does not calibrate, except as the last two points say):

* irregular rhythm or sustained ectopy (:mod:`trm_bio.core.rhythm`, the engine's
  ``rhythm_ok`` / ``irregular``), held for ``rhythm_hold_s`` = the RMSSD window (120 s) after
  the last failing beat, because that window still holds those beats: without the hold,
  atrial fibrillation in MIT-BIH 219 that the beat-level check missed read Low for 57 beats;
  with it, no AF beat of MIT-BIH 201, 203 or 219 shows a zone;
* more than 10 % corrected beats in the last minute (``max_artifact_share``): the clean
  records never exceed 4 % (drive06, nsr001, MIT-BIH 101, p99 <= 3.6 %) and MIT-BIH 100
  with its 33 atrial premature beats stays under 6.7 %; PVC-heavy 116 exceeds it 0.5 % of
  the time, 223 32 %;
* RMSSD above 20 % of the mean interval (``max_rmssd_share``; RMSSD x HR / 60,000): in sinus
  rhythm the largest value seen was 0.154 (drive17a), 0.114 over 22 h of nsr001, 0.113 in
  drive06; AF stretches the rhythm check misses and failed corrections read 0.2-0.7. On a
  pulse sensor (body location wrist, finger, hand or ear lobe, :data:`PULSE_LOCATIONS`) the
  limit is 15 %: pulse-arrival jitter adds to RMSSD (a 180 ms RMSSD at 75 bpm, 0.22, was
  seen from wrist jitter), and no sinus ECG value above 0.154 was seen.
* a failed rhythm check or an implausible RMSSD (:data:`TIMING_REASONS`), on any source,
  faults the beat timing or rhythm, not the heart rate, which is a 20 s window mean that
  timing jitter hardly moves. Those beats calibrate the heart rate (the HRV part of the
  baseline is built from the plausible values only, and left out when they are too few:
  :attr:`~trm_bio.core.baseline.Baseline.has_hrv`), and their arousal is heart rate alone;
  the zone is UNKNOWN with the gate's own reason (on a pulse sensor :data:`REASON_HR_ONLY`,
  since there the timing, not the heart, is at fault), never Low (the Low side needs HRV)
  and never High (see the wrist figures above). This holds on a chest strap too, because a
  wrist recording read as a plain RR file meets the chest gate, and because atrial
  fibrillation still has a heart rate. The rhythm check comes first, as before, so a beat
  both irregular and heavily corrected reads heart rate alone (the artifact check flags the
  irregular intervals too: 4-20 % of the AF beats of MIT-BIH 201, 203, 219 are over 10 %);
  too many corrected beats in a regular rhythm leave the arousal NaN (missed and extra
  beats bias the rate too).
* a baseline found without HRV (or a pooled one without it) is completed later: the
  plausible values that follow are calibrated by the same rules (3 minutes, coverage, no
  trend), and once they pass, their ln RMSSD centre and spread become the baseline's HRV
  part and the zone is shown again; the heart-rate part stays, so the arousal keeps one
  scale. Meanwhile the arousal is heart rate alone and the reason reads
  :data:`REASON_SETTLING_HRV`. So a chest session that opens with 3 minutes of atrial
  fibrillation (MIT-BIH 201, 203) regains its zone 5-6 minutes into sinus rhythm (the 120 s
  rhythm hold, then 3 minutes of calibration). Taking the heart-rate part from the
  completing window as well was measured and not adopted: it fits a session whose opening
  heart rate was another rhythm's (201: 88 bpm in fibrillation, 70 in the sinus rhythm that
  follows in the test, so the heart rate reads about 2.5 spreads low there), but the arousal
  changes scale mid-session, and on the wrist recordings it cost S05 0.10 of AUC (mean 0.576).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from trm_bio.core.baseline import (
    Baseline,
    BaselineParams,
    Calibrator,
)
from trm_bio.core.errors import TrmBioError


class Zone(enum.IntEnum):
    """Zone indicator codes (int8 in arrays). UNKNOWN is not ordered with the others."""

    LOW = -1
    RESILIENT = 0
    HIGH = 1
    UNKNOWN = 2

    @property
    def label(self) -> str:
        """Lower-case name for JSON, files and the UI ("low", "resilient", ...)."""
        return self.name.lower()


#: The RMSSD window of the indicator (s): see ``RMSSD_WINDOW_S`` below.
RMSSD_WINDOW_S_DEFAULT = 120.0


@dataclass(frozen=True, slots=True)
class RegulationParams:
    """Weights and thresholds of the arousal and zone indicators (all settable).

    Parameters
    ----------
    w_hr, w_vagal, w_resp : float
        Weights of the heart-rate, ln RMSSD and respiration-rate z-scores. HR and vagal
        HRV count equally, as PNS and SNS do in Kubios; respiration is off by default.
    z_clip : float
        Each z-score is clipped to ±z_clip so one runaway component (RMSSD near 0 during
        a burst of motion) cannot dominate.
    high_enter, high_exit : float
        The indicator enters the High Zone at ``arousal >= high_enter`` and returns inside
        the band at ``arousal < high_exit`` (hysteresis; high_exit < high_enter).
        2.0 spreads (e.g. HR +16 bpm alone with the 4 bpm spread floor, or HR +8 bpm with
        RMSSD down by 45 %) sits above the p99 of real resting fluctuation (1.0-1.25 on
        drive06 and MIT-BIH 100, 105); 1.0 lets a state a few bpm above baseline count as
        back (the module docs give the figures).
    low_enter, low_exit : float
        Low Zone at ``lowness >= low_enter``, back inside at ``lowness < low_exit``. Above
        the high side's enter threshold: the low side is the least certain.
    w_flat : float
        Weight of the slow-and-flat pattern in ``lowness`` (0 turns it off).
    min_dwell_s : float
        After a zone change, the zone is held at least this long (s).
    confirm_s : float
        A new zone must be indicated continuously this long before it is shown (s): 20 s
        keeps HR blips to 87 bpm at rest out and still marks city driving within 45 s.
    hold_unknown_s : float
        During invalid values the zone shows UNKNOWN but the last zone is remembered; after
        this long without a valid value it is forgotten and the next valid value starts
        afresh (s).
    max_artifact_share : float
        Signal-quality gate: above this share of corrected beats in the last minute the
        zone is UNKNOWN (see the module docs).
    max_rmssd_share, max_rmssd_share_pulse : float
        Signal-quality gate: RMSSD above this share of the mean interval is not taken as
        vagal HRV, on a chest strap and on a pulse sensor (see the module docs).
    rhythm_hold_s : float
        Signal-quality gate: after a beat whose rhythm check failed, the zone stays UNKNOWN
        this long (s), the length of the RMSSD window, which still holds those beats.
    disagree_z : float
        A High reading is flagged tentative when one component points the other way by at
        least this many spreads (HR below baseline or vagal HRV above it).
    baseline : BaselineParams
        How the session-start baseline is built.
    """

    w_hr: float = 1.0
    w_vagal: float = 1.0
    w_resp: float = 0.0
    z_clip: float = 6.0
    high_enter: float = 2.0
    high_exit: float = 1.0
    low_enter: float = 2.5
    low_exit: float = 1.5
    w_flat: float = 1.0
    min_dwell_s: float = 15.0
    confirm_s: float = 20.0
    hold_unknown_s: float = 60.0
    disagree_z: float = 1.0
    max_artifact_share: float = 0.10
    max_rmssd_share: float = 0.20
    max_rmssd_share_pulse: float = 0.15
    rhythm_hold_s: float = RMSSD_WINDOW_S_DEFAULT
    baseline: BaselineParams = field(default_factory=BaselineParams)

    def __post_init__(self) -> None:
        if not 0 <= self.high_exit < self.high_enter:
            raise TrmBioError("The high exit threshold must lie between 0 and the enter threshold.")
        if not 0 <= self.low_exit < self.low_enter:
            raise TrmBioError("The low exit threshold must lie between 0 and the enter threshold.")
        weights = (self.w_hr, self.w_vagal, self.w_resp, self.w_flat)
        if min(weights) < 0 or self.w_hr + self.w_vagal <= 0:
            raise TrmBioError("Indicator weights must be non-negative and HR + vagal must be > 0.")


DEFAULT_PARAMS = RegulationParams()

#: Recommended input windows (s): heart rate and RMSSD (see the module docs).
HR_WINDOW_S = 20.0
RMSSD_WINDOW_S = RMSSD_WINDOW_S_DEFAULT
#: The engine metrics (trm_bio.core.engine) the indicator reads, with those windows.
HR_METRIC = "HR_20s"
VAGAL_METRIC = "RMSSD_120s"


class ZoneTracker:
    """Hysteresis state machine shared by batch and live paths (O(1) per beat).

    Call :meth:`update` with each beat's time (s) and arousal, in time order.
    """

    __slots__ = (
        "_confirm_s",
        "_dwell_s",
        "_hi_enter",
        "_hi_exit",
        "_hold_s",
        "_lo_enter",
        "_lo_exit",
        "last_valid_s",
        "pending",
        "pending_since_s",
        "since_s",
        "zone",
    )

    def __init__(self, params: RegulationParams = RegulationParams()) -> None:
        self._hi_enter = params.high_enter
        self._hi_exit = params.high_exit
        self._lo_enter = params.low_enter
        self._lo_exit = params.low_exit
        self._dwell_s = params.min_dwell_s
        self._confirm_s = params.confirm_s
        self._hold_s = params.hold_unknown_s
        self.zone = int(Zone.UNKNOWN)  # remembered zone (may be held through invalid beats)
        self.since_s = -math.inf
        self.pending = int(Zone.UNKNOWN)
        self.pending_since_s = math.inf
        self.last_valid_s = -math.inf

    def update(self, time_s: float, arousal: float, lowness: float) -> int:
        """Zone code (:class:`Zone` value) shown at this beat.

        ``arousal`` drives the high side and ``lowness`` (:func:`lowness_indicator`, >= 0)
        the low side; either NaN means no valid value at this beat.
        """
        if arousal != arousal or lowness != lowness:
            # Invalid: show unknown, keep the zone unless it has gone stale.
            if time_s - self.last_valid_s > self._hold_s:
                self.zone = int(Zone.UNKNOWN)
            self.pending = int(Zone.UNKNOWN)
            return int(Zone.UNKNOWN)
        self.last_valid_s = time_s
        zone = self.zone
        if zone == 0:
            cand = 1 if arousal >= self._hi_enter else (-1 if lowness >= self._lo_enter else 0)
        elif zone == 1:
            if arousal >= self._hi_exit:
                cand = 1
            else:
                cand = -1 if lowness >= self._lo_enter else 0
        elif zone == -1:
            if lowness >= self._lo_exit:
                cand = -1
            else:
                cand = 1 if arousal >= self._hi_enter else 0
        else:  # nothing remembered: classify by the enter thresholds, at once
            self.zone = 1 if arousal >= self._hi_enter else (-1 if lowness >= self._lo_enter else 0)
            self.since_s = time_s
            self.pending = int(Zone.UNKNOWN)
            return self.zone
        if cand == zone:
            self.pending = int(Zone.UNKNOWN)
            return zone
        if cand != self.pending:
            self.pending = cand
            self.pending_since_s = time_s
        if (
            time_s - self.pending_since_s >= self._confirm_s
            and time_s - self.since_s >= self._dwell_s
        ):
            self.zone = cand
            self.since_s = time_s
            self.pending = int(Zone.UNKNOWN)
        return self.zone


def arousal_indicator(
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    baseline: Baseline,
    resp_rate_per_min: np.ndarray | None = None,
    *,
    params: RegulationParams = RegulationParams(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-beat arousal indicator against a baseline (vectorised).

    Parameters
    ----------
    hr_bpm, rmssd_ms : ndarray
        Per-beat window heart rate (bpm) and RMSSD (ms); NaN where invalid.
    baseline : Baseline
        The person's reference.
    resp_rate_per_min : ndarray, optional
        Respiration rate (breaths/min); used where finite when ``params.w_resp > 0`` and the
        baseline has a respiration centre.
    params : RegulationParams
        Weights and clip.

    Returns
    -------
    arousal, z_hr, z_vagal : ndarray
        The indicator (baseline-spread units; NaN where HR or RMSSD is invalid) and its HR
        and ln RMSSD z-scores.
    """
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rmssd = np.asarray(rmssd_ms, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_rmssd = np.log(np.where(rmssd > 0, rmssd, np.nan))
    z_hr = np.clip((hr - baseline.hr_bpm) / baseline.hr_spread_bpm, -params.z_clip, params.z_clip)
    z_vagal = np.clip(
        (ln_rmssd - baseline.ln_rmssd) / baseline.ln_rmssd_spread, -params.z_clip, params.z_clip
    )
    num = params.w_hr * z_hr - params.w_vagal * z_vagal
    den = np.full_like(num, params.w_hr + params.w_vagal)
    if (
        resp_rate_per_min is not None
        and params.w_resp > 0
        and math.isfinite(baseline.resp_rate_per_min)
    ):
        resp = np.asarray(resp_rate_per_min, dtype=np.float64)
        z_resp = np.clip(
            (resp - baseline.resp_rate_per_min) / baseline.resp_spread_per_min,
            -params.z_clip,
            params.z_clip,
        )
        ok = np.isfinite(z_resp)
        num = num + np.where(ok, params.w_resp * z_resp, 0.0)
        den = den + np.where(ok, params.w_resp, 0.0)
    return num / den, z_hr, z_vagal


def lowness_indicator(
    arousal: np.ndarray,
    z_hr: np.ndarray,
    z_vagal: np.ndarray,
    *,
    params: RegulationParams = DEFAULT_PARAMS,
) -> np.ndarray:
    """Evidence for the low side (baseline-spread units, >= 0; NaN where arousal is NaN).

    ``max(-arousal, w_flat * min(-z_hr, -z_vagal), 0)``: the first term is "slow with high
    variability" (negative arousal), the second "slow and flat" (heart rate *and* vagal HRV
    both below baseline, which cancel in ``arousal``).
    """
    a = np.asarray(arousal, dtype=np.float64)
    flat = params.w_flat * np.minimum(-np.asarray(z_hr), -np.asarray(z_vagal))
    out = np.maximum(np.maximum(-a, flat), 0.0)
    return np.where(np.isnan(a) | np.isnan(flat), np.nan, out)


def _tentative(zone: int, z_hr: float, z_vagal: float, disagree_z: float) -> bool:
    if zone == Zone.LOW:
        return True
    if zone == Zone.HIGH:
        return z_hr <= -disagree_z or z_vagal >= disagree_z
    return False


#: Plain sentences for why the zone is not shown (``RegulationState.reason``).
#: Heart-rate variability may already show (its 60 s window) while the zone's 120 s window
#: fills, so these words speak of the zone only.
REASON_WAITING = "Waiting for enough clean beats to place the zone."
#: A failed rhythm check before the irregular-rhythm check can judge (the first half-minute
#: of a segment): it cannot yet tell extra beats from an irregular rhythm, so names neither.
REASON_CHECKING = (
    "Checking the heart rhythm, so heart-rate variability cannot show the zone yet."
)
REASON_IRREGULAR = (
    "The heart rhythm is irregular just now, so heart-rate variability cannot show the zone."
)
REASON_ECTOPIC = (
    "Frequent extra beats (such as bigeminy) just now, so heart-rate variability cannot "
    "show the zone."
)
REASON_ARTIFACTS = (
    "Too many beats needed correcting in the last minute, so the zone is not shown."
)
REASON_IMPLAUSIBLE = (
    "The beat-to-beat variability is implausibly high for this sensor (pulse jitter or "
    "missed beats), so the zone is not shown."
)
REASON_PULSE_IRREGULAR = (
    "The pulse beats are too irregular to read heart-rate variability (movement or a loose "
    "sensor), so the zone is not shown."
)
REASON_SETTLING = "Settling in: measuring this person's resting reference."
REASON_HR_ONLY = (
    "Heart rate only: this sensor's beat-to-beat timing is too noisy for heart-rate "
    "variability, so the zone is not shown."
)
REASON_SETTLING_HRV = "Settling in: measuring heart-rate variability's resting reference."
#: Gate reasons that fault the beat timing or rhythm, not the window heart rate: the arousal
#: is then read from heart rate alone, on any source (see :class:`Regulator`).
TIMING_REASONS = frozenset(
    {REASON_PULSE_IRREGULAR, REASON_IMPLAUSIBLE, REASON_IRREGULAR, REASON_ECTOPIC,
     REASON_CHECKING}
)

#: Bluetooth body sensor location codes of pulse (optical) sensors: wrist, finger, hand,
#: ear lobe (Heart Rate Service, org.bluetooth.characteristic.body_sensor_location).
PULSE_LOCATIONS = frozenset({2, 3, 4, 5})


def quality_reason(
    hr_bpm: float,
    rmssd_ms: float,
    rhythm: str = "",
    artifact_share: float = math.nan,
    *,
    pulse_source: bool = False,
    params: RegulationParams = DEFAULT_PARAMS,
) -> str:
    """Why one beat's values cannot place the zone ("" when they can); see the module docs.

    Parameters
    ----------
    hr_bpm, rmssd_ms : float
        Window heart rate (bpm) and RMSSD (ms); NaN when not valid.
    rhythm : {"", "irregular", "ectopic", "checking"}
        The rhythm check at this beat ("" when HRV is valid; "checking" when it failed before
        the irregular-rhythm check could judge).
    artifact_share : float
        Share of the last minute's beats that were flagged and corrected (0-1; NaN unknown).
    pulse_source : bool
        The beats come from a pulse (optical) sensor, whose timing jitter adds to RMSSD.
    params : RegulationParams
        The gate's limits.
    """
    if rhythm and pulse_source:
        # From a pulse sensor, timing jitter looks like an irregular rhythm or runs of
        # "extra" beats far more often than the heart does so (Stress-Predict wrist beats:
        # median successive differences up to 250 ms at rest), so the reason names the signal.
        return REASON_PULSE_IRREGULAR
    if rhythm == "irregular":
        return REASON_IRREGULAR
    if rhythm == "checking":
        return REASON_CHECKING
    if rhythm:
        return REASON_ECTOPIC
    if artifact_share > params.max_artifact_share:
        return REASON_ARTIFACTS
    if not (hr_bpm == hr_bpm and rmssd_ms == rmssd_ms and rmssd_ms > 0 and hr_bpm > 0):
        return REASON_WAITING
    limit = params.max_rmssd_share_pulse if pulse_source else params.max_rmssd_share
    if rmssd_ms * hr_bpm / 60_000.0 > limit:  # RMSSD over the mean interval
        return REASON_IMPLAUSIBLE
    return ""


@dataclass(frozen=True)
class RegulationTrace:
    """The regulation model over a whole session (parallel to the beat arrays).

    Attributes
    ----------
    times_s : ndarray
        Beat times (s).
    arousal, z_hr, z_vagal : ndarray
        Indicator and its components (baseline-spread units); NaN while calibrating or
        where inputs are invalid. Where the beat timing or rhythm spoils HRV, the arousal
        is heart rate alone (``z_hr``) and ``z_vagal`` NaN (``reason`` says why).
    lowness : ndarray
        Low-side evidence (:func:`lowness_indicator`).
    zone : ndarray of int8
        :class:`Zone` codes.
    tentative : ndarray of bool
        The zone reading is uncertain (every Low reading; High with disagreeing components).
    baseline : Baseline or None
        The reference used (None when the session never completed calibration).
    calibration_end_index : int
        Index of the beat that completed the session-start calibration (-1 when the
        baseline was given or never completed).
    reason : ndarray of str
        Why the zone is UNKNOWN at each beat ("" where a zone is shown).
    hrv_shown : ndarray of bool
        Whether the live screen showed HRV numbers at each beat
        (:attr:`RegulationState.hrv_shown`): reports and plots hide them where it did not.
    """

    times_s: np.ndarray
    arousal: np.ndarray
    lowness: np.ndarray
    z_hr: np.ndarray
    z_vagal: np.ndarray
    zone: np.ndarray
    tentative: np.ndarray
    baseline: Baseline | None
    calibration_end_index: int
    reason: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    hrv_shown: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))

    def zone_labels(self) -> list[str]:
        """Zone names per beat ("low", "resilient", "high", "unknown")."""
        names = {int(z): z.label for z in Zone}
        return [names[int(z)] for z in self.zone]


def rhythm_words(
    rhythm_ok: np.ndarray, irregular: np.ndarray | None, judged: np.ndarray | None = None
) -> list[str]:
    """Per-beat rhythm as :func:`quality_reason` takes it ("", "irregular", "ectopic" or
    "checking": failed where ``judged``, :func:`~trm_bio.core.rhythm.irregular_judged`, is
    False, so that extra beats cannot yet be told from an irregular rhythm)."""
    ok = np.asarray(rhythm_ok, dtype=bool)
    irr = np.zeros(ok.size, dtype=bool) if irregular is None else np.asarray(irregular, bool)
    known = np.ones(ok.size, dtype=bool) if judged is None else np.asarray(judged, bool)
    failed = np.where(known, "ectopic", "checking")
    words = np.where(ok, "", np.where(irr, "irregular", failed))
    return [str(w) for w in words]


def regulate(
    times_s: np.ndarray,
    hr_bpm: np.ndarray,
    rmssd_ms: np.ndarray,
    resp_rate_per_min: np.ndarray | None = None,
    *,
    baseline: Baseline | None = None,
    params: RegulationParams = RegulationParams(),
    rhythm: list[str] | None = None,
    artifact_share: np.ndarray | None = None,
    pulse_source: bool = False,
) -> RegulationTrace:
    """Arousal and zone indicators for a whole session: the live :class:`Regulator`, beat by beat.

    Parameters
    ----------
    times_s : ndarray
        Beat times (s from session start), non-decreasing.
    hr_bpm, rmssd_ms : ndarray
        Per-beat window heart rate (bpm; ``HR_METRIC``) and RMSSD (ms; ``VAGAL_METRIC``),
        NaN where invalid (gaps, bigeminy, windows not full).
    resp_rate_per_min : ndarray, optional
        Per-beat respiration rate (breaths/min).
    baseline : Baseline, optional
        The reference (e.g. from :func:`~trm_bio.core.baseline.combine_baselines`). When
        None, the session-start calibration (:class:`~trm_bio.core.baseline.Calibrator`)
        sets it and the beats before show NaN / UNKNOWN, as they do live.
    params : RegulationParams
        Weights and thresholds.
    rhythm : list of str, optional
        Per-beat rhythm check (:func:`rhythm_words`); None: all regular.
    artifact_share : ndarray, optional
        Per-beat share of corrected beats in the last minute
        (:func:`trm_bio.core.engine.recent_artifact_share`).
    pulse_source : bool
        The beats come from a pulse sensor (see :func:`quality_reason` and :class:`Regulator`).

    Returns
    -------
    RegulationTrace
    """
    times = np.asarray(times_s, dtype=np.float64)
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rmssd = np.asarray(rmssd_ms, dtype=np.float64)
    n = times.size
    resp = (
        np.full(n, np.nan) if resp_rate_per_min is None
        else np.asarray(resp_rate_per_min, np.float64)
    )
    share = np.full(n, np.nan) if artifact_share is None else np.asarray(artifact_share)
    words = [""] * n if rhythm is None else list(rhythm)
    if hr.shape != (n,) or rmssd.shape != (n,) or resp.shape != (n,) or share.shape != (n,):
        raise TrmBioError(
            "Beat times, heart rate, RMSSD and respiration must be equal-length 1-D arrays."
        )
    if len(words) != n:
        raise TrmBioError("The rhythm checks must be one per beat.")
    live = Regulator(params, baseline, pulse_source=pulse_source)
    step = live.update
    states = [
        step(t, h, r, q, rhythm=w, artifact_share=a)
        for t, h, r, q, w, a in zip(
            times.tolist(), hr.tolist(), rmssd.tolist(), resp.tolist(), words, share.tolist(),
            strict=True,
        )
    ]
    if states:
        columns = list(zip(*states, strict=True))
        arousal, lowness, zone_col, tentative, z_hr, z_vagal = (
            np.array(columns[i]) for i in range(6)
        )
        zone = np.array([int(z) for z in zone_col], dtype=np.int8)
        reason = np.array(columns[7], dtype=object)
        hrv_shown = np.array([state.hrv_shown for state in states], dtype=bool)
    else:
        arousal = lowness = z_hr = z_vagal = np.full(0, np.nan)
        zone = np.full(0, Zone.UNKNOWN, dtype=np.int8)
        tentative = np.zeros(0, dtype=bool)
        reason = np.array([], dtype=object)
        hrv_shown = np.ones(0, dtype=bool)
    return RegulationTrace(
        times, arousal.astype(np.float64), lowness.astype(np.float64), z_hr.astype(np.float64),
        z_vagal.astype(np.float64), zone, np.asarray(tentative, dtype=bool), live.baseline,
        live.calibration_end_index, reason, hrv_shown,
    )


class RegulationState(NamedTuple):
    """One beat of the live regulation model.

    ``reason`` says in a plain sentence why the zone is UNKNOWN ("" when a zone is shown);
    ``calibration_left_s`` is the settling time left (NaN when not calibrating, or while a
    poor calibration is being extended); ``baseline_source`` is the reference in use
    ("session-start", "previous-sessions", or "" while there is none).

    ``rhythm`` is the failed rhythm check in effect ("", "irregular", "ectopic",
    "checking"), held as the reason is (``rhythm_hold_s``); ``hrv_shown`` is False while the
    beat timing or rhythm spoils HRV (that held rhythm, or a :data:`TIMING_REASONS` gate):
    then no screen shows a number read from beat-to-beat variability (RMSSD, SDNN,
    breathing from heart rhythm, coherence, the spectrum), whatever a single window says, so
    the numbers and the words beside them always agree.
    """

    arousal: float
    lowness: float
    zone: Zone
    tentative: bool
    z_hr: float
    z_vagal: float
    calibrating: bool
    reason: str = ""
    calibration_left_s: float = math.nan
    baseline_source: str = ""
    rhythm: str = ""
    hrv_shown: bool = True


_ZONES = {int(z): z for z in Zone}


class Regulator:
    """Live regulation model: feed one beat at a time (the batch :func:`regulate` runs it too).

    Parameters
    ----------
    params : RegulationParams
        Weights and thresholds.
    baseline : Baseline, optional
        A ready reference (previous sessions). Without it the regulator calibrates on the
        first minutes of valid values (:class:`~trm_bio.core.baseline.Calibrator`), showing
        UNKNOWN meanwhile.
    pulse_source : bool
        The beats come from a pulse (optical) sensor: a stricter plausibility limit on RMSSD,
        and where the pulse timing spoils HRV the reason is :data:`REASON_HR_ONLY`. On any
        source, where the timing or rhythm spoils HRV the arousal is read from heart rate
        alone, zone UNKNOWN, and a baseline without HRV is completed later (module docs).
    """

    def __init__(
        self,
        params: RegulationParams = RegulationParams(),
        baseline: Baseline | None = None,
        *,
        pulse_source: bool = False,
    ) -> None:
        self.params = params
        self.pulse_source = pulse_source
        self._tracker = ZoneTracker(params)
        self._calibrator = Calibrator(params.baseline)
        # Completes a baseline found without HRV from later plausible values.
        self._hrv_calibrator = Calibrator(params.baseline)
        self._use_resp = False
        self._has_hrv = False
        self._beats = 0
        self._rhythm_word = ""  # the last failed rhythm check, held for rhythm_hold_s
        self._rhythm_s = -math.inf
        #: Index (beats fed so far) of the beat that completed the calibration, -1 if none.
        self.calibration_end_index = -1
        self._set_baseline(baseline)

    @property
    def baseline(self) -> Baseline | None:
        """The reference in use (None while calibrating)."""
        return self._baseline

    def _set_baseline(self, baseline: Baseline | None) -> None:
        self._baseline = baseline
        if baseline is None:
            return
        p = self.params
        self._hr_c, self._hr_s = baseline.hr_bpm, baseline.hr_spread_bpm
        self._ln_c, self._ln_s = baseline.ln_rmssd, baseline.ln_rmssd_spread
        self._has_hrv = baseline.has_hrv
        self._resp_c, self._resp_s = baseline.resp_rate_per_min, baseline.resp_spread_per_min
        self._use_resp = p.w_resp > 0 and math.isfinite(self._resp_c)

    def _calibrating(
        self, time_s: float, gate: str, rhythm: str = "", hrv_shown: bool = True
    ) -> RegulationState:
        cal = self._calibrator
        if gate == REASON_WAITING:
            # The windows are filling: that is part of measuring the resting reference
            # (``left`` counts it), and HRV may already show from its shorter window.
            gate = ""
        if gate and cal.started:
            reason = gate
        elif cal.problem:
            reason = f"Settling in: still measuring the resting reference, as {cal.problem}."
        elif cal.rejection:
            reason = f"{cal.rejection} Settling in again."
        else:
            reason = gate or REASON_SETTLING
        left = cal.left_s(time_s)
        if not cal.started:  # the indicator's RMSSD window is still filling since time 0
            left += max(RMSSD_WINDOW_S - time_s, 0.0)
        nan = math.nan
        return RegulationState(
            nan, nan, Zone.UNKNOWN, False, nan, nan, True, reason, left, "", rhythm, hrv_shown
        )

    def update(
        self,
        time_s: float,
        hr_bpm: float,
        rmssd_ms: float,
        resp_rate_per_min: float = math.nan,
        *,
        rhythm: str = "",
        artifact_share: float = math.nan,
    ) -> RegulationState:
        """Add one beat's window values; returns the indicator and zone at this beat.

        Parameters
        ----------
        time_s : float
            Beat time (s).
        hr_bpm, rmssd_ms : float
            Window heart rate (bpm) and RMSSD (ms) at this beat; NaN when invalid.
        resp_rate_per_min : float
            Respiration rate (breaths/min), NaN when not available.
        rhythm : {"", "irregular", "ectopic", "checking"}
            The rhythm check at this beat.
        artifact_share : float
            Share of corrected beats in the last minute (0-1), NaN when unknown.
        """
        index = self._beats
        self._beats += 1
        p = self.params
        held = time_s - self._rhythm_s < p.rhythm_hold_s
        if rhythm:
            if held and rhythm == "ectopic" and self._rhythm_word == "irregular":
                # Inside an irregular stretch the alternation check fails too: the
                # irregular rhythm is still what the window holds, not extra beats.
                rhythm = "irregular"
            self._rhythm_word, self._rhythm_s = rhythm, time_s
        elif held:
            rhythm = self._rhythm_word  # the RMSSD window still holds those beats
        gate = quality_reason(
            hr_bpm, rmssd_ms, rhythm, artifact_share, pulse_source=self.pulse_source, params=p
        )
        # Timing noise or an irregular rhythm spoils HRV, not the heart rate (a window mean).
        hr_only = gate in TIMING_REASONS and hr_bpm > 0
        # One rule for the words and the numbers: while the rhythm is held failed or the
        # timing spoils HRV, no HRV number shows (see RegulationState).
        hrv_shown = not rhythm and gate not in TIMING_REASONS
        if hr_only and self.pulse_source:
            gate = REASON_HR_ONLY
        if self._baseline is None:
            if gate and not hr_only:
                return self._calibrating(time_s, gate, rhythm, hrv_shown)
            found = self._calibrator.push(
                time_s, hr_bpm, math.nan if hr_only else rmssd_ms, resp_rate_per_min
            )
            if found is None:
                return self._calibrating(time_s, "", rhythm, hrv_shown)
            self._set_baseline(found)
            self.calibration_end_index = index
        elif not gate and not self._has_hrv:
            # A baseline without HRV: the plausible values that follow calibrate by the same
            # rules, and give its HRV part; its heart-rate part stays, so the arousal keeps
            # one scale through the session (see the module docs).
            found = self._hrv_calibrator.push(time_s, hr_bpm, rmssd_ms, resp_rate_per_min)
            if found is not None and self._baseline is not None:
                self._set_baseline(dataclasses.replace(
                    self._baseline, ln_rmssd=found.ln_rmssd, ln_rmssd_spread=found.ln_rmssd_spread
                ))
        if not gate and not self._has_hrv:
            # Plausible HRV now, but no HRV reference to measure it against yet.
            hr_only = True
            cal = self._hrv_calibrator
            gate = REASON_SETTLING_HRV
            if cal.problem:
                gate = f"{REASON_SETTLING_HRV[:-1]}, as {cal.problem}."
        if hr_only:
            # The weighted mean without its vagal term: heart rate alone. No zone from it:
            # the Low side needs HRV, and the zone is never read from half the picture.
            clip = p.z_clip
            z_hr = min(max((hr_bpm - self._hr_c) / self._hr_s, -clip), clip)
            arousal, lowness, z_v = z_hr, math.nan, math.nan
        elif not gate:
            clip = p.z_clip
            z_hr = min(max((hr_bpm - self._hr_c) / self._hr_s, -clip), clip)
            z_v = min(max((math.log(rmssd_ms) - self._ln_c) / self._ln_s, -clip), clip)
            num = p.w_hr * z_hr - p.w_vagal * z_v
            den = p.w_hr + p.w_vagal
            if self._use_resp and resp_rate_per_min == resp_rate_per_min:
                z_r = min(max((resp_rate_per_min - self._resp_c) / self._resp_s, -clip), clip)
                num += p.w_resp * z_r
                den += p.w_resp
            arousal = num / den
            lowness = max(-arousal, p.w_flat * min(-z_hr, -z_v), 0.0)
        else:
            arousal = lowness = z_hr = z_v = math.nan
        code = self._tracker.update(time_s, arousal, lowness)
        tentative = _tentative(code, z_hr, z_v, p.disagree_z)
        source = self._baseline.source if self._baseline is not None else ""
        return RegulationState(
            arousal, lowness, _ZONES[code], tentative, z_hr, z_v, False, gate, math.nan, source,
            rhythm, hrv_shown,
        )


__all__ = [
    "DEFAULT_PARAMS",
    "HR_METRIC",
    "HR_WINDOW_S",
    "PULSE_LOCATIONS",
    "RMSSD_WINDOW_S",
    "VAGAL_METRIC",
    "Baseline",
    "BaselineParams",
    "RegulationParams",
    "RegulationState",
    "RegulationTrace",
    "Regulator",
    "Zone",
    "ZoneTracker",
    "arousal_indicator",
    "lowness_indicator",
    "quality_reason",
    "regulate",
    "rhythm_words",
]
