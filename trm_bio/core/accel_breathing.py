"""Breath-by-breath rate and phase from a chest strap's accelerometer (the Polar H10's).

A chest strap tilts a fraction of a degree with every breath, moving part of gravity's
1000 mg between the sensor's axes: a few mg in a shallow breath, about 20 mg in a deep one.
The method (as in DESIGN.md's performance anchors; the steps of Bates et al., "Respiratory
rate and flow waveform estimation from tri-axial accelerometer data", BSN 2010, and of
Hostrup et al., Physiol Meas 46:035005, 2025: gravity removal, principal component, band
limit) runs in time order on one state, so the live stream and a whole recording give the
same breaths:

1. **Cells.** Samples are averaged into 0.1 s cells on a grid fixed at the first sample
   (this also removes most of the heartbeat's 8-25 Hz ripple); a cell is final once a later
   sample arrives. Samples out of time order or not finite are dropped. Gaps up to 1 s are
   bridged by holding the last cell; a longer gap starts afresh.
2. **Gravity** is removed with a slow exponential mean (time constant 10 s), then the three
   axes are band-limited to 0.05-0.7 Hz (Butterworth, 2nd-order sections with kept state).
3. **Breathing axis.** Every second, the principal axis of the last 30 s of the three
   band-limited axes; its sign is kept pointing the way of the previous axis, so the trace
   does not flip. The share of variance on that axis and its size say whether there is a
   breathing signal at all (isotropic sensor noise spreads over the three axes; breathing
   lies on one).
4. **Breaths.** The projected trace (mg) crosses zero upwards once per breath. A crossing
   counts when the trace then rises above a threshold of 30 % of the recent breathing
   amplitude (an exponential mean of the trace's power, 20 s) and before that fell below
   minus the threshold (hysteresis), so noise near zero makes no breaths. A breath runs from
   one upward crossing to the next (linearly interpolated between cells); its rate is
   60 / duration. Breaths shorter than 1.67 s or longer than 24 s (outside 2.5-36 /min, a
   margin around the 3-30 /min the app covers) are not breaths; a longer pause restarts
   the count.
5. **Current rate**: the median of the last three breaths' rates, shown while breaths keep
   coming (unknown after 2.5 breath durations, at least 20 s, without one).
6. **Phase**: 0 at the upward crossing, pi at the downward one, advancing at the current
   rate in between (clipped so it never runs into the next half before the crossing is
   seen). Which half is the inhale depends on how the strap sits; the trace's rising half
   is reported as such.
7. **Movement.** Cells whose samples spread more than 40 mg over half a second (walking's
   bounce and heel strikes, a cough), a cell that moved more than 250 mg from the cell 1 s
   before, or one further from the gravity estimate than a posture threshold mark movement.
   The posture threshold is 250 mg (about 15 degrees) until the usual deviation is known,
   then 4 times the breathing's own deviation (its root mean square over 20 s), at least
   40 mg (about 2.5 degrees) and at most 250 mg: a 6-degree turn stands out from shallow
   breathing, and deep breathing (a phone on the chest of a person breathing deeply moved
   up to 240 mg from its gravity estimate) is not taken for one. Breathing is then unknown
   until the chest has been still for 2 s; the filters and the axis start afresh, and
   breaths are counted again after 8 s of settling, so a posture change gives a bounded
   unknown stretch (the movement, plus 10 s, plus one or two breaths), never a wild rate.
   Light walking (a bounce under about 150 mg) can pass for stillness; its step rate lies
   above the breathing band, and the breaths found then are mostly right.

Status in plain words: :class:`BreathingStatus`.

Measured (``python -m bench breathing_acc``):

* Simulated chest (devices/simulated_chest.py; 5 min each with a 40-degree posture change
  and a movement artifact; 4.5-25 /min; amplitude 3 or 8 mg; noise 2, 5 or 10 mg per axis
  at 200 Hz; heartbeat ripple 4 mg): 1,445 breaths, median |error| 0.16 /min, 94 % within
  1 /min; 99-100 % at 8 mg with up to 5 mg of noise, 79-100 % at 3 mg with 5 mg of noise,
  and 45 % at 3 mg with 10 mg of noise at 25 /min, where the noise is as large as the
  breathing. A rate is shown 67-86 % of the time (the start and the posture change cost
  the rest).
* Real chest accelerometer with paced breathing, no respiration belt (Paoli F.,
  github.com/FedericaPaoli1/Respiration-rate-and-heart-rate-detection, 2021, MIT licence:
  a phone's LSM6DS3 at about 202 Hz on the chest of a supine person breathing with a
  metronome, 12 breaths at 3-30 /min, two positions; read by tests/chest_acc_data.py
  when present, never copied): 146 breaths, median |error| against the metronome
  0.24 /min, 90 % within 1 /min; 13 of the 14 records from 3 to 15 /min have a median
  error of 0.5 /min or less. The misses: the two 24 s records of panting at 30 /min show
  nothing (settling, then movement: the phone shook by 60 mg within half seconds), and at
  10 /min in position 2 the person breathed at about 11 /min (breaths of 4.4-6.2 s in
  the trace), so the metronome is not the truth there. Breathing on this
  record moved the phone by up to 290 mg, far more than a strap's few to 20 mg, which set
  the movement thresholds above.
* Time for 1 h of 200 Hz ACC: 0.35-0.8 s whole; 20-24 s fed in 36-sample frames (0.5-1.2 ms
  a frame, on a shared machine with a load of 7 on 2 cores): per-call overhead, under 1 %
  of a core live; a replay can feed a whole session at once and get the same result.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, lfilter

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class BreathingStatus(enum.IntEnum):
    """What the accelerometer says about breathing, per trace sample."""

    STARTING = 0
    BREATHING = 1
    NO_SIGNAL = 2
    MOVEMENT = 3

    @property
    def words(self) -> str:
        """The status in plain words, for the screen."""
        return _STATUS_WORDS[self]


_STATUS_WORDS = {
    BreathingStatus.STARTING: "measuring breathing",
    BreathingStatus.BREATHING: "breathing",
    BreathingStatus.NO_SIGNAL: "no breathing signal",
    BreathingStatus.MOVEMENT: "movement: breathing unknown until still",
}


@dataclass(frozen=True)
class AccBreathingConfig:
    """Settings of the method (see the module docstring); the defaults are the app's."""

    cell_s: float = 0.1
    max_hold_s: float = 1.0
    gravity_tau_s: float = 10.0
    band_hz: tuple[float, float] = (0.05, 0.7)
    axis_window_s: float = 30.0
    axis_update_s: float = 1.0
    axis_min_s: float = 5.0
    min_axis_share: float = 0.75
    min_breathing_rms_mg: float = 0.25
    level_tau_s: float = 20.0
    hysteresis_fraction: float = 0.3
    min_rate_per_min: float = 2.5
    max_rate_per_min: float = 36.0
    smoothing_breaths: int = 3
    timeout_breaths: float = 2.5
    min_timeout_s: float = 20.0
    spread_window_s: float = 0.5
    movement_spread_mg: float = 40.0
    movement_change_mg: float = 250.0
    posture_deviation_mg: float = 250.0
    posture_factor: float = 4.0
    min_posture_mg: float = 40.0
    still_s: float = 2.0
    settle_s: float = 8.0


