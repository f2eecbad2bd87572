"""The strap's clock on the host's: where a sample stamped by a Polar strap lies on the beat clock.

A PMD data frame carries the strap's time of its last sample (ns since 2000-01-01 on the
strap's own crystal); the host stamps the frame's arrival (monotonic ns). For every frame,
``d = host_ns - strap_ns`` is the clock offset plus that frame's transit (radio interval,
the strap's buffering, the host's scheduling): transit is never negative, so the smallest
``d`` is the offset plus the shortest transit, the latency-free estimate (Paxson's minimum
filter, as NTP's clock filter uses). The estimate:

* Frames are grouped in blocks of ``block_s`` of strap time; each block keeps its minimum
  ``d`` (the frame that came fastest).
* The drift between the two crystals (tens of ppm: milliseconds a minute) is the slope of a
  least-squares line through the minima of ``drift_bin_s`` bins (each the fastest of a few
  hundred frames, so within a millisecond or two of the floor) over the last
  ``drift_window_s``, bounded to ``max_drift_ppm``; with fewer than ``min_drift_bins``
  whole bins it is taken as 0 (a slope through noisier minima would err by more than the
  drift it corrects).
* The offset at strap time ``s`` is the lower envelope of the block minima of the last
  ``window_s`` carried to ``s`` along that slope: ``min_b (d_b + slope * (s - s_b))``. A
  minimum over a window follows the drift with a lag of at most ``window_s`` times the
  residual drift (50 ppm over 30 s: 1.5 ms); carrying each block along the slope removes
  most of it. A block whose minimum is far above the others (frames delayed by a stall)
  never wins, and a clock that jumps (a strap reset) is followed once its old blocks leave
  the window.

A beat found at strap time ``s`` is then at host time ``s + offset(s)``: the earliest time
the host could have known it, consistent with the RR timeline, which anchors beats at the
arrival of the packet that carried them. Pure: no clock reads; the same frames give the same
estimates, so a replay maps every beat to the same time, bit for bit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class StrapClockConfig:
    """Bounds of the estimate (seconds unless named otherwise)."""

    block_s: float = 2.0
    window_s: float = 30.0
    drift_bin_s: float = 30.0
    drift_window_s: float = 600.0
    min_drift_bins: int = 4
    max_drift_ppm: float = 300.0


class StrapClock:
    """Strap-to-host offset from frames' arrival times (see module doc).

    Parameters
    ----------
    config : StrapClockConfig, optional
        Block and window lengths, drift bounds.
    """

    def __init__(self, config: StrapClockConfig | None = None) -> None:
        self.config = config or StrapClockConfig()
        # (strap ns of the block's fastest frame, its host - strap ns), oldest first.
        self._blocks: deque[tuple[int, int]] = deque()
        self._block_start_ns: int | None = None
        self._slope = 0.0  # d(host - strap) / d(strap), dimensionless
        self._offset_ns: int | None = None
        self.frames = 0

    @property
    def known(self) -> bool:
        """Whether any frame has been seen."""
        return self._offset_ns is not None

    @property
    def offset_ns(self) -> int:
        """The current offset (host ns minus strap ns).

        Raises
        ------
        RuntimeError
            Before the first frame.
        """
        if self._offset_ns is None:
            raise RuntimeError("the strap's clock is not known before its first frame")
        return self._offset_ns

    @property
    def drift_ppm(self) -> float:
        """Estimated drift of the host clock against the strap's (ppm; 0 until known)."""
        return self._slope * 1e6

    def add(self, host_ns: int, strap_ns: int) -> None:
        """Take one frame: its host arrival time and the strap's time of its last sample (ns)."""
        cfg = self.config
        host_ns, strap_ns = int(host_ns), int(strap_ns)
        d = host_ns - strap_ns
        self.frames += 1
        block_ns = round(cfg.block_s * 1e9)
        if self._block_start_ns is None or not (
            0 <= strap_ns - self._block_start_ns < block_ns
        ):
            self._block_start_ns = strap_ns
            self._blocks.append((strap_ns, d))
            keep_from = strap_ns - round(max(cfg.window_s, cfg.drift_window_s) * 1e9)
            while self._blocks and self._blocks[0][0] < keep_from:
                self._blocks.popleft()
            self._slope = self._fit_slope(strap_ns)  # whole blocks only: once a block
        elif d < self._blocks[-1][1]:
            self._blocks[-1] = (strap_ns, d)
        self._offset_ns = self._envelope(strap_ns)

    def _fit_slope(self, now_ns: int) -> float:
        cfg = self.config
        since = now_ns - round(cfg.drift_window_s * 1e9)
        # Whole blocks only: the newest one is still filling, its minimum may still fall.
        blocks = [b for b in list(self._blocks)[:-1] if b[0] >= since]
        if not blocks:
            return 0.0
        first_ns = blocks[0][0]
        bin_ns = round(cfg.drift_bin_s * 1e9)
        bins: dict[int, tuple[int, int]] = {}
        for s_ns, d_ns in blocks:
            key = (s_ns - first_ns) // bin_ns
            if key not in bins or d_ns < bins[key][1]:
                bins[key] = (s_ns, d_ns)
        whole = [bins[k] for k in sorted(bins)][:-1]  # the newest bin is still filling
        if len(whole) < cfg.min_drift_bins:
            return 0.0
        s = np.array([b[0] - first_ns for b in whole], dtype=np.float64)
        d = np.array([b[1] - whole[0][1] for b in whole], dtype=np.float64)
        slope = float(np.polyfit(s, d, 1)[0])
        bound = cfg.max_drift_ppm * 1e-6
        return min(max(slope, -bound), bound)

    def _envelope(self, now_ns: int) -> int:
        since = now_ns - round(self.config.window_s * 1e9)
        best: int | None = None
        for i, (s_ns, d_ns) in enumerate(reversed(self._blocks)):
            if s_ns < since and i:
                break
            # In integers: an offset of 8e17 ns in float64 would keep only 128 ns steps, and
            # a receiver of the frames on another host clock must find the same times.
            carried = d_ns + round(self._slope * (now_ns - s_ns))
            best = carried if best is None else min(best, carried)
        assert best is not None  # the newest block is always there
        return best

    def host_ns(self, strap_ns: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Host times (ns) of strap times (ns), with the current offset."""
        return np.asarray(strap_ns, dtype=np.int64) + np.int64(self.offset_ns)
