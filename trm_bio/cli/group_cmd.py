"""Group sessions on the command line: ``record --people N`` or several ``--device``,
``sessions --groups``, ``replay --group``, ``export --group`` and ``report --group``.

The commands themselves are registered by :mod:`trm_bio.cli.library_cmd` and
:mod:`trm_bio.cli.report_cmd`; what a group needs beyond one session is here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devices.packet import LinkState
from trm_bio.errors import TrmBioError

if TYPE_CHECKING:
    from trm_bio.group import GroupController, Participant
    from trm_bio.store.library import Library


class UsageError(TrmBioError):
    """A command line that cannot mean anything (exit status 2, one sentence)."""


def is_group_record(args: argparse.Namespace) -> bool:
    """Whether ``record`` was asked for a group session (``--people`` or several straps)."""
    return args.people is not None or len(args.device or ()) > 1


def participants(args: argparse.Namespace, count: int) -> list[Participant]:
    """One participant per strap, named by ``--person`` in the same order (default
    "Participant 1".. ); a different number of names is refused in one sentence."""
    from trm_bio.group import participants_from_labels

    names = list(args.person or [])
    if names and len(names) != count:
        raise UsageError(
            f"give --person once per participant, in the order of the straps: {count} "
            f"participant{'s' if count != 1 else ''} but {len(names)} name"
            f"{'s' if len(names) != 1 else ''}"
        )
    return participants_from_labels(names or [""] * count)


def _check_record(args: argparse.Namespace) -> None:
    if args.people is not None and not args.simulate:
        raise UsageError("--people N is for --simulate; give one --device per participant")
    if args.lsl_source:
        raise UsageError("a group session is recorded from straps or --simulate, not LSL")
    if args.lsl is not None:
        raise UsageError("--lsl publishes one session; record a group session without it")
    if args.resonance_rate is not None:
        raise UsageError("--resonance-rate is for one simulated person, not a group")


def _ended(source: Any) -> bool:
    return source is None or (not getattr(source, "running", True) and not source.pending)


def run_group(group: GroupController, duration_s: float | None, on_updates: Any) -> None:
    """Drive a group session until every source ends, ``duration_s`` (s) or Ctrl-C/SIGTERM
    (the ``record`` command's own stop handling)."""
    from trm_bio.cli.library_cmd import stop_requests

    with stop_requests() as stopping:
        while not stopping():
            first = group.members[0].source
            if first is not None:
                first.wait(0.25)
            on_updates(group.poll())
            sessions = [m.session for m in group.members if m.session is not None]
            times = [s.now_s for s in sessions]
            # Everyone has reached the duration; a participant whose strap went silent
            # holds the others at most a few seconds past it.
            if duration_s is not None and (
                min(times) >= duration_s or max(times) >= duration_s + 5.0
            ):
                break
            if all(m.link_state is LinkState.FAILED for m in group.members):
                break
            if all(_ended(m.source) for m in group.members):
                on_updates(group.poll())  # every source ended: take what they left
                break


def record_group(args: argparse.Namespace, library: Library) -> int:
    """``record`` of a group session: one session per participant, linked as one group."""
    from trm_bio.cli.library_cmd import format_beat
    from trm_bio.group import GroupController, default_group_name
    from trm_bio.sources import open_group_sources

    _check_record(args)
    if args.simulate:
        count = args.people if args.people is not None else 1
        people = participants(args, count)
        sources, on_stop = open_group_sources(
            "simulated", people=count, scenario=args.scenario, seed=args.seed,
            speed=args.speed, duration_s=args.duration, h10=args.h10,
        )
        kind = "simulated"
    else:
        people = participants(args, len(args.device))
        sources, on_stop = open_group_sources("ble", args.device)
        kind = "ble"
    group = GroupController(library)
    # Headless: record and time the beats now, analyse each session once at the end.
    group_id = group.start_live(
        sources, people, name=default_group_name(), notes=args.notes, source_kind=kind,
        analyse_live=False, on_stop=on_stop,
    )
    ids = [m.session_id for m in group.members]
    if not args.quiet:
        print(f"Recording group {group_id} (Ctrl-C to stop):", flush=True)
        for person, session_id in zip(people, ids, strict=True):
            print(f"  session {session_id}: {person.label}", flush=True)

    shown_s = [-math.inf] * len(people)

    def show(updates: list[Any]) -> None:
        if args.quiet:
            return
        for seat, (person, update) in enumerate(zip(people, updates, strict=False)):
            for state in update.beats:
                print(f"[{person.label}] {format_beat(state)}", flush=True)
            for status in update.status:
                print(f"[{person.label}] [{status.state.value}] {status.message}", flush=True)
            session = group.members[seat].session if seat < len(group.members) else None
            # Headless, beats are not analysed one by one: say every 10 s that they arrive.
            if session is not None and session.beats_seen and session.now_s >= shown_s[seat] + 10:
                shown_s[seat] = session.now_s
                print(f"[{person.label}] {session.now_s:8.1f} s  {session.beats_seen} beats",
                      flush=True)

    try:
        run_group(group, args.duration, show)
    finally:
        kept = group.stop()  # every participant's session ends; a beatless one is dropped
    if not kept:  # one line: each participant's reason
        raise TrmBioError(group.error or "no participant's session was kept")
    if group.error:  # those kept are saved all the same
        print(f"trm-bio: {group.error}", file=sys.stderr)
    if args.quiet:
        print(group_id)
        for session_id in kept:
            print(session_id)
    else:
        saved = ", ".join(
            f"session {sid} ({p.label})" for p, sid in zip(people, ids, strict=True)
            if sid in kept
        )
        print(f"Group {group_id} saved: {saved}.")
    return 0


# -- listing -----------------------------------------------------------------------------
def seat_number(info: Any, index: int) -> int:
    """The number a participant is shown by: their stored seat + 1, as the exports and
    reports number them (a participant whose strap sent no beat keeps no session, so the
    stored seats can be 1 and 3); ``index`` (0-based, in seat order) for a session stored
    without a seat."""
    seat = info.group_seat if info.group_seat is not None else index
    return int(seat) + 1


def group_fields(library: Library) -> dict[int, dict[str, Any]]:
    """Each grouped session's group, by session id: ``{"id", "name", "seat"}`` (seat 1-based,
    :func:`seat_number`)."""
    groups = {group.id: group for group in library.list_groups()}
    out = {}
    for info in library.sessions_and_damaged(None)[0]:  # the damaged: said by the caller
        group = groups.get(info.group_id) if info.group_id is not None else None
        if group is None or info.id not in group.session_ids:
            continue
        seat = seat_number(info, group.session_ids.index(info.id))
        out[info.id] = {"id": group.id, "name": group.name, "seat": seat}
    return out


def list_groups(args: argparse.Namespace, library: Library) -> int:
    """``sessions --groups``: every group session with its participants' sessions."""
    groups = library.list_groups()
    if args.format == "json":
        document = []
        for group in groups:
            sessions = library.group_sessions(group.id)
            document.append({
                "id": group.id, "name": group.name, "started_utc": group.started_utc,
                "notes": group.notes,
                "sessions": [
                    {"seat": seat_number(s, group.session_ids.index(s.id)), "session": s.id,
                     "person": s.person_name}
                    for s in sessions
                ],
            })
        print(json.dumps(document, indent=2))
        return 0
    if not groups:
        print("The library holds no group sessions yet.")
        return 0
    print(f"{'GROUP':>5}  {'STARTED (UTC)':<25} {'PEOPLE':>6}  SESSIONS  NAME")
    for group in groups:
        ids = " ".join(str(s) for s in group.session_ids) or "–"
        print(f"{group.id:>5}  {group.started_utc:<25} {len(group.session_ids):>6}  "
              f"{ids:<9} {group.name}")
    return 0


def _group(library: Library, group_id: int) -> Any:
    group = library.get_group(group_id)  # one sentence when there is none
    if not group.session_ids:
        raise TrmBioError(f"group {group_id} holds no session")
    return group


# -- replay ------------------------------------------------------------------------------
def replay_group(args: argparse.Namespace, library: Library) -> int:
    """``replay --group G``: every participant's session together, each line with their
    label, in time order."""
    from trm_bio.cli.library_cmd import describe_event, format_beat, stop_requests
    from trm_bio.group import GroupController

    _group(library, args.group)
    group = GroupController(library)
    at_once = args.at_once
    group.open_replay(args.group, math.inf if at_once else args.speed)
    labels = [p.label for p in group.participants]
    held: list[tuple[float, int, str]] = []

    def show(updates: list[Any]) -> None:
        lines = []
        for seat, update in enumerate(updates):
            for state in update.beats:
                lines.append((state.beat.time_s, seat, format_beat(state)))
            for event in update.events:
                lines.append((event.time_s, seat, f"{event.time_s:8.1f} s  "
                                                  f"{describe_event(event)}"))
        if at_once:  # everything first, then one merged order
            held.extend(lines)
            return
        for _, seat, text in sorted(lines, key=lambda line: (line[0], line[1])):
            print(f"[{labels[seat]}] {text}", flush=True)

    try:
        with stop_requests() as stopping:
            while not stopping():
                replay = group.members[0].replay
                if replay is not None:
                    replay.wait(0.25)
                show(group.poll())
                status = group.replay_status()
                if status is None or (status.finished and not any(
                    m.replay is not None and m.replay.pending for m in group.members
                )):
                    show(group.poll())
                    break
    finally:
        group.stop()
    for _, seat, text in sorted(held, key=lambda line: (line[0], line[1])):
        print(f"[{labels[seat]}] {text}")
    return 0


# -- export ------------------------------------------------------------------------------
def export_group(args: argparse.Namespace, library: Library) -> int:
    """``export --group G``: every session of the group, in one folder or one zip."""
    from trm_bio.exporting import export_group as write_group

    _group(library, args.group)
    out = args.output or Path(f"group-{args.group}")
    for path in write_group(library, args.group, args.format, out, force=args.force):
        print(f"Wrote {path}")
    return 0


# -- report ------------------------------------------------------------------------------
def report_group(args: argparse.Namespace, library: Library) -> int:
    """``report --group G``: the group report (naming nobody) and, with
    ``--per-participant DIR``, each participant's own report into DIR."""
    from trm_bio.cli.library_cmd import refuse_overwrite, refuse_the_library
    from trm_bio.report import report_format, save_group_report
    from trm_bio.report.group import (
        group_summary,
        participant_report_paths,
        save_participant_reports,
    )

    out = args.output or Path(f"group-{args.group}-report.{args.format or 'html'}")
    refuse_the_library(out, args)
    refuse_overwrite(out, args.force)
    summary = group_summary(library, args.group)
    fmt = report_format(out, args.format)
    written = [save_group_report(summary, out, fmt, seats=args.seats)]
    if args.per_participant is not None:
        folder = args.per_participant
        if folder.exists() and not folder.is_dir():
            raise TrmBioError(f"{folder} is a file; --per-participant takes a folder")
        for _, target in participant_report_paths(library, args.group, folder, fmt):
            refuse_the_library(target, args)
            refuse_overwrite(target, args.force)
        written += save_participant_reports(library, args.group, folder, fmt)
    for path in written:
        print(f"Wrote {path}")
    return 0