@dataclass(frozen=True)
class BreathingUpdate:
    """What one chunk of samples added (the new final cells and the breaths they ended).

    Breaths: ``breath_start_s``/``breath_end_s`` (upward crossings, s, on the samples' clock),
    ``breath_rate_per_min`` (60 / duration) and ``breath_amplitude_mg`` (peak to trough).
    Trace, one value per 0.1 s cell: ``t_s`` (cell centre, s), ``trace_mg`` (the breathing
    trace, NaN where unknown), ``phase_rad`` (0..2 pi, NaN where unknown), ``rate_per_min``
    (the current rate, NaN where unknown), ``status`` (:class:`BreathingStatus` codes).
    ``latest_rate_per_min`` and ``latest_status`` are those of the newest cell so far.
    """

    breath_start_s: FloatArray
    breath_end_s: FloatArray
    breath_rate_per_min: FloatArray
    breath_amplitude_mg: FloatArray
    t_s: FloatArray
    trace_mg: FloatArray
    phase_rad: FloatArray
    rate_per_min: FloatArray
    status: npt.NDArray[np.int8]
    latest_rate_per_min: float
    latest_status: BreathingStatus


#: A whole recording's result has the same fields as one update.
AccBreathing = BreathingUpdate


def _empty_f() -> FloatArray:
    return np.zeros(0, dtype=np.float64)


