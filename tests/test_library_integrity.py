"""Library integrity across processes: real recording processes, killed with SIGKILL.

SQLite keeps its locks as POSIX advisory locks, which a process loses on a file as soon as it
closes ANY descriptor of that file (sqlite.org, "How To Corrupt An SQLite Database File",
2.2). A second opening of the library in the same process must therefore never open the
file from Python; otherwise another process that opens and closes the library believes it
is the last one, checkpoints and deletes the WAL the first process is still writing, and
what is recorded next is lost at the next crash.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.cli_run import Outcome, one_sentence_error, run_process
from tests.test_cli_library import trm
from tests.test_library import START_NS, digest, packet
from trm_bio.errors import LibraryError
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and locks")


class Child:
    """A ``tests.library_child`` process whose stdout lines are awaited, never slept on."""

    def __init__(self, *args: str | Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.library_child", *map(str, args)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, prefix: str, timeout_s: float = 120) -> list[str]:
        """The words of the next line starting with ``prefix`` (fails if the child ends)."""
        while True:
            line = self.lines.get(timeout=timeout_s)
            if line is None:
                self.proc.wait(timeout_s)
                assert self.proc.stderr is not None
                pytest.fail(f"the recording process ended early:\n{self.proc.stderr.read()}")
            if line.startswith(prefix):
                return line.split()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> str:
        """SIGKILL, as a crash or a power cut; returns what the process wrote on stderr."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            assert self.proc.wait(60) == -signal.SIGKILL
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


@pytest.fixture
def library_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "library.sqlite3"
    Library.open(path).close()
    return path


def test_a_report_then_another_program_then_a_crash_loses_nothing(
    library_file: Path, tmp_path: Path
) -> None:
    """The steps that lost a whole session: record, save a report, `trm-bio sessions` in a
    terminal, record again, crash."""
    child = Child(library_file, "report", tmp_path)
    try:
        child.expect("ready")
        # another process opens and closes the library
        run_process("sessions", library=library_file, check=True)
        child.send("go")
        _, session, packets = child.expect("finished")
    finally:
        stderr = child.kill()
    with Library.open(library_file) as library:
        info = library.get_session(int(session))
        assert info.status == "complete"
        assert info.packet_count == int(packets) == 60
        assert len(library.session_packets(int(session))) == 60
    assert "PYTHON-OPEN" not in stderr, stderr


def test_a_second_opening_mid_recording_then_another_program_then_a_crash(
    library_file: Path,
) -> None:
    """Every packet committed before the kill is there, the session marked interrupted."""
    child = Child(library_file, "during")
    try:
        child.expect("ready")
        # another process reads, caches, closes: the last one out?
        run_process("show", "1", library=library_file, check=True)
        child.send("go")
        committed = 0
        while committed < 75:
            _, session, count = child.expect("committed")
            committed = int(count)
    finally:
        stderr = child.kill()
    with Library.open(library_file) as library:
        info = library.get_session(int(session))
        assert info.status == "interrupted"
        assert info.packet_count == committed == 75
    assert "PYTHON-OPEN" not in stderr, stderr


def test_no_command_opens_the_library_from_python(library_file: Path, tmp_path: Path) -> None:
    """Every command, run in a process that holds the library open, reads and writes it only
    through SQLite (an audit hook reports any Python-level open of the file, -wal or -shm)."""
    trm("record", "--simulate", "--speed", "50", "--duration", "90", "--quiet",
        "--person", "P1", library=library_file)  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    rr = out / "rr.txt"
    rr.write_text("\n".join(str(800 + 40 * (i % 7)) for i in range(200)) + "\n")
    commands = [
        "sessions",
        "show 1",
        f"export 1 --format csv -o {out / 'one.csv'}",
        f"export 1 --format json -o {out / 'one.json'}",
        f"report 1 -o {out / 'one.html'}",
        "trends P1",
        "replay 1 --at-once",
        f"import {rr}",
        f"import {out / 'one.json'}",
        "delete 2 --yes",
    ]
    child = Child(library_file, "commands", *commands)
    codes = [child.expect("done")[1] for _ in commands]
    child.proc.wait(120)
    assert child.proc.stderr is not None
    stderr = child.proc.stderr.read()
    assert codes == ["0"] * len(commands), stderr
    assert "PYTHON-OPEN" not in stderr, stderr


# ---- one connection per file per process ----------------------------------------------------


