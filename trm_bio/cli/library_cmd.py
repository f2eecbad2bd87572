"""Session library commands: record, sessions, show, replay, import, export, delete."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devices.packet import LinkState
from trm_bio.cli.analyze import summary_table
from trm_bio.cli.options import (
    MAX_SPEED,
    apply_publish_options,
    library_options,
    output_options,
    person_options,
    positive_seconds,
    publish_options,
    refuse_old_spelling,
    source_from_args,
    source_options,
    speed,
)
from trm_bio.errors import DamagedSessionError, InputFileError, TrmBioError
from trm_bio.store.paths import library_path, refuse_symlink

if TYPE_CHECKING:  # the library loads numpy: only when a command runs (see cli/__init__.py)
    from trm_bio.core.events import Event
    from trm_bio.store.library import Library


def refuse_overwrite(path: Path, force: bool) -> None:
    """Exports hold health data: never replace an existing file unless told to, and never
    write through a symbolic link (dangling or not), even with ``--force``."""
    refuse_symlink(path)
    if path.exists() and not force:
        raise TrmBioError(f"{path} already exists; choose another name or add --force")


def refuse_the_library(path: Path, args: argparse.Namespace) -> None:
    """Never write an export or report over the library (or its -wal or -shm)."""
    from trm_bio.store.library import is_library_file

    if is_library_file(path, library_path(getattr(args, "library", None))):
        raise TrmBioError(f"{path} is the session library itself; choose another file name")


def open_library(args: argparse.Namespace, *, readonly: bool = False) -> Library:
    from trm_bio.store.library import Library

    return Library.open(getattr(args, "library", None), readonly=readonly, create=not readonly)


def register(subparsers: argparse._SubParsersAction) -> None:
    library = library_options()
    p = subparsers.add_parser(
        "record",
        parents=[
            source_options(several=True),
            person_options(
                "whose session it is (a name or a pseudonymous code); in a group session, "
                "once per participant in the order of the straps",
                several=True,
            ),
            publish_options(),
            library,
        ],
        help="record a session (or a group session) without the window",
        description="Record a session from a strap, the simulated strap or a Lab Streaming "
        "Layer stream into the library. A group session: --simulate --people N, or --device "
        "once per participant (with --person once each, in the same order); each participant "
        "gets their own session, linked as one group.",
    )
    p.add_argument("--duration", type=positive_seconds, metavar="S", help="stop after S seconds")
    p.add_argument("--notes", default="", help="notes kept with the session")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="print only the session id (a group: the group id, then each session id)",
    )
    p.set_defaults(func=_record)

    p = subparsers.add_parser(
        "sessions",
        parents=[person_options("only this person's sessions"), library],
        help="list the sessions in the library",
    )
    _format_option(p)
    p.add_argument(
        "--groups", action="store_true", help="list the group sessions, each with its sessions"
    )
    p.set_defaults(func=_sessions)

    p = subparsers.add_parser("show", parents=[library], help="print a session's summary")
    p.add_argument("session", type=int)
    _format_option(p)
    p.set_defaults(func=_show)

    p = subparsers.add_parser(
        "replay",
        parents=[publish_options(), library],
        help="print a session's beats and events as they replay",
    )
    p.add_argument("session", type=int, nargs="?")
    p.add_argument(
        "--group", type=int, metavar="G",
        help="replay every session of group G together (each line with its participant)",
    )
    pace = p.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=speed,
        default=1.0,
        metavar="X",
        help=f"the replay runs X times real time (default 1, at most {MAX_SPEED:g})",
    )
    pace.add_argument(
        "--at-once", action="store_true", help="print the whole session at once, without pacing"
    )
    p.set_defaults(func=_replay)

    p = subparsers.add_parser(
        "import",
        parents=[person_options("whose session it is (an RR file)"), library],
        help="import an RR file or a trm-bio JSON export as a session",
        description="Import an RR file (one interval per line, CSV with a header, Kubios RR "
        "text) or a session that `export --format json` wrote: a file that starts with { is "
        "read as such an export.",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--unit", choices=("auto", "ms", "s"), default="auto")
    p.add_argument("--notes", default="")
    refuse_old_spelling(
        p, "--json", "import recognises a trm-bio JSON export by itself: leave --json out"
    )
    p.set_defaults(func=_import)

    p = subparsers.add_parser(
        "export",
        parents=[
            output_options(
                "the file to write (default session-ID.csv, .txt, .edf or .json); with "
                "--group a folder, or a .zip (default group-G)"
            ),
            library,
        ],
        help="export a session, or every session of a group",
    )
    p.add_argument("session", type=int, nargs="?")
    p.add_argument(
        "--group", type=int, metavar="G",
        help="export every session of group G, with a group.json linking them",
    )
    p.add_argument("--format", choices=("csv", "kubios", "edf", "json"), required=True)
    p.set_defaults(func=_export)

    p = subparsers.add_parser("delete", parents=[library], help="delete a session (asks first)")
    p.add_argument("session", type=int)
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.set_defaults(func=_delete)


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="what to print (default table)"
    )
    # The short spelling scripts and the group issue use: the same as --format json.
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help="--format json"
    )


# -- record ---------------------------------------------------------------------------------
def zone_words(regulation: Any) -> str:
    """The zone indicator in plain words; "settling in" until the baseline is known."""
    if regulation is None or regulation.calibrating:
        return "settling in"
    label = regulation.zone.label
    return "no reading" if label == "unknown" else label


def format_beat(state: Any) -> str:
    b = state.beat
    m = b.metrics
    zone = zone_words(state.regulation)
    rmssd = m.get("RMSSD", math.nan)
    rmssd_text = f"{rmssd:5.1f}" if math.isfinite(rmssd) else "  –  "
    return (
        f"{b.time_s:8.1f} s  HR {b.hr_bpm:5.1f}  RR {b.rr_ms:6.1f} ms  "
        f"RMSSD {rmssd_text} ms  zone {zone}"
    )


def describe_event(event: Event) -> str:
    """One readable line for a logged event (prompts shortened: the skill file has them)."""
    from trm_bio.core.events import (
        ConnectionPayload,
        FlowPayload,
        SensationPayload,
        ZoneRatingPayload,
    )
    from trm_bio.report.text import display_name, place_name

    d = event.details
    if isinstance(d, FlowPayload):
        what = d.kind.replace("_", " ")
        short = (d.prompt[:60] + "…") if len(d.prompt) > 60 else d.prompt
        detail = display_name("helpnow", d.detail) if d.kind == "helpnow_strategy" else d.detail
        return (
            f"[practice] {what}"
            + (f": {detail}" if detail else "")
            + (f" — {short}" if short and what.startswith("step started") else "")
        )
    if isinstance(d, SensationPayload):
        parts = [d.valence, ", ".join(d.words)]
        if d.location:
            parts.append(f"in the {place_name(d.location)}")
        if d.intensity is not None:
            parts.append(f"strength {d.intensity}")
        return "[sensation] " + " · ".join(p for p in parts if p)
    if isinstance(d, ZoneRatingPayload):
        if d.moment:
            distress = "" if d.distress is None else f"distress {d.distress:g} of 10"
            own = " · ".join(p for p in (distress, d.zone) if p)
            return f"[own rating at the {d.moment}] {own}"
        return f"[own zone rating] {d.zone}"
    if isinstance(d, ConnectionPayload):
        return f"[link] {d.state.value}: {d.message}".rstrip(": ")
    text = event.payload.get("text")
    return f"[{event.kind}] {text}" if text else f"[{event.kind}] {json.dumps(event.payload)}"


@contextlib.contextmanager
def stop_requests() -> Iterator[Callable[[], bool]]:
    """While the block runs, SIGTERM asks it to stop (the callable yielded turns True) and
    Ctrl-C ends it quietly: what was recorded is kept either way."""
    stopping = False

    def ask_stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, ask_stop)
    try:
        yield lambda: stopping
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_session(controller: Any, duration_s: float | None, on_update: Any) -> None:
    """Drive a controller's session until the source ends, ``duration_s`` or Ctrl-C/SIGTERM."""
    with stop_requests() as stopping:
        source = controller.source
        while not stopping():
            # Wake when items arrive (or a quarter second passes: the practice timer ticks).
            source.wait(0.25)
            update = controller.poll()
            on_update(update)
            if duration_s is not None and controller.session.now_s >= duration_s:
                break
            if controller.link_state is LinkState.FAILED:
                break
            if not getattr(source, "running", True) and not source.pending:
                on_update(controller.poll())  # the source ended: take what it left
                break


