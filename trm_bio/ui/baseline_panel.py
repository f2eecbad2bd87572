"""The clinician's view of the reference: the person's own baseline, and population values.

The zone indicator measures against the person's own baseline (the session's settling-in
period or their earlier sessions). Population norms are shown beside it for orientation
only, clearly labelled as population values; they never move the indicator. This panel is
on the clinician's window only, never on the client view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

#: The baseline's source in words.
SOURCE_WORDS = {
    "session-start": "this session's settling-in",
    "previous-sessions": "earlier sessions",
}


@dataclass(frozen=True)
class PopulationNorms:
    """Typical resting values of a population, for orientation (not the person's own).

    Parameters
    ----------
    hr_bpm : (float, float)
        Typical range of resting heart rate (bpm).
    rmssd_ms : (float, float)
        Typical range of resting RMSSD (ms).
    group : str
        Whom they describe, e.g. "adults 30-39 at rest".
    source : str
        Where they come from (a citation), shown as a tooltip.
    """

    hr_bpm: tuple[float, float]
    rmssd_ms: tuple[float, float]
    group: str = "adults at rest"
    source: str = ""


class RestingRanges(Protocol):
    """Population resting values as the regulation model gives them (ranges and a source)."""

    @property
    def hr_low_bpm(self) -> float: ...
    @property
    def hr_high_bpm(self) -> float: ...
    @property
    def rmssd_low_ms(self) -> float: ...
    @property
    def rmssd_high_ms(self) -> float: ...
    @property
    def source(self) -> str: ...


def norms_from(values: RestingRanges, group: str = "healthy adults at rest") -> PopulationNorms:
    """The panel's norms from the model's population values (ranges of study means)."""
    return PopulationNorms(
        (values.hr_low_bpm, values.hr_high_bpm),
        (values.rmssd_low_ms, values.rmssd_high_ms),
        group,
        values.source,
    )


def _range(values: tuple[float, float] | None, unit: str) -> str:
    if values is None or not all(math.isfinite(v) for v in values):
        return "–"
    lo, hi = values
    return f"{lo:.0f}–{hi:.0f} {unit}"


def _value(value: float, unit: str) -> str:
    return f"{value:.0f} {unit}" if math.isfinite(value) else "–"


class BaselinePanel(QWidget):
    """Own baseline (heart rate, RMSSD, where it comes from) beside population norms."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Baseline")
        box = QVBoxLayout(self)
        box.setContentsMargins(8, 2, 8, 2)
        self.title = QLabel("Own baseline: not found yet")
        self.title.setWordWrap(True)
        box.addWidget(self.title)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        head_own = QLabel("own")
        self.head_population = QLabel("population")
        for col, head in ((1, head_own), (2, self.head_population)):
            head.setObjectName("muted")
            head.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(head, 0, col)
        self.own: dict[str, QLabel] = {}
        self.population: dict[str, QLabel] = {}
        for row, (key, title) in enumerate((("hr", "Heart rate"), ("rmssd", "RMSSD")), start=1):
            name = QLabel(title)
            name.setObjectName("muted")
            grid.addWidget(name, row, 0)
            for col, store in ((1, self.own), (2, self.population)):
                value = QLabel("–")
                value.setAlignment(Qt.AlignmentFlag.AlignRight)
                grid.addWidget(value, row, col)
                store[key] = value
        box.addLayout(grid)
        self.norms_note = QLabel("")
        self.norms_note.setObjectName("muted")
        self.norms_note.setWordWrap(True)
        box.addWidget(self.norms_note)
        self.norms: PopulationNorms | None = None
        self.set_norms(None)

    def show_baseline(self, hr_bpm: float, rmssd_ms: float, source: str) -> None:
        """The person's own baseline (NaN: not found yet) and its source."""
        found = math.isfinite(hr_bpm)
        where = SOURCE_WORDS.get(source, "")
        self.title.setText(
            f"Own baseline, from {where}" if found and where
            else "Own baseline" if found else "Own baseline: not found yet"
        )
        self.own["hr"].setText(_value(hr_bpm, "bpm"))
        self.own["rmssd"].setText(_value(rmssd_ms, "ms"))

    def set_norms(self, norms: PopulationNorms | None) -> None:
        """Population values for orientation (None: the population column is hidden)."""
        self.norms = norms
        shown = norms is not None
        self.head_population.setVisible(shown)
        for label in self.population.values():
            label.setVisible(shown)
        self.norms_note.setVisible(shown)
        if norms is None:
            return
        self.population["hr"].setText(_range(norms.hr_bpm, "bpm"))
        self.population["rmssd"].setText(_range(norms.rmssd_ms, "ms"))
        self.norms_note.setText(f"Population values ({norms.group}): orientation only.")
        self.norms_note.setToolTip(
            "Typical values of a population, not this person's: the zone is measured against "
            f"the person's own baseline. {norms.source}".strip()
        )
