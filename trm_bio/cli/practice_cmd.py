"""``trm-bio practice``: guided practice of a TRM skill in the terminal, recorded.

Prompts appear as they come; single keys log what the person notices without stopping
anything (p pleasant, n neutral, u unpleasant), move on (Enter or space), go back (b),
skip (s), pause (z), open Help Now! (h) and stop (q). Everything is recorded into the
library, like a session in the window.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import select
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

from devices.packet import LinkState
from trm_bio.cli.library_cmd import open_library, zone_words
from trm_bio.cli.options import (
    apply_publish_options,
    library_options,
    person_options,
    publish_options,
    source_from_args,
    source_options,
)
from trm_bio.cli.skills_cmd import not_offered
from trm_bio.errors import TrmBioError

KEYS_HELP = (
    "Keys: p pleasant · n neutral · u unpleasant · Enter next · b back · s skip · "
    "z pause/resume · h Help Now! · q stop"
)
#: Keys that log a sensation, by the value of its ``skills.sensations.Valence``.
_VALENCE_KEYS = {"p": "pleasant", "n": "neutral", "u": "unpleasant"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "practice",
        parents=[
            source_options(),
            person_options("whose session it is (a name or a pseudonymous code)"),
            publish_options(),
            library_options(),
        ],
        help="guided practice of a skill in the terminal, recorded",
        description="Practise a TRM skill (or a plan) with prompts in the terminal. " + KEYS_HELP,
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--skill", help="skill number or id (see `trm-bio skills`)")
    what.add_argument("--plan", help="a session plan id (see `trm-bio skills plans`)")
    p.add_argument("--clinician", action="store_true", help="offer the clinician-only skills")
    p.add_argument("--skills-dir", help="your own skills folder")
    p.set_defaults(func=run)


@contextlib.contextmanager
def _keys() -> Iterator[bool]:
    """Single-key input from a terminal (cbreak mode); yields False when not a terminal."""
    if not sys.stdin.isatty():
        yield False
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read_key(timeout_s: float) -> str | None:
    ready, _, _ = select.select([sys.stdin], [], [], timeout_s)
    if not ready:
        return None
    data = os.read(sys.stdin.fileno(), 1)
    if not data:
        return "q"  # end of input
    return data.decode(errors="ignore")


def _say(text: str) -> None:
    print(text, flush=True)


def _show_flow_events(events: list[Any]) -> None:
    for e in events:
        kind = e.kind
        if kind == "skill_started":
            _say(f"\n=== {e.detail} ===")
        elif kind == "step_started":
            _say("\n" + textwrap.fill(e.prompt, width=78))
        elif kind == "helpnow":
            _say("\n--- Help Now! ---  Pick what feels right (number), or Enter to go back.")
        elif kind == "helpnow_strategy":
            _say(textwrap.fill(e.prompt, width=78))
        elif kind == "paused":
            _say("(paused: z to go on)")
        elif kind == "resumed":
            _say("(going on)")
        elif kind in ("plan_finished",) or (kind == "skill_finished" and e.plan_id is None):
            _say("\nThat is the end of this practice. Thank you for taking this time.")
        elif kind == "stopped":
            _say("\nStopped. Whatever you noticed is welcome.")


def run(args: argparse.Namespace) -> int:
    from trm_bio.controller import SessionController, SessionOptions
    from trm_bio.core.events import EventKind
    from trm_bio.sources import resolve_start_ns

    with open_library(args) as library:
        try:
            controller = SessionController(
                library, clinician_mode=args.clinician, skills_dir=args.skills_dir
            )
        except ValueError as exc:  # a broken skill file: its message names file and field
            raise TrmBioError(str(exc)) from exc
        try:
            # Checked before a session exists: a skill that is not offered records nothing.
            from skills.flow import PracticeFlow

            if args.skill:
                PracticeFlow.for_skill(controller.skills, args.skill)
            else:
                PracticeFlow.for_plan(controller.plans, args.plan)
        except (LookupError, ValueError) as exc:
            raise not_offered(exc) from exc
        source, kind = source_from_args(args, None)
        apply_publish_options(controller, args)
        options = SessionOptions(
            person=args.person, source_kind=kind, start_ns=resolve_start_ns(source)
        )
        session = controller.start_live(source, options)
        session_id = controller.session_id
        _say(f"Session {session_id}. {KEYS_HELP}")
        try:
            events = (
                controller.start_skill(args.skill)
                if args.skill
                else controller.start_plan(args.plan)
            )
        except (LookupError, ValueError) as exc:
            controller.stop()
            raise not_offered(exc) from exc
        _show_flow_events(events)
        last_status = -math.inf
        try:
            with _keys():
                while True:
                    update = controller.poll()
                    flow = [e.details for e in update.events if e.kind is EventKind.FLOW]
                    _show_flow_events(flow)
                    for status in update.status:
                        if status.state is LinkState.FAILED:
                            _say(f"\n[failed] {status.message}")
                    state = controller.flow_state()
                    if state is None or state.done:
                        break
                    if controller.link_state is LinkState.FAILED:
                        break  # the strap gave up: its reason ends the practice
                    now = controller.now_s()
                    if now - last_status >= 15 and session.last is not None:
                        last_status = now
                        _say(_status_line(controller))
                    key = _read_key(0.1)
                    if key is None:
                        continue
                    if not _handle_key(controller, key, state):
                        break
        except KeyboardInterrupt:
            pass
        finally:
            ending = controller.flow_state()
            if ending is not None and not ending.done:
                _show_flow_events(controller.flow_action("stop"))
            controller.stop()  # a session without a heartbeat is deleted there, with a reason
        error = controller.error
        if error:
            raise TrmBioError(error)
        _say(f"Session {session_id} saved. See it with: trm-bio show {session_id}")
    return 0


def _status_line(controller: Any) -> str:
    last = controller.session.last
    hr = last.beat.metrics.get("HR_20s", math.nan)
    rmssd = last.beat.metrics.get("RMSSD", math.nan)
    zone = zone_words(last.regulation)
    hr_text = f"{hr:.0f} bpm" if math.isfinite(hr) else "–"
    rmssd_text = f"{rmssd:.0f} ms" if math.isfinite(rmssd) else "–"
    return f"    (heart {hr_text} · RMSSD {rmssd_text} · indicator: {zone})"


def _handle_key(controller: Any, key: str, state: Any) -> bool:
    """Act on one key; False to stop."""
    key = key.lower()
    if key == "q":
        _show_flow_events(controller.flow_action("stop"))
        return False
    if key in _VALENCE_KEYS:
        from skills.sensations import Valence

        event = controller.log_sensation(Valence(_VALENCE_KEYS[key]))
        _say(f"    noted: {event.payload['valence']} at {event.time_s:.0f} s")
        return True
    if state.in_help_now:
        if key.isdigit() and 1 <= int(key) <= min(9, len(state.strategies)):
            strategy = state.strategies[int(key) - 1]
            _show_flow_events(controller.flow_action("choose_strategy", strategy.id))
            return True
        if key in ("\n", "\r", " "):
            controller.flow_action("return_from_help_now")
            _say("(back to the practice)")
            _show_current(controller)
            return True
    actions = {"\n": "next", "\r": "next", " ": "next", "b": "previous", "s": "skip_step"}
    if key in actions:
        _show_flow_events(controller.flow_action(actions[key]))
    elif key == "z":
        _show_flow_events(controller.flow_action("resume" if state.paused else "pause"))
    elif key == "h":
        _show_flow_events(controller.help_now())
        for i, strategy in enumerate(controller.flow_state().strategies[:9], start=1):
            _say(f"  {i}. {strategy.name}")  # one key each: the first nine
    return True


def _show_current(controller: Any) -> None:
    state = controller.flow_state()
    if state is not None and state.prompt:
        _say("\n" + textwrap.fill(state.prompt, width=78))
