"""``trm-bio report SESSION`` and ``trm-bio trends PERSON``: what a clinician files after a
session, and what a person looks back on."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trm_bio.cli.library_cmd import open_library, refuse_overwrite, refuse_the_library
from trm_bio.cli.options import library_options, output_options
from trm_bio.errors import TrmBioError
from trm_bio.store.paths import write_private_text


def register(subparsers: argparse._SubParsersAction) -> None:
    library = library_options()
    p = subparsers.add_parser(
        "report",
        parents=[
            output_options("the file to write (.html or .pdf; default session-ID-report.html)"),
            library,
        ],
        help="write a session report (self-contained HTML or PDF)",
        description=(
            "Write a session's report: who and when, signal quality, whole-session measures "
            "(with DFA alpha1 and sample entropy), plots of heart rate, RMSSD and the zone "
            "indicator with skills and sensations marked, the per-skill effect table and the "
            "sensation timeline. The HTML needs nothing from the network."
        ),
    )
    p.add_argument("session", type=int, nargs="?")
    p.add_argument("--format", choices=("html", "pdf"), help="override the file's suffix")
    p.add_argument(
        "--group", type=int, metavar="G",
        help="the report of group session G: the group's figures, naming no participant "
        "(default file group-G-report.html)",
    )
    p.add_argument(
        "--per-participant", type=Path, metavar="DIR",
        help="with --group: also each participant's own report, into the folder DIR",
    )
    p.add_argument(
        "--seats", action="store_true",
        help="with --group: a row per seat (\"participant 3\", never a name)",
    )
    p.set_defaults(func=_report)

    p = subparsers.add_parser(
        "trends",
        parents=[
            output_options("write to this file (html/pdf default: trends-PERSON.html/.pdf)"),
            library,
        ],
        help="a person's progress across sessions",
        description=(
            "Trends of resting heart rate and RMSSD (from each session's first calm minutes), "
            "time in the resilient band, and the skills and resources that most often came "
            "before a move toward it."
        ),
    )
    p.add_argument("person", help="name, pseudonymous code or id")
    p.add_argument("--format", choices=("table", "json", "html", "pdf"), default="table")
    p.add_argument(
        "--recompute",
        action="store_true",
        help="analyse every session again instead of using cached summaries",
    )
    p.set_defaults(func=_trends)


def _report(args: argparse.Namespace) -> int:
    from trm_bio.history import analyse_session
    from trm_bio.report import report_format, save_session_report
    from trm_bio.report.group import group_sentence
    from trm_bio.store.person_resonance import latest_for_name

    if (args.session is None) == (args.group is None):
        raise TrmBioError("give a session id or --group G (one of them)")
    if args.group is not None:
        from trm_bio.cli.group_cmd import report_group

        with open_library(args) as library:
            return report_group(args, library)
    if args.per_participant is not None or args.seats:
        raise TrmBioError("--per-participant and --seats go with --group G")
    out = args.output or Path(f"session-{args.session}-report.{args.format or 'html'}")
    refuse_the_library(out, args)
    refuse_overwrite(out, args.force)
    with open_library(args) as library:
        library.get_session(args.session)  # one sentence when it is not there
        result = analyse_session(library, args.session)
        resonance = latest_for_name(library, result.info.person_name)
        group = group_sentence(library, result.info)
    written = save_session_report(
        result, out, report_format(out, args.format), resonance, group
    )
    print(f"Wrote {written}")
    return 0


def _trends(args: argparse.Namespace) -> int:
    from trm_bio.report import save_trends_report
    from trm_bio.report.trends import person_trends, trends_table

    with open_library(args) as library:
        trends = person_trends(library, args.person, recompute=args.recompute)
    for sentence in trends.skipped:
        print(f"trm-bio: {sentence}", file=sys.stderr)
    if args.format in ("html", "pdf"):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in trends.person)
        out = args.output or Path(f"trends-{safe}.{args.format}")
        refuse_the_library(out, args)
        refuse_overwrite(out, args.force)
        print(f"Wrote {save_trends_report(trends, out, args.format)}")
        return 0
    text = json.dumps(trends.as_dict(), indent=2) if args.format == "json" else trends_table(trends)
    if args.output:
        refuse_the_library(args.output, args)
        refuse_overwrite(args.output, args.force)
        try:
            write_private_text(args.output, text + "\n")
        except OSError as exc:
            raise TrmBioError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
        print(f"Wrote {args.output}")
    else:
        print(text)
    return 0
