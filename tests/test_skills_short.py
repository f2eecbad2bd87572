"""The client view's short prompts: each step in one or two sentences, the clinician's view
keeping the whole text (issue 18)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skills import SkillFileError, load_skills
from skills.model import SHORT_PROMPT_CHARS, shorten
from tests.test_skills_loader import skill_table, write_skill
from tests.ui_app import open_app

SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


def sentences(text: str) -> int:
    return len(SENTENCE_END.findall(text))


def test_every_shipped_step_has_a_short_form_of_one_or_two_sentences(tmp_path: Path) -> None:
    library = load_skills(tmp_path, clinician_mode=True)
    for skill in library:
        for index, step in enumerate(skill.steps):
            where = f"{skill.id} steps[{index}]"
            assert step.short, f"{where} has no short form"
            assert 1 <= sentences(step.short) <= 2, where
            assert len(step.short) < len(step.prompt), where
            assert step.client_prompt == step.short


def test_a_step_without_a_short_form_is_shortened_by_rule(tmp_path: Path) -> None:
    long = (
        "Take a moment to arrive. You might find a way of sitting that feels okay. "
        "Your eyes can stay open, or your gaze can rest softly. You can stop at any time."
    )
    table = skill_table()
    table["steps"][0] = {"prompt": long}
    table["steps"][1]["short"] = "Tap gently."
    write_skill(tmp_path, "10_mine.toml", table)
    skill = load_skills(tmp_path).find("butterfly_hug")
    assert skill is not None
    first, second = skill.steps
    assert first.short == "" and first.prompt == long
    assert first.client_prompt == (
        "Take a moment to arrive. You might find a way of sitting that feels okay."
    )
    assert second.client_prompt == "Tap gently."
    # One long sentence is kept whole (cut mid-sentence it could read as an instruction).
    one = "If it feels okay, " + "and slowly " * 20 + "notice your feet."
    assert shorten(one) == one
    assert len(shorten(long)) <= SHORT_PROMPT_CHARS


def test_a_short_form_that_is_not_text_is_refused_naming_it(tmp_path: Path) -> None:
    table = skill_table()
    table["steps"][1]["short"] = 5
    write_skill(tmp_path, "10_mine.toml", table)
    with pytest.raises(SkillFileError, match=r"steps\[1\]\.short must be text"):
        load_skills(tmp_path)


def test_the_client_view_shows_the_short_prompt_and_the_clinician_the_whole(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path)
    window, client = parts.window, parts.window.client
    window.toggle_client_view()
    qtbot.waitExposed(client)
    assert window.skills.select("skill", "grounding")
    window.skills.begin()
    step = parts.controller.flow_state().step
    assert step is not None
    qtbot.waitUntil(lambda: client.prompt.text() == step.short, timeout=3000)
    assert window.skills.prompt.text() == step.prompt != step.short
    window.close()
