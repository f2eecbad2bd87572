"""Loaders for the real recordings in ../shared/data (or $TRM_BIO_DATA); used by tests and bench.

The files are read in place, never copied into the repository.
"""

from __future__ import annotations

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
