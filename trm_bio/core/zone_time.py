"""Time in each zone: seconds, not beats, with gaps and unknown time set apart.

A beat stands for the time since the beat before it in the same segment, so a stretch of
fast heart beats weighs what its duration weighs, not what its beat count weighs. The first
beat of a segment stands for no time: the time before it is a gap (a pause of the session or
a lost link), never part of a zone. Beats without a zone reading (calibrating, signal not
clear) count as unknown time, and the shares are of the time *with* a reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trm_bio.core.regulation import Zone

#: The zones that have a share, in the order they are listed.
SHARED_ZONES = (Zone.LOW, Zone.RESILIENT, Zone.HIGH)


@dataclass(frozen=True, slots=True)
class ZoneTime:
    """Seconds spent in each zone, in unknown, and in gaps between segments.

    Attributes
    ----------
    seconds : dict
        Zone label ("low", "resilient", "high") to seconds with that reading.
    unknown_s : float
        Seconds with beats but no zone reading (s).
    gaps_s : float
        Seconds between segments: the session paused or the link lost (s).
    """

    seconds: dict[str, float]
    unknown_s: float
    gaps_s: float

    @property
    def known_s(self) -> float:
        """Seconds with a zone reading (s)."""
        return float(sum(self.seconds.values()))

    def shares(self) -> dict[str, float]:
        """Share (0-1) of the time with a reading spent in each zone; NaN when there is none."""
        known = self.known_s
        if known <= 0:
            return {z.label: math.nan for z in SHARED_ZONES}
        return {label: s / known for label, s in self.seconds.items()}

    def to_dict(self) -> dict[str, float]:
        """Seconds by zone label, with ``unknown`` and ``gaps`` (JSON-friendly)."""
        return {**self.seconds, "unknown": self.unknown_s, "gaps": self.gaps_s}


def zone_time(times_s: np.ndarray, zone: np.ndarray, segment: np.ndarray) -> ZoneTime:
    """Seconds in each zone for per-beat zone codes.

    Parameters
    ----------
    times_s : ndarray
        Beat times (s), non-decreasing.
    zone : ndarray
        :class:`~trm_bio.core.regulation.Zone` codes, one per beat.
    segment : ndarray
        Segment id per beat; a new id follows every gap.

    Returns
    -------
    ZoneTime
    """
    t = np.asarray(times_s, dtype=np.float64)
    z = np.asarray(zone, dtype=np.int64)
    seg = np.asarray(segment)
    if not t.shape == z.shape == seg.shape:
        raise ValueError("beat times, zones and segments must be equal-length arrays")
    if t.size < 2:
        return ZoneTime({zz.label: 0.0 for zz in SHARED_ZONES}, 0.0, 0.0)
    dt = np.diff(t)
    same = np.diff(seg) == 0
    span = np.where(same, dt, 0.0)  # each beat stands for the time since the one before it
    z_of = z[1:]
    seconds = {zz.label: float(span[z_of == int(zz)].sum()) for zz in SHARED_ZONES}
    known = np.isin(z_of, [int(zz) for zz in SHARED_ZONES])
    return ZoneTime(seconds, float(span[~known].sum()), float(dt[~same].sum()))


__all__ = ["SHARED_ZONES", "ZoneTime", "zone_time"]