@dataclass
class _Pipeline:
    """Filter and detector state that a reset (start, long gap, movement) clears."""

    settle_until_s: float
    after_movement: bool
    gravity: FloatArray | None = None
    dev_power: float = 0.0
    dev_cells: int = 0
    band_zi: FloatArray | None = None
    history: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    cells_since_reset: int = 0
    axis: FloatArray | None = None
    present: bool = False
    level: float = math.nan
    hyst_state: int = 0
    prev_y: float = math.nan
    prev_t: float = math.nan
    seen_up_zc_s: float = math.nan  # the latest zero crossings seen, event or not
    seen_down_zc_s: float = math.nan
    breath_start_s: float = math.nan
    cycle_max: float = -math.inf
    cycle_min: float = math.inf
    saw_down: bool = False
    recent_rates: list[float] = field(default_factory=list)
    current_rate: float = math.nan
    last_breath_end_s: float = math.nan
    last_event_s: float = math.nan
    last_event_up: bool = True


class AccBreathingStream:
    """Breathing from a chest accelerometer, fed chunk by chunk as frames arrive.

    ``feed(t_s, acc_mg)`` takes sample times (s, increasing, on one clock) and an (n, 3)
    array of x/y/z in mg, and returns a :class:`BreathingUpdate`. Feeding a recording in any
    chunks gives the same breaths and trace as :func:`breathing_from_acc` on all of it (bit
    for bit here; the tests allow 1e-9). From a PMD ACC frame (devices/pmd.py)::

        t_s = (frame.sample_times_ns(200.0) - origin_ns) / 1e9  # origin: session start
        update = stream.feed(t_s, frame.samples)

    A sample no later than one already fed (frames that overlap by a sample when the strap's
    clock runs a little fast) is dropped and counted in ``dropped_samples``.
    """

    def __init__(self, config: AccBreathingConfig | None = None) -> None:
        self.config = config or AccBreathingConfig()
        cfg = self.config
        nyquist = 0.5 / cfg.cell_s
        sos = butter(2, [cfg.band_hz[0] / nyquist, cfg.band_hz[1] / nyquist],
                     btype="bandpass", output="sos")
        self._sos: FloatArray = np.asarray(sos, dtype=np.float64)
        self._alpha = 1.0 - math.exp(-cfg.cell_s / cfg.gravity_tau_s)
        self._level_alpha = 1.0 - math.exp(-cfg.cell_s / cfg.level_tau_s)
        self._window_cells = round(cfg.axis_window_s / cfg.cell_s)
        self._update_cells = max(1, round(cfg.axis_update_s / cfg.cell_s))
        self._min_cells = round(cfg.axis_min_s / cfg.cell_s)
        self._change_cells = max(1, round(1.0 / cfg.cell_s))
        self._still_cells = max(1, round(cfg.still_s / cfg.cell_s))
        self._hold_cells = round(cfg.max_hold_s / cfg.cell_s)
        self._t0: float | None = None
        self._last_t = -math.inf
        self._next_cell = 0  # index of the first cell not yet final
        self._pend_sum = np.zeros(3)
        self._pend_sq = np.zeros(3)
        self._pend_n = 0
        self._last_mean: FloatArray | None = None
        self._recent_means = np.zeros((0, 3))  # the last second of cell means (change check)
        self._spread_cells = max(1, round(cfg.spread_window_s / cfg.cell_s))
        self._recent_spread = np.zeros(0)
        self._moving = False
        self._quiet_run = 0
        self._last_done_cell: int | None = None
        self._pipe = _Pipeline(settle_until_s=math.nan, after_movement=False)
        self._latest_rate = math.nan
        self._latest_status = BreathingStatus.STARTING
        self.dropped_samples = 0

    # ------------------------------------------------------------------ cells
    def _cells(
        self, t: FloatArray, acc: FloatArray
    ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
        """Final cells completed by these samples: index, mean (m, 3), spread (m,), count."""
        cfg = self.config
        if self._t0 is None:
            self._t0 = float(t[0])
        k = np.floor((t - self._t0) / cfg.cell_s).astype(np.int64)
        k0 = self._next_cell
        rel = k - k0  # >= 0: samples come later than the open cell's
        # Only the cells that hold samples (and the open one, rel 0): a gap of hours between
        # two samples (a strap clock that jumps, a damaged frame) must not become hours of
        # empty cells in memory.
        cells, inverse = np.unique(rel, return_inverse=True)
        if cells[0] != 0:
            cells = np.concatenate(([0], cells))
            inverse = inverse + 1
        m = cells.size
        counts = np.bincount(inverse, minlength=m).astype(np.float64)
        sums = np.stack([np.bincount(inverse, weights=acc[:, j], minlength=m)
                         for j in range(3)], axis=1)
        sqs = np.stack([np.bincount(inverse, weights=acc[:, j] * acc[:, j], minlength=m)
                        for j in range(3)], axis=1)
        counts[0] += self._pend_n
        sums[0] += self._pend_sum
        sqs[0] += self._pend_sq
        # The last cell stays open until a later sample arrives.
        self._pend_n = int(counts[-1])
        self._pend_sum = sums[-1].copy()
        self._pend_sq = sqs[-1].copy()
        counts, sums, sqs = counts[:-1], sums[:-1], sqs[:-1]
        self._next_cell = k0 + int(cells[-1])
        index = k0 + cells[:-1].astype(np.int64)
        filled = counts > 0
        safe = np.maximum(counts, 1.0)[:, None]
        means = sums / safe
        var = np.maximum(sqs / safe - means * means, 0.0)
        spread = np.sqrt(var.max(axis=1))
        return index[filled], means[filled], spread[filled], counts[filled]

    def feed(self, t_s: npt.ArrayLike, acc_mg: npt.ArrayLike) -> BreathingUpdate:
        """Add samples (times in s, (n, 3) mg) and return what they completed."""
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        acc = np.asarray(acc_mg, dtype=np.float64)
        if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] != t.size:
            raise ValueError("accelerometer samples must be an (n, 3) array with one time each")
        ok = np.isfinite(t) & np.isfinite(acc).all(axis=1)
        if t.size:
            # Keep samples strictly later than every earlier one (a strap clock never goes back).
            running = np.maximum.accumulate(np.where(ok, t, -np.inf))
            prev = np.concatenate(([self._last_t], running[:-1]))
            ok &= t > prev
        if not ok.all():
            self.dropped_samples += int((~ok).sum())
            log.debug("dropped %d accelerometer samples out of order or not finite",
                      int((~ok).sum()))
        t, acc = t[ok], acc[ok]
        if t.size == 0:
            return self._empty_update()
        if self._t0 is None:
            self._reset(float(t[0]), after_movement=False)
        self._last_t = float(t[-1])
        index, means, spread, _ = self._cells(t, acc)
        return self._process(index, means, spread)

    # ------------------------------------------------------------ processing
    def _empty_update(self) -> BreathingUpdate:
        return BreathingUpdate(_empty_f(), _empty_f(), _empty_f(), _empty_f(), _empty_f(),
                               _empty_f(), _empty_f(), _empty_f(), np.zeros(0, np.int8),
                               self._latest_rate, self._latest_status)

    def _reset(self, t_s: float, after_movement: bool) -> None:
        """Start the filters, axis and breath count afresh; breaths count after settling."""
        self._pipe = _Pipeline(settle_until_s=t_s + self.config.settle_s,
                               after_movement=after_movement)

    def _process(self, index: IntArray, means: FloatArray, spread: FloatArray) -> BreathingUpdate:
        cfg = self.config
        assert self._t0 is not None
        out = _Collector()
        if index.size == 0:
            return self._empty_update()
        times = np.asarray(self._t0 + (index + 0.5) * cfg.cell_s, dtype=np.float64)
        before = index[0] - 1 if self._last_done_cell is None else self._last_done_cell
        steps = np.diff(np.concatenate(([before], index)))
        # Split at missing cells: a short gap is bridged by holding the last cell, a long
        # one starts afresh.
        cuts = [0, *(int(g) for g in np.flatnonzero(steps[1:] > 1) + 1), index.size]
        for a, b in itertools.pairwise(cuts):
            missing = int(steps[a]) - 1
            if missing > self._hold_cells or (missing > 0 and self._last_mean is None):
                self._recent_means = np.zeros((0, 3))
                self._recent_spread = np.zeros(0)
                self._moving = False
                self._quiet_run = 0
                self._reset(float(times[a]), after_movement=False)
            elif missing > 0 and self._last_mean is not None:
                held_idx = np.arange(int(index[a]) - missing, int(index[a]))
                held_t = np.asarray(self._t0 + (held_idx + 0.5) * cfg.cell_s, dtype=np.float64)
                held = np.tile(self._last_mean, (missing, 1))
                self._run(held_t, held, np.zeros(missing), out)
            self._run(times[a:b], means[a:b], spread[a:b], out)
        self._last_done_cell = int(index[-1])
        return out.update(self._latest_rate, self._latest_status)

    def _run(self, t: FloatArray, x: FloatArray, spread: FloatArray, out: _Collector) -> None:
        """Process consecutive final cells, switching between breathing and movement."""
        cfg = self.config
        m = t.size
        if m == 0:
            return
        buf = np.concatenate((self._recent_means, x))
        back = buf[:-self._change_cells] if buf.shape[0] > self._change_cells else buf[:0]
        change = np.zeros(m, dtype=bool)
        n_back = back.shape[0]
        if n_back:
            change[m - n_back:] = (np.linalg.norm(x[m - n_back:] - back, axis=1)
                                   > cfg.movement_change_mg)
        # Spread over the last half second: one bump is not movement, walking is. (Shifted
        # sums: each mean adds the same values in the same order, however the chunks fall.)
        width = self._spread_cells
        missing = max(0, width - 1 - self._recent_spread.size)
        sbuf = np.concatenate((np.zeros(missing), self._recent_spread, spread))
        have = np.concatenate((np.zeros(missing), np.ones(sbuf.size - missing)))
        total = np.zeros(m)
        count = np.zeros(m)
        for j in range(width):
            total += sbuf[j:j + m]
            count += have[j:j + m]
        mean_spread = total / count
        self._recent_spread = sbuf[missing:][-(width - 1):].copy() if width > 1 else np.zeros(0)
        quiet = (mean_spread <= cfg.movement_spread_mg) & ~change
        self._recent_means = buf[-self._change_cells:].copy()
        self._last_mean = x[-1].copy()
        i = 0
        while i < m:
            if self._moving:
                # Still again once `still_cells` quiet cells follow each other.
                q = quiet[i:].astype(np.int64)
                run = self._quiet_run
                end = -1
                for j, v in enumerate(q):  # short: only the movement's cells
                    run = run + 1 if v else 0
                    if run >= self._still_cells:
                        end = i + j
                        break
                stop = m if end < 0 else end + 1
                out.add_blank(t[i:stop], BreathingStatus.MOVEMENT)
                self._latest_rate = math.nan
                self._latest_status = BreathingStatus.MOVEMENT
                if end < 0:
                    self._quiet_run = run
                    return
                self._moving = False
                self._quiet_run = 0
                self._reset(float(t[end]), after_movement=True)
                i = end + 1
                continue
            pipe = self._pipe
            seg = x[i:]
            if pipe.gravity is None:
                pipe.gravity = seg[0].copy()
            a = self._alpha
            grav, _ = lfilter([a], [1.0, -(1.0 - a)], seg, axis=0,
                              zi=((1.0 - a) * pipe.gravity)[None, :])
            deviation = np.linalg.norm(seg - grav, axis=1)
            stop = self._first_movement(deviation, quiet[i:])
            hit = np.arange(stop, seg.shape[0])[:1]
            if stop:
                pipe.gravity = grav[stop - 1].copy()
                self._breathing(t[i:i + stop], seg[:stop] - grav[:stop], out)
            if hit.size:
                self._moving = True
                self._quiet_run = 0
                i += stop
            else:
                return

    def _first_movement(self, deviation: FloatArray, quiet: npt.NDArray[np.bool_]) -> int:
        """Index of the first cell that is movement (or the length, if none is).

        A cell is movement when it is not quiet, or when it lies further from the gravity
        estimate than the posture threshold: 250 mg, or less once the usual deviation is
        known, ``posture_factor`` times the breathing's own (the root mean square of the
        deviation over ``level_tau_s``, tracked over quiet cells only), at least
        ``min_posture_mg``. So a 5-degree turn stands out from shallow breathing, and deep
        breathing is never taken for a posture change. Sequential, on plain floats.
        """
        cfg = self.config
        pipe = self._pipe
        beta = self._level_alpha
        need = self._min_cells
        power, cells = pipe.dev_power, pipe.dev_cells
        for j, (dev, calm) in enumerate(zip(deviation.tolist(), quiet.tolist(), strict=True)):
            limit = cfg.posture_deviation_mg
            if cells >= need:
                limit = min(limit, max(cfg.min_posture_mg,
                                       cfg.posture_factor * math.sqrt(2.0 * power)))
            if not calm or dev > limit:
                pipe.dev_power, pipe.dev_cells = power, cells
                return j
            power = dev * dev if cells == 0 else power + beta * (dev * dev - power)
            cells += 1
        pipe.dev_power, pipe.dev_cells = power, cells
        return len(deviation)

    def _breathing(self, t: FloatArray, hp: FloatArray, out: _Collector) -> None:
        """Band-limit, project on the breathing axis and find breaths, for quiet cells."""
        cfg = self.config
        pipe = self._pipe
        n = t.size
        if pipe.band_zi is None:
            pipe.band_zi = np.zeros((self._sos.shape[0], 2, 3))
        # Section by section (what sosfilt does, without its per-call overhead).
        band = hp
        for k, section in enumerate(self._sos):
            band, pipe.band_zi[k] = lfilter(section[:3], section[3:], band, axis=0,
                                            zi=pipe.band_zi[k])
        band = np.asarray(band, dtype=np.float64)

        # Breathing axis, every `update_cells` cells since the reset, from the last window.
        buf = np.concatenate((pipe.history, band))
        h0 = pipe.history.shape[0]
        first = pipe.cells_since_reset
        counts = first + np.arange(1, n + 1)  # cells since reset, at each cell
        updates = np.flatnonzero((counts % self._update_cells == 0)
                                 & (counts >= self._min_cells))
        axis_at = np.full((n, 3), np.nan)
        present_at = np.zeros(n, dtype=bool)
        axis = pipe.axis
        present = pipe.present
        last = 0
        for u in updates:
            if axis is not None:
                axis_at[last:u + 1] = axis
                present_at[last:u + 1] = present
            pos = h0 + int(u)
            win = buf[max(0, pos + 1 - self._window_cells):pos + 1]
            cov = win.T @ win / win.shape[0]
            evals, evecs = np.linalg.eigh(cov)
            new = evecs[:, -1]
            if axis is None:
                new = new * (1.0 if new[np.argmax(np.abs(new))] >= 0 else -1.0)
            elif float(new @ axis) < 0:
                new = -new
            total = float(evals.sum())
            rms = math.sqrt(max(float(evals[-1]), 0.0))
            present = (total > 0 and float(evals[-1]) / total >= cfg.min_axis_share
                       and rms >= cfg.min_breathing_rms_mg)
            if axis is None:
                pipe.level = max(float(evals[-1]), 1e-12)
            axis = new
            last = int(u) + 1
        if axis is not None:
            axis_at[last:] = axis
            present_at[last:] = present
        pipe.axis = axis
        pipe.present = present
        pipe.history = buf[-self._window_cells:].copy()
        pipe.cells_since_reset = first + n

        y = np.einsum("ij,ij->i", band, axis_at)
        valid = np.isfinite(y)
        y_level = np.where(valid, y, 0.0)

        # Recent breathing power (exponential mean of y^2) sets the hysteresis threshold; a
        # cell is judged against the level before it, so it cannot raise its own bar.
        thr = np.full(n, np.inf)
        if valid.any():
            v0 = int(np.argmax(valid))  # the axis, once found, stays: valid is a suffix
            la = self._level_alpha
            before = pipe.level
            lv, _ = lfilter([la], [1.0, -(1.0 - la)], y_level[v0:] ** 2,
                            zi=[(1.0 - la) * before])
            lv = np.asarray(lv, dtype=np.float64)
            prev_level = np.concatenate(([before], lv[:-1]))
            thr[v0:] = np.maximum(cfg.hysteresis_fraction * np.sqrt(2.0 * prev_level),
                                  0.5 * cfg.min_breathing_rms_mg)
            pipe.level = float(lv[-1])
        marks = np.where(valid & (y > thr), 1, np.where(valid & (y < -thr), -1, 0))
        self._detect(t, y, marks, present_at, out)

    def _detect(self, t: FloatArray, y: FloatArray, marks: npt.NDArray[np.int64],
                present_at: npt.NDArray[np.bool_], out: _Collector) -> None:
        """Hysteresis crossings to breaths, and the per-cell rate, phase and status."""
        cfg = self.config
        pipe = self._pipe
        n = t.size
        # Zero crossings (interpolated), including the one from the previous chunk's last cell.
        yy = np.concatenate(([pipe.prev_y], y))
        tt = np.concatenate(([pipe.prev_t], t))
        up_zc = np.flatnonzero((yy[:-1] < 0) & (yy[1:] >= 0))
        down_zc = np.flatnonzero((yy[:-1] >= 0) & (yy[1:] < 0))

        def zc_time(j: int) -> float:
            y0, y1 = float(yy[j]), float(yy[j + 1])
            return float(tt[j] + (tt[j + 1] - tt[j]) * (-y0) / (y1 - y0))

        rate_at = np.full(n, np.nan)
        phase_at = np.full(n, np.nan)
        status_at = np.zeros(n, dtype=np.int8)
        new_breaths: list[tuple[float, float, float, float]] = []
        max_period = 60.0 / cfg.min_rate_per_min
        min_period = 60.0 / cfg.max_rate_per_min

        # Cells where the hysteresis state flips are the (few) events; walk them in order.
        state = pipe.hyst_state
        nz = np.flatnonzero(marks != 0)
        events: list[int] = []
        if nz.size:
            vals = marks[nz]
            prev_vals = np.concatenate(([state], vals[:-1]))
            events = [int(i) for i in nz[vals != prev_vals]]
        bounds = [*events, n]
        pos = 0
        for e in bounds:
            # Cells pos..e-1 carry the state before event e.
            if e > pos:
                seg = y[pos:e]
                finite = seg[np.isfinite(seg)]
                if finite.size:
                    pipe.cycle_max = max(pipe.cycle_max, float(finite.max()))
                    pipe.cycle_min = min(pipe.cycle_min, float(finite.min()))
                self._fill(t[pos:e], present_at[pos:e], np.isfinite(y[pos:e]), rate_at, phase_at,
                           status_at, pos)
            if e == n:
                break
            new_state = int(marks[e])
            if state != 0 and new_state != state:
                # The crossing that led to the flip may lie in an earlier chunk.
                if new_state > 0:
                    cands = up_zc[up_zc <= e]
                    zc = zc_time(int(cands[-1])) if cands.size else pipe.seen_up_zc_s
                    self._up_event(zc, bool(present_at[e]), min_period, max_period,
                                   new_breaths)
                else:
                    cands = down_zc[down_zc <= e]
                    zc = zc_time(int(cands[-1])) if cands.size else pipe.seen_down_zc_s
                    pipe.saw_down = True
                    pipe.last_event_s = zc
                    pipe.last_event_up = False
            state = new_state
            pos = e
        pipe.hyst_state = state
        if up_zc.size:
            pipe.seen_up_zc_s = zc_time(int(up_zc[-1]))
        if down_zc.size:
            pipe.seen_down_zc_s = zc_time(int(down_zc[-1]))
        pipe.prev_y = float(y[-1]) if np.isfinite(y[-1]) else math.nan
        pipe.prev_t = float(t[-1])
        out.add(t, np.where(np.isfinite(y), y, np.nan), phase_at, rate_at, status_at,
                new_breaths)
        self._latest_rate = float(rate_at[-1])
        self._latest_status = BreathingStatus(int(status_at[-1]))

    def _up_event(self, zc: float, present: bool, min_period: float, max_period: float,
                  new_breaths: list[tuple[float, float, float, float]]) -> None:
        cfg = self.config
        pipe = self._pipe
        start = pipe.breath_start_s
        if (present and math.isfinite(start) and pipe.saw_down
                and start >= pipe.settle_until_s):
            duration = zc - start
            if min_period <= duration <= max_period:
                rate = 60.0 / duration
                amplitude = pipe.cycle_max - pipe.cycle_min
                new_breaths.append((start, zc, rate, amplitude))
                pipe.recent_rates = [*pipe.recent_rates, rate][-cfg.smoothing_breaths:]
                pipe.current_rate = float(np.median(pipe.recent_rates))
                pipe.last_breath_end_s = zc
            elif duration > max_period:
                pipe.recent_rates = []
                pipe.current_rate = math.nan
        if not present:
            pipe.recent_rates = []
            pipe.current_rate = math.nan
        pipe.breath_start_s = zc
        pipe.saw_down = False
        pipe.cycle_max = -math.inf
        pipe.cycle_min = math.inf
        pipe.last_event_s = zc
        pipe.last_event_up = True

    def _fill(self, t: FloatArray, present: npt.NDArray[np.bool_],
              judged: npt.NDArray[np.bool_], rate_at: FloatArray, phase_at: FloatArray,
              status_at: npt.NDArray[np.int8], offset: int) -> None:
        """Rate, phase and status of cells between two events (vectorised)."""
        cfg = self.config
        pipe = self._pipe
        sl = slice(offset, offset + t.size)
        rate = pipe.current_rate
        if math.isfinite(rate):
            period = 60.0 / rate
            timeout = max(cfg.min_timeout_s, cfg.timeout_breaths * period)
            alive = (t - pipe.last_breath_end_s <= timeout) & present
            rate_at[sl] = np.where(alive, rate, np.nan)
            half = 0.5 * period
            base = 0.0 if pipe.last_event_up else math.pi
            ph = base + math.pi * np.clip((t - pipe.last_event_s) / half, 0.0, 0.999)
            phase_at[sl] = np.where(alive, ph, np.nan)
        else:
            alive = np.zeros(t.size, dtype=bool)
        settling = t < pipe.settle_until_s
        waiting = (BreathingStatus.MOVEMENT if pipe.after_movement
                   else BreathingStatus.STARTING)
        # A rate that timed out (breaths stopped) says no breathing signal, like no signal.
        timed_out = math.isfinite(rate) & ~alive
        status = np.where(
            alive, BreathingStatus.BREATHING,
            np.where(settling, waiting,
                     np.where(present & ~timed_out, BreathingStatus.STARTING,
                              BreathingStatus.NO_SIGNAL)))
        # Before the first breathing axis the signal is not judged yet.
        status = np.where(judged, status, np.where(settling, waiting, BreathingStatus.STARTING))
        status_at[sl] = status.astype(np.int8)


