"""Every command that reads the library, run in this process on a real library file.

Used by the import fuzz test and the damaged-rows test: after an import, or after a row was
damaged on disk, each read command must either work or say what is wrong in one sentence.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from devices.hrm import encode_hrm
from devices.packet import Packet, SensorContact
from tests.cli_run import Outcome, run
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder

PERSON = "client 7"
START_NS = 10**12


def assert_clear(outcome: Outcome) -> None:
    """Success, or one sentence on stderr and a non-zero status (never a traceback)."""
    assert "Traceback" not in outcome.err, outcome
    if outcome.code != 0:
        lines = outcome.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("trm-bio: "), outcome


def read_commands(library: Path, session: int, out_dir: Path) -> list[tuple[str, ...]]:
    """Every command that reads a session or the library, with its output in ``out_dir``."""
    lib = ("--library", str(library))
    s = str(session)
    commands: list[tuple[str, ...]] = [
        ("sessions", *lib),
        ("sessions", "--format", "json", *lib),
        ("show", s, *lib),
        ("show", s, "--format", "json", *lib),
        ("replay", s, "--at-once", *lib),
        ("report", s, "-o", str(out_dir / f"r{s}.html"), "--force", *lib),
        ("trends", PERSON, *lib),
        ("trends", PERSON, "--format", "json", *lib),
    ]
    for fmt, suffix in (("csv", "csv"), ("kubios", "txt"), ("edf", "edf"), ("json", "json")):
        out = str(out_dir / f"e{s}.{suffix}")
        commands.append(("export", s, "--format", fmt, "-o", out, "--force", *lib))
    return commands


def run_every_read_command(library: Path, session: int, out_dir: Path) -> list[Outcome]:
    """Run each read command on ``session``; each must work or fail with one sentence."""
    outcomes = []
    for argv in read_commands(library, session, out_dir):
        outcome = run(*argv)
        assert_clear(outcome)
        outcomes.append(outcome)
    return outcomes


def record_session(library: Library, seconds: int = 240, seed: int = 1) -> int:
    """A strap session of ``seconds`` with the events the app logs, as the recorder stores it."""
    rng = np.random.default_rng(seed)
    person = library.ensure_person(PERSON)
    session = library.create_session(person, "ble", "AA:BB", "Polar H10", START_NS,
                                     notes="intake", tags=("a",), settings={"window_s": 60.0})
    events = {
        10: ("flow", {"kind": "skill_started", "skill_number": 1, "skill_id": "tracking",
                      "detail": "Tracking", "prompt": "", "step_index": None}),
        30: ("sensation", {"kind": "sensation", "valence": "pleasant", "words": ["warm"],
                           "location": "chest", "intensity": 3, "note": "soft"}),
        60: ("connection", {"state": "disconnected", "message": "link lost", "source": "AA:BB"}),
        62: ("connection", {"state": "streaming", "message": "", "source": "AA:BB"}),
        90: ("zone_rating", {"kind": "zone_rating", "zone": "resilient", "note": ""}),
        120: ("resource", {"text": "the lake"}),
    }
    with Recorder(library, session) as recorder:
        for second in range(seconds):
            rr = (850 + 60 * np.sin(second / 4) + rng.normal(0, 20, 1)).clip(500, 1200)
            raw = [int(x * 1.024) for x in rr]
            payload = encode_hrm(70, raw, contact=SensorContact.CONTACT)
            host_ns = START_NS + second * 1_000_000_000
            recorder.add_packet(Packet(host_ns, "AA:BB", payload, 70))
            if second in events:
                kind, data = events[second]
                recorder.add_event(float(second), kind, data, host_ns)
    return session


def poke(library: Path, sql: str, params: tuple = ()) -> None:
    """Change a row of a closed library directly, as damage on disk (or a hand edit) would."""
    db = sqlite3.connect(library)
    try:
        with db:
            changed = db.execute(sql, params).rowcount
        assert changed != 0, sql
    finally:
        db.close()
