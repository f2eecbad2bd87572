"""``trm-bio lsl list``: the Lab Streaming Layer streams in reach.

Publishing a session is ``--lsl [NAME]`` on ``record``, ``practice``, ``replay`` and ``app``;
taking the beats from a stream (another computer's strap) is ``--lsl-source NAME`` on
``record`` and ``practice``, and ``trm-bio stream --lsl-source NAME`` prints what one delivers.
"""

from __future__ import annotations

import argparse

from trm_bio.cli.options import positive_seconds
from trm_bio.sources import require_lsl


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lsl`` sub-command."""
    p = subparsers.add_parser(
        "lsl",
        help="Lab Streaming Layer: list the streams in reach",
        description="Lab Streaming Layer (LSL) tools.",
    )
    sub = p.add_subparsers(dest="lsl_command", metavar="ACTION", required=True)
    q = sub.add_parser("list", help="list the LSL streams in reach")
    q.add_argument(
        "--timeout",
        type=positive_seconds,
        default=2.0,
        metavar="S",
        help="how long to listen (default 2 s)",
    )
    q.add_argument("--query", metavar="NAME|TYPE", help="only streams with this name or type")
    q.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    require_lsl()
    from devices.lsl import find_streams

    streams = find_streams(args.timeout, args.query)
    if not streams:
        print(f"No LSL stream answered within {args.timeout:g} s.")
        return 0
    rows = [
        (
            s.name,
            s.type,
            str(s.channel_count),
            "irregular" if s.nominal_srate_hz == 0 else f"{s.nominal_srate_hz:g} Hz",
            s.channel_format,
            s.hostname,
            s.source_id,
        )
        for s in streams
    ]
    header = ("NAME", "TYPE", "CH", "RATE", "FORMAT", "HOST", "SOURCE ID")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0
