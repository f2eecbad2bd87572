"""The command line against a real library file: analyze, record, sessions, show, replay,
import, export and delete in this process (``main()``, as the console script calls it);
practice on a real terminal and a replay into a closed pipe as their own processes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pexpect
import pyedflib
import pytest

from tests.cli_run import ROOT, Outcome, one_sentence_error, run
from trm_bio.store.exports import read_beats_csv
from trm_bio.store.library import Library
from trm_bio.store.rr_files import read_rr_file


def trm(*args: str, library: Path | None = None, check: bool = True) -> Outcome:
    return run(*args, library=library, check=check)


# -- analyze --------------------------------------------------------------------------------
def test_analyze_prints_neurokit2_named_metrics_as_json(data_dir, tmp_path) -> None:
    series = tmp_path / "series.csv"
    out = trm(
        "analyze", str(data_dir / "nsr001_rr_secs.txt"), "--format", "json", "--series", str(series)
    )
    document = json.loads(out.out)
    metrics = document["metrics"]
    for key in ("MeanNN", "SDNN", "RMSSD", "pNN50", "HR", "LF", "HF", "LFHF", "SD1", "SD2"):
        assert metrics[key] is not None and np.isfinite(metrics[key])
    assert document["quality"]["beats"] == 106_456  # the three recording pauses left out
    assert document["hrv_valid"] is True
    rows = series.read_text().splitlines()
    assert len(rows) == 106_456 + 1
    assert rows[0].startswith("time_s,rr_ms,segment,artifact,rhythm_ok,MeanNN")


def test_analyze_reports_bigeminy_as_not_valid(data_dir) -> None:
    out = trm("analyze", str(data_dir / "polar_h10_ecg_rr.csv"), "--format", "csv")
    (values,) = list(csv.DictReader(io.StringIO(out.out)))  # the reason is quoted
    assert values["hrv_valid"] == "False"
    assert "ectopic" in values["reason"]
    assert values["RMSSD"] == "" and values["HR"] != ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        (b"", "empty"),
        (b"\x00\x01\x02\xff" * 50, "binary"),
        (b"hello\nworld\n", "no"),
        (b"0.8\n900\n0.7\n1200\n", "--unit"),
    ],
)
def test_analyze_bad_files_get_one_sentence(tmp_path, content, expected) -> None:
    path = tmp_path / "rr.txt"
    if content is not None:
        path.write_bytes(content)
    message = one_sentence_error(trm("analyze", str(path), check=False))
    assert expected in message.lower() or expected in message


RR_LINES = "812\n790\n1003.9\n655\n720.25\n880\n"
RR_LINES_S = "0.812\n0.790\n1.0039\n0.655\n0.72025\n0.880\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rr_ms\n" + RR_LINES, "csv"),  # a one-column CSV, not Kubios
        ("RR interval (s)\n" + RR_LINES_S, "csv"),
        (
            "# SIGNAL/SERIES EXPORT - KUBIOS\n# Comment:\tRR\nRR interval (s)\n" + RR_LINES_S,
            "kubios",
        ),
        ("# SIGNAL/SERIES EXPORT - KUBIOS\n# Device:\tn/a\n" + RR_LINES, "kubios"),
        (RR_LINES, "text"),
    ],
)
def test_analyze_names_the_file_format(tmp_path, text, expected) -> None:
    path = tmp_path / "rr.txt"
    path.write_text(text)
    document = json.loads(trm("analyze", str(path), "--format", "json").out)
    assert document["recording"]["format"] == expected
    assert document["quality"]["beats"] == 6


def test_analyze_a_table_without_rr_column_names_the_columns_it_has(tmp_path) -> None:
    path = tmp_path / "hr.csv"
    path.write_text("time,hr\n0,72\n1,71\n2,73\n3,72\n")
    message = one_sentence_error(trm("analyze", str(path), check=False))
    assert message == (
        "trm-bio: hr.csv has no RR interval column (its columns are 'time', 'hr'); "
        "the RR intervals need a column named rr, rr_ms or ibi"
    )


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        (
            RR_LINES,
            "s",
            "look like milliseconds, not seconds (they range from 655 to 1003.9); "
            "use --unit ms or leave --unit out",
        ),
        ("rr\n" + RR_LINES, "s", "use --unit ms"),
        (
            RR_LINES_S,
            "ms",
            "look like seconds, not milliseconds (they range from 0.655 to 1.0039); "
            "use --unit s or leave --unit out",
        ),
    ],
)
def test_analyze_says_when_the_unit_given_contradicts_the_values(
    tmp_path, text, unit, expected
) -> None:
    path = tmp_path / "rr.txt"
    path.write_text(text)
    message = one_sentence_error(trm("analyze", "--unit", unit, str(path), check=False))
    assert message.startswith("trm-bio: the RR values in rr.txt look like") and expected in message
    # The same sentence in a batch row.
    rows = json.loads(
        trm("analyze", "--unit", unit, str(path), str(path), "--format", "json", check=False).out
    )
    assert [row["error"] for row in rows] == [message.removeprefix("trm-bio: ")] * 2


def _strap_rr_ms(data_dir: Path, count: int = 300) -> np.ndarray:
    """The first intervals of the real Polar strap log (ms, as the strap gives them)."""
    return read_rr_file(data_dir / "polar_h10_ecg_rr.csv").rr_ms[:count]


@pytest.mark.parametrize("header", ["Polar RR data\n", "Polar RR data\nRR (ms)\n"])
def test_a_title_line_above_the_values_is_passed(data_dir, tmp_path, header) -> None:
    rr = _strap_rr_ms(data_dir)
    plain, titled = tmp_path / "plain.txt", tmp_path / "titled.txt"
    plain.write_text("\n".join(f"{v:g}" for v in rr) + "\n")
    titled.write_text(header + plain.read_text())
    rows = json.loads(trm("analyze", str(plain), str(titled), "--format", "json").out)
    assert [row["status"] for row in rows] == ["ok", "ok"]
    assert rows[1]["metrics"] == rows[0]["metrics"]
    assert rows[1]["quality"]["beats"] == rows[0]["quality"]["beats"] > 250
    library = tmp_path / "lib.sqlite3"
    assert "as session 1" in trm("import", str(titled), library=library).out


def test_a_semicolon_export_with_decimal_commas_reads_as_its_dotted_twin(
    data_dir, tmp_path
) -> None:
    rr = _strap_rr_ms(data_dir)
    times = np.cumsum(rr) / 1000
    dotted, european = tmp_path / "dotted.csv", tmp_path / "european.csv"
    pairs = [(f"{t:.3f}", f"{v:.1f}") for t, v in zip(times, rr, strict=True)]
    dotted.write_text("time,rr\n" + "".join(f"{t},{v}\n" for t, v in pairs))
    european.write_text(
        "time;rr\n" + "".join(f"{t.replace('.', ',')};{v.replace('.', ',')}\n" for t, v in pairs)
    )
    rows = json.loads(trm("analyze", str(dotted), str(european), "--format", "json").out)
    assert rows[1]["status"] == "ok" and rows[1]["metrics"] == rows[0]["metrics"]


def test_heart_rates_are_named_and_never_analysed_or_imported(data_dir, tmp_path) -> None:
    bpm = tmp_path / "hr.txt"
    bpm.write_text("".join(f"{60_000 / v:.0f}\n" for v in _strap_rr_ms(data_dir)))
    library = tmp_path / "lib.sqlite3"
    for argv in (
        ("analyze",),
        ("analyze", "--unit", "ms"),
        ("import",),
        ("import", "--unit", "ms"),
    ):
        message = one_sentence_error(trm(*argv, str(bpm), library=library, check=False))
        assert message.startswith(
            "trm-bio: the values in hr.txt look like heart rates in beats per minute"
        ), message
    assert json.loads(trm("sessions", "--format", "json", library=library).out) == []


def test_a_table_of_other_things_names_its_columns(tmp_path) -> None:
    path = tmp_path / "steps.csv"
    path.write_text("date,steps,calories\n2024-01-01,5000,2000\n2024-01-02,6000,2100\n")
    message = one_sentence_error(trm("analyze", str(path), check=False))
    assert message == (
        "trm-bio: steps.csv has no RR interval column (its columns are 'date', 'steps', "
        "'calories'); the RR intervals need a column named rr, rr_ms or ibi"
    )


# -- record, sessions, show, export, import, delete ------------------------------------------
def test_record_list_show_export_import_delete(tmp_path) -> None:
    library = tmp_path / "lib.sqlite3"
    out = trm(
        "record",
        "--simulate",
        "--speed",
        "200",
        "--duration",
        "420",
        "--person",
        "P-07",
        "--quiet",
        library=library,
    )
    session_id = int(out.out.strip().splitlines()[-1])
    assert library.stat().st_mode & 0o777 == 0o600

    listed = json.loads(trm("sessions", "--format", "json", library=library).out)
    assert [s["id"] for s in listed] == [session_id]
    assert listed[0]["person"] == "P-07" and listed[0]["status"] == "complete"
    assert trm("sessions", "--person", "P-07", library=library).out.count("P-07") == 1

    shown = json.loads(trm("show", str(session_id), "--format", "json", library=library).out)
    assert shown["quality"]["beats"] > 400
    assert 55 < shown["metrics"]["HR"] < 80

    csv_path = tmp_path / "s.csv"
    trm("export", str(session_id), "--format", "csv", "-o", str(csv_path), library=library)
    table = read_beats_csv(csv_path)
    assert table["rr_ms"].size == shown["quality"]["beats"]
    assert "RMSSD" in table and "zone" in table
    assert (tmp_path / "s_events.csv").exists()

    kubios = tmp_path / "s.txt"
    trm("export", str(session_id), "--format", "kubios", "-o", str(kubios), library=library)
    np.testing.assert_allclose(read_rr_file(kubios).rr_ms, table["rr_ms"], rtol=1e-12)

    edf = tmp_path / "s.edf"
    trm("export", str(session_id), "--format", "edf", "-o", str(edf), library=library)
    with pyedflib.EdfReader(str(edf)) as reader:
        assert "RR" in reader.getSignalLabels()[0]
        _, _, texts = reader.readAnnotations()
        assert len(texts) >= 1

    exported = tmp_path / "s.json"
    trm("export", str(session_id), "--format", "json", "-o", str(exported), library=library)
    other = tmp_path / "other.sqlite3"
    imported = trm("import", str(exported), library=other).out
    new_id = int(imported.split("session")[-1].strip(" .\n"))
    with Library.open(library) as a, Library.open(other) as b:
        pa, pb = a.session_packets(session_id), b.session_packets(new_id)
        assert pa.payloads == pb.payloads
        np.testing.assert_array_equal(pa.host_ns, pb.host_ns)
        ea = [(e.time_s, e.kind, e.payload) for e in a.session_events(session_id)]
        eb = [(e.time_s, e.kind, e.payload) for e in b.session_events(new_id)]
        assert ea == eb

    # Health data: every exported file is readable by its owner only, whatever the umask.
    for path in (csv_path, tmp_path / "s_events.csv", kubios, edf, exported):
        assert path.stat().st_mode & 0o777 == 0o600, path
    report = tmp_path / "s.html"
    trm("report", str(session_id), "-o", str(report), library=library)
    assert report.stat().st_mode & 0o777 == 0o600

    refused = trm("delete", str(session_id), library=library, check=False)
    assert "confirmation" in one_sentence_error(refused)
    trm("delete", str(session_id), "--yes", library=library)
    assert json.loads(trm("sessions", "--format", "json", library=library).out) == []


def test_import_rr_file_keeps_exact_values_and_replays(data_dir, tmp_path) -> None:
    library = tmp_path / "lib.sqlite3"
    rr = read_rr_file(data_dir / "polar_h10_ecg_rr.csv").rr_ms
    source = tmp_path / "rr_ms.txt"
    source.write_text("\n".join(f"{v:.3f}" for v in rr[:300]))
    trm("import", str(source), library=library)
    shown = json.loads(trm("show", "1", "--format", "json", library=library).out)
    assert shown["quality"]["beats"] == 300
    out = trm("replay", "1", "--at-once", library=library).out
    assert out.count(" HR ") >= 290


def test_a_foreign_file_as_library_is_refused_and_left_alone(tmp_path) -> None:
    library = tmp_path / "notes.sqlite3"
    library.write_text("my private notes\n")
    message = one_sentence_error(trm("sessions", library=library, check=False))
    assert "trm-bio library" in message or "not" in message
    assert library.read_text() == "my private notes\n"


# -- practice in a terminal ------------------------------------------------------------------
def test_practice_in_a_terminal_records_the_sensations(tmp_path) -> None:
    library = tmp_path / "lib.sqlite3"
    env = dict(os.environ, TRM_BIO_LIBRARY=str(library))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "trm_bio", "practice", "--simulate", "--skill", "3"],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect("Grounding")
    child.expect_exact("(heart ")  # the first beat's status line: a session without one is not kept
    child.send("p")
    child.expect("noted: pleasant")
    child.send("\r")
    child.send("u")
    child.expect("noted: unpleasant")
    child.send("h")
    child.expect("Help Now!")
    child.send("1")
    child.send("\r")
    child.expect("back to the practice")
    for _ in range(12):  # every remaining step, by hand
        child.send("\r")
    child.expect("end of this practice")
    child.expect(r"Session \d+ saved")
    child.expect(pexpect.EOF)
    with Library.open(library) as lib:
        (info,) = lib.list_sessions()
        events = lib.session_events(info.id)
    sensations = [e.payload["valence"] for e in events if e.kind == "sensation"]
    assert sensations == ["pleasant", "unpleasant"]
    flow = [e.payload["kind"] for e in events if e.kind == "flow"]
    assert flow[0] == "skill_started" and "helpnow" in flow and "helpnow_strategy" in flow
    assert flow[-1] == "skill_finished"
    assert info.status == "complete"
    shown = trm("show", str(info.id), library=library).out
    assert "Grounding" in shown  # the skill is listed among what came before a change


def test_exports_never_replace_a_file_unless_told(tmp_path) -> None:
    library = tmp_path / "lib.sqlite3"
    out = trm(
        "record", "--simulate", "--speed", "500", "--duration", "120", "--quiet", library=library
    )
    session_id = out.out.strip().splitlines()[-1]
    target = tmp_path / "mine.csv"
    target.write_text("something of mine\n")
    message = one_sentence_error(
        trm(
            "export", session_id, "--format", "csv", "-o", str(target), library=library, check=False
        )
    )
    assert "already exists" in message and target.read_text() == "something of mine\n"
    trm("export", session_id, "--format", "csv", "-o", str(target), "--force", library=library)
    assert target.read_text().startswith("time_s,")


def test_a_json_export_is_recognised_on_import_and_bad_durations_are_refused(tmp_path) -> None:
    library = tmp_path / "lib.sqlite3"
    out = trm(
        "record", "--simulate", "--speed", "500", "--duration", "60", "--quiet", library=library
    )
    session_id = out.out.strip().splitlines()[-1]
    exported = tmp_path / "s.json"
    trm("export", session_id, "--format", "json", "-o", str(exported), library=library)
    assert "as session" in trm("import", str(exported), library=tmp_path / "b.sqlite3").out
    refused = trm("record", "--simulate", "--duration", "-5", library=library, check=False)
    assert (
        refused.code == 2
        and "above 0" in refused.err
        and "Traceback" not in refused.err
    )


def test_a_closed_pipe_ends_quietly(tmp_path) -> None:
    library = tmp_path / "lib.sqlite3"
    out = trm(
        "record", "--simulate", "--speed", "1000", "--duration", "1800", "--quiet", library=library
    )
    session_id = out.out.strip().splitlines()[-1]
    env = dict(os.environ, TRM_BIO_LIBRARY=str(library))
    proc = subprocess.Popen(
        [sys.executable, "-m", "trm_bio", "replay", session_id, "--at-once"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`: far more than a pipe buffer is still to come
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"Exception" not in err


def test_a_strap_log_is_dated_by_its_own_time_stamps(data_dir, tmp_path) -> None:
    library = tmp_path / "lib.sqlite3"
    trm("import", str(data_dir / "polar_h10_ecg_rr.csv"), library=library)
    (session,) = json.loads(trm("sessions", "--format", "json", library=library).out)
    assert session["started_utc"].startswith("2024-")  # when it was recorded, not imported
