"""Every file holding health data or a person's name is private (0600), never written
through a symlink, and whole: a killed or failed write leaves nothing under the final name.

The helper is tested directly; the commands against a real library, in this process (a
write killed midway in a process of its own).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from tests.cli_run import ROOT, Outcome, one_sentence_error, run
from trm_bio.errors import TrmBioError
from trm_bio.store.paths import keep_private, private_output, write_private_text
from trm_bio.ui.settings import ORGANISATION, Settings, use_settings_folder


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def trm(*args: str, library: Path, cwd: Path | None = None, umask: int | None = None,
        check: bool = True) -> Outcome:
    return run(*args, library=library, cwd=cwd, umask=umask, check=check)


def one_sentence(result: Outcome) -> str:
    assert result.code == 1, result.err
    return one_sentence_error(result)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, str]:
    """A library with one 30-minute simulated session (its analysis cached by ``show``)."""
    library = tmp_path_factory.mktemp("private") / "library.sqlite3"
    out = trm("record", "--simulate", "--speed", "1000", "--duration", "1800", "--quiet",
              "--person", "P-07", library=library)
    session = out.out.strip().splitlines()[-1]
    trm("show", session, library=library)
    return library, session


# -- the helper ------------------------------------------------------------------------------
@pytest.fixture
def open_umask():
    """The widest umask, so that only the code under test can make a file private."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_private_output_writes_a_0600_file_whole_beside_the_final_name(tmp_path,
                                                                        open_umask) -> None:
    final = tmp_path / "s1.csv"
    final.write_text("old\n")
    final.chmod(0o644)
    with private_output(final) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".s1.csv.")
        assert mode(temporary) == 0o600 and temporary.read_text() == ""
        assert final.read_text() == "old\n"  # untouched until the new file is complete
        temporary.write_text("new\n")
    assert final.read_text() == "new\n" and mode(final) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s1.csv"]
    assert write_private_text(tmp_path / "t.txt", "x") == tmp_path / "t.txt"
    assert mode(tmp_path / "t.txt") == 0o600


def test_private_output_removes_its_temporary_file_on_any_failure(tmp_path) -> None:
    final = tmp_path / "s1.edf"
    final.write_text("mine\n")
    with pytest.raises(KeyboardInterrupt), private_output(final) as temporary:
        temporary.write_text("half a fi")
        raise KeyboardInterrupt  # ^C mid-write
    assert final.read_text() == "mine\n" and [p.name for p in tmp_path.iterdir()] == ["s1.edf"]
    # The temporary file swapped for another while written is not put in place either.
    with pytest.raises(OSError, match="replaced"), private_output(tmp_path / "n.csv") as temporary:
        other = tmp_path / "other"
        other.write_text("not ours\n")
        os.replace(other, temporary)
    assert [p.name for p in tmp_path.iterdir()] == ["s1.edf"]
    with pytest.raises(FileNotFoundError), private_output(tmp_path / "no" / "such.csv"):
        pass


def test_private_output_refuses_a_symlink_dangling_or_not(tmp_path) -> None:
    elsewhere, mine = tmp_path / "elsewhere.csv", tmp_path / "mine.txt"
    mine.write_text("mine\n")
    for target in (elsewhere, mine):
        link = tmp_path / "out.csv"
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        with pytest.raises(TrmBioError, match="symbolic link"), private_output(link) as t:
            t.write_text("health data\n")
    assert not elsewhere.exists() and mine.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "out.csv"]


def test_keep_private_creates_or_narrows_the_file_and_its_own_folder(tmp_path,
                                                                     open_umask) -> None:
    created = keep_private(tmp_path / "new" / "deep" / "a.ini", own_folder=False)
    assert mode(created) == 0o600 and created.read_text() == ""
    assert mode(created.parent) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    existing = shared / "b.ini"
    existing.write_text("[General]\nperson=Ann\n")
    existing.chmod(0o644)
    keep_private(existing, own_folder=False)
    assert mode(existing) == 0o600 and existing.read_text() == "[General]\nperson=Ann\n"
    assert mode(shared) == 0o755  # not the app's folder: left as it is
    keep_private(existing, own_folder=True)
    assert mode(shared) == 0o700


