"""Stretches of a recorded ECG that cannot give beats are left out of ``trm-bio analyze``.

Real records: MIT-BIH 105 (noise bursts; its RMSSD from every detected beat was twice the
annotated one) and 116, record 100 (clean: nothing may be left out), and record 100 with
real-amplitude noise laid over part of it (too much unusable: HRV not valid).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli_run import run
from tests.ecg_scoring import mitdb_ecg_at
from tests.recordings import mitdb
from trm_bio.analysis import analyse_recording
from trm_bio.core.ecg_peaks import ecg_status, ecg_status_along
from trm_bio.core.ecg_quality import MAX_UNUSABLE_SHARE, UnusableEcg
from trm_bio.core.timeline import beats_from_rr


def _annotated_rmssd(record: str) -> float:
    """RMSSD of the cardiologists' beats, analysed as analyze analyses any beats."""
    _, summary = analyse_recording(beats_from_rr(mitdb(record).rr_ms))
    return float(summary.metrics["RMSSD"])


def _beats_file(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    assert lines[0] == "beat_time_s"  # the one-column form other tools read
    return np.asarray([float(t) for t in lines[1:]])


def _series(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.asarray([float(r[key]) for r in rows]) for key in ("time_s", "rr_ms",
                                                                        "segment")}


@pytest.mark.parametrize(("record", "within"), [("105", 0.15), ("116", 0.10)])
def test_noise_bursts_are_left_out_and_said(data_dir, tmp_path, record, within) -> None:
    """Record 105's noise bursts split normal intervals into false ones that passed as normal
    (RMSSD 46.2 ms against 20.8 annotated; 116: 39.7 against 34.8)."""
    beats_out, series_out = tmp_path / "beats.csv", tmp_path / "series.csv"
    outcome = run("analyze", str(data_dir / "mitdb" / f"{record}.hea"), "--format", "json",
                  "--beats", str(beats_out), "--series", str(series_out))
    document = json.loads(outcome.out)
    annotated = _annotated_rmssd(record)
    assert document["metrics"]["RMSSD"] == pytest.approx(annotated, rel=within)
    quality = document["quality"]
    assert 0.005 < quality["ecg_unusable_share"] < 0.15
    assert quality["ecg_unusable_s"] == pytest.approx(
        quality["ecg_unusable_share"] * 1805, rel=0.01)
    assert quality["ecg_unusable_stretches"] >= 3
    # 116 is clipped at the recorder's limits in places too.
    assert quality["ecg_problems"] in ("noisy", "saturated, noisy")
    assert "could not give beats (" in quality["ecg_note"]
    assert "too noisy)" in quality["ecg_note"]
    assert document["hrv_valid"]
    # --beats still lists every beat found, those left out too.
    times = _beats_file(beats_out)
    assert times.size == document["recording"]["beats_detected"]
    series = _series(series_out)
    starts = series["time_s"] - series["rr_ms"] / 1000.0
    analysed = np.concatenate((series["time_s"], starts))
    left_out = times[np.min(np.abs(times[:, None] - analysed[None, :]), axis=1) > 1e-3]
    assert left_out.size >= quality["ecg_beats_left_out"] > 0
    # No interval analysed holds a beat found in a stretch left out, or spans one.
    inside = (left_out[:, None] >= starts[None, :] - 1e-6) & (
        left_out[:, None] <= series["time_s"][None, :] + 1e-6)
    assert not inside.any()
    assert int(series["segment"].max()) + 1 == quality["segments"] > quality[
        "ecg_unusable_stretches"] // 2
    table = run("analyze", str(data_dir / "mitdb" / f"{record}.hea")).out
    assert f"Note: {quality['ecg_note']}." in table


def test_a_clean_ecg_loses_no_beat(data_dir, tmp_path) -> None:
    beats_out = tmp_path / "beats.csv"
    outcome = run("analyze", str(data_dir / "mitdb" / "100.hea"), "--format", "json",
                  "--beats", str(beats_out))
    document = json.loads(outcome.out)
    quality = document["quality"]
    assert quality["ecg_unusable_s"] == 0 and quality["ecg_unusable_share"] == 0
    assert quality["ecg_unusable_stretches"] == 0 and quality["ecg_beats_left_out"] == 0
    assert quality["ecg_problems"] == "" and quality["ecg_note"] == ""
    assert quality["beats"] == document["recording"]["beats_detected"] - 1
    assert quality["segments"] == 1
    assert _beats_file(beats_out).size == document["recording"]["beats_detected"]
    assert "could not give beats" not in run("analyze", str(data_dir / "mitdb" / "100.hea")).out


def _write_csv(path: Path, ecg: np.ndarray, fs: float) -> Path:
    times = np.arange(ecg.size) / fs
    lines = ["time,ecg"] + [f"{t!r},{v:.4f}" for t, v in zip(times.tolist(), ecg.tolist(),
                                                               strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_too_much_unusable_ecg_makes_hrv_not_valid(data_dir, tmp_path) -> None:
    """Five minutes of record 100 whose middle 40 % carries noise (real amplitude: 1 mV)."""
    fs = 130.0
    ecg, _ = mitdb_ecg_at("100", fs)
    ecg = ecg[: int(300 * fs)].copy()
    noisy = slice(int(90 * fs), int(210 * fs))
    ecg[noisy] += np.random.default_rng(7).normal(0.0, 1.0, ecg[noisy].size)
    outcome = run("analyze", str(_write_csv(tmp_path / "ecg.csv", ecg, fs)), "--format",
                  "json")
    document = json.loads(outcome.out)
    assert not document["hrv_valid"]
    assert document["quality"]["ecg_unusable_share"] > MAX_UNUSABLE_SHARE
    assert document["reason"].startswith("with more than 25 % of the ECG left out (")
    assert "too noisy" in document["reason"]
    assert document["metrics"]["RMSSD"] is None
    # The batch table says the same and its CSV carries the ECG keys.
    batch = run("analyze", str(tmp_path / "ecg.csv"), str(data_dir / "mitdb" / "100.hea"),
                "--format", "csv").out
    header = batch.splitlines()[0].split(",")
    assert {"ecg_unusable_s", "ecg_unusable_share", "ecg_note"} <= set(header)
    table = run("analyze", str(tmp_path / "ecg.csv"), str(data_dir / "mitdb" / "100.hea")).out
    share = 100 * document["quality"]["ecg_unusable_share"]
    assert table.splitlines()[1].endswith(f"HRV not valid; {share:.1f} % of the ECG left out")
    assert "left out" not in table.splitlines()[2]


def test_the_windows_are_judged_as_ecg_status_judges_each(data_dir) -> None:
    """The vectorised judgement gives the live one's verdict window by window (record 105:
    clean and noisy windows both)."""
    ecg, _ = mitdb_ecg_at("105", 130.0)
    ecg = ecg[1150 * 130 : 1350 * 130 + 100]
    n = 4 * 130
    starts, codes = ecg_status_along(ecg, 130.0, 4.0, 2.0)
    assert np.all(np.diff(starts[:-1]) == n // 2) and starts[-1] == ecg.size - n
    assert {"ok", "noisy"} <= set(codes)
    assert codes == [ecg_status(ecg[s : s + n], 130.0).code for s in starts.tolist()]


def test_an_interval_touching_a_stretch_is_left_out_and_ends_its_segment() -> None:
    unusable = UnusableEcg(np.array([10.0]), np.array([14.0]), np.array([10.0]),
                           np.array([14.0]), ("noisy",), 30.0)
    times = np.arange(0.0, 30.0, 0.8)
    beats = unusable.beats(times)
    starts = beats.times_s - beats.rr_ms / 1000.0
    assert not np.any((starts <= 14.0) & (beats.times_s >= 10.0))
    assert beats.times_s.size == times.size - 1 - np.sum((times[1:] >= 10) & (times[:-1] <= 14))
    assert np.unique(beats.segment).tolist() == [0, 1]
    np.testing.assert_allclose(beats.times_s, times[1:][(times[1:] < 10) | (times[:-1] > 14)])
    assert unusable.code_at([9.9, 10.0, 12.0, 14.0, 14.1]).tolist() == [
        "ok", "noisy", "noisy", "noisy", "ok"]
