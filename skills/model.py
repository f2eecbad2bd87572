"""The TRM skills as immutable records: steps, Help Now! strategies, skills and session plans.

The records are built by :mod:`skills.loader` from TOML files and never change afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

SkillKind = Literal["wellness", "clinician"]
SKILL_KINDS: tuple[str, ...] = ("wellness", "clinician")

#: The id of the Help Now! skill: the flow offers its strategies as an interrupt from any skill.
HELP_NOW_ID = "help_now"


class SkillFileError(ValueError):
    """A skill, plan or vocabulary file is unreadable or has a field with a bad value.

    The message is one sentence that names the file and the field, e.g.
    ``skills/data/03_grounding.toml: steps[2].duration_s must be a positive number, got 'abc'``.
    """


class UnknownSkillError(LookupError):
    """No skill or plan has the requested number or id, or it is offered only in clinician mode."""

    def __str__(self) -> str:  # LookupError would show the repr of the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Step:
    """One guided step of a skill.

    Attributes
    ----------
    prompt : str
        The invitational text shown (or read aloud) during the step.
    duration_s : float or None
        Suggested duration in seconds; a step with a duration advances on its own when the
        time is up, a step without one waits until the person moves on.
    invites_tracking : bool
        Whether the step invites the person to log a sensation.
    id : str or None
        Optional stable name of the step within its skill.
    short : str
        The prompt in one or two sentences, for the client's screen ("" when the file
        gives none: :attr:`client_prompt` then shortens the prompt by :func:`shorten`).
    """

    prompt: str
    duration_s: float | None = None
    invites_tracking: bool = False
    id: str | None = None
    short: str = ""

    @property
    def client_prompt(self) -> str:
        """The prompt as the client view shows it: the short form, else the prompt shortened."""
        return self.short or shorten(self.prompt)


#: The client view's prompts keep to this many characters when shortened by rule (two
#: sentences of a Help Now! strategy's invitation fit, its "only as firmly as feels good").
SHORT_PROMPT_CHARS = 200
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“'‘(])")


def shorten(prompt: str, most_chars: int = SHORT_PROMPT_CHARS) -> str:
    """A prompt in one or two sentences: the fallback when a step has no short form.

    The first sentence, and the second too when both together keep within
    ``most_chars`` characters. A first sentence longer than that is kept whole: cut
    mid-sentence, an invitation could read as an instruction.
    """
    sentences = _SENTENCE_END.split(" ".join(prompt.split()))
    if len(sentences) > 1 and len(sentences[0]) + 1 + len(sentences[1]) <= most_chars:
        return f"{sentences[0]} {sentences[1]}"
    return sentences[0]


@dataclass(frozen=True)
class Strategy:
    """One quick sensory strategy offered by Help Now!: a short name and an invitation."""

    id: str
    name: str
    prompt: str


@dataclass(frozen=True)
class Skill:
    """One TRM skill: its number, name, purpose, kind and guided steps.

    ``kind`` is "wellness" (usable alone) or "clinician" (offered only in clinician mode).
    ``source`` names the file the skill was read from, for messages.
    """

    number: int
    id: str
    name: str
    purpose: str
    kind: SkillKind
    steps: tuple[Step, ...]
    strategies: tuple[Strategy, ...] = ()
    source: str = ""

    @property
    def clinician_only(self) -> bool:
        """True if the skill is offered only in clinician mode."""
        return self.kind == "clinician"

    @property
    def total_timed_s(self) -> float:
        """Sum of the suggested durations of the timed steps, in seconds."""
        return float(sum(step.duration_s or 0.0 for step in self.steps))


@dataclass(frozen=True)
class Plan:
    """A session plan: skills practised one after another, referenced by skill id."""

    id: str
    name: str
    description: str
    skill_ids: tuple[str, ...]
    source: str = ""


def _clinician_message(skill: Skill) -> str:
    return (
        f"skill {skill.number} ({skill.name}) is offered only in clinician mode, "
        "with a trained therapist"
    )


class SkillLibrary:
    """The loaded skills, in number order, seen in wellness or clinician mode.

    The library holds every skill; outside clinician mode, clinician-only skills are hidden from
    iteration and lookups (a lookup says why it failed).
    """

    def __init__(self, skills: Iterable[Skill], *, clinician_mode: bool = False) -> None:
        self._all = tuple(sorted(skills, key=lambda skill: skill.number))
        self.clinician_mode = clinician_mode
        self._by_number = {skill.number: skill for skill in self._all}
        self._by_id = {skill.id: skill for skill in self._all}

    @property
    def skills(self) -> tuple[Skill, ...]:
        """The skills offered in this mode, in number order."""
        if self.clinician_mode:
            return self._all
        return tuple(skill for skill in self._all if not skill.clinician_only)

    def client_prompts(self) -> dict[str, str]:
        """Every step's prompt (in every mode) to its short form for the client's screen."""
        return {step.prompt: step.client_prompt for skill in self._all for step in skill.steps}

    @property
    def all_skills(self) -> tuple[Skill, ...]:
        """Every loaded skill, including clinician-only ones, in number order."""
        return self._all

    def with_mode(self, *, clinician_mode: bool) -> SkillLibrary:
        """The same skills seen in the other mode."""
        return SkillLibrary(self._all, clinician_mode=clinician_mode)

    def find(self, key: int | str) -> Skill | None:
        """The skill with this number or id in any mode (a digit string counts as a number)."""
        if isinstance(key, str) and key.strip().isdigit():
            key = int(key)
        if isinstance(key, int) and not isinstance(key, bool):
            return self._by_number.get(key)
        if isinstance(key, str):
            return self._by_id.get(key.strip())
        return None

    def get(self, key: int | str) -> Skill:
        """The skill with this number or id; raises UnknownSkillError if it is not offered."""
        skill = self.find(key)
        if skill is None:
            known = ", ".join(f"{s.number} ({s.id})" for s in self.skills)
            raise UnknownSkillError(f"there is no skill {key}; the skills are {known}")
        if skill.clinician_only and not self.clinician_mode:
            raise UnknownSkillError(_clinician_message(skill))
        return skill

    __getitem__ = get

    @property
    def help_now(self) -> Skill | None:
        """The Help Now! skill (a wellness skill, so available in every mode), if loaded."""
        return self._by_id.get(HELP_NOW_ID)

    def skills_for_plan(self, plan: Plan) -> tuple[Skill, ...]:
        """The skills of a plan, in order; raises UnknownSkillError if one is not offered."""
        return tuple(self.get(skill_id) for skill_id in plan.skill_ids)

    def __iter__(self) -> Iterator[Skill]:
        return iter(self.skills)

    def __len__(self) -> int:
        return len(self.skills)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int | str):
            return False
        skill = self.find(key)
        return skill is not None and (self.clinician_mode or not skill.clinician_only)

    def __repr__(self) -> str:
        mode = "clinician" if self.clinician_mode else "wellness"
        return f"SkillLibrary({len(self)} skills, {mode} mode)"


class PlanLibrary:
    """The loaded session plans, in file order, seen in wellness or clinician mode.

    A plan that includes a clinician-only skill is offered only in clinician mode.
    """

    def __init__(self, plans: Iterable[Plan], skills: SkillLibrary) -> None:
        self._all = tuple(plans)
        self.skill_library = skills
        self._by_id = {plan.id: plan for plan in self._all}

    def needs_clinician(self, plan: Plan) -> bool:
        """True if the plan includes a clinician-only skill."""
        found = (self.skill_library.find(skill_id) for skill_id in plan.skill_ids)
        return any(skill is not None and skill.clinician_only for skill in found)

    @property
    def plans(self) -> tuple[Plan, ...]:
        """The plans offered in this mode."""
        if self.skill_library.clinician_mode:
            return self._all
        return tuple(plan for plan in self._all if not self.needs_clinician(plan))

    def get(self, plan_id: str) -> Plan:
        """The plan with this id; raises UnknownSkillError if it is not offered."""
        plan = self._by_id.get(plan_id)
        if plan is None:
            known = ", ".join(p.id for p in self.plans)
            raise UnknownSkillError(f"there is no plan {plan_id!r}; the plans are {known}")
        if self.needs_clinician(plan) and not self.skill_library.clinician_mode:
            raise UnknownSkillError(
                f"plan {plan.id!r} ({plan.name}) includes a skill offered only in clinician mode"
            )
        return plan

    __getitem__ = get

    def skills_for(self, plan: Plan | str) -> tuple[Skill, ...]:
        """The skills of a plan (or plan id), in order."""
        if isinstance(plan, str):
            plan = self.get(plan)
        return self.skill_library.skills_for_plan(plan)

    def __iter__(self) -> Iterator[Plan]:
        return iter(self.plans)

    def __len__(self) -> int:
        return len(self.plans)

    def __contains__(self, plan_id: object) -> bool:
        return any(plan.id == plan_id for plan in self.plans)