def _record(args: argparse.Namespace) -> int:
    from trm_bio.cli.group_cmd import UsageError, is_group_record, record_group
    from trm_bio.controller import SessionController, SessionOptions
    from trm_bio.sources import resolve_start_ns

    try:
        if is_group_record(args):
            with open_library(args) as library:
                return record_group(args, library)
        if len(args.person or ()) > 1:
            raise UsageError(
                f"one strap but {len(args.person)} names: give --person once, or one "
                "--device per participant"
            )
    except UsageError as exc:
        print(f"trm-bio: {exc}", file=sys.stderr)
        return 2
    args.person = args.person[0] if args.person else None
    with open_library(args) as library:
        controller = SessionController(library)
        source, kind = source_from_args(args, args.duration)
        apply_publish_options(controller, args)
        options = SessionOptions(
            person=args.person,
            notes=args.notes,
            source_kind=kind,
            start_ns=resolve_start_ns(source),
        )
        # Nothing is shown with --quiet: record now, analyse in one pass at the end.
        session = controller.start_live(source, options, analyse_live=not args.quiet)
        session_id = controller.session_id
        duration_s = args.duration
        if duration_s is not None and options.start_ns is not None:
            # Sharing a publisher's clock: count the duration from now, not from its start.
            duration_s += max(0.0, session.time_at(controller.clock_ns()))
        if not args.quiet:
            print(f"Recording session {session_id} (Ctrl-C to stop)…", flush=True)

        def show(update: Any) -> None:
            if args.quiet:
                return
            for state in update.beats:
                print(format_beat(state), flush=True)
            for status in update.status:
                print(f"  [{status.state.value}] {status.message}", flush=True)

        try:
            run_session(controller, duration_s, show)
        finally:
            controller.stop()  # a session without a heartbeat is deleted there, with a reason
        error = controller.error
        if error:
            raise TrmBioError(error)
        print(session_id if args.quiet else f"Session {session_id} saved.")
    return 0


