"""``trm-bio app``: open the desktop app (the simulated strap and the local library by default)."""

from __future__ import annotations

import argparse

from trm_bio.store.paths import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``app`` sub-command."""
    parser = subparsers.add_parser(
        "app",
        help="open the desktop app",
        description=(
            "Open the biofeedback window: live heart rate beside the skills. Without options "
            "it shows the simulated strap and uses the local session library."
        ),
    )
    parser.add_argument("--library", metavar="PATH", help="the session library file")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--device", metavar="ADDRESS|NAME", help="connect this Bluetooth strap")
    which.add_argument("--replay", type=int, metavar="SESSION", help="open a recorded session")
    parser.add_argument(
        "--scenario", default="calm", metavar="NAME", help="simulated scenario (default calm)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="the simulated strap runs X times faster than real time (default 1)",
    )
    parser.add_argument(
        "--clinician", action="store_true", default=None, help="offer skills 7 to 9"
    )
    parser.add_argument(
        "--lsl",
        action="store_true",
        default=None,
        help="publish beats, metrics, zone and events on Lab Streaming Layer (remembered)",
    )
    parser.set_defaults(func=_app)


def _app(args: argparse.Namespace) -> int:
    from trm_bio.app import run

    return run(
        library_path(args.library),
        device=args.device,
        replay=args.replay,
        scenario=args.scenario,
        speed=args.speed,
        clinician=args.clinician,
        lsl=args.lsl,
    )
