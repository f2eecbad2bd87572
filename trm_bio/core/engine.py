"""The streaming engine: one update per beat, from the same functions that analyse a recording.

Each new beat is appended to a bounded buffer; artifact labels are computed on the short
tail that can still change them, and every metric is evaluated for the window that ends at
the newest *settled* beat (one whose artifact label can no longer change, ``LOOKAHEAD_BEATS``
beats behind the newest; after a segment break the segment's first beats wait until it holds
``artifacts.START_BEATS`` beats, then settle together). The newest beat itself (its RR,
instantaneous heart rate and a provisional label) is reported at once, so the tachogram never
waits; HRV windows of 60 s and more lag by those one or two beats, which a person cannot see.

Because labels depend on a bounded past and a fixed lookahead, and metric windows are
defined in seconds on an absolute grid, the engine fed beat by beat gives the numbers that
:func:`analyse_beats` gives for the whole recording (the tests hold it to that).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from trm_bio.core import artifacts
from trm_bio.core.errors import TrmBioError
from trm_bio.core.frequency_domain import frequency_windows
from trm_bio.core.growing import GrowingArray
from trm_bio.core.rhythm import (
    IRREGULAR_WINDOW_BEATS,
    RHYTHM_WINDOW_BEATS,
    fixed_rate_rhythm,
    irregular_judged_last,
    irregular_rhythm,
    irregular_rhythm_last,
    rhythm_valid,
    rhythm_valid_last,
)
from trm_bio.core.time_domain import time_windows
from trm_bio.core.timeline import Beats
from trm_bio.core.windows import window_bounds_kernel


@dataclass(frozen=True, slots=True)
class MetricWindow:
    """Which metrics are computed over which window.

    Parameters
    ----------
    domain : {"time", "frequency"}
        The function that computes them.
    window_s : float
        Window length (s).
    names : tuple of str
        Metric names kept from that function's output (neurokit2 names).
    suffix : str
        Appended to each name in the update (a second window of a metric already taken).
    """

    domain: str
    window_s: float
    names: tuple[str, ...]
    suffix: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(name + self.suffix for name in self.names)


#: Why these windows: RMSSD is valid from about 30-60 s of beats, so the fast feedback
#: metrics (HR, RMSSD, SDNN, pNN50) and the breathing/coherence estimates (HeartMath uses a
#: 64 s window) use 60 s; LF reaches down to 0.04 Hz and needs at least 2 minutes, so the
#: spectral powers use the standard 5-minute window. ``HR_20s`` and ``RMSSD_120s`` are the
#: regulation model's inputs (trm_bio.core.regulation: quick enough to mark a stress rise
#: within a minute, steady enough at rest, as measured on real recordings).
DEFAULT_WINDOWS: tuple[MetricWindow, ...] = (
    MetricWindow("time", 60.0, ("MeanNN", "SDNN", "RMSSD", "pNN50", "HR")),
    MetricWindow("time", 20.0, ("HR",), suffix="_20s"),
    MetricWindow("time", 120.0, ("RMSSD",), suffix="_120s"),
    MetricWindow("frequency", 60.0, ("RespirationRate", "Coherence", "HFpeak")),
    MetricWindow("frequency", 300.0, ("VLF", "LF", "HF", "LFHF")),
)


def metric_names(windows: tuple[MetricWindow, ...] = DEFAULT_WINDOWS) -> tuple[str, ...]:
    """Every metric name an update carries, in a stable order."""
    return tuple(key for w in windows for key in w.keys)


#: Metrics that stay meaningful during sustained ectopy or an irregular rhythm (the beat
#: rate); every other metric (variability, spectrum) is NaN where the rhythm check fails.
RHYTHM_INDEPENDENT = frozenset({"MeanNN", "HR", "MinNN", "MaxNN"})

#: The span of settled beats whose share of flagged (corrected) beats is ``artifact_rate``.
ARTIFACT_WINDOW_S = 60.0


def recent_artifact_share(
    times_s: np.ndarray, labels: np.ndarray, window_s: float = ARTIFACT_WINDOW_S
) -> np.ndarray:
    """Per beat, the share of flagged beats among the beats of the last ``window_s`` (0-1).

    The batch form of :attr:`BeatUpdate.artifact_rate`: beats later than ``t - window_s``
    up to and including the beat at ``t``.
    """
    return recent_share(times_s, np.asarray(labels) != artifacts.NORMAL, window_s)


def recent_share(times_s: np.ndarray, flagged: np.ndarray, window_s: float) -> np.ndarray:
    """Per beat, the share of ``flagged`` beats among the beats of the last ``window_s`` s
    (beats later than ``t - window_s`` up to and including the beat at ``t``; 0-1)."""
    times = np.asarray(times_s, dtype=np.float64)
    counted = np.concatenate(([0], np.cumsum(np.asarray(flagged, dtype=bool))))
    first = np.searchsorted(times, times - window_s, side="right")
    stop = np.arange(1, times.size + 1)
    share: np.ndarray = (counted[stop] - counted[first]) / (stop - first)
    return share


@dataclass(frozen=True)
class _Plan:
    """How a tuple of windows is computed: the distinct window lengths (one search for all
    their bounds) and, per domain, the windows, their rows among those lengths and names."""

    lengths_s: np.ndarray
    time: tuple[MetricWindow, ...]
    time_rows: list[int]
    freq: tuple[MetricWindow, ...]
    freq_rows: list[int]


@functools.lru_cache(maxsize=16)
def _plan(windows: tuple[MetricWindow, ...]) -> _Plan:
    lengths = sorted({w.window_s for w in windows})
    row = {length: i for i, length in enumerate(lengths)}
    time = tuple(w for w in windows if w.domain == "time")
    freq = tuple(w for w in windows if w.domain == "frequency")
    return _Plan(
        np.asarray(lengths, dtype=np.float64),
        time, [row[w.window_s] for w in time],
        freq, [row[w.window_s] for w in freq],
    )


def _compute(
    windows: tuple[MetricWindow, ...],
    nn_ms: np.ndarray,
    times_s: np.ndarray,
    segment: np.ndarray,
    ends_s: np.ndarray,
    rhythm_ok: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every window's metrics at ``ends_s``; HRV metrics NaN where ``rhythm_ok`` is False.

    The one path for the batch analysis and the live engine: the same kernels, on the
    whole corrected recording or on the engine's buffer at one end. Where the rhythm check
    fails everywhere (the live case of one end), the HRV metrics are not computed at all.
    """
    plan = _plan(windows)
    start, stop, full = window_bounds_kernel(times_s, nn_ms, segment, plan.lengths_s, ends_s)
    all_ok = bool(rhythm_ok.all())
    skip_hrv = not all_ok and not rhythm_ok.any()

    def wanted(w: MetricWindow) -> tuple[str, ...]:
        if skip_hrv:
            return tuple(name for name in w.names if name in RHYTHM_INDEPENDENT)
        return w.names

    values: dict[MetricWindow, dict[str, np.ndarray]] = {}
    if plan.time:
        rows = plan.time_rows
        results = time_windows(
            nn_ms, segment, start[rows], stop, full[rows],
            tuple(wanted(w) for w in plan.time), at_beats=False,
        )
        values.update(zip(plan.time, results, strict=True))
    freq = [(w, row) for w, row in zip(plan.freq, plan.freq_rows, strict=True) if wanted(w)]
    if freq:
        rows = [row for _, row in freq]
        results = frequency_windows(
            nn_ms, times_s, segment, tuple(w.window_s for w, _ in freq), ends_s, full[rows],
            tuple(wanted(w) for w, _ in freq),
        )
        values.update(zip((w for w, _ in freq), results, strict=True))
    out: dict[str, np.ndarray] = {}
    for w in windows:
        computed = values.get(w, {})
        for name, key in zip(w.names, w.keys, strict=True):
            column = computed.get(name)
            if column is None:
                column = np.full(ends_s.size, np.nan)
            elif name not in RHYTHM_INDEPENDENT and not all_ok:
                column = np.where(rhythm_ok, column, np.nan)
            out[key] = column
    return out