# -- sessions / show ----------------------------------------------------------------------------
NO_SESSIONS = "The library holds no sessions yet."


def _sessions(args: argparse.Namespace) -> int:
    from trm_bio.cli.group_cmd import group_fields, list_groups

    # Opened writable so that a recording a crash left open is found and marked interrupted.
    with open_library(args) as library:
        if args.groups:
            return list_groups(args, library)
        groups = group_fields(library)
        person_id = None
        if args.person:
            person = library.find_person(args.person)
            if person is None:
                raise TrmBioError(f"no person called {args.person!r} in the library")
            person_id = person.id
        sessions, damaged = library.sessions_and_damaged(person_id)
        streams = {s.id: library.pmd_streams(s.id) for s in sessions}
    for exc in damaged:  # the others are listed all the same
        print(f"trm-bio: {exc}; skipped", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(
            [{**_session_dict(s, streams[s.id]), "group": groups.get(s.id)} for s in sessions],
            indent=2,
        ))
        return 0
    if not sessions:
        print("The library holds no other sessions." if damaged else NO_SESSIONS)
        return 0
    # The column of raw signals only when a session has any: most lists stay as they were.
    signals = {s.id: strap_streams_text(streams[s.id]) for s in sessions}
    width = max(len(text) for text in signals.values())
    extra = f"{'SIGNALS':<{width}} " if width else ""
    # A group column only when a session is in a group: "G3/2" is group 3, participant 2.
    marks = {
        s.id: f"G{groups[s.id]['id']}/{groups[s.id]['seat']}" if s.id in groups else ""
        for s in sessions
    }
    group_width = max(len(mark) for mark in marks.values())
    if group_width:
        group_width = max(group_width, len("GROUP"))
        extra += f"{'GROUP':<{group_width}} "
    print(f"{'ID':>4}  {'STARTED (UTC)':<25} {'MIN':>6}  {'STATUS':<11} {'SOURCE':<10} "
          f"{extra}PERSON")
    for s in sessions:
        minutes = f"{s.duration_s / 60:6.1f}" if s.duration_s is not None else "     –"
        extra = f"{signals[s.id]:<{width}} " if width else ""
        if group_width:
            extra += f"{marks[s.id]:<{group_width}} "
        print(
            f"{s.id:>4}  {s.started_utc:<25} {minutes}  {s.status:<11} {s.source_kind:<10} "
            f"{extra}{s.person_name or ''}"
        )
    return 0


