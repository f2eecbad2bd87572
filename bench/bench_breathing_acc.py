"""Breathing rate from the chest accelerometer: errors on the simulated chest and real data.

Simulated chest (devices/simulated_chest.py, 5 minutes each, a 40-degree posture change at
150 s and a movement artifact at 240 s): per-breath rate against the true mean rate over the
same breath, at 4.5-25 /min, breathing amplitude 3 and 8 mg, sensor noise 2, 5 and 10 mg
(per axis, 200 Hz), heartbeat ripple 4 mg. Columns: breaths found / true breaths, median
|error|, share within 1 /min (issue 16's target), share of time a current rate is shown.

Real data (when tests/chest_acc_data finds it): Paoli 2021, a phone's accelerometer on the
chest of a supine person breathing with a metronome (12 breaths per record, two positions);
the truth is the metronome's rate, which the person follows closely but not exactly.

Then the time to process 1 h of 200 Hz ACC, whole and in 36-sample frames (an H10 ACC frame).
Run: ``python -m bench breathing_acc``.
"""

from __future__ import annotations

import time

import numpy as np

from devices.simulated_chest import simulate_chest_acc
from tests import chest_acc_data
from trm_bio.core.accel_breathing import AccBreathingStream, breathing_from_acc

RATES = (4.5, 6.0, 10.0, 15.0, 25.0)
DURATION_S = 300.0


def _simulated_table() -> None:
    print(f"{'rate':>6s} {'amp mg':>6s} {'noise mg':>8s} {'breaths':>9s} {'med |err|':>9s} "
          f"{'<=1/min':>8s} {'shown':>6s}")
    all_errors = []
    for amplitude in (3.0, 8.0):
        for noise in (2.0, 5.0, 10.0):
            for rate in RATES:
                sim = simulate_chest_acc(DURATION_S, rate_per_min=rate, amplitude_mg=amplitude,
                                         noise_mg=noise, bcg_mg=4.0, posture_changes_s=(150.0,),
                                         artifacts_s=(240.0,), seed=int(rate * 10 + noise))
                res = breathing_from_acc(sim.t_s, sim.acc_mg)
                err = res.breath_rate_per_min - sim.true_rate_per_min(res.breath_start_s,
                                                                      res.breath_end_s)
                all_errors.append(err)
                true_n = sim.inhale_starts_s().size - 1
                med = f"{np.median(np.abs(err)):9.2f}" if err.size else f"{'-':>9s}"
                within = (f"{100 * np.mean(np.abs(err) <= 1):7.0f}%" if err.size
                          else f"{'-':>8s}")
                print(f"{rate:6.1f} {amplitude:6.0f} {noise:8.0f} {err.size:4d}/{true_n:<4d} "
                      f"{med} {within} {100 * np.isfinite(res.rate_per_min).mean():5.0f}%")
    errors = np.concatenate(all_errors)
    print(f"all simulated: {errors.size} breaths, median |error| "
          f"{np.median(np.abs(errors)):.2f} /min, {100 * np.mean(np.abs(errors) <= 1):.1f} % "
          "within 1 /min")


def _real_table() -> None:
    recs = chest_acc_data.paoli_recordings()
    if not recs:
        print(f"\nreal data: skipped ({chest_acc_data.MISSING})")
        return
    print(f"\nreal chest accelerometer, paced breathing (Paoli 2021)\n"
          f"{'record':40s} {'paced':>6s} {'breaths':>7s} {'med |err|':>9s} {'<=1/min':>8s} "
          f"{'median rate':>11s}")
    errs = []
    for rec in recs:
        res = breathing_from_acc(rec.t_s, rec.acc_mg)
        err = res.breath_rate_per_min - rec.paced_per_min
        errs.append(err)
        if err.size:
            print(f"{rec.name:40s} {rec.paced_per_min:6.2f} {err.size:7d} "
                  f"{np.median(np.abs(err)):9.2f} {100 * np.mean(np.abs(err) <= 1):7.0f}% "
                  f"{np.median(res.breath_rate_per_min):11.2f}")
        else:
            print(f"{rec.name:40s} {rec.paced_per_min:6.2f} {0:7d} {'-':>9s} {'-':>8s} "
                  f"{'-':>11s}")
    e = np.concatenate(errs)
    print(f"all real: {e.size} breaths, median |error| {np.median(np.abs(e)):.2f} /min, "
          f"{100 * np.mean(np.abs(e) <= 1):.1f} % within 1 /min of the metronome")


def _timing() -> None:
    sim = simulate_chest_acc(3600.0, rate_per_min=([0.0, 3600.0], [5.0, 20.0]),
                             amplitude_mg=6.0, noise_mg=4.0,
                             posture_changes_s=(900.0, 1800.0, 2700.0), seed=1)
    started = time.perf_counter()
    whole = breathing_from_acc(sim.t_s, sim.acc_mg)
    whole_s = time.perf_counter() - started
    stream = AccBreathingStream()
    frame = 36
    started = time.perf_counter()
    for i in range(0, sim.t_s.size, frame):
        stream.feed(sim.t_s[i:i + frame], sim.acc_mg[i:i + frame])
    frames_s = time.perf_counter() - started
    print(f"\n1 h of 200 Hz ACC ({sim.t_s.size} samples, {whole.breath_end_s.size} breaths): "
          f"{whole_s:.2f} s whole, {frames_s:.2f} s fed in {frame}-sample frames "
          f"({1e6 * frames_s / (sim.t_s.size / frame):.0f} µs a frame)")


def main() -> None:
    _simulated_table()
    _real_table()
    _timing()


if __name__ == "__main__":
    main()
