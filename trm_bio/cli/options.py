"""The options several commands share: one spelling, one meaning, one check each.

Each ``*_options`` function returns an argparse parent parser (``parents=[...]``), made
afresh so that a command may word its help. The vocabulary:

- ``--lsl [NAME]`` always publishes on Lab Streaming Layer; ``--lsl-source NAME`` always
  takes the beats from an LSL stream.
- ``--format`` always chooses what a command prints or writes; an input's format is
  detected.
- ``--speed X`` is one check everywhere: a number above 0 and at most :data:`MAX_SPEED`.

Only argparse loads here: building the parser must stay fast (see cli/__init__.py).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devices.source import Source
    from trm_bio.sources import SourceKind

#: The fastest pace a simulated strap or a replay may run at (times real time): an hour in
#: 3.6 s, yet every beat still passes through the live pipeline.
MAX_SPEED = 1000.0


def speed(text: str) -> float:
    """An argparse type: a pace in times real time, above 0 and at most :data:`MAX_SPEED`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_SPEED:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"the speed must be a number above 0 and at most {MAX_SPEED:g} "
            f"(1 is real time), not {text!r}"
        )
    return value


def positive_seconds(text: str) -> float:
    """An argparse type: a duration in seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"the duration must be above 0 seconds, not {text}")
    return value


def wait_seconds(text: str) -> float:
    """An argparse type: how long to wait, 0 (not at all) or more seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"the wait must be 0 seconds or more, not {text}")
    return value


