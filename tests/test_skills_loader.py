"""The skill library: the nine shipped skills, validation of every field, user overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import trm_bio.cli as cli
from skills import (
    HELP_NOW_ID,
    SkillFileError,
    UnknownSkillError,
    load_plans,
    load_skills,
)

MISSING = object()

EXPECTED_SKILLS = [
    (1, "tracking", "wellness"),
    (2, "resourcing", "wellness"),
    (3, "grounding", "wellness"),
    (4, "gesturing", "wellness"),
    (5, "help_now", "wellness"),
    (6, "shift_and_stay", "wellness"),
    (7, "titration", "clinician"),
    (8, "pendulation", "clinician"),
    (9, "completion", "clinician"),
]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return repr(value)


def to_toml(table: dict[str, Any]) -> str:
    """A small TOML writer for the shapes of skill files (scalars, lists, arrays of tables)."""
    lines = []
    arrays = {}
    for key, value in table.items():
        if value is MISSING:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays[key] = value
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, items in arrays.items():
        for item in items:
            lines.append(f"\n[[{key}]]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in item.items() if v is not MISSING)
    return "\n".join(lines) + "\n"


def skill_table(**fields: Any) -> dict[str, Any]:
    """A valid user skill, with some fields replaced (MISSING removes one)."""
    table: dict[str, Any] = {
        "number": 10,
        "id": "butterfly_hug",
        "name": "Butterfly hug",
        "kind": "wellness",
        "purpose": "A self-soothing gesture of crossed arms and alternating taps.",
        "steps": [
            {"prompt": "If it feels okay, cross your arms over your chest.", "duration_s": 20},
            {"prompt": "Tap gently, left and right, at your own pace.", "duration_s": 45,
             "invites_tracking": True, "id": "tap"},
        ],
    }
    table.update(fields)
    return table


def write_skill(folder: Path, name: str, table: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(to_toml(table), encoding="utf-8")
    return path


# -- the shipped skills -------------------------------------------------------------------


def test_nine_shipped_skills_with_their_kinds(tmp_path: Path) -> None:
    library = load_skills(tmp_path, clinician_mode=True)
    assert [(s.number, s.id, s.kind) for s in library] == EXPECTED_SKILLS
    for skill in library:
        assert skill.source.startswith("skills/data/0")
        assert skill.name and skill.purpose


def test_wellness_mode_hides_the_clinician_skills(tmp_path: Path) -> None:
    library = load_skills(tmp_path)
    assert [s.number for s in library] == [1, 2, 3, 4, 5, 6]
    assert 8 not in library and "pendulation" not in library and 3 in library
    with pytest.raises(UnknownSkillError, match=r"skill 8 \(Pendulation\) is offered only in "
                                                r"clinician mode"):
        library.get(8)
    assert len(library.all_skills) == 9
    assert library.with_mode(clinician_mode=True).get("pendulation").number == 8


def test_lookup_by_number_id_or_digit_text(tmp_path: Path) -> None:
    library = load_skills(tmp_path)
    assert library.get(3) is library.get("grounding") is library.get("3") is library[3]
    with pytest.raises(UnknownSkillError, match="there is no skill 42"):
        library.get(42)
    with pytest.raises(UnknownSkillError, match="there is no skill nothing"):
        library.get("nothing")


def test_every_shipped_step_is_valid_and_invitational(tmp_path: Path) -> None:
    library = load_skills(tmp_path, clinician_mode=True)
    # Words that push, alarm or diagnose have no place in a prompt ("no need to" is welcome).
    pushy = re.compile(r"\b(must|should|have to|(?<!no )need to|failure|wrong way|disorder|symptom|"
                       r"diagnos\w*|panic|abnormal|patient)\b", re.IGNORECASE)
    for skill in library:
        assert skill.steps, skill.id
        step_ids = [step.id for step in skill.steps if step.id is not None]
        assert len(step_ids) == len(set(step_ids)), skill.id
        assert any(step.invites_tracking for step in skill.steps), skill.id
        for step in skill.steps:
            assert len(step.prompt) > 40, (skill.id, step.prompt)
            assert step.duration_s is None or 0 < step.duration_s <= 600
            assert not pushy.search(step.prompt), (skill.id, step.prompt)
            assert "  " not in step.prompt and "\n" not in step.prompt
        for strategy in skill.strategies:
            assert not pushy.search(strategy.prompt), strategy.id
        if skill.id != HELP_NOW_ID:
            # Every skill says early on that the person is free to pause or stop.
            assert re.search(r"\b(pause|stop)\b", skill.steps[0].prompt), skill.id


def test_help_now_offers_the_sensory_strategies(tmp_path: Path) -> None:
    help_now = load_skills(tmp_path).help_now
    assert help_now is not None and help_now.number == 5
    ids = {strategy.id for strategy in help_now.strategies}
    assert {"water", "textures", "colours", "objects", "push_wall", "walk",
            "count_backwards"} <= ids
    for strategy in help_now.strategies:
        assert strategy.name and len(strategy.prompt) > 20


def test_shipped_plans_and_their_modes(tmp_path: Path) -> None:
    plans = load_plans(tmp_path)
    wellness_ids = [plan.id for plan in plans]
    assert "getting_started" in wellness_ids and "small_steps" not in wellness_ids
    skills = plans.skills_for("getting_started")
    assert [s.id for s in skills] == ["tracking", "grounding", "resourcing"]
    with pytest.raises(UnknownSkillError, match="clinician mode"):
        plans.get("small_steps")
    clinician = load_plans(tmp_path, clinician_mode=True)
    assert set(wellness_ids) < {plan.id for plan in clinician}
    assert "titration" in clinician.get("small_steps").skill_ids
    for plan in clinician:
        assert plan.name and plan.description and plan.skill_ids


# -- broken files: each broken field has its own message -----------------------------------

STEPS_OK = skill_table()["steps"]

BROKEN = [
    (skill_table(number=MISSING), "number is missing"),
    (skill_table(number="three"), "number must be a whole number of 1 or more, got 'three'"),
    (skill_table(number=0), "number must be a whole number of 1 or more, got 0"),
    (skill_table(number=2.5), "number must be a whole number of 1 or more, got 2.5"),
    (skill_table(id="Butterfly Hug"), "id must be lower-case letters, digits and _ starting "
                                      "with a letter, got 'Butterfly Hug'"),
    (skill_table(name=""), "name must not be empty"),
    (skill_table(purpose=3), "purpose must be text, got 3"),
    (skill_table(kind="expert"), "kind must be 'wellness' or 'clinician', got 'expert'"),
    (skill_table(kind=MISSING), "kind is missing"),
    (skill_table(colour="blue"), "colour is not a known field (known fields: number, id, name, "
                                 "kind, purpose, steps, strategies)"),
    (skill_table(steps=MISSING), "steps is missing"),
    (skill_table(steps=[]), "steps must have at least one entry"),
    (skill_table(steps="breathe"), "steps must be a list of tables ([[steps]]), got 'breathe'"),
    (skill_table(steps=[STEPS_OK[0], {"duration_s": 10}]), "steps[1].prompt is missing"),
    (skill_table(steps=[{"prompt": "   "}]), "steps[0].prompt must not be empty"),
    (skill_table(steps=[STEPS_OK[0], STEPS_OK[0], {"prompt": "Notice.", "duration_s": "abc"}]),
     "steps[2].duration_s must be a positive number, got 'abc'"),
    (skill_table(steps=[{"prompt": "Notice.", "duration_s": -5}]),
     "steps[0].duration_s must be a positive number, got -5"),
    (skill_table(steps=[{"prompt": "Notice.", "duration_s": 0}]),
     "steps[0].duration_s must be a positive number, got 0"),
    (skill_table(steps=[{"prompt": "Notice.", "duration_s": True}]),
     "steps[0].duration_s must be a positive number, got true"),
    (skill_table(steps=[{"prompt": "Notice.", "invites_tracking": "yes"}]),
     "steps[0].invites_tracking must be true or false, got 'yes'"),
    (skill_table(steps=[{"prompt": "Notice.", "durration_s": 5}]),
     "steps[0].durration_s is not a known field (known fields: prompt, duration_s, "
     "invites_tracking, id, short)"),
    (skill_table(steps=[{"prompt": "One.", "id": "a"}, {"prompt": "Two.", "id": "a"}]),
     "steps[1].id 'a' is already used by steps[0]"),
    (skill_table(steps=[{"prompt": "One.", "id": "Step 1"}]),
     "steps[0].id must be lower-case letters, digits and _ starting with a letter, "
     "got 'Step 1'"),
    (skill_table(id="help_now", number=5), "strategies must list at least one strategy for "
                                           "Help Now!"),
    (skill_table(strategies=[{"id": "water", "prompt": "Sip some water."}]),
     "strategies[0].name is missing"),
    (skill_table(strategies=[{"id": "water", "name": "Water", "prompt": 4}]),
     "strategies[0].prompt must be text, got 4"),
]


@pytest.mark.parametrize(("table", "message"), BROKEN, ids=[m for _, m in BROKEN])
def test_each_broken_field_has_its_own_message(tmp_path: Path, table: dict, message: str) -> None:
    path = write_skill(tmp_path, "10_mine.toml", table)
    with pytest.raises(SkillFileError) as caught:
        load_skills(tmp_path)
    assert str(caught.value) == f"{path}: {message}"
    assert isinstance(caught.value, ValueError)


def test_unreadable_toml_and_text(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('number = 3\nname = "unterminated\n', encoding="utf-8")
    with pytest.raises(SkillFileError, match=re.escape(f"{path}: is not valid TOML (")):
        load_skills(tmp_path)
    path.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(SkillFileError, match=re.escape(f"{path}: is not UTF-8 text")):
        load_skills(tmp_path)


def test_a_skills_folder_that_is_a_file(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "skills"
    not_a_folder.write_text("", encoding="utf-8")
    with pytest.raises(SkillFileError, match="the skills folder is a file"):
        load_skills(not_a_folder)


# -- the clinician's own folder: overrides and extensions ----------------------------------


def test_user_skill_with_a_builtin_number_replaces_it(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "grounding.toml", skill_table(number=3, id="grounding",
                                                               name="Grounding, my way"))
    library = load_skills(tmp_path)
    assert len(library) == 6
    assert library.get(3).name == "Grounding, my way"
    assert library.get(3).source == str(path)
    assert len(library.get("grounding").steps) == 2


def test_user_skill_with_a_builtin_id_replaces_it(tmp_path: Path) -> None:
    write_skill(tmp_path, "x.toml", skill_table(number=11, id="tracking", name="Tracking, mine"))
    library = load_skills(tmp_path)
    assert 1 not in library and library.get("tracking").number == 11
    assert [s.number for s in library] == [2, 3, 4, 5, 6, 11]


def test_user_skills_extend_the_library_in_number_order(tmp_path: Path) -> None:
    write_skill(tmp_path, "butterfly.toml", skill_table())
    write_skill(tmp_path, "deep.toml", skill_table(number=12, id="deep_work", kind="clinician"))
    (tmp_path / "plans.toml").write_text("plans = []\n", encoding="utf-8")
    (tmp_path / "vocabulary.toml").write_text('words = ["fizzy"]\n', encoding="utf-8")
    library = load_skills(tmp_path)
    assert [s.number for s in library] == [1, 2, 3, 4, 5, 6, 10]
    clinician = load_skills(tmp_path, clinician_mode=True)
    assert [s.number for s in clinician][-3:] == [9, 10, 12]
    assert clinician.get("deep_work").clinician_only


def test_two_user_files_with_one_number(tmp_path: Path) -> None:
    first = write_skill(tmp_path, "a.toml", skill_table())
    second = write_skill(tmp_path, "b.toml", skill_table(id="other_one"))
    with pytest.raises(SkillFileError) as caught:
        load_skills(tmp_path)
    assert str(caught.value) == f"{second}: number 10 is also used by {first}"


def test_a_user_file_matching_two_builtin_skills(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "mix.toml", skill_table(number=3, id="tracking"))
    with pytest.raises(SkillFileError, match=re.escape(f"{path}: number 3 and id 'tracking' "
                                                       "match two different skills")):
        load_skills(tmp_path)


def test_user_plans_extend_and_replace(tmp_path: Path) -> None:
    write_skill(tmp_path, "butterfly.toml", skill_table())
    (tmp_path / "plans.toml").write_text(
        to_toml({"plans": [
            {"id": "getting_started", "name": "My start", "skills": [3, "butterfly_hug"]},
            {"id": "hug_then_ground", "name": "Hug, then ground", "description": "Mine.",
             "skills": ["butterfly_hug", "grounding"]},
        ]}),
        encoding="utf-8",
    )
    plans = load_plans(tmp_path)
    ids = [plan.id for plan in plans]
    assert ids[0] == "getting_started" and ids[-1] == "hug_then_ground"
    assert plans.get("getting_started").skill_ids == ("grounding", "butterfly_hug")
    assert plans.get("getting_started").description == ""


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        ([{"id": "p", "name": "P", "skills": ["tracking", "nope"]}],
         "plans[0].skills[1] 'nope' is not a known skill number or id"),
        ([{"id": "p", "name": "P", "skills": [1, 42]}],
         "plans[0].skills[1] 42 is not a known skill number or id"),
        ([{"id": "p", "name": "P", "skills": []}],
         "plans[0].skills must be a non-empty list of skill ids or numbers, got a list"),
        ([{"id": "p", "skills": [1]}], "plans[0].name is missing"),
        ([{"id": "p", "name": "P", "skills": [1]}, {"id": "p", "name": "Q", "skills": [2]}],
         "plans[1].id 'p' is already used by plans[0]"),
    ],
)
def test_broken_plans(tmp_path: Path, plans: list, message: str) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(to_toml({"plans": plans}), encoding="utf-8")
    with pytest.raises(SkillFileError) as caught:
        load_plans(tmp_path)
    assert str(caught.value) == f"{path}: {message}"


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path):
    """Run the real ``trm-bio`` main() with only the skills commands, and an empty user folder."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["trm_bio.cli.skills_cmd"])

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["skills", "--skills-dir", str(tmp_path / "user"), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_lists_the_wellness_skills(run_cli) -> None:
    code, out, err = run_cli()
    assert code == 0 and err == ""
    for number, _, kind in EXPECTED_SKILLS[:6]:
        assert re.search(rf"^ ?{number}  .+  \[{kind}\]$", out, re.MULTILINE)
    assert "Titration" not in out and "--clinician" in out
    assert "sorting sensations into pleasant" in out


def test_cli_lists_all_nine_in_clinician_mode(run_cli) -> None:
    code, out, _ = run_cli("--clinician")
    assert code == 0
    assert re.search(r"^ 7  Titration  \[clinician\]$", out, re.MULTILINE)
    assert re.search(r"^ 9  Completion of survival responses  \[clinician\]$", out, re.MULTILINE)


def test_cli_shows_one_skill_with_its_steps(run_cli, tmp_path: Path) -> None:
    code, out, _ = run_cli("show", "3")
    assert code == 0
    assert out.startswith("3. Grounding  [wellness]")
    grounding = load_skills(tmp_path).get(3)
    for index, step in enumerate(grounding.steps, start=1):
        timing = f"{step.duration_s:g} s" if step.duration_s else "when ready"
        assert f"  {index}. ({timing}" in out
    assert "invites tracking" in out


def test_cli_shows_help_now_strategies(run_cli) -> None:
    code, out, _ = run_cli("show", "help_now")
    assert code == 0 and "Help Now! strategies:" in out
    assert "Push against a wall" in out and "Count backwards" in out


def test_cli_clinician_skill_needs_clinician_mode(run_cli) -> None:
    code, out, err = run_cli("show", "8")
    assert code == 1 and out == ""
    assert err.strip() == ("trm-bio: skill 8 (Pendulation) is offered only in clinician mode, "
                           "with a trained therapist; add --clinician")
    for argv in (("show", "8", "--clinician"), ("--clinician", "show", "8")):
        code, out, _ = run_cli(*argv)
        assert code == 0 and out.startswith("8. Pendulation  [clinician]")


def test_cli_unknown_skill_and_broken_file_are_one_sentence(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("show", "42")
    assert code == 1 and err.startswith("trm-bio: there is no skill 42;")
    path = write_skill(tmp_path / "user", "bad.toml", skill_table(kind="expert"))
    code, _, err = run_cli()
    assert code == 1
    assert err == f"trm-bio: {path}: kind must be 'wellness' or 'clinician', got 'expert'\n"


def test_cli_lists_plans(run_cli) -> None:
    code, out, _ = run_cli("plans")
    assert code == 0 and "getting_started  Getting started" in out
    assert "Tracking then Grounding then Resourcing" in out and "small_steps" not in out
    code, out, _ = run_cli("plans", "--clinician")
    assert "small_steps" in out
