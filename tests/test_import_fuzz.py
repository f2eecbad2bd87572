"""Crafted import files: each is refused with one sentence naming the field, leaving the
library as it was, or imported whole; then every read command still works on the library.

Each case the reliability test found is here by name; hypothesis then puts random JSON
values into every field of a real session export and random numbers into an RR file.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.hrm import encode_hrm
from devices.packet import LinkState
from devices.pmd import PmdStream, encode_frame
from tests.library_commands import assert_clear, record_session, run, run_every_read_command
from trm_bio.store.json_format import record_from_json, record_to_json
from trm_bio.store.library import Library
from trm_bio.store.schema import MAX_SESSION_S, RR_LIMITS_MS


@functools.cache
def _exported() -> str:
    with tempfile.TemporaryDirectory() as folder, Library.open(Path(folder) / "a.sqlite3") as lib:
        return json.dumps(record_to_json(lib.session_record(record_session(lib))))


def exported() -> dict[str, Any]:
    """A recorded session's JSON export (a fresh copy): what the crafted files start from."""
    return json.loads(_exported())


def library_with_a_session(folder: Path) -> tuple[Path, int]:
    path = folder / "library.sqlite3"
    with Library.open(path) as lib:
        session = lib.add_session_record(record_from_json(exported()))
    return path, session


def counts(library: Path) -> tuple[int, ...]:
    # A plain read through SQLite (the library is closed): what every table holds.
    db = sqlite3.connect(f"{library.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return tuple(
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("people", "sessions", "packets", "events", "imported_rr")
        )
    finally:
        db.close()


def import_and_read(
    folder: Path, document_text: str, suffix: str = ".json", *, all_after: bool = True
) -> Any:
    """Import a crafted file into a library holding one good session, then run every read
    command on the sessions there (after a refusal: on the good one unless ``all_after`` is
    False; the library is then shown unchanged)."""
    library, good = library_with_a_session(folder)
    before = counts(library)
    crafted = folder / f"crafted{suffix}"
    crafted.write_text(document_text, encoding="utf-8", errors="surrogatepass")
    outcome = run("import", str(crafted), "--library", str(library), "--person", "client 7")
    assert_clear(outcome)
    if outcome.code != 0:
        assert counts(library) == before, "a refused import left something behind"
        sessions = [good]
        if all_after:
            run_every_read_command(library, good, folder)
    else:
        sessions = [good, int(outcome.out.split()[-1].rstrip("."))]
        run_every_read_command(library, sessions[-1], folder)
    listed = run("sessions", "--format", "json", "--library", str(library))
    assert_clear(listed)
    assert {s["id"] for s in json.loads(listed.out)} == set(sessions)
    return outcome


