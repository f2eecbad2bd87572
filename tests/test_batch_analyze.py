"""``trm-bio analyze`` over a study's worth of files: one row per file, in order, errors as
rows (never a crash), worker processes giving the same numbers as one process.

The batches with worker processes run as their own process, as a user runs them (the
command's end-to-end tests): a pool forked from the test process would copy its threads.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from devices.simulated import true_beats
from tests.cli_run import run, run_process
from tests.recordings import nsr001_rr_ms, shared_data_dir

N_FILES = 100


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, list[Path], Path]:
    """100 RR files in three formats and subfolders (real Holter slices when the recordings
    are here), one of them broken."""
    folder = tmp_path_factory.mktemp("study")
    (folder / "day2").mkdir()
    real = nsr001_rr_ms() if shared_data_dir() is not None else None
    scenarios = ("calm", "stress", "paced-breathing", "low-arousal")
    files: list[Path] = []
    for i in range(N_FILES - 1):
        sub = folder / ("day2" if i % 3 == 0 else "")
        if real is not None and i % 4 == 0:
            start = 1000 + 997 * i
            rr_ms = real[start : start + 400]
            rr_ms = rr_ms[rr_ms < 3000]  # nsr001's three recording pauses
        else:
            rr_ms = true_beats(scenarios[i % 4], seed=i, duration_s=300.0).rr_ms
        path = sub / f"p{i:03d}.{'csv' if i % 5 == 1 else 'txt'}"
        if i % 5 == 1:
            path.write_text("time_s,rr_ms\n" + "".join(
                f"{t:.3f},{r:.3f}\n" for t, r in zip(np.cumsum(rr_ms) / 1000, rr_ms, strict=True)))
        elif i % 5 == 2:
            path.write_text("".join(f"{r / 1000:.4f}\n" for r in rr_ms))  # seconds
        else:
            path.write_text("".join(f"{r:.1f}\n" for r in rr_ms))
        files.append(path)
    broken = folder / "p099_broken.txt"
    broken.write_bytes(b"\x00\x01\x02\xff" * 64)
    files.append(broken)
    (folder / ".hidden").write_text("800\n")  # not part of the study
    return folder, files, broken


def test_a_folder_of_100_files_gives_100_rows_and_one_error_row(study) -> None:
    folder, files, broken = study
    out = run_process("analyze", str(folder), "--format", "csv", timeout=300)
    # Exit status 1 tells a script that a file failed; every row is still printed.
    assert out.code == 1
    assert out.err.strip() == (
        "trm-bio: 1 of 100 files could not be analysed; their rows say why"
    )
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert len(rows) == N_FILES
    assert sorted(r["file"] for r in rows) == sorted(str(p) for p in files)
    errors = [r for r in rows if r["status"] == "error"]
    assert [r["file"] for r in errors] == [str(broken)]
    assert "binary" in errors[0]["error"] and errors[0]["RMSSD"] == ""
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(float(r["RMSSD"]) > 0 and int(r["beats"]) > 150 for r in ok)
    # Units were detected per file: the files in seconds read as seconds.
    assert {r["unit"] for r in ok} == {"ms", "s"}


def test_workers_equal_one_process_and_rows_keep_the_order_given(study) -> None:
    _, files, broken = study
    chosen = [str(p) for p in (files[7], broken, files[1], files[2], files[0])]
    parallel = run_process("analyze", *chosen, "--format", "json", "--jobs", "2", timeout=300)
    serial = run("analyze", *chosen, "--format", "json", "--jobs", "1")
    assert parallel.code == serial.code == 1
    rows = json.loads(parallel.out)
    assert rows == json.loads(serial.out)
    assert [r["file"] for r in rows] == chosen
    # A batch row holds the same summary as the single-file command.
    single = json.loads(run("analyze", chosen[0], "--format", "json").out)
    assert rows[0]["metrics"] == single["metrics"] and rows[0]["quality"] == single["quality"]
    table = run("analyze", *chosen[:3], "--jobs", "1")
    assert table.out.count("\n") == 1 + 3 and "error:" in table.out


def test_batch_refuses_series_with_a_sentence(study) -> None:
    folder, _, _ = study
    out = run("analyze", str(folder), "--series", "x.csv")
    assert out.code == 1 and "Traceback" not in out.err
    assert out.err.strip() == (
        "trm-bio: --series writes one file's per-beat series; give a single file"
    )