# -- the settings file holds the person's name --------------------------------------------------
def test_the_settings_file_is_0600_in_a_0700_folder(tmp_path, open_umask) -> None:
    folder = tmp_path / "config"
    use_settings_folder(folder)
    (folder / ORGANISATION).mkdir(parents=True, mode=0o755)  # as an older version left it
    settings = Settings()  # the app's default QSettings, here inside ``folder``
    settings.person = "Ann Example"
    settings.sync()
    file = Path(settings.q.fileName())
    assert file.parent == folder / ORGANISATION and "Ann Example" in file.read_text()
    assert mode(file) == 0o600 and mode(file.parent) == 0o700
    # A file an older version wrote world-readable is narrowed when the app starts.
    file.chmod(0o644)
    again = Settings()
    assert again.person == "Ann Example" and mode(file) == 0o600
    again.person = "Bea Example"
    again.sync()
    assert mode(file) == 0o600 and "Bea Example" in file.read_text()
    # The file the tests inject (tests/ui_app.py) gets the same care.
    injected = Settings(QSettings(str(tmp_path / "ui" / "trm-bio.ini"),
                                  QSettings.Format.IniFormat))
    injected.person = "Cy"
    injected.sync()
    assert mode(tmp_path / "ui" / "trm-bio.ini") == 0o600 and mode(tmp_path / "ui") == 0o700


# -- the commands --------------------------------------------------------------------------------
def test_every_output_is_0600_whatever_the_umask(recorded, tmp_path) -> None:
    library, session = recorded
    outputs = {
        "csv": tmp_path / "s.csv", "kubios": tmp_path / "s.txt",
        "edf": tmp_path / "s.edf", "json": tmp_path / "s.json",
    }
    for fmt, out in outputs.items():
        trm("export", session, "--format", fmt, "-o", str(out), library=library, umask=0)
    trm("report", session, "-o", str(tmp_path / "r.html"), library=library, umask=0)
    trm("trends", "P-07", "--format", "json", "-o", str(tmp_path / "t.json"), library=library,
        umask=0)
    trm("analyze", str(outputs["kubios"]), "--series", str(tmp_path / "series.csv"),
        library=library, umask=0)
    assert (tmp_path / "series.csv").read_text().startswith("time_s,rr_ms,")
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["r.html", "s.csv", "s.edf", "s.json", "s.txt", "s_events.csv",
                       "series.csv", "t.json"]
    assert {name: mode(tmp_path / name) for name in written} == dict.fromkeys(written, 0o600)


def _output_commands(session: str, out: Path, source: Path) -> list[list[str]]:
    commands = [["export", session, "--format", fmt, "-o", str(out)]
                for fmt in ("csv", "kubios", "edf", "json")]
    commands += [["report", session, "-o", str(out)],
                 ["trends", "P-07", "--format", "pdf", "-o", str(out)],
                 ["trends", "P-07", "--format", "json", "-o", str(out)],
                 ["analyze", str(source), "--series", str(out)]]
    return commands


def test_an_output_that_is_a_symlink_is_refused_with_a_sentence(recorded, tmp_path) -> None:
    library, session = recorded
    source = tmp_path / "rr.txt"
    trm("export", session, "--format", "kubios", "-o", str(source), library=library)
    link, elsewhere, mine = tmp_path / "out", tmp_path / "elsewhere", tmp_path / "mine"
    mine.write_text("mine\n")
    for target in (elsewhere, mine):  # dangling, then pointing at a file of the person's
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        for command in _output_commands(session, link, source):
            force = ["--force"] if command[0] != "analyze" else []
            message = one_sentence(trm(*command, *force, library=library, check=False))
            assert "is a symbolic link" in message, command
            assert not elsewhere.exists() and mine.read_text() == "mine\n", command
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "out", "rr.txt"]


