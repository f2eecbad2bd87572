"""A seeded model of a beating heart for the simulated strap: pure numpy, no clock, no threads.

How a beat series is made (integral pulse frequency modulation, IPFM): an instantaneous heart
period ``T(t)`` in ms is built on a 20 Hz grid,

    T(t) = 60000 / HR(t) - A_rsa(t) (1 + j_a(t)) sin(theta_resp(t))
           + A_mayer(t) sin(theta_mayer(t)) + v(t),

where ``theta_resp`` integrates the breathing rate (breaths/min, with a slow random wander of
``breathing_jitter``), ``theta_mayer`` integrates a ~0.1 Hz Mayer wave, ``j_a`` is a slow random
variation of breath depth and ``v`` a slow (very-low-frequency) drift. A beat fires each time
the integral of ``1000 / T`` over seconds crosses a whole number. Each RR interval then gets
independent beat-to-beat noise of standard deviation ``noise_ms``. Inspiration (sin > 0)
shortens RR: respiratory sinus arrhythmia.

RMSSD follows from the model. Differencing a sinusoid of amplitude ``a`` and frequency ``f``
sampled every ``T`` seconds gives a root-mean-square of ``sqrt(2) a sin(pi f T)``, and IPFM
averages the period over the beat, scaling amplitude by ``sinc(f T)``; white noise adds
``sqrt(2) noise``. :func:`expected_rmssd_ms` sums these, and :func:`rmssd_range_ms` gives the
model's documented range, that value ± ``RMSSD_TOLERANCE`` (20 %). Measured over seeds 0-29
(true beats, consecutive windows inside each steady phase), windows of 120 s or more stayed
within 18 % of the expected value and 300 s windows within 12 %; 60 s windows stayed within
25 %.

Documented RMSSD of each scenario's steady phases (``python -m devices.physiology`` prints
this table from the code):

====================  ===========  ===============  ====================
scenario              phase        expected RMSSD   documented range
====================  ===========  ===============  ====================
calm                  rest         35.5 ms          28.4-42.6 ms
stress                baseline     35.5 ms          28.4-42.6 ms
stress                stress       10.4 ms          8.3-12.5 ms
stress                recovered    32.3 ms          25.8-38.7 ms
paced-breathing       baseline     35.5 ms          28.4-42.6 ms
paced-breathing       paced        35.6 ms          28.5-42.7 ms
high-arousal          high         6.8 ms           5.5-8.2 ms
low-arousal           low          6.8 ms           5.4-8.1 ms
low-arousal-variable  low          64.2 ms          51.4-77.1 ms
helpnow               distress     8.9 ms           7.1-10.7 ms
helpnow               recovered    30.2 ms          24.2-36.3 ms
====================  ===========  ===============  ====================

Every scenario but ``calm`` starts with the calm baseline (65 bpm, 12 breaths/min, RSA 45 ms,
Mayer 15 ms, noise 8 ms), so a regulation model has its personal baseline to compare with.
The mean heart rate comes out about 1 % above the scripted one (RR is the harmonic mean of
the period). Paced breathing's RMSSD barely rises although its SDNN triples: RMSSD weighs
fast changes, and a 10 s breath changes RR slowly.

A person with a resonance rate (``--resonance-rate R``): :class:`ResonantHeartModel` with a
:class:`ResonanceResponse` makes the breathing part of the period depend on the breathing
rate (largest, and in phase with the breath, at ``R``), and follows a
:class:`BreathingGuide` (the app's pacer, the resonance assessment's protocol) while it is
on. Without one it breathes as the scenario says, all but unchanged at ordinary rates.

A person of a simulated group (:class:`PersonProfile`): their own resting heart rate, resting
RMSSD (the level of their variability), breathing swing (RSA depth) and reactivity (how far
a scenario's changes move them), drawn from a seed within the ranges of healthy resting
adults (resting heart rate 55-85 bpm; short-term resting RMSSD 20-70 ms, about the normal
range of Nunan et al., Pacing Clin Electrophysiol 33(11), 2010: 19-75 ms), RMSSD lower the
faster the heart, as in real rest. :meth:`PersonProfile.apply` makes a scenario theirs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, Protocol, TypedDict, TypeVar

import numpy as np

GRID_DT_S = 0.05
RMSSD_TOLERANCE = 0.20
#: A steady phase's windows stay within this many standard deviations of the slow wander.
WANDER_SIGMAS = 2.5
RR_FLOOR_MS = 250.0
RR_CEIL_MS = 2500.0


@dataclass(frozen=True)
class Profile:
    """A value that changes over time through knots: piecewise linear or smooth (smoothstep).

    Parameters
    ----------
    times_s : tuple of float
        Knot times (s from session start), increasing.
    values : tuple of float
        Value at each knot; held constant before the first and after the last knot.
    shape : {"linear", "smooth"}
        How to go from one knot to the next: straight line, or an S-curve with zero slope at
        each knot (``3u^2 - 2u^3``).
    """

    times_s: tuple[float, ...]
    values: tuple[float, ...]
    shape: Literal["linear", "smooth"] = "linear"

    def __post_init__(self) -> None:
        if len(self.times_s) != len(self.values) or not self.times_s:
            raise ValueError("A profile needs as many values as knot times, and at least one.")
        if np.any(np.diff(self.times_s) <= 0):
            raise ValueError("A profile's knot times must increase.")

    @classmethod
    def constant(cls, value: float) -> Profile:
        """A profile that never changes."""
        return cls((0.0,), (float(value),))

    def __call__(self, t_s: np.ndarray | float) -> np.ndarray:
        """The profile's value at times ``t_s`` (s)."""
        t = np.asarray(t_s, dtype=np.float64)
        knots = np.asarray(self.times_s, dtype=np.float64)
        values = np.asarray(self.values, dtype=np.float64)
        if self.shape == "linear" or len(knots) == 1:
            return np.interp(t, knots, values)
        i = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, len(knots) - 2)
        u = np.clip((t - knots[i]) / (knots[i + 1] - knots[i]), 0.0, 1.0)
        s = u * u * (3.0 - 2.0 * u)
        return values[i] + s * (values[i + 1] - values[i])