def signal_seconds(streams: dict[int, Any]) -> dict[str, float]:
    """Seconds of each raw signal a session holds, e.g. ``{"ecg_s": 600.0, "acc_s": 600.0}``
    (from :meth:`Library.pmd_streams`; streams without a readable sample left out)."""
    from devices.pmd import PmdStream

    return {
        f"{PmdStream(stream).name.lower()}_s": span.seconds
        for stream, span in sorted(streams.items())
        if span.samples and stream in PmdStream._value2member_map_
    }


def strap_streams_text(streams: dict[int, Any]) -> str:
    """The raw signals a session holds, in words: ``"ECG 10.0 min, ACC 10.0 min"``."""
    return ", ".join(
        f"{name.removesuffix('_s').upper()} {seconds / 60:.1f} min"
        for name, seconds in signal_seconds(streams).items()
    )


def _session_dict(s: Any, streams: dict[int, Any] | None = None) -> dict[str, Any]:
    return {
        "id": s.id,
        "person": s.person_name,
        "started_utc": s.started_utc,
        "ended_utc": s.ended_utc,
        "duration_s": s.duration_s,
        "status": s.status,
        "source_kind": s.source_kind,
        "source_id": s.source_id,
        "device": s.device_name,
        "notes": s.notes,
        "tags": list(s.tags),
        "packets": s.packet_count,
        "events": s.event_count,
        **signal_seconds(streams or {}),
    }


def _show(args: argparse.Namespace) -> int:
    from trm_bio.cli.group_cmd import group_fields
    from trm_bio.history import analyse_session
    from trm_bio.zone_display import shares_words

    with open_library(args) as library:
        result = analyse_session(library, _session(library, args.session).id)
        streams = library.pmd_streams(result.info.id)
        fields = group_fields(library)
        group = fields.get(result.info.id)
        # Of how many: the seats a participant without a session leaves count too.
        size = max((g["seat"] for g in fields.values() if g["id"] == group["id"]),
                   default=0) if group else 0
    signals = strap_streams_text(streams)
    document = result.as_dict()
    if signals:
        document["signals"] = signal_seconds(streams)
    if group is not None:  # only then: alone, the document is the report's own summary
        document["group"] = group
    if args.format == "json":
        print(json.dumps(document, indent=2))
        return 0
    info = result.info
    who = f" — {info.person_name}" if info.person_name else ""
    minutes = f"{info.duration_s / 60:.1f} min" if info.duration_s is not None else "open"
    title = (
        f"Session {info.id}{who}: {info.started_utc}, {minutes}, {info.source_kind}, {info.status}"
    )
    if signals:
        title += f"; {signals}"
    if group is not None:
        name = f" ({group['name']})" if group["name"] else ""
        title += (
            f"\n  Part of group session {group['id']}{name}: participant {group['seat']} of "
            f"{size} (`trm-bio replay --group {group['id']}` replays them together)"
        )
    print(summary_table(document, title))
    zones = document["zones"]
    if any(v is not None for v in zones.values()):
        print(
            "\n  Time in zones (indicator, not a diagnosis): "
            + shares_words(document.get("zone_seconds") or {})
        )
    items = result.effects.items
    if items:
        from trm_bio.report.text import display_name

        print("\n  What came before a move toward the resilient band (most first):")
        for item in items[:10]:
            d = item.to_dict()
            change = d["mean_d_hr_bpm"]
            change_text = f"HR {change:+.1f} bpm" if change is not None else "not measurable"
            print(
                f"    {d['kind']:<10} {display_name(d['kind'], d['label'])[:36]:<36} toward in "
                f"{d['n_toward']} of "
                f"{d['n_measured']} measured, {change_text}"
            )
    return 0


def _session(library: Library, session_id: int) -> Any:
    try:
        return library.get_session(session_id)
    except TrmBioError:
        raise
    except Exception as exc:
        raise TrmBioError(f"there is no session {session_id} in the library") from exc