@dataclass(frozen=True)
class BeatAnalysis:
    """A whole recording analysed at every beat (what the engine streams, all at once).

    ``rhythm_ok`` is False where HRV is not valid: sustained ectopy (bigeminy) or an
    irregular rhythm; ``irregular`` marks the latter (None in analyses cached before it).
    ``paced`` marks a fixed-rate rhythm (as from a pacemaker; None in analyses cached before
    it): it weighs on the whole recording's validity only, not on ``rhythm_ok`` (a steady
    rhythm is no passing state, and its HRV is tiny, not misleading beat by beat).
    """

    beats: Beats
    labels: np.ndarray
    rhythm_ok: np.ndarray
    corrected: artifacts.CorrectedBeats
    metrics: dict[str, np.ndarray]  # one value per raw beat: window ending at that beat
    irregular: np.ndarray | None = None
    paced: np.ndarray | None = None


def analyse_beats(
    beats: Beats, windows: tuple[MetricWindow, ...] = DEFAULT_WINDOWS
) -> BeatAnalysis:
    """Artifacts, rhythm check and every metric at every beat of a recording (vectorised).

    Parameters
    ----------
    beats : Beats
        Timed beats of the recording.
    windows : tuple of MetricWindow
        Metrics and their windows.
    """
    labels = artifacts.detect_artifacts(beats.rr_ms, beats.segment)
    irregular = irregular_rhythm(beats.rr_ms, beats.segment)
    rhythm_ok = rhythm_valid(beats.rr_ms, labels, beats.times_s, beats.segment) & ~irregular
    corrected = artifacts.correct_artifacts(beats.rr_ms, beats.times_s, beats.segment, labels)
    metrics = _compute(
        windows, corrected.nn_ms, corrected.times_s, corrected.segment, beats.times_s, rhythm_ok
    )
    paced = fixed_rate_rhythm(beats.rr_ms, beats.segment)
    return BeatAnalysis(beats, labels, rhythm_ok, corrected, metrics, irregular, paced)


