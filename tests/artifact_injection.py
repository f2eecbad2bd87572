"""Seeded artifact injection into a clean RR series, shared by tests and bench.

Each injected event changes one or two intervals; ``truth`` lists, per event, the indices
(in the injected series) of the intervals it changed, so a detector can be scored:
an event is found when any of its intervals is flagged, and a flag is correct when it lies
on an interval some event changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The detection errors the issue and Lipponen & Tarvainen (2019) simulate: a missed beat, an
# extra (false) detection, a premature (ectopic) beat and a misaligned one (detected early or
# late). Each of them moves beats, so an interval that grows is paired with one that shrinks
# (or is exactly two, or splits one). UNCOMPENSATED_KINDS change one interval alone, which
# no single detection error does; the bench reports them apart.
KINDS = ("missed", "extra", "ectopic", "misaligned")
UNCOMPENSATED_KINDS = ("long", "short")


@dataclass(frozen=True)
class InjectedSeries:
    rr_ms: np.ndarray
    segment: np.ndarray
    kinds: tuple[str, ...]  # kind of each event
    truth: tuple[np.ndarray, ...]  # changed interval indices of each event
    source: np.ndarray  # index of the clean interval each interval is, -1 where changed

    @property
    def truth_mask(self) -> np.ndarray:
        mask = np.zeros(self.rr_ms.size, dtype=bool)
        for idx in self.truth:
            mask[idx] = True
        return mask

    def score(
        self, flagged: np.ndarray, flagged_clean: np.ndarray | None = None
    ) -> tuple[float, float]:
        """Recall (events found) and precision (flags on changed intervals) of a flag mask.

        With ``flagged_clean`` (the same detector's flags on the clean series), flags on
        unchanged intervals that were already flagged there are left out of the precision:
        it then measures the false flags the injected artifacts cause, while the flag rate
        on the clean series is reported on its own.
        """
        flagged = np.asarray(flagged, dtype=bool)
        found = np.array([flagged[idx].any() for idx in self.truth])
        if flagged_clean is not None:
            kept = self.source >= 0
            already = np.zeros_like(flagged)
            already[kept] = np.asarray(flagged_clean, dtype=bool)[self.source[kept]]
            flagged = flagged & ~already
        n_flags = int(flagged.sum())
        precision = float((flagged & self.truth_mask).sum() / n_flags) if n_flags else 1.0
        return float(found.mean()) if found.size else 1.0, precision


def clean_nsr001(rr_ms: np.ndarray, gap_ms: float = 3000.0) -> tuple[np.ndarray, np.ndarray]:
    """Drop the Holter's signal gaps (RR > gap_ms) and start a new segment at each."""
    gap = rr_ms > gap_ms
    segment = np.cumsum(gap)
    return rr_ms[~gap], segment[~gap].astype(np.int64)


def inject(
    rr_ms: np.ndarray,
    segment: np.ndarray,
    rate: float,
    seed: int,
    *,
    kinds: tuple[str, ...] = KINDS,
    min_spacing: int = 8,
    edge_beats: int = 12,
    displacement: tuple[float, float] = (0.2, 0.4),
    lone_change: tuple[float, float] = (0.25, 0.45),
) -> InjectedSeries:
    """Inject about ``rate`` x len(rr) artifacts of the given kinds at random positions.

    missed: two intervals merged; extra: one interval split at 30-70 %; ectopic: a beat
    premature by a ``displacement`` fraction of its interval (default 20-40 %; short
    interval, then long); misaligned: a beat detected early or late by a ``displacement``
    fraction of the shorter of its two intervals (one interval longer, the next shorter by
    as much, or the reverse); long/short (``UNCOMPENSATED_KINDS``): one interval scaled by
    1 +/- ``lone_change`` (default 25-45 %) with no compensation. Events sit at least
    ``min_spacing`` beats apart and ``edge_beats`` away from segment edges.
    """
    rng = np.random.default_rng(seed)
    n = rr_ms.size
    first = np.r_[True, segment[1:] != segment[:-1]]
    last = np.r_[segment[1:] != segment[:-1], True]
    seg_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    seg_end = np.minimum.accumulate(np.where(last, np.arange(n), n - 1)[::-1])[::-1]
    # An event changes the interval at k and the next one: both in k's segment.
    allowed = (np.arange(n) - seg_start >= edge_beats) & (
        seg_end - np.arange(n) >= max(edge_beats, 1)
    )
    candidates = np.flatnonzero(allowed)[::min_spacing]
    n_events = min(round(rate * n), candidates.size)
    positions = np.sort(rng.choice(candidates, size=n_events, replace=False))
    event_kinds = rng.choice(len(kinds), size=n_events)

    pieces_rr: list[np.ndarray] = []
    pieces_seg: list[np.ndarray] = []
    pieces_src: list[np.ndarray] = []
    truth: list[np.ndarray] = []
    out_len = 0
    cursor = 0
    for k, kind_id in zip(positions, event_kinds, strict=True):
        kind = kinds[kind_id]
        pieces_rr.append(rr_ms[cursor:k])
        pieces_seg.append(segment[cursor:k])
        pieces_src.append(np.arange(cursor, k))
        out_len += k - cursor
        a, b, s = rr_ms[k], rr_ms[k + 1], segment[k]
        if kind == "missed":
            new = [a + b]
        elif kind == "extra":
            f = rng.uniform(0.3, 0.7)
            new = [f * a, (1 - f) * a, b]
        elif kind == "ectopic":
            x = rng.uniform(*displacement) * a
            new = [a - x, b + x]
        elif kind == "misaligned":
            x = rng.uniform(*displacement) * min(a, b) * rng.choice((-1.0, 1.0))
            new = [a + x, b - x]
        elif kind == "long":
            new = [a * (1 + rng.uniform(*lone_change)), b]
        else:
            new = [a * (1 - rng.uniform(*lone_change)), b]
        changed = {"missed": 1, "long": 1, "short": 1}.get(kind, 2)
        truth.append(out_len + np.arange(changed))
        pieces_rr.append(np.asarray(new))
        pieces_seg.append(np.full(len(new), s, dtype=np.int64))
        src = np.full(len(new), -1)
        src[changed:] = k + 1  # the interval after the event is kept as it was
        pieces_src.append(src)
        out_len += len(new)
        cursor = k + 2
    pieces_rr.append(rr_ms[cursor:])
    pieces_seg.append(segment[cursor:])
    pieces_src.append(np.arange(cursor, n))
    return InjectedSeries(
        rr_ms=np.concatenate(pieces_rr),
        segment=np.concatenate(pieces_seg).astype(np.int64),
        kinds=tuple(kinds[i] for i in event_kinds),
        truth=tuple(truth),
        source=np.concatenate(pieces_src).astype(np.int64),
    )


FLAG_PATTERNS = ("displaced beat", "missed-like", "extra-like", "other")


def classify_flags(
    rr_ms: np.ndarray, segment: np.ndarray, flagged: np.ndarray, context_beats: int = 10
) -> np.ndarray:
    """Sort flags on an unlabelled record by the RR pattern around them (index into
    FLAG_PATTERNS), to tell genuine-looking events from detector false positives.

    The level L is the median of up to ``context_beats`` intervals on each side of the flagged
    interval i and its successor (same segment; looks both ways, for analysis only).
    displaced beat: i and i+1 deviate from L in opposite directions by at least 5 % each and
    sum to 2 L within 12 % (a premature beat and its compensatory pause, or a misplaced beat,
    whichever of the two intervals carries the flag). missed-like: i is 2 L within 15 %.
    extra-like: i and i+1 sum to L within 20 %. other: none of these (ordinary variability).
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    seg = np.asarray(segment)
    out = []
    for i in np.flatnonzero(flagged):
        same = seg == seg[i]
        lo, hi = max(i - context_beats, 0), min(i + 2 + context_beats, rr.size)
        around = np.r_[rr[lo:i][same[lo:i]], rr[i + 2 : hi][same[i + 2 : hi]]]
        level = np.median(around)
        pairs = [(j, j + 1) for j in (i, i - 1) if j >= 0 and j + 1 < rr.size
                 and same[j] and same[j + 1]]
        kind = 3
        for a, b in pairs:
            da, db = rr[a] / level - 1.0, rr[b] / level - 1.0
            if da * db < 0 and min(abs(da), abs(db)) >= 0.05 and abs(da + db) <= 0.12:
                kind = 0
                break
        if kind == 3 and abs(rr[i] / level - 2.0) <= 0.15:
            kind = 1
        if kind == 3 and (i, i + 1) in pairs and abs((rr[i] + rr[i + 1]) / level - 1.0) <= 0.2:
            kind = 2
        out.append(kind)
    return np.asarray(out, dtype=np.int64)