def changed(edit: Callable[[dict[str, Any]], None]) -> Callable[[], str]:
    def make() -> str:
        document = exported()
        edit(document)
        return json.dumps(document)

    return make


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``a.b.0.c`` in a document."""

    def edit(document: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = document
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


def mismatched_times(document: dict[str, Any]) -> None:
    document["imported_rr"] = {"rr_ms": [800.0, 810.0, 790.0], "times_s": [0.8], "info": {}}


def short_with_far_events(document: dict[str, Any]) -> None:
    packets = document["packets"]
    for key in ("host_ns", "source_index", "payload_b64"):
        packets[key] = packets[key][:3]
    document["events"] = [
        {"seq": 0, "time_s": -122720.4, "kind": "connection", "host_ns": None,
         "payload": {"state": "scanning", "source": "AA:BB", "message": ""}},
        {"seq": 1, "time_s": 100921.6, "kind": "flow", "host_ns": None,
         "payload": {"kind": "skill_started", "detail": "Tracking"}},
    ]


def packets_faster_than_their_rr(document: dict[str, Any]) -> None:
    # Found by the fuzz test below: beats 1 ms apart whose RR add up to seconds.
    host_ns = [-6181385, 13958, 15952, 16610, 16753, 17004, 17351, 33347, 37445, 48706, 48706,
               49009, 2085796, 214415210, 7_676_971_383, 46_000_396_036, 28_727_328_023_554]
    document["session"]["start_ns"] = 16658
    document["events"] = []
    document["packets"] = {
        "host_ns": host_ns, "source_ids": ["AA:BB"], "source_index": [0] * len(host_ns),
        "payload_b64": ["EGP+/7gB5iX//w==", "EIH2ABcBESI8Ag==", "Qw==", "TQ==", "aQ==", "ADA=",
                        "AAA=", "", "AAA=", "EAAAAAAAsAD8AA==", "EAC2AA==", "EAAwAQ0BrQA=", "",
                        "EAB+ArYBAAA=", "", "", "EAAhAQ=="],
    }


def beats_long_before_the_start(document: dict[str, Any]) -> None:
    # Found by the fuzz test below: two beats 40 minutes before a lone one at the start.
    document["session"]["start_ns"] = 0
    document["events"] = []
    document["packets"] = {
        "host_ns": [-2_351_104_512_711, 0], "source_ids": ["AA:BB"], "source_index": [0, 0],
        "payload_b64": ["EAAPAj8B", "EAClAw=="],
    }


def text(value: str) -> Callable[[], str]:
    return lambda: value


# (case, file text, the words the refusal must contain)
REFUSED = [
    ("version as a string", changed(setter("version", "1")), "version"),
    ("version as a list", changed(setter("version", [1])), "version"),
    ("version null", changed(setter("version", None)), "version"),
    ("packet host_ns beyond 64 bits", changed(setter("packets.host_ns.0", 2**64)), "host_ns"),
    ("start_ns beyond 64 bits", changed(setter("session.start_ns", -(2**70))), "start_ns"),
    ("person as a number", changed(setter("person", 7)), "person"),
    ("person as an object", changed(setter("person", {"name": "x"})), "person"),
    (
        "deeply nested JSON",
        lambda: _exported()[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "nested",
    ),
    ("duration_s long", changed(setter("session.duration_s", "long")), "duration_s"),
    ("event host_ns later", changed(setter("events.0.host_ns", "later")), "host_ns"),
    (
        "event at time Infinity",
        lambda: _exported().replace('"time_s": 10.0', '"time_s": Infinity', 1),
        "time_s",
    ),
    ("imported_rr with mismatched times", changed(mismatched_times), "times_s"),
    ("event far in the future", changed(setter("events.0.time_s", 1e300)), "time_s"),
    ("packet host far from start", changed(setter("packets.host_ns.3", 2**62)), "host_ns"),
    ("two events with one seq", changed(setter("events.1.seq", 0)), "seq"),
    ("payload not base64", changed(setter("packets.payload_b64.0", "@@")), "payload_b64"),
    ("source index out of range", changed(setter("packets.source_index.0", 5)), "source"),
    ("started_utc not a time", changed(setter("session.started_utc", "yesterday")), "started_utc"),
    ("status unknown", changed(setter("session.status", "great")), "status"),
    ("tags not a list", changed(setter("session.tags", "a")), "tags"),
    ("settings a list", changed(setter("session.settings", [1])), "settings"),
    ("empty person", changed(setter("person", "")), "person"),
    ("lone surrogate", lambda: _exported().replace("intake", "\\ud800"), "notes"),
    ("NaN in a payload", changed(setter("events.1.payload.intensity", float("nan"))), "payload"),
    ("connection state unknown", changed(setter("events.2.payload.state", "gone")), "state"),
    ("sensation words not text", changed(setter("events.1.payload.words", [1])), "words"),
    ("negative duration", changed(setter("session.duration_s", -1)), "duration_s"),
    ("imported RR of zero", changed(setter("imported_rr", {"rr_ms": [0.0]})), "rr_ms"),
    ("RR of 1e130 in a CSV", text("rr_ms\n" + "812\n" * 40 + "1e130\n" + "790\n" * 5), "1e+130"),
    ("RR time of 1e130", text("time,rr_ms\n0,800\n1e130,800\n2,800\n"), "time"),
]


@pytest.mark.parametrize(("make", "words"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_crafted_file_is_refused_naming_the_field(tmp_path, make, words) -> None:
    document = make()
    suffix = ".json" if document.lstrip().startswith("{") else ".csv"
    outcome = import_and_read(tmp_path, document, suffix)
    assert outcome.code == 1, outcome
    assert words in outcome.err, outcome.err


ACCEPTED = [
    ("an export as it is", lambda: _exported()),
    ("a session still recording", changed(setter("session.status", "recording"))),
    ("an event before the start", changed(setter("events.0.time_s", -5.0))),
    ("an event after the last beat", changed(setter("events.0.time_s", 3600.0))),
    ("a payload of an unknown kind", changed(setter("events.0.kind", "something new"))),
    ("no packets", changed(setter("packets", {"host_ns": [], "source_ids": [],
                                              "source_index": [], "payload_b64": []}))),
    ("undecodable packet bytes", changed(setter("packets.payload_b64.0", "AAAA"))),
    ("a far-future start date", changed(setter("session.started_utc", "9999-12-31T23:59:59"))),
    ("events days away from a short session", changed(short_with_far_events)),
    ("packets faster than their RR", changed(packets_faster_than_their_rr)),
    ("beats long before the start", changed(beats_long_before_the_start)),
    ("a gap in an RR file", text("rr_ms\n" + "812\n" * 40 + "120000\n" + "790\n" * 40)),
]


@pytest.mark.parametrize("make", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_an_odd_but_possible_file_is_imported_and_every_command_reads_it(
    tmp_path, make
) -> None:
    document = make()
    suffix = ".json" if document.lstrip().startswith("{") else ".csv"
    outcome = import_and_read(tmp_path, document, suffix)
    assert outcome.code == 0, outcome


# ---- random files ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def field_paths(document: Any, prefix: str = "") -> list[str]:
    """Every place in the document a value can be put (long lists: their first items)."""
    paths = []
    if isinstance(document, dict):
        items = list(document.items())
    elif isinstance(document, list):
        items = list(enumerate(document[:2]))
    else:
        return []
    for key, value in items:
        path = f"{prefix}{key}"
        paths.append(path)
        paths.extend(field_paths(value, path + "."))
    return paths


FUZZ = settings(
    # A longer hunt: TRM_BIO_FUZZ_EXAMPLES=1000.
    max_examples=int(os.environ.get("TRM_BIO_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_any_value_in_any_field_of_a_session_export(data) -> None:
    document = exported()
    document["imported_rr"] = {"rr_ms": [800.0, 820.0, 790.0], "times_s": None, "info": {}}
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(field_paths(document)))
        setter(path, data.draw(json_values))(document)
    with tempfile.TemporaryDirectory() as folder:
        import_and_read(Path(folder), json.dumps(document), all_after=False)


@FUZZ
@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70),
        min_size=1,
        max_size=40,
    ),
    header=st.sampled_from(["", "rr_ms\n", "time,rr\n", "RR (s)\n"]),
)
def test_any_numbers_in_an_rr_file(values, header) -> None:
    if header.startswith("time"):
        lines = [f"{i},{v}" for i, v in enumerate(values)]
    else:
        lines = [str(v) for v in values]
    with tempfile.TemporaryDirectory() as folder:
        import_and_read(
            Path(folder), header + "\n".join(lines) + "\n", ".txt", all_after=False
        )


# ---- sessions the schema accepts, however odd --------------------------------------------------

MAX_NS = int(MAX_SESSION_S * 1e9)
offsets_ns = st.integers(-MAX_NS, MAX_NS) | st.integers(0, 600 * 10**9)
beat_clock_s = st.floats(-MAX_SESSION_S, MAX_SESSION_S) | st.floats(0, 600)
short_text = st.text(max_size=8)
payloads = {
    "connection": st.fixed_dictionaries(
        {"state": st.sampled_from([s.value for s in LinkState]), "message": short_text,
         "source": st.sampled_from(["AA:BB", "session", ""])}
    ),
    "flow": st.fixed_dictionaries(
        {"kind": st.sampled_from(["skill_started", "step_started", "helpnow", "stopped", ""]),
         "detail": st.none() | short_text, "prompt": st.none() | short_text,
         "step_index": st.none() | st.integers(0, 10**6), "skill_id": st.none() | short_text}
    ),
    "sensation": st.fixed_dictionaries(
        {"valence": st.none() | short_text, "words": st.none() | st.lists(short_text, max_size=3),
         "location": st.none() | short_text,
         "intensity": st.none() | st.floats(allow_nan=False, allow_infinity=False)}
    ),
    "zone_rating": st.fixed_dictionaries({"zone": st.none() | short_text}),
    "resource": st.fixed_dictionaries({"text": st.none() | short_text}),
    "marker": st.fixed_dictionaries({"text": st.none() | short_text}),
    "something new": st.dictionaries(short_text, st.integers() | short_text, max_size=2),
}


@st.composite
def accepted_documents(draw) -> dict[str, Any]:
    start_ns = draw(st.integers(-(2**62), 2**62))
    n = draw(st.integers(0, 40))
    host_ns = [start_ns + draw(offsets_ns) for _ in range(n)]
    if draw(st.booleans()):
        host_ns.sort()
    packets = []
    for _ in range(n):
        if draw(st.booleans()):
            raw = draw(st.lists(st.integers(0, 0xFFFF), max_size=4))
            packets.append(encode_hrm(draw(st.integers(0, 255)), raw))
        else:
            packets.append(draw(st.binary(max_size=8)))
    events = []
    for seq in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(sorted(payloads)))
        events.append({
            "seq": seq, "time_s": draw(beat_clock_s), "kind": kind,
            "host_ns": draw(st.none() | offsets_ns.map(lambda o: start_ns + o)),
            "payload": draw(payloads[kind]),
        })
    imported = None
    if draw(st.booleans()):
        rr = draw(st.lists(st.floats(*RR_LIMITS_MS), min_size=1, max_size=30))
        times = draw(st.none() | st.lists(beat_clock_s, min_size=len(rr), max_size=len(rr)))
        imported = {"rr_ms": rr, "times_s": times, "info": {}}
    started = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    frames = []  # a Polar strap's PMD frames: well formed (any strap time) or any bytes
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            stream = draw(st.sampled_from([PmdStream.ECG, PmdStream.ACC]))
            limit = 2**23 if stream is PmdStream.ECG else 2**15
            shape = st.integers(-limit, limit - 1)
            samples = draw(st.lists(shape, min_size=0, max_size=6))
            samples = samples[: len(samples) // 3 * 3] if stream is PmdStream.ACC else samples
            frames.append(encode_frame(stream, draw(st.integers(0, 2**64 - 1)), samples))
        else:
            frames.append(draw(st.binary(max_size=24)))
    frame_host_ns = [start_ns + draw(offsets_ns) for _ in frames]
    return {
        "format": "trm-bio-session",
        "version": 1,
        "session": {
            "started_utc": started.isoformat(), "start_ns": start_ns,
            "ended_utc": None, "duration_s": draw(st.none() | st.floats(0, MAX_SESSION_S)),
            "source_kind": "ble", "status": draw(st.sampled_from(["complete", "recording"])),
        },
        "person": "client 7",
        "packets": {
            "host_ns": host_ns, "source_ids": ["AA:BB"], "source_index": [0] * n,
            "payload_b64": [base64.b64encode(p).decode() for p in packets],
        },
        "events": events,
        "imported_rr": imported,
        "pmd_frames": {
            "host_ns": frame_host_ns, "source_ids": ["AA:BB"],
            "source_index": [0] * len(frames),
            "payload_b64": [base64.b64encode(p).decode() for p in frames],
        },
    }


@settings(FUZZ, max_examples=int(os.environ.get("TRM_BIO_FUZZ_EXAMPLES", "15")))
@given(document=accepted_documents())
def test_any_session_the_schema_accepts_is_read_by_every_command(document) -> None:
    with tempfile.TemporaryDirectory() as folder:
        outcome = import_and_read(Path(folder), json.dumps(document))
    assert outcome.code == 0, outcome
