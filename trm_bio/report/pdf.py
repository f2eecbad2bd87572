"""The session report and the trends as multi-page PDF (matplotlib's PdfPages, headless).

The same content as the HTML: a text page (who, when, how to read it, the numbers), the
plots, then the effect table and the timeline, paginated.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from trm_bio.core.regulation import RMSSD_WINDOW_S
from trm_bio.report.data import SessionReport
from trm_bio.report.html import METRIC_ROWS, NONLINEAR_ROWS, fmt_clock, fmt_number
from trm_bio.report.plots import session_figure, trends_figure
from trm_bio.report.trends import TREND_LABELS, Trends, resonance_text
from trm_bio.store.person_resonance import resonance_words
from trm_bio.zone_display import shares_words

A4_IN = (8.27, 11.69)

HOW_TO_READ = (
    "Heart rate is averaged over 20 s and RMSSD (beat-to-beat variability, which rises as the "
    "body settles) over 60 s on the plots. The zone indicator, with RMSSD over "
    f"{RMSSD_WINDOW_S:.0f} s (steadier at rest), compares them with this person's own "
    "resting values: the shaded band is the resilient zone. The indicator is an indicator, "
    "not a diagnosis: it says nothing about how someone feels, and their own zone ratings "
    "are shown beside it. What followed a skill or resource is an observation of what "
    "happened together, not proof that it caused a change."
)


class _TextPage:
    """Lines of text placed top-down on an A4 page; starts a new page when full."""

    def __init__(self, pdf: PdfPages) -> None:
        self.pdf = pdf
        self.fig: Figure | None = None
        self.y = 0.0

    def _ensure(self, height: float) -> Figure:
        if self.fig is None or self.y - height < 0.05:
            self.flush()
            self.fig = Figure(figsize=A4_IN)
            FigureCanvasAgg(self.fig)
            self.y = 0.95
        return self.fig

    def line(self, text: str, size: float = 9.5, weight: str = "normal", width: int = 100,
             family: str = "sans-serif") -> None:
        for part in textwrap.wrap(text, width) or [""]:
            fig = self._ensure(size / 560)
            # Names and notes are the person's words: "$" is a dollar, never mathtext.
            fig.text(0.07, self.y, part, fontsize=size, weight=weight, family=family, va="top",
                     parse_math=False)
            self.y -= size / 520
        self.y -= 0.004

    def heading(self, text: str) -> None:
        self.y -= 0.01
        self.line(text, size=13, weight="bold")

    def flush(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None


def _table_lines(header: list[str], rows: list[list[str]], widths: list[int]) -> list[str]:
    def fit(cell: str, w: int) -> str:
        return (cell if len(cell) <= w else cell[: w - 1] + "…").ljust(w)

    lines = ["  ".join(fit(h, w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(fit(c, w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return lines


def write_session_pdf(report: SessionReport, path: str | Path) -> Path:
    """Write the session report as a PDF; returns the path."""
    path = Path(path)
    s, info, q = report.summary, report.info, report.summary["quality"]
    who = info["person"] or "no person recorded"
    with PdfPages(path, metadata={"Title": f"Session report: {who}", "Creator": "trm-bio"}) as pdf:
        page = _TextPage(pdf)
        page.line(f"Session report: {who}", size=17, weight="bold")
        page.line(
            f"Session {info['session']} · started {info['started_utc']} (UTC) · "
            f"{fmt_clock(info['duration_s'] or q['duration_s'])} · {info['source_kind']} · "
            f"{info['status']}"
        )
        if info["notes"]:
            page.line(f"Notes: {info['notes']}")
        page.heading("How to read this")
        page.line(HOW_TO_READ)
        page.heading("At a glance")
        m = s["metrics"]
        page.line(f"Heart rate {fmt_number(m.get('HR'), 3)} bpm on average; "
                  f"RMSSD {fmt_number(m.get('RMSSD'), 3)} ms.")
        zones = shares_words(s.get("zone_seconds") or {})
        page.line(f"Time in each zone, by the indicator (by time): {zones}.")
        ratings = ", ".join(f"{r.rating} at {fmt_clock(r.time_s)}" for r in report.ratings)
        page.line(f"Own zone ratings: {ratings or 'none given'}.")
        if info.get("resonance"):
            page.line(f"Resonance breathing rate: {resonance_words(info['resonance'])}.")
        page.heading("Signal quality")
        page.line(
            f"{q['beats']} beats over {fmt_clock(q['duration_s'])} in {q['segments']} unbroken "
            f"stretch(es); {q['artifacts']} beats ({100 * (q['artifact_rate'] or 0):.2f} %) "
            f"corrected."
        )
        if not s["hrv_valid"]:
            page.line(f"Note: {s['reason']}.")
        page.heading("Whole-session measures")
        rows = [[k, fmt_number(m.get(k)), u] for k, u, _ in METRIC_ROWS if k in m]
        rows += [[k, fmt_number(report.nonlinear.get(k)), u] for k, u, _ in NONLINEAR_ROWS]
        for text in _table_lines(["measure", "value", "unit"], rows, [14, 12, 6]):
            page.line(text, family="monospace", size=9)
        page.line("; ".join(report.methods) + ".", size=8)
        page.flush()
        pdf.savefig(session_figure(report))
        page = _TextPage(pdf)
        page.heading("What followed each skill, resource and sensation")
        effect_rows = [
            [str(it["kind"]), str(it["label"]), str(it["n_events"]),
             f"{it['n_toward']}/{it['n_measured']}",
             "–" if it.get("mean_d_hr_bpm") is None else f"{it['mean_d_hr_bpm']:+.1f}",
             "–" if it.get("mean_d_ln_rmssd") is None
             else f"{100 * (math.exp(it['mean_d_ln_rmssd']) - 1):+.0f} %"]
            for it in report.effects
        ]
        header = ["what", "name", "times", "toward", "HR bpm", "RMSSD"]
        for text in _table_lines(header, effect_rows, [10, 30, 6, 7, 7, 7]) if effect_rows else [
            "Nothing was logged."
        ]:
            page.line(text, family="monospace", size=8.5, width=120)
        page.heading("Timeline of sensations and skills")
        timeline = [
            [fmt_clock(mk.time_s), mk.kind, mk.valence or mk.rating or "", mk.label, mk.detail,
             mk.indicator or "–"]
            for mk in report.markers if mk.kind != "step"
        ]
        header = ["time", "what", "felt as", "words", "details", "zone"]
        for text in _table_lines(header, timeline, [7, 9, 10, 26, 22, 9]) if timeline else [
            "Nothing was logged."
        ]:
            page.line(text, family="monospace", size=8.5, width=120)
        page.flush()
    return path


def write_trends_pdf(trends: Trends, path: str | Path) -> Path:
    """Write a person's trends as a PDF; returns the path."""
    path = Path(path)
    with PdfPages(path, metadata={"Title": f"Progress: {trends.person}",
                                  "Creator": "trm-bio"}) as pdf:
        page = _TextPage(pdf)
        page.line(f"Progress over time: {trends.person}", size=17, weight="bold")
        page.line(f"{len(trends.sessions)} session(s), oldest first.")
        page.heading("Trends (change per session)")
        rows: list[list[str]] = []
        for key, t in trends.trends.items():
            label, unit = TREND_LABELS[key]
            scale = 100.0 if unit == "%" else 1.0
            rows.append([label, f"{scale * t.slope_per_session:+.2f}",
                         f"{scale * t.first_mean:.1f}", f"{scale * t.last_mean:.1f}", unit])
        for text in _table_lines(["measure", "per session", "first", "latest", "unit"], rows,
                                 [42, 11, 7, 7, 5]):
            page.line(text, family="monospace", size=8.5, width=120)
        if trends.resonance:
            page.heading("Resonance breathing rate")
            page.line(resonance_text(trends))
        page.heading("What most often came before a move toward the band")
        helpers: list[Any] = [[h.kind, h.label, str(h.n_sessions), f"{h.n_toward}/{h.n_measured}"]
                              for h in trends.helpers[:15]]
        for text in _table_lines(["what", "name", "sessions", "toward"], helpers,
                                 [10, 36, 8, 8]):
            page.line(text, family="monospace", size=8.5, width=120)
        page.flush()
        pdf.savefig(trends_figure(trends))
    return path
