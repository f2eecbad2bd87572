"""Colours, fonts and the style sheet: calm, warm, readable, and safe for colour-blind eyes.

The palette is Okabe-Ito (Okabe & Ito 2008), whose colours stay distinct under the common
forms of colour blindness; the person's state is drawn in blue, bluish green and orange, never
in alarm red. The resilient band is a soft blue-green; the High side is a soft orange and the
Low side a soft blue: neither is good or bad, so neither is drawn as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QLayout

from trm_bio.core.events import EventKind
from trm_bio.core.regulation import Zone
from trm_bio.zone_display import SOFT_COLOURS
from trm_bio.zone_display import ZONE_WORDS as BASE_ZONE_WORDS

#: Okabe-Ito colours (hex), by name.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",  # kept for completeness; never used for the person's state
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

BACKGROUND = "#FBF8F3"  # warm paper
SURFACE = "#FFFFFF"
TEXT = "#2E2A26"  # warm near-black
MUTED_TEXT = "#6B635B"
GRID = "#E8E1D8"

HEART = OKABE_ITO["blue"]
RR = OKABE_ITO["blue"]
REJECTED = "#B8B0A6"
BAND = SOFT_COLOURS[Zone.RESILIENT]  # the resilient band: a soft bluish green
BAND_EDGE = OKABE_ITO["bluish_green"]
HIGH_SIDE = SOFT_COLOURS[Zone.HIGH]  # soft orange
LOW_SIDE = SOFT_COLOURS[Zone.LOW]  # soft sky blue
UNKNOWN_ZONE = SOFT_COLOURS[Zone.UNKNOWN]  # grey: no zone is shown
POSITION = "#1F4E79"  # the dot: deep blue, readable on every band colour

#: Trend colours per metric: distinct under colour blindness.
METRIC_COLOURS = {
    "RMSSD": OKABE_ITO["bluish_green"],
    "SDNN": OKABE_ITO["reddish_purple"],
    "HR": OKABE_ITO["blue"],
    "HR_20s": OKABE_ITO["blue"],
    "MeanNN": OKABE_ITO["sky_blue"],
    "pNN50": OKABE_ITO["orange"],
    "RespirationRate": OKABE_ITO["sky_blue"],
    "Coherence": OKABE_ITO["reddish_purple"],
    "LF": OKABE_ITO["orange"],
    "HF": OKABE_ITO["bluish_green"],
    "LFHF": OKABE_ITO["reddish_purple"],
}

#: Kinds of marker that are no logged event's kind: a Help Now! use and a detected shift.
HELP_NOW = "helpnow"
SHIFT = "shift"

VALENCE_COLOURS = {
    "pleasant": OKABE_ITO["bluish_green"],
    "neutral": "#8C8C8C",
    "unpleasant": OKABE_ITO["orange"],
}

#: Event markers on the plots, the replay timeline and the event list, by their key (see
#: :func:`marker_key`): a kind, or a kind and its tone (a sensation's valence, a practice
#: event's skill or step). Each with the words of the legend.
MARKER_STYLES: dict[str, tuple[str, str]] = {
    f"{EventKind.SENSATION}:pleasant": (VALENCE_COLOURS["pleasant"], "pleasant sensation"),
    f"{EventKind.SENSATION}:neutral": (VALENCE_COLOURS["neutral"], "neutral sensation"),
    f"{EventKind.SENSATION}:unpleasant": (VALENCE_COLOURS["unpleasant"], "unpleasant sensation"),
    EventKind.SENSATION: ("#A59C92", "sensation"),
    HELP_NOW: (OKABE_ITO["reddish_purple"], "Help Now!"),
    f"{EventKind.FLOW}:skill": ("#7A6A5A", "skill"),
    EventKind.FLOW: ("#B3A797", "skill step"),
    EventKind.ZONE_RATING: (OKABE_ITO["sky_blue"], "own zone rating"),
    EventKind.RESOURCE: ("#A08C00", "resource"),
    EventKind.MARKER: (TEXT, "marker"),
    EventKind.NOTE: (MUTED_TEXT, "note"),
    EventKind.CONNECTION: ("#CFC6BA", "strap link or pause"),
    SHIFT: (OKABE_ITO["blue"], "shift (dashed)"),
}
#: The legend's entries, in its order (the rarer link changes are left out).
LEGEND_KEYS = (
    f"{EventKind.SENSATION}:pleasant",
    f"{EventKind.SENSATION}:neutral",
    f"{EventKind.SENSATION}:unpleasant",
    HELP_NOW,
    f"{EventKind.FLOW}:skill",
    EventKind.FLOW,
    EventKind.ZONE_RATING,
    EventKind.MARKER,
    EventKind.NOTE,
    SHIFT,
)


def marker_key(kind: str, tone: str = "") -> str:
    """The key of :data:`MARKER_STYLES` for an event of ``kind`` with ``tone``."""
    toned = f"{kind}:{tone}"
    return toned if tone and toned in MARKER_STYLES else str(kind)


def marker_colour(kind: str, tone: str = "") -> str:
    """The colour (hex) of a marker of ``kind`` with ``tone``."""
    return MARKER_STYLES.get(marker_key(kind, tone), (MUTED_TEXT, ""))[0]


#: Zone codes (trm_bio.core.regulation.Zone values) to words and colours: the shared ones
#: of trm_bio.zone_display, so every screen and report says and paints a zone alike.
ZONE_WORDS = BASE_ZONE_WORDS
ZONE_COLOURS = SOFT_COLOURS


@dataclass(frozen=True)
class TextScale:
    """Point sizes used across the app (large-text mode multiplies them)."""

    factor: float = 1.0

    def pt(self, base_pt: float) -> int:
        return max(1, round(base_pt * self.factor))


LARGE_TEXT_FACTOR = 1.35


def colour(hex_code: str, alpha: int = 255) -> QColor:
    c = QColor(hex_code)
    c.setAlpha(alpha)
    return c


def font(base_pt: float, scale: TextScale, *, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSize(scale.pt(base_pt))
    f.setBold(bold)
    return f


#: The side panels' layout: margins (left, top, right, bottom) and spacing (px). Tighter than
#: Qt's defaults so that the right column (practice and tracking) fits a 1366 x 768 screen,
#: and 1920 x 1080 at 150 %, without scrolling.
PANEL_MARGINS = (6, 2, 6, 4)
PANEL_SPACING = 4


def compact(layout: QLayout) -> QLayout:
    """Give a side panel's ``layout`` the :data:`PANEL_MARGINS` and :data:`PANEL_SPACING`."""
    layout.setContentsMargins(*PANEL_MARGINS)
    layout.setSpacing(PANEL_SPACING)
    return layout


