"""``trm-bio skills``: list the TRM skills, show one with its steps, list the session plans."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from trm_bio.errors import TrmBioError

if TYPE_CHECKING:  # skills loads its whole package: only when a command runs (fast --help)
    from skills import Skill, SkillLibrary

_WIDTH = 88


def _add_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The options work before or after the action; on an action they default to SUPPRESS so
    # that not giving them there keeps what was given before it.
    parser.add_argument(
        "--clinician",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="also offer Titration, Pendulation and Completion (with a trained therapist)",
    )
    parser.add_argument(
        "--skills-dir",
        type=Path,
        default=None if top else argparse.SUPPRESS,
        metavar="DIR",
        help="your own skills folder (default: $TRM_BIO_SKILLS or skills/ in the user data folder)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``skills``, ``skills show N`` and ``skills plans``."""
    parser = subparsers.add_parser(
        "skills",
        help="list the TRM skills, or show one with its steps",
        description="List the skills of the Trauma Resiliency Model, show one, list the plans.",
    )
    _add_options(parser, top=True)
    parser.set_defaults(func=_list_skills)
    actions = parser.add_subparsers(dest="skills_command", metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="show one skill with its steps",
        description="Show one skill: its purpose, its steps and, for Help Now!, its strategies.",
    )
    show.add_argument("skill", help="the skill's number (1-9) or id (e.g. grounding)")
    _add_options(show, top=False)
    show.set_defaults(func=_show_skill)
    plans = actions.add_parser(
        "plans",
        help="list the session plans",
        description="List the session plans: skills practised one after another.",
    )
    _add_options(plans, top=False)
    plans.set_defaults(func=_list_plans)


def _library(args: argparse.Namespace) -> SkillLibrary:
    from skills import SkillFileError, load_skills

    try:
        return load_skills(args.skills_dir, clinician_mode=args.clinician)
    except SkillFileError as exc:
        raise TrmBioError(str(exc)) from exc


def _list_skills(args: argparse.Namespace) -> int:
    library = _library(args)
    for skill in library:
        print(f"{skill.number:>2}  {skill.name}  [{skill.kind}]")
        print(textwrap.fill(skill.purpose, _WIDTH, initial_indent="    ", subsequent_indent="    "))
    if not args.clinician:
        hidden = len(library.all_skills) - len(library)
        if hidden:
            print(f"\n({hidden} more skills are offered in clinician mode: add --clinician)")
    return 0


def not_offered(exc: Exception) -> TrmBioError:
    """An unknown skill or plan, or one offered only in clinician mode, as one sentence that
    names the option offering it."""
    text = str(exc).strip("'\"")  # a KeyError's text comes quoted
    hint = "; add --clinician" if "clinician mode" in text else ""
    return TrmBioError(f"{text}{hint}")


def _show_skill(args: argparse.Namespace) -> int:
    from skills import UnknownSkillError

    library = _library(args)
    try:
        skill = library.get(args.skill)
    except UnknownSkillError as exc:
        raise not_offered(exc) from exc
    print(_describe(skill))
    return 0


def _describe(skill: Skill) -> str:
    lines = [f"{skill.number}. {skill.name}  [{skill.kind}]"]
    lines.append(textwrap.fill(skill.purpose, _WIDTH))
    lines.append("")
    lines.append("Steps:")
    for index, step in enumerate(skill.steps, start=1):
        timing = f"{step.duration_s:g} s" if step.duration_s is not None else "when ready"
        tracking = ", invites tracking" if step.invites_tracking else ""
        lines.append(f"  {index}. ({timing}{tracking})")
        lines.append(
            textwrap.fill(step.prompt, _WIDTH, initial_indent="     ", subsequent_indent="     ")
        )
    if skill.strategies:
        lines.append("")
        lines.append("Help Now! strategies:")
        for strategy in skill.strategies:
            lines.append(f"  - {strategy.name}")
            lines.append(
                textwrap.fill(
                    strategy.prompt, _WIDTH, initial_indent="    ", subsequent_indent="    "
                )
            )
    timed_s = skill.total_timed_s
    if timed_s:
        lines.append("")
        lines.append(
            f"Timed steps take about {timed_s / 60:.0f} min; the others wait until you move on."
        )
    lines.append(f"(from {skill.source})")
    return "\n".join(lines)


def _list_plans(args: argparse.Namespace) -> int:
    from skills import SkillFileError, load_plans

    library = _library(args)
    try:
        plans = load_plans(args.skills_dir, clinician_mode=args.clinician, skills=library)
    except SkillFileError as exc:
        raise TrmBioError(str(exc)) from exc
    for plan in plans:
        names = " then ".join(skill.name for skill in plans.skills_for(plan))
        print(f"{plan.id}  {plan.name}")
        print(textwrap.fill(names, _WIDTH, initial_indent="    ", subsequent_indent="    "))
    return 0
