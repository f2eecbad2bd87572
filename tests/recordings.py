"""Loaders for the real recordings in ../shared/data (or $TRM_BIO_DATA); used by tests and bench.

The files are read in place, never copied into the repository.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The folder of real recordings: $TRM_BIO_DATA, else ../shared/data beside the project."""
    env = os.environ.get("TRM_BIO_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "data")
    for path in candidates:
        if (path / "nsr001_rr_secs.txt").exists():
            return path
    return None


def _require() -> Path:
    path = shared_data_dir()
    if path is None:
        raise FileNotFoundError("the real recordings are not here: set TRM_BIO_DATA")
    return path


def nsr001_rr_ms() -> np.ndarray:
    """22.5 h Holter RR series (ms); the file's first line is an offset and is dropped."""
    values = np.loadtxt(_require() / "nsr001_rr_secs.txt", dtype=np.float64)
    return values[1:] * 1000.0


MITDB_RECORDS = ("100", "101", "105", "106", "116", "119", "201", "203", "208", "219", "223")
_BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


@dataclass(frozen=True)
class MitdbBeats:
    """Beats of an MIT-BIH Arrhythmia record from the cardiologist annotations."""

    peak_samples: np.ndarray  # R-peak sample index (360 Hz)
    symbols: np.ndarray  # annotation symbol per beat ('N', 'A', 'V', ...)
    rr_ms: np.ndarray  # interval ending at each beat (ms); len = len(peaks) - 1
    sampling_rate_hz: float
    rhythm: np.ndarray | None = None  # rhythm in force at each beat ('(N', '(AFIB', ...)
    # Per interval: a non-conducted P wave ('x', a blocked atrial premature beat) lies in it.
    blocked: np.ndarray | None = None

    @property
    def ectopic_beat_index(self) -> np.ndarray:
        """Index into ``rr_ms`` of intervals that end at a non-normal beat."""
        return np.flatnonzero(self.symbols[1:] != "N")

    def nn_ms(self) -> np.ndarray:
        """Normal-to-normal intervals: both ends annotated 'N' (as neurokit2's reference)."""
        normal = self.symbols == "N"
        keep = normal[1:] & normal[:-1]
        return self.rr_ms[keep]


def mitdb(record: str) -> MitdbBeats:
    """An MIT-BIH record's annotated beats (one of ``MITDB_RECORDS``) and their rhythm."""
    import wfdb

    ann = wfdb.rdann(str(_require() / "mitdb" / record), "atr")
    symbols_all = np.asarray(ann.symbol)
    mask = np.isin(symbols_all, list(_BEAT_SYMBOLS))
    # Rhythm changes are '+' annotations whose aux_note names the new rhythm.
    notes = [note.strip("\x00") if sym == "+" else "" for sym, note in
             zip(ann.symbol, ann.aux_note, strict=True)]
    change = np.flatnonzero([bool(note) for note in notes])
    which = np.searchsorted(change, np.arange(symbols_all.size), side="right") - 1
    rhythm_all = np.where(which >= 0, np.asarray(notes, dtype=object)[change[which]], "")
    peaks = np.asarray(ann.sample)[mask]
    rr_ms = np.diff(peaks) / ann.fs * 1000.0
    beat_number = np.cumsum(mask)  # beats up to and including each annotation
    blocked = np.zeros(rr_ms.size, dtype=bool)
    after = beat_number[(symbols_all == "x") & (beat_number > 0)]  # x after beat `after`
    blocked[after[after <= rr_ms.size] - 1] = True
    return MitdbBeats(peaks, symbols_all[mask], rr_ms, float(ann.fs),
                      rhythm_all[mask].astype(str), blocked)


def mitdb100() -> MitdbBeats:
    """MIT-BIH record 100 (2,239 normal, 33 atrial premature, 1 ventricular premature)."""
    return mitdb("100")


def mitdb100_ecg() -> tuple[np.ndarray, float]:
    """Lead MLII of record 100 (mV) and its sampling rate (Hz)."""
    import wfdb

    rec = wfdb.rdrecord(str(_require() / "mitdb" / "100"), channels=[0])
    return rec.p_signal[:, 0].astype(np.float64), float(rec.fs)


def polar_strap_rr_ms() -> np.ndarray:
    """The Polar H10's own RR values (ms), PVC-heavy with long stretches of bigeminy."""
    import csv

    rr: list[float] = []
    with open(_require() / "polar_h10_ecg_rr.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["rr"]:
                rr.append(float(row["rr"]))
    return np.asarray(rr, dtype=np.float64)


def oracle_series(name: str) -> np.ndarray:
    """The RR series the neurokit2 oracle tests use: "nsr001" (its recording pauses over
    3 s left out), "mitdb100" (annotated normal-to-normal intervals) or "polar"."""
    if name == "nsr001":
        rr = nsr001_rr_ms()
        return rr[rr <= 3000]
    if name == "mitdb100":
        return mitdb100().nn_ms()
    return polar_strap_rr_ms()


#: Beat annotation symbols of the MIT-BIH databases (non-beat annotations are left out).
MITDB_BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


@dataclass(frozen=True)
class MitdbRhythm:
    """An MIT-BIH record's beats with the annotated rhythm each interval ends in."""

    rr_ms: np.ndarray  # interval ending at each beat after the first (ms)
    times_s: np.ndarray  # time of that beat from the first beat (s)
    rhythm: np.ndarray  # the rhythm annotation in force at that beat: "(N", "(AFIB", ...

    @property
    def atrial_fibrillation(self) -> np.ndarray:
        """Intervals in atrial fibrillation or flutter."""
        return np.isin(self.rhythm, ("(AFIB", "(AFL"))


@functools.lru_cache(maxsize=16)
def mitdb_rhythm(record: str) -> MitdbRhythm:
    """RR intervals and annotated rhythm of MIT-BIH record ``record`` (e.g. "219")."""
    import wfdb

    ann = wfdb.rdann(str(_require() / "mitdb" / record), "atr")
    rhythm, current, peaks = [], "(N", []
    for sample, symbol, note in zip(ann.sample, ann.symbol, ann.aux_note, strict=True):
        note = note.strip("\x00")
        if note.startswith("("):
            current = note
        if symbol in MITDB_BEAT_SYMBOLS:
            peaks.append(sample / ann.fs)
            rhythm.append(current)
    peaks_s = np.asarray(peaks)
    return MitdbRhythm(np.diff(peaks_s) * 1000.0, peaks_s[1:] - peaks_s[0],
                       np.asarray(rhythm[1:]))


@functools.lru_cache(maxsize=4)
def drivedb_r_peaks_s(record: str) -> np.ndarray:
    """R-peak times (s) of a drivedb record's ECG ("drive06", "drive17a").

    neurokit2 finds the peaks on its cleaned ECG; each is then moved to the raw ECG's
    maximum within 40 ms and refined to a fraction of a sample (a parabola through the three
    samples), so the intervals keep the ECG's timing rather than the filter's.
    """
    import neurokit2 as nk
    import wfdb

    rec = wfdb.rdrecord(str(_require() / "drivedb" / record), smooth_frames=False)
    channel = rec.sig_name.index("ECG")
    ecg = np.asarray(rec.e_p_signal[channel], dtype=np.float64)
    fs = float(rec.fs) * rec.samps_per_frame[channel]
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=fs), sampling_rate=fs)
    found = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    reach = int(0.04 * fs)
    around = np.clip(found[:, None] + np.arange(-reach, reach + 1)[None, :], 1, ecg.size - 2)
    peak = around[np.arange(found.size), np.argmax(ecg[around], axis=1)]
    before, at, after = ecg[peak - 1], ecg[peak], ecg[peak + 1]
    curve = before - 2 * at + after
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curve < 0, 0.5 * (before - after) / curve, 0.0)
    return (peak + np.clip(shift, -0.5, 0.5)) / fs


@dataclass(frozen=True)
class Belt:
    """A drivedb record's chest respiration belt."""

    signal: np.ndarray  # belt (arbitrary units)
    fs_hz: float


@functools.lru_cache(maxsize=4)
def drivedb_belt(record: str) -> Belt:
    """The RESP channel of a drivedb record, at its own rate (about 31 Hz)."""
    import wfdb

    rec = wfdb.rdrecord(str(_require() / "drivedb" / record), smooth_frames=False)
    channel = rec.sig_name.index("RESP")
    signal = np.asarray(rec.e_p_signal[channel], dtype=np.float64)
    return Belt(signal, float(rec.fs) * rec.samps_per_frame[channel])
