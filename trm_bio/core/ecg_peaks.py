"""R-peaks from a single-lead ECG, causally: Pan & Tompkins (1985), batch and streaming alike.

The method is Pan & Tompkins' (IEEE Trans Biomed Eng 32(3):230-236, 1985), as their paper
gives it, with the band-pass made a Butterworth filter so that it works at any sampling rate
(the Polar H10 sends 130 Hz; their filters assume 200 Hz):

1. Band-pass 5-15 Hz (the QRS energy), derivative, square, and a 150 ms moving-window
   integration (MWI): all causal filters whose state carries from one chunk to the next.
2. Candidates: the MWI's local maxima, each the highest within 150 ms on either side; no
   two beats closer than 200 ms (the refractory period).
3. Two running levels, of signal peaks (SPKI) and of noise peaks (NPKI), each moved an
   eighth of the way to every new peak of its kind; a candidate above THRESHOLD1 =
   NPKI + 0.25 (SPKI - NPKI) is a beat. One within 360 ms of the previous beat whose
   steepest slope is under half the previous beat's is a T wave.
4. Search-back: when no beat came for 166 % of the mean of the last eight regular RR
   intervals, the highest noise candidate since the last beat that stands above
   THRESHOLD2 = THRESHOLD1 / 2 is taken as the missed beat (SPKI then moves a quarter).
   The thresholds are halved while the rhythm is irregular, as in the paper. Not in the
   paper: when no beat came for 6 s and the search-back finds nothing, SPKI moves halfway
   to NPKI at each further candidate, so a QRS that shrank (a strap that slipped) or
   levels an artifact lifted are relearnt, while a pause of a few seconds keeps the levels
   and its P waves are not taken for beats.

Each beat's time is the R wave's extremum on the raw ECG, within 75 ms of the band-passed
QRS's extremum moved back by the band-pass's group delay: the maximum or the minimum, the
deflection the recent beats had unless the other is twice as large (a QRS whose R and S
are alike must not be timed on one, then on the other; a ventricular beat of the other
shape is timed on its own). It is refined between samples by a parabola through the
extremum and its two neighbours, then read off the sample times given: the strap's clock.

The rules run on the times of the MWI peaks, as in the paper, so the choice of the R wave's
deflection never changes which beats are found. A candidate is decided once the ECG 150 ms
past its MWI peak has arrived, about 0.3 s after the R wave (``decision_lag_s``); a beat
found by search-back comes when the search-back runs, by its nature later, and the beats of
the first ``LEARN_S`` wait for the levels to be learnt from them.

:class:`EcgBeatDetector` takes chunks of any size and gives the same beats as
:func:`detect_r_peaks` on the whole signal, since both run the same code on the same
samples: filter states carry over, candidates are looked for only where their whole
neighbourhood has arrived, and every decision depends on earlier samples only.

A gap in the sample times (a lost frame) or a sample that is not a number starts the
filters afresh after it; the levels are kept, no interval spans the gap.

:func:`ecg_status` says in plain words when the ECG cannot give beats: a flat line (no skin
contact), a clipped or implausibly large signal, or noise, judged with the signal quality
indices of Li, Clifford & Mark (Physiol Meas 29:15-32, 2008); :func:`ecg_status_along` gives
the same judgement for every window of a whole recording at once (trm_bio/core/ecg_quality.py).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.signal
from numpy.typing import ArrayLike, NDArray

Float = NDArray[np.float64]
Int = NDArray[np.int64]

#: Band-pass of the QRS energy (Hz), a Butterworth of this order (each edge).
BAND_HZ = (5.0, 15.0)
BAND_ORDER = 2
#: Moving-window integration, about the widest QRS (Pan & Tompkins: 150 ms).
INTEGRATION_S = 0.150
#: No two beats closer than this (s).
REFRACTORY_S = 0.200
#: A candidate is the MWI's highest point within this (s) on either side.
CANDIDATE_REACH_S = 0.150
#: A candidate this soon after a beat (s) may be its T wave.
T_WAVE_S = 0.360
#: ... and is one when its steepest slope is under this share of the beat's.
T_WAVE_SLOPE_SHARE = 0.5
#: The levels are first set from this much ECG (s).
LEARN_S = 2.0
#: Search back when no beat came for this many mean RR intervals.
SEARCH_BACK_RR = 1.66
#: A search-back that finds nothing when no beat came for ``RELEARN_AFTER_S`` brings the
#: signal level this far back towards the noise level: a QRS that shrank must not be lost
#: for good, yet a pause must not lower the levels to its P waves.
SEARCH_BACK_DECAY = 0.5
RELEARN_AFTER_S = 6.0
#: The search-back looks this far back at most (s): the longest RR the timeline takes as a
#: heartbeat (``TimelineConfig.max_rr_ms``).
SEARCH_BACK_MAX_S = 3.0
#: The interval assumed before the first eight beats (s): 60 /min.
FIRST_RR_S = 1.0
#: RR averages: the last eight intervals; "regular" ones lie in 92-116 % of their mean.
RR_HISTORY = 8
REGULAR_RR = (0.92, 1.16)
#: The raw R wave is looked for this far (s) on either side of the band-passed extremum
#: moved back by the band-pass's group delay.
RAW_SEARCH_S = 0.075
#: The R wave is the deflection (up or down) the recent beats had, unless the other one of a
#: beat is this many times larger (a ventricular beat of another shape): a QRS whose R and
#: S are alike must not be timed on one, then on the other.
SWITCH_RATIO = 2.0
#: Each beat moves the running size of the upward and downward deflections this far.
LEVEL_WEIGHT = 0.125
#: A step in the sample times over this many sample periods is a gap (lost samples).
GAP_PERIODS = 2.5

#: Window the signal quality is judged over (s).
STATUS_WINDOW_S = 4.0
#: Peak-to-peak under this (mV) is a flat line: electrodes off the skin.
FLAT_MV = 0.05
#: Peak-to-peak over this (mV) is no heart: chest ECG QRS complexes are 0.5-4 mV.
MAX_PLAUSIBLE_MV = 10.0
#: This share of samples sitting exactly on the window's maximum or minimum is clipping.
SATURATED_SHARE = 0.03
#: Kurtosis under this is noise (kSQI: an ECG's is above 5, Li et al. 2008; 4 s windows of
#: the MIT-BIH records here at 130 Hz: 99.5 % above 5.3, the Polar file's all above 6.8).
MIN_KURTOSIS = 5.0
#: Share of the 5-40 Hz power in 5-15 Hz under this is muscle or electrode noise (pSQI:
#: Li et al. 2008 took 0.5; 4 s windows at 130 Hz run lower: MIT-BIH 99.5 % above 0.47, the
#: Polar file all above 0.43; white noise of 0.2 mV on record 100 brings it to 0.40).
MIN_QRS_POWER_SHARE = 0.4
#: No beat for this long (s) while samples come: the ECG shows no heart.
NO_BEAT_S = 4.0

StatusCode = Literal["ok", "starting", "flat", "saturated", "amplitude", "noisy", "no_beats"]


@dataclass(frozen=True, slots=True)
class EcgStatus:
    """Whether the ECG can give beats, in plain words.

    Attributes
    ----------
    code : str
        ``"ok"``, ``"starting"`` (too little signal yet), ``"flat"``, ``"saturated"``,
        ``"amplitude"``, ``"noisy"`` or ``"no_beats"``.
    message : str
        One sentence for the user ("ECG contact lost: ...").
    """

    code: StatusCode
    message: str

    @property
    def ok(self) -> bool:
        """True when beats from the ECG can be trusted."""
        return self.code == "ok"


_MESSAGES: dict[StatusCode, str] = {
    "ok": "ECG clean",
    "starting": "ECG starting",
    "flat": "ECG contact lost: the signal is flat (moisten the electrodes, tighten the strap)",
    "saturated": "ECG contact poor: the signal is clipped at its limits",
    "amplitude": "ECG contact poor: the signal is far too large to be a heartbeat",
    "noisy": "ECG too noisy to find beats (movement or a loose strap)",
    "no_beats": "ECG contact lost: no heartbeat in the ECG for the last seconds",
}


def _status(code: StatusCode) -> EcgStatus:
    return EcgStatus(code, _MESSAGES[code])


def ecg_status(ecg_mv: ArrayLike, fs_hz: float) -> EcgStatus:
    """Judge a stretch of ECG (the last few seconds): can beats be found in it?

    Parameters
    ----------
    ecg_mv : array_like
        ECG samples (mV); the whole array is judged (give about ``STATUS_WINDOW_S``).
    fs_hz : float
        Sampling rate (Hz).

    Returns
    -------
    EcgStatus
        The first that applies of: starting (under 2 s), flat, saturated, implausible
        amplitude, noisy (kurtosis under ``MIN_KURTOSIS`` or QRS-band power share under
        ``MIN_QRS_POWER_SHARE``), else ok.
    """
    x = np.asarray(ecg_mv, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2.0 * fs_hz:
        return _status("starting")
    return _status(_judge_windows(x[None, :], fs_hz)[0])


def ecg_status_along(
    ecg_mv: ArrayLike, fs_hz: float, window_s: float = STATUS_WINDOW_S,
    step_s: float | None = None,
) -> tuple[Int, list[StatusCode]]:
    """:func:`ecg_status` of windows all along a whole recording.

    The same judgement as :func:`ecg_status`, computed for all windows at once (a 24 h ECG
    has tens of thousands of them).

    Parameters
    ----------
    ecg_mv : array_like
        One ECG lead (mV), evenly sampled.
    fs_hz : float
        Sampling rate (Hz).
    window_s : float
        Length of each window (s): ``n = round(window_s * fs_hz)`` samples.
    step_s : float, optional
        A window starts every ``step_s`` (default ``window_s``: back to back). A last window
        ends at the last sample, so every sample is judged.

    Returns
    -------
    starts : numpy.ndarray of int64
        First sample of each window (a recording shorter than a window: one, at 0).
    codes : list of str
        The status code of each window (see :class:`EcgStatus`).
    """
    x = np.asarray(ecg_mv, dtype=np.float64).ravel()
    n = max(1, round(window_s * fs_hz))
    step = max(1, round((window_s if step_s is None else step_s) * fs_hz))
    if x.size <= n:
        return np.zeros(1, dtype=np.int64), [ecg_status(x, fs_hz).code]
    starts = np.arange(0, x.size - n + 1, step, dtype=np.int64)
    if starts[-1] + n < x.size:
        starts = np.r_[starts, x.size - n]
    view = np.lib.stride_tricks.sliding_window_view(x, n)  # no copy
    codes: list[StatusCode] = ["starting"] * starts.size
    # In chunks of windows: each chunk's copies (the windows, their baseline, powers) stay a
    # few MB, where all windows of a 24 h ECG at once would take gigabytes.
    for first in range(0, starts.size, _STATUS_WINDOWS_PER_CHUNK):
        chunk = np.arange(first, min(first + _STATUS_WINDOWS_PER_CHUNK, starts.size))
        windows = view[starts[chunk]]
        finite = np.isfinite(windows).all(axis=1)
        if n >= 2.0 * fs_hz and finite.any():
            for i, code in zip(chunk[finite], _judge_windows(windows[finite], fs_hz),
                               strict=True):
                codes[i] = code
        for i in np.flatnonzero(~finite):  # samples lost: judged on those that are there
            codes[chunk[i]] = ecg_status(windows[i], fs_hz).code
    return starts, codes


#: Windows judged at once by :func:`ecg_status_along` (memory, not speed, sets it).
_STATUS_WINDOWS_PER_CHUNK = 256


def _judge_windows(rows: Float, fs_hz: float) -> list[StatusCode]:
    """The checks of :func:`ecg_status` on each row of ``rows`` (finite samples, at least
    2 s each): the first that applies of flat, saturated, amplitude, noisy, else ok."""
    top, bottom = rows.max(axis=1), rows.min(axis=1)
    flat = top - bottom < FLAT_MV
    clipped = np.maximum(
        np.mean(rows == top[:, None], axis=1), np.mean(rows == bottom[:, None], axis=1)
    )
    saturated = clipped >= SATURATED_SHARE
    amplitude = top - bottom > MAX_PLAUSIBLE_MV
    # Row by row: a 2-D median filter is many times slower than this loop.
    kernel = _odd(0.6 * fs_hz)
    baseline = np.stack([scipy.signal.medfilt(row, kernel) for row in rows])
    squared = np.square(rows - baseline)
    spread = np.mean(squared, axis=1)
    fourth = np.mean(np.square(squared), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kurtosis = np.where(spread > 0, fourth / spread**2, 0.0)
    nperseg = min(rows.shape[1], _odd(2.0 * fs_hz))
    freqs, power = scipy.signal.welch(rows, fs=fs_hz, nperseg=nperseg, axis=1)
    top_hz = min(40.0, 0.5 * fs_hz)
    wide = power[:, (freqs >= 5.0) & (freqs <= top_hz)].sum(axis=1)
    qrs = power[:, (freqs >= 5.0) & (freqs <= 15.0)].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        qrs_poor = (wide <= 0) | (qrs / np.where(wide > 0, wide, 1.0) < MIN_QRS_POWER_SHARE)
    noisy = (kurtosis < MIN_KURTOSIS) | qrs_poor
    out: list[StatusCode] = []
    for row in zip(flat, saturated, amplitude, noisy, strict=True):
        code: StatusCode = "ok"
        for judged, name in zip(row, _BAD_CODES, strict=True):
            if judged:
                code = name
                break
        out.append(code)
    return out


#: The checks of :func:`_judge_windows`, first that applies first.
_BAD_CODES: tuple[StatusCode, ...] = ("flat", "saturated", "amplitude", "noisy")


def _odd(samples: float) -> int:
    n = max(3, round(samples))
    return n if n % 2 else n + 1


def _group_delay_samples(sos: Float, fs_hz: float) -> int:
    """Group delay of the band-pass at its centre frequency (whole samples)."""
    b, a = scipy.signal.sos2tf(sos)
    centre = math.sqrt(BAND_HZ[0] * BAND_HZ[1])
    _, delay = scipy.signal.group_delay((b, a), w=[centre], fs=fs_hz)
    return round(float(delay[0]))


@dataclass(slots=True)
class _Candidate:
    at_s: float  # time of the MWI peak (s)
    height: float  # MWI peak
    slope: float  # steepest slope of the band-passed ECG before it (mV/s)
    up_time: float  # the R wave read as a maximum: its time (s) ...
    up_size: float  # ... and height above the local median (mV)
    down_time: float  # read as a minimum
    down_size: float


class EcgBeatDetector:
    """Causal R-peak detector fed chunks of ECG; gives the beats confirmed by each chunk.

    Parameters
    ----------
    fs_hz : float
        Nominal sampling rate (Hz), e.g. 130 for the Polar H10.

    Notes
    -----
    Not thread-safe; one detector per ECG stream. See the module doc for the method.
    """

    def __init__(self, fs_hz: float) -> None:
        if not fs_hz > 0 or not math.isfinite(fs_hz):
            raise ValueError(f"the sampling rate must be a positive number, not {fs_hz}")
        self.fs_hz = float(fs_hz)
        nyquist = 0.5 * self.fs_hz
        high = min(BAND_HZ[1], 0.8 * nyquist)
        self._sos: Float = scipy.signal.butter(
            BAND_ORDER, [BAND_HZ[0], high], btype="bandpass", fs=self.fs_hz, output="sos"
        )
        self._sos_zi: Float = scipy.signal.sosfilt_zi(self._sos)
        self._reach = max(1, round(CANDIDATE_REACH_S * self.fs_hz))
        self._window = max(1, round(INTEGRATION_S * self.fs_hz))
        self._delay = _group_delay_samples(self._sos, self.fs_hz)
        self._raw_reach = max(1, round(RAW_SEARCH_S * self.fs_hz))
        # Samples before a candidate its features read: the integration window, the
        # group delay and the raw search, plus the parabola's neighbour.
        self._lookback = self._window + self._delay + self._raw_reach + 2
        # Levels and rhythm carry across gaps; the rest belongs to a segment.
        self._spki = math.nan
        self._npki = math.nan
        self._rr: deque[float] = deque(maxlen=RR_HISTORY)
        self._rr_regular: deque[float] = deque(maxlen=RR_HISTORY)
        self._rr_mean = FIRST_RR_S
        self._irregular = False
        self._recent: deque[float] = deque(maxlen=round(STATUS_WINDOW_S * self.fs_hz))
        self._up_level = math.nan
        self._down_level = math.nan
        self._last_sample_s = math.nan
        self._last_beat_any_s = math.nan
        self._first_sample_s = math.nan
        self._dropped = False
        self._start_segment()

    # -- public ------------------------------------------------------------------------
    @property
    def decision_lag_s(self) -> float:
        """How long after its MWI peak a candidate is decided (s)."""
        return self._reach / self.fs_hz

    def feed(self, times_s: ArrayLike, ecg_mv: ArrayLike) -> Float:
        """Add samples; return the beats (s, on the clock of ``times_s``) they confirm.

        Parameters
        ----------
        times_s : array_like
            Time of each sample (s), increasing (the strap's clock); samples at or before
            a time already fed are dropped.
        ecg_mv : array_like
            The samples (mV), same length.

        Returns
        -------
        numpy.ndarray
            Newly confirmed R-peak times (s), increasing.
        """
        t = np.asarray(times_s, dtype=np.float64).ravel()
        x = np.asarray(ecg_mv, dtype=np.float64).ravel()
        if t.shape != x.shape:
            raise ValueError(f"{t.size} sample times for {x.size} ECG samples")
        if t.size == 0:
            return np.empty(0)
        self._recent.extend(x[-round(STATUS_WINDOW_S * self.fs_hz) :].tolist())
        # Samples that are not numbers are dropped, and the next one starts a new segment,
        # as does one after a gap in the sample times. Samples at or before a time already
        # fed are dropped too (a frame sent twice), with no new segment.
        finite = np.isfinite(x) & np.isfinite(t)
        step = np.diff(t, prepend=self._last_sample_s)
        if finite.all() and (step[1:] > 0).all() and not step[0] <= 0:
            starts = ~(step <= GAP_PERIODS / self.fs_hz)  # the usual case, made cheap
            starts[0] |= self._dropped
            self._dropped = False
        else:
            after_drop = np.empty(t.size, dtype=bool)
            after_drop[0] = self._dropped
            after_drop[1:] = ~finite[:-1]
            self._dropped = not bool(finite[-1])
            latest = -np.inf if math.isnan(self._last_sample_s) else self._last_sample_s
            clock = np.where(np.isfinite(t), t, -np.inf)
            seen = np.maximum.accumulate(np.concatenate([[latest], clock[:-1]]))
            keep = finite & (clock > seen)
            t, x, after_drop = t[keep], x[keep], after_drop[keep]
            if t.size == 0:
                return np.empty(0)
            step = np.diff(t, prepend=self._last_sample_s)
            starts = after_drop | ~(step <= GAP_PERIODS / self.fs_hz)
        bounds = np.append(np.flatnonzero(starts), t.size)
        beats: list[Float] = []
        if bounds[0] > 0:
            beats.append(self._feed_segment(t[: bounds[0]], x[: bounds[0]]))
        for lo, hi in itertools.pairwise(bounds):
            if self._n:
                beats.append(self._flush())
                self._start_segment()
            beats.append(self._feed_segment(t[lo:hi], x[lo:hi]))
        if t.size:
            self._last_sample_s = float(t[-1])
        out = np.concatenate(beats) if beats else np.empty(0)
        if out.size:
            self._last_beat_any_s = float(out[-1])
        return out

    def flush(self) -> Float:
        """Decide the candidates of the last 150 ms as if the ECG ended there (end of a file)."""
        out = self._flush()
        if out.size:
            self._last_beat_any_s = float(out[-1])
        return out

    def status(self) -> EcgStatus:
        """The state of the last ``STATUS_WINDOW_S`` of ECG (see :func:`ecg_status`), and
        ``no_beats`` when no beat came for ``NO_BEAT_S`` though the signal looks usable."""
        judged = ecg_status(np.fromiter(self._recent, dtype=np.float64), self.fs_hz)
        if judged.ok:
            since = self._last_sample_s - (
                self._last_beat_any_s if not math.isnan(self._last_beat_any_s)
                else self._first_sample_s
            )
            if since > NO_BEAT_S:
                return _status("no_beats")
        return judged

    # -- segments ------------------------------------------------------------------------
    def _start_segment(self) -> None:
        self._n = 0  # samples of this segment so far
        self._base = 0  # segment index of the buffers' first sample
        self._t: Float = np.empty(0)
        self._x: Float = np.empty(0)
        self._bp: Float = np.empty(0)
        self._slope: Float = np.empty(0)
        self._mwi: Float = np.empty(0)
        self._scanned = 0  # candidates before this segment index are decided
        self._zi_bp: Float | None = None
        self._bp_last: Float = np.zeros(2)  # the band-pass's last two outputs
        self._energy_sum = 0.0  # running sum of the squared slope over the segment ...
        self._energy_last: Float = np.zeros(self._window)  # ... at its last `window` samples
        self._last_beat_s = math.nan
        self._last_slope = math.nan
        self._pending: list[_Candidate] = []
        self._reference_s = math.nan

    def _feed_segment(self, t: Float, x: Float) -> Float:
        if self._zi_bp is None:
            self._zi_bp = self._sos_zi * x[0]  # as if the ECG had sat at its first value
            self._reference_s = float(t[0])
            if math.isnan(self._first_sample_s):
                self._first_sample_s = float(t[0])
        bp, self._zi_bp = scipy.signal.sosfilt(self._sos, x, zi=self._zi_bp)
        # Central difference (per second), delayed one sample to stay causal. Written into
        # arrays made once: at an hour of ECG, each new array costs more than its sums.
        n, window = bp.size, self._window
        d = np.empty(n)
        previous = np.concatenate([self._bp_last, bp[: min(n, 2)]])
        d[: min(n, 2)] = previous[2:] - previous[: min(n, 2)]
        np.subtract(bp[2:], bp[:-2], out=d[2:])
        d *= 0.5 * self.fs_hz
        self._bp_last = previous[-2:] if n < 2 else bp[-2:].copy()
        # Moving-window integration as a difference of running sums; the sum is carried
        # from chunk to chunk and added sample by sample, so any chunking gives the same.
        running = np.multiply(d, d)
        running[0] += self._energy_sum
        np.cumsum(running, out=running)
        w = np.empty(n)
        head = min(n, window)
        w[:head] = running[:head] - self._energy_last[:head]
        np.subtract(running[window:], running[:-window], out=w[window:])
        w /= window
        self._energy_sum = float(running[-1])
        self._energy_last = np.concatenate([self._energy_last, running[-window:]])[-window:]
        # The caller's arrays are copied (a buffer it reuses must not change ours).
        self._t = self._append(self._t, t.copy() if self._t.size == 0 else t)
        self._x = self._append(self._x, x.copy() if self._x.size == 0 else x)
        self._bp = self._append(self._bp, bp)
        self._slope = self._append(self._slope, np.abs(d, out=d))
        self._mwi = self._append(self._mwi, w)
        self._n += x.size
        return self._scan(final=False)

    @staticmethod
    def _append(buffer: Float, new: Float) -> Float:
        return new if buffer.size == 0 else np.concatenate([buffer, new])

    def _flush(self) -> Float:
        if self._n == 0:
            return np.empty(0)
        return self._scan(final=True)

    # -- candidates -------------------------------------------------------------------
    def _scan(self, *, final: bool) -> Float:
        learn_n = round(LEARN_S * self.fs_hz)
        if math.isnan(self._spki):
            if self._n < learn_n and not final:
                return np.empty(0)
            first = self._mwi[: max(learn_n, 1)]
            self._spki = 0.25 * float(first.max())
            self._npki = 0.5 * float(first.mean())
        end = self._n if final else self._n - self._reach
        if end <= self._scanned:
            return np.empty(0)
        lo = max(self._scanned - self._reach, 0)
        # Buffer positions of [lo, n): candidates in [scanned, end) see all of +-reach.
        w = self._mwi[lo - self._base :]
        # Local maxima first (few), then each against its whole neighbourhood; the ends
        # repeat the edge samples, as where the segment begins or the file ends.
        peak = np.zeros(w.size, dtype=bool)
        np.greater(w[1:], w[:-1], out=peak[1:])
        peak[:-1] &= w[:-1] >= w[1:]
        at = np.flatnonzero(peak)
        at = at[(at + lo >= self._scanned) & (at + lo < end)]
        if at.size:
            reach = np.arange(-self._reach, self._reach + 1)
            around = w[np.clip(at[:, None] + reach[None, :], 0, w.size - 1)]
            at = at[w[at] >= around.max(axis=1)]
        at = at + lo
        self._scanned = end
        beats = self._decide(at) if at.size else np.empty(0)
        self._trim()
        return beats

    def _features(self, at: Int) -> tuple[Float, Float, Float, Float, Float, Float]:
        """Per candidate (segment indices): MWI height, steepest slope, and for the R wave
        read as a maximum and as a minimum, its refined time (s) and its size (mV)."""
        i = at - self._base
        height = self._mwi[i]
        span = np.arange(-self._window, 1)
        rows = np.clip(i[:, None] + span[None, :], 0, None)
        slope = self._slope[rows].max(axis=1)
        k_bp = rows[np.arange(i.size), np.argmax(np.abs(self._bp[rows]), axis=1)]
        reach = np.arange(-self._raw_reach, self._raw_reach + 1)
        # The parabola needs the sample after the extremum: stop one short of the candidate.
        raw_rows = np.clip((k_bp - self._delay)[:, None] + reach[None, :], 1, i[:, None] - 1)
        raw = self._x[raw_rows]
        deviation = raw - np.median(raw, axis=1, keepdims=True)
        up_time, up_size = self._refine(raw_rows, deviation, 1.0)
        down_time, down_size = self._refine(raw_rows, deviation, -1.0)
        return height, slope, up_time, up_size, down_time, down_size

    def _refine(self, rows: Int, deviation: Float, sign: float) -> tuple[Float, Float]:
        """Time (s) and size (mV from the window's median) of each row's extremum of
        ``sign``, refined by a parabola through it and its two neighbours."""
        j = np.argmax(sign * deviation, axis=1)
        k = rows[np.arange(rows.shape[0]), j]
        before, peak, after = (sign * self._x[k - 1], sign * self._x[k], sign * self._x[k + 1])
        curve = before - 2.0 * peak + after
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(curve < 0, 0.5 * (before - after) / curve, 0.0)
        shift = np.clip(shift, -0.5, 0.5)
        # Read the time off the sample clock between the two samples the shift lies in.
        side = np.where(shift >= 0, k + 1, k - 1)
        time = self._t[k] + np.abs(shift) * (self._t[side] - self._t[k])
        return time, sign * deviation[np.arange(rows.shape[0]), j]

    def _pick(self, up_time: float, up_size: float, down_time: float, down_size: float) -> float:
        """The R wave's time: the deflection the recent beats had, unless the other one is
        ``SWITCH_RATIO`` times larger (a beat of another shape, such as a ventricular one)."""
        usual_up = not self._up_level < self._down_level  # before any beat: the larger
        if math.isnan(self._up_level):
            usual_up = up_size >= down_size
        if usual_up:
            return down_time if down_size > SWITCH_RATIO * up_size else up_time
        return up_time if up_size > SWITCH_RATIO * down_size else down_time

    def _decide(self, at: Int) -> Float:
        beats: list[float] = []
        features = self._features(at)
        for at_s, height, slope, up_t, up_s, down_t, down_s in zip(
            self._t[at - self._base].tolist(), *(f.tolist() for f in features), strict=True
        ):
            # The rules run on the MWI peaks' times (as in the paper), so the choice of the
            # R wave's deflection never changes which beats are found. Before a segment's
            # first beat, the search-back counts from its first sample.
            if at_s - self._reference_s > SEARCH_BACK_RR * self._rr_mean:
                found = self._search_back(at_s)
                if found is not None:
                    beats.append(found)
            since = at_s - self._last_beat_s  # NaN before the first beat: every test False
            threshold = self._npki + 0.25 * (self._spki - self._npki)  # THRESHOLD1
            if self._irregular:
                threshold *= 0.5
            if height > threshold and not since < REFRACTORY_S and not (
                since < T_WAVE_S and slope < T_WAVE_SLOPE_SHARE * self._last_slope
            ):
                self._spki = 0.125 * height + 0.875 * self._spki
                beats.append(self._accept(
                    _Candidate(at_s, height, slope, up_t, up_s, down_t, down_s)))
            else:
                self._npki = 0.125 * height + 0.875 * self._npki
                if not since < REFRACTORY_S:
                    pending = self._pending
                    pending.append(_Candidate(at_s, height, slope, up_t, up_s, down_t, down_s))
                    if len(pending) > 64:  # no beat for long: a strap off the skin
                        self._pending = [c for c in pending
                                         if c.at_s >= at_s - SEARCH_BACK_MAX_S]
        return np.asarray(beats, dtype=np.float64)

    def _search_back(self, now_s: float) -> float | None:
        """The missed beat: the highest pending candidate above THRESHOLD2, if any."""
        thr2 = 0.5 * self._threshold()
        usable = [c for c in self._pending if c.height > thr2
                  and REFRACTORY_S <= now_s - c.at_s <= SEARCH_BACK_MAX_S]
        if not usable:
            if now_s - self._reference_s > RELEARN_AFTER_S:
                # Nothing for long: the QRS has shrunk (electrode contact, posture) below
                # the levels, or an artifact lifted them; relearn (not in the paper).
                self._spki = self._npki + SEARCH_BACK_DECAY * (self._spki - self._npki)
            return None
        best = max(usable, key=lambda c: c.height)
        self._spki = 0.25 * best.height + 0.75 * self._spki
        return self._accept(best)

    def _accept(self, beat: _Candidate) -> float:
        """Take a candidate as a beat; returns its R wave's time (s)."""
        if not math.isnan(self._last_beat_s):
            rr = beat.at_s - self._last_beat_s
            self._rr.append(rr)
            if REGULAR_RR[0] * self._rr_mean <= rr <= REGULAR_RR[1] * self._rr_mean:
                self._rr_regular.append(rr)
            # RR AVERAGE2 of the paper: the mean of the last eight regular intervals.
            chosen = self._rr_regular or self._rr
            self._rr_mean = sum(chosen) / len(chosen)
            low, high = REGULAR_RR[0] * self._rr_mean, REGULAR_RR[1] * self._rr_mean
            # Irregular: RR AVERAGE1 differs from RR AVERAGE2 (not all eight are regular).
            self._irregular = len(self._rr) == RR_HISTORY and not (
                low <= min(self._rr) and max(self._rr) <= high
            )
        self._last_beat_s = self._reference_s = beat.at_s
        self._last_slope = beat.slope
        if self._pending:
            self._pending = [c for c in self._pending if c.at_s > beat.at_s]
        time_s = self._pick(beat.up_time, beat.up_size, beat.down_time, beat.down_size)
        if math.isnan(self._up_level):  # the first beat sets the levels
            self._up_level, self._down_level = beat.up_size, beat.down_size
        if (time_s == beat.up_time) == (self._up_level >= self._down_level):
            # Only beats of the usual shape teach it: ventricular beats timed on their
            # other deflection must not turn the normal beats over.
            self._up_level += LEVEL_WEIGHT * (beat.up_size - self._up_level)
            self._down_level += LEVEL_WEIGHT * (beat.down_size - self._down_level)
        return time_s

    def _threshold(self) -> float:
        """THRESHOLD1 of the paper, halved while the rhythm is irregular."""
        thr1 = self._npki + 0.25 * (self._spki - self._npki)
        return 0.5 * thr1 if self._irregular else thr1

    def _trim(self) -> None:
        """Drop samples no future candidate reads (the learning stretch is kept until used)."""
        if math.isnan(self._spki):
            return
        keep_from = max(self._scanned - self._reach - self._lookback, 0)
        cut = keep_from - self._base
        if cut > 4 * self._lookback:  # trim in steps, not on every small chunk
            self._t = self._t[cut:]
            self._x = self._x[cut:]
            self._bp = self._bp[cut:]
            self._slope = self._slope[cut:]
            self._mwi = self._mwi[cut:]
            self._base = keep_from


def detect_r_peaks(ecg_mv: ArrayLike, fs_hz: float) -> Float:
    """R-peak times of a whole ECG recording (s from its first sample).

    The same detector as :class:`EcgBeatDetector`, fed the recording in one chunk and
    flushed at its end.

    Parameters
    ----------
    ecg_mv : array_like
        One ECG lead (mV), evenly sampled.
    fs_hz : float
        Sampling rate (Hz).

    Returns
    -------
    numpy.ndarray
        Beat times (s), increasing, refined between samples.
    """
    x = np.asarray(ecg_mv, dtype=np.float64).ravel()
    detector = EcgBeatDetector(fs_hz)
    times = np.arange(x.size, dtype=np.float64) / detector.fs_hz
    return np.concatenate([detector.feed(times, x), detector.flush()])