@dataclass(frozen=True, slots=True)
class BeatUpdate:
    """What the engine knows after one new beat.

    Attributes
    ----------
    index : int
        Index of the newest beat in the session (0-based).
    time_s, rr_ms, hr_bpm : float
        The newest beat: its time (s), RR (ms) and instantaneous heart rate (bpm).
    segment : int
        Its segment.
    label : int
        Its artifact label, provisional until it settles (``LOOKAHEAD_BEATS`` more beats,
        more at a segment's start: :func:`settled_reports`).
    settled_index : int
        Newest beat whose label became final with this beat (-1 if none did: the first
        beats, and a new segment's first beats, which then settle together); the metrics
        are for the window ending at that beat.
    settled_time_s : float
        Its time (s); NaN if none.
    settled_label : int
        Its final label.
    rhythm_ok : bool
        False during sustained ectopy (e.g. bigeminy) or an irregular rhythm: HRV is then
        not valid.
    metrics : dict of str to float
        Every metric for the window ending at the settled beat; NaN where not valid.
    artifact_rate : float
        Fraction of labelled-abnormal beats among the last 60 s of settled beats.
    irregular : bool
        True when the rhythm is irregular (e.g. atrial fibrillation); ``rhythm_ok`` is then
        False too.
    rhythm_judged : bool
        The irregular-rhythm check had enough beats to judge (False in the first beats of a
        segment, when a failed check cannot yet tell extra beats from an irregular rhythm).
    """

    index: int
    time_s: float
    rr_ms: float
    hr_bpm: float
    segment: int
    label: int
    settled_index: int
    settled_time_s: float
    settled_label: int
    rhythm_ok: bool
    metrics: dict[str, float] = field(default_factory=dict)
    artifact_rate: float = math.nan
    irregular: bool = False
    rhythm_judged: bool = True


