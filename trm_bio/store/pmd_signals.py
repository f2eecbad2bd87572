"""A session's stored PMD frames as signals on the session's clock: ECG (µV) and ACC (mg).

The library keeps every Polar PMD data frame as received, with its host arrival time
(:class:`devices.pmd.PmdFrame`). This module decodes them and puts every sample on the
session's clock (s from its start, the beat clock's zero), for the exports:

* Runs. Frames of one stream follow each other in a *run* while each frame's samples fill
  the strap time since the previous frame at about the nominal rate (0.5 to 1.5 sample
  periods a sample): a lost frame, a restarted stream or a reconnect starts a new run.
* Sample times inside a run come from the strap's clock, as the polar-ble-sdk computes
  them: a frame's samples are spread evenly between the previous frame's last sample
  and its own (so the strap's real rate, 130.16 Hz on the H10 rather than 130, is kept);
  a run's first frame borrows the spacing of the frame after it.
* Strap clock to session clock, per run: a frame arrives after its last sample, by a
  radio latency that varies from frame to frame; its smallest value is the best measure
  of the clocks' offset (the minimum-delay estimate of clock synchronisation). The
  offset (host arrival minus strap time) is taken as the minimum in each 30 s of the run
  (a last stretch under 15 s joins the window before it), and a straight line through
  these minima (clock drift, tens of ppm) maps strap time to host time; a run shorter
  than two such windows uses its one minimum. The samples thus sit late by the smallest
  radio delay (a few ms), which no receiver can measure.

Frames that cannot be decoded are counted and left out (their bytes stay in the library).
:func:`on_grid` resamples a signal at a fixed rate for EDF+, with gaps filled by 0 and
returned so they can be annotated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from devices.errors import MalformedPacketError
from devices.pmd import ACC_SETTINGS, ECG_SETTINGS, PmdSetting, PmdStream, decode_frame

log = logging.getLogger(__name__)

#: The rates trm-bio asks a strap for (Hz): ECG 130, ACC 200.
NOMINAL_RATE_HZ: dict[PmdStream, float] = {
    PmdStream.ECG: float(ECG_SETTINGS[PmdSetting.SAMPLE_RATE]),
    PmdStream.ACC: float(ACC_SETTINGS[PmdSetting.SAMPLE_RATE]),
}
#: Column names of each stream's samples in exports, with their unit.
COLUMNS: dict[PmdStream, tuple[str, ...]] = {
    PmdStream.ECG: ("ecg_uv",),
    PmdStream.ACC: ("acc_x_mg", "acc_y_mg", "acc_z_mg"),
}
#: Length of the window in which the smallest arrival delay is taken (s of strap time).
OFFSET_WINDOW_S = 30.0
_NS = 1_000_000_000


@dataclass(frozen=True)
class StrapSignal:
    """Every decoded sample of one PMD stream of a session, on the session's clock.

    Attributes
    ----------
    stream : PmdStream
        ECG or ACC.
    rate_hz : float
        The nominal rate (Hz).
    time_s : ndarray
        Session-clock time of each sample (s from the session start), float64, increasing
        inside a run.
    values : ndarray
        int32 samples: ECG shape (n,) in µV; ACC shape (n, 3), x/y/z in mg.
    run : ndarray
        Run number of each sample (int64, from 0): a new run after a lost frame.
    frames : int
        Frames decoded.
    malformed : int
        Frames of this stream that could not be decoded (left out).
    """

    stream: PmdStream
    rate_hz: float
    time_s: npt.NDArray[np.float64] = field(repr=False)
    values: npt.NDArray[np.int32] = field(repr=False)
    run: npt.NDArray[np.int64] = field(repr=False)
    frames: int = 0
    malformed: int = 0

    def __len__(self) -> int:
        return int(self.time_s.size)

    @property
    def columns(self) -> tuple[str, ...]:
        """Export column names of :attr:`values` (``ecg_uv``; ``acc_x_mg``...)."""
        return COLUMNS[self.stream]

    def column_values(self) -> dict[str, npt.NDArray[np.int32]]:
        """The samples by export column name."""
        values = self.values.reshape(len(self), -1)
        return {name: values[:, i] for i, name in enumerate(self.columns)}

    def run_spans(self) -> list[tuple[float, float]]:
        """(first, last) sample time of every run (s)."""
        if not len(self):
            return []
        bounds = np.flatnonzero(np.diff(self.run)) + 1
        firsts = np.concatenate(([0], bounds))
        lasts = np.concatenate((bounds - 1, [len(self) - 1]))
        return list(zip(self.time_s[firsts].tolist(), self.time_s[lasts].tolist(), strict=True))


def strap_signals(
    host_ns: npt.ArrayLike, payloads: Sequence[bytes], source_ids: Sequence[str], start_ns: int
) -> dict[PmdStream, StrapSignal]:
    """Decode a session's PMD frames and time every sample on the session's clock.

    Parameters
    ----------
    host_ns, payloads, source_ids
        The frames in arrival order (a :class:`~trm_bio.store.library.PacketBatch`'s
        fields): host arrival times (ns), raw bytes, strap ids.
    start_ns : int
        Host time of the session start (ns): zero of the session's clock.

    Returns
    -------
    dict
        One :class:`StrapSignal` per stream present (ECG, ACC); streams without a single
        decodable frame are left out.
    """
    arrivals = np.asarray(host_ns, dtype=np.int64)
    decoded: dict[PmdStream, list[tuple[int, str, int, npt.NDArray[np.int32]]]] = {}
    malformed: dict[PmdStream, int] = {}
    n_malformed = 0
    first_problem: str | None = None
    for arrival, payload, source in zip(arrivals.tolist(), payloads, source_ids, strict=True):
        try:
            frame = decode_frame(payload)
        except MalformedPacketError as exc:
            n_malformed += 1
            if payload and payload[0] in NOMINAL_RATE_HZ:
                stream = PmdStream(payload[0])
                malformed[stream] = malformed.get(stream, 0) + 1
            first_problem = first_problem or str(exc)
            continue
        if frame.n_samples:
            decoded.setdefault(frame.stream, []).append(
                (int(arrival), source, frame.strap_ns, frame.samples)
            )
    if first_problem is not None:
        log.warning(
            "%d PMD frame(s) could not be decoded and are left out (their bytes are kept); "
            "the first: %s",
            n_malformed,
            first_problem,
        )
    return {
        stream: _time_stream(stream, frames, int(start_ns), malformed.get(stream, 0))
        for stream, frames in decoded.items()
    }


def _time_stream(
    stream: PmdStream,
    frames: list[tuple[int, str, int, npt.NDArray[np.int32]]],
    start_ns: int,
    malformed: int,
) -> StrapSignal:
    rate_hz = NOMINAL_RATE_HZ[stream]
    period_ns = _NS / rate_hz
    # Host arrival since the session start: within the span a session may have (the
    # library and the import check it), so exact in int64.
    since_start = np.array([f[0] - start_ns for f in frames], dtype=np.int64)
    strap = np.array([f[2] for f in frames], dtype=np.uint64)  # any 64-bit strap time
    counts = np.array([f[3].shape[0] for f in frames], dtype=np.int64)
    sources = [f[1] for f in frames]
    # Runs, from the spacing each frame's samples would have since the previous frame
    # (float: at any magnitude its error is microseconds, far below the bounds).
    step = np.full(len(frames), period_ns)
    step[1:] = np.diff(strap.astype(np.float64)) / counts[1:]
    new_run = np.ones(len(frames), dtype=bool)
    new_run[1:] = (
        (step[1:] < 0.5 * period_ns)
        | (step[1:] > 1.5 * period_ns)
        | np.array([a != b for a, b in zip(sources[1:], sources[:-1], strict=True)], dtype=bool)
    )
    run = np.cumsum(new_run) - 1
    # Strap time since its run's first frame: small and exact (ns).
    strap_in_run = (strap - strap[np.flatnonzero(new_run)][run]).astype(np.int64)
    step[1:] = np.diff(strap_in_run) / counts[1:]  # exact inside runs
    # A run's first frame borrows the spacing of the next frame of its run.
    step[new_run] = period_ns
    borrow = np.flatnonzero(new_run[:-1] & ~new_run[1:])
    step[borrow] = step[borrow + 1]
    # Host-minus-strap offset of each frame's run at its time (see the module's notes).
    offset_ns = _offsets(since_start - strap_in_run, strap_in_run, run)
    frame_of = np.repeat(np.arange(len(frames)), counts)
    ends = np.cumsum(counts)
    before_last = ends[frame_of] - 1 - np.arange(int(ends[-1]))  # samples after it in its frame
    # Each sample: its frame's last sample on the session's clock, minus the strap time
    # between them (ns, exact integers until the final division).
    session_ns = (
        strap_in_run[frame_of]
        + offset_ns[frame_of]
        - np.round(before_last * step[frame_of]).astype(np.int64)
    )
    values = np.concatenate([f[3] for f in frames]).astype(np.int32)
    return StrapSignal(
        stream,
        rate_hz,
        session_ns / _NS,
        values,
        run[frame_of].astype(np.int64),
        frames=len(frames),
        malformed=malformed,
    )


def _offsets(
    delay_ns: npt.NDArray[np.int64], strap_ns: npt.NDArray[np.int64], run: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Host-minus-strap offset (ns) at each frame: per run, the minimum delay in each
    window, and a least-squares line through those minima when there are two or more.
    ``strap_ns`` counts from each run's first frame."""
    out = np.empty(delay_ns.size, dtype=np.int64)
    window_ns = int(OFFSET_WINDOW_S * _NS)
    bounds = np.flatnonzero(np.diff(run)) + 1
    for first, stop in zip(
        np.r_[0, bounds].tolist(), np.r_[bounds, run.size].tolist(), strict=True
    ):
        t = strap_ns[first:stop]
        d = delay_ns[first:stop]
        base = int(d.min())
        window = t // window_ns
        if window[-1] > 0 and t[-1] - window[-1] * window_ns < window_ns // 2:
            window[window == window[-1]] -= 1  # a short last window joins the one before
        firsts = np.flatnonzero(np.r_[True, np.diff(window) != 0]).tolist()
        if len(firsts) < 2:
            out[first:stop] = base
            continue
        ends = [*firsts[1:], d.size]
        lowest = [lo + int(np.argmin(d[lo:hi])) for lo, hi in zip(firsts, ends, strict=True)]
        slope, intercept = np.polyfit(t[lowest].astype(np.float64), d[lowest] - base, 1)
        out[first:stop] = base + np.round(intercept + slope * t.astype(np.float64)).astype(np.int64)
    return out