def test_every_opening_in_a_process_shares_one_connection(library_file: Path) -> None:
    alias = library_file.with_name("alias.sqlite3")
    alias.symlink_to(library_file)
    first = Library.open(library_file)
    second = Library.open(alias)  # another path to the same file
    assert second._db is first._db
    first.add_person("P01")
    first.close()
    assert [p.name for p in second.list_people()] == ["P01"]  # still open for the other
    shared = second._db
    second.close()
    with pytest.raises(sqlite3.ProgrammingError):  # the last handle closed the file
        shared.execute("SELECT 1")
    with Library.open(library_file) as again:
        assert again._db is not shared and [p.name for p in again.list_people()] == ["P01"]


@pytest.mark.parametrize("readonly_first", [True, False], ids=["readonly-first", "writer-first"])
def test_read_only_and_writing_handles_share_the_file(
    library_file: Path, readonly_first: bool
) -> None:
    handles = {}
    for readonly in (readonly_first, not readonly_first):
        handles[readonly] = Library.open(library_file, readonly=readonly)
    reader, writer = handles[True], handles[False]
    try:
        assert reader._db is writer._db and reader.readonly and not writer.readonly
        writer.add_person("P01")
        assert [p.name for p in reader.list_people()] == ["P01"]
        with pytest.raises(LibraryError, match="read-only"):
            reader.add_person("P02")
    finally:
        reader.close()
        writer.close()


