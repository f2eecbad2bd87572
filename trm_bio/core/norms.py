"""Population norms of resting heart rate and RMSSD, for orientation beside a person's own
baseline (the zone indicator itself only ever uses the person's own baseline).

Short-term (about 5-minute) resting values of healthy adults from the quantitative
systematic review of Nunan, Sandercock & Brodie (Pacing Clin Electrophysiol 33:1407-1417,
2010; 44 studies, 21,438 participants), as tabulated by Shaffer & Ginsberg (Front Public
Health 5:258, 2017): mean RR 926 ± 90 ms (range of study means 785-1160 ms) and RMSSD
42 ± 15 ms (range 19-75 ms). Heart rate here is 60,000 / RR. These are pooled adult values:
HRV falls with age and differs by sex, and ultra-short windows read lower than 5-minute
ones, so a person outside the range is not thereby unwell; the app shows them as context,
never as a judgement. Age-banded short-term norms are not included: the age-banded tables
the project found are 24-hour values, which are not interchangeable with short-term ones
(Shaffer & Ginsberg 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RestingNorms:
    """Healthy adults' resting values: a typical value and the range of study means.

    Attributes
    ----------
    hr_bpm, hr_low_bpm, hr_high_bpm : float
        Heart rate (bpm): from the mean RR and the range of study means.
    rmssd_ms, rmssd_sd_ms, rmssd_low_ms, rmssd_high_ms : float
        RMSSD (ms): mean, standard deviation and range of study means.
    source : str
        The citation, for display.
    """

    hr_bpm: float
    hr_low_bpm: float
    hr_high_bpm: float
    rmssd_ms: float
    rmssd_sd_ms: float
    rmssd_low_ms: float
    rmssd_high_ms: float
    source: str

    @property
    def ln_rmssd(self) -> float:
        """ln(RMSSD / 1 ms) of the typical value, on the zone indicator's scale."""
        return math.log(self.rmssd_ms)


_ADULTS = RestingNorms(
    hr_bpm=60_000.0 / 926.0,
    hr_low_bpm=60_000.0 / 1160.0,
    hr_high_bpm=60_000.0 / 785.0,
    rmssd_ms=42.0,
    rmssd_sd_ms=15.0,
    rmssd_low_ms=19.0,
    rmssd_high_ms=75.0,
    source=(
        "Healthy adults, short-term resting values: Nunan et al. 2010, "
        "Pacing Clin Electrophysiol 33:1407 (via Shaffer & Ginsberg 2017)"
    ),
)


def resting_norms() -> RestingNorms:
    """Healthy adults' short-term resting heart rate and RMSSD (see the module docs)."""
    return _ADULTS
