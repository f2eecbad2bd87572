"""Sensation tracking records: what the person notices inside, and their own zone rating.

Naming is descriptive, never judging: a sensation is pleasant, neutral or unpleasant; a zone is
high, resilient or low, and none of them is good or bad. Records are frozen dataclasses with
``to_dict``/``from_dict`` for storage; ``time_s`` is on the session's beat clock.

The words offered for a sensation come from :data:`SENSATION_WORDS`, extended by
``vocabulary.toml`` in the user's skills folder (``words = ["fizzy", "spacious"]``). A stored
record is checked for its shape, not against the vocabulary, so old sessions still load after a
word leaves the vocabulary; :meth:`SensationLog.record` checks new entries against it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from skills.loader import (
    VOCABULARY_FILE,
    SourceFile,
    _Fields,
    default_user_dir,
    printable,
    read_or_skip,
)


class SensationError(ValueError):
    """A sensation log or zone rating has a missing or bad value; the message names it."""


class Valence(StrEnum):
    """How a sensation feels, without judging it."""

    PLEASANT = "pleasant"
    NEUTRAL = "neutral"
    UNPLEASANT = "unpleasant"


class Zone(StrEnum):
    """The person's own sense of where they are: the High, Resilient or Low Zone."""

    HIGH = "high"
    RESILIENT = "resilient"
    LOW = "low"


#: The default words for sensations, grouped loosely by what they describe.
SENSATION_WORDS: tuple[str, ...] = (
    # temperature
    "warm", "cool", "hot", "cold",
    # energy and vibration
    "tingly", "buzzy", "fizzy", "pulsing", "fluttery", "shaky", "trembly", "jittery",
    # tension and weight
    "tight", "loose", "tense", "relaxed", "soft", "heavy", "light",
    # space and texture
    "open", "spacious", "closed", "dense", "hollow", "smooth", "prickly", "achy",
    # movement and stillness
    "flowing", "still", "restless", "steady",
    # settling
    "calm", "settled", "grounded", "peaceful", "strong",
    # less felt
    "numb", "distant", "blank",
)

#: Where in the body a sensation is noticed.
BODY_LOCATIONS: tuple[str, ...] = (
    "head", "face", "throat", "chest", "belly", "back",
    "arms", "hands", "legs", "feet", "whole body",
)

_WORD_PATTERN = re.compile(r"^[a-z][a-z' -]*[a-z]$|^[a-z]$")
_SENSATION_KEYS = ("kind", "time_s", "valence", "words", "location", "intensity", "note")
_ZONE_KEYS = ("kind", "time_s", "zone", "note")


@dataclass(frozen=True)
class Vocabulary:
    """The words a person can choose from when naming a sensation."""

    words: tuple[str, ...] = SENSATION_WORDS

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def check(self, words: Iterable[str]) -> tuple[str, ...]:
        """The words, trimmed and lower-cased, each checked against the vocabulary."""
        clean = tuple(_normal_word(word) for word in words)
        for word in clean:
            if word not in self.words:
                raise SensationError(
                    f"{word!r} is not in the sensation vocabulary; add it to {VOCABULARY_FILE} "
                    "in your skills folder to use it"
                )
        return clean


def load_vocabulary(user_dir: Path | None = None) -> Vocabulary:
    """The default sensation words plus those of ``vocabulary.toml`` in the user's folder.

    Raises
    ------
    skills.model.SkillFileError
        The file is not valid TOML or ``words`` is not a list of simple words.
    """
    folder = default_user_dir() if user_dir is None else Path(user_dir)
    path = folder / VOCABULARY_FILE
    if not os.path.lexists(path):
        return Vocabulary()
    source = SourceFile(printable(str(path)), path)
    table = read_or_skip(source)  # a FIFO or a device is skipped with a warning
    if table is None:
        return Vocabulary()
    fields = _Fields(table, source.name)
    fields.only(("words",))
    extra = fields.required("words")
    if not isinstance(extra, list):
        raise fields.error("words", f"must be a list of words, got {extra!r}")
    words = list(SENSATION_WORDS)
    for i, word in enumerate(extra):
        if not isinstance(word, str) or not _WORD_PATTERN.match(word.strip().lower()):
            raise fields.error(
                f"words[{i}]", f"must be a word in letters (spaces, - and ' allowed), got {word!r}"
            )
        word = word.strip().lower()
        if word not in words:
            words.append(word)
    return Vocabulary(tuple(words))


def _normal_word(word: object) -> str:
    if not isinstance(word, str) or not _WORD_PATTERN.match(word.strip().lower()):
        raise SensationError(f"a sensation word must be a word in letters, got {word!r}")
    return word.strip().lower()


def _check_time(time_s: object) -> float:
    if isinstance(time_s, bool) or not isinstance(time_s, int | float):
        raise SensationError(f"time_s must be a number of seconds, got {time_s!r}")
    if not math.isfinite(time_s) or time_s < 0:
        raise SensationError(f"time_s must be a finite time of 0 s or later, got {time_s!r}")
    return float(time_s)


def _check_note(note: object) -> str:
    if not isinstance(note, str):
        raise SensationError(f"note must be text, got {note!r}")
    return note