def on_grid(
    signal: StrapSignal, n_samples: int, rate_hz: float | None = None
) -> tuple[npt.NDArray[np.float64], list[tuple[float, float]]]:
    """The signal at a fixed rate from time 0, for EDF+: linear between samples of a run.

    Parameters
    ----------
    signal : StrapSignal
        Samples on the session's clock.
    n_samples : int
        Length of the grid (samples at ``rate_hz`` from 0 s).
    rate_hz : float or None
        The grid's rate (Hz); the stream's nominal rate by default.

    Returns
    -------
    values : ndarray
        float64, shape (n_samples,) or (n_samples, 3); 0 where no run covers the time.
    gaps : list of (start_s, end_s)
        Times on the grid's span that no run covers (no data: before the stream started,
        frames lost, after it stopped), for annotations.
    """
    rate = signal.rate_hz if rate_hz is None else float(rate_hz)
    grid = np.arange(n_samples) / rate
    columns = signal.values.reshape(len(signal), -1).astype(np.float64)
    out = np.zeros((n_samples, columns.shape[1]), dtype=np.float64)
    covered: list[tuple[float, float]] = []
    bounds = np.flatnonzero(np.diff(signal.run)) + 1 if len(signal) else np.zeros(0, np.int64)
    for first, stop in zip(
        np.r_[0, bounds].tolist(), np.r_[bounds, len(signal)].tolist(), strict=True
    ):
        if stop <= first:
            continue
        times = signal.time_s[first:stop]
        inside = np.flatnonzero((grid >= times[0]) & (grid <= times[-1]))
        for c in range(columns.shape[1]):
            out[inside, c] = np.interp(grid[inside], times, columns[first:stop, c])
        covered.append((float(times[0]), float(times[-1])))
    end = n_samples / rate
    gaps: list[tuple[float, float]] = []
    reached = 0.0
    tolerance = 1.5 / signal.rate_hz
    for begin, last in sorted(covered):
        if begin - reached > tolerance and begin > 0.0:
            gaps.append((reached, min(begin, end)))
        reached = max(reached, last)
    if end - reached > tolerance:
        gaps.append((reached, end))
    values = out[:, 0] if signal.stream is PmdStream.ECG else out
    return values, [(a, b) for a, b in gaps if b > a]
