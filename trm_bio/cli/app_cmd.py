"""``trm-bio app``: open the desktop app (the simulated strap and the local library by default)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from trm_bio.cli.options import (
    library_options,
    people_count,
    publish_options,
    simulation_options,
)
from trm_bio.store.paths import library_path

if TYPE_CHECKING:
    from trm_bio.ui.services import GroupChoice


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
    which.add_argument(
        "--device",
        action="append",
        metavar="ADDRESS|NAME",
        help="connect this Bluetooth strap; given two or more times, a group session with one "
        "strap per participant (--person names them in the same order)",
    )
    which.add_argument("--replay", type=int, metavar="SESSION", help="open a recorded session")
    which.add_argument(
        "--people",
        type=people_count,
        metavar="N",
        help="a group session of N simulated participants (1 to 8) in the group window",
    )
    which.add_argument(
        "--replay-group", type=int, metavar="GROUP", help="replay a recorded group session"
    )
    parser.add_argument(
        "--person",
        action="append",
        default=[],
        metavar="NAME",
        help="a group participant's name or initials, once per participant, in seat order",
    )
    parser.add_argument(
        "--clinician", action="store_true", default=None, help="offer skills 7 to 9"
    )
    parser.set_defaults(func=_app)


def _group_of(args: argparse.Namespace) -> GroupChoice | None:
    """The group session asked for (None: the main window on one strap)."""
    from trm_bio.errors import TrmBioError
    from trm_bio.group import check_people
    from trm_bio.ui.services import GroupChoice

    devices = list(args.device or [])
    people: int | None = args.people
    if people is None and len(devices) < 2:
        if args.person:
            raise TrmBioError("--person names group participants: give --people N or two or "
                              "more --device straps with it")
        return None
    count = people if people is not None else len(devices)
    check_people(count)  # 1 to 8, as `record` takes them
    names = [name.strip() for name in args.person]
    if names and len(names) != count:
        raise TrmBioError(
            f"{len(names)} --person names for {count} participants; give one per participant "
            "in the same order, or none"
        )
    labels = tuple(names) if names else tuple(f"Participant {n}" for n in range(1, count + 1))
    if people is not None:
        return GroupChoice("simulated", labels, scenario=args.scenario)
    return GroupChoice("ble", labels, targets=tuple(devices))


def _app(args: argparse.Namespace) -> int:
    from trm_bio.app import run

    group = _group_of(args)
    devices = list(args.device or [])
    return run(
        library_path(args.library),
        device=devices[0] if group is None and devices else None,
        group=group,
        replay_group=args.replay_group,
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
