"""``trm-bio analyze`` on ECG files: CSV, EDF+ and WFDB, ``--beats``, and bad ECG files.

The ECG is real: MIT-BIH record 100 (read from ../shared/data, written here into the
formats a user may have) and the Polar H10 file.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from tests.cli_run import Outcome, one_sentence_error, run
from tests.ecg_scoring import mitdb_ecg_at, score
from trm_bio.core.ecg_peaks import detect_r_peaks

FS = 130.0
MINUTES = 5


def trm(*args: str, check: bool = True) -> Outcome:
    return run(*args, check=check)


@functools.lru_cache(maxsize=1)
def _ecg() -> tuple[np.ndarray, np.ndarray]:
    """Five minutes of record 100 at 130 Hz (mV) and its annotated beats (s)."""
    ecg, reference = mitdb_ecg_at("100", FS)
    n = int(MINUTES * 60 * FS)
    return ecg[:n], reference[reference < n / FS]


def _write_csv(path: Path, header: str = "time,ecg", scale: float = 1.0,
               time_scale: float = 1.0) -> Path:
    ecg, _ = _ecg()
    times = np.arange(ecg.size) / FS * time_scale
    lines = [header] + [f"{t!r},{v * scale:.4f}"
                        for t, v in zip(times.tolist(), ecg.tolist(), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_edf(path: Path, labels: tuple[str, ...] = ("ECG II",), dimension: str = "uV") -> Path:
    ecg, _ = _ecg()
    factor = {"uV": 1000.0, "mV": 1.0}[dimension]
    headers = [
        {"label": label, "dimension": dimension, "sample_frequency": FS,
         "physical_max": 10.0 * factor, "physical_min": -10.0 * factor,
         "digital_max": 32767, "digital_min": -32768, "transducer": "", "prefilter": ""}
        for label in labels
    ]
    writer = pyedflib.EdfWriter(str(path), len(labels), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)
        writer.writeSamples([ecg * factor for _ in labels])
    finally:
        writer.close()
    return path


def _beats_file(path: Path) -> tuple[np.ndarray, list[str]]:
    """Every detected beat time (s) of a --beats file and the ECG's state there."""
    lines = path.read_text().splitlines()
    assert lines[0] == "beat_time_s,ecg"
    rows = [line.split(",") for line in lines[1:]]
    return np.asarray([float(t) for t, _ in rows]), [state for _, state in rows]


def _beats_of(path: Path) -> np.ndarray:
    return _beats_file(path)[0]


def test_a_csv_ecg_gives_its_beats_and_their_hrv(data_dir, tmp_path) -> None:
    source = _write_csv(tmp_path / "ecg.csv")
    out_beats = tmp_path / "beats.csv"
    series = tmp_path / "series.csv"
    outcome = trm("analyze", str(source), "--format", "json", "--beats", str(out_beats),
                  "--series", str(series))
    document = json.loads(outcome.out)
    assert document["recording"]["format"] == "ecg-csv"
    assert document["recording"]["channel"] == "ecg"
    assert document["recording"]["sampling_rate_hz"] == pytest.approx(FS)
    beats = _beats_of(out_beats)
    assert stat.S_IMODE(os.lstat(out_beats).st_mode) == 0o600
    np.testing.assert_allclose(beats, detect_r_peaks(_ecg()[0], FS), atol=1e-6)
    result = score(_ecg()[1], beats)
    assert result.sensitivity >= 0.995 and result.ppv >= 0.995, result
    # The rest of analyze works on those beats: one series row per interval.
    assert document["quality"]["beats"] == beats.size - 1
    assert len(series.read_text().splitlines()) == beats.size
    assert document["metrics"]["HR"] == pytest.approx(60 / np.mean(np.diff(_ecg()[1])), rel=0.02)


