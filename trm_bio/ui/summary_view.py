"""After a session: its numbers, what helped, the sensations in time order and the person's
own ratings. Everything shown was computed by :func:`trm_bio.history.analyse_session` and
read by :mod:`trm_bio.report.data`, as the report reads it: the same rows, the same names
and the same clock times (:func:`trm_bio.report.text.fmt_clock`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from trm_bio.report.data import (
    Marker,
    markers_from_events,
    self_rating_sentence,
    what_helped,
)
from trm_bio.report.text import fmt_clock, local_time
from trm_bio.ui.self_rating import SelfRatingForm
from trm_bio.zone_display import duration_words

SUMMARY_METRICS = (
    ("HR", "Heart rate", "{:.0f} bpm"),
    ("MeanNN", "Mean RR", "{:.0f} ms"),
    ("SDNN", "SDNN", "{:.0f} ms"),
    ("RMSSD", "RMSSD", "{:.0f} ms"),
    ("pNN50", "pNN50", "{:.0f} %"),
    ("LF", "LF power", "{:.0f} ms²"),
    ("HF", "HF power", "{:.0f} ms²"),
    ("LFHF", "LF/HF", "{:.2f}"),
)

MOMENT_WORDS = {"start": "at the start", "end": "at the end", "": "during the session"}


def _fill(table: QTableWidget, rows: Sequence[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))


def _fmt(value: Any, pattern: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return pattern.format(value)


def _percent(share: Any) -> float:
    """A share (0-1) as a percentage; NaN when it is missing."""
    return math.nan if share is None else 100.0 * float(share)


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    _fill(table, rows)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class SummaryView(QWidget):
    """Tabs: numbers, effects per skill and resource, sensation timeline.

    ``report_requested`` asks the window to save the session's report (HTML or PDF).
    """

    report_requested = Signal()

    def __init__(
        self, analysis: Any, parent: QWidget | None = None, *, ask_after: bool = False
    ) -> None:
        super().__init__(parent)
        self.analysis = analysis
        info = analysis.info
        summary = analysis.summary.as_dict()
        box = QVBoxLayout(self)
        who = f" with {info.person_name}" if info.person_name else ""
        head = QLabel(
            f"<b>Session {info.id}</b>{who}, started {local_time(info.started_utc)}: "
            f"{fmt_clock(info.duration_s or 0.0)} "
            f"from {info.device_name or info.source_kind}."
        )
        head.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(head, 1)
        self.save_button = QPushButton("Save report…")
        self.save_button.setToolTip("Save this session's report as a web page (HTML) or a PDF")
        self.save_button.clicked.connect(self.report_requested)
        top.addWidget(self.save_button)
        box.addLayout(top)
        if not summary.get("hrv_valid", True):
            note = QLabel(f"Heart-rate variability is not shown: {summary.get('reason', '')}.")
            note.setWordWrap(True)
            box.addWidget(note)
        tabs = QTabWidget()
        box.addWidget(tabs)
        metrics = summary.get("metrics", {})
        quality = summary.get("quality", {})
        rows = [(title, _fmt(metrics.get(key), pattern)) for key, title, pattern in SUMMARY_METRICS]
        rows.append(("Beats", str(quality.get("beats", "–"))))
        rows.append(
            # A rate of 0 is a clean recording, not a missing value.
            ("Artifacts", _fmt(_percent(quality.get("artifact_rate")), "{:.1f} %"))
        )
        # Shares of the time with a zone reading; paused and unknown time are said apart.
        zone_time = analysis.zone_time()
        shares = zone_time.shares()
        for zone in ("resilient", "high", "low"):
            rows.append(
                (
                    f"Time in the {zone} zone",
                    _fmt(100 * shares.get(zone, math.nan), "{:.0f} %")
                    + (f" ({duration_words(zone_time.seconds[zone])})" if zone in shares
                       and math.isfinite(shares[zone]) else ""),
                )
            )
        rows.append(("Time with a zone reading", duration_words(zone_time.known_s)))
        rows.append(
            ("Not counted: no zone reading (settling in, unclear signal)",
             duration_words(zone_time.unknown_s))
        )
        rows.append(("Not counted: paused or no signal", duration_words(zone_time.gaps_s)))
        self.metrics_table = _table(("", "whole session"), rows)
        tabs.addTab(self.metrics_table, "Numbers")
        helped = what_helped(analysis)
        self.effects_table = _table(
            ("what", "name", "followed by a move toward the band"),
            [
                (h.kind, h.label, f"{len(h.times_s)} of {h.n_events} times, at "
                 + ", ".join(fmt_clock(t) for t in h.times_s))
                for h in helped
            ],
        )
        self.effects_table.setToolTip(
            "What was followed by a move toward the resilient band, and never by the zone "
            "indicator moving away from the resilient zone in the two minutes after it. "
            "Co-occurrence, not proof of cause."
        )
        tabs.addTab(self.effects_table, "What helped")
        markers = markers_from_events(analysis)  # in time order
        self.sensations_table = _table(
            ("time", "felt as", "words", "where", "strength", "note", "zone indicator then"),
            [
                (fmt_clock(m.time_s), m.valence or "", m.label, m.place,
                 "" if m.intensity is None else f"{m.intensity:g}", m.note, m.indicator or "–")
                for m in markers if m.kind == "sensation"
            ],
        )
        tabs.addTab(self.sensations_table, "Sensations")
        self.ratings_table = _table(
            ("time", "when", "own zone", "distress (0-10)", "note", "zone indicator then"), []
        )
        tabs.addTab(self.ratings_table, "Own ratings")
        self.self_ratings = QLabel("")
        self.self_ratings.setWordWrap(True)
        box.addWidget(self.self_ratings)
        own = self.show_ratings(markers)
        #: The person's rating after a session that just ended (None when not asked).
        self.after_form: SelfRatingForm | None = None
        if ask_after and not any(m.moment == "end" for m in own):
            form = self.after_form = SelfRatingForm("end")
            form.skipped.connect(lambda: form.done("No rating: that is fine."))
            box.addWidget(form)
        caution = QLabel(
            "These are indicators from heart rhythm, never a diagnosis; the person's own sense "
            "of their zone is recorded beside them."
        )
        caution.setObjectName("muted")
        caution.setWordWrap(True)
        box.addWidget(caution)


    def show_ratings(self, markers: Sequence[Marker]) -> list[Marker]:
        """Fill the person's own ratings (a table and a sentence); returns those given at
        the start and the end."""
        ratings = [m for m in markers if m.kind == "rating"]
        _fill(self.ratings_table, [
            (fmt_clock(m.time_s), MOMENT_WORDS[m.moment], m.rating or "–",
             "–" if m.distress is None else f"{m.distress:g}", m.detail, m.indicator or "–")
            for m in ratings
        ])
        own = [m for m in ratings if m.moment]
        self.self_ratings.setText(self_rating_sentence(own))
        return own


class SummaryDialog(QDialog):
    def __init__(
        self, analysis: Any, parent: QWidget | None = None, *, ask_after: bool = False
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Session {analysis.info.id}: summary")
        box = QVBoxLayout(self)
        self.view = SummaryView(analysis, ask_after=ask_after)
        box.addWidget(self.view)
        self.resize(720, 480)
