"""The zone reading as every screen and report shows it: one position, colour and label.

The zone indicator, the zone label, the client view's bar, the live zone trace and the
report's trace and strip all draw from :func:`zone_positions` and :func:`show_zone`, so they
cannot disagree. Qt-free (the report uses it too).

Where the dot sits: the regulation model decides High from ``arousal`` and Low from its own
evidence, ``lowness`` (:mod:`trm_bio.core.regulation`). In the "slow and flat" picture heart
rate and vagal HRV both fall, so ``arousal`` can be high while the zone is Low; a dot placed
by ``arousal`` alone then sat beside "high" under a "Low Zone" label. The position is
therefore read from the evidence of the zone shown: ``-lowness`` in the Low Zone,
``arousal`` in the High Zone, and in the resilient band the net of both,
``max(arousal, 0) - lowness`` (equal to ``arousal`` above the baseline and to ``-lowness``
below it when only one side has evidence, and continuous between them). It is then held
inside the segment of the zone the model shows: the hysteresis keeps a zone until its exit
threshold, and confirmation delays a new one, so the value may sit a little across an edge.
UNKNOWN has no position: it is drawn grey, not as a zone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trm_bio.core.regulation import DEFAULT_PARAMS, REASON_SETTLING, Zone

#: How far inside its zone's segment a clamped position sits (baseline spreads).
EDGE_INSET = 0.2

#: Soft fills (bands, labels, the client's shape) and strong colours (lines, report strips):
#: Okabe-Ito hues (safe for colour-blind eyes); neither zone side is drawn as a warning.
SOFT_COLOURS = {
    Zone.LOW: "#CFE6F5",
    Zone.RESILIENT: "#BFE3D6",
    Zone.HIGH: "#F8E3BF",
    Zone.UNKNOWN: "#E6E3DF",
}
STRONG_COLOURS = {
    Zone.LOW: "#56B4E9",
    Zone.RESILIENT: "#009E73",
    Zone.HIGH: "#E69F00",
    Zone.UNKNOWN: "#BDBAB6",
}
ZONE_WORDS = {
    Zone.LOW: "Low Zone",
    Zone.RESILIENT: "Resilient Zone",
    Zone.HIGH: "High Zone",
    Zone.UNKNOWN: "Zone unknown",
}
#: The zone label during the session-start calibration: the settling-in invitation's words.
CALIBRATING_WORDS = "Settling in"
#: What the client view says while there is no zone to show: calm and simple.
CLIENT_UNKNOWN_WORDS = "Nothing to show just now, and that is fine."

#: A shift's direction in words, wherever a shift is shown.
SHIFT_WORDS = {
    "toward": "toward the band",
    "away": "away from the band",
    "none": "no measurable change",
    "unknown": "not measurable",
}


@dataclass(frozen=True)
class ZoneScale:
    """The band's edges on the position axis (baseline spreads) and the span shown."""

    low_edge: float = -DEFAULT_PARAMS.low_enter
    high_edge: float = DEFAULT_PARAMS.high_enter

    @property
    def view(self) -> tuple[float, float]:
        """The span drawn (baseline spreads): the band with room on either side."""
        return min(-4.0, self.low_edge - 1.5), max(3.0, self.high_edge + 1.75)

    def segment(self, zone: Zone) -> tuple[float, float]:
        """The part of the view where a reading of ``zone`` is drawn (NaN, NaN: none)."""
        lo, hi = self.view
        if zone == Zone.LOW:
            return lo, self.low_edge - EDGE_INSET
        if zone == Zone.HIGH:
            return self.high_edge + EDGE_INSET, hi
        if zone == Zone.RESILIENT:
            return self.low_edge + EDGE_INSET, self.high_edge - EDGE_INSET
        return math.nan, math.nan

    def zone_at(self, position: float) -> Zone:
        """The zone whose part of the band holds ``position`` (UNKNOWN for NaN)."""
        if math.isnan(position):
            return Zone.UNKNOWN
        if position < self.low_edge:
            return Zone.LOW
        return Zone.HIGH if position > self.high_edge else Zone.RESILIENT


