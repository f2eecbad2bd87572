"""Group sessions on the command line against a real library: record a simulated group in
its own process, then list, show, replay, export and report it (``main()`` in this
process, as the console script calls it)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.cli_run import ROOT, Outcome, one_sentence_error, run, run_process
from tests.test_cli_devices import no_bluetooth
from trm_bio.store.library import Library

NAMES = ("Ana Lima", "Ben Okafor", "Chi Wu")


def trm(*args: str, library: Path, check: bool = True) -> Outcome:
    return run(*args, library=library, check=check)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, list[int]]:
    """A library with one group of three simulated participants, recorded by the command."""
    library = tmp_path_factory.mktemp("cli-group") / "library.sqlite3"
    people = [arg for name in NAMES for arg in ("--person", name)]
    out = run_process(
        "record", "--simulate", "--people", "3", "--speed", "1000", "--duration", "300",
        *people, "--quiet", library=library, check=True,
    )
    group_id, *sessions = (int(line) for line in out.out.split())
    return library, group_id, sessions


def test_record_a_group_prints_the_group_and_each_session(recorded) -> None:
    library, group_id, sessions = recorded
    assert len(sessions) == 3 and len(set(sessions)) == 3
    with Library.open(library, readonly=True) as lib:
        group = lib.get_group(group_id)
        infos = [lib.get_session(sid) for sid in sessions]
    assert group.session_ids == tuple(sessions)
    assert [i.person_name for i in infos] == list(NAMES)
    assert [i.group_seat for i in infos] == [0, 1, 2]
    assert len({i.device_name for i in infos}) == 3  # each their own simulated strap
    assert all((i.duration_s or 0) >= 299 for i in infos)


def test_record_without_quiet_names_each_participant(tmp_path) -> None:
    out = run_process(
        "record", "--simulate", "--people", "2", "--speed", "1000", "--duration", "60",
        library=tmp_path / "library.sqlite3", check=True,
    )
    assert "session 1: Participant 1" in out.out and "session 2: Participant 2" in out.out
    assert re.search(r"Group 1 saved: session 1 \(Participant 1\), session 2", out.out)


def test_a_different_number_of_names_is_one_sentence_and_exit_2(tmp_path) -> None:
    out = run_process(
        "record", "--simulate", "--people", "3", "--person", "A", "--person", "B",
        "--speed", "1000", "--duration", "30", library=tmp_path / "library.sqlite3",
    )
    assert out.code == 2
    line = one_sentence_error(out)
    assert "3 participants but 2 names" in line
    straps = run(
        "record", "--device", "AA:BB", "--device", "CC:DD", "--person", "A",
        library=tmp_path / "library.sqlite3",
    )
    assert straps.code == 2 and "2 participants but 1 name" in one_sentence_error(straps)


@no_bluetooth
def test_straps_without_bluetooth_are_one_sentence_and_leave_no_group(tmp_path) -> None:
    library = tmp_path / "library.sqlite3"
    out = trm("record", "--device", "C0:11:22:33:44:55", "--device", "C0:11:22:33:44:66",
              "--person", "A", "--person", "B", "--duration", "5", library=library,
              check=False)
    assert out.code == 1
    line = one_sentence_error(out)
    assert line.startswith("trm-bio: A: ") and " B: " in line and "Bluetooth" in line
    with Library.open(library, readonly=True) as lib:
        assert lib.list_groups() == [] and lib.list_sessions() == []


def test_sessions_json_shows_each_sessions_group(recorded) -> None:
    library, group_id, sessions = recorded
    listed = json.loads(trm("sessions", "--format", "json", library=library).out)
    groups = {s["id"]: s["group"] for s in listed}
    for seat, sid in enumerate(sessions, start=1):
        assert groups[sid]["id"] == group_id and groups[sid]["seat"] == seat
        assert groups[sid]["name"].startswith("Group, ")
    table = trm("sessions", library=library).out
    assert "GROUP" in table.splitlines()[0]
    assert f"G{group_id}/2" in table
    by_group = json.loads(trm("sessions", "--groups", "--format", "json", library=library).out)
    assert [s["session"] for s in by_group[0]["sessions"]] == sessions
    assert str(group_id) in trm("sessions", "--groups", library=library).out


def test_show_says_a_session_was_part_of_a_group(recorded) -> None:
    library, group_id, sessions = recorded
    out = trm("show", str(sessions[1]), library=library).out
    assert f"Part of group session {group_id}" in out and "participant 2 of 3" in out
    document = json.loads(trm("show", str(sessions[1]), "--format", "json", library=library).out)
    assert document["group"]["seat"] == 2


def test_replay_a_group_interleaves_the_participants(recorded) -> None:
    library, group_id, _ = recorded
    out = trm("replay", "--group", str(group_id), "--at-once", library=library).out
    lines = out.splitlines()
    labels = [line.split("]")[0].lstrip("[") for line in lines]
    assert set(labels) == set(NAMES)
    times = [float(line.split("]", 1)[1].split()[0]) for line in lines]
    assert times == sorted(times)  # one time order across the participants
    assert labels[:20] != [labels[0]] * 20  # interleaved, not one after another
    both = trm("replay", "1", "--group", str(group_id), library=library, check=False)
    assert "one of them" in one_sentence_error(both)


def test_export_a_group_to_a_folder_and_a_zip(recorded, tmp_path) -> None:
    library, group_id, sessions = recorded
    folder = tmp_path / "out"
    trm("export", "--group", str(group_id), "--format", "csv", "-o", str(folder),
        library=library)
    link = json.loads((folder / "group.json").read_text())
    assert link["group"]["id"] == group_id
    assert [s["session"] for s in link["sessions"]] == sessions
    for entry in link["sessions"]:
        for name in entry["files"]:
            assert (folder / name).is_file()
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    again = trm("export", "--group", str(group_id), "--format", "csv", "-o", str(folder),
                library=library, check=False)
    assert "already exists" in one_sentence_error(again)
    archive = tmp_path / "group.zip"
    trm("export", "--group", str(group_id), "--format", "json", "-o", str(archive),
        library=library)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with zipfile.ZipFile(archive) as z:
        names = sorted(z.namelist())
        assert names == sorted(
            [f"group/seat-{i + 1}-session-{sid}.json" for i, sid in enumerate(sessions)]
            + ["group/group.json"]
        )
        one = json.loads(z.read(f"group/seat-2-session-{sessions[1]}.json"))
    assert one["group"]["id"] == group_id and one["group"]["seat"] == 2


def test_a_json_export_of_a_group_session_imports_as_a_session_alone(recorded, tmp_path) -> None:
    library, group_id, sessions = recorded
    copy = tmp_path / "copy.sqlite3"
    file = tmp_path / "one.json"
    trm("export", str(sessions[0]), "--format", "json", "-o", str(file), library=library)
    assert json.loads(file.read_text())["group"] == {
        "id": group_id, "name": json.loads(file.read_text())["group"]["name"], "seat": 1
    }
    trm("import", str(file), library=copy)
    with Library.open(copy, readonly=True) as lib:
        (info,) = lib.list_sessions()
        assert info.group_id is None and info.group_seat is None
        assert lib.list_groups() == []


def test_report_a_group_and_each_participant(recorded, tmp_path) -> None:
    library, group_id, sessions = recorded
    out = tmp_path / "group.html"
    each = tmp_path / "each"
    trm("report", "--group", str(group_id), "-o", str(out), "--per-participant", str(each),
        library=library)
    text = out.read_text()
    assert "Group session report" in text
    for name in NAMES:
        assert name.split()[0] not in text
    reports = sorted(each.iterdir())
    assert [p.name for p in reports] == sorted(
        f"seat-{i + 1}-session-{sid}-report.html" for i, sid in enumerate(sessions)
    )
    trm("report", "--group", str(group_id), "-o", str(tmp_path / "group.pdf"),
        library=library)
    assert (tmp_path / "group.pdf").read_bytes().startswith(b"%PDF")
    single = tmp_path / "one.html"
    trm("report", str(sessions[2]), "-o", str(single), library=library)
    assert "part of a group session" in single.read_text()
    missing = trm("report", "--group", "99", "-o", str(tmp_path / "x.html"), library=library,
                  check=False)
    assert "no group 99" in one_sentence_error(missing)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_ends_every_participants_session_and_keeps_them(tmp_path, signum) -> None:
    """Ctrl-C (or SIGTERM) while a group records: every session ends and is kept."""
    library = tmp_path / "library.sqlite3"
    env = dict(os.environ, TRM_BIO_LIBRARY=str(library))
    proc = subprocess.Popen(
        [sys.executable, "-m", "trm_bio", "record", "--simulate", "--people", "2",
         "--speed", "50"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    waiting = {"Participant 1", "Participant 2"}
    for line in proc.stdout:  # until both have sent beats (a session needs one)
        found = re.match(r"\[(.+?)\] +[0-9.]+ s +[1-9][0-9]* beats", line)
        waiting.discard(found.group(1) if found else "")
        if not waiting:
            break
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Group 1 saved: session 1 (Participant 1), session 2 (Participant 2)." in out
    with Library.open(library, readonly=True) as lib:
        infos = lib.group_sessions(1)
        assert [i.status for i in infos] == ["complete", "complete"]
        assert all(lib.session_packets(i.id).host_ns.size for i in infos)


@pytest.fixture()
def seat_left_empty(recorded, tmp_path) -> tuple[Path, int, list[int]]:
    """The recorded group as it is when participant 2's strap sent no beat: their session is
    not kept, so the stored seats are 0 and 2 (a copy of the library; sqlite3's backup)."""
    import sqlite3

    library, group_id, sessions = recorded
    copy = tmp_path / "library.sqlite3"
    with sqlite3.connect(library) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    copy.chmod(0o600)
    with Library.open(copy) as lib:
        lib.delete_session(sessions[1])
        assert [lib.get_session(s).group_seat for s in (sessions[0], sessions[2])] == [0, 2]
    return copy, group_id, [sessions[0], sessions[2]]


def test_listings_number_participants_by_their_stored_seat(seat_left_empty, tmp_path) -> None:
    # The exports and reports number the third participant 3; so does every listing.
    library, group_id, (first, third) = seat_left_empty
    listed = json.loads(trm("sessions", "--json", library=library).out)
    assert {s["id"]: s["group"]["seat"] for s in listed if s["group"]} == {first: 1, third: 3}
    assert f"G{group_id}/3" in trm("sessions", library=library).out
    by_group = json.loads(trm("sessions", "--groups", "--json", library=library).out)
    assert [(s["seat"], s["session"]) for s in by_group[0]["sessions"]] == [
        (1, first), (3, third)
    ]
    assert json.loads(trm("show", str(third), "--json", library=library).out)["group"][
        "seat"] == 3
    assert "participant 3 of 3" in trm("show", str(third), library=library).out
    out = tmp_path / "export"  # the export numbered them so already
    trm("export", "--group", str(group_id), "--format", "csv", "-o", str(out), library=library)
    link = json.loads((out / "group.json").read_text())
    assert [(s["seat"], s["session"]) for s in link["sessions"]] == [(1, first), (3, third)]


@pytest.mark.parametrize("people", ["0", "9"])
def test_app_and_record_take_1_to_8_people_alike(tmp_path, people) -> None:
    library = tmp_path / "library.sqlite3"
    app = run("app", "--people", people, library=library)
    record = run("record", "--simulate", "--people", people, library=library)
    assert app.code == record.code == 2  # argparse's usage, then its one-line error
    said = [out.err.strip().splitlines()[-1].split("error: ")[-1] for out in (app, record)]
    assert said == [f"argument --people: a group session has 1 to 8 participants, "
                    f"not '{people}'"] * 2