def apply_theme(app: QApplication, scale: TextScale) -> None:
    """Warm light palette and base font size for the whole application."""
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(BACKGROUND))
    palette.setColor(QPalette.ColorRole.Base, QColor(SURFACE))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#F4EFE8"))
    palette.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Button, QColor("#F1EBE3"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(OKABE_ITO["sky_blue"]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(SURFACE))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(TEXT))
    app.setPalette(palette)
    base = QFont(app.font())
    base.setPointSize(scale.pt(10))
    app.setFont(base)
    app.setStyleSheet(style_sheet(scale))


def style_sheet(scale: TextScale) -> str:
    return f"""
    QPushButton {{ padding: {scale.pt(4)}px {scale.pt(10)}px; border-radius: 6px;
                   border: 1px solid #D9D0C5; background: #F4EEE6; }}
    QPushButton:hover {{ background: #EDE5DA; }}
    QPushButton:checked {{ background: #D7ECF7; border-color: {OKABE_ITO["sky_blue"]}; }}
    QPushButton:disabled {{ color: #A59C92; }}
    QPushButton#valence {{ font-size: {scale.pt(13)}pt; padding: {scale.pt(8)}px; }}
    QPushButton#helpnow {{ font-size: {scale.pt(13)}pt; padding: {scale.pt(8)}px;
                           background: #FBE9C8; border-color: {OKABE_ITO["orange"]}; }}
    QGroupBox {{ font-weight: bold; border: 1px solid #E3DBD0; border-radius: 8px;
                 margin-top: 1.2em; padding: 6px; background: {SURFACE}; }}
    QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; }}
    QLabel#muted {{ color: {MUTED_TEXT}; }}
    QStatusBar {{ color: {MUTED_TEXT}; }}
    """