def test_csv_units_come_from_the_header_or_the_time_step(data_dir, tmp_path) -> None:
    """µV in the header; times in ms without a unit (found from the step)."""
    plain = _beats_of_run(_write_csv(tmp_path / "a.csv"), tmp_path / "a_beats.csv")
    micro = _beats_of_run(_write_csv(tmp_path / "b.csv", "time_s,ECG (uV)", scale=1000.0),
                          tmp_path / "b_beats.csv")
    milli = _beats_of_run(_write_csv(tmp_path / "c.csv", "time,ecg", time_scale=1000.0),
                          tmp_path / "c_beats.csv")
    np.testing.assert_allclose(micro, plain, atol=1e-6)
    np.testing.assert_allclose(milli, plain, atol=1e-6)


def _beats_of_run(source: Path, out: Path) -> np.ndarray:
    trm("analyze", str(source), "--beats", str(out))
    return _beats_of(out)


def test_the_polar_h10_log_is_read_as_its_ecg(data_dir, tmp_path) -> None:
    """Its times are epoch nanoseconds; its ECG, not its interleaved RR rows, gives beats."""
    out = tmp_path / "beats.csv"
    outcome = trm("analyze", str(data_dir / "polar_h10_ecg_rr.csv"), "--format", "json",
                  "--beats", str(out))
    document = json.loads(outcome.out)
    assert document["recording"]["format"] == "ecg-csv"
    assert document["recording"]["sampling_rate_hz"] == pytest.approx(130.16, abs=0.01)
    beats = _beats_of(out)
    assert 790 <= beats.size <= 810  # the strap itself sent 798 RR in these 10 minutes
    assert beats[-1] == pytest.approx(600.0, abs=2.0)


def test_an_edf_plus_ecg_signal_gives_the_same_beats(data_dir, tmp_path) -> None:
    source = _write_edf(tmp_path / "ecg.edf", labels=("Resp", "ECG II"))
    out = tmp_path / "beats.csv"
    outcome = trm("analyze", str(source), "--beats", str(out))
    assert "ECG edf, signal ECG II, 130 Hz" in outcome.out
    beats = _beats_of(out)
    result = score(_ecg()[1], beats)
    assert result.sensitivity >= 0.995 and result.ppv >= 0.995, result
    assert result.median_error_ms <= 5.0


def test_a_wfdb_record_by_header_or_by_name(data_dir, tmp_path) -> None:
    by_header = tmp_path / "a.csv"
    by_name = tmp_path / "b.csv"
    outcome = trm("analyze", str(data_dir / "mitdb" / "100.hea"), "--beats", str(by_header))
    assert "ECG wfdb, signal MLII, 360 Hz" in outcome.out
    trm("analyze", str(data_dir / "mitdb" / "100"), "--beats", str(by_name))
    beats = _beats_of(by_header)
    np.testing.assert_array_equal(beats, _beats_of(by_name))
    import wfdb

    annotation = wfdb.rdann(str(data_dir / "mitdb" / "100"), "atr")
    beat_symbols = np.isin(annotation.symbol, list("NLRBAaJSVrFejnE/fQ?"))
    reference = np.asarray(annotation.sample)[beat_symbols] / annotation.fs
    result = score(reference, beats)
    assert result.sensitivity >= 0.995 and result.ppv >= 0.995, result


def test_a_batch_mixes_ecg_and_rr_files(data_dir, tmp_path) -> None:
    ecg = _write_csv(tmp_path / "ecg.csv")
    rr = tmp_path / "rr.txt"
    rr.write_text("\n".join(str(v) for v in np.round(np.diff(_ecg()[1]) * 1000)) + "\n")
    outcome = trm("analyze", str(ecg), str(rr), "--format", "json", "--jobs", "1")
    rows = json.loads(outcome.out)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert rows[0]["format"] == "ecg-csv" and rows[1]["format"] == "text"
    assert rows[0]["metrics"]["HR"] == pytest.approx(rows[1]["metrics"]["HR"], rel=0.01)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("time,ecg\n0,0.1\n0.0077,abc\n", "'abc' on line 3, which is not a number"),
        ("ecg,hr\n0.1,60\n0.2,60\n", "no time column"),
        ("time,ecg\n0,0.1\n0.0077,0.2\n0.0077,0.3\n", "line 4: the time does not increase"),
        ("time_s,ecg\n0,0.1\n1,0.2\n2,0.1\n", "1 Hz, which is not an ECG's rate"),
        ("time,ecg\n" + "".join(f"{i / 130},0.1\n" for i in range(300)), "at least 10 s"),
        ("time,ecg\n" + "".join(f"{i / 130},0.1\n" for i in range(3000)),
         "no heartbeats could be found"),
    ],
)
def test_a_malformed_ecg_csv_gets_one_sentence(tmp_path, content, expected) -> None:
    path = tmp_path / "ecg.csv"
    path.write_text(content)
    beats = tmp_path / "beats.csv"
    message = one_sentence_error(trm("analyze", str(path), "--beats", str(beats), check=False))
    assert expected in message, message
    assert not beats.exists()


