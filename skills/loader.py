"""Read the skills and session plans from TOML files, validating every field.

The package ships the nine TRM skills (``skills/data/NN_<id>.toml``) and some session plans
(``skills/data/plans.toml``). A clinician can keep their own files in a user folder (by default
``<user data dir>/trm-bio/skills``): a skill file there with the same number or id as a built-in
skill replaces it, any other skill file adds a skill; ``plans.toml`` there adds plans or replaces
those with the same id. ``vocabulary.toml`` in the same folder extends the sensation words (see
:mod:`skills.sensations`).

Only regular files (or links to one) of at most 256 KiB are read: anything else named
``*.toml`` there (a FIFO, a device, a folder, a huge file) is skipped with a warning naming
it. Names, purposes and prompts are shown in terminals, so control characters (escape codes)
in them are refused.

A skill file::

    number = 3
    id = "grounding"                # lower case letters, digits and _
    name = "Grounding"
    kind = "wellness"               # or "clinician": offered only in clinician mode
    purpose = "Noticing the body's contact with what supports it."

    [[steps]]
    prompt = "Notice what is holding you up right now..."
    duration_s = 45                 # optional: the step advances by itself after 45 s
    invites_tracking = true         # optional: the step invites logging a sensation
    id = "support"                  # optional
    short = "Notice what holds you up."  # optional: the client view's one or two sentences

    [[strategies]]                  # optional; Help Now! must have at least one
    id = "water"
    name = "Sip some water"
    prompt = "If you have water nearby, ..."

Steps and strategies are counted from 0 in messages (``steps[0]`` is the first step).
"""

from __future__ import annotations

import logging
import math
import os
import re
import stat
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from skills.model import (
    HELP_NOW_ID,
    SKILL_KINDS,
    Plan,
    PlanLibrary,
    Skill,
    SkillFileError,
    SkillLibrary,
    Step,
    Strategy,
)

logger = logging.getLogger(__name__)

PLANS_FILE = "plans.toml"
VOCABULARY_FILE = "vocabulary.toml"
#: File names in a skills folder that hold something other than one skill.
RESERVED_FILES = frozenset({PLANS_FILE, VOCABULARY_FILE})

#: Largest skills file read (bytes). The shipped ones hold 2-4 KiB; a bigger file is not a
#: skill file, and a link to a device such as /dev/zero must not fill the memory.
MAX_FILE_BYTES = 256 * 1024

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_SKILL_FIELDS = ("number", "id", "name", "kind", "purpose", "steps", "strategies")
_STEP_FIELDS = ("prompt", "duration_s", "invites_tracking", "id", "short")
_STRATEGY_FIELDS = ("id", "name", "prompt")
_PLAN_FIELDS = ("id", "name", "description", "skills")
#: Names the user skills folder, as ``TRM_BIO_LIBRARY`` names the library (tests use it too).
SKILLS_DIR_ENV_VAR = "TRM_BIO_SKILLS"


def default_user_dir() -> Path:
    """The clinician's skills folder: ``$TRM_BIO_SKILLS``, else in user data (may not exist)."""
    if os.environ.get(SKILLS_DIR_ENV_VAR):
        return Path(os.environ[SKILLS_DIR_ENV_VAR])
    # appauthor=False: the same folder as the session library on every platform.
    return Path(platformdirs.user_data_dir("trm-bio", appauthor=False)) / "skills"


@dataclass(frozen=True)
class SourceFile:
    """A TOML file to read: a display name for messages and a way to get its bytes."""

    name: str
    path: Any  # pathlib.Path or an importlib.resources Traversable

    @property
    def file_name(self) -> str:
        return str(self.path.name)

    def read(self) -> dict[str, Any]:
        """The parsed TOML table.

        Raises
        ------
        SkippedFile
            The entry is not a regular file (a FIFO, a device, a folder, a dangling link) or
            is larger than :data:`MAX_FILE_BYTES`: the caller skips it and says why.
        SkillFileError
            The file cannot be read or is not valid UTF-8 TOML; the message names it.
        """
        try:
            if isinstance(self.path, Path):
                raw = _read_regular_file(self.path, self.name)
            else:  # shipped inside a package archive: no device or FIFO there
                raw = self.path.read_bytes()
        except OSError as exc:
            raise SkillFileError(f"{self.name}: cannot be read ({exc.strerror or exc})") from exc
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SkillFileError(f"{self.name}: is not UTF-8 text") from exc
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SkillFileError(f"{self.name}: is not valid TOML ({exc})") from exc
        except RecursionError as exc:  # tomllib parses nested arrays and tables recursively
            raise SkillFileError(
                f"{self.name}: is not valid TOML (its lists or tables are nested too deeply)"
            ) from exc