def _kill_once_writing(command: list[str], library: Path, cwd: Path) -> None:
    """Run ``trm-bio -v COMMAND`` and SIGKILL it as soon as it says it is writing the file.

    The line comes once the temporary file exists; the child runs at the lowest priority so
    that, on a busy machine too, the kill lands before it has finished writing.
    """
    env = {**os.environ, "TRM_BIO_LIBRARY": str(library)}
    process = subprocess.Popen([sys.executable, "-m", "trm_bio", "-v", *command], cwd=cwd,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: os.nice(19))
    said = []
    try:
        for line in process.stderr:  # ends when the process does: the wait is bounded
            said.append(line)
            if "until it is complete" in line:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL, f"it never said it was writing: {said}"


@pytest.mark.parametrize(
    ("command", "final"),
    [
        (["report", "{session}", "-o", "r.pdf"], ["r.pdf"]),
        (["export", "{session}", "--format", "csv", "-o", "s.csv"], ["s.csv", "s_events.csv"]),
    ],
    ids=["report-pdf", "export-csv"],
)
def test_a_write_killed_midway_leaves_nothing_under_the_final_name(recorded, tmp_path, command,
                                                                   final) -> None:
    library, session = recorded
    command = [part.format(session=session) for part in command]
    _kill_once_writing(command, library, tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert not any(name in left for name in final), left
    assert left and all(name.startswith(f".{final[0]}.") for name in left), left  # the .part
    # The rerun needs no --force, and writes the whole file.
    trm(*command, library=library, cwd=tmp_path)
    assert all(mode(tmp_path / name) == 0o600 for name in final)
    data = (tmp_path / final[0]).read_bytes()
    if final[0].endswith(".pdf"):
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    else:
        assert data.startswith(b"time_s,rr_ms,") and data.count(b"\n") > 1000
        assert (tmp_path / final[1]).read_text().startswith("time_s,kind,host_ns")


def test_an_export_failing_midway_leaves_neither_table(recorded, tmp_path) -> None:
    library, session = recorded
    (tmp_path / "s_events.csv").mkdir()  # the events table cannot be put in place
    message = one_sentence(trm("export", session, "--format", "csv", "-o", "s.csv",
                               library=library, cwd=tmp_path, check=False))
    assert "cannot write" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s_events.csv"]  # no beats, no .part
    (tmp_path / "s_events.csv").rmdir()
    trm("export", session, "--format", "csv", "-o", "s.csv", library=library, cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s_events.csv"]


FULL_DISK_SCRIPT = """
import json, sys
import numpy as np
from trm_bio.store import exports
out = sys.argv[1]
times = np.cumsum(np.full(3000, 0.8))
rr = 800.0 + 0.0123 * np.arange(3000)
writers = {
    "s.edf": lambda p: exports.export_edf(p, times, rr),
    "s.csv": lambda p: exports.export_csv(p, {"time_s": times, "rr_ms": rr}, events=[]),
    "s.txt": lambda p: exports.export_kubios_rr(p, rr),
}
said = {}
for name, write in writers.items():
    try:
        write(f"{out}/{name}")
        said[name] = "written"
    except OSError as exc:
        said[name] = exc.strerror or str(exc)
print(json.dumps(said))
"""


def test_a_full_disk_leaves_no_partial_export(tmp_path) -> None:
    """Files may grow to 20 kB only (as on a full disk): each export fails and leaves nothing.
    pyedflib says nothing when its last writes fail; the EDF is read back to notice."""
    import json
    import resource

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))

    result = subprocess.run([sys.executable, "-c", FULL_DISK_SCRIPT, str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, preexec_fn=full_disk)
    assert result.returncode == 0, result.stderr
    # (edflib prints its own complaint on stdout, ahead of ours on the same line)
    said = json.loads(result.stdout[result.stdout.index("{"):])
    assert said["s.edf"] == "the EDF file came out incomplete (is the disk full?)"
    assert said["s.csv"] == said["s.txt"] == "File too large"
    assert list(tmp_path.iterdir()) == []
