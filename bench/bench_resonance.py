"""The resonance-frequency assessment on simulated people: how often it finds their rate.

A person with resonance rate R (4.5-6.5 /min; ``devices.physiology.ResonanceResponse``)
breathes along with the full protocol (6.5 ... 4.5 /min, 2 minutes each, a minute's rest
between) in the calm scenario, whose heart rate and RSA depth wander as a resting heart's
do. The true beats (no strap) are scored with :func:`trm_bio.core.resonance.assess`; a hit is
a rate within 0.25 /min of R. Seeds 0-29 per rate. Target (issue 17): >= 95 % for 5.0 and
6.5. Run: ``python -m bench resonance``.
"""

from __future__ import annotations

import numpy as np

from devices.physiology import ResonanceResponse
from devices.simulated import true_beats
from trm_bio.core.resonance import AssessmentProtocol, assess

RATES = (4.5, 5.0, 5.5, 6.0, 6.5)
SEEDS = range(30)


def main() -> None:
    protocol = AssessmentProtocol()
    print(f"{'RESONANCE /min':>14}  {'HITS':>7}  {'FOUND (rate: count)'}")
    for rate in RATES:
        found = []
        for seed in SEEDS:
            beats = true_beats(
                "calm", seed=seed, duration_s=protocol.duration_s,
                resonance=ResonanceResponse(rate), guide=protocol.track(),
            )
            found.append(assess(beats.times_s, beats.rr_ms, protocol).resonance_rate)
        got = np.array([np.nan if f is None else f for f in found])
        hits = int(np.sum(np.abs(got - rate) <= 0.25))
        values, counts = np.unique(got, return_counts=True)
        tally = ", ".join(f"{v:g}: {c}" for v, c in zip(values, counts, strict=True))
        print(f"{rate:>14.1f}  {hits:>3d}/{len(got):<3d}  {tally}", flush=True)


if __name__ == "__main__":
    main()