class SkippedFile(SkillFileError):
    """A skills-folder entry that is not a skills file to read; the message says why.

    Loaders skip it with a warning instead of failing: a FIFO, a device or an oversized
    file named ``*.toml`` holds no skill.
    """


_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(info: os.stat_result, name: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((kind for test, kind in _FILE_KINDS if test(info.st_mode)), "a special file")
        raise SkippedFile(f"{name}: skipped, it is {kind}, not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise SkippedFile(_too_big(name, info.st_size))


def _too_big(name: str, size: int) -> str:
    return (
        f"{name}: skipped, it holds {math.ceil(size / 1024):,} KiB and a skills file holds at most "
        f"{MAX_FILE_BYTES // 1024} KiB"
    )


def _read_regular_file(path: Path, name: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`, else SkippedFile.

    Checked before opening (opening a device can act on it), and again on the open file: a
    FIFO put there in between opens at once with O_NONBLOCK instead of waiting for a writer.
    A symbolic link to a regular file is followed: a shared skill file may be linked in.
    """
    try:
        _check_regular(path.stat(), name)
    except FileNotFoundError as exc:
        raise SkippedFile(f"{name}: skipped, it leads to no file (a broken link?)") from exc
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    with open(fd, "rb") as file:  # owns fd from here: closed on every path
        _check_regular(os.fstat(fd), name)
        raw = file.read(MAX_FILE_BYTES + 1)  # the file may have grown since fstat
    if len(raw) > MAX_FILE_BYTES:
        raise SkippedFile(_too_big(name, len(raw)))
    return raw


def printable(text: str) -> str:
    """``text`` with control characters (escape codes...) written as escapes, e.g. ``\\x1b``,
    so that a file name in a message cannot act on the terminal."""
    if not any(unicodedata.category(char) == "Cc" for char in text):
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) == "Cc"
        else char
        for char in text
    )


def builtin_files() -> list[SourceFile]:
    """The TOML files shipped in ``skills/data``, sorted by name."""
    folder = resources.files("skills") / "data"
    entries = [entry for entry in folder.iterdir() if entry.name.endswith(".toml")]
    return [SourceFile(f"skills/data/{entry.name}", entry) for entry in sorted(entries, key=_name)]


def user_files(user_dir: Path) -> list[SourceFile]:
    """The TOML files in a user's skills folder, sorted by name (none if it does not exist)."""
    if not user_dir.exists():
        return []
    if not user_dir.is_dir():
        raise SkillFileError(
            f"{printable(str(user_dir))}: the skills folder is a file, not a folder"
        )
    return [
        SourceFile(printable(str(path)), path)
        for path in sorted(user_dir.glob("*.toml"), key=_name)
    ]


def _name(entry: Any) -> str:
    return str(entry.name)


# -- field checks: each returns the clean value or raises SkillFileError naming the field ----


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class _Fields:
    """Reads the fields of one TOML table, naming ``file: path.field`` in every error."""

    def __init__(self, table: object, where: str, path: str = "") -> None:
        self.where = where
        self.path = path
        if not isinstance(table, dict):
            raise self.error_at(path or "the file", f"must be a table, got {_show(table)}")
        self.table: dict[str, Any] = table

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error_at(self, field: str, message: str) -> SkillFileError:
        return SkillFileError(f"{self.where}: {field} {message}")

    def error(self, key: str, message: str) -> SkillFileError:
        return self.error_at(self.field(key), message)

    def only(self, known: Iterable[str]) -> None:
        known = tuple(known)
        for key in self.table:
            if key not in known:
                raise self.error(key, f"is not a known field (known fields: {', '.join(known)})")

    def required(self, key: str) -> Any:
        if key not in self.table:
            raise self.error(key, "is missing")
        return self.table[key]

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        if not required and key not in self.table:
            return default
        value = self.required(key)
        if not isinstance(value, str):
            raise self.error(key, f"must be text, got {_show(value)}")
        clean = " ".join(value.split())  # prompts are wrapped in the file; shown as one line
        if not clean:
            raise self.error(key, "must not be empty")
        if any(unicodedata.category(char) == "Cc" for char in clean):
            # Shown in terminals and windows: an escape code would act on the terminal.
            raise self.error(
                key, f"must not hold control characters such as escape codes, got {_show(value)}"
            )
        return clean

    def ident(self, key: str, *, required: bool = True) -> str | None:
        if not required and key not in self.table:
            return None
        value = self.required(key)
        if not isinstance(value, str) or not _ID_PATTERN.match(value):
            raise self.error(
                key,
                "must be lower-case letters, digits and _ starting with a letter, "
                f"got {_show(value)}",
            )
        return value

    def positive_int(self, key: str) -> int:
        value = self.required(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(key, f"must be a whole number of 1 or more, got {_show(value)}")
        return value

    def positive_seconds(self, key: str) -> float | None:
        if key not in self.table:
            return None
        value = self.table[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.error(key, f"must be a positive number, got {_show(value)}")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self.table.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_show(value)}")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.required(key)
        if value not in choices:
            wanted = " or ".join(repr(choice) for choice in choices)
            raise self.error(key, f"must be {wanted}, got {_show(value)}")
        return str(value)

    def tables(self, key: str, *, required: bool) -> list[_Fields]:
        if not required and key not in self.table:
            return []
        value = self.required(key)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(key, f"must be a list of tables ([[{key}]]), got {_show(value)}")
        if required and not value:
            raise self.error(key, "must have at least one entry")
        return [
            _Fields(item, self.where, f"{self.field(key)}[{index}]")
            for index, item in enumerate(value)
        ]


def _unique_ids(items: list[_Fields], ids: list[str | None], what: str) -> None:
    seen: dict[str, int] = {}
    for index, (fields, item_id) in enumerate(zip(items, ids, strict=True)):
        if item_id is None:
            continue
        if item_id in seen:
            raise fields.error("id", f"{item_id!r} is already used by {what}[{seen[item_id]}]")
        seen[item_id] = index


def parse_skill(table: object, where: str) -> Skill:
    """Build a Skill from one parsed TOML file; raises SkillFileError naming file and field."""
    fields = _Fields(table, where)
    fields.only(_SKILL_FIELDS)
    number = fields.positive_int("number")
    skill_id = fields.ident("id")
    assert skill_id is not None
    name = fields.text("name")
    kind = fields.choice("kind", SKILL_KINDS)
    purpose = fields.text("purpose")

    step_fields = fields.tables("steps", required=True)
    steps = []
    for item in step_fields:
        item.only(_STEP_FIELDS)
        steps.append(
            Step(
                prompt=item.text("prompt"),
                duration_s=item.positive_seconds("duration_s"),
                invites_tracking=item.flag("invites_tracking"),
                id=item.ident("id", required=False),
                short=item.text("short", required=False),
            )
        )
    _unique_ids(step_fields, [step.id for step in steps], "steps")

    strategy_fields = fields.tables("strategies", required=False)
    strategies = []
    for item in strategy_fields:
        item.only(_STRATEGY_FIELDS)
        strategy_id = item.ident("id")
        assert strategy_id is not None
        strategies.append(Strategy(strategy_id, item.text("name"), item.text("prompt")))
    _unique_ids(strategy_fields, [s.id for s in strategies], "strategies")
    if skill_id == HELP_NOW_ID and not strategies:
        raise fields.error("strategies", "must list at least one strategy for Help Now!")

    return Skill(
        number=number,
        id=skill_id,
        name=name,
        purpose=purpose,
        kind=kind,  # type: ignore[arg-type]  # checked against SKILL_KINDS above
        steps=tuple(steps),
        strategies=tuple(strategies),
        source=where,
    )


def read_or_skip(source: SourceFile) -> dict[str, Any] | None:
    """The parsed file, or None after a warning naming it when it is not a file to read."""
    try:
        return source.read()
    except SkippedFile as exc:
        logger.warning("%s", exc)
        return None


def _read_skills(files: list[SourceFile]) -> list[Skill]:
    """Skills from a list of files, rejecting two files with the same number or id."""
    skills: list[Skill] = []
    for source in files:
        if source.file_name in RESERVED_FILES:
            continue
        table = read_or_skip(source)
        if table is None:
            continue
        skill = parse_skill(table, source.name)
        for other in skills:
            if other.number == skill.number:
                raise SkillFileError(
                    f"{source.name}: number {skill.number} is also used by {other.source}"
                )
            if other.id == skill.id:
                raise SkillFileError(
                    f"{source.name}: id {skill.id!r} is also used by {other.source}"
                )
        skills.append(skill)
    return skills


def _merge(builtin: list[Skill], user: list[Skill]) -> list[Skill]:
    """Built-in skills with the user's skills replacing (same number or id) or added."""
    merged = list(builtin)
    for skill in user:
        matches = [s for s in merged if s.number == skill.number or s.id == skill.id]
        if len(matches) > 1:
            raise SkillFileError(
                f"{skill.source}: number {skill.number} and id {skill.id!r} match two different "
                f"skills ({matches[0].source} and {matches[1].source}); "
                "a replacement keeps the number or the id of one skill"
            )
        if matches:
            logger.info("%s replaces %s", skill.source, matches[0].source)
            merged.remove(matches[0])
        merged.append(skill)
    return merged


def _resolve_user_dir(user_dir: Path | None) -> Path:
    return default_user_dir() if user_dir is None else Path(user_dir)


def load_skills(user_dir: Path | None = None, *, clinician_mode: bool = False) -> SkillLibrary:
    """Load the built-in skills, then the user's skill files on top.

    Parameters
    ----------
    user_dir : Path or None
        The clinician's skills folder; None means :func:`default_user_dir`. A missing folder is
        fine (only the built-in skills are loaded).
    clinician_mode : bool
        Whether clinician-only skills (Titration, Pendulation, Completion) are offered.

    Raises
    ------
    SkillFileError
        A file cannot be read or has a bad field; the message names the file and the field.
    """
    folder = _resolve_user_dir(user_dir)
    builtin = _read_skills(builtin_files())
    user = _read_skills(user_files(folder))
    merged = _merge(builtin, user)
    library = SkillLibrary(merged, clinician_mode=clinician_mode)
    if library.help_now is None:
        logger.warning("no skill has the id %r: Help Now! is not available", HELP_NOW_ID)
    return library


def parse_plans(table: object, where: str, skills: SkillLibrary) -> list[Plan]:
    """Plans from one parsed plans file; skill references must name a loaded skill."""
    fields = _Fields(table, where)
    fields.only(("plans",))
    plan_fields = fields.tables("plans", required=False)
    plans: list[Plan] = []
    for item in plan_fields:
        item.only(_PLAN_FIELDS)
        plan_id = item.ident("id")
        assert plan_id is not None
        name = item.text("name")
        description = item.text("description", required=False)
        refs = item.required("skills")
        if not isinstance(refs, list) or not refs:
            raise item.error(
                "skills", f"must be a non-empty list of skill ids or numbers, got {_show(refs)}"
            )
        skill_ids = []
        for i, ref in enumerate(refs):
            skill = None if isinstance(ref, bool) else skills.find(ref)
            if skill is None:
                raise item.error(f"skills[{i}]", f"{_show(ref)} is not a known skill number or id")
            skill_ids.append(skill.id)
        plans.append(Plan(plan_id, name, description, tuple(skill_ids), source=where))
    _unique_ids(plan_fields, [plan.id for plan in plans], "plans")
    return plans


def load_plans(
    user_dir: Path | None = None,
    *,
    clinician_mode: bool = False,
    skills: SkillLibrary | None = None,
) -> PlanLibrary:
    """Load the built-in session plans, then the user's ``plans.toml`` on top.

    Parameters
    ----------
    user_dir : Path or None
        The clinician's skills folder; None means :func:`default_user_dir`.
    clinician_mode : bool
        Whether plans that include a clinician-only skill are offered.
    skills : SkillLibrary or None
        The skills the plans refer to; None loads them from the same folders.

    Raises
    ------
    SkillFileError
        A plans file cannot be read, has a bad field, or names an unknown skill.
    """
    folder = _resolve_user_dir(user_dir)
    if skills is None:
        skills = load_skills(folder, clinician_mode=clinician_mode)
    else:
        skills = skills.with_mode(clinician_mode=clinician_mode)
    plans: dict[str, Plan] = {}
    sources = [f for f in builtin_files() if f.file_name == PLANS_FILE]
    sources += [f for f in user_files(folder) if f.file_name == PLANS_FILE]
    for source in sources:
        table = read_or_skip(source)
        if table is None:
            continue
        for plan in parse_plans(table, source.name, skills):
            if plan.id in plans:
                logger.info(
                    "%s replaces plan %r of %s", source.name, plan.id, plans[plan.id].source
                )
            plans[plan.id] = plan  # a user plan with a built-in id replaces it in place
    return PlanLibrary(plans.values(), skills)