def _steps(
    knots: list[tuple[float, float]], shape: Literal["linear", "smooth"] = "smooth"
) -> Profile:
    return Profile(tuple(t for t, _ in knots), tuple(float(v) for _, v in knots), shape)


#: The slow wander of a resting heart, set so that the calm scenario's zone indicator moves
#: as much as it does on real rest (see tests/test_simulated_strap.py): with a 20 s HR and a
#: 60 s RMSSD window against a 2-minute calibration, real rest (drivedb drive06, MIT-BIH 100,
#: 105) gives an arousal p95 of about 0.8-1.3 and a p99 of 1.0-1.6; the calm scenario gives
#: 1.15 and 1.54 (seeds 0-11, 15 minutes each).
REST_HR_WANDER_BPM = 2.7
REST_RSA_WANDER = 0.2


@dataclass(frozen=True)
class Scenario:
    """A scripted stretch of physiology, as data.

    Parameters
    ----------
    name, description : str
        Id (used in source ids) and one sentence about it.
    duration_s : float
        Natural length (s); profiles hold their last values after it.
    heart_rate_bpm : Profile
        Resting (mean) heart rate (bpm).
    breaths_per_min : Profile
        Breathing rate (breaths/min).
    rsa_ms : Profile
        Peak amplitude of the respiratory RR modulation (ms); sets RMSSD.
    mayer_ms : Profile
        Peak amplitude of the ~0.1 Hz Mayer wave in RR (ms).
    noise_ms : Profile
        Standard deviation of independent beat-to-beat RR noise (ms).
    vlf_ms : float
        Standard deviation of the slow drift of the period (ms, time constant 40 s).
    breathing_jitter : float
        Relative standard deviation of the slow wander of the breathing rate (time constant
        20 s); small values give a sharp respiratory peak.
    depth_jitter : float
        Relative standard deviation of breath-to-breath depth (time constant 8 s).
    mayer_hz : float
        Centre frequency of the Mayer wave (Hz).
    hr_wander_bpm : float
        Standard deviation of the slow wander of the heart rate (bpm, time constant
        ``wander_tau_s``): a resting heart moves by a few bpm from minute to minute. The
        built-in scenarios use ``REST_HR_WANDER_BPM``; 0 (the default) leaves a scripted
        scenario exactly as scripted.
    rsa_wander : float
        Standard deviation of the slow wander of ln RSA amplitude (natural-log units, same
        time constant): resting RMSSD moves by a fifth or so from minute to minute.
    wander_tau_s : float
        Time constant of both wanders (s).
    events : mapping of str to float
        Scripted event times (s): ``onset`` (the change starts), ``peak`` (it is complete),
        ``recovery`` (the return starts; for ``helpnow`` the moment a Help Now! strategy is
        used), ``recovered`` (back near baseline).
    phases : mapping of str to (float, float)
        Steady stretches (start_s, end_s) whose RMSSD is documented (see :func:`rmssd_range_ms`).
    """

    name: str
    description: str
    duration_s: float
    heart_rate_bpm: Profile
    breaths_per_min: Profile
    rsa_ms: Profile
    mayer_ms: Profile = field(default_factory=lambda: Profile.constant(15.0))
    noise_ms: Profile = field(default_factory=lambda: Profile.constant(8.0))
    vlf_ms: float = 15.0
    breathing_jitter: float = 0.04
    depth_jitter: float = 0.1
    mayer_hz: float = 0.1
    hr_wander_bpm: float = 0.0
    rsa_wander: float = 0.0
    wander_tau_s: float = 90.0
    events: MappingProxyType[str, float] = field(default_factory=lambda: MappingProxyType({}))
    phases: MappingProxyType[str, tuple[float, float]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def onset_s(self) -> float | None:
        """When the scripted change begins (s), or None."""
        return self.events.get("onset")

    @property
    def peak_s(self) -> float | None:
        """When the scripted change is complete (s), or None."""
        return self.events.get("peak")

    @property
    def recovery_s(self) -> float | None:
        """When recovery begins (s; for ``helpnow``, when the strategy is used), or None."""
        return self.events.get("recovery")

    @property
    def recovered_s(self) -> float | None:
        """When the body is back near baseline (s), or None."""
        return self.events.get("recovered")

    def at(self, t_s: float) -> dict[str, float]:
        """The scripted parameters at time ``t_s`` (s): heart rate, breathing, amplitudes."""
        return {
            "heart_rate_bpm": float(self.heart_rate_bpm(t_s)),
            "breaths_per_min": float(self.breaths_per_min(t_s)),
            "rsa_ms": float(self.rsa_ms(t_s)),
            "mayer_ms": float(self.mayer_ms(t_s)),
            "noise_ms": float(self.noise_ms(t_s)),
        }


# -- the scenarios -------------------------------------------------------------------------

_V = TypeVar("_V")

CALM = {"hr": 65.0, "br": 12.0, "rsa": 45.0, "mayer": 15.0, "noise": 8.0}


class _Profiles(TypedDict):
    """The scripted profiles of a :class:`Scenario`, by field name."""

    heart_rate_bpm: Profile
    breaths_per_min: Profile
    rsa_ms: Profile
    mayer_ms: Profile
    noise_ms: Profile


def _baseline_then(change: list[tuple[float, dict[str, float]]]) -> _Profiles:
    """Profiles that start at the calm baseline and pass through the knots in ``change``."""
    knots = [(0.0, CALM), *change]

    def profile(short: str) -> Profile:
        return _steps([(t, values[short]) for t, values in knots])

    return _Profiles(
        heart_rate_bpm=profile("hr"),
        breaths_per_min=profile("br"),
        rsa_ms=profile("rsa"),
        mayer_ms=profile("mayer"),
        noise_ms=profile("noise"),
    )


def _frozen(**kwargs: _V) -> MappingProxyType[str, _V]:
    return MappingProxyType(dict(kwargs))


STRESSED = {"hr": 90.0, "br": 20.0, "rsa": 10.0, "mayer": 8.0, "noise": 4.0}
HIGH = {"hr": 95.0, "br": 22.0, "rsa": 6.0, "mayer": 5.0, "noise": 3.0}
LOW_FLAT = {"hr": 54.0, "br": 8.0, "rsa": 8.0, "mayer": 4.0, "noise": 3.0}
LOW_VARIABLE = {"hr": 52.0, "br": 10.0, "rsa": 80.0, "mayer": 25.0, "noise": 12.0}
DISTRESS = {"hr": 100.0, "br": 22.0, "rsa": 8.0, "mayer": 6.0, "noise": 4.0}
PACED = {"hr": 68.0, "br": 6.0, "rsa": 90.0, "mayer": 0.0, "noise": 6.0}

#: Every built-in scenario's heart wanders as a real resting heart does.
SCENARIOS: MappingProxyType[str, Scenario] = MappingProxyType(
    {
        "calm": Scenario(
            name="calm",
            hr_wander_bpm=REST_HR_WANDER_BPM,
            rsa_wander=REST_RSA_WANDER,
            description=(
                "Steady rest: 65 bpm, 12 breaths/min, healthy RMSSD, wandering as much as a "
                "real resting heart does."
            ),
            duration_s=600.0,
            **_baseline_then([]),
            phases=_frozen(rest=(0.0, 600.0)),
        ),
        "stress": Scenario(
            name="stress",
            hr_wander_bpm=REST_HR_WANDER_BPM,
            rsa_wander=REST_RSA_WANDER,
            description=(
                "Calm for 6 minutes, then over 90 s heart rate rises 25 bpm with fast shallow "
                "breathing and little RSA, held 3 minutes, then recovery over 5 minutes."
            ),
            duration_s=1140.0,
            **_baseline_then(
                [
                    (360.0, CALM),
                    (450.0, STRESSED),
                    (630.0, STRESSED),
                    (930.0, {"hr": 68.0, "br": 13.0, "rsa": 40.0, "mayer": 14.0, "noise": 7.0}),
                ]
            ),
            events=_frozen(onset=360.0, peak=450.0, recovery=630.0, recovered=930.0),
            phases=_frozen(baseline=(0.0, 360.0), stress=(450.0, 630.0), recovered=(930.0, 1140.0)),
        ),
        "paced-breathing": Scenario(
            name="paced-breathing",
            hr_wander_bpm=REST_HR_WANDER_BPM,
            rsa_wander=REST_RSA_WANDER,
            description=(
                "Six minutes of calm, then breathing at 6 breaths/min: large RSA at 0.1 Hz, "
                "high coherence."
            ),
            duration_s=960.0,
            **_baseline_then([(360.0, CALM), (390.0, PACED)]),
            breathing_jitter=0.015,
            events=_frozen(onset=360.0, peak=390.0),
            phases=_frozen(baseline=(0.0, 360.0), paced=(390.0, 960.0)),
        ),
        "high-arousal": Scenario(
            name="high-arousal",
            hr_wander_bpm=REST_HR_WANDER_BPM,
            rsa_wander=REST_RSA_WANDER,
            description=(
                "Six minutes of calm, then within a minute a racing heart (95 bpm), fast "
                "shallow breathing and flat variability that stays (stuck on high)."
            ),
            duration_s=1080.0,
            **_baseline_then([(360.0, CALM), (420.0, HIGH)]),
            events=_frozen(onset=360.0, peak=420.0),
            phases=_frozen(baseline=(0.0, 360.0), high=(420.0, 1080.0)),
        ),
        "low-arousal": Scenario(
            name="low-arousal",
            hr_wander_bpm=REST_HR_WANDER_BPM,
            rsa_wander=REST_RSA_WANDER,
            description=(
                "Six minutes of calm, then over two minutes a slow heart (54 bpm), slow "
                "breathing and flat variability: the numb, shut-down picture."
            ),
            duration_s=1080.0,
            **_baseline_then([(360.0, CALM), (480.0, LOW_FLAT)]),
            vlf_ms=5.0,
            events=_frozen(onset=360.0, peak=480.0),
            phases=_frozen(baseline=(0.0, 360.0), low=(480.0, 1080.0)),
        ),
        "low-arousal-variable": Scenario(
            name="low-arousal-variable",
            hr_wander_bpm=REST_HR_WANDER_BPM,
            rsa_wander=REST_RSA_WANDER,
            description=(
                "Six minutes of calm, then over two minutes a slow heart (52 bpm) with high "
                "variability: the low zone's other face."
            ),
            duration_s=1080.0,
            **_baseline_then([(360.0, CALM), (480.0, LOW_VARIABLE)]),
            events=_frozen(onset=360.0, peak=480.0),
            phases=_frozen(baseline=(0.0, 360.0), low=(480.0, 1080.0)),
        ),
        "helpnow": Scenario(
            name="helpnow",
            hr_wander_bpm=REST_HR_WANDER_BPM,
            rsa_wander=REST_RSA_WANDER,
            description=(
                "Six minutes of calm, a distress rise over one minute to 100 bpm, held; at "
                "10 minutes a Help Now! strategy is used and the body settles over 3 minutes."
            ),
            duration_s=1080.0,
            **_baseline_then(
                [
                    (360.0, CALM),
                    (420.0, DISTRESS),
                    (600.0, DISTRESS),
                    (780.0, {"hr": 70.0, "br": 13.0, "rsa": 38.0, "mayer": 14.0, "noise": 7.0}),
                ]
            ),
            events=_frozen(
                onset=360.0, peak=420.0, recovery=600.0, helpnow=600.0, recovered=780.0
            ),
            phases=_frozen(
                baseline=(0.0, 360.0), distress=(420.0, 600.0), recovered=(780.0, 1080.0)
            ),
        ),
    }
)


def get_scenario(scenario: str | Scenario) -> Scenario:
    """The :class:`Scenario` named ``scenario`` (or ``scenario`` itself).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    if isinstance(scenario, Scenario):
        return scenario
    try:
        return SCENARIOS[scenario]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise ValueError(
            f"There is no simulated scenario {scenario!r}; choose one of {known}."
        ) from None


# -- expected values -----------------------------------------------------------------------


def expected_rmssd_ms(
    heart_rate_bpm: float,
    breaths_per_min: float,
    rsa_ms: float,
    mayer_ms: float = 0.0,
    noise_ms: float = 0.0,
    *,
    mayer_hz: float = 0.1,
    depth_jitter: float = 0.0,
    rsa_wander: float = 0.0,
) -> float:
    """RMSSD (ms) the model produces in a steady state with these parameters.

    Each sinusoid of peak amplitude ``a`` at ``f`` Hz, seen through IPFM (amplitude times
    ``sinc(f T)``) and differenced every beat ``T = 60 / HR`` s, contributes
    ``2 a^2 sin^2(pi f T)`` to the mean squared successive difference; white noise contributes
    ``2 noise^2``; random breath depth multiplies the RSA term by ``1 + depth_jitter^2``, and
    the slow log-normal wander of its amplitude by ``exp(2 rsa_wander^2)`` (on average).
    """
    period_s = 60.0 / heart_rate_bpm
    msd = 2.0 * noise_ms**2
    for amp, freq, gain in (
        (rsa_ms, breaths_per_min / 60.0, (1.0 + depth_jitter**2) * math.exp(2 * rsa_wander**2)),
        (mayer_ms, mayer_hz, 1.0),
    ):
        effective = amp * np.sinc(freq * period_s)
        msd += 2.0 * gain * effective**2 * math.sin(math.pi * freq * period_s) ** 2
    return math.sqrt(msd)


def scenario_expected_rmssd_ms(scenario: str | Scenario, phase: str) -> float:
    """Expected RMSSD (ms) at the middle of one of a scenario's steady phases."""
    sc = get_scenario(scenario)
    start_s, end_s = sc.phases[phase]
    p = sc.at(0.5 * (start_s + end_s))
    return expected_rmssd_ms(
        p["heart_rate_bpm"], p["breaths_per_min"], p["rsa_ms"], p["mayer_ms"], p["noise_ms"],
        mayer_hz=sc.mayer_hz, depth_jitter=sc.depth_jitter, rsa_wander=sc.rsa_wander,
    )


def rmssd_range_ms(scenario: str | Scenario, phase: str) -> tuple[float, float]:
    """The documented RMSSD range (ms) of a steady phase: expected value ± ``RMSSD_TOLERANCE``,
    widened by ``WANDER_SIGMAS`` standard deviations of the RSA amplitude's slow wander.

    Holds for windows of at least 60 s inside the phase (checked over seeded runs).
    """
    sc = get_scenario(scenario)
    centre = scenario_expected_rmssd_ms(sc, phase)
    wander = math.exp(WANDER_SIGMAS * sc.rsa_wander)
    return centre * (1.0 - RMSSD_TOLERANCE) / wander, centre * (1.0 + RMSSD_TOLERANCE) * wander


# -- a person of a group -------------------------------------------------------------------

#: Ranges a :class:`PersonProfile` is drawn from: resting heart rate (bpm) and resting RMSSD
#: (ms) of healthy adults at rest, and the relative RSA depth and reactivity.
PERSON_REST_HR_BPM = (55.0, 85.0)
PERSON_REST_RMSSD_MS = (20.0, 70.0)
PERSON_RSA_DEPTH = (0.7, 1.3)
PERSON_REACTIVITY = (0.6, 1.4)
#: How much of a drawn person's RMSSD quantile follows their heart rate's (inversely): real
#: resting RMSSD falls as the heart rate rises (correlation about -0.5 across adults).
_RMSSD_FOLLOWS_HR = 0.4


@dataclass(frozen=True)
class PersonProfile:
    """One simulated person's own physiology, laid over any scenario by :meth:`apply`.

    Parameters
    ----------
    resting_hr_bpm : float
        Heart rate at rest (bpm); the scenario's changes are moved onto it.
    rest_rmssd_ms : float
        RMSSD at rest (ms), the person's level of variability: every variability amplitude
        (RSA, Mayer wave, beat-to-beat noise, slow drift) is scaled so that the scenario's
        resting state has this expected RMSSD (:func:`expected_rmssd_ms`).
    rsa_depth : float
        How deep the breathing's swing is against the rest of the variability (1: the
        scenario's own share).
    reactivity : float
        How far the scenario's changes move this person (1: as scripted; 1.4: 40 % further):
        heart-rate changes are scaled, variability amplitudes change by the scripted ratio to
        this power.
    """

    resting_hr_bpm: float
    rest_rmssd_ms: float
    rsa_depth: float = 1.0
    reactivity: float = 1.0

    def __post_init__(self) -> None:
        if not 30.0 <= self.resting_hr_bpm <= 120.0:
            raise ValueError("A person's resting heart rate must be between 30 and 120 bpm.")
        if not 5.0 <= self.rest_rmssd_ms <= 200.0:
            raise ValueError("A person's resting RMSSD must be between 5 and 200 ms.")
        if not (self.rsa_depth > 0 and self.reactivity >= 0):
            raise ValueError("A person's RSA depth must be above 0 and reactivity at least 0.")

    @classmethod
    def draw(cls, seed: int | np.random.SeedSequence) -> PersonProfile:
        """A person drawn from the ranges of healthy resting adults (``PERSON_*``).

        Resting heart rate uniform in ``PERSON_REST_HR_BPM``; resting RMSSD log-uniform in
        ``PERSON_REST_RMSSD_MS``, its quantile partly the heart rate's reversed (a faster
        heart, a lower RMSSD); RSA depth and reactivity uniform in their ranges.
        """
        rng = np.random.default_rng(seed)
        u_hr, u_own, u_depth, u_react = rng.random(4)
        u_rmssd = _RMSSD_FOLLOWS_HR * (1.0 - u_hr) + (1.0 - _RMSSD_FOLLOWS_HR) * u_own
        (hr_lo, hr_hi), (rm_lo, rm_hi) = PERSON_REST_HR_BPM, PERSON_REST_RMSSD_MS
        return cls(
            resting_hr_bpm=round(float(hr_lo + u_hr * (hr_hi - hr_lo)), 1),
            rest_rmssd_ms=round(float(rm_lo * (rm_hi / rm_lo) ** u_rmssd), 1),
            rsa_depth=round(float(np.interp(u_depth, (0, 1), PERSON_RSA_DEPTH)), 3),
            reactivity=round(float(np.interp(u_react, (0, 1), PERSON_REACTIVITY)), 3),
        )

    def variability_scale(self, scenario: str | Scenario) -> float:
        """The factor on every variability amplitude that gives ``rest_rmssd_ms`` at rest."""
        sc = get_scenario(scenario)
        rest = sc.at(0.0)
        own = expected_rmssd_ms(
            self.resting_hr_bpm,
            rest["breaths_per_min"],
            rest["rsa_ms"] * self.rsa_depth,
            rest["mayer_ms"],
            rest["noise_ms"],
            mayer_hz=sc.mayer_hz,
            depth_jitter=sc.depth_jitter,
            rsa_wander=sc.rsa_wander,
        )
        return self.rest_rmssd_ms / own

    def apply(self, scenario: str | Scenario) -> Scenario:
        """The scenario as this person lives it (same name, events and phases).

        The scenario's resting state is its state at time 0 (every built-in scenario starts
        at rest). Heart rate: ``resting_hr_bpm + reactivity (HR(t) - HR(0))``. Each
        variability amplitude ``a``: ``scale a(0) (a(t) / a(0)) ** reactivity`` (RSA also
        times ``rsa_depth``), with ``scale`` from :meth:`variability_scale`. The breathing
        rate is the scenario's.
        """
        sc = get_scenario(scenario)
        scale = self.variability_scale(sc)

        def moved(profile: Profile, gain: float, ratio: bool) -> Profile:
            values = np.asarray(profile.values, dtype=np.float64)
            base = values[0]
            if not ratio:
                new = gain + self.reactivity * (values - base)
            elif base > 0:
                new = gain * base * (np.maximum(values, 0.0) / base) ** self.reactivity
            else:
                new = gain * values
            return Profile(profile.times_s, tuple(float(v) for v in new), profile.shape)

        return replace(
            sc,
            heart_rate_bpm=moved(sc.heart_rate_bpm, self.resting_hr_bpm, ratio=False),
            rsa_ms=moved(sc.rsa_ms, scale * self.rsa_depth, ratio=True),
            mayer_ms=moved(sc.mayer_ms, scale, ratio=True),
            noise_ms=moved(sc.noise_ms, scale, ratio=True),
            vlf_ms=sc.vlf_ms * scale,
        )


# -- the generator -------------------------------------------------------------------------


class _OrnsteinUhlenbeck:
    """A slow random process on the grid whose state carries across chunks."""

    def __init__(self, sd: float, tau_s: float, rng: np.random.Generator) -> None:
        self._alpha = math.exp(-GRID_DT_S / tau_s)
        self._gain = sd * math.sqrt(1.0 - self._alpha**2)
        self._rng = rng
        self._state = rng.normal(0.0, sd) if sd > 0 else 0.0

    def next(self, n: int) -> np.ndarray:
        if self._gain == 0.0:
            return np.zeros(n)
        # y[i] = gain * x[i] + alpha * y[i-1]: scipy.signal.lfilter([gain], [1, -alpha]) bit
        # for bit, written out because scipy.signal takes most of a second to load and the
        # simulated strap's first beat (the app's first screen) must not wait for it.
        alpha = self._alpha
        driven = (self._gain * self._rng.standard_normal(n)).tolist()
        out = np.array(
            list(itertools.accumulate(driven, lambda y, x: x + alpha * y, initial=self._state))[1:]
        )
        self._state = float(out[-1])
        return out


class HeartModel:
    """A heart that beats through a scenario, produced in chunks of any length.

    Parameters
    ----------
    scenario : Scenario
        What to play.
    seed : int or numpy.random.SeedSequence
        The only source of randomness: the same seed gives the same beats.
    start_s : float
        Model time (s) to start from; beats before session time 0 exist so that the first RR
        after 0 is a real interval.

    Calling :meth:`beats_until` repeatedly gives one continuous beat series.
    """

    def __init__(
        self, scenario: Scenario, seed: int | np.random.SeedSequence, start_s: float = -5.0
    ) -> None:
        self.scenario = scenario
        # One stream per random process, so the series does not depend on chunk lengths.
        streams = [
            np.random.default_rng(s)
            for s in (seed if isinstance(seed, np.random.SeedSequence)
                      else np.random.SeedSequence(seed)).spawn(8)
        ]
        start_rng, beat_noise_rng = streams[0], streams[1]
        self._start_s = start_s
        self._grid_index = 0
        self._t_s = start_s
        self._theta_resp = start_rng.uniform(0, 2 * math.pi)
        self._theta_mayer = start_rng.uniform(0, 2 * math.pi)
        self._beat_phase = start_rng.uniform(0, 1)
        self._noise_rng = beat_noise_rng
        self._breath_wander = _OrnsteinUhlenbeck(scenario.breathing_jitter, 20.0, streams[2])
        self._mayer_wander = _OrnsteinUhlenbeck(0.05, 30.0, streams[3])
        self._depth = _OrnsteinUhlenbeck(scenario.depth_jitter, 8.0, streams[4])
        self._vlf = _OrnsteinUhlenbeck(scenario.vlf_ms, 40.0, streams[5])
        # Spawned after the first six, so those streams (and the beats without wander) stay.
        self._hr_wander = _OrnsteinUhlenbeck(scenario.hr_wander_bpm, scenario.wander_tau_s,
                                             streams[6])
        self._rsa_wander = _OrnsteinUhlenbeck(scenario.rsa_wander, scenario.wander_tau_s,
                                              streams[7])
        self._last_ipfm_beat_s: float | None = None
        self._last_beat_s: float | None = None

    def _breath_phase(self, t: np.ndarray) -> np.ndarray:
        """The person's own breathing phase (rad) on the grid times ``t``, carried across calls."""
        n = t.size
        breath_hz = self.scenario.breaths_per_min(t) / 60.0 * (1.0 + self._breath_wander.next(n))
        theta_resp = self._theta_resp + 2 * math.pi * GRID_DT_S * np.cumsum(breath_hz)
        self._theta_resp = float(theta_resp[-1] % (2 * math.pi))
        out: np.ndarray = theta_resp
        return out

    def _mayer_amplitude_ms(self, t: np.ndarray) -> np.ndarray:
        """Peak amplitude (ms) of the Mayer wave on the grid times ``t``."""
        out: np.ndarray = self.scenario.mayer_ms(t)
        return out

    def _respiratory_ms(self, t: np.ndarray) -> np.ndarray:
        """The breathing's part of the heart period (ms) on the grid times ``t``: inspiration
        (sin > 0) shortens it."""
        theta_resp = self._breath_phase(t)
        out: np.ndarray = -self.scenario.rsa_ms(t) * self._rsa_depth(t.size) * np.sin(theta_resp)
        return out

    def _rsa_depth(self, n: int) -> np.ndarray:
        """Relative depth of the breathing's swing for the next ``n`` grid steps: breath to
        breath jitter times the slow wander of vagal tone that real rest shows."""
        out: np.ndarray = (1.0 + self._depth.next(n)) * np.exp(self._rsa_wander.next(n))
        return out

    def beats_until(self, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Beats after the previous call, up to model time ``end_s``.

        Returns
        -------
        times_s, rr_ms : numpy.ndarray
            Beat times (s, the beat that ends each interval) and RR intervals (ms), float64.
            The first beat ever produced has no interval before it and is not returned.
        """
        sc = self.scenario
        # Grid times come from a global index so that chunked and one-shot runs share them.
        last_index = math.ceil((end_s - self._start_s) / GRID_DT_S)
        n = last_index - self._grid_index
        if n <= 0:
            return np.empty(0), np.empty(0)
        t = self._start_s + GRID_DT_S * np.arange(self._grid_index + 1, last_index + 1)
        self._grid_index = last_index
        mayer_hz = sc.mayer_hz * (1.0 + self._mayer_wander.next(n))
        theta_mayer = self._theta_mayer + 2 * math.pi * GRID_DT_S * np.cumsum(mayer_hz)
        period_ms = (
            60000.0 / np.maximum(sc.heart_rate_bpm(t) + self._hr_wander.next(n), 20.0)
            + self._respiratory_ms(t)
            + self._mayer_amplitude_ms(t) * np.sin(theta_mayer)
            + self._vlf.next(n)
        )
        period_ms = np.clip(period_ms, RR_FLOOR_MS, RR_CEIL_MS)
        # Beat phase at the grid points (beats per grid step = dt * 1000 / T).
        phase = self._beat_phase + np.cumsum(GRID_DT_S * 1000.0 / period_ms)
        grid_t = np.concatenate(([self._t_s], t))
        grid_phase = np.concatenate(([self._beat_phase], phase))
        crossings = np.arange(math.floor(self._beat_phase) + 1, math.floor(phase[-1]) + 1)
        ipfm_times = np.interp(crossings, grid_phase, grid_t)

        self._t_s = float(t[-1])
        self._theta_mayer = float(theta_mayer[-1] % (2 * math.pi))
        self._beat_phase = float(phase[-1] - math.floor(phase[-1]))
        if ipfm_times.size == 0:
            return np.empty(0), np.empty(0)

        previous = self._last_ipfm_beat_s
        self._last_ipfm_beat_s = float(ipfm_times[-1])
        if previous is None:
            self._last_beat_s = float(ipfm_times[0])
            ipfm_times_from = ipfm_times
            ipfm_times = ipfm_times[1:]
        else:
            ipfm_times_from = np.concatenate(([previous], ipfm_times))
        rr_ms = np.diff(ipfm_times_from) * 1000.0
        if rr_ms.size == 0:
            return np.empty(0), np.empty(0)
        rr_ms = rr_ms + self._noise_rng.standard_normal(rr_ms.size) * sc.noise_ms(ipfm_times)
        rr_ms = np.clip(rr_ms, RR_FLOOR_MS, RR_CEIL_MS)
        # The noise moves beat times too: they are the running sum of the noisy intervals.
        assert self._last_beat_s is not None  # set with the first crossing, as `previous` is
        times_s = self._last_beat_s + np.cumsum(rr_ms) / 1000.0
        self._last_beat_s = float(times_s[-1])
        return times_s, rr_ms


def model_beats(
    scenario: str | Scenario,
    *,
    seed: int | np.random.SeedSequence = 0,
    duration_s: float,
    start_s: float = -5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The whole beat series (times_s, rr_ms) of a scenario up to ``duration_s`` (s), in one go.

    Chunked runs of :class:`HeartModel` with the same seed agree with it to float rounding.
    """
    return HeartModel(get_scenario(scenario), seed, start_s).beats_until(duration_s)



# -- a person with a resonance frequency ---------------------------------------------------


class BreathingGuide(Protocol):
    """A breathing guide the simulated person follows (e.g. ``trm_bio.core.pacer.PacerTrack``)."""

    def guide(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rate (breaths/min) and breath shape (0 emptied .. 1 full) at session times ``t_s``
        (s); NaN where the guide is off."""
        ...


@dataclass(frozen=True)
class ResonanceResponse:
    """How a person's heart-rate swing answers the breathing rate: a resonance at ``rate_per_min``.

    The cardiovascular system resonates (Vaschillo et al. 2002; Lehrer et al. 2000): the
    baroreflex loop's delay makes the heart-rate oscillation driven by breathing largest, and
    in phase with the breath (heart rate highest as the lungs are fullest), at one rate,
    typically 4.5-6.5 /min in adults. Modelled as a second-order band-pass at the resonance
    rate ``R`` with quality ``q``: ``H(f) = 1 / (1 + j q (f/R - R/f))``. The RSA amplitude is
    the scenario's times ``1 + (peak_gain - 1) |H|^2`` (so ordinary breathing at 12 /min is
    all but unchanged, and breathing at ``R`` swings ``peak_gain`` times as much), and the
    heart-rate oscillation leads the breath by ``arg H`` (ahead below ``R``, behind above it,
    0 at ``R``).

    Parameters
    ----------
    rate_per_min : float
        The resonance rate (breaths/min).
    q : float
        Sharpness; 2.5 puts the swing 0.5 /min away from a 5 /min resonance 10-12 % lower and
        its phase 25-28 degrees off.
    peak_gain : float
        RSA at resonance over the scenario's RSA (about 2.2: paced breathing at resonance
        raises the swing to 15-20 bpm peak to trough, Lehrer et al. 2000).
    """

    rate_per_min: float
    q: float = 2.5
    peak_gain: float = 2.2

    def __post_init__(self) -> None:
        if not 2.0 <= self.rate_per_min <= 12.0:
            raise ValueError("A simulated resonance rate must be between 2 and 12 breaths/min.")

    def _h(self, rate_per_min: np.ndarray) -> np.ndarray:
        x = np.maximum(np.asarray(rate_per_min, dtype=np.float64), 1e-3) / self.rate_per_min
        out: np.ndarray = 1.0 / (1.0 + 1j * self.q * (x - 1.0 / x))
        return out

    def gain(self, rate_per_min: np.ndarray | float) -> np.ndarray:
        """RSA amplitude multiplier at breathing rate(s) ``rate_per_min``."""
        h = self._h(np.asarray(rate_per_min))
        out: np.ndarray = 1.0 + (self.peak_gain - 1.0) * np.abs(h) ** 2
        return out

    def phase_rad(self, rate_per_min: np.ndarray | float) -> np.ndarray:
        """How far (rad) the heart-rate oscillation leads the breath at ``rate_per_min``."""
        out: np.ndarray = np.angle(self._h(np.asarray(rate_per_min)))
        return out


class ResonantHeartModel(HeartModel):
    """A :class:`HeartModel` whose breathing rate sets the RSA's size and phase
    (:class:`ResonanceResponse`), and who breathes along with ``guide`` while it is on.

    On its own the person breathes at the scenario's rate; while the guide is on they follow
    its rate and its breath shape exactly, their Mayer wave entrained (left out). The heart
    period's breathing part is ``-A g(f) (2 v(t + phi / (2 pi f)) - 1)`` with ``v`` the breath
    shape (0..1; a raised cosine of the own phase when unguided), ``g`` the gain and ``phi``
    the lead: the heart period is shortest (heart rate highest) as the lungs are fullest at
    resonance.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | np.random.SeedSequence,
        start_s: float = -5.0,
        *,
        resonance: ResonanceResponse,
        guide: BreathingGuide | None = None,
    ) -> None:
        super().__init__(scenario, seed, start_s)
        self.resonance = resonance
        self.guide = guide

    def _mayer_amplitude_ms(self, t: np.ndarray) -> np.ndarray:
        # Slow paced breathing entrains the ~0.1 Hz blood-pressure rhythm: while the guide is
        # on, the Mayer wave is part of the resonance, not a rhythm of its own.
        amplitude = super()._mayer_amplitude_ms(t)
        if self.guide is None:
            return amplitude
        out: np.ndarray = np.where(np.isfinite(self.guide.guide(t)[0]), 0.0, amplitude)
        return out

    def _respiratory_ms(self, t: np.ndarray) -> np.ndarray:
        own_phase = self._breath_phase(t)
        own_rate = self.scenario.breaths_per_min(t)
        amplitude = self.scenario.rsa_ms(t) * self._rsa_depth(t.size)
        rate = own_rate
        lead = self.resonance.phase_rad(own_rate)
        # Breath shape (-1 emptied .. 1 full) ahead by the lead: the heart's response.
        shape = -np.cos(own_phase + lead)
        if self.guide is not None:
            guided_rate, _ = self.guide.guide(t)
            on = np.isfinite(guided_rate)
            if on.any():
                rate = np.where(on, guided_rate, own_rate)
                lead_s = self.resonance.phase_rad(guided_rate[on]) / (
                    2 * math.pi * guided_rate[on] / 60.0
                )
                _, ahead = self.guide.guide(t[on] + lead_s)
                # A guide turned off within the lead keeps the last shape: hold it.
                ahead = np.where(np.isfinite(ahead), ahead, 0.5)
                shape = shape.copy()
                shape[on] = 2.0 * ahead - 1.0
        out: np.ndarray = -amplitude * self.resonance.gain(rate) * shape
        return out
