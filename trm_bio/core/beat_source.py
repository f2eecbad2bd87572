"""Which beats a session uses: R-peaks from the strap's ECG while it is clean, its RR otherwise.

A Polar H10 gives every heartbeat twice: as an R-peak in its ECG (found here, timed on the
strap's clock to the millisecond, about a second after the beat) and as an RR interval in
its Heart Rate Measurement packets (1/1024 s, timed by the RR timeline from the packet's
arrival, up to a few seconds late). :class:`BeatSourceSelector` merges the two into one
stream of beats for the engine, one source per stretch of time:

* **The lag between the two clocks.** The RR timeline anchors beats at packet arrival, so
  an RR beat's time is its ECG beat's time plus a lag that stays put while the timeline's
  RR-sum clock runs (it changes at a re-anchoring). Each RR beat is paired with the ECG
  beats whose interval equals its own within ``rr_tolerance_ms`` and whose time lies
  ``lag_range_s`` before it; the lag is the densest cluster (``lag_cluster_s`` wide) of
  those differences over the last ``lag_memory_s``. True pairs agree to a few milliseconds,
  pairs a beat or more apart spread with the rhythm's variability, so the true lag stands
  out (a cluster near the current lag is preferred, so it does not jump to a neighbour;
  the first lag only once it has ``lag_first_pairs`` pairs and twice those of any other,
  as in bigeminy pairs a cycle apart match too). The lag cannot be much below 0: the
  timeline times a beat no earlier than the packet that carried it arrived. RR beats are
  then placed at their time minus the lag: on the ECG's clock.
* **One source per stretch.** While the detector calls the ECG clean, ECG beats are used
  and RR beats only feed the lag. When the ECG turns bad (contact lost, noise) or stops
  coming, the RR beats after the last ECG beat take over (the ones already received
  first). When the ECG is clean again, its beats are used from the moment they overlap the
  RR beats already given (an ECG beat within ``match_s`` of the last RR beat), so no
  stretch is left uncovered, and not before it has been clean for ``rejoin_after_s`` (a
  strap that is noisy on and off would switch back and forth); if no RR beat arrives
  for ``rejoin_wait_s``, the ECG is taken at once. An RR beat and an ECG beat within
  ``match_s`` of each other are the same beat: at a switch the second is dropped, so there
  is never a double beat.
* **The beat clock never steps back.** If beats already given were timed later than the
  new source times the same moments (RR beats given before the lag was known are late by
  it), the new source's beats are delayed by the difference, which is then slewed away by
  ``slew`` of each interval: every interval still appears at least ``1 - slew`` of its
  length, and the clock converges to the ECG's within a few beats.
* A beat whose start does not meet the previous beat given (a beat neither source has, a
  link break) starts a new segment. With no ECG at all, the RR beats pass through
  unchanged: same times, same segments.

Pure and deterministic: the same beats and statuses in the same order give the same
output, so a replay of the stored frames and packets gives the live beats bit for bit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from trm_bio.core.timeline import Beats

ECG_SOURCE = "ECG"
RR_SOURCE = "strap RR"
#: Why the RR took over when no ECG came for a while (frames lost, a PMD drop-out).
ECG_STOPPED = "ECG stopped coming: its frames are not arriving"


@dataclass(frozen=True, slots=True)
class SourceChange:
    """The beats come from ``source`` from beat-clock time ``time_s`` (s) on, for ``reason``."""

    time_s: float
    source: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BeatSourceConfig:
    """Bounds of the selection (seconds unless named otherwise); see the module doc."""

    match_s: float = 0.15
    lag_range_s: tuple[float, float] = (-0.25, 5.0)
    rr_tolerance_ms: float = 12.0
    lag_cluster_s: float = 0.010
    lag_near_s: float = 0.25
    lag_min_pairs: int = 5
    lag_first_pairs: int = 8
    lag_memory_s: float = 20.0
    rejoin_wait_s: float = 5.0
    rejoin_after_s: float = 3.0
    ecg_stale_s: float = 2.0
    slew: float = 0.1
    max_rr_ms: float = 3000.0


@dataclass
class SelectorOutput:
    """What one input produced: beats for the engine and changes of source."""

    beats: Beats = field(default_factory=Beats.empty)
    changes: list[SourceChange] = field(default_factory=list)


class BeatSourceSelector:
    """Merges ECG beats and RR beats into one stream (see module doc).

    Parameters
    ----------
    config : BeatSourceConfig, optional
        Tolerances and waits.
    """

    def __init__(self, config: BeatSourceConfig | None = None) -> None:
        self.config = config or BeatSourceConfig()
        self.mode = RR_SOURCE  # the source whose new beats are given
        self.lag_s: float | None = None  # RR timeline time minus ECG time of the same beat
        self._rr_lag_s = 0.0  # the lag RR beats are given with: fixed while they are given
        self.segment = -1
        self.ecg_seen = False
        self._lag_samples: deque[tuple[float, float]] = deque()  # (RR beat time, lag)
        self._lag_counted = 0  # how many samples the lag was last found from
        self._ecg_recent: deque[tuple[float, float]] = deque()  # (time, interval ms)
        self._rr_recent: deque[tuple[float, float]] = deque()  # (RR timeline time, RR ms)
        self._rr_pending: deque[tuple[float, float, bool]] = deque()  # RR beats not given
        self._ecg_pending: list[tuple[float, float]] = []  # clean ECG beats not given
        self._prev_ecg_s: float | None = None
        self._rr_prev_segment: int | None = None
        self._ecg_until_s = -math.inf  # beat-clock time of the newest ECG sample
        self._ecg_ok_since_s: float | None = None
        self._rr_seen_s = -math.inf  # when the newest RR beat arrived
        # The newest beat given.
        self._last_source: str | None = None
        self._last_out_s = -math.inf
        self._last_true_s = -math.inf  # its time on the ECG's clock (ECG beats)
        self._last_raw_s = -math.inf  # its RR timeline time (RR beats)
        self._break = False
        self._delay_s = 0.0  # the slewed delay (see module doc)
        self._out_t: list[float] = []
        self._out_rr: list[float] = []
        self._out_seg: list[int] = []
        self._changes: list[SourceChange] = []

    def prime_rr(self, beats: Beats) -> None:
        """Take the state RR beats given one by one would leave (a replay's seek without ECG)."""
        if not len(beats):
            return
        t, seg = float(beats.times_s[-1]), int(beats.segment[-1])
        self.segment = seg
        self._rr_prev_segment = seg
        self._last_source = RR_SOURCE
        self._last_out_s = self._last_true_s = self._last_raw_s = t

    # -- inputs --------------------------------------------------------------------------
    def break_segment(self) -> None:
        """The link broke: the next beat given starts a new segment."""
        self._break = True
        self._prev_ecg_s = None
        self._ecg_pending.clear()

    def push_rr(self, beats: Beats, now_s: float) -> SelectorOutput:
        """RR beats from the timeline, arrived at beat-clock time ``now_s`` (s)."""
        for t, rr, seg in zip(
            beats.times_s.tolist(), beats.rr_ms.tolist(), beats.segment.tolist(), strict=True
        ):
            continues = seg == self._rr_prev_segment
            self._rr_prev_segment = seg
            self._rr_seen_s = now_s
            if self.ecg_seen:
                self._pair_rr(t, rr)
                self._rr_recent.append((t, rr))
                self._forget(self._rr_recent, t)
                self._update_lag(t)
            if self.mode == RR_SOURCE:
                self._give_rr(t, rr, continues)
                continue
            self._rr_pending.append((t, rr, continues))
            lag = self.lag_s if self.lag_s is not None else self.config.lag_range_s[1]
            if t - lag > self._ecg_until_s + self.config.ecg_stale_s:
                self._to_rr(ECG_STOPPED)
        self._prune_rr_pending()
        return self._output()

    def push_ecg(
        self,
        times_s: np.ndarray,
        ok: bool,
        reason: str,
        until_s: float,
        now_s: float,
    ) -> SelectorOutput:
        """ECG beats confirmed by one chunk, and the detector's verdict after it.

        Parameters
        ----------
        times_s : ndarray
            New R-peak times on the beat clock (s), increasing.
        ok : bool
            Whether the ECG is clean (its beats can be trusted).
        reason : str
            The detector's sentence when it is not (why the RR take over).
        until_s : float
            Beat-clock time of the chunk's last sample (s).
        now_s : float
            Beat-clock time the chunk arrived (s).
        """
        cfg = self.config
        self.ecg_seen = True
        self._ecg_until_s = max(self._ecg_until_s, until_s)
        for t in np.asarray(times_s, dtype=np.float64).tolist():
            prev = self._prev_ecg_s
            self._prev_ecg_s = t
            rr = (t - prev) * 1000.0 if prev is not None else math.nan
            if not 0.0 < rr <= cfg.max_rr_ms:
                rr = math.nan
            if not ok:
                continue
            if rr == rr:
                self._pair_ecg(t, rr)
                self._ecg_recent.append((t, rr))
                self._forget(self._ecg_recent, t)
            if self.mode == ECG_SOURCE:
                self._give_ecg(t, rr)
            else:
                self._ecg_pending.append((t, rr))
        if self._ecg_recent:
            self._update_lag(self._ecg_recent[-1][0] + (self.lag_s or 0.0))
        if not ok:
            self._ecg_pending.clear()
            self._ecg_ok_since_s = None
            if self.mode == ECG_SOURCE:
                self._to_rr(reason)
        else:
            if self._ecg_ok_since_s is None:
                self._ecg_ok_since_s = now_s
            if self.mode == RR_SOURCE:
                self._try_ecg(now_s)
        return self._output()

    # -- switching -----------------------------------------------------------------------
    def _to_rr(self, reason: str) -> None:
        """Fall back on the RR: those after the last beat given, received ones first."""
        self.mode = RR_SOURCE
        self._rr_lag_s = self.lag_s or 0.0
        self._changes.append(
            SourceChange(self._last_out_s if self._last_source else 0.0, RR_SOURCE, reason)
        )
        pending = list(self._rr_pending)
        self._rr_pending.clear()
        for t, rr, continues in pending:
            self._give_rr(t, rr, continues)

    def _try_ecg(self, now_s: float) -> None:
        """Take the ECG back once its clean beats meet the RR beats already given."""
        cfg = self.config
        pending = self._ecg_pending
        if not pending:
            return
        cursor = self._cursor_s()
        rr_silent = now_s - self._rr_seen_s >= cfg.rejoin_wait_s and (
            self._ecg_ok_since_s is not None and now_s - self._ecg_ok_since_s >= cfg.rejoin_wait_s
        )
        held = self._ecg_ok_since_s is None or now_s - self._ecg_ok_since_s < cfg.rejoin_after_s
        if cursor is None or rr_silent:
            ready = True
        elif held:
            ready = False  # clean again for too short a time: a noisy strap would flap
        elif self.lag_s is None:
            ready = False  # the RR cannot be placed on the ECG's clock yet: keep them
        else:
            ready = pending[0][0] <= cursor + cfg.match_s and pending[-1][0] >= cursor - cfg.match_s
        if not ready:
            # Keep only what may still meet the RR: beats well before them are covered.
            if cursor is not None and self.lag_s is not None:
                self._ecg_pending = [p for p in pending if p[0] >= cursor - 2.0 * cfg.match_s]
            return
        self.mode = ECG_SOURCE
        self._rr_pending.clear()
        self._ecg_pending = []
        self._changes.append(SourceChange(math.nan, ECG_SOURCE, ""))  # timed at its first beat
        for t, rr in pending:
            self._give_ecg(t, rr)

    # -- giving beats ----------------------------------------------------------------------
    def _cursor_s(self) -> float | None:
        """The newest beat given, on the ECG's clock (None: none given)."""
        if self._last_source is None:
            return None
        if self._last_source == RR_SOURCE:
            return self._last_raw_s - (self.lag_s or 0.0)
        return self._last_true_s

    def _give_rr(self, t_raw: float, rr_ms: float, continues: bool) -> None:
        cfg = self.config
        if self._last_source == RR_SOURCE:
            # One lag for a whole stretch of RR beats: their spacing stays their RR.
            t_given = t_raw - self._rr_lag_s
            self._give(t_given, rr_ms, continues and not self._break, RR_SOURCE, t_raw)
            return
        t_true = t_raw - (self.lag_s or 0.0)
        self._rr_lag_s = self.lag_s or 0.0
        cursor = self._cursor_s()
        if cursor is not None and t_true <= cursor + cfg.match_s:
            return  # the ECG already gave this beat
        meets = cursor is not None and abs(t_true - rr_ms / 1000.0 - cursor) <= cfg.match_s
        self._give(t_true, rr_ms, meets and not self._break, RR_SOURCE, t_raw)

    def _give_ecg(self, t: float, rr_ms: float) -> None:
        cfg = self.config
        cursor = self._cursor_s()
        if self._last_source != ECG_SOURCE and cursor is not None and t <= cursor + cfg.match_s:
            return  # the RR already gave this beat
        if rr_ms != rr_ms:
            return  # no beat before it: it only starts the next interval
        meets = cursor is not None and abs(t - rr_ms / 1000.0 - cursor) <= cfg.match_s
        self._give(t, rr_ms, meets and not self._break, ECG_SOURCE, t)

    def _give(self, t_true: float, rr_ms: float, continues: bool, source: str, raw: float) -> None:
        slew = self.config.slew
        if not continues or self._last_source is None:
            self.segment += 1
            self._delay_s = max(0.0, self._last_out_s - t_true) if self._last_source else 0.0
        else:
            self._delay_s = max(0.0, self._delay_s - slew * rr_ms / 1000.0)
            earliest = self._last_out_s
            if source != self._last_source:
                earliest += (1.0 - slew) * rr_ms / 1000.0
            self._delay_s = max(self._delay_s, earliest - t_true)
        t_out = t_true + self._delay_s if self._delay_s else t_true
        if source != self._last_source:
            self._timed_change(t_out, source)
        self._last_source = source
        self._last_out_s = t_out
        self._last_true_s = t_true
        self._last_raw_s = raw
        self._break = False
        self._out_t.append(t_out)
        self._out_rr.append(rr_ms)
        self._out_seg.append(self.segment)

    def _timed_change(self, t_out: float, source: str) -> None:
        """Date the change to ``source`` at its first beat, or record one (first ECG beat)."""
        for i in range(len(self._changes) - 1, -1, -1):
            change = self._changes[i]
            if change.source == source and change.time_s != change.time_s:
                self._changes[i] = SourceChange(t_out, source, change.reason)
                return
        if source == ECG_SOURCE:
            self._changes.append(SourceChange(t_out, source, ""))

    def _output(self) -> SelectorOutput:
        beats = (
            Beats(
                np.array(self._out_t, dtype=np.float64),
                np.array(self._out_rr, dtype=np.float64),
                np.array(self._out_seg, dtype=np.int64),
            )
            if self._out_t
            else Beats.empty()
        )
        changes = [c for c in self._changes if c.time_s == c.time_s]
        self._changes = [c for c in self._changes if c.time_s != c.time_s]
        self._out_t, self._out_rr, self._out_seg = [], [], []
        return SelectorOutput(beats, changes)

    # -- the lag between the RR timeline and the ECG ---------------------------------------
    def _pair_rr(self, t: float, rr: float) -> None:
        lo, hi = self.config.lag_range_s
        tol = self.config.rr_tolerance_ms
        for t_e, rr_e in self._ecg_recent:
            d = t - t_e
            if lo <= d <= hi and abs(rr - rr_e) <= tol:
                self._lag_samples.append((t, d))

    def _pair_ecg(self, t: float, rr: float) -> None:
        lo, hi = self.config.lag_range_s
        tol = self.config.rr_tolerance_ms
        for t_r, rr_r in self._rr_recent:
            d = t_r - t
            if lo <= d <= hi and abs(rr - rr_r) <= tol:
                self._lag_samples.append((t_r, d))

    def _forget(self, recent: deque[tuple[float, float]], now: float) -> None:
        horizon = now - self.config.lag_memory_s - self.config.lag_range_s[1]
        while recent and recent[0][0] < horizon:
            recent.popleft()

    def _update_lag(self, now: float) -> None:
        cfg = self.config
        horizon = now - cfg.lag_memory_s
        samples = self._lag_samples
        count = len(samples)
        while samples and samples[0][0] < horizon:
            samples.popleft()
        if len(samples) == count and count == self._lag_counted:
            return  # no pair came or went: the lag stands
        self._lag_counted = len(samples)
        if len(samples) < cfg.lag_min_pairs:
            return
        d = np.sort(np.fromiter((s[1] for s in samples), dtype=np.float64, count=len(samples)))
        counts = np.searchsorted(d, d + cfg.lag_cluster_s, "right") - np.searchsorted(
            d, d - cfg.lag_cluster_s, "left"
        )
        best = int(np.argmax(counts))
        if self.lag_s is not None:
            near = np.abs(d - self.lag_s) <= cfg.lag_near_s
            if near.any():
                near_best = int(np.flatnonzero(near)[np.argmax(counts[near])])
                if 2 * counts[near_best] >= counts[best] and counts[near_best] >= cfg.lag_min_pairs:
                    best = near_best
        if counts[best] < cfg.lag_min_pairs:
            return
        if self.lag_s is None:
            # The first lag must stand out: in a regular rhythm (bigeminy above all) pairs a
            # cycle apart match too, only less tightly; wait for more beats until it does.
            far = np.abs(d - d[best]) > 5 * cfg.lag_cluster_s
            if counts[best] < cfg.lag_first_pairs or (
                far.any() and counts[far].max() * 2 > counts[best]
            ):
                return
        cluster = d[np.abs(d - d[best]) <= cfg.lag_cluster_s]
        self.lag_s = float(np.median(cluster))

    def _prune_rr_pending(self) -> None:
        cursor = self._cursor_s()
        if cursor is None:
            return
        lag = self.lag_s or 0.0
        while self._rr_pending and self._rr_pending[0][0] - lag < cursor - 2.0:
            self._rr_pending.popleft()
