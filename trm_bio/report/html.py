"""Self-contained HTML for session reports and trends: inline CSS, plots as data: PNGs.

Nothing in the page is fetched: no scripts, fonts, stylesheets or images from anywhere
(the Content-Security-Policy says so too, so a browser would refuse if something slipped
in). Every piece of text from the library is escaped with :func:`html.escape`. The numbers
the page shows are also embedded, unformatted, in a ``<script type="application/json"
id="trm-bio-data">`` block for programs (e.g. to check them against ``trm-bio show --format json``).
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from trm_bio.core.regulation import HR_WINDOW_S, RMSSD_WINDOW_S, Zone
from trm_bio.report.data import Marker, SessionReport
from trm_bio.report.group import GroupSummary
from trm_bio.report.plots import OKABE_ITO, png_base64, session_figure, trends_figure
from trm_bio.report.text import display_name, fmt_clock, local_time
from trm_bio.report.trends import TREND_KEYS, Trends, change_sentence, resonance_text
from trm_bio.store.person_resonance import resonance_words
from trm_bio.zone_display import SHIFT_WORDS, STRONG_COLOURS, shares_words

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = f"""
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: #222; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
  line-height: 1.45; }}
h1 {{ font-size: 1.6rem; margin-bottom: 0.2rem; }}
h2 {{ font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }}
.meta {{ color: #555; }}
table {{ border-collapse: collapse; margin: 0.5rem 0; font-size: 0.92rem; }}
th, td {{ border-bottom: 1px solid #e4e4e4; padding: 0.25rem 0.6rem; text-align: left;
  vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.note {{ background: #f4f8fb; border-left: 4px solid {OKABE_ITO["blue"]};
  padding: 0.5rem 0.8rem; }}
.zone-resilient {{ color: #00684f; }} .zone-high {{ color: #8a5d00; }}
.zone-low {{ color: #1f6f9c; }}
img {{ max-width: 100%; height: auto; }}
.legend span {{ display: inline-block; margin-right: 1rem; }}
.swatch {{ display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.1rem;
  margin-right: 0.3rem; border: 1px solid #999; }}
@media print {{ body {{ margin: 0; }} h2 {{ break-after: avoid; }} }}
"""

METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("HR", "bpm", "mean heart rate"),
    ("MeanNN", "ms", "mean interval between normal beats"),
    ("SDNN", "ms", "overall variability"),
    ("RMSSD", "ms", "beat-to-beat variability, mostly from the breath (vagal)"),
    ("pNN50", "%", "share of successive differences above 50 ms"),
    ("MinNN", "ms", "shortest interval"),
    ("MaxNN", "ms", "longest interval"),
    ("VLF", "ms²", "very-low-frequency power (5-minute windows)"),
    ("LF", "ms²", "low-frequency power, 0.04-0.15 Hz"),
    ("HF", "ms²", "high-frequency (breathing) power, 0.15-0.4 Hz"),
    ("LFHF", "", "LF / HF ratio"),
    ("HFpeak", "Hz", "frequency of the breathing peak"),
    ("SD1", "ms", "Poincaré SD1: short-term variability"),
    ("SD2", "ms", "Poincaré SD2: longer-term variability"),
    ("SD1SD2", "", "SD1 / SD2"),
)
NONLINEAR_ROWS: tuple[tuple[str, str, str], ...] = (
    ("DFA_alpha1", "", "short-term fractal scaling (DFA α1, 4-16 beats); about 1 at rest"),
    ("SampEn", "", "sample entropy: irregularity of the beat series"),
)


def fmt_number(value: Any, digits: int = 4) -> str:
    """A number for people: 4 significant digits, "–" when not available."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    if abs(value) >= 1e5:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def _json_block(data: dict[str, Any]) -> str:
    text = json.dumps(data, allow_nan=False, ensure_ascii=True)
    # Inside <script>, "</script>" ends the element and "<!--" changes how the rest is
    # parsed; "<", ">" and "&" only occur inside JSON strings, where \u escapes mean the same.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="trm-bio-data">{text}</script>'


def _page(title: str, body: list[str], data: dict[str, Any]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            _json_block(data),
            "</body>",
            "</html>",
            "",
        ]
    )


def _zone_span(zone: str | None) -> str:
    if not zone:
        return "–"
    return f'<span class="zone-{escape(zone)}">{escape(zone)}</span>'


HOW_TO_READ = (
    "<h2>How to read this</h2>"
    "<ul>"
    "<li>The plots show the heart across the session: heart rate (beats per minute, averaged "
    "over 20 s), RMSSD (the beat-to-beat variability that rises as the body settles and the "
    "breath slows, over 60 s), and the zone indicator, which reads RMSSD over "
    f"{RMSSD_WINDOW_S:.0f} s, steadier at rest.</li>"
    "<li>The zone indicator compares heart rate and RMSSD with this person's own resting "
    "values (their baseline). The shaded band is the resilient zone: inside it, the body is "
    "close to its own usual rest. Above it the heart is faster and less variable than usual "
    "(the High Zone picture); well below it, slower and flatter or unusually slow (the Low "
    "Zone picture, the least certain reading).</li>"
    "<li>The zone indicator is an indicator, not a diagnosis. It says nothing about how "
    "someone feels; their own rating of their zone, when they gave one, is shown beside "
    "it. Being outside the band is not good or bad: it is information.</li>"
    "<li>The table of what followed each skill or resource shows what the heart did in the "
    "minutes after it. These are observations of what happened together, not proof that a "
    "skill caused a change.</li>"
    "</ul>"
)


def _legend() -> str:
    items = [
        (STRONG_COLOURS[Zone.RESILIENT], "resilient zone"),
        (STRONG_COLOURS[Zone.HIGH], "high zone"),
        (STRONG_COLOURS[Zone.LOW], "low zone (tentative: the least certain reading)"),
        (STRONG_COLOURS[Zone.UNKNOWN], "no zone reading (settling in, or the signal unclear)"),
    ]
    swatches = "".join(
        f'<span><i class="swatch" style="background:{c}"></i>{escape(t)}</span>'
        for c, t in items
    )
    swatches += (
        '<span><i class="swatch" style="background: repeating-linear-gradient(45deg, '
        '#fff 0 3px, #999 3px 4px)"></i>paused or no signal (a gap, not a zone)</span>'
    )
    marks = (
        "<span>dashed blue line: a skill starts</span>"
        "<span>dashed orange line: Help Now!</span>"
        "<span>▲ pleasant, ● neutral, ▼ unpleasant sensation</span>"
        "<span>◆ resource</span><span>☆ own zone rating</span>"
    )
    return f'<p class="legend">{swatches}<br>{marks}</p>'


def _metric_table(rows: tuple[tuple[str, str, str], ...], values: dict[str, Any],
                  group: str) -> str:
    out = ["<table>", "<tr><th>measure</th><th>value</th><th>unit</th><th>meaning</th></tr>"]
    for key, unit, meaning in rows:
        if key not in values:
            continue
        value = values[key]
        raw = "" if value is None else repr(value)
        out.append(
            f'<tr><td>{escape(key)}</td><td class="num" data-{group}="{escape(key)}" '
            f'data-value="{escape(raw)}">{escape(fmt_number(value))}</td>'
            f"<td>{escape(unit)}</td><td>{escape(meaning)}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _effects_table(items: list[dict[str, Any]]) -> str:
    if not items:
        return "<p>No skills, resources or sensations were logged in this session.</p>"
    out = [
        "<table>",
        "<tr><th>what</th><th>name</th><th>times</th><th>measured</th>"
        f"<th>{SHIFT_WORDS['toward']}</th><th>{SHIFT_WORDS['none']}</th>"
        f"<th>{SHIFT_WORDS['away']}</th>"
        "<th>heart rate change</th><th>RMSSD change</th><th>movement</th></tr>",
    ]
    for it in items:
        d_ln = it.get("mean_d_ln_rmssd")
        rmssd_change = (
            "–" if d_ln is None else f"{100 * (math.exp(d_ln) - 1):+.0f} %"
        )
        d_hr = it.get("mean_d_hr_bpm")
        hr_change = "–" if d_hr is None else f"{d_hr:+.1f} bpm"
        move = it.get("mean_movement")
        out.append(
            "<tr>"
            f"<td>{escape(str(it['kind']))}</td>"
            f"<td>{escape(display_name(str(it['kind']), str(it['label'])))}</td>"
            f'<td class="num">{it["n_events"]}</td><td class="num">{it["n_measured"]}</td>'
            f'<td class="num">{it["n_toward"]}</td><td class="num">{it["n_none"]}</td>'
            f'<td class="num">{it["n_away"]}</td>'
            f'<td class="num">{escape(hr_change)}</td><td class="num">{escape(rmssd_change)}</td>'
            f'<td class="num">{escape(fmt_number(move, 2))}</td>'
            "</tr>"
        )
    out.append("</table>")
    out.append(
        "<p class=\"meta\">Each change compares the minute before with the minute after "
        "(the larger of the first and second minute); movement is toward the centre of the "
        "band in units of its half-width (positive: toward). Ranked by movement toward the "
        "band.</p>"
    )
    return "\n".join(out)


def _timeline(markers: list[Marker]) -> str:
    shown = [m for m in markers if m.kind in ("sensation", "resource", "skill", "helpnow",
                                              "marker", "note")]
    if not shown:
        return "<p>Nothing was logged during this session.</p>"
    out = [
        "<table>",
        "<tr><th>time</th><th>what</th><th>felt as</th><th>words</th><th>details</th>"
        "<th>zone indicator then</th></tr>",
    ]
    for m in shown:
        kind = {"helpnow": "Help Now!"}.get(m.kind, m.kind)
        label = "" if m.kind == "helpnow" and m.label == "Help Now!" else m.label
        out.append(
            f'<tr data-kind="{escape(m.kind)}"><td class="num">{fmt_clock(m.time_s)}</td>'
            f"<td>{escape(kind)}</td><td>{escape(m.valence or '')}</td><td>{escape(label)}</td>"
            f"<td>{escape(m.detail)}</td><td>{_zone_span(m.indicator)}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _distress(value: float | None) -> str:
    return "–" if value is None else f"{value:g} of 10"


def _own_ratings(report: SessionReport) -> str:
    """The person's own ratings: at the start and end, and their zone ratings between."""
    rows = [*report.self_ratings, *report.ratings]
    if not rows:
        return "<p>The person gave no rating of their own in this session.</p>"
    out = [
        "<table>",
        "<tr><th>time</th><th>when</th><th>their own zone</th><th>distress (0-10)</th>"
        "<th>note</th><th>zone indicator then</th></tr>",
    ]
    moments = {"start": "at the start", "end": "at the end", "": "during the session"}
    for m in sorted(rows, key=lambda r: r.time_s):
        out.append(
            f'<tr data-kind="rating" data-moment="{escape(m.moment)}">'
            f'<td class="num">{fmt_clock(m.time_s)}</td><td>{moments[m.moment]}</td>'
            f"<td>{_zone_span(m.rating)}</td>"
            f'<td class="num">{escape(_distress(m.distress))}</td><td>{escape(m.detail)}</td>'
            f"<td>{_zone_span(m.indicator)}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _helped(report: SessionReport) -> str:
    if not report.helped:
        return ("<p>Nothing logged in this session was followed by a move toward the "
                "resilient band.</p>")
    items = "".join(
        f"<li>{escape(h.label)} ({escape(h.kind)}): at "
        f"{escape(', '.join(fmt_clock(t) for t in h.times_s))}</li>"
        for h in report.helped
    )
    return f"<ul>{items}</ul>"


def session_html(report: SessionReport) -> str:
    """The whole session report as one HTML document (a string)."""
    s, info, q = report.summary, report.info, report.summary["quality"]
    who = info["person"] or "no person recorded"
    title = f"Session {info['session']} — {who}"
    zone_text = shares_words(s.get("zone_seconds") or {}, _zone_span)
    ratings = [r for r in report.ratings if r.rating]
    rating_text = (
        ", ".join(f"{escape(r.rating or '')} at {fmt_clock(r.time_s)}" for r in ratings)
        if ratings else "none given"
    )
    baseline = s.get("baseline")
    baseline_text = "not available (the session was too short to calibrate)"
    if baseline:
        source = ("earlier sessions" if baseline.get("source") == "previous-sessions"
                  else "the first calm minutes of this session")
        # A heart-rate-only baseline stores no ln RMSSD (HRV withheld at the start).
        ln_rmssd = baseline.get("ln_rmssd")
        rmssd = ("no RMSSD (heart-rate variability was not valid at the start)"
                 if ln_rmssd is None else f"RMSSD {fmt_number(math.exp(ln_rmssd), 3)} ms")
        baseline_text = (
            f"{fmt_number(baseline['hr_bpm'], 3)} bpm and {rmssd}, from {escape(source)}"
        )
    metrics = s["metrics"]
    device = f" · {escape(info['device_name'])}" if info["device_name"] else ""
    body = [
        f"<h1>Session report: {escape(who)}</h1>",
        f'<p class="meta">Session {info["session"]} · started '
        f"{escape(local_time(info['started_utc']))} (local time) · "
        f"{escape(fmt_clock(info['duration_s'] or q['duration_s']))} · "
        f"{escape(info['source_kind'])}{device} · {escape(info['status'])}</p>",
    ]
    if info.get("group"):
        body.append(f'<p class="meta">{escape(info["group"])}</p>')
    if info["notes"]:
        body.append(f"<p>Notes: {escape(info['notes'])}</p>")
    body += [
        HOW_TO_READ,
        "<h2>At a glance</h2>",
        "<ul>",
        f"<li>Heart rate over the session: {escape(fmt_number(metrics.get('HR'), 3))} bpm on "
        f"average; RMSSD {escape(fmt_number(metrics.get('RMSSD'), 3))} ms.</li>",
        f"<li>Resting reference (baseline): {baseline_text}.</li>",
        f"<li>Time in each zone, by the indicator (in seconds, not beats): {zone_text}.</li>",
        f"<li>The person's own zone ratings: {rating_text}.</li>",
        *(
            [f"<li>Resonance breathing rate: {escape(resonance_words(info['resonance']))}."
             "</li>"]
            if info.get("resonance") else []
        ),
        f"<li>{escape(report.self_rating_sentence())}</li>",
        "</ul>",
        "<h2>Signal quality</h2>",
        f"<p>{q['beats']} beats over {fmt_clock(q['duration_s'])}"
        + (
            " without a break. "
            if q["segments"] == 1
            else f" in {q['segments']} unbroken stretches (the strap paused in between). "
        )
        + (
            f"{q['artifacts']} beats ({100 * (q['artifact_rate'] or 0):.2f} %) looked like "
            f"detection errors or early beats and were corrected ({q['corrected_beats']} "
            "corrected values): "
            + escape(", ".join(f"{k[2:]} {v}" for k, v in q.items() if k.startswith("n_") and v))
            + ".</p>"
            if q["artifacts"]
            else "Every beat looked clean; nothing needed correcting.</p>"
        ),
    ]
    if not s["hrv_valid"]:
        body.append(f'<p class="note">Note: {escape(s["reason"])}.</p>')
    image = png_base64(session_figure(report))
    body += [
        "<h2>Across the session</h2>",
        f'<img alt="Heart rate, RMSSD and zone indicator across the session, with skills and '
        f'sensations marked" src="data:image/png;base64,{image}">',
        _legend(),
        "<h2>What helped</h2>",
        "<p>What was followed by a move toward the resilient band, and never by the zone "
        "indicator moving away from the resilient zone in the two minutes after it. "
        "Co-occurrence, not proof of cause.</p>",
        _helped(report),
        "<h2>The person's own ratings</h2>",
        _own_ratings(report),
        "<h2>What followed each skill, resource and sensation</h2>",
        _effects_table(report.effects),
        "<h2>Timeline of sensations and skills (in time order)</h2>",
        _timeline(list(report.markers)),
        "<h2>Whole-session measures</h2>",
        "<p>Computed on the corrected beats of the whole session. Frequency measures are "
        "averaged over consecutive 5-minute windows (they need at least 2 minutes).</p>",
        _metric_table(METRIC_ROWS, metrics, "metric"),
        "<h3>Nonlinear measures</h3>",
        _metric_table(NONLINEAR_ROWS, report.nonlinear, "nonlinear"),
        "<p class=\"meta\">"
        + escape("; ".join(report.methods))
        + f" (here {report.nonlinear.get('SampEnWindows', 0)} window(s)). Computed with "
        "neurokit2.</p>",
        "<h2>For the clinician: about these numbers</h2>",
        "<p>Metric names follow neurokit2 and the HRV literature. RMSSD on the plot uses a "
        "60 s window (valid from about 30-60 s of beats); heart rate a 20 s window. The zone "
        f"indicator reads heart rate over {HR_WINDOW_S:.0f} s and RMSSD over "
        f"{RMSSD_WINDOW_S:.0f} s (half as jumpy at rest as the 60 s one); it is a weighted "
        "mean of how far heart rate and log RMSSD sit from the "
        "person's baseline, in units of their usual spread; the band's upper edge is at "
        f"{report.high_enter:g} and the low side needs {report.low_enter:g}. Made by trm-bio.</p>",
    ]
    return _page(title, body, report.machine_readable())


def trends_html(trends: Trends) -> str:
    """A person's progress across sessions as one HTML document."""
    title = f"Progress — {trends.person}"
    rows = [
        "<table>",
        "<tr><th>session</th><th>started (local time)</th><th>minutes</th>"
        "<th>resting HR (bpm)</th><th>resting RMSSD (ms)</th><th>HR (bpm)</th>"
        "<th>RMSSD (ms)</th><th>time in the resilient band (share of the time with a reading; "
        "pauses left out)</th>"
        "<th>own distress before → after (0-10)</th></tr>",
    ]
    for p in trends.sessions:
        share = "–" if p.resilient_share is None else f"{100 * p.resilient_share:.0f} %"
        minutes = "–" if p.duration_s is None else f"{p.duration_s / 60:.1f}"
        distress = f"{fmt_number(p.distress_before, 2)} → {fmt_number(p.distress_after, 2)}"
        rows.append(
            f'<tr data-session="{p.session}"><td class="num">{p.session}</td>'
            f"<td>{escape(p.started_local)}</td><td class=\"num\">{minutes}</td>"
            f'<td class="num">{fmt_number(p.baseline_hr_bpm, 3)}</td>'
            f'<td class="num">{fmt_number(p.baseline_rmssd_ms, 3)}</td>'
            f'<td class="num">{fmt_number(p.hr_bpm, 3)}</td>'
            f'<td class="num">{fmt_number(p.rmssd_ms, 3)}</td><td class="num">{share}</td>'
            f'<td class="num">{escape(distress)}</td></tr>'
        )
    rows.append("</table>")
    rows += [f'<p class="note">{escape(note)}.</p>' for note in trends.baseline_notes()]
    trend_rows = ["<ul>"] + [
        f'<li data-trend="{escape(key)}">'
        f"{escape(change_sentence(key, trends.trends.get(key), trends.measured(key)))}.</li>"
        for key in TREND_KEYS
    ] + ["</ul>"]
    helper_rows = ["<p>No skills or resources were logged yet.</p>"]
    if trends.helpers:
        helper_rows = ["<table>", "<tr><th>what</th><th>name</th><th>sessions</th>"
                       "<th>moved toward the band</th><th>of measured</th></tr>"]
        for h in trends.helpers[:15]:
            helper_rows.append(
                f"<tr><td>{escape(h.kind)}</td><td>{escape(display_name(h.kind, h.label))}</td>"
                f'<td class="num">{h.n_sessions}</td><td class="num">{h.n_toward}</td>'
                f'<td class="num">{h.n_measured}</td></tr>'
            )
        helper_rows.append("</table>")
    image = png_base64(trends_figure(trends))
    body = [
        f"<h1>Progress over time: {escape(trends.person)}</h1>",
        f'<p class="meta">{len(trends.sessions)} session(s), oldest first.</p>',
        "<h2>How to read this</h2>",
        "<p>Resting heart rate and RMSSD are taken from the first calm minutes of each session, "
        "before any skill. A slowly falling resting heart rate and a rising RMSSD often come "
        "with regular practice, but day-to-day life moves them too. Time in the resilient band "
        "is measured by the zone indicator, which is an indicator, not a diagnosis. A change "
        "compares the first sessions with the latest; a steady change per session is the "
        "median of the slopes between every pair of sessions, so one unusual day does not "
        "tilt it. Sessions are numbered as in the library.</p>",
        f'<img alt="Resting heart rate, resting RMSSD and time in the resilient band by '
        f'session" src="data:image/png;base64,{image}">',
        "<h2>Trends</h2>",
        *trend_rows,
        *(
            ["<h2>Resonance breathing rate</h2>",
             f'<p data-resonance="{trends.resonance[-1]["resonance_rate"]}">'
             f"{escape(resonance_text(trends))}. The rate where this person's heart rate "
             "swung most evenly with their breath; the breathing guide starts there.</p>"]
            if trends.resonance else []
        ),
        "<h2>Sessions</h2>",
        *rows,
        "<h2>What most often came before a move toward the band</h2>",
        "<p>Counted over all sessions: how often the minutes after a skill or resource showed "
        "the body moving toward its resilient band. Co-occurrence, not proof of cause.</p>",
        *helper_rows,
    ]
    return _page(title, body, {"format": "trm-bio trends", "version": 1, **trends.as_dict()})


GROUP_HOW_TO_READ = (
    "<h2>How to read this</h2>"
    "<ul>"
    "<li>This report shows the group as a whole: no participant is named (a row per seat, "
    "when asked for, says \"participant N\", never a name). Each participant's own report "
    "is theirs alone.</li>"
    "<li>Each participant's zone indicator compares their heart rate and RMSSD with their "
    "own resting values; the resilient band is close to their own usual rest. It is an "
    "indicator, not a diagnosis, and being outside the band is not good or bad.</li>"
    "<li>Settled after a moment: the heart moved toward the band in the two minutes after "
    "it, and the indicator did not move away from the resilient zone. What happened "
    "together, not proof that a skill caused a change.</li>"
    "</ul>"
)


def _rows_table(header: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p>{escape(empty)}</p>"
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows]
    out.append("</table>")
    return "\n".join(out)


def group_html(summary: GroupSummary, *, seats: bool = False) -> str:
    """The group report as one HTML document: the group's figures, naming nobody
    (``seats``: also a row per "participant N", still without names)."""
    title = f"Group session report: {summary.name}" if summary.name else "Group session report"
    n, measured = len(summary.participants), len(summary.measured)
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Started {escape(local_time(summary.started_utc))} (local time) · '
        f"{n} participant{'s' if n != 1 else ''}"
        + (f", {measured} with a readable session" if measured != n else "") + "</p>",
        GROUP_HOW_TO_READ,
        "<h2>Time in the resilient band</h2>",
        f"<p>{escape(summary.band_sentence())}</p>",
        "<h2>After each practice moment</h2>",
        _rows_table(["time", "moment", "participants who settled", "moved away"],
                    summary.moment_rows(), "No skill or Help Now! was practised together."),
        "<h2>What helped</h2>",
        "<p>How many participants each was followed by a move toward the band for (and never "
        "by the indicator moving away).</p>",
        _rows_table(["what", "name", "participants"], summary.helped_rows(),
                    "Nothing logged was followed by a move toward the band."),
    ]
    if seats:
        body += [
            "<h2>Per seat (no names)</h2>",
            _rows_table(["seat", "time in the band", "share of the time with a reading",
                         "settled after"], summary.seat_rows(), "No participant."),
        ]
    body.append('<p class="meta">Made by trm-bio.</p>')
    return _page(title, body, summary.group_dict(seats=seats))
