"""Unusable ECG left out of ``trm-bio analyze`` (trm_bio/core/ecg_quality.py), measured.

1. Per real record (the MIT-BIH records, the drivedb drives' ECG, the Polar H10 file in
   ../shared/data): the share of the ECG judged unusable, the stretches, and the RMSSD
   from the ECG before (every detected beat) and after (the beats of unusable stretches
   left out), beside the RMSSD of the cardiologists' annotated beats where there are some.
   RMSSD is computed after artifact correction, as ``trm-bio analyze`` does, whether or
   not the record's HRV is then valid (``*``: not valid, e.g. bigeminy or atrial
   fibrillation, the reason is not the ECG's quality unless the share is over the limit).
2. Time to judge a long ECG: the MIT-BIH records joined (5.5 h at 360 Hz), scaled to 24 h,
   and ``analyze`` of one 30 min record end to end.

Run: ``python -m bench ecg_quality``.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from tests.recordings import MITDB_RECORDS, mitdb, shared_data_dir
from trm_bio.analysis import analyse_recording
from trm_bio.cli.analyze import read_beats
from trm_bio.core.ecg_quality import unusable_ecg
from trm_bio.core.time_domain import summary_time
from trm_bio.core.timeline import beats_from_rr
from trm_bio.store.ecg_files import read_ecg_file

OTHER_RECORDS = ("drivedb/drive06.hea", "drivedb/drive17a.hea", "polar_h10_ecg_rr.csv")


def _rmssd(beats) -> tuple[float, bool]:  # type: ignore[no-untyped-def]
    """RMSSD after artifact correction (valid or not) and whether the HRV is valid."""
    analysis, summary = analyse_recording(beats)
    rmssd = summary_time(analysis.corrected.nn_ms, analysis.corrected.segment)["RMSSD"]
    return float(rmssd), summary.hrv_valid


def _fmt(value: float, valid: bool) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}{'' if valid else '*'}"


def table() -> None:
    data = shared_data_dir()
    assert data is not None, "the real recordings are not here: set TRM_BIO_DATA"
    records = [f"mitdb/{r}.hea" for r in MITDB_RECORDS] + list(OTHER_RECORDS)
    print(f"{'record':>9}  {'unusable':>8} {'stretches':>9}  {'RMSSD before':>12} "
          f"{'after':>7} {'annotated':>9}")
    for name in records:
        path = data / name
        beats, _, detected = read_beats(path)
        assert detected is not None
        before = _rmssd(beats_from_rr(np.diff(detected.times_s) * 1000.0))
        after = _rmssd(beats)
        unusable = detected.unusable
        annotated = ""
        if name.startswith("mitdb/"):
            annotated = _fmt(*_rmssd(beats_from_rr(mitdb(path.stem).rr_ms)))
        print(f"{path.stem:>9}  {100 * unusable.share:7.1f}% {unusable.starts_s.size:9d}  "
              f"{_fmt(*before):>12} {_fmt(*after):>7} {annotated:>9}")


def speed() -> None:
    data = shared_data_dir()
    assert data is not None
    recordings = [read_ecg_file(data / "mitdb" / f"{r}.hea") for r in MITDB_RECORDS]
    ecg = np.concatenate([r.ecg_mv for r in recordings])
    fs = recordings[0].fs_hz
    times = np.arange(ecg.size) / fs
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        unusable_ecg(times, ecg, fs)
        best = min(best, time.perf_counter() - started)
    hours = ecg.size / fs / 3600
    print(f"judging {hours:.1f} h of ECG at {fs:g} Hz: {best:.2f} s "
          f"({best * 24 / hours:.1f} s for 24 h), best of 3")
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        beats, _, detected = read_beats(data / "mitdb" / "105.hea")
        assert detected is not None
        analyse_recording(beats, ecg=(detected.unusable, detected.times_s))
        best = min(best, time.perf_counter() - started)
    print(f"analyze of record 105 (30 min at 360 Hz) end to end: {best:.2f} s, best of 3")


def main() -> None:
    logging.disable(logging.WARNING)
    table()
    speed()
