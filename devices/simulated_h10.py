"""The simulated strap as a Polar H10: its ECG and accelerometer as PMD frames, beside its RR.

:func:`simulate_h10` yields what :func:`devices.simulated.simulate` yields (heart-rate packets
and link changes) merged in host-time order with PMD data frames built as the H10 sends them
(:func:`devices.pmd.encode_frame`):

* **ECG**, 130 Hz on the strap's clock, 73 samples a frame, in µV: a P-QRS-T complex around
  each of the simulated heart's own beats, as a sum of Gaussian waves (the shape of McSharry
  et al.'s ECGSYN, IEEE Trans Biomed Eng 50(3), 2003, laid out in time: P 200 ms before the
  R wave, Q and S 30 ms either side, T 250 ms after), with baseline wander and sensor noise.
  Without skin contact the ECG is flat, as the H10's is.
* **ACC**, 200 Hz, 36 samples a frame, in mg: the simulated chest
  (:func:`devices.simulated_chest.simulate_chest_acc`) breathing at the scenario's rate, in
  blocks of ``ACC_BLOCK_S`` (a block boundary may shorten one breath).

Each frame is stamped with the strap's time of its last sample (ns since 2000-01-01 on the
strap's crystal, which runs ``clock_drift_ppm`` fast) and reaches the host 8-45 ms later;
frames sent while the link is down are lost. Same seed, same frames, byte for byte.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from devices.packet import Packet, StatusEvent
from devices.physiology import BreathingGuide, ResonanceResponse, Scenario, get_scenario
from devices.pmd import PmdFrame, PmdStream, encode_frame
from devices.simulated import Artifacts, Stretches, _beat_chunks, _check_stretches, simulate

ECG_RATE_HZ = 130.0
ACC_RATE_HZ = 200.0
ECG_FRAME_SAMPLES = 73
ACC_FRAME_SAMPLES = 36
ACC_BLOCK_S = 300.0
#: The strap's clock at session time 0 (ns since 2000-01-01): some day in 2025.
STRAP_CLOCK_AT_START_NS = 789_000_000 * 1_000_000_000
LATENCY_RANGE_S = (0.008, 0.045)
#: (offset from the R wave s, amplitude mV, width s) of the P, Q, R, S and T waves.
WAVES = (
    (-0.200, 0.12, 0.025),
    (-0.030, -0.12, 0.010),
    (0.000, 1.20, 0.011),
    (0.030, -0.30, 0.010),
    (0.250, 0.30, 0.045),
)
_REACH_S = 0.5  # a beat's waves are negligible this far from its R wave

FloatArray = npt.NDArray[np.float64]


def synthetic_ecg(t_s: FloatArray, beats_s: FloatArray) -> FloatArray:
    """ECG (mV) at times ``t_s`` (s) of a heart that beats at ``beats_s`` (s), noise-free.

    The T wave moves with the heart rate (Bazett: with the square root of the RR interval).
    """
    out = np.zeros(t_s.size)
    if beats_s.size == 0 or t_s.size == 0:
        return out
    rr_s = np.diff(beats_s, prepend=beats_s[0] - 1.0)
    lo = np.searchsorted(beats_s, t_s[0] - _REACH_S)
    hi = np.searchsorted(beats_s, t_s[-1] + _REACH_S)
    for j in range(int(lo), int(hi)):
        near = slice(
            int(np.searchsorted(t_s, beats_s[j] - _REACH_S)),
            int(np.searchsorted(t_s, beats_s[j] + _REACH_S)),
        )
        dt = t_s[near] - beats_s[j]
        stretch = math.sqrt(min(max(rr_s[j], 0.3), 2.0))
        for offset, amplitude, width in WAVES:
            centre = offset * stretch if offset > 0.1 else offset
            out[near] += amplitude * np.exp(-0.5 * ((dt - centre) / width) ** 2)
    return out


def _in(t_s: FloatArray, stretches: Stretches) -> npt.NDArray[np.bool_]:
    inside = np.zeros(t_s.shape, dtype=bool)
    for a, b in stretches:
        inside |= (t_s >= a) & (t_s < b)
    return inside


def _ecg_frames(
    scenario: Scenario,
    seed: int,
    duration_s: float | None,
    start_ns: int,
    source_id: str,
    contact_loss: Stretches,
    link_drops: Stretches,
    drift: float,
    rng: np.random.Generator,
    resonance: ResonanceResponse | None,
    guide: BreathingGuide | None,
) -> Iterator[PmdFrame]:
    period_s = 1.0 / ECG_RATE_HZ / drift  # host seconds between the strap's samples
    frame = 0
    arrived_ns = start_ns
    beats = np.empty(0)
    chunks = _beat_chunks(scenario, seed, duration_s, Artifacts(), (), resonance, guide)
    for _, end_s, true, _ in chunks:
        beats = np.concatenate((beats[-4:], true.times_s))
        last = duration_s is not None and end_s >= duration_s
        until_s = end_s if last else end_s - _REACH_S
        frames_until = int(until_s / period_s) // ECG_FRAME_SAMPLES
        if frames_until <= frame:
            continue
        index = np.arange(frame * ECG_FRAME_SAMPLES, frames_until * ECG_FRAME_SAMPLES)
        t_s = ((index + 1) * period_s).astype(np.float64)
        mv = synthetic_ecg(t_s, beats)
        mv += 0.08 * np.sin(2 * math.pi * 0.25 * t_s) + rng.normal(0.0, 0.015, t_s.size)
        uv = np.round(mv * 1000.0)
        uv[_in(t_s, contact_loss)] = 0.0
        for k in range(frames_until - frame):
            rows = slice(k * ECG_FRAME_SAMPLES, (k + 1) * ECG_FRAME_SAMPLES)
            last_s = float(t_s[rows.stop - 1])
            strap_ns = STRAP_CLOCK_AT_START_NS + round(last_s * drift * 1e9)
            arrival_s = last_s + float(rng.uniform(*LATENCY_RANGE_S))
            if _in(np.array([arrival_s]), link_drops)[0]:
                continue
            arrived_ns = max(arrived_ns, start_ns + round(arrival_s * 1e9))
            payload = encode_frame(PmdStream.ECG, strap_ns, uv[rows])
            yield PmdFrame(arrived_ns, source_id, payload)
        frame = frames_until


def _fullness(guide: BreathingGuide, begin_s: float) -> Callable[[np.ndarray], np.ndarray]:
    """The guide's breath shape (0 emptied .. 1 full) for a block starting at ``begin_s``."""

    def at(t_s: np.ndarray) -> np.ndarray:
        return guide.guide(begin_s + t_s)[1]

    return at


