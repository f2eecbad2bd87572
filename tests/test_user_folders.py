"""The user's own skills folder: ``$TRM_BIO_SKILLS`` names it, and tests never read the real one."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

import trm_bio.cli as cli
from skills.loader import SKILLS_DIR_ENV_VAR, default_user_dir


def test_the_suite_reads_an_empty_skills_folder_of_its_own(user_skills_dir: Path) -> None:
    developers = Path(platformdirs.user_data_dir("trm-bio", appauthor=False)) / "skills"
    assert default_user_dir() == user_skills_dir != developers
    assert not any(user_skills_dir.iterdir())


def test_trm_bio_skills_environment_variable_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "clinic skills"
    folder.mkdir()
    (folder / "10_butterfly_hug.toml").write_text(
        'number = 10\nid = "butterfly_hug"\nname = "Butterfly hug"\nkind = "wellness"\n'
        'purpose = "Crossed arms, alternating taps."\n\n'
        '[[steps]]\nprompt = "Tap gently, left and right."\ninvites_tracking = true\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(SKILLS_DIR_ENV_VAR, str(folder))
    assert cli.main(["skills"]) == 0
    out, err = capsys.readouterr()
    assert "10  Butterfly hug  [wellness]" in out and err == ""
