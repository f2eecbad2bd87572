"""The words a person reads about a session, made one way for the app and the reports.

Clock times of events (one function, on the beat clock, so the summary dialog, the report
and the replay bar agree to the second), wall-clock times in the computer's own time zone,
the display names of skills and Help Now! strategies in place of their stored ids, and
text that the PDF's fonts can draw. Qt-free and matplotlib-free.
"""

from __future__ import annotations

import functools
import logging
import math
import unicodedata
from datetime import UTC, datetime

log = logging.getLogger(__name__)


def fmt_clock(seconds: float | None) -> str:
    """Seconds since the session start as m:ss (h:mm:ss from an hour), "–" when unknown.

    Whole seconds elapsed, as a clock shows them (59.7 s is 0:59, never 1:00): the replay
    bar, the summary dialog and the reports all read an event's time the same way.
    """
    if seconds is None or not math.isfinite(seconds):
        return "–"
    total = math.floor(max(seconds, 0.0))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def local_time(iso_utc: str | None, *, seconds: bool = False) -> str:
    """A stored UTC time (ISO 8601) as this computer's local date and time, "–" when absent.

    A time that cannot be read is shown as it was stored (never an error on screen).
    """
    if not iso_utc:
        return "–"
    try:
        when = datetime.fromisoformat(iso_utc)
    except ValueError:
        return iso_utc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_zone_name() -> str:
    """The local time zone's short name (e.g. "CET"), for a column heading."""
    return datetime.now().astimezone().strftime("%Z") or "local time"


@functools.lru_cache(maxsize=1)
def _skill_names() -> tuple[dict[str, str], dict[str, str]]:
    """Display names of every loaded skill and Help Now! strategy, by id."""
    from skills.loader import load_skills
    from skills.model import SkillFileError

    try:
        library = load_skills(clinician_mode=True)
    except (SkillFileError, OSError) as exc:  # the names then stay as stored
        log.warning("the skills could not be read for their names (%s)", exc)
        return {}, {}
    skills = {s.id: s.name for s in library.all_skills}
    strategies = {st.id: st.name for s in library.all_skills for st in s.strategies}
    return skills, strategies


def display_name(kind: str, label: str) -> str:
    """What to show for an event's label: a skill's or strategy's name in place of its id.

    Parameters
    ----------
    kind : str
        ``"skill"``, ``"helpnow"`` (Help Now! or one of its strategies), or another kind
        (its label is the person's own words and is shown as it is).
    label : str
        The stored label (a name, an id such as ``"push_wall"``, or words).
    """
    skills, strategies = _skill_names()
    if kind == "helpnow":
        name = strategies.get(label)
        return f"Help Now!: {name}" if name else label
    if kind == "skill":
        return skills.get(label, label)
    return label


def place_name(location: str | None) -> str:
    """A body location as words ("upper_chest" as "upper chest")."""
    return (location or "").replace("_", " ")


def printable(text: str) -> str:
    """``text`` with pictographs (emoji) written as their names in brackets.

    The PDF's fonts (DejaVu, shipped with matplotlib) have no emoji: a person's "🙂" would
    print as an empty box. Its Unicode name says what it was ("[slightly smiling face]");
    variation selectors and joiners, which draw nothing, are dropped. Letters of every
    script the font has stay as they are.
    """
    out = []
    for ch in text:
        code = ord(ch)
        category = unicodedata.category(ch)
        if code in (0xFE0E, 0xFE0F, 0x200D) or 0x1F3FB <= code <= 0x1F3FF:
            continue  # selectors, joiners and skin tones draw nothing of their own
        if category == "So" and code >= 0x2190 and not _in_font(ch):
            out.append(f"[{unicodedata.name(ch, 'symbol').lower()}]")
        else:
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=512)
def _in_font(ch: str) -> bool:
    """Whether matplotlib's default font (DejaVu Sans) draws ``ch``."""
    return ord(ch) in _font_codes()


@functools.lru_cache(maxsize=1)
def _font_codes() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont("DejaVu Sans"))
    return frozenset(font.get_charmap())
