"""A person's resonance-frequency assessments, kept with them in the library.

Each finished assessment is appended to the person's record (``person_derived`` under the
name ``"resonance"``): the date, the resonance rate (breaths/min), what the phase was taken
against and the scores per rate. The newest assessment's rate is the person's default pacer
rate and is what reports and trends show.
"""

from __future__ import annotations

import math
from typing import Any

from trm_bio.store.library import Library, utc_now_iso

RECORD_NAME = "resonance"


def assessments(library: Library, person_id: int) -> list[dict[str, Any]]:
    """The person's assessments, oldest first (an empty list when none is stored)."""
    data = library.get_person_derived(person_id, RECORD_NAME)
    if not isinstance(data, dict) or not isinstance(data.get("assessments"), list):
        return []
    return [a for a in data["assessments"] if isinstance(a, dict)]


def resonance_rate(library: Library, person_id: int) -> float | None:
    """The person's newest resonance rate (breaths/min), or None when not assessed."""
    entry = latest(library, person_id)
    return None if entry is None else float(entry["resonance_rate"])


def latest(library: Library, person_id: int) -> dict[str, Any] | None:
    """The person's newest assessment with a rate: ``{"resonance_rate", "assessed_utc"}``."""
    for entry in reversed(assessments(library, person_id)):
        rate = entry.get("resonance_rate")
        if isinstance(rate, int | float) and math.isfinite(rate):
            return {"resonance_rate": float(rate), "assessed_utc": str(entry.get("assessed_utc"))}
    return None


def latest_for_name(library: Library, name: str | None) -> dict[str, Any] | None:
    """:func:`latest` for a person by name (None when there is no such person)."""
    person = library.find_person(name) if name else None
    return latest(library, person.id) if person is not None else None


def resonance_words(entry: dict[str, Any]) -> str:
    """``"5.5 breaths a minute (assessed 2026-12-05)"`` for a :func:`latest` entry."""
    return (
        f"{entry['resonance_rate']:g} breaths a minute "
        f"(assessed {str(entry.get('assessed_utc'))[:10]})"
    )


def add_assessment(library: Library, person_id: int, result: dict[str, Any]) -> dict[str, Any]:
    """Append one assessment (``Assessment.as_dict()``) with today's date; returns the entry."""
    entry = {"assessed_utc": utc_now_iso(), **result}
    history = [*assessments(library, person_id), entry]
    library.store_person_derived(person_id, RECORD_NAME, {"assessments": history})
    return entry
