"""Real chest accelerometer recordings with paced breathing, read in place (never copied).

Paoli F., "Respiration-rate-and-heart-rate-detection" (University of Milan, 2021; MIT
licence; github.com/FedericaPaoli1/Respiration-rate-and-heart-rate-detection, folder
``signals``): a smartphone's LSM6DS3 accelerometer (about 202 Hz) lying on the chest of a
supine person who breathed with a metronome, 12 breaths at one breath every 2, 4, 6, 8, 10,
12, 16 and 20 s, at two positions on the chest (``pos1``, ``pos2``). Columns: time (s),
x, y, z (g) and the total (g). The truth is the metronome's rate; the person follows it
closely, not exactly.

The files are found in ``$TRM_BIO_CHEST_ACC``, else in ``chest_acc_paoli2021`` inside the
shared recordings folder (tests/recordings.shared_data_dir).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import recordings

MISSING = ("the real chest accelerometer recordings (Paoli 2021) are not here: set "
           "TRM_BIO_CHEST_ACC to a folder holding their signals/*.txt files")
_FOLDER = "chest_acc_paoli2021"
_PATTERN = "pos*_accelerometer_data_*sbreathing.txt"


def paoli_dir() -> Path | None:
    """The folder of the Paoli 2021 files, or None when they are not on this machine."""
    candidates = []
    env = os.environ.get("TRM_BIO_CHEST_ACC")
    if env:
        candidates.append(Path(env))
    shared = recordings.shared_data_dir()
    if shared is not None:
        candidates.append(shared / _FOLDER)
    for path in candidates:
        if path.is_dir() and any(path.glob(_PATTERN)):
            return path
    return None


@dataclass(frozen=True)
class ChestRecording:
    """One recording: sample times (s), x/y/z (mg) and the metronome's rate (/min)."""

    name: str
    t_s: np.ndarray
    acc_mg: np.ndarray
    paced_per_min: float


def load_paoli(path: Path) -> ChestRecording:
    """Read one file; the breathing period is in its name (``..._6sbreathing.txt``)."""
    data = np.loadtxt(path, delimiter=",")
    period_s = float(path.name.split("_")[-1].removesuffix("sbreathing.txt"))
    return ChestRecording(path.name, data[:, 0], data[:, 1:4] * 1000.0, 60.0 / period_s)


def paoli_recordings() -> list[ChestRecording]:
    """Every recording, by position then period (empty when the files are absent)."""
    folder = paoli_dir()
    if folder is None:
        return []
    recs = [load_paoli(p) for p in folder.glob(_PATTERN)]
    return sorted(recs, key=lambda r: (r.name[:4], -r.paced_per_min))
