"""Report plots, drawn headless with matplotlib's Agg canvas (no display, no pyplot state).

Colours are the Okabe-Ito palette, safe for the common colour-vision deficiencies; the
person's state never gets an alarm red: the High Zone is orange, the Low Zone sky blue, the
resilient band bluish green.
"""

from __future__ import annotations

import base64
import io
import textwrap
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from trm_bio.core.regulation import Zone
from trm_bio.report.text import printable
from trm_bio.zone_display import STRONG_COLOURS, ZoneScale, with_gaps

if TYPE_CHECKING:
    from trm_bio.report.data import SessionReport
    from trm_bio.report.trends import Trends

OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}
ZONE_COLOURS = {int(z): c for z, c in STRONG_COLOURS.items()}  # as the app paints them
VALENCE_STYLE = {  # colour, marker
    "pleasant": (OKABE_ITO["green"], "^"),
    "neutral": (OKABE_ITO["grey"], "o"),
    "unpleasant": (OKABE_ITO["purple"], "v"),
}
RATING_Y = {"high": 0.83, "resilient": 0.5, "low": 0.17}
#: Longest skill or strategy name written beside its line on a plot (the rest elided).
PLOT_LABEL_CHARS = 28


def _short(text: str, limit: int = PLOT_LABEL_CHARS) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _session_legend(fig: Figure) -> None:
    """What every line, colour and mark on the session plot means, below the plots."""
    def line(colour: str, style: str = "-", label: str = "") -> Line2D:
        return Line2D([], [], color=colour, ls=style, lw=1.2, label=label)

    def mark(shape: str, colour: str, label: str, size: float = 6) -> Line2D:
        return Line2D([], [], ls="", marker=shape, ms=size, color=colour, mec="black",
                      mew=0.5, label=label)

    handles = [
        line(OKABE_ITO["blue"], label="heart rate (20 s)"),
        line(OKABE_ITO["green"], label="RMSSD (60 s)"),
        line(OKABE_ITO["black"], label="zone indicator"),
        Patch(color=OKABE_ITO["green"], alpha=0.25, label="resilient band"),
        Patch(color=ZONE_COLOURS[int(Zone.RESILIENT)], label="resilient zone"),
        Patch(color=ZONE_COLOURS[int(Zone.HIGH)], label="high zone"),
        Patch(color=ZONE_COLOURS[int(Zone.LOW)], label="low zone"),
        Patch(color=ZONE_COLOURS[int(Zone.UNKNOWN)], label="no reading yet or a gap"),
        line(OKABE_ITO["blue"], "--", "a skill starts"),
        line(OKABE_ITO["orange"], "--", "Help Now!"),
        line(OKABE_ITO["grey"], ":", "a step starts"),
        mark(VALENCE_STYLE["pleasant"][1], VALENCE_STYLE["pleasant"][0], "pleasant sensation"),
        mark(VALENCE_STYLE["neutral"][1], VALENCE_STYLE["neutral"][0], "neutral sensation"),
        mark(VALENCE_STYLE["unpleasant"][1], VALENCE_STYLE["unpleasant"][0],
             "unpleasant sensation"),
        mark("D", OKABE_ITO["yellow"], "resource"),
        mark("*", "white", "own zone rating", 9),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)


