"""From packets to beats on the beat clock.

A strap sends RR intervals without timestamps, about once a second, each RR up to a few
seconds old. The timeline gives each RR the time of the beat that ended it:

* The first packet of a segment is anchored at its arrival: its last RR ends at the
  packet's host time and earlier RR are summed backwards from there.
* After that the beat clock is the running sum of RR (the strap's own, precise clock), so
  beat-to-beat timing is exact and independent of radio jitter.
* The beat clock is re-anchored to the host clock only when the two drift apart beyond a
  bound: when beats would lie in the future of the packet that carried them (clock ahead),
  or when every recent packet arrived more than ``behind_bound_s`` after its last beat
  (clock behind, e.g. the strap's crystal runs fast, or a few beats went missing while the
  strap had no skin contact).
* A disconnect, a long silence (``gap_bound_s``) or an RR that cannot be a heartbeat
  (``rr <= 0``: junk right after connecting; ``rr > max_rr_ms``: a pause in recording)
  starts a new segment. Segment ids let every window and every successive difference stop
  at a gap.

:class:`Timeline` is a plain object fed one packet at a time (live, replay); the
functions below apply it to whole recordings so batch and live share one code path.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

NS_PER_S = 1_000_000_000


def host_ns_at(start_ns: int, time_s: float) -> int:
    """Host monotonic time (ns) of beat-clock time ``time_s`` (s) in a session started at
    ``start_ns`` (ns)."""
    return start_ns + round(time_s * NS_PER_S)


@dataclass(frozen=True, slots=True)
class Beats:
    """Parallel beat arrays (see module doc).

    Attributes
    ----------
    times_s : ndarray of float64
        Time of the beat that ends each interval, seconds from session start.
    rr_ms : ndarray of float64
        RR interval ending at that beat (ms).
    segment : ndarray of int64
        Segment id, non-decreasing; a new id follows every gap.
    """

    times_s: np.ndarray
    rr_ms: np.ndarray
    segment: np.ndarray

    def __len__(self) -> int:
        return int(self.rr_ms.size)

    @staticmethod
    def empty() -> Beats:
        return Beats(np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))

    @staticmethod
    def concatenate(parts: Sequence[Beats]) -> Beats:
        """Join beat batches in order."""
        if not parts:
            return Beats.empty()
        return Beats(
            np.concatenate([p.times_s for p in parts]),
            np.concatenate([p.rr_ms for p in parts]),
            np.concatenate([p.segment for p in parts]).astype(np.int64, copy=False),
        )


@dataclass(frozen=True, slots=True)
class TimelineConfig:
    """Bounds of the timeline (seconds unless named otherwise).

    Parameters
    ----------
    ahead_bound_s : float
        Re-anchor when the beat clock puts a packet's last beat this far after its arrival.
    behind_bound_s : float
        Re-anchor when every one of the last ``behind_packets`` packets arrived more than this
        after its last beat.
    behind_packets : int
        How many packets with RR the behind rule looks at.
    gap_bound_s : float
        A packet whose last beat is this far behind its arrival starts a new segment: beats
        are missing, not just late (a scan can pause a stream for 4-5 s; beyond that the
        strap has lost them).
    max_rr_ms : float
        Longer RR are not heartbeats (recording pauses); they end the segment.
    """

    ahead_bound_s: float = 0.5
    behind_bound_s: float = 1.5
    behind_packets: int = 20
    gap_bound_s: float = 8.0
    max_rr_ms: float = 3000.0


class Timeline:
    """Gives RR intervals their beat times, one packet at a time.

    Parameters
    ----------
    start_ns : int
        Host monotonic time of the session start (ns); beat times count from it.
    config : TimelineConfig, optional
        Re-anchoring and gap bounds.
    """

    def __init__(self, start_ns: int, config: TimelineConfig | None = None) -> None:
        self.start_ns = int(start_ns)
        self.config = config or TimelineConfig()
        self.segment = -1
        self.reanchors = 0
        self.dropped_rr = 0
        self._last_beat_s: float | None = None  # None: the next packet anchors a new segment
        self._segment_floor_s: float | None = None  # the last beat ever timed
        self._lags_s: deque[float] = deque(maxlen=self.config.behind_packets)

    def break_segment(self) -> None:
        """Start a new segment with the next beat (a disconnect, contact lost, a pause)."""
        self._last_beat_s = None
        self._lags_s.clear()

    def push(self, host_ns: int, rr_ms: Sequence[float]) -> Beats:
        """Time the RR of one packet.

        Parameters
        ----------
        host_ns : int
            Host monotonic arrival time of the packet (ns).
        rr_ms : sequence of float
            The packet's RR intervals, oldest first (ms).

        Returns
        -------
        Beats
            The new beats (possibly none).
        """
        arrival_s = (int(host_ns) - self.start_ns) / NS_PER_S
        rr = np.asarray(rr_ms, dtype=np.float64)
        if rr.size == 0:
            if (
                self._last_beat_s is not None
                and arrival_s - self._last_beat_s > self.config.gap_bound_s
            ):
                # Packets keep coming but carry no RR (no skin contact): the beats are lost.
                self.break_segment()
            return Beats.empty()
        # Split the packet at RR that cannot be heartbeats; each valid run is timed alone.
        bad = ~((rr > 0) & (rr <= self.config.max_rr_ms))
        if not bad.any():
            return self._push_run(arrival_s, rr)
        self.dropped_rr += int(bad.sum())
        log.info("dropped %d RR outside (0, %g] ms", int(bad.sum()), self.config.max_rr_ms)
        # A long pause still took its time; junk (0, negative, NaN) took none we know of.
        duration_s = np.where(np.isfinite(rr) & (rr > 0), rr, 0.0) / 1000.0
        after_s = np.cumsum(duration_s[::-1])[::-1] - duration_s  # time from each beat to the last
        parts = []
        for start, stop in _valid_runs(bad):
            if start > 0:
                self.break_segment()
            parts.append(self._push_run(arrival_s - after_s[stop - 1], rr[start:stop]))
        if bad[-1]:
            self.break_segment()
        return Beats.concatenate(parts)

    def _push_run(self, arrival_s: float, rr: np.ndarray) -> Beats:
        """Time a run of valid RR whose last beat happened no later than ``arrival_s``."""
        cfg = self.config
        offsets_s = np.cumsum(rr) / 1000.0  # beat times relative to the previous beat
        previous_s = self._last_beat_s
        times: np.ndarray | None = None  # None: these beats start a new segment
        if previous_s is not None:
            times = previous_s + offsets_s
            lag_s = arrival_s - times[-1]
            if lag_s > cfg.gap_bound_s:
                self.break_segment()
                times = None
            elif lag_s < -cfg.ahead_bound_s:
                # The beat clock runs ahead of the packet that carried the beats: pull it back,
                # but never before the previous beat.
                shift = max(lag_s, (previous_s - times[0]) + 1e-3)
                times = times + shift
                self.reanchors += 1
                self._lags_s.clear()
            else:
                self._lags_s.append(lag_s)
                if (
                    len(self._lags_s) == self._lags_s.maxlen
                    and min(self._lags_s) > cfg.behind_bound_s
                ):
                    times = times + min(self._lags_s)
                    self.reanchors += 1
                    self._lags_s.clear()
        if times is None:
            self.segment += 1
            times = arrival_s - (offsets_s[-1] - offsets_s)
            self._previous_segment_end(previous_s)
            if self._segment_floor_s is not None and times[0] <= self._segment_floor_s:
                # Anchoring at arrival would put beats before the previous segment's last beat
                # (junk inside a packet, a burst after a pause): keep time moving forward.
                times = times + (self._segment_floor_s - times[0]) + 1e-3
        self._last_beat_s = float(times[-1])
        self._segment_floor_s = self._last_beat_s
        return Beats(times, rr.copy(), np.full(rr.size, self.segment, dtype=np.int64))

    def _previous_segment_end(self, previous_s: float | None) -> None:
        if previous_s is not None:
            self._segment_floor_s = previous_s


def _valid_runs(bad: np.ndarray) -> Iterable[tuple[int, int]]:
    """Half-open index ranges of the runs of valid RR in a packet."""
    start = 0
    for i in range(bad.size + 1):
        if i == bad.size or bad[i]:
            if i > start:
                yield start, i
            start = i + 1


def timeline_after(
    start_ns: int,
    host_ns: Sequence[int],
    rr_ms: Sequence[Sequence[float]],
    breaks_before: Iterable[int] = (),
    config: TimelineConfig | None = None,
) -> tuple[Timeline, Beats]:
    """Run a timeline over a recording of packets; returns it (ready for more) and the beats.

    Parameters
    ----------
    start_ns : int
        Host time of the session start (ns).
    host_ns : sequence of int
        Arrival time of each packet (ns).
    rr_ms : sequence of sequences of float
        RR intervals of each packet (ms).
    breaks_before : iterable of int
        Indices of packets that follow a disconnect (a new segment starts there).
    """
    timeline = Timeline(start_ns, config)
    breaks = set(breaks_before)
    parts = []
    for i, (t_ns, rr) in enumerate(zip(host_ns, rr_ms, strict=True)):
        if i in breaks:
            timeline.break_segment()
        beats = timeline.push(t_ns, rr)
        if len(beats):
            parts.append(beats)
    return timeline, Beats.concatenate(parts)


def beats_from_packets(
    start_ns: int,
    host_ns: Sequence[int],
    rr_ms: Sequence[Sequence[float]],
    breaks_before: Iterable[int] = (),
    config: TimelineConfig | None = None,
) -> Beats:
    """Time a whole recording of packets: the beats the live path gives, packet by packet."""
    return timeline_after(start_ns, host_ns, rr_ms, breaks_before, config)[1]


def beats_from_rr(
    rr_ms: np.ndarray, times_s: np.ndarray | None = None, max_rr_ms: float = 3000.0
) -> Beats:
    """Beats from a plain RR series (an imported file).

    Without times, beat times are the running sum of RR (vectorised). RR that cannot be a
    heartbeat (NaN, ``<= 0``, ``> max_rr_ms``) are left out and end the segment, exactly as
    the live timeline does, while the clock keeps their duration.

    With times (a strap log stamps each RR with when it was received, not when the beat
    happened), each row is fed to the :class:`Timeline` as a packet arriving at that time,
    so beats get the RR-sum clock and the file's clock only re-anchors it and marks gaps.

    Parameters
    ----------
    rr_ms : ndarray
        RR intervals (ms).
    times_s : ndarray, optional
        Time each interval was logged (s).
    max_rr_ms : float
        Longest RR taken as a heartbeat (ms).
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if times_s is not None:
        host_ns = np.round(np.asarray(times_s, dtype=np.float64) * NS_PER_S).astype(np.int64)
        config = TimelineConfig(max_rr_ms=max_rr_ms)
        return beats_from_packets(0, host_ns.tolist(), rr[:, None].tolist(), config=config)
    times = np.cumsum(np.where(np.isfinite(rr) & (rr > 0), rr, 0.0)) / 1000.0
    bad = ~(np.isfinite(rr) & (rr > 0) & (rr <= max_rr_ms))
    segment = np.cumsum(bad)  # every dropped value opens a new segment
    keep = ~bad
    seg = segment[keep]
    # Renumber segments 0, 1, 2 ... without holes.
    if seg.size:
        seg = np.cumsum(np.r_[0, np.diff(seg) > 0])
    return Beats(times[keep], rr[keep], seg.astype(np.int64))