def settled_reports(beats: Beats) -> np.ndarray:
    """The ``settled_index`` of each update the engine gives when fed ``beats`` one by one.

    Normally beat j settles when beat j + LOOKAHEAD_BEATS arrives; a new segment's first
    beats wait until it holds ``artifacts.START_BEATS`` beats (or ends), and then settle
    together: the update reports the newest of them, and those before report -1.
    """
    counts = artifacts.settled_counts(beats.rr_ms, beats.segment)
    before = np.concatenate(([0], counts[:-1]))
    reports: np.ndarray = np.where(counts > before, counts - 1, -1)
    return reports


class StreamingEngine:
    """Appends beats as they come and returns one :class:`BeatUpdate` per beat.

    Each beat costs a bounded amount of work, whatever the session length: the artifact
    labels of only the newest and the newly settled beats are computed (on a trailing buffer
    of ``CONTEXT_BEATS`` beats; a few settle at once at a segment's start), the correction of
    only those and the rhythm check of the newest of them (both look back a few beats only),
    and every metric for one window end. The
    settled labels and corrected beats are kept, so nothing is recomputed. Memory is bounded:
    the buffers keep the longest window plus the artifact context, so a 24 h session costs no
    more than a 10-minute one. No threads, no clock: a plain object.

    Parameters
    ----------
    windows : tuple of MetricWindow
        Metrics and their windows.
    """

    # The labels of the last LOOKAHEAD beats change as beats arrive; only settled ones are kept.
    _LOOKAHEAD = artifacts.LOOKAHEAD_BEATS
    # The labels' context; a few beats more let detect_artifacts take its fastest path.
    _TAIL = max(
        artifacts.CONTEXT_BEATS + artifacts.LOOKAHEAD_BEATS + 1, artifacts.TAIL_BUFFER_BEATS
    )
    # The correction of beat j reads beats j - REACH - 1 .. j (the EXTRA merge into a
    # reference beat looks one further back).
    _CORRECTION_TAIL = artifacts.CORRECTION_REACH_BEATS + 2
    # The alternation at the oldest beat of the window compares two differences: two more;
    # the irregular-rhythm check reads its own (longer) window.
    _RHYTHM_TAIL = max(RHYTHM_WINDOW_BEATS + 2, IRREGULAR_WINDOW_BEATS)
    # Beats kept before the oldest window start: the interpolation of the spectrum reads two
    # knots before it, the checks above their tails.
    _KEEP_BEATS = max(_TAIL, _CORRECTION_TAIL, _RHYTHM_TAIL) + 4
    _KEEP_S = 5.0
    _TRIM_BATCH = 256

    def __init__(self, windows: tuple[MetricWindow, ...] = DEFAULT_WINDOWS) -> None:
        self.windows = windows
        self.names = metric_names(windows)
        self._max_window_s = max(w.window_s for w in windows)
        self.reset()

    def reset(self) -> None:
        """Forget every beat."""
        self._times = GrowingArray(np.float64)
        self._rr = GrowingArray(np.float64)
        self._seg = GrowingArray(np.int64)
        self._labels = GrowingArray(np.int8)  # final labels of settled beats (buffer-aligned)
        self._nn = GrowingArray(np.float64)  # corrected beats up to the newest settled one
        self._nn_times = GrowingArray(np.float64)
        self._nn_seg = GrowingArray(np.int64)
        self._first_index = 0  # session index of the buffer's first beat
        self.count = 0  # beats seen
        self.settled = 0  # beats whose labels are final (artifacts.settled_count)
        self._run_start = 0  # session index of the newest run's first beat
        self._run_open = False  # whether the newest beat is usable (its run may go on)
        self._last_time_s = -math.inf
        self._last_segment = 0

    @property
    def lookahead(self) -> int:
        """Beats between the newest beat and the newest settled one (more for a while
        after a segment break: see :func:`settled_reports`)."""
        return self._LOOKAHEAD

    def prime(self, beats: Beats) -> None:
        """Rebuild the state after ``beats`` without replaying them one by one (a seek).

        Only the recent part of ``beats`` is kept; its labels and corrected beats come from
        the vectorised batch functions, which give what the beat-by-beat path would have
        settled (labels and corrections depend on a bounded past only).
        """
        self.reset()
        n = len(beats)
        if n == 0:
            return
        settled = artifacts.settled_counts(beats.rr_ms, beats.segment)
        settled_end = int(settled[-1])  # beats [0, settled_end) are settled
        keep_from_time = beats.times_s[max(settled_end - 1, 0)] - self._max_window_s
        keep_from_time -= self._KEEP_S
        first_needed = int(np.searchsorted(beats.times_s, keep_from_time, side="right"))
        start = max(0, first_needed - self._KEEP_BEATS)
        # Label and correct from far enough back that every kept value had its full context.
        correct_from = max(0, start - self._CORRECTION_TAIL)
        detect_from = max(0, correct_from - artifacts.CONTEXT_BEATS)
        labels = artifacts.detect_artifacts(
            beats.rr_ms[detect_from:], beats.segment[detect_from:]
        )[: max(settled_end - detect_from, 0)]
        part = slice(correct_from, settled_end)
        corrected = artifacts.correct_artifacts(
            beats.rr_ms[part], beats.times_s[part], beats.segment[part],
            labels[correct_from - detect_from :],
        )
        self._first_index = start
        for column, values in (
            (self._times, beats.times_s[start:]),
            (self._rr, beats.rr_ms[start:]),
            (self._seg, beats.segment[start:]),
            (self._labels, labels[start - detect_from :]),
        ):
            column.extend(values)
        kept = corrected.origin + correct_from >= start
        self._nn.extend(corrected.nn_ms[kept])
        self._nn_times.extend(corrected.times_s[kept])
        self._nn_seg.extend(corrected.segment[kept])
        self.count = n
        self.settled = settled_end
        self._last_time_s = float(beats.times_s[-1])
        self._last_segment = int(beats.segment[-1])
        starts, usable = artifacts.run_starts(beats.rr_ms, beats.segment)
        self._run_start, self._run_open = int(starts[-1]), bool(usable[-1])

    def push(self, beats: Beats) -> list[BeatUpdate]:
        """Append new beats; one update per beat, in order."""
        return [
            self.push_beat(float(t), float(rr), int(s))
            for t, rr, s in zip(beats.times_s, beats.rr_ms, beats.segment, strict=True)
        ]

    def push_beat(self, time_s: float, rr_ms: float, segment: int) -> BeatUpdate:
        """Append one beat and compute its update.

        Raises
        ------
        TrmBioError
            If the beat time is not finite, or the time or segment id goes backwards.
        """
        # The one check of the buffers' invariants: the kernels below trust them.
        if not math.isfinite(time_s) or (
            self.count and (time_s < self._last_time_s or segment < self._last_segment)
        ):
            raise TrmBioError(
                f"beat times must be finite and neither times nor segment ids may decrease "
                f"(got {time_s} s, segment {segment}, after {self._last_time_s} s, "
                f"segment {self._last_segment})."
            )
        if not self.count or segment != self._last_segment or not self._run_open:
            self._run_start = self.count
        self._run_open = math.isfinite(rr_ms) and rr_ms > 0
        self._last_time_s, self._last_segment = time_s, segment
        self._times.append(time_s)
        self._rr.append(rr_ms)
        self._seg.append(segment)
        index = self.count
        self.count += 1

        times, rr, seg = self._times.view, self._rr.view, self._seg.view
        size = rr.size
        tail_start = max(0, size - self._TAIL)
        tail_seg = seg[tail_start:] if seg[tail_start] != segment else None
        # A new segment's first beats wait for its first START_BEATS: then several settle.
        settled_from = self.settled
        self.settled = int(artifacts.settled_count(self.count, self._run_start, self._run_open))
        wanted = max(self._LOOKAHEAD + 1, self.count - settled_from)
        tail_labels = artifacts.detect_artifacts(rr[tail_start:], tail_seg, last_beats=wanted)
        provisional = int(tail_labels[-1])
        settled_index = self.settled - 1 if self.settled > settled_from else -1
        metrics = dict.fromkeys(self.names, math.nan)
        settled_time = math.nan
        settled_label = int(artifacts.NORMAL)
        rhythm_ok = True
        irregular = False
        judged = False
        artifact_rate = math.nan
        if settled_index >= 0:
            pos = settled_index - self._first_index  # buffer position of the settled beat
            for j in range(settled_from - self._first_index, pos + 1):
                self._labels.append(tail_labels[j - tail_start])
                self._correct(j)
            labels = self._labels.view
            settled_label = int(labels[pos])
            settled_time = float(times[pos])
            lo = max(0, pos + 1 - RHYTHM_WINDOW_BEATS - 2)
            rhythm_ok = rhythm_valid_last(rr[lo : pos + 1], labels[lo:], seg[lo : pos + 1])
            lo = max(0, pos + 1 - IRREGULAR_WINDOW_BEATS)
            irregular = irregular_rhythm_last(rr[lo : pos + 1], seg[lo : pos + 1])
            judged = irregular_judged_last(rr[lo : pos + 1], seg[lo : pos + 1])
            rhythm_ok = rhythm_ok and not irregular
            ends = np.array([settled_time])
            ok = np.array([rhythm_ok])
            nn, nn_times, nn_seg = self._nn.view, self._nn_times.view, self._nn_seg.view
            computed = _compute(self.windows, nn, nn_times, nn_seg, ends, ok)
            for name, values in computed.items():
                metrics[name] = float(values[0])
            recent_from = int(
                np.searchsorted(times[: pos + 1], settled_time - ARTIFACT_WINDOW_S, "right")
            )
            recent = labels[recent_from:]
            artifact_rate = float(np.count_nonzero(recent)) / recent.size
            self._trim(settled_time)
        return BeatUpdate(
            index=index,
            time_s=time_s,
            rr_ms=rr_ms,
            hr_bpm=60_000.0 / rr_ms,
            segment=segment,
            label=provisional,
            settled_index=settled_index,
            settled_time_s=settled_time,
            settled_label=settled_label,
            rhythm_ok=rhythm_ok,
            metrics=metrics,
            artifact_rate=artifact_rate,
            irregular=irregular,
            rhythm_judged=judged,
        )

    def _correct(self, pos: int) -> None:
        """Append the corrected beat(s) of the newly settled beat at buffer position pos."""
        times, rr, seg, labels = self._times.view, self._rr.view, self._seg.view, self._labels.view
        lo = max(0, pos + 1 - self._CORRECTION_TAIL)
        if labels[pos] == artifacts.NORMAL and (
            pos == 0 or labels[pos - 1] not in (artifacts.EXTRA, artifacts.ECTOPIC)
        ):
            # A NORMAL beat (so a usable value) that follows no EXTRA beat (merged into it)
            # and no ECTOPIC one (it starts at the displaced beat) is neither merged nor
            # replaced: correct_artifacts keeps it as it is, whatever the labels before it
            # (they only pick the values that replace flagged beats); skip the call.
            self._nn.append(rr[pos])
            self._nn_times.append(times[pos])
            self._nn_seg.append(seg[pos])
            return
        corrected = artifacts.correct_artifacts(
            rr[lo : pos + 1], times[lo : pos + 1], seg[lo : pos + 1], labels[lo:]
        )
        new = corrected.origin == pos - lo
        self._nn.extend(corrected.nn_ms[new])
        self._nn_times.extend(corrected.times_s[new])
        self._nn_seg.extend(corrected.segment[new])

    def _trim(self, settled_time_s: float) -> None:
        """Drop beats no window, correction or rhythm check can reach any more."""
        times = self._times.view
        keep_from_time = settled_time_s - self._max_window_s - self._KEEP_S
        first_needed = int(np.searchsorted(times, keep_from_time, side="right"))
        drop = first_needed - self._KEEP_BEATS
        if drop > self._TRIM_BATCH:  # trim in batches: cheaper than every beat
            for column in (self._times, self._rr, self._seg, self._labels):
                column.drop_left(drop)
            self._first_index += drop
            nn_times = self._nn_times.view
            nn_drop = int(np.searchsorted(nn_times, keep_from_time, side="right"))
            nn_drop -= self._KEEP_BEATS
            if nn_drop > 0:
                for column in (self._nn, self._nn_times, self._nn_seg):
                    column.drop_left(nn_drop)