def zone_positions(
    arousal: npt.ArrayLike,
    lowness: npt.ArrayLike,
    zone: npt.ArrayLike,
    scale: ZoneScale = ZoneScale(),
) -> np.ndarray:
    """Where each reading is drawn (baseline spreads; NaN where the zone is unknown).

    Parameters
    ----------
    arousal, lowness : ndarray
        The regulation model's indicators (baseline spreads).
    zone : ndarray
        :class:`~trm_bio.core.regulation.Zone` codes.
    scale : ZoneScale
        The band's edges.

    Returns
    -------
    ndarray
        The zone's own evidence (see module doc), held inside the zone's segment of the view.
    """
    a = np.asarray(arousal, dtype=np.float64)
    low = np.asarray(lowness, dtype=np.float64)
    z = np.asarray(zone, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        net = np.maximum(a, 0.0) - np.where(np.isnan(low), 0.0, low)
    net = np.where(np.isnan(a), -low, net)  # only the low side known
    evidence = {Zone.LOW: -low, Zone.RESILIENT: net, Zone.HIGH: a}
    out = np.full(np.broadcast(a, low, z).shape, np.nan)
    for code in (Zone.LOW, Zone.RESILIENT, Zone.HIGH):
        lo, hi = scale.segment(code)
        here = z == int(code)
        raw = evidence[code]
        # A zone without a value (held through a gap) sits at its segment's inner edge.
        inner = hi if code == Zone.LOW else lo if code == Zone.HIGH else 0.0
        value = np.where(np.isnan(raw), inner, np.clip(raw, lo, hi))
        out = np.where(here, value, out)
    return out


@dataclass(frozen=True)
class ZoneShown:
    """One reading as shown: position (NaN: no dot), zone, colours and words."""

    position: float = math.nan
    zone: Zone = Zone.UNKNOWN
    tentative: bool = False
    label: str = ZONE_WORDS[Zone.UNKNOWN]
    reason: str = ""  # why the zone is unknown ("" when a zone is shown)

    @property
    def colour(self) -> str:
        """The zone's soft colour (grey when unknown)."""
        return SOFT_COLOURS[self.zone]

    @property
    def strong_colour(self) -> str:
        return STRONG_COLOURS[self.zone]


def zone_label(zone: Zone, tentative: bool, *, calibrating: bool = False) -> str:
    """The zone in words: "Low Zone (tentative)", "Settling in" ..."""
    if zone == Zone.UNKNOWN:
        return CALIBRATING_WORDS if calibrating else ZONE_WORDS[Zone.UNKNOWN]
    return f"{ZONE_WORDS[zone]} (tentative)" if tentative else ZONE_WORDS[zone]


def show_zone(
    zone: Zone,
    *,
    arousal: float = math.nan,
    lowness: float = math.nan,
    tentative: bool = False,
    reason: str = "",
    calibrating: bool = False,
    scale: ZoneScale = ZoneScale(),
) -> ZoneShown:
    """One reading as every screen shows it (see module doc)."""
    zone = Zone(zone)
    position = float(zone_positions(arousal, lowness, int(zone), scale))
    if zone == Zone.UNKNOWN:
        if not reason and calibrating:
            reason = REASON_SETTLING
        return ZoneShown(math.nan, zone, False, zone_label(zone, False, calibrating=calibrating),
                         reason)
    return ZoneShown(position, zone, bool(tentative), zone_label(zone, tentative), "")


def with_gaps(
    times_s: np.ndarray, values: np.ndarray, segment: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Arrays for a line broken at gaps: a NaN point between segments."""
    if segment is None or times_s.size < 2:
        return times_s, values
    breaks = np.flatnonzero(np.diff(segment) != 0) + 1
    if breaks.size == 0:
        return times_s, values
    mid = 0.5 * (times_s[breaks - 1] + times_s[breaks])
    return np.insert(times_s, breaks, mid), np.insert(values, breaks, np.nan)


def zone_runs(
    times_s: np.ndarray, zone: np.ndarray, segment: np.ndarray
) -> list[tuple[float, float, int]]:
    """Stretches of one zone within a segment: (start_s, end_s, code); gaps stay empty.

    Each beat covers the time since the beat before it in its segment (as
    :func:`~trm_bio.core.zone_time.zone_time` counts it), so a strip drawn from these runs
    shows what the time shares count, and a pause between segments is never painted.
    """
    t = np.asarray(times_s, dtype=np.float64)
    z = np.asarray(zone, dtype=np.int64)
    seg = np.asarray(segment)
    if t.size < 2:
        return []
    change = np.flatnonzero((np.diff(z) != 0) | (np.diff(seg) != 0)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [t.size]))
    out = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        # The run covers from the beat before its first (same segment) to its last beat.
        first = a - 1 if a > 0 and seg[a - 1] == seg[a] else a
        if t[b - 1] > t[first]:
            out.append((float(t[first]), float(t[b - 1]), int(z[a])))
    return out


def gaps(times_s: np.ndarray, segment: np.ndarray) -> list[tuple[float, float]]:
    """The gaps between segments (paused or link lost): (start_s, end_s)."""
    t = np.asarray(times_s, dtype=np.float64)
    breaks = np.flatnonzero(np.diff(np.asarray(segment)) != 0) + 1
    return [(float(t[i - 1]), float(t[i])) for i in breaks.tolist()]


def duration_words(seconds: float) -> str:
    """A duration for people: "45 s", "3 min 20 s", "1 h 5 min"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, r = divmod(s, 60)
        return f"{m} min {r} s" if r else f"{m} min"
    h, r = divmod(s, 3600)
    return f"{h} h {r // 60} min" if r // 60 else f"{h} h"


def shares_words(
    zone_seconds: Mapping[str, float | None], name: Callable[[str], str] = str
) -> str:
    """The time shares in words, saying what was left out (paused time, unknown time).

    ``zone_seconds``: seconds by "low", "resilient", "high", "unknown" and "gaps" (as
    :meth:`~trm_bio.core.zone_time.ZoneTime.to_dict`); ``name`` dresses each zone's name
    (e.g. as HTML).
    """
    known = {k: float(zone_seconds.get(k) or 0.0) for k in ("resilient", "high", "low")}
    total = sum(known.values())
    if total <= 0:
        head = "no zone reading"
    else:
        head = ", ".join(f"{name(k)} {100 * v / total:.0f} %" for k, v in known.items())
        head += f" of {duration_words(total)} with a reading"
    left_out = []
    unknown = float(zone_seconds.get("unknown") or 0.0)
    paused = float(zone_seconds.get("gaps") or 0.0)
    if unknown >= 0.5:
        left_out.append(f"{duration_words(unknown)} without a reading (settling in or an unclear "
                        "signal)")
    if paused >= 0.5:
        left_out.append(f"{duration_words(paused)} paused or without a signal")
    if left_out:
        head += "; not counted: " + " and ".join(left_out)
    return head


def settling_words(
    calibrating: bool,
    calibration_left_s: float,
    baseline_source: str,
    *,
    for_client: bool,
    practising: bool = False,
) -> str:
    """The settling-in invitation at the start of a session ("" when there is none).

    While the baseline is being found, an invitation to settle in with the time left;
    with a baseline from earlier sessions, that no settling-in is needed. Once a skill's
    prompt shows (``practising``), the client is asked to do something, so the client's
    words no longer say there is nothing to do: only when the reading begins.
    """
    if for_client and practising:
        if not calibrating:
            return ""
        left = calibration_left_s
        if not math.isfinite(left):
            return "Your reading will begin in a few minutes."
        if left < 60:
            return "Your reading will begin in less than a minute."
        minutes = math.ceil(left / 60)
        return f"Your reading will begin in about {minutes} minute{'s' if minutes > 1 else ''}."
    if calibrating:
        left = calibration_left_s
        if not math.isfinite(left):
            when = "This takes a few minutes."
        elif left < 60:
            when = "Less than a minute to go." if for_client else (
                f"About {max(5, 5 * math.ceil(left / 5))} s of settling left.")
        else:
            minutes = math.ceil(left / 60)
            when = f"About {minutes} minute{'s' if minutes > 1 else ''} to go." if for_client \
                else f"About {duration_words(10 * math.ceil(left / 10))} of settling left."
        invitation = (
            "Let's take a few minutes to settle in. You might notice where your body meets the "
            "chair, or your feet on the floor. There is nothing you need to do."
        )
        return f"{invitation} {when}"
    if baseline_source == "previous-sessions":
        if for_client:
            return "Your baseline from earlier sessions is ready, so we can begin when you like."
        return ("The baseline from earlier sessions is used, so no settling-in period is "
                "needed.")
    return ""
