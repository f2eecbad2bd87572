"""Score artifact labels against the cardiologist annotations of MIT-BIH records.

The RR series comes from the annotated beat times, so it holds no detection error at all:
every beat is real. A detector's labels are then judged three ways (shared by tests and
bench):

* invented missed beats: a MISSED label on an interval shorter than ``INVENTED_RATIO`` x the
  local normal median (the median of the normal-to-normal intervals, both ends 'N', among
  the ``LOCAL_BEATS`` intervals on each side, none holding a non-conducted P wave 'x').
  Splitting it inserts a beat that never
  happened. (A MISSED label on a longer interval, such as the pause of a blocked atrial
  premature beat, is not counted: no beat was missed there either, but the split halves do
  fit the rhythm around it.)
* flags on pure normal rhythm: intervals in a stretch of the '(N' rhythm whose beats within
  ``PURE_REACH_BEATS`` on each side are all 'N', with no non-conducted P wave between them
  (a blocked atrial premature beat leaves a real pause). Every flag there is false.
* isolated premature beats: an 'A' or 'V' beat whose neighbours are both 'N'. It is found
  when the interval ending at it or the one after it (its compensatory pause) is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.recordings import MitdbBeats

INVENTED_RATIO = 1.6
LOCAL_BEATS = 10
PURE_REACH_BEATS = 5
PREMATURE_SYMBOLS = ("A", "V")
ISOLATED_REACH_BEATS = 2


@dataclass(frozen=True)
class AnnotatedScore:
    """Counts of one detector on one record (intervals, not beats, throughout)."""

    intervals: int
    invented: int  # MISSED labels under INVENTED_RATIO x the local normal median
    pure: int  # intervals of pure normal rhythm
    pure_flags: int  # flags among them
    premature: int  # isolated premature beats
    premature_found: int

    def __add__(self, other: AnnotatedScore) -> AnnotatedScore:
        return AnnotatedScore(*(a + b for a, b in zip(self.counts(), other.counts(),
                                                         strict=True)))

    def counts(self) -> tuple[int, ...]:
        return (self.intervals, self.invented, self.pure, self.pure_flags, self.premature,
                self.premature_found)

    @property
    def invented_per_1000(self) -> float:
        return 1000.0 * self.invented / self.intervals

    @property
    def pure_flags_per_1000(self) -> float:
        return 1000.0 * self.pure_flags / self.pure if self.pure else 0.0

    @property
    def premature_sensitivity(self) -> float:
        return self.premature_found / self.premature if self.premature else 1.0


def local_normal_median(beats: MitdbBeats) -> np.ndarray:
    """Per interval, the median normal-to-normal interval among the ``LOCAL_BEATS`` on each
    side (itself left out); all intervals there if fewer than three are normal (ms)."""
    rr = beats.rr_ms
    normal = beats.symbols == "N"
    nn = normal[1:] & normal[:-1] & ~beats.blocked
    n = rr.size
    out = np.empty(n)
    for i in range(n):
        lo, hi = max(i - LOCAL_BEATS, 0), min(i + LOCAL_BEATS + 1, n)
        window = np.r_[rr[lo:i], rr[i + 1 : hi]]
        keep = np.r_[nn[lo:i], nn[i + 1 : hi]]
        out[i] = np.median(window[keep]) if keep.sum() >= 3 else np.median(window)
    return out


def pure_normal(beats: MitdbBeats) -> np.ndarray:
    """Per interval: inside pure normal rhythm (see the module docstring)."""
    normal = (beats.symbols == "N") & (beats.rhythm == "(N")
    normal[1:] &= ~beats.blocked  # a beat ending a blocked pause breaks the stretch
    size = 2 * PURE_REACH_BEATS + 2  # the interval's two beats and the reach on each side
    run = np.convolve(normal.astype(np.int64), np.ones(size, dtype=np.int64), mode="valid")
    pure = np.zeros(beats.rr_ms.size, dtype=bool)
    # Interval i ends at beat i + 1; its window is beats i - REACH .. i + 1 + REACH.
    start = np.arange(beats.rr_ms.size) - PURE_REACH_BEATS
    ok = (start >= 0) & (start < run.size)
    pure[ok] = run[start[ok]] == size
    return pure


def isolated_premature(beats: MitdbBeats, reach: int = ISOLATED_REACH_BEATS) -> np.ndarray:
    """Indices into ``rr_ms`` of the intervals that end at an isolated premature beat: 'A'
    or 'V' with only 'N' beats within ``reach`` on each side."""
    sym = beats.symbols
    k = np.arange(reach, sym.size - reach)
    keep = np.isin(sym[k], PREMATURE_SYMBOLS)
    for step in range(1, reach + 1):
        keep &= (sym[k - step] == "N") & (sym[k + step] == "N")
    return k[keep] - 1


def score(
    beats: MitdbBeats, flagged: np.ndarray, missed: np.ndarray,
    isolated_reach: int = ISOLATED_REACH_BEATS,
) -> AnnotatedScore:
    """Score flags (any label but NORMAL) and MISSED labels, one bool per interval."""
    flagged = np.asarray(flagged, dtype=bool)
    missed = np.asarray(missed, dtype=bool)
    invented = missed & (beats.rr_ms < INVENTED_RATIO * local_normal_median(beats))
    pure = pure_normal(beats)
    premature = isolated_premature(beats, isolated_reach)
    found = flagged[premature] | flagged[np.minimum(premature + 1, flagged.size - 1)]
    return AnnotatedScore(
        intervals=int(beats.rr_ms.size),
        invented=int(invented.sum()),
        pure=int(pure.sum()),
        pure_flags=int((flagged & pure).sum()),
        premature=int(premature.size),
        premature_found=int(found.sum()),
    )
