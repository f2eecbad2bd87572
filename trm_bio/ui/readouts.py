"""The numbers beside the plots: heart rate (large), breathing, coherence, signal quality.

Each value is shown only where it is valid (the session gives NaN otherwise), with a word
instead of a number; numbers can be hidden. Link problems are said calmly, in grey, and so
is a heart rhythm whose variability means nothing (irregular, or many extra beats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from devices.packet import LinkState
from trm_bio.core.regulation import REASON_HR_ONLY, TIMING_REASONS
from trm_bio.ui import theme
from trm_bio.zone_display import ZoneShown

LINK_WORDS = {
    LinkState.SCANNING: "Looking for the strap…",
    LinkState.CONNECTING: "Connecting…",
    LinkState.CONNECTED: "Connected",
    LinkState.STREAMING: "Receiving beats",
    LinkState.CONTACT_LOST: "The strap has no skin contact just now",
    LinkState.RECONNECTING: "Reconnecting… (the gap will show on the plots)",
    LinkState.DISCONNECTED: "Not connected",
    LinkState.FAILED: "The strap could not be reached",
}
PAUSED_WORDS = "Paused: nothing is recorded just now"
#: Beside the last known zone while the windows fill again after a pause or a gap.
SETTLING_WORDS = "(settling again after the break)"

#: With numbers hidden, these values are shown as shapes (see :func:`meter`): the range
#: from one dot to five, in the value's unit. RMSSD in ms (a typical adult's range at rest),
#: breathing in breaths a minute, coherence as HeartMath's ratio.
METER_RANGES = {"rmssd": (10.0, 80.0), "respiration": (4.0, 20.0), "coherence": (0.0, 3.0)}
METER_DOTS = 5
METER_TIP = "Shown as a shape instead of a number: more filled dots, a higher value."

#: Why heart-rate variability is not shown just now, in plain, calm words.
RHYTHM_WORDS = {
    "irregular": "The heart rhythm is irregular just now, so heart-rate variability is not "
    "shown.",
    "ectopic": "Many extra heartbeats just now, so heart-rate variability is not shown.",
    "checking": "Checking the heart rhythm, so heart-rate variability is not shown yet.",
}
#: Zone reasons that already say why HRV cannot show (the rhythm line would repeat them).
HRV_REASONS = TIMING_REASONS | {REASON_HR_ONLY}
#: In place of a value read from beat-to-beat variability while it is withheld.
NOT_SHOWN = "not shown"


@dataclass(frozen=True)
class Readings:
    """What the readout panel shows (NaN / None where unknown)."""

    hr_bpm: float = math.nan
    respiration_bpm: float = math.nan
    coherence: float = math.nan
    rmssd_ms: float = math.nan
    artifact_rate: float = math.nan
    battery_percent: int | None = None
    link_state: LinkState | None = None
    paused: bool = False  # the session is paused: said instead of the link
    link_message: str = ""
    zone: ZoneShown = field(default_factory=ZoneShown)  # as every screen shows it
    rhythm: str = ""  # "" (HRV meaningful), or a key of RHYTHM_WORDS
    hrv_shown: bool = True  # False: no value read from beat-to-beat variability is shown
    settling: bool = False  # the baseline is kept; the zone is the last known one, held


class ReadoutPanel(QWidget):
    """Large heart rate, the zone in words, breathing and coherence, signal quality."""

    def __init__(self, scale: theme.TextScale, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.numbers_visible = True
        box = QVBoxLayout(self)
        box.setContentsMargins(8, 4, 8, 4)
        self.hr = QLabel("–")
        self.hr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hr.setAccessibleName("Heart rate")
        self.hr_unit = QLabel("beats per minute")
        self.hr_unit.setObjectName("muted")
        self.hr_unit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zone = QLabel(ZoneShown().label)
        self.zone.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zone.setWordWrap(True)
        self.zone.setAccessibleName("Zone")
        # Why no zone is shown, in plain words, under the grey label.
        self.zone_reason = QLabel("")
        self.zone_reason.setObjectName("muted")
        self.zone_reason.setWordWrap(True)
        self.zone_reason.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zone_reason.setVisible(False)
        box.addWidget(self.hr)
        box.addWidget(self.hr_unit)
        box.addWidget(self.zone)
        box.addWidget(self.zone_reason)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for row, (key, title) in enumerate(
            (
                ("rmssd", "RMSSD"),
                ("respiration", "Breathing"),
                ("coherence", "Coherence"),
                ("artifacts", "Artifacts"),
                ("battery", "Battery"),
            )
        ):
            name = QLabel(title)
            name.setObjectName("muted")
            value = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(name, row, 0)
            grid.addWidget(value, row, 1)
            self.values[key] = value
        box.addLayout(grid)
        self.rhythm = QLabel("")
        self.rhythm.setObjectName("muted")
        self.rhythm.setWordWrap(True)
        self.rhythm.setVisible(False)
        box.addWidget(self.rhythm)
        self.link = QLabel(LINK_WORDS[LinkState.DISCONNECTED])
        self.link.setObjectName("muted")
        self.link.setWordWrap(True)
        box.addWidget(self.link)
        box.addStretch(1)
        self.set_scale(scale)
        self.readings = Readings()

    def set_scale(self, scale: theme.TextScale) -> None:
        self.hr.setFont(theme.font(40, scale, bold=True))
        self.zone.setFont(theme.font(12, scale))

    def set_numbers_visible(self, visible: bool) -> None:
        self.numbers_visible = visible
        self.set_readings(self.readings)

    def set_readings(self, r: Readings) -> None:
        self.readings = r
        numbers = self.numbers_visible
        self.hr.setText(_fmt(r.hr_bpm, "{:.0f}") if numbers else "♥")
        self.hr_unit.setVisible(numbers)
        self.hr.setStyleSheet(f"color: {theme.HEART};")
        label = r.zone.label
        self.zone.setText(f"{label}\n{SETTLING_WORDS}" if r.settling else label)
        self.zone.setStyleSheet(
            f"background: {r.zone.colour}; border-radius: 8px; padding: 4px;"
        )
        self.zone_reason.setText(r.zone.reason)
        self.zone_reason.setVisible(bool(r.zone.reason))
        not_meaningful = r.rhythm in RHYTHM_WORDS or not r.hrv_shown
        self.values["rmssd"].setText(
            NOT_SHOWN if not_meaningful
            else _fmt(r.rmssd_ms, "{:.0f} ms", "settling…") if numbers
            else meter(r.rmssd_ms, *METER_RANGES["rmssd"], "settling…")
        )
        self.rhythm.setText(RHYTHM_WORDS.get(r.rhythm, ""))
        # Said once: not again under a zone reason that already says the rhythm or the beat
        # timing keeps HRV from showing the zone.
        self.rhythm.setVisible(r.rhythm in RHYTHM_WORDS and r.zone.reason not in HRV_REASONS)
        # Breathing from chest movement stays; the one from heart rhythm is withheld too.
        missing = NOT_SHOWN if not_meaningful else "not clear yet"
        self.values["respiration"].setText(
            _fmt(r.respiration_bpm, "{:.1f} /min", missing) if numbers
            else meter(r.respiration_bpm, *METER_RANGES["respiration"], missing)
        )
        self.values["coherence"].setText(
            NOT_SHOWN if not_meaningful
            else _fmt(r.coherence, "{:.2f}", "not clear yet") if numbers
            else meter(r.coherence, *METER_RANGES["coherence"], "not clear yet")
        )
        for key in METER_RANGES:
            self.values[key].setToolTip("" if numbers else METER_TIP)
        self.values["artifacts"].setText(_fmt(100 * r.artifact_rate, "{:.0f} %", "–"))
        self.values["battery"].setText(
            f"{r.battery_percent} %" if r.battery_percent is not None else "–"
        )
        link = LINK_WORDS[r.link_state or LinkState.DISCONNECTED]
        self.link.setText(PAUSED_WORDS if r.paused else link)
        self.link.setToolTip(r.link_message)


def meter(value: float, low: float, high: float, missing: str = "–") -> str:
    """``value`` as a shape instead of a number: filled dots out of five, on ``low``..``high``.

    One dot at or below ``low``, five at or above ``high`` (in the value's own unit).
    """
    if value is None or not math.isfinite(value):
        return missing
    share = min(max((value - low) / (high - low), 0.0), 1.0)
    filled = 1 + round(share * (METER_DOTS - 1))
    return "●" * filled + "○" * (METER_DOTS - filled)


def _fmt(value: float, pattern: str, missing: str = "–") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return pattern.format(value)