class _Collector:
    """Gathers the pieces of one update in order."""

    def __init__(self) -> None:
        self.t: list[FloatArray] = []
        self.trace: list[FloatArray] = []
        self.phase: list[FloatArray] = []
        self.rate: list[FloatArray] = []
        self.status: list[npt.NDArray[np.int8]] = []
        self.breaths: list[tuple[float, float, float, float]] = []

    def add(self, t: FloatArray, trace: FloatArray, phase: FloatArray, rate: FloatArray,
            status: npt.NDArray[np.int8],
            breaths: list[tuple[float, float, float, float]]) -> None:
        self.t.append(t)
        self.trace.append(trace)
        self.phase.append(phase)
        self.rate.append(rate)
        self.status.append(status)
        self.breaths.extend(breaths)

    def add_blank(self, t: FloatArray, status: BreathingStatus) -> None:
        nan = np.full(t.size, np.nan)
        self.add(t, nan, nan, nan, np.full(t.size, int(status), dtype=np.int8), [])

    def update(self, latest_rate: float, latest_status: BreathingStatus) -> BreathingUpdate:
        b = np.asarray(self.breaths, dtype=np.float64).reshape(-1, 4)
        def cat(parts: list[FloatArray]) -> FloatArray:
            return np.concatenate(parts) if parts else _empty_f()

        return BreathingUpdate(
            breath_start_s=b[:, 0].copy(), breath_end_s=b[:, 1].copy(),
            breath_rate_per_min=b[:, 2].copy(), breath_amplitude_mg=b[:, 3].copy(),
            t_s=cat(self.t), trace_mg=cat(self.trace), phase_rad=cat(self.phase),
            rate_per_min=cat(self.rate),
            status=(np.concatenate(self.status) if self.status else np.zeros(0, np.int8)),
            latest_rate_per_min=latest_rate, latest_status=latest_status)