# -- replay -----------------------------------------------------------------------------------
def _one_or_group(args: argparse.Namespace) -> None:
    """A session id or ``--group G``: exactly one of them."""
    if (args.session is None) == (args.group is None):
        raise TrmBioError("give a session id or --group G (one of them)")


def _replay(args: argparse.Namespace) -> int:
    from trm_bio.controller import SessionController

    _one_or_group(args)
    if args.group is not None:
        from trm_bio.cli.group_cmd import replay_group

        if args.lsl is not None:
            raise TrmBioError("--lsl publishes one session; replay a group without it")
        with open_library(args, readonly=True) as library:
            return replay_group(args, library)
    with open_library(args, readonly=True) as library:
        controller = SessionController(library)
        _session(library, args.session)
        apply_publish_options(controller, args)
        controller.open_replay(args.session, math.inf if args.at_once else args.speed)
        replay = controller.replay
        assert replay is not None  # opened just above

        def show(update: Any) -> None:
            for state in update.beats:
                print(format_beat(state), flush=True)
            for event in update.events:
                print(
                    f"{event.time_s:8.1f} s  {describe_event(event)}",
                    flush=True,
                )

        try:
            while True:
                replay.wait(0.25)
                show(controller.poll())
                if replay.finished and not replay.pending:
                    show(controller.poll())
                    break
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
    return 0


# -- import / export / delete ---------------------------------------------------------------
def _import(args: argparse.Namespace) -> int:
    # The file is read before the library is opened: were it the library itself, closing a
    # descriptor of it would drop the SQLite locks this process holds on it.
    from trm_bio.store.json_format import import_json
    from trm_bio.store.library import SessionRecord
    from trm_bio.store.rr_files import RRRecording, read_rr_file

    read: SessionRecord | RRRecording
    if _looks_like_session_json(args.file):
        read = import_json(args.file)
    else:
        read = read_rr_file(args.file, unit=args.unit)
    with open_library(args) as library:
        if isinstance(read, SessionRecord):
            session_id = library.add_session_record(read)
        else:
            from trm_bio.store.imports import import_rr_recording

            session_id = import_rr_recording(library, read, args.person, notes=args.notes)
        from trm_bio.history import analyse_session

        try:
            analyse_session(library, session_id)  # cache its analysis and baseline
        except TrmBioError as exc:
            library.delete_session(session_id)  # nothing is kept that cannot be read
            raise InputFileError(f"{args.file.name} was not imported: {exc}") from exc
    print(f"Imported {args.file.name} as session {session_id}.")
    return 0


def _looks_like_session_json(path: Path) -> bool:
    """A JSON document, so meant as a trm-bio session export (what ``export --format json``
    writes): no RR file starts with ``{``, and the JSON reader says in one sentence what
    else such a file is."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return False  # the RR reader says what is wrong with the file
    return head.lstrip().startswith(b"{")


def _export(args: argparse.Namespace) -> int:
    from trm_bio.exporting import EXPORT_SUFFIXES, export_session

    _one_or_group(args)
    if args.group is not None:
        from trm_bio.cli.group_cmd import export_group

        if args.output is not None:
            refuse_the_library(args.output, args)
        with open_library(args) as library:
            return export_group(args, library)
    out = args.output or Path(f"session-{args.session}{EXPORT_SUFFIXES[args.format]}")
    refuse_the_library(out, args)
    refuse_overwrite(out, args.force)
    with open_library(args) as library:
        info = _session(library, args.session)
        written = export_session(library, info.id, args.format, out)
    for path in written:
        print(f"Wrote {path}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        try:
            info = _session(library, args.session)
            what = f"session {info.id} ({info.started_utc}, {info.person_name or 'no person'})"
        except DamagedSessionError:  # deleting is what a damaged session may need most
            what = f"the damaged session {args.session}"
        if not args.yes:
            if not sys.stdin.isatty():
                raise TrmBioError(
                    "deleting needs a confirmation: run it in a terminal or add --yes"
                )
            answer = input(
                f"Delete {what} and everything recorded in it? Type yes to confirm: "
            )
            if answer.strip().lower() != "yes":
                print("Nothing was deleted.")
                return 1
        library.delete_session(args.session)
    print(f"Session {args.session} deleted.")
    return 0
