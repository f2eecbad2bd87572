"""After a session: its numbers, what each skill and resource was followed by, and the
sensations in order. Everything shown was computed by :func:`trm_bio.history.analyse_session`.
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

from trm_bio.core.events import SensationPayload, ZoneRatingPayload
from trm_bio.ui.replay_bar import clock
from trm_bio.zone_display import SHIFT_WORDS, duration_words

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
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class SummaryView(QWidget):
    """Tabs: numbers, effects per skill and resource, sensation timeline.

    ``report_requested`` asks the window to save the session's report (HTML or PDF).
    """

    report_requested = Signal()

    def __init__(self, analysis: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis = analysis
        info = analysis.info
        summary = analysis.summary.as_dict()
        box = QVBoxLayout(self)
        who = f" with {info.person_name}" if info.person_name else ""
        head = QLabel(
            f"<b>Session {info.id}</b>{who}: {clock(info.duration_s or 0.0)} "
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
        effect_rows = [
            (
                item.kind,
                item.label,
                str(item.n_events),
                f"{item.n_toward} {SHIFT_WORDS['toward']} · {item.n_away} "
                f"{SHIFT_WORDS['away']} · {item.n_none} {SHIFT_WORDS['none']}",
                _fmt(item.mean_d_hr_bpm, "{:+.1f} bpm"),
                _fmt(item.mean_d_ln_rmssd, "{:+.2f}"),
            )
            for item in analysis.effects.items
        ]
        self.effects_table = _table(
            ("kind", "what", "times", "the body moved", "heart rate", "ln RMSSD"), effect_rows
        )
        tabs.addTab(self.effects_table, "What helped")
        sensation_rows = []
        for event in analysis.events:
            details = event.details
            if isinstance(details, SensationPayload):
                sensation_rows.append(
                    (
                        clock(event.time_s),
                        details.valence,
                        ", ".join(details.words),
                        details.location or "",
                        "" if details.intensity is None else str(details.intensity),
                        details.note,
                    )
                )
            elif isinstance(details, ZoneRatingPayload):
                rating = f"feels {details.zone}"
                sensation_rows.append((clock(event.time_s), rating, "", "", "", ""))
        self.sensations_table = _table(
            ("time", "sensation", "words", "where", "strength", "note"), sensation_rows
        )
        tabs.addTab(self.sensations_table, "Sensations")
        caution = QLabel(
            "These are indicators from heart rhythm, never a diagnosis; the person's own sense "
            "of their zone is recorded beside them."
        )
        caution.setObjectName("muted")
        caution.setWordWrap(True)
        box.addWidget(caution)


class SummaryDialog(QDialog):
    def __init__(self, analysis: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Session {analysis.info.id}: summary")
        box = QVBoxLayout(self)
        self.view = SummaryView(analysis)
        box.addWidget(self.view)
        self.resize(720, 480)
