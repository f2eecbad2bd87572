"""A seeded chest accelerometer for tests and the simulated strap: pure numpy, no clock.

What a chest strap's accelerometer (the Polar H10's: x/y/z in mg, 200 Hz, integers) sees:

* **Gravity** on a tilted chest: 1000 mg along the direction of "down" in the sensor's frame.
  The starting posture is a chest tilted ``tilt_deg`` from upright; a posture change
  (``posture_changes_s``) tilts the sensor by ``posture_turn_deg`` about a random
  horizontal axis over ``posture_change_duration_s`` (gravity turns by that angle), with
  the bumps of moving (a movement burst of ``artifact_mg``) on top.
* **Breathing**: the chest wall tilts a fraction of a degree and moves a few mm with each
  breath. At 0.1-0.5 Hz the tilt dominates (1 degree moves 17 mg of gravity between axes; the
  wall's own acceleration, (2 pi f)^2 x, is about 1 mg for 5 mm at 15 /min), so breathing is
  modelled as a displacement along one direction of the sensor's frame, ``amplitude_mg``
  from mid-breath to end of inhale (a few mg shallow, about 20 mg deep), with a smaller
  component along a second axis and a breath-to-breath depth variation. The waveform is
  asymmetric: the inhale takes ``inhale_fraction`` of each breath, the exhale the rest, both
  half-cosines, so the curve is smooth. The rate follows a schedule (``rate_per_min``: one
  number, or ``(times_s, rates_per_min)`` interpolated linearly) plus a slow random wander of
  ``rate_jitter`` (relative): the true phase is the integral of the rate.
* **The heartbeat's ballistocardiographic ripple**: each beat (at ``heart_rate_bpm`` with
  5 % beat-to-beat variation) adds a damped 8 Hz and 25 Hz oscillation of ``bcg_mg``, mostly
  head-to-foot.
* **Sensor noise**: white, ``noise_mg`` per axis; the sum is rounded to whole mg as the H10
  sends it.
* **Movement artifacts** (``artifacts_s``): 1.5 s bursts of band-limited movement of
  about ``artifact_mg``, such as a cough or reaching for something.
* **Walking** (``walking_s``: (start, end) pairs): the trunk bounces once a step (every
  0.55 s) by 0.6 ``step_mg`` along the body, each heel strike adds a damped ``step_mg``
  jolt, and the trunk sways sideways at half the step rate (walking moves the chest by
  a few hundred mg: 300 mg by default).

The truth travels with the signal: the unwrapped breathing phase at every sample (0 at the
start of an inhale), so a test can ask for the true mean rate between any two times
(:meth:`ChestAccSimulation.true_rate_per_min`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: The H10's accelerometer rate with the settings trm-bio asks for.
ACC_RATE_HZ = 200.0


@dataclass(frozen=True)
class ChestAccSimulation:
    """A simulated chest accelerometer recording and its truth.

    Attributes
    ----------
    t_s : sample times, s (from 0).
    acc_mg : (n, 3) x/y/z acceleration, mg (whole numbers, as the H10 sends).
    phase_rad : true unwrapped breathing phase at each sample, rad (a multiple of 2 pi at the
        start of each inhale).
    rate_per_min : the scheduled breathing rate at each sample, breaths/min (without jitter).
    posture_changes_s, artifacts_s : start times of the posture changes and artifacts, s.
    breathing_amplitude_mg : the amplitude asked for, mg.
    """

    t_s: FloatArray
    acc_mg: FloatArray
    phase_rad: FloatArray
    rate_per_min: FloatArray
    posture_changes_s: FloatArray
    artifacts_s: FloatArray
    breathing_amplitude_mg: float

    def true_rate_per_min(
        self, start_s: npt.ArrayLike, end_s: npt.ArrayLike
    ) -> FloatArray:
        """Mean true breathing rate between ``start_s`` and ``end_s`` (arrays), breaths/min."""
        start = np.asarray(start_s, dtype=np.float64)
        end = np.asarray(end_s, dtype=np.float64)
        turns = (np.interp(end, self.t_s, self.phase_rad)
                 - np.interp(start, self.t_s, self.phase_rad)) / (2.0 * math.pi)
        return np.asarray(60.0 * turns / (end - start), dtype=np.float64)

    def inhale_starts_s(self) -> FloatArray:
        """True times at which each inhale starts (phase crosses a multiple of 2 pi), s."""
        turns = np.arange(np.ceil(self.phase_rad[0] / (2 * math.pi)),
                          np.floor(self.phase_rad[-1] / (2 * math.pi)) + 1)
        return np.asarray(np.interp(turns * 2 * math.pi, self.phase_rad, self.t_s),
                          dtype=np.float64)


def _rotation(axis: FloatArray, angle_rad: float) -> FloatArray:
    """Rotation matrix about a unit ``axis`` by ``angle_rad`` (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.asarray(np.eye(3) + math.sin(angle_rad) * k
                      + (1.0 - math.cos(angle_rad)) * (k @ k), dtype=np.float64)


def _smooth_noise(rng: np.random.Generator, n: int, fs_hz: float, corner_hz: float) -> FloatArray:
    """Unit-variance noise low-passed at ``corner_hz`` (moving average of white noise)."""
    width = max(1, round(fs_hz / corner_hz))
    white = rng.standard_normal(n + width)
    smooth = np.convolve(white, np.ones(width) / width, mode="valid")[:n]
    return np.asarray(smooth / max(float(smooth.std()), 1e-12), dtype=np.float64)


def breath_shape(phase_rad: FloatArray, inhale_fraction: float) -> FloatArray:
    """Chest displacement over a breath, -1 (end of exhale) to +1 (end of inhale).

    The inhale takes ``inhale_fraction`` of the breath, the exhale the rest; both are
    half-cosines, so the curve and its slope are continuous.
    """
    frac = np.mod(phase_rad, 2 * math.pi) / (2 * math.pi)
    rising = frac < inhale_fraction
    warped = np.where(rising, frac / inhale_fraction,
                      1.0 + (frac - inhale_fraction) / (1.0 - inhale_fraction))
    return np.asarray(-np.cos(math.pi * warped), dtype=np.float64)


def simulate_chest_acc(
    duration_s: float,
    *,
    rate_per_min: float | tuple[Sequence[float], Sequence[float]] = 12.0,
    amplitude_mg: float = 8.0,
    inhale_fraction: float = 0.42,
    rate_jitter: float = 0.03,
    heart_rate_bpm: float = 65.0,
    bcg_mg: float = 3.0,
    noise_mg: float = 3.0,
    tilt_deg: float = 20.0,
    posture_changes_s: Sequence[float] = (),
    posture_turn_deg: float = 40.0,
    posture_change_duration_s: float = 2.0,
    artifacts_s: Sequence[float] = (),
    artifact_mg: float = 300.0,
    walking_s: Sequence[tuple[float, float]] = (),
    step_mg: float = 300.0,
    fs_hz: float = ACC_RATE_HZ,
    seed: int = 0,
    fullness: Callable[[FloatArray], FloatArray] | None = None,
) -> ChestAccSimulation:
    """Simulate a chest strap's accelerometer (see the module docstring for the model).

    Parameters
    ----------
    duration_s : length, s.
    rate_per_min : breathing rate, breaths/min: a number, or ``(times_s, rates)`` to
        interpolate (held constant outside the given times).
    amplitude_mg : breathing amplitude (mid-breath to end of inhale), mg; 0 for no breathing.
    inhale_fraction : the inhale's share of each breath.
    rate_jitter : relative slow wander of the rate (standard deviation).
    heart_rate_bpm, bcg_mg : heart rate and the size of its ripple, mg.
    noise_mg : white sensor noise per axis, mg (standard deviation).
    tilt_deg : the chest's tilt from upright at the start, degrees.
    posture_changes_s, posture_turn_deg, posture_change_duration_s : when the posture
        changes, by how much the sensor turns, and how long the change takes.
    artifacts_s, artifact_mg : start times and size of brief movement artifacts.
    walking_s, step_mg : (start, end) times of walking, s, and the size of each step, mg.
    fs_hz : sample rate, Hz.
    seed : random seed; the same arguments and seed give the same signal.
    fullness : optional, the lungs' fullness (0 emptied .. 1 full) at the signal's times (s
        from its start), NaN where the person breathes on their own: a person breathing
        along with a pacer (the resonant person of :mod:`devices.physiology`).
    """
    if duration_s <= 0 or fs_hz <= 0:
        raise ValueError("the duration and the sample rate must be above zero")
    if not 0.0 < inhale_fraction < 1.0:
        raise ValueError("the inhale fraction must lie between 0 and 1")
    rng = np.random.default_rng(seed)
    n = round(duration_s * fs_hz)
    t = np.arange(n, dtype=np.float64) / fs_hz

    # Breathing phase: the scheduled rate with a slow relative wander, integrated.
    if isinstance(rate_per_min, tuple):
        sched = np.interp(t, np.asarray(rate_per_min[0], dtype=np.float64),
                          np.asarray(rate_per_min[1], dtype=np.float64))
    else:
        sched = np.full(n, float(rate_per_min))
    if np.any(sched <= 0):
        raise ValueError("the breathing rate must be above zero")
    wander = 1.0 + rate_jitter * _smooth_noise(rng, n, fs_hz, 0.03)
    freq_hz = sched / 60.0 * wander
    phase = 2 * math.pi * np.concatenate(([0.0], np.cumsum(freq_hz[:-1]) / fs_hz))
    # Start a little into the exhale, so the recording does not begin on an inhale.
    phase = phase + 2 * math.pi * 0.7

    depth = 1.0 + 0.15 * _smooth_noise(rng, n, fs_hz, 0.05)
    shape = breath_shape(phase, inhale_fraction)
    if fullness is not None:
        guided = 2.0 * np.asarray(fullness(t), dtype=np.float64) - 1.0
        shape = np.where(np.isfinite(guided), guided, shape)
    breathing = amplitude_mg * depth * shape

    # Sensor frame: "down" for an upright chest is -x (the H10 lies with x along the body);
    # breathing moves mostly along z (front-back tilt), a little along y.
    tilt_axis = np.array([0.0, 1.0, 0.0])
    down0 = _rotation(tilt_axis, math.radians(tilt_deg)) @ np.array([-1.0, 0.0, 0.0])
    breath_dir = np.array([0.25, 0.2, 1.0])
    breath_dir = breath_dir / np.linalg.norm(breath_dir)

    # Posture: a rotation that changes smoothly over each posture change.
    down = np.tile(down0, (n, 1))
    current = np.eye(3)
    for start in sorted(posture_changes_s):
        # Tilt about an axis across "down", so gravity turns by the whole angle (a turn
        # about the vertical would be invisible to an accelerometer).
        now_down = current @ down0
        axis = rng.standard_normal(3)
        axis -= (axis @ now_down) * now_down
        axis /= np.linalg.norm(axis)
        i0 = round(start * fs_hz)
        i1 = min(n, i0 + max(1, round(posture_change_duration_s * fs_hz)))
        if i0 >= n:
            continue
        ramp = 0.5 - 0.5 * np.cos(math.pi * np.linspace(0.0, 1.0, i1 - i0))
        turn = math.radians(posture_turn_deg)
        for j, r in zip(range(i0, i1), ramp, strict=True):
            down[j] = _rotation(axis, turn * float(r)) @ current @ down0
        current = _rotation(axis, turn) @ current
        down[i1:] = current @ down0
    acc = 1000.0 * down + breathing[:, None] * breath_dir[None, :]

    # Ballistocardiographic ripple: a damped 8 Hz and 25 Hz wave at each beat.
    if bcg_mg > 0:
        period = 60.0 / heart_rate_bpm
        beats = np.cumsum(period * (1.0 + 0.05 * rng.standard_normal(int(duration_s / period)
                                                                     + 2)))
        kernel_t = np.arange(int(0.4 * fs_hz)) / fs_hz
        kernel = (np.sin(2 * math.pi * 8.0 * kernel_t) * np.exp(-kernel_t / 0.06)
                  + 0.5 * np.sin(2 * math.pi * 25.0 * kernel_t) * np.exp(-kernel_t / 0.03))
        kernel *= bcg_mg / np.abs(kernel).max()
        impulses = np.zeros(n)
        idx = np.round(beats * fs_hz).astype(np.int64)
        impulses[idx[idx < n]] = 1.0
        ripple = np.convolve(impulses, kernel)[:n]
        acc += ripple[:, None] * np.array([0.9, 0.2, 0.4])[None, :]

    # Movement: bursts during posture changes and at each artifact.
    for start, length, size in [(s, posture_change_duration_s, artifact_mg)
                                for s in posture_changes_s] + [
                                    (s, 1.5, artifact_mg) for s in artifacts_s]:
        i0 = round(start * fs_hz)
        i1 = min(n, i0 + round(length * fs_hz))
        if i0 >= n or i1 <= i0:
            continue
        envelope = np.sin(math.pi * np.linspace(0.0, 1.0, i1 - i0)) ** 2
        burst = np.stack([_smooth_noise(rng, i1 - i0, fs_hz, 4.0) for _ in range(3)], axis=1)
        acc[i0:i1] += size * envelope[:, None] * burst

    for start, end in walking_s:
        steps = np.arange(start, end, 0.55)
        jolt_t = np.arange(int(0.25 * fs_hz)) / fs_hz
        jolt = step_mg * np.exp(-jolt_t / 0.04) * np.cos(2 * math.pi * 6.0 * jolt_t)
        impulses = np.zeros(n)
        idx = np.round(steps * fs_hz).astype(np.int64)
        impulses[idx[(idx >= 0) & (idx < n)]] = 1.0
        jolts = np.convolve(impulses, jolt)[:n]
        inside = (t >= start) & (t < end)
        bounce = 0.6 * step_mg * np.sin(2 * math.pi * (t - start) / 0.55) * inside
        sway = 0.2 * step_mg * np.sin(math.pi * (t - start) / 0.55) * inside
        acc += (jolts + bounce)[:, None] * np.array([1.0, 0.15, 0.3])[None, :]
        acc += sway[:, None] * np.array([0.0, 1.0, 0.2])[None, :]

    acc += noise_mg * rng.standard_normal((n, 3))
    return ChestAccSimulation(
        t_s=t,
        acc_mg=np.round(acc),
        phase_rad=phase,
        rate_per_min=sched,
        posture_changes_s=np.asarray(sorted(posture_changes_s), dtype=np.float64),
        artifacts_s=np.asarray(sorted(artifacts_s), dtype=np.float64),
        breathing_amplitude_mg=float(amplitude_mg),
    )