def _acc_frames(
    scenario: Scenario,
    seed: int,
    duration_s: float | None,
    start_ns: int,
    source_id: str,
    link_drops: Stretches,
    drift: float,
    rng: np.random.Generator,
    guide: BreathingGuide | None = None,
) -> Iterator[PmdFrame]:
    from devices.simulated_chest import simulate_chest_acc

    block = 0
    arrived_ns = start_ns
    while duration_s is None or block * ACC_BLOCK_S < duration_s:
        begin_s = block * ACC_BLOCK_S
        length_s = ACC_BLOCK_S if duration_s is None else min(ACC_BLOCK_S, duration_s - begin_s)
        knots = np.arange(0.0, length_s + 1.0, 1.0)
        rates = [float(scenario.breaths_per_min(begin_s + k)) for k in knots.tolist()]
        chest = simulate_chest_acc(
            length_s,
            rate_per_min=(knots.tolist(), rates),
            heart_rate_bpm=float(scenario.heart_rate_bpm(begin_s)),
            seed=seed * 7919 + block,
            # The person breathes along with the pacer while it is on, chest and heart alike.
            fullness=None if guide is None else _fullness(guide, begin_s),
        )
        n = chest.t_s.size // ACC_FRAME_SAMPLES * ACC_FRAME_SAMPLES
        for lo in range(0, n, ACC_FRAME_SAMPLES):
            rows = slice(lo, lo + ACC_FRAME_SAMPLES)
            last_s = begin_s + float(chest.t_s[rows.stop - 1])
            strap_ns = STRAP_CLOCK_AT_START_NS + round(last_s * drift * 1e9)
            arrival_s = last_s + float(rng.uniform(*LATENCY_RANGE_S))
            if _in(np.array([arrival_s]), link_drops)[0]:
                continue
            arrived_ns = max(arrived_ns, start_ns + round(arrival_s * 1e9))
            payload = encode_frame(PmdStream.ACC, strap_ns, np.round(chest.acc_mg[rows]))
            yield PmdFrame(arrived_ns, source_id, payload)
        block += 1


def simulate_h10(
    scenario: str | Scenario = "calm",
    *,
    seed: int = 0,
    duration_s: float | None,
    start_ns: int = 0,
    source_id: str | None = None,
    artifacts: Artifacts | None = None,
    contact_loss: Stretches = (),
    link_drops: Stretches = (),
    battery_percent: int | None = 100,
    body_location: int | None = 1,
    resonance: ResonanceResponse | None = None,
    guide: BreathingGuide | None = None,
) -> Iterator[Packet | StatusEvent | PmdFrame]:
    """:func:`devices.simulated.simulate`'s items and the H10's ECG and ACC frames, in
    host-time order (same arguments; the strap's clock runs ``artifacts.clock_drift_ppm``
    fast, as its RR do)."""
    sc = get_scenario(scenario)
    sid = source_id or f"sim:{sc.name}:{seed}"
    loss = _check_stretches(contact_loss, "contact loss")
    drops = _check_stretches(link_drops, "link drop")
    drift = 1.0 + (artifacts.clock_drift_ppm if artifacts else 0.0) * 1e-6
    ecg_rng, acc_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 10]).spawn(2)
    )
    hr = simulate(
        sc, seed=seed, duration_s=duration_s, start_ns=start_ns, source_id=sid,
        artifacts=artifacts, contact_loss=loss, link_drops=drops,
        battery_percent=battery_percent, body_location=body_location,
        resonance=resonance, guide=guide,
    )
    ecg = _ecg_frames(
        sc, seed, duration_s, start_ns, sid, loss, drops, drift, ecg_rng, resonance, guide
    )
    acc = _acc_frames(sc, seed, duration_s, start_ns, sid, drops, drift, acc_rng, guide)
    merged: Iterator[Packet | StatusEvent | PmdFrame] = heapq.merge(
        hr, ecg, acc, key=lambda item: item.host_ns
    )
    yield from merged
