"""Session reports and progress over time: HTML (self-contained) and PDF, drawn headless.

``save_session_report(analysis, path)`` is what the app's "Save report…" button calls;
``trm-bio report`` and ``trm-bio trends`` use the same functions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trm_bio.errors import InputFileError
from trm_bio.store.paths import private_output, write_private_text

if TYPE_CHECKING:
    from trm_bio.history import SessionAnalysis
    from trm_bio.report.group import GroupSummary
    from trm_bio.report.trends import Trends

REPORT_FORMATS = ("html", "pdf")


def report_format(path: str | Path, requested: str | None = None) -> str:
    """The format to write: the one requested, else from the file's suffix (default html)."""
    if requested:
        return requested
    suffix = Path(path).suffix.lower()
    return "pdf" if suffix == ".pdf" else "html"


def _save(
    path: str | Path, fmt: str | None, write_pdf: Callable[[Path], Path], html: Callable[[], str]
) -> Path:
    """Write a report as PDF or HTML into a file only its owner can read (health data).

    Either is written under a temporary name and renamed into place only once complete
    (:func:`trm_bio.store.paths.private_output`): a killed save leaves no partial report.
    """
    path = Path(path)
    try:
        if report_format(path, fmt) == "pdf":
            with private_output(path) as temporary:
                write_pdf(temporary)
        else:
            write_private_text(path, html())
    except OSError as exc:
        raise InputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def save_session_report(
    analysis: SessionAnalysis,
    path: str | Path,
    fmt: str | None = None,
    resonance: dict[str, Any] | None = None,
    group: str | None = None,
) -> Path:
    """Write a session's report as HTML or PDF (by ``fmt``, else by the suffix of ``path``).

    Parameters
    ----------
    analysis : SessionAnalysis
        From :func:`trm_bio.history.analyse_session`.
    path : path
        The file to write.
    fmt : {"html", "pdf"}, optional
        Overrides the suffix.
    resonance : dict, optional
        The person's newest resonance assessment, shown in the report.
    group : str, optional
        That the session was part of a group session, in a sentence naming no one else
        (:func:`trm_bio.report.group.group_sentence`).
    """
    from trm_bio.report.data import build_report
    from trm_bio.report.html import session_html
    from trm_bio.report.pdf import write_session_pdf

    report = build_report(analysis, resonance, group)
    return _save(path, fmt, lambda p: write_session_pdf(report, p), lambda: session_html(report))


def save_group_report(
    summary: GroupSummary, path: str | Path, fmt: str | None = None, *, seats: bool = False
) -> Path:
    """Write a group session's report (HTML or PDF by ``fmt``, else by the suffix): the
    group's figures, naming no participant (``seats``: a row per "participant N")."""
    from trm_bio.report.html import group_html
    from trm_bio.report.pdf import write_group_pdf

    return _save(
        path, fmt, lambda p: write_group_pdf(summary, p, seats=seats),
        lambda: group_html(summary, seats=seats),
    )


def save_trends_report(trends: Trends, path: str | Path, fmt: str | None = None) -> Path:
    """Write a person's trends as HTML or PDF (by ``fmt``, else by the suffix)."""
    from trm_bio.report.html import trends_html
    from trm_bio.report.pdf import write_trends_pdf

    return _save(path, fmt, lambda p: write_trends_pdf(trends, p), lambda: trends_html(trends))


__all__ = [
    "REPORT_FORMATS",
    "report_format",
    "save_group_report",
    "save_session_report",
    "save_trends_report",
]