def test_an_edf_without_an_ecg_and_a_broken_edf_get_one_sentence(data_dir, tmp_path) -> None:
    no_ecg = _write_edf(tmp_path / "resp.edf", labels=("Resp", "SpO2"), dimension="mV")
    message = one_sentence_error(trm("analyze", str(no_ecg), check=False))
    assert "has no ECG signal (its signals are 'Resp', 'SpO2')" in message
    broken = tmp_path / "broken.edf"
    broken.write_bytes(no_ecg.read_bytes()[:300])
    message = one_sentence_error(trm("analyze", str(broken), check=False))
    assert "is not a readable EDF file" in message


def test_a_broken_wfdb_header_gets_one_sentence(tmp_path) -> None:
    (tmp_path / "rec.hea").write_text("rec 1 360 1000\nrec.dat 212 200 11 1024 0 0 0 MLII\n")
    message = one_sentence_error(trm("analyze", str(tmp_path / "rec"), check=False))
    assert "rec.hea is not a readable WFDB record" in message


def test_beats_needs_an_ecg_and_a_real_file(data_dir, tmp_path) -> None:
    rr = tmp_path / "rr.txt"
    rr.write_text("\n".join(["800", "810", "790"] * 40) + "\n")
    message = one_sentence_error(
        trm("analyze", str(rr), "--beats", str(tmp_path / "b.csv"), check=False))
    assert "--beats writes the beats found in an ECG" in message
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    source = _write_csv(tmp_path / "ecg.csv")
    message = one_sentence_error(trm("analyze", str(source), "--beats", str(link), check=False))
    assert "symbolic link" in message
    assert not (tmp_path / "elsewhere.csv").exists()


def test_a_wfdb_record_is_read_on_lead_ii_whatever_its_place(data_dir, tmp_path) -> None:
    """A record written here with V5 first and MLII second (as MIT-BIH 114 is)."""
    import wfdb

    source = wfdb.rdrecord(str(data_dir / "mitdb" / "100"), sampto=120 * 360)
    signal = source.p_signal[:, ::-1]
    wfdb.wrsamp("swapped", fs=360, units=["mV", "mV"], sig_name=["V5", "MLII"],
                p_signal=signal, fmt=["16", "16"], write_dir=str(tmp_path))
    outcome = trm("analyze", str(tmp_path / "swapped.hea"))
    assert "signal MLII, 360 Hz" in outcome.out


def test_a_folder_batch_takes_a_wfdb_record_once(data_dir, tmp_path) -> None:
    import wfdb

    folder = tmp_path / "study"
    folder.mkdir()
    source = wfdb.rdrecord(str(data_dir / "mitdb" / "100"), sampto=120 * 360,
                           channels=[0])
    wfdb.wrsamp("rec", fs=360, units=["mV"], sig_name=["MLII"], p_signal=source.p_signal,
                fmt=["16"], write_dir=str(folder))
    wfdb.wrann("rec", "atr", np.array([100, 400]), ["N", "N"], write_dir=str(folder))
    (folder / "rr.txt").write_text("\n".join(["800", "810", "790"] * 40) + "\n")
    rows = json.loads(trm("analyze", str(folder), "--format", "json", "--jobs", "1").out)
    assert [(Path(r["file"]).name, r["status"]) for r in rows] == [("rec.hea", "ok"),
                                                                   ("rr.txt", "ok")]