def beats_pinned_to_arrivals(
    start_ns: int,
    host_ns: Sequence[int],
    rr_ms: Sequence[Sequence[float]],
    config: TimelineConfig | None = None,
) -> Beats:
    """Time a finished recording as :func:`beats_from_packets` does, then move each stretch of
    one beat clock (a segment, between re-anchors) so that its beats lie as late as they can
    while no beat comes after the packet that carried it.

    Live, a stretch is anchored at its first packet, which can arrive up to a second after
    its last beat, and the clock may run up to ``ahead_bound_s`` ahead before it is pulled
    back: beats can sit half a second or more off the host clock. Afterwards every packet
    of the stretch is known, and the smallest lag between a packet and its last beat is the
    best estimate of where the beats really were: what a comparison with something timed on
    the host clock (a pacer) needs.
    """
    timeline = Timeline(start_ns, config)
    parts: list[Beats] = []
    pieces: list[np.ndarray] = []
    lags: dict[tuple[int, int], float] = {}
    for packet_ns, rr in zip(host_ns, rr_ms, strict=True):
        beats = timeline.push(packet_ns, rr)
        if beats.times_s.size == 0:
            continue
        # Beats pushed after a re-anchor belong to the new stretch of the clock.
        piece = (int(beats.segment[-1]), timeline.reanchors)
        arrival_s = (int(packet_ns) - timeline.start_ns) / NS_PER_S
        lags[piece] = min(lags.get(piece, math.inf), arrival_s - float(beats.times_s[-1]))
        parts.append(beats)
        pieces.append(np.full(beats.times_s.size, len(lags) - 1))
    if not parts:
        return Beats.empty()
    beats = Beats.concatenate(parts)
    piece_of = np.concatenate(pieces)
    times = beats.times_s.copy()
    floor_s = -math.inf
    for index, shift in enumerate(lags.values()):
        inside = piece_of == index
        moved = times[inside] + shift
        if moved[0] > floor_s:  # never before the previous stretch's last beat
            times[inside] = moved
        floor_s = float(times[inside][-1])
    return Beats(times, beats.rr_ms, beats.segment)
