"""A clinician's skills folder that holds things other than skill files.

A FIFO, a link to a device, an oversized file, TOML nested beyond the parser's reach and
escape codes in names: each is skipped or refused with one sentence naming the file, and
nothing hangs, fills the memory or reaches the terminal raw.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import trm_bio.cli as cli
from skills import SkillFileError, load_plans, load_skills, load_vocabulary
from tests.cli_run import run
from tests.test_skills_loader import skill_table, to_toml, write_skill

ROOT = Path(__file__).resolve().parents[1]
ESC = "\x1b"
MAX_FILE_BYTES = 256 * 1024  # the documented cap of a skills file

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def _skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@needs_fifo
@pytest.mark.timeout(20)
def test_a_fifo_named_toml_is_skipped_not_waited_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = write_skill(tmp_path, "10_mine.toml", skill_table())
    fifo = tmp_path / "x.toml"
    os.mkfifo(fifo)  # no writer ever comes: opening it for reading would wait for ever
    caplog.set_level(logging.WARNING, logger="skills")
    library = load_skills(tmp_path)
    assert library.get(10).source == str(mine)  # the real skill file still loads
    assert _skipped(caplog) == [f"{fifo}: skipped, it is a FIFO (named pipe), not a regular file"]


@needs_fifo
@pytest.mark.timeout(20)
def test_a_fifo_as_plans_or_vocabulary_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.mkfifo(tmp_path / "plans.toml")
    os.mkfifo(tmp_path / "vocabulary.toml")
    caplog.set_level(logging.WARNING, logger="skills")
    plans = load_plans(tmp_path)
    assert "getting_started" in [plan.id for plan in plans]  # the shipped plans stay
    assert "warm" in load_vocabulary(tmp_path)
    assert _skipped(caplog)[-2:] == [
        f"{tmp_path / name}: skipped, it is a FIFO (named pipe), not a regular file"
        for name in ("plans.toml", "vocabulary.toml")
    ]


def _limit_memory() -> None:
    # A regression must fail here, not fill the machine's memory: 2 GiB of address space
    # is ample for the command and far below what reading /dev/zero asks for.
    limit = 2 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.timeout(120)
def test_a_link_to_dev_zero_is_skipped_by_the_real_command(tmp_path: Path) -> None:
    folder = tmp_path / "skills"
    folder.mkdir()
    (folder / "zero.toml").symlink_to("/dev/zero")
    result = subprocess.run(
        [sys.executable, "-m", "trm_bio", "skills", "--skills-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        preexec_fn=_limit_memory,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert (
        f"{folder / 'zero.toml'}: skipped, it is a character device, not a regular file"
        in result.stderr
    )
    assert " 3  Grounding  [wellness]" in result.stdout


def test_an_oversized_file_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A valid skill padded beyond the cap with a comment: size alone decides.
    big = tmp_path / "10_big.toml"
    text = to_toml(skill_table())
    big.write_text(text + "#" * (300 * 1024 - len(text.encode()) - 1) + "\n", encoding="utf-8")
    assert big.stat().st_size == 300 * 1024
    caplog.set_level(logging.WARNING, logger="skills")
    library = load_skills(tmp_path)
    assert library.find(10) is None
    assert _skipped(caplog) == [
        f"{big}: skipped, it holds 300 KiB and a skills file holds at most 256 KiB"
    ]


def test_a_file_at_the_cap_is_read(tmp_path: Path) -> None:
    text = to_toml(skill_table())
    padding = MAX_FILE_BYTES - len(text.encode()) - 1
    (tmp_path / "10_full.toml").write_text(text + "#" * padding + "\n", encoding="utf-8")
    assert (tmp_path / "10_full.toml").stat().st_size == MAX_FILE_BYTES
    assert load_skills(tmp_path).get(10).name == "Butterfly hug"


def test_a_link_to_a_skill_file_is_followed(tmp_path: Path) -> None:
    shared = write_skill(tmp_path, "shared.toml", skill_table(name="Shared hug"))
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "10_hug.toml").symlink_to(shared)
    assert load_skills(folder).get(10).name == "Shared hug"


def test_a_dangling_link_and_a_folder_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "gone.toml").symlink_to(tmp_path / "nowhere.toml")
    (tmp_path / "folder.toml").mkdir()
    caplog.set_level(logging.WARNING, logger="skills")
    assert len(load_skills(tmp_path, clinician_mode=True)) == 9
    assert _skipped(caplog) == [
        f"{tmp_path / 'folder.toml'}: skipped, it is a folder, not a regular file",
        f"{tmp_path / 'gone.toml'}: skipped, it leads to no file (a broken link?)",
    ]


@pytest.mark.parametrize("nest", ["[", "{a = "])
def test_deeply_nested_toml_is_one_sentence(tmp_path: Path, nest: str) -> None:
    depth = 20_000  # far beyond the interpreter's recursion limit, far below the size cap
    close = "]" if nest == "[" else "}"
    path = tmp_path / "10_deep.toml"
    path.write_text(f"x = {nest * depth}1{close * depth}\n", encoding="utf-8")
    with pytest.raises(SkillFileError) as caught:
        load_skills(tmp_path)
    assert str(caught.value) == (
        f"{path}: is not valid TOML (its lists or tables are nested too deeply)"
    )


def test_deeply_nested_toml_through_the_command(tmp_path: Path, capsys) -> None:
    path = tmp_path / "10_deep.toml"
    path.write_text("x = " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    code = cli.main(["skills", "--skills-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err == (
        f"trm-bio: {path}: is not valid TOML (its lists or tables are nested too deeply)\n"
    )


ESCAPED = [
    ({"name": f"{ESC}[2J{ESC}[31mRed hug{ESC}[0m"}, "name"),
    ({"purpose": f"Calm{ESC}]0;owned\x07 down."}, "purpose"),
    ({"steps": [{"prompt": "Breathe \x9b31m in."}]}, "steps[0].prompt"),
    ({"strategies": [{"id": "w", "name": "Water\x7f", "prompt": "Sip."}]}, "strategies[0].name"),
]


@pytest.mark.parametrize(("fields", "where"), ESCAPED, ids=[w for _, w in ESCAPED])
def test_control_characters_in_shown_text_are_refused(
    tmp_path: Path, fields: dict, where: str
) -> None:
    path = write_skill(tmp_path, "10_mine.toml", skill_table(**fields))
    with pytest.raises(SkillFileError) as caught:
        load_skills(tmp_path)
    message = str(caught.value)
    assert message.startswith(
        f"{path}: {where} must not hold control characters such as escape codes, got '"
    )
    assert ESC not in message and "\x07" not in message and "\x9b" not in message


def test_a_plan_name_with_an_escape_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plans.toml").write_text(
        to_toml({"plans": [{"id": "mine", "name": f"{ESC}[5mBlink", "skills": [1]}]}),
        encoding="utf-8",
    )
    with pytest.raises(SkillFileError, match=re.escape("plans[0].name must not hold control")):
        load_plans(tmp_path)


def test_no_escape_code_reaches_the_terminal(tmp_path: Path, capsys) -> None:
    """The command that prints skill names, given a name and a file name with escape codes."""
    write_skill(tmp_path, "10_mine.toml", skill_table(name=f"{ESC}[2JHug"))
    code = cli.main(["skills", "--skills-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and ESC not in err
    assert "name must not hold control characters" in err and "\\x1b[2JHug" in err

    (tmp_path / "10_mine.toml").unlink()
    odd = write_skill(tmp_path, f"{ESC}[2J.toml", skill_table(kind="expert"))
    code = cli.main(["skills", "--skills-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1 and ESC not in err
    assert err.startswith(f"trm-bio: {odd.parent}/\\x1b[2J.toml: kind must be")


@pytest.mark.timeout(120)
def test_a_broken_user_skill_stops_record_with_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every session loads the user's skills folder; a bad file there is named, no traceback."""
    folder = tmp_path / "skills"
    bad = write_skill(folder, "10_mine.toml", skill_table(name=f"{ESC}[2JHug"))
    monkeypatch.setenv("TRM_BIO_SKILLS", str(folder))  # the user's folder, as a shell sets it
    result = run("record", "--simulate", "--duration", "5", "--speed", "50",
                 "--library", str(tmp_path / "lib.sqlite3"))  # fmt: skip
    assert result.code == 1 and ESC not in result.err
    assert result.err.startswith(f"trm-bio: {bad}: name must not hold control characters")
    assert result.err.count("\n") == 1
