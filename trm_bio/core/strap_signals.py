"""A Polar strap's ECG and accelerometer on the beat clock: R-peaks, ECG status, breathing.

The session hands every decoded PMD frame here with its host arrival time. Both streams share
the strap's clock, so every frame refines one :class:`~trm_bio.core.strap_clock.StrapClock`
(host minus strap time, see there). Then:

* **ECG** (130 Hz, µV): the samples, in mV on the strap's clock, feed the streaming R-peak
  detector (:class:`~trm_bio.core.ecg_peaks.EcgBeatDetector`); the beats it confirms and
  its verdict on the signal (clean, contact lost, noisy) go to the beat-source choice
  (:mod:`trm_bio.core.beat_source`), the beats mapped to the beat clock.
* **ACC** (200 Hz, mg): the streaming breathing estimate from chest movement
  (:mod:`trm_bio.core.accel_breathing`), whose rate replaces the estimate from heart rhythm
  while it is known.

Sample times inside a frame: spread evenly between the previous frame's stamp and this
one's when the frames follow each other (so the strap's real rate, 130.16 Hz on the H10,
is kept, as polar-ble-sdk does), else at the nominal rate before the stamp. Strap times are
counted from the first frame's stamp so that float64 keeps them to the nanosecond.

The last seconds of ECG and of the breathing trace are kept for the clinician's screen.
Pure: no clock reads, no I/O; the same frames give the same output.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from devices.pmd import DecodedFrame, PmdStream
from trm_bio.core.strap_clock import StrapClock

if TYPE_CHECKING:
    from trm_bio.core.accel_breathing import AccBreathingStream
    from trm_bio.core.ecg_peaks import EcgBeatDetector

NS_PER_S = 1_000_000_000

#: The rates trm-bio asks a strap for (Hz).
ECG_RATE_HZ = 130.0
ACC_RATE_HZ = 200.0
#: How much accelerometer signal is gathered before the breathing estimate takes it (s).
ACC_FEED_S = 1.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EcgChunk:
    """What one ECG frame gave: new beats and the signal's state after it.

    Attributes
    ----------
    beats_s : ndarray
        New R-peak times on the beat clock (s).
    ok : bool
        Whether the ECG is clean.
    message : str
        The detector's sentence for its state ("ECG clean", "ECG contact lost: ...").
    until_s : float
        Beat-clock time of the frame's last sample (s).
    """

    beats_s: FloatArray
    ok: bool
    message: str
    until_s: float


class _Trace:
    """The last ``keep_s`` of a signal on the beat clock, as chunks."""

    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._chunks: deque[tuple[FloatArray, FloatArray]] = deque()

    def add(self, t_s: FloatArray, values: FloatArray) -> None:
        if t_s.size == 0:
            return
        self._chunks.append((t_s, values))
        newest = float(t_s[-1])
        while self._chunks and float(self._chunks[0][0][-1]) < newest - self.keep_s:
            self._chunks.popleft()

    def window(self, seconds: float) -> tuple[FloatArray, FloatArray]:
        if not self._chunks:
            return np.empty(0), np.empty(0)
        t = np.concatenate([c[0] for c in self._chunks])
        v = np.concatenate([c[1] for c in self._chunks])
        keep = t >= t[-1] - seconds
        return t[keep], v[keep]

    def clear(self) -> None:
        self._chunks.clear()


class _Stamps:
    """Sample times of consecutive frames of one stream, before each frame's stamp."""

    def __init__(self, rate_hz: float) -> None:
        self.period_ns = NS_PER_S / rate_hz
        self._previous_ns: int | None = None

    def before_stamp_ns(self, stamp_ns: int, n: int) -> npt.NDArray[np.int64]:
        """Each sample's time minus the frame's stamp (ns, the last one 0)."""
        previous = self._previous_ns
        self._previous_ns = stamp_ns
        step = self.period_ns
        if previous is not None and n:
            measured = (stamp_ns - previous) / n
            if 0.5 * self.period_ns <= measured <= 1.5 * self.period_ns:
                step = measured
        return np.round((np.arange(n) - (n - 1)) * step).astype(np.int64)


