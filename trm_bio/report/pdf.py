"""The session report and the trends as multi-page PDF (matplotlib's PdfPages, headless).

The same content as the HTML: a text page (who, when, how to read it, the numbers), the
plots with their legend, then the effect table and the timeline, paginated. Every line is
wrapped to the page at its own font size and table cells wrap inside their column, so a
long name or a person's own words are never cut off. The fonts are matplotlib's DejaVu,
which have no emoji: :func:`trm_bio.report.text.printable` writes each one as its name in
brackets ("[slightly smiling face]") instead of an empty box.
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
from trm_bio.report.group import GroupSummary
from trm_bio.report.html import METRIC_ROWS, NONLINEAR_ROWS, fmt_number
from trm_bio.report.plots import session_figure, trends_figure
from trm_bio.report.text import display_name, fmt_clock, local_time, printable
from trm_bio.report.trends import TREND_KEYS, Trends, change_sentence, resonance_text
from trm_bio.store.person_resonance import resonance_words
from trm_bio.zone_display import shares_words

A4_IN = (8.27, 11.69)
LEFT = 0.07  # of the page width
#: Width of the text column (points) and the average advance of a character (of the size):
#: DejaVu Sans averages about 0.52 em in English text (bold about an eighth more), DejaVu
#: Sans Mono is exactly 0.602 em.
TEXT_WIDTH_PT = (1 - 2 * LEFT) * A4_IN[0] * 72
ADVANCE_EM = {"sans-serif": 0.52, "monospace": 0.602}
BOLD_WIDER = 1.15

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

    def line(self, text: str, size: float = 9.5, weight: str = "normal",
             family: str = "sans-serif") -> None:
        """``text`` wrapped to the page at its size (a long word is broken, never cut)."""
        width = int(chars_per_line(size, family) / (BOLD_WIDER if weight == "bold" else 1.0))
        parts = [p for raw in printable(text).split("\n") for p in textwrap.wrap(raw, width)]
        for part in parts or [""]:
            fig = self._ensure(size / 560)
            # Names and notes are the person's words: "$" is a dollar, never mathtext.
            fig.text(LEFT, self.y, part, fontsize=size, weight=weight, family=family, va="top",
                     parse_math=False)
            self.y -= size / 520
        self.y -= 0.004

    def rows(self, lines: list[str], size: float = 8.5) -> None:
        """Table lines (already fitted to the page), in the monospace font."""
        for text in lines:
            fig = self._ensure(size / 560)
            fig.text(LEFT, self.y, text, fontsize=size, family="monospace", va="top",
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


def chars_per_line(size: float, family: str = "sans-serif") -> int:
    """How many characters of ``size`` points fit across the text column."""
    return max(10, int(TEXT_WIDTH_PT / (ADVANCE_EM[family] * size)))


def _table_lines(header: list[str], rows: list[list[str]], widths: list[int]) -> list[str]:
    """A monospace table whose cells wrap inside their column: nothing is cut off.

    Each row takes as many lines as its tallest cell; the columns stay aligned.
    """
    def cell_lines(cell: str, w: int) -> list[str]:
        return textwrap.wrap(printable(cell), w) or [""]

    lines = []
    for row in [header, *rows]:
        cells = [cell_lines(c, w) for c, w in zip(row, widths, strict=True)]
        for k in range(max(len(c) for c in cells)):
            lines.append("  ".join(
                (c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)
            ).rstrip())
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
            f"Session {info['session']} · started {local_time(info['started_utc'])} "
            "(local time) · "
            f"{fmt_clock(info['duration_s'] or q['duration_s'])} · {info['source_kind']} · "
            f"{info['status']}"
        )
        if info.get("group"):
            page.line(info["group"])
        if info["notes"]:
            page.line(f"Notes: {info['notes']}")
        page.heading("How to read this")
        page.line(HOW_TO_READ)
        page.heading("At a glance")
        m = s["metrics"]
        page.line(f"Heart rate {fmt_number(m.get('HR'), 3)} bpm on average; "
                  f"RMSSD {fmt_number(m.get('RMSSD'), 3)} ms.")
        zones = shares_words(s.get("zone_seconds") or {})
        page.line(f"Time in each zone, by the indicator (in seconds, not beats): {zones}.")
        ratings = ", ".join(
            f"{r.rating} at {fmt_clock(r.time_s)}" for r in report.ratings if r.rating
        )
        page.line(f"Own zone ratings: {ratings or 'none given'}.")
        page.line(report.self_rating_sentence())
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
        page.rows(_table_lines(["measure", "value", "unit"], rows, [14, 12, 6]), size=9)
        page.line("; ".join(report.methods) + ".", size=8)
        page.flush()
        pdf.savefig(session_figure(report))
        page = _TextPage(pdf)
        page.heading("What helped")
        page.line("What was followed by a move toward the resilient band, and never by the zone "
                  "indicator moving away from the resilient zone in the two minutes after it. "
                  "Co-occurrence, not proof of cause.", size=8.5)
        helped = [[h.kind, h.label, ", ".join(fmt_clock(t) for t in h.times_s)]
                  for h in report.helped]
        page.rows(_table_lines(["what", "name", "at"], helped, [10, 44, 40]) if helped else
                  ["Nothing logged was followed by a move toward the band."])
        page.heading("The person's own ratings")
        moments = {"start": "start", "end": "end", "": "during"}
        own = [
            [fmt_clock(r.time_s), moments[r.moment], r.rating or "–",
             "–" if r.distress is None else f"{r.distress:g}", r.detail, r.indicator or "–"]
            for r in sorted([*report.self_ratings, *report.ratings], key=lambda r: r.time_s)
        ]
        page.rows(_table_lines(["time", "when", "own zone", "distress", "note", "indicator"],
                               own, [7, 7, 10, 8, 38, 10]) if own else ["None given."])
        page.heading("What followed each skill, resource and sensation")
        effect_rows = [
            [str(it["kind"]), display_name(str(it["kind"]), str(it["label"])), str(it["n_events"]),
             f"{it['n_toward']}/{it['n_measured']}",
             "–" if it.get("mean_d_hr_bpm") is None else f"{it['mean_d_hr_bpm']:+.1f}",
             "–" if it.get("mean_d_ln_rmssd") is None
             else f"{100 * (math.exp(it['mean_d_ln_rmssd']) - 1):+.0f} %"]
            for it in report.effects
        ]
        header = ["what", "name", "times", "toward", "HR bpm", "RMSSD"]
        page.rows(_table_lines(header, effect_rows, [10, 36, 6, 7, 7, 7]) if effect_rows
                  else ["Nothing was logged."])
        page.heading("Timeline of sensations and skills (in time order)")
        timeline = [
            [fmt_clock(mk.time_s), mk.kind, mk.valence or "",
             "" if mk.kind == "helpnow" and mk.label == "Help Now!" else mk.label, mk.detail,
             mk.indicator or "–"]
            for mk in report.markers if mk.kind not in ("step", "rating")
        ]
        header = ["time", "what", "felt as", "words", "details", "zone"]
        page.rows(_table_lines(header, timeline, [7, 9, 10, 28, 26, 9]) if timeline
                  else ["Nothing was logged."])
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
        page.heading("Across the sessions")
        for key in TREND_KEYS:
            page.line(change_sentence(key, trends.trends.get(key), trends.measured(key)) + ".")
        page.heading("Sessions")
        rows: list[list[str]] = [
            [str(p.session), p.started_local, fmt_number(p.baseline_hr_bpm, 3),
             fmt_number(p.baseline_rmssd_ms, 3),
             "–" if p.resilient_share is None else f"{100 * p.resilient_share:.0f} %",
             f"{fmt_number(p.distress_before, 2)} → {fmt_number(p.distress_after, 2)}"]
            for p in trends.sessions
        ]
        page.rows(_table_lines(["session", "started (local)", "rest HR", "rest RMSSD",
                                "resilient", "distress"], rows, [8, 17, 8, 11, 10, 12]))
        for note in trends.baseline_notes():
            page.line(note + ".", size=8.5)
        if trends.resonance:
            page.heading("Resonance breathing rate")
            page.line(resonance_text(trends))
        page.heading("What most often came before a move toward the band")
        helpers: list[Any] = [[h.kind, display_name(h.kind, h.label), str(h.n_sessions),
                               f"{h.n_toward}/{h.n_measured}"] for h in trends.helpers[:15]]
        page.rows(_table_lines(["what", "name", "sessions", "toward"], helpers, [10, 44, 8, 8]))
        page.flush()
        pdf.savefig(trends_figure(trends))
    return path


def write_group_pdf(summary: GroupSummary, path: str | Path, *, seats: bool = False) -> Path:
    """Write the group report as a PDF (the HTML's content, naming nobody); returns the path."""
    path = Path(path)
    title = f"Group session report: {summary.name}" if summary.name else "Group session report"
    n = len(summary.participants)
    with PdfPages(path, metadata={"Title": title, "Creator": "trm-bio"}) as pdf:
        page = _TextPage(pdf)
        page.line(title, size=17, weight="bold")
        page.line(f"Started {local_time(summary.started_utc)} (local time) · {n} participant"
                  f"{'s' if n != 1 else ''}")
        page.heading("How to read this")
        page.line(GROUP_HOW_TO_READ)
        page.heading("Time in the resilient band")
        page.line(summary.band_sentence())
        page.heading("After each practice moment")
        rows = summary.moment_rows()
        page.rows(_table_lines(["time", "moment", "settled", "moved away"], rows, [8, 44, 16, 10])
                  if rows else ["No skill or Help Now! was practised together."])
        page.heading("What helped")
        helped = summary.helped_rows()
        page.rows(_table_lines(["what", "name", "participants"], helped, [10, 44, 14])
                  if helped else ["Nothing logged was followed by a move toward the band."])
        if seats:
            page.heading("Per seat (no names)")
            page.rows(_table_lines(["seat", "in the band", "share", "settled after"],
                                   summary.seat_rows(), [16, 16, 10, 14]))
        page.flush()
    return path


GROUP_HOW_TO_READ = (
    "This report shows the group as a whole: no participant is named (a row per seat, when "
    "asked for, says \"participant N\"). Each zone indicator compares a participant's heart "
    "with their own resting values; it is an indicator, not a diagnosis. Settled after a "
    "moment: the heart moved toward the band in the two minutes after it, and the indicator "
    "did not move away from the resilient zone. What happened together, not proof of cause."
)
