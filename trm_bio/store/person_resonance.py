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
    for entry in reversed(assessments(library, person_id)):
        rate = entry.get("resonance_rate")
        if isinstance(rate, int | float) and math.isfinite(rate):
            return float(rate)
    return None


def add_assessment(library: Library, person_id: int, result: dict[str, Any]) -> dict[str, Any]:
    """Append one assessment (``Assessment.as_dict()``) with today's date; returns the entry."""
    entry = {"assessed_utc": utc_now_iso(), **result}
    history = [*assessments(library, person_id), entry]
    library.store_person_derived(person_id, RECORD_NAME, {"assessments": history})
    return entry