class StrapSignals:
    """One strap's PMD streams for a session started at host time ``start_ns`` (ns).

    Parameters
    ----------
    start_ns : int
        Host monotonic time of beat-clock zero (ns).
    ecg_keep_s, breathing_keep_s : float
        How much ECG and breathing trace to keep for the screen (s).
    breathing : bool
        Estimate breathing (False: accelerometer frames only refine the clock, for the
        beats alone).
    """

    def __init__(
        self,
        start_ns: int,
        *,
        ecg_keep_s: float = 12.0,
        breathing_keep_s: float = 65.0,
        breathing: bool = True,
    ) -> None:
        self.start_ns = int(start_ns)
        self.estimate_breathing = breathing
        self.clock = StrapClock()
        self._origin_ns: int | None = None  # the first stamp: strap times count from it
        self._ecg_stamps = _Stamps(ECG_RATE_HZ)
        self._acc_stamps = _Stamps(ACC_RATE_HZ)
        self.detector: EcgBeatDetector | None = None
        self.breathing: AccBreathingStream | None = None
        self.breathing_rate_per_min = math.nan
        self.breathing_status = ""
        self._ecg = _Trace(ecg_keep_s)
        self._acc_waiting: list[tuple[FloatArray, FloatArray]] = []
        self._breath = _Trace(breathing_keep_s)

    def _beat_clock_s(self, strap_rel_s: FloatArray) -> FloatArray:
        """Beat-clock times (s) of strap times counted from the first stamp (s)."""
        assert self._origin_ns is not None
        base_s = (self._origin_ns + self.clock.offset_ns - self.start_ns) / NS_PER_S
        return np.asarray(base_s + strap_rel_s, dtype=np.float64)

    def _relative_s(self, frame: DecodedFrame, stamps: _Stamps) -> FloatArray:
        if self._origin_ns is None:
            self._origin_ns = frame.strap_ns
        # Python integers first: a stamp is any uint64, beyond numpy's int64.
        stamp_ns = float(frame.strap_ns - self._origin_ns)
        back_ns = stamps.before_stamp_ns(frame.strap_ns, frame.n_samples)
        return np.asarray((stamp_ns + back_ns) / NS_PER_S, dtype=np.float64)

    def ecg(self, host_ns: int, frame: DecodedFrame) -> EcgChunk:
        """Take one decoded ECG frame that arrived at ``host_ns`` (ns)."""
        self.clock.add(host_ns, frame.strap_ns)
        strap_s = self._relative_s(frame, self._ecg_stamps)
        mv = frame.samples.astype(np.float64) / 1000.0
        if self.detector is None:
            # Imported here: it needs scipy.signal (most of a second to load), and only
            # a strap that streams ECG needs it, not the app's first screen.
            from trm_bio.core.ecg_peaks import EcgBeatDetector

            self.detector = EcgBeatDetector(ECG_RATE_HZ)
        beats = self.detector.feed(strap_s, mv)
        status = self.detector.status()
        t_s = self._beat_clock_s(strap_s)
        self._ecg.add(t_s, mv)
        return EcgChunk(self._beat_clock_s(beats), status.ok, status.message, float(t_s[-1]))

    def acc(self, host_ns: int, frame: DecodedFrame) -> None:
        """Take one decoded accelerometer frame that arrived at ``host_ns`` (ns)."""
        from trm_bio.core.accel_breathing import AccBreathingStream

        self.clock.add(host_ns, frame.strap_ns)
        strap_s = self._relative_s(frame, self._acc_stamps)
        if not self.estimate_breathing:
            return
        # The estimate gives the same breaths whatever the chunks: feed it about a second at
        # a time (a tenth of the cost of frame by frame; a breath lasts several seconds).
        self._acc_waiting.append((strap_s, frame.samples.astype(np.float64)))
        if strap_s.size == 0 or strap_s[-1] - self._acc_waiting[0][0][0] < ACC_FEED_S:
            return
        t_s = np.concatenate([w[0] for w in self._acc_waiting])
        acc_mg = np.concatenate([w[1] for w in self._acc_waiting])
        self._acc_waiting = []
        if self.breathing is None:
            self.breathing = AccBreathingStream()
        update = self.breathing.feed(t_s, acc_mg)
        self.breathing_rate_per_min = float(update.latest_rate_per_min)
        self.breathing_status = update.latest_status.words
        if update.t_s.size:
            self._breath.add(self._beat_clock_s(update.t_s), update.trace_mg)

    def take(self, host_ns: int, frame: DecodedFrame) -> EcgChunk | None:
        """Take a decoded frame of either stream; the ECG's chunk, None for ACC (and for a
        frame without samples, whose stamp belongs to no sample)."""
        if frame.n_samples == 0:
            return None
        if frame.stream is PmdStream.ECG:
            return self.ecg(host_ns, frame)
        self.acc(host_ns, frame)
        return None

    def ecg_window(self, seconds: float = 10.0) -> tuple[FloatArray, FloatArray]:
        """The last ``seconds`` of ECG: beat-clock times (s) and mV."""
        return self._ecg.window(seconds)

    def breathing_window(self, seconds: float = 60.0) -> tuple[FloatArray, FloatArray]:
        """The last ``seconds`` of the breathing trace: beat-clock times (s) and mg (NaN
        where breathing is unknown)."""
        return self._breath.window(seconds)
