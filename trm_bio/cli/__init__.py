"""The ``trm-bio`` command line: one sub-module per group of sub-commands.

Each module in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func`` on each parser to a callable ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from trm_bio import __version__
from trm_bio.errors import TrmBioError

COMMAND_MODULES = [
    "trm_bio.cli.analyze",
    "trm_bio.cli.skills_cmd",
    "trm_bio.cli.devices_cmd",
    "trm_bio.cli.library_cmd",
    "trm_bio.cli.practice_cmd",
    "trm_bio.cli.lsl_cmd",
    "trm_bio.cli.app_cmd",
    "trm_bio.cli.report_cmd",
    "trm_bio.cli.resonance_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="trm-bio",
        description="Heart-rate biofeedback beside the skills of the Trauma Resiliency Model.",
    )
    parser.add_argument("--version", action="version", version=f"trm-bio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``trm-bio`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`trm-bio analyze … | head`): stop quietly, as a pipe should.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except TrmBioError as exc:
        print(f"trm-bio: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the device layer's and skill files' errors, imported lazily
        from devices.errors import DeviceError
        from skills.model import SkillFileError

        # A broken file in the skills folder stops every command that loads the skills (the
        # app, record, practice): one sentence naming the file and field, not a traceback.
        if isinstance(exc, DeviceError | SkillFileError):
            print(f"trm-bio: {exc}", file=sys.stderr)
            return 1
        raise
