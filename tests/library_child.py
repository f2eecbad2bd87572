"""A recording process for the library-integrity tests, driven line by line over its pipes.

``python -m tests.library_child LIBRARY SCENARIO [REPORT_FOLDER]`` records into LIBRARY the way
the app does, and says on stdout what is committed, so that the test can kill it with SIGKILL
at a known moment and check that nothing committed is gone:

- ``report``: records and ends a first session, then opens the library a second time in this
  process to save that session's report (as "Save report…" may), and prints ``ready``. On
  ``go`` from stdin it records and ends a second session, printing ``committed ID N`` after
  each commit and ``finished ID N`` at the end, then waits for the kill.
- ``during``: starts recording, opens (and closes) the library a second time mid-recording,
  prints ``ready``, and on ``go`` goes on recording, printing ``committed ID N`` after each
  commit; it never ends the session.
- ``frames``: starts recording a Polar strap's PMD frames through the session pipeline,
  prints ``ready``, and on ``go`` takes frame after frame (:func:`frame_item`, four a
  second of host time), printing ``sent N`` after the N-th; it never ends the session.
- ``commands``: holds the library open and runs each further argument as a ``trm-bio``
  command line in this process, printing ``done RC`` after each.

Every Python-level ``open`` of the library file, its ``-wal`` or its ``-shm`` is reported on
stderr as ``PYTHON-OPEN path`` (an audit hook): closing such a descriptor would drop the
SQLite locks this process holds on the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

SECOND_NS = 1_000_000_000
PACKETS_PER_COMMIT = 5


def _watch_opens(library: Path) -> None:
    watched = {str(library), f"{library}-wal", f"{library}-shm"}
    watched |= {str(Path(p).resolve()) for p in watched}

    def hook(event: str, args: tuple) -> None:
        if event == "open" and args and isinstance(args[0], str | bytes):
            path = args[0].decode() if isinstance(args[0], bytes) else args[0]
            if path in watched:
                sys.stderr.write(f"PYTHON-OPEN {path}\n")
                sys.stderr.flush()

    sys.addaudithook(hook)


def _packet(i: int):
    from devices.hrm import encode_hrm
    from devices.packet import Packet, SensorContact

    raw = (800 + i % 50, 790 + i % 30)
    return Packet(
        host_ns=5_000 * SECOND_NS + i * SECOND_NS,
        source_id="AA:BB:CC:DD:EE:FF",
        payload=encode_hrm(70 + i % 20, raw, contact=SensorContact.CONTACT),
        heart_rate_bpm=70 + i % 20,
        rr_ms=tuple(r * 1000 / 1024 for r in raw),
    )


def frame_item(i: int):
    """The i-th PMD frame of the ``frames`` scenario: an ECG frame, a quarter second apart."""
    import numpy as np

    from devices.pmd import PmdFrame, PmdStream, encode_frame

    samples = (np.arange(73) * 37 + i * 11) % 4001 - 2000
    strap_ns = 10**17 + i * 561_538_462
    payload = encode_frame(PmdStream.ECG, strap_ns, samples)
    return PmdFrame(5_000 * SECOND_NS + i * SECOND_NS // 4, "AA:BB:CC:DD:EE:FF", payload)


def _say(line: str) -> None:
    print(line, flush=True)


def _record_commits(recorder, start: int, commits: int) -> int:
    """Add packets and commit ``commits`` times, saying each commit; returns the next index."""
    i = start
    for _ in range(commits):
        for _ in range(PACKETS_PER_COMMIT):
            recorder.add_packet(_packet(i))
            i += 1
        recorder.flush()
        _say(f"committed {recorder.session_id} {recorder.packets_written}")
    return i


def main(argv: list[str]) -> int:
    library_file, scenario = Path(argv[0]), argv[1]
    _watch_opens(library_file)
    from trm_bio.history import analyse_session
    from trm_bio.report import save_session_report
    from trm_bio.store.library import Library
    from trm_bio.store.recorder import Recorder

    library = Library.open(library_file)
    if scenario == "report":
        first = library.create_session(None, "simulated", "sim:1", start_ns=5_000 * SECOND_NS)
        recorder = Recorder(library, first)
        _record_commits(recorder, 0, 60 // PACKETS_PER_COMMIT)
        recorder.finish()
        second_open = Library.open(library_file)  # the report's own opening
        analysis = analyse_session(second_open, first)
        save_session_report(analysis, Path(argv[2]) / "report.html")
        second_open.close()
        _say("ready")
        if sys.stdin.readline().strip() != "go":
            return 1
        second = library.create_session(None, "simulated", "sim:2", start_ns=5_000 * SECOND_NS)
        recorder = Recorder(library, second)
        _record_commits(recorder, 0, 12)
        recorder.finish()
        _say(f"finished {second} {recorder.packets_written}")
    elif scenario == "during":
        session = library.create_session(None, "simulated", "sim:1", start_ns=5_000 * SECOND_NS)
        recorder = Recorder(library, session)
        i = _record_commits(recorder, 0, 3)
        Library.open(library_file).close()
        _say("ready")
        if sys.stdin.readline().strip() != "go":
            return 1
        _record_commits(recorder, i, 12)
    elif scenario == "frames":
        from trm_bio.session import Session

        session_id = library.create_session(None, "ble", "AA", start_ns=5_000 * SECOND_NS)
        session = Session(5_000 * SECOND_NS, recorder=Recorder(library, session_id))
        _say("ready")
        if sys.stdin.readline().strip() != "go":
            return 1
        for i in range(1_000_000):
            frame = frame_item(i)
            session.process([frame])
            session.tick(frame.host_ns)
            _say(f"sent {i + 1}")
    elif scenario == "commands":
        import shlex

        from trm_bio.cli import main as trm_bio

        for command in argv[2:]:
            _say(f"done {trm_bio([*shlex.split(command), '--library', str(library_file)])}")
        library.close()
        return 0
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    sys.stdin.readline()  # wait for the kill
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