def test_handles_of_one_file_work_from_several_threads(library_file: Path) -> None:
    """The recorder writes from one thread while another reads and caches: the shared
    connection serialises them (no "cannot start a transaction within a transaction")."""
    recording, viewing = Library.open(library_file), Library.open(library_file)
    errors: list[BaseException] = []
    start = threading.Barrier(2)
    session = recording.create_session(None, "ble", "AA", start_ns=START_NS)

    def record() -> None:
        try:
            start.wait()
            with Recorder(recording, session, flush_interval_ns=1) as recorder:
                for i in range(300):
                    recorder.add_packet(packet(i))
        except BaseException as exc:  # reported below
            errors.append(exc)

    def view() -> None:
        try:
            start.wait()
            for i in range(300):
                viewing.list_sessions()
                viewing.store_summary(session, {"round": i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record), threading.Thread(target=view)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert errors == []
        assert viewing.get_session(session).packet_count == 300
        assert viewing.get_summary(session) == {"round": 299}
    finally:
        recording.close()
        viewing.close()


# ---- deleting a session while it records ------------------------------------------------------


def test_a_session_recorded_by_one_handle_is_not_deleted_through_another(
    library_file: Path,
) -> None:
    with Library.open(library_file) as recording, Library.open(library_file) as browsing:
        session = recording.create_session(None, "ble", "AA", start_ns=START_NS)
        recorder = Recorder(recording, session)
        recorder.add_packet(packet(0))
        with pytest.raises(LibraryError, match="being recorded right now in this program"):
            browsing.delete_session(session)
        recorder.add_packet(packet(1))
        recorder.finish()  # the recording goes on unharmed, then ends
        assert browsing.get_session(session).packet_count == 2
        browsing.delete_session(session)
        assert browsing.list_sessions() == []


def test_deleting_a_session_another_process_records_is_refused(library_file: Path) -> None:
    env = dict(os.environ, TRM_BIO_LIBRARY=str(library_file))
    recorder = subprocess.Popen(
        [sys.executable, "-m", "trm_bio", "record", "--simulate", "--speed", "4"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert recorder.stdout is not None and recorder.stderr is not None
        assert "Recording session 1" in recorder.stdout.readline()
        line = ""
        while " s  HR " not in line:  # the first beats are in
            line = recorder.stdout.readline()
            assert line, f"the recorder ended early: {recorder.stderr.read()}"
        refused = trm("delete", "1", "--yes", library=library_file, check=False)
        assert "session 1 is being recorded right now by another program" in (
            one_sentence_error(refused)
        )
    finally:
        recorder.send_signal(signal.SIGTERM)  # the recorder's own "stop"
        out, err = recorder.communicate(timeout=120)
    assert recorder.returncode == 0 and "FOREIGN KEY" not in err, err
    assert "Session 1 saved." in out
    with Library.open(library_file) as library:
        info = library.get_session(1)
        assert info.status == "complete" and info.packet_count > 0
    trm("delete", "1", "--yes", library=library_file)  # once it is finished, it may go


# ---- read-only libraries ----------------------------------------------------------------------

_READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'


def read_only(folder: Path, *command: str) -> subprocess.CompletedProcess:
    """Run ``command`` where ``folder`` is a read-only mount (a private mount namespace):
    even root cannot write there, unlike a 0444 file."""
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", _READ_ONLY_MOUNT, str(folder), *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "readonly"
    folder.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare to mount a folder read-only")
    probe = read_only(
        folder, sys.executable, "-c", f"import os; exit(os.access({str(folder)!r}, 2))"
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a folder read-only here: {probe.stderr.strip()}")
    return folder


@pytest.mark.parametrize("wal", [False, True], ids=["checkpointed", "open-elsewhere-with-wal"])
def test_a_read_only_library_reads_everything(
    read_only_folder: Path, tmp_path: Path, wal: bool
) -> None:
    """On a read-only mount, every command that only reads works (nothing cached, nothing
    written); writing commands say so in one sentence."""
    library_file = read_only_folder / "library.sqlite3"
    trm("record", "--simulate", "--speed", "50", "--duration", "90", "--quiet",
        "--person", "P1", library=library_file)  # fmt: skip
    with sqlite3.connect(library_file) as raw:  # no analysis cached: show must compute it
        raw.execute("DELETE FROM session_arrays")
        raw.execute("DELETE FROM session_derived")
    out = tmp_path / "out"
    out.mkdir()
    writer = Library.open(library_file)
    try:
        if wal:  # another program has it open: the newest change is only in the -wal
            writer.update_session(1, notes="only in the WAL")
        else:
            writer.close()
        before = digest(library_file)

        def trm_ro(*args: str) -> Outcome:
            command = [sys.executable, "-m", "trm_bio", *args, "--library", str(library_file)]
            done = read_only(read_only_folder, *command)
            return Outcome(args, done.returncode, done.stdout, done.stderr)

        listed = trm_ro("sessions", "--format", "json")
        assert listed.code == 0, listed.err
        assert json.loads(listed.out)[0]["notes"] == ("only in the WAL" if wal else "")
        for args in (
            ("show", "1", "--format", "json"),
            ("export", "1", "--format", "csv", "-o", str(out / "one.csv")),
            ("export", "1", "--format", "edf", "-o", str(out / "one.edf")),
            ("report", "1", "-o", str(out / "one.html")),
            ("trends", "P1"),
            ("replay", "1", "--at-once"),
        ):
            result = trm_ro(*args)
            assert result.code == 0 and "Traceback" not in result.err, result
        assert (out / "one.csv").stat().st_size > 0 and (out / "one.html").stat().st_size > 0
        for args in (("delete", "1", "--yes"), ("import", str(out / "one.csv"))):
            assert "read-only" in one_sentence_error(trm_ro(*args))
        assert digest(library_file) == before
    finally:
        writer.close()
    with Library.open(library_file) as library:
        assert library.get_session(1).packet_count > 0


def test_the_library_is_never_an_export_nor_an_import(library_file: Path) -> None:
    trm("record", "--simulate", "--speed", "50", "--duration", "30", "--quiet",
        "--person", "P1", library=library_file)  # fmt: skip
    wal = library_file.with_name(library_file.name + "-wal")
    for target in (library_file, wal):
        for args in (
            ("export", "1", "--format", "csv", "-o", str(target), "--force"),
            ("report", "1", "-o", str(target), "--force"),
            ("trends", "P1", "--format", "json", "-o", str(target), "--force"),
        ):
            refused = trm(*args, library=library_file, check=False)
            assert "is the session library itself" in one_sentence_error(refused)
    assert not trm("import", str(library_file), library=library_file, check=False).code == 0
    assert not wal.exists()  # nothing wrote a -wal beside the closed library
    with Library.open(library_file) as library:
        assert library._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert library.get_session(1).packet_count > 0


def test_a_read_only_opening_writes_nothing_not_even_a_checkpoint(library_file: Path) -> None:
    """A crash leaves changes in the -wal; reading them read-only must not fold them into
    the main file (the last connection to close would, were it opened read-write)."""
    crash = (
        "import os, signal, sys\n"
        "from trm_bio.store.library import Library\n"
        "Library.open(sys.argv[1]).add_person('P01')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(library_file)], cwd=ROOT, check=False)
    wal = library_file.with_name(library_file.name + "-wal")
    assert wal.stat().st_size > 0
    before = digest(library_file), digest(wal)
    with Library.open(library_file, readonly=True) as library:
        assert [p.name for p in library.list_people()] == ["P01"]
        assert library.readonly
    assert (digest(library_file), digest(wal)) == before