def _new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def session_figure(report: SessionReport) -> Figure:
    """Heart rate, RMSSD and the zone indicator across the session, events marked."""
    s = report.series
    t = s.times_s / 60.0
    fig = _new_figure(10.0, 8.2)
    axes = fig.subplots(
        4, 1, sharex=True, gridspec_kw={"height_ratios": [3, 3, 3, 0.9]}
    )
    ax_hr, ax_rmssd, ax_arousal, ax_zone = axes
    ax_hr.plot(*with_gaps(t, s.hr_bpm, s.segment if s.segment.size else None),
               color=OKABE_ITO["blue"], lw=1.2)
    ax_hr.set_ylabel("heart rate\n(bpm, 20 s)")
    if report.summary["hrv_valid"]:
        ax_rmssd.plot(*with_gaps(t, s.rmssd_ms, s.segment if s.segment.size else None),
                      color=OKABE_ITO["green"], lw=1.2)
    else:
        # Numbers drawn here would look meaningful: the words say why there are none.
        ax_rmssd.set_yticks([])
        ax_rmssd.text(0.5, 0.5, textwrap.fill(
            f"RMSSD is not drawn: {printable(str(report.summary['reason']))}.", 110),
            transform=ax_rmssd.transAxes, ha="center", va="center", fontsize=8.5,
            color="#222222", parse_math=False)
    ax_rmssd.set_ylabel("RMSSD\n(ms, 60 s)")
    scale = ZoneScale(-report.low_enter, report.high_enter)
    ax_arousal.axhspan(scale.low_edge, scale.high_edge, color=OKABE_ITO["green"], alpha=0.12,
                       lw=0)
    ax_arousal.axhline(0.0, color=OKABE_ITO["grey"], lw=0.8, ls=":")
    # The positions the app's zone indicator and live trace drew; tentative ones lighter,
    # and a pause is a gap (never joined across).
    if s.position.size:
        tentative = s.tentative.astype(bool)
        light = tentative | np.roll(tentative, 1) | np.roll(tentative, -1)
        for shown, alpha in ((~tentative, 1.0), (light, 0.4)):
            gx, gy = with_gaps(t, np.where(shown, s.position, np.nan), s.segment)
            ax_arousal.plot(gx, gy, color=OKABE_ITO["black"], lw=1.0, alpha=alpha)
    # A little room past the view, so readings resting at its edge stay visible.
    ax_arousal.set_ylim(scale.view[0] - 0.15, scale.view[1] + 0.15)
    ax_arousal.set_yticks([scale.low_edge, 0.0, scale.high_edge], ["low", "baseline", "high"])
    ax_arousal.set_ylabel("zone indicator\n(vs own baseline)")
    for start, end, code in s.zone_runs:
        ax_zone.axvspan(start / 60.0, end / 60.0, color=ZONE_COLOURS[code], lw=0)
    for start, end in s.gaps:
        # Paused or the link lost: not a zone; drawn as a hatched gap.
        for ax in axes:
            ax.axvspan(start / 60.0, end / 60.0, facecolor="white", edgecolor=OKABE_ITO["grey"],
                       hatch="//", lw=0, zorder=0.5)
    ax_zone.set_yticks([])
    ax_zone.set_ylim(0, 1)
    ax_zone.set_ylabel("zone", rotation=0, ha="right", va="center")
    ax_zone.set_xlabel("minutes from the start of the session")
    span = (0.0, max(float(t[-1]), 1.0 / 60.0)) if t.size else None
    for m in report.markers:
        x = m.time_s / 60.0
        if span is not None and not span[0] <= x <= span[1]:
            # Off the plotted beats: not shown, and its label would be laid out so far
            # off the page that the font rasteriser overflows.
            continue
        if m.kind in ("skill", "helpnow"):
            colour = OKABE_ITO["blue"] if m.kind == "skill" else OKABE_ITO["orange"]
            for ax in axes[:3]:
                ax.axvline(x, color=colour, lw=1.0, ls="--", alpha=0.8)
            ax_hr.annotate(_short(m.label), (x, 1.0), xycoords=("data", "axes fraction"),
                           rotation=90,
                           fontsize=7, va="top", ha="right", color=colour,
                           parse_math=False)  # a skill's name is text: "$" is no mathtext
        elif m.kind == "step":
            for ax in axes[:3]:
                ax.axvline(x, color=OKABE_ITO["grey"], lw=0.5, ls=":")
        elif m.kind == "resource":
            ax_hr.plot([x], [1.0], marker="D", ms=6, color=OKABE_ITO["yellow"], mec="black",
                       transform=ax_hr.get_xaxis_transform(), clip_on=False)
        elif m.kind == "sensation":
            colour, shape = VALENCE_STYLE.get(m.valence or "neutral", VALENCE_STYLE["neutral"])
            ax_rmssd.plot([x], [0.96], marker=shape, ms=6, color=colour, mec="black", mew=0.5,
                          transform=ax_rmssd.get_xaxis_transform(), clip_on=False)
        elif m.kind == "rating" and (m.rating or "") in RATING_Y:
            ax_zone.plot([x], [RATING_Y[m.rating or ""]], marker="*", ms=9, color="white",
                         mec="black", mew=0.8)
    if span is not None:
        ax_zone.set_xlim(*span)
    for ax in axes[:3]:
        ax.grid(True, color="#DDDDDD", lw=0.5)
    _session_legend(fig)
    return fig


def trends_figure(trends: Trends) -> Figure:
    """Baseline heart rate, baseline RMSSD, time in the resilient band and the person's own
    distress before and after, session by session (ticks: the sessions' library numbers)."""
    from trm_bio.report.trends import axis_range, session_ticks

    fig = _new_figure(10.0, 8.0)
    axes = fig.subplots(4, 1, sharex=True)
    x = np.arange(1, len(trends.sessions) + 1)
    rows = [
        ("baseline_hr_bpm", "resting heart rate\n(bpm)", OKABE_ITO["blue"]),
        ("baseline_rmssd_ms", "resting RMSSD\n(ms)", OKABE_ITO["green"]),
        ("resilient_share", "time in the\nresilient band (%)", OKABE_ITO["green"]),
    ]
    for ax, (key, label, colour) in zip(axes[:3], rows, strict=True):
        y = np.array([_num(getattr(s, key)) for s in trends.sessions], dtype=np.float64)
        scale = 100.0 if key == "resilient_share" else 1.0
        ax.plot(x, y * scale, marker="o", color=colour, lw=1.2)
        trend = trends.trends.get(key)
        if trend is not None and np.isfinite(trend.slope_per_session):
            line = trend.intercept + trend.slope_per_session * (x - 1)
            ax.plot(x, line * scale, color=OKABE_ITO["black"], lw=0.9, ls="--")
        ax.set_ylim(*axis_range(y * scale, key))
        ax.set_ylabel(label)
        ax.grid(True, color="#DDDDDD", lw=0.5)
    ax = axes[-1]
    for attr, colour, shape, name in (
        ("distress_before", OKABE_ITO["orange"], "o", "at the start"),
        ("distress_after", OKABE_ITO["blue"], "s", "at the end"),
    ):
        y = np.array([_num(getattr(s, attr)) for s in trends.sessions], dtype=np.float64)
        ax.plot(x, y, marker=shape, ls="", color=colour, label=name)
    ax.set_ylim(*axis_range([], "distress"))
    ax.set_ylabel("own distress\n(0-10)")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.grid(True, color="#DDDDDD", lw=0.5)
    ticks = session_ticks(trends)
    ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.set_xlim(0.5, max(len(ticks), 1) + 0.5)
    ax.set_xlabel("session (its number in the library, oldest first)")
    return fig


def _num(value: float | None) -> float:
    return np.nan if value is None else float(value)


def png_base64(fig: Figure, dpi: int = 110) -> str:
    """The figure as a base64 PNG (for a data: URI)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