def concatenate_updates(updates: list[BreathingUpdate]) -> AccBreathing:
    """One result from consecutive updates (what a stream produced, as a whole)."""
    if not updates:
        return AccBreathingStream()._empty_update()
    def cat(name: str) -> FloatArray:
        return np.concatenate([getattr(u, name) for u in updates])
    return BreathingUpdate(
        breath_start_s=cat("breath_start_s"), breath_end_s=cat("breath_end_s"),
        breath_rate_per_min=cat("breath_rate_per_min"),
        breath_amplitude_mg=cat("breath_amplitude_mg"), t_s=cat("t_s"),
        trace_mg=cat("trace_mg"), phase_rad=cat("phase_rad"), rate_per_min=cat("rate_per_min"),
        status=np.concatenate([u.status for u in updates]),
        latest_rate_per_min=updates[-1].latest_rate_per_min,
        latest_status=updates[-1].latest_status)


def breathing_from_acc(
    t_s: npt.ArrayLike, acc_mg: npt.ArrayLike, config: AccBreathingConfig | None = None
) -> AccBreathing:
    """Breaths, rates and the breathing trace of a whole chest accelerometer recording.

    Parameters
    ----------
    t_s : sample times, s (increasing; e.g. the strap's clock).
    acc_mg : (n, 3) x/y/z acceleration, mg.
    config : the method's settings (defaults: the app's).

    Returns
    -------
    The same as one :meth:`AccBreathingStream.feed` of all samples.
    """
    return AccBreathingStream(config).feed(t_s, acc_mg)