def _check_keys(data: Mapping[str, Any], kind: str, known: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        raise SensationError(f"a {kind} record must be a mapping, got {data!r}")
    if data.get("kind", kind) != kind:
        raise SensationError(f"a {kind} record has kind {data.get('kind')!r}")
    for key in data:
        if key not in known:
            raise SensationError(f"a {kind} record has an unknown field {key!r}")


@dataclass(frozen=True)
class SensationLog:
    """One sensation the person noticed.

    Attributes
    ----------
    time_s : float
        Beat-clock time of the log, in seconds from session start.
    valence : Valence
        Pleasant, neutral or unpleasant.
    words : tuple of str
        Words naming the sensation (lower case, no repeats), e.g. ("warm", "tingly").
    location : str or None
        One of :data:`BODY_LOCATIONS`, if the person placed it.
    intensity : int or None
        How strong it is, 0 (barely there) to 10, if the person rated it.
    note : str
        Free text, in the person's own words.
    """

    time_s: float
    valence: Valence
    words: tuple[str, ...] = ()
    location: str | None = None
    intensity: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_s", _check_time(self.time_s))
        try:
            valence = Valence(self.valence)
        except ValueError:
            choices = ", ".join(v.value for v in Valence)
            raise SensationError(
                f"valence must be one of {choices}, got {self.valence!r}"
            ) from None
        object.__setattr__(self, "valence", valence)
        if isinstance(self.words, str) or not isinstance(self.words, tuple | list):
            raise SensationError(f"words must be a list of words, got {self.words!r}")
        words = tuple(_normal_word(word) for word in self.words)
        if len(set(words)) != len(words):
            raise SensationError(f"words must not repeat, got {list(words)}")
        object.__setattr__(self, "words", words)
        if self.location is not None and self.location not in BODY_LOCATIONS:
            raise SensationError(
                f"location must be one of {', '.join(BODY_LOCATIONS)}, got {self.location!r}"
            )
        if self.intensity is not None and (
            isinstance(self.intensity, bool)
            or not isinstance(self.intensity, int)
            or not 0 <= self.intensity <= 10
        ):
            raise SensationError(f"intensity must be a whole number from 0 to 10, got "
                                 f"{self.intensity!r}")
        _check_note(self.note)

    @classmethod
    def record(
        cls,
        time_s: float,
        valence: Valence | str,
        words: Iterable[str] = (),
        *,
        location: str | None = None,
        intensity: int | None = None,
        note: str = "",
        vocabulary: Vocabulary | None = None,
    ) -> SensationLog:
        """A new log from a person's input: words checked against the vocabulary.

        Words and location are trimmed and lower-cased; ``whole_body`` is read as "whole body".
        """
        checked = (vocabulary or Vocabulary()).check(words)
        if isinstance(location, str):
            location = " ".join(location.replace("_", " ").lower().split())
        if isinstance(valence, str) and not isinstance(valence, Valence):
            valence = valence.strip().lower()
        return cls(time_s, valence, checked, location, intensity, note.strip())  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for storage (JSON-ready), with ``kind`` = "sensation"."""
        return {
            "kind": "sensation",
            "time_s": self.time_s,
            "valence": self.valence.value,
            "words": list(self.words),
            "location": self.location,
            "intensity": self.intensity,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensationLog:
        """The log stored by :meth:`to_dict`; raises SensationError on a bad record."""
        _check_keys(data, "sensation", _SENSATION_KEYS)
        for key in ("time_s", "valence"):
            if key not in data:
                raise SensationError(f"a sensation record is missing {key!r}")
        return cls(
            time_s=data["time_s"],
            valence=data["valence"],
            words=tuple(data.get("words") or ()),
            location=data.get("location"),
            intensity=data.get("intensity"),
            note=data.get("note") or "",
        )


@dataclass(frozen=True)
class ZoneRating:
    """The person's own rating of their zone at one moment, recorded beside the indicators."""

    time_s: float
    zone: Zone
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_s", _check_time(self.time_s))
        zone = self.zone.strip().lower() if isinstance(self.zone, str) else self.zone
        try:
            object.__setattr__(self, "zone", Zone(zone))
        except ValueError:
            choices = ", ".join(z.value for z in Zone)
            raise SensationError(f"zone must be one of {choices}, got {self.zone!r}") from None
        _check_note(self.note)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for storage (JSON-ready), with ``kind`` = "zone_rating"."""
        return {"kind": "zone_rating", "time_s": self.time_s, "zone": self.zone.value,
                "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZoneRating:
        """The rating stored by :meth:`to_dict`; raises SensationError on a bad record."""
        _check_keys(data, "zone_rating", _ZONE_KEYS)
        for key in ("time_s", "zone"):
            if key not in data:
                raise SensationError(f"a zone_rating record is missing {key!r}")
        return cls(time_s=data["time_s"], zone=data["zone"], note=data.get("note") or "")


def log_entry_from_dict(data: Mapping[str, Any]) -> SensationLog | ZoneRating:
    """A SensationLog or ZoneRating from its stored dict, chosen by its ``kind``."""
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind == "sensation":
        return SensationLog.from_dict(data)
    if kind == "zone_rating":
        return ZoneRating.from_dict(data)
    raise SensationError(f"a log entry must have kind 'sensation' or 'zone_rating', got {kind!r}")