def resonance_rate(text: str) -> float:
    """An argparse type: a simulated person's resonance rate, 2-12 breaths/min."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 2.0 <= value <= 12.0:  # also refuses nan
        raise argparse.ArgumentTypeError(
            f"the resonance rate must be a number of breaths per minute from 2 to 12, not {text!r}"
        )
    return value


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def library_options() -> argparse.ArgumentParser:
    """``--library PATH`` (else $TRM_BIO_LIBRARY, else the user data folder)."""
    parent = _parent()
    parent.add_argument(
        "--library",
        metavar="PATH",
        help="the session library file (default: $TRM_BIO_LIBRARY or the user data folder)",
    )
    return parent


def simulation_options() -> argparse.ArgumentParser:
    """``--scenario``, ``--seed`` and ``--speed`` of the simulated strap."""
    parent = _parent()
    parent.add_argument(
        "--scenario", default="calm", metavar="NAME", help="simulated scenario (default calm)"
    )
    parent.add_argument(
        "--seed", type=int, default=0, metavar="N", help="random seed of the simulated strap"
    )
    parent.add_argument(
        "--speed",
        type=speed,
        default=1.0,
        metavar="X",
        help=f"the simulated strap runs X times real time (default 1, at most {MAX_SPEED:g})",
    )
    parent.add_argument(
        "--resonance-rate",
        type=resonance_rate,
        default=None,
        metavar="R",
        help="the simulated person has a resonance rate of R breaths/min: their heart-rate "
        "swing is largest when they breathe at R, and they breathe along with the pacer",
    )
    parent.add_argument(
        "--h10",
        action="store_true",
        help="the simulated strap acts as a Polar H10: it streams its ECG and accelerometer too",
    )
    return parent


def people_count(text: str) -> int:
    """An argparse type: how many participants a group session has (1 to 8)."""
    from trm_bio.group import MAX_PEOPLE

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PEOPLE:
        raise argparse.ArgumentTypeError(
            f"a group session has 1 to {MAX_PEOPLE} participants, not {text!r}"
        )
    return value


def source_options(*, several: bool = False) -> argparse.ArgumentParser:
    """Where the beats come from: ``--device``, ``--simulate`` or ``--lsl-source`` (one of
    them), with the simulated strap's options and how long to wait for an LSL stream.

    ``several``: a group session may be recorded: ``--device`` may be given once per
    participant, and ``--people N`` simulates N participants."""
    parent = argparse.ArgumentParser(add_help=False, parents=[simulation_options()])
    which = parent.add_mutually_exclusive_group(required=True)
    if several:
        which.add_argument(
            "--device",
            action="append",
            metavar="ADDRESS|NAME",
            help="a Bluetooth strap; give it once per participant for a group session",
        )
        parent.add_argument(
            "--people",
            type=people_count,
            metavar="N",
            help="with --simulate: a group session of N simulated participants (1-8), each "
            "with their own physiology",
        )
    else:
        which.add_argument("--device", metavar="ADDRESS|NAME", help="a Bluetooth strap")
    which.add_argument("--simulate", action="store_true", help="the simulated strap")
    which.add_argument(
        "--lsl-source",
        metavar="NAME|TYPE",
        help="a Lab Streaming Layer stream (e.g. another computer's trm-bio, see `lsl list`)",
    )
    parent.add_argument(
        "--lsl-source-wait",
        type=positive_seconds,
        default=30.0,
        metavar="S",
        help="how long to wait for the --lsl-source stream (default 30 s)",
    )
    return parent


def publish_options(*, wait: bool = True) -> argparse.ArgumentParser:
    """``--lsl [NAME]``: publish the session on Lab Streaming Layer (off by default); with
    ``wait``, ``--lsl-wait S`` too (a command line session may wait for its subscriber)."""
    parent = _parent()
    parent.add_argument(
        "--lsl",
        nargs="?",
        const="",
        default=None,
        metavar="NAME",
        help="publish beats, metrics, zone and events on Lab Streaming Layer "
        "(stream name default trm-bio)",
    )
    if not wait:
        return parent
    parent.add_argument(
        "--lsl-wait",
        type=wait_seconds,
        default=0.0,
        metavar="S",
        help="with --lsl: wait up to S seconds for a subscriber before the session starts",
    )
    return parent


def person_options(help_text: str, *, several: bool = False) -> argparse.ArgumentParser:
    """``--person NAME``, worded for the command; ``several``: once per participant of a
    group session (a list, in the participants' order)."""
    parent = _parent()
    parent.add_argument(
        "--person", metavar="NAME", help=help_text, action="append" if several else "store"
    )
    return parent


def output_options(help_text: str) -> argparse.ArgumentParser:
    """``-o/--output FILE`` (worded for the command) and ``--force``: never replace a file
    unless told to."""
    parent = _parent()
    parent.add_argument("-o", "--output", type=Path, metavar="FILE", help=help_text)
    parent.add_argument("--force", action="store_true", help="replace the file if it exists")
    return parent


def refuse_old_spelling(
    parser: argparse.ArgumentParser, old: str, sentence: str, *, takes_value: bool = False
) -> None:
    """Refuse an option's old spelling with ``sentence`` saying what to write now (the
    option is hidden in the help): a script using it stops with a pointer, not with
    "unrecognized arguments" or, worse, another meaning."""

    class Refuse(argparse.Action):
        def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
            parser.error(sentence)

    parser.add_argument(old, nargs="?" if takes_value else 0, action=Refuse, help=argparse.SUPPRESS)


def source_from_args(
    args: argparse.Namespace, duration_s: float | None, guide: Any = None
) -> tuple[Source, str]:
    """The source :func:`source_options` name, and its kind ("simulated", "ble" or "lsl");
    a simulated person with ``--resonance-rate`` breathes along with ``guide`` (a pacer)."""
    from trm_bio.sources import open_source

    kind: SourceKind
    if args.simulate:
        kind, target = "simulated", ""
    elif args.lsl_source:
        kind, target = "lsl", args.lsl_source
    else:
        kind, target = "ble", args.device
        if isinstance(target, list):  # a command that records a group takes several
            target = target[0]
    source = open_source(
        kind,
        target,
        scenario=args.scenario,
        seed=args.seed,
        speed=args.speed,
        duration_s=duration_s,
        lsl_wait_s=args.lsl_source_wait,
        resonance_rate=getattr(args, "resonance_rate", None),
        guide=guide,
        h10=getattr(args, "h10", False),
    )
    return source, kind


def apply_publish_options(controller: Any, args: argparse.Namespace) -> None:
    """Turn on publishing when ``--lsl`` was given (an empty name: the default one)."""
    if args.lsl is not None:
        controller.enable_lsl(True, name=args.lsl or None, wait_for_consumers_s=args.lsl_wait)
