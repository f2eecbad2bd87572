"""``trm-bio app``: open the desktop app (the simulated strap and the local library by default)."""

from __future__ import annotations

import argparse

from trm_bio.cli.options import library_options, publish_options, simulation_options
from trm_bio.store.paths import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``app`` sub-command."""
    parser = subparsers.add_parser(
        "app",
        parents=[library_options(), simulation_options(), publish_options(wait=False)],
        help="open the desktop app",
        description=(
            "Open the biofeedback window: live heart rate beside the skills. Without options "
            "it shows the simulated strap and uses the local session library. --lsl turns "
            "publishing on, and the window remembers it."
        ),
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--device", metavar="ADDRESS|NAME", help="connect this Bluetooth strap")
    which.add_argument("--replay", type=int, metavar="SESSION", help="open a recorded session")
    parser.add_argument(
        "--clinician", action="store_true", default=None, help="offer skills 7 to 9"
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
        seed=args.seed,
        h10=args.h10,
        clinician=args.clinician,
        lsl=True if args.lsl is not None else None,
        lsl_name=args.lsl or None,
        resonance_rate=args.resonance_rate,
    )
