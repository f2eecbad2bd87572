"""The session library and the recorder, on real SQLite files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from devices.hrm import encode_hrm
from devices.packet import Packet, SensorContact
from trm_bio.errors import LibraryError
from trm_bio.store import paths
from trm_bio.store.library import Library
from trm_bio.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from trm_bio.store.recorder import Recorder

SECOND_NS = 1_000_000_000
START_NS = 5_000 * SECOND_NS


def packet(i: int, source: str = "AA:BB:CC:DD:EE:FF") -> Packet:
    """A strap-like packet arriving i seconds after START_NS."""
    raw = (800 + i % 50, 790 + i % 30)
    return Packet(
        host_ns=START_NS + i * SECOND_NS,
        source_id=source,
        payload=encode_hrm(70 + i % 20, raw, contact=SensorContact.CONTACT),
        heart_rate_bpm=70 + i % 20,
        rr_ms=tuple(r * 1000 / 1024 for r in raw),
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def committed_packets(path: Path, session_id: int) -> int:
    """Packets another connection sees: what survives if this process dies now."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as other:
        return other.execute(
            "SELECT count(*) FROM packets WHERE session_id = ?", (session_id,)
        ).fetchone()[0]


@pytest.fixture
def lib_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "library.sqlite3"


@pytest.fixture
def library(lib_path: Path):
    with Library.open(lib_path) as opened:
        yield opened


# ---- files, modes, paths ---------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_new_library_is_private_wal_and_marked(lib_path: Path) -> None:
    with Library.open(lib_path) as library:
        library.add_person("P01")
        assert stat.S_IMODE(lib_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(lib_path.parent.stat().st_mode) == 0o700
        wal = lib_path.with_name(lib_path.name + "-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
    with sqlite3.connect(lib_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # The mark is in the main file's header itself, not only in the WAL.
    assert int.from_bytes(lib_path.read_bytes()[68:72], "big") == APPLICATION_ID


def test_foreign_keys_on(library: Library) -> None:
    assert library._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_library_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    default = paths.library_path()
    assert default.name == "library.sqlite3" and "trm-bio" in str(default)
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "env.sqlite3"))
    assert paths.library_path() == tmp_path / "env.sqlite3"
    assert paths.library_path(tmp_path / "cli.sqlite3") == tmp_path / "cli.sqlite3"
    with Library.open() as library:
        assert library.path == tmp_path / "env.sqlite3"


def test_migrations_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "v0.sqlite3"
    with sqlite3.connect(path) as raw:  # a library created before any schema existed
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    with Library.open(path) as library:
        assert library.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        tables = {r[0] for r in library._db.execute("SELECT name FROM sqlite_schema")}
        assert {"people", "sessions", "packets", "events", "imported_rr"} <= tables
    with Library.open(path) as again:  # nothing left to apply
        assert again.schema_version == SCHEMA_VERSION


def foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE contacts (name TEXT)")
        raw.execute("INSERT INTO contacts VALUES ('someone')")


def newer_library(path: Path) -> None:
    Library.open(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def corrupt_library(path: Path) -> None:
    with Library.open(path) as library:
        session = library.create_session(None, "simulated", "sim:1", start_ns=0)
        recorder = Recorder(library, session, flush_interval_ns=10**18)  # one commit
        for i in range(2000):
            recorder.add_packet(packet(i))
        recorder.finish()
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * 4096
    data[4096 : len(data) - 4096] = os.urandom(len(data) - 8192)  # header kept, pages broken
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("name,rr\nx,800\n"), "not an SQLite database"),
        (lambda p: p.write_bytes(os.urandom(4096)), "not an SQLite database"),
        (foreign_sqlite, "another program"),
        (newer_library, "newer trm-bio"),
        (corrupt_library, "damaged"),
    ],
    ids=["text", "random", "foreign-sqlite", "newer", "corrupt"],
)
def test_refused_files_are_left_byte_identical(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "library.sqlite3"
    make(path)
    before = digest(path)
    with pytest.raises(LibraryError, match=message) as info:
        with Library.open(path) as library:
            library.list_sessions()  # a corrupt file may only fail on first real read
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert digest(path) == before


def test_missing_library_without_create(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no trm-bio library"):
        Library.open(tmp_path / "absent.sqlite3", create=False)
    assert not (tmp_path / "absent.sqlite3").exists()


def test_readonly_open_reads_and_refuses_writes(lib_path: Path) -> None:
    with Library.open(lib_path) as library:
        library.add_person("P01")
    with Library.open(lib_path, readonly=True) as library:
        assert [p.name for p in library.list_people()] == ["P01"]
        with pytest.raises(LibraryError, match="read-only"):
            library.add_person("P02")


# ---- people and sessions ---------------------------------------------------------------


def test_people(library: Library) -> None:
    alice = library.add_person("client 7")
    assert library.find_person("client 7").id == alice
    assert library.find_person(alice).name == "client 7"
    assert library.find_person(str(alice)).name == "client 7"
    assert library.find_person("nobody") is None
    with pytest.raises(LibraryError, match="already"):
        library.add_person("client 7")
    assert library.ensure_person("client 7") == alice
    assert [p.name for p in library.list_people()] == ["client 7"]


def test_session_lifecycle(library: Library) -> None:
    person = library.add_person("P01")
    session = library.create_session(
        person,
        "ble",
        "AA:BB",
        "Polar H10",
        START_NS,
        notes="first",
        tags=("calm", "intake"),
        settings={"window_s": 60},
    )
    info = library.get_session(session)
    assert (info.status, info.person_name, info.tags) == ("recording", "P01", ("calm", "intake"))
    assert info.settings == {"window_s": 60} and info.started_utc.endswith("+00:00")
    library.update_session(session, notes="edited", tags=["x"], person_id=None)
    info = library.get_session(session)
    assert (info.notes, info.tags, info.person_id) == ("edited", ("x",), None)
    library.finish_session(session, duration_s=12.5)
    info = library.get_session(session)
    assert info.status == "complete" and info.duration_s == 12.5 and info.ended_utc
    other = library.create_session(person, "simulated", "sim:1", start_ns=0)
    assert [s.id for s in library.list_sessions()] == [session, other]
    assert [s.id for s in library.list_sessions(person_id=person)] == [other]
    with pytest.raises(LibraryError, match="no session 999"):
        library.get_session(999)


def test_delete_cascades(library: Library) -> None:
    session = library.create_session(None, "simulated", "sim:1", start_ns=START_NS)
    with Recorder(library, session) as recorder:
        for i in range(5):
            recorder.add_packet(packet(i))
        recorder.add_event(1.0, "marker", {"text": "x"})
    library.store_summary(session, {"RMSSD": 40.0})
    assert library.get_summary(session) == {"RMSSD": 40.0}
    library.delete_session(session)
    for table in ("packets", "events", "session_derived"):
        assert library._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert library.list_sessions() == []


def test_packets_and_events_read_back_exactly(library: Library) -> None:
    session = library.create_session(None, "ble", "AA", start_ns=START_NS)
    sent = [packet(i, source="AA" if i < 30 else "BB") for i in range(60)]
    with Recorder(library, session) as recorder:
        for p in sent:
            recorder.add_packet(p)
        recorder.add_event(2.5, "sensation", {"valence": "pleasant", "words": ["warm"]}, START_NS)
        recorder.add_event(3.0, "zone_rating", {"zone": "resilient"})
    batch = library.session_packets(session)
    assert batch.host_ns.dtype == np.int64
    assert batch.host_ns.tolist() == [p.host_ns for p in sent]
    assert batch.payloads == [p.payload for p in sent]
    assert batch.source_ids == [p.source_id for p in sent]
    window = library.session_packets(session, START_NS + 10 * SECOND_NS, START_NS + 20 * SECOND_NS)
    assert window.host_ns.tolist() == [p.host_ns for p in sent[10:20]]
    events = library.session_events(session)
    assert [(e.seq, e.time_s, e.kind) for e in events] == [
        (0, 2.5, "sensation"),
        (1, 3.0, "zone_rating"),
    ]
    assert events[0].payload == {"valence": "pleasant", "words": ["warm"]}
    assert events[0].host_ns == START_NS and events[1].host_ns is None
    assert [e.kind for e in library.session_events(session, kinds=["zone_rating"])] == [
        "zone_rating"
    ]
    info = library.get_session(session)
    assert (info.packet_count, info.event_count, info.status) == (60, 2, "complete")
    assert info.duration_s == pytest.approx(59.0)  # to the last packet


def test_derived_caches(library: Library) -> None:
    person = library.add_person("P")
    library.store_person_derived(person, "baseline", {"RMSSD": [30.0, 5.0]})
    assert library.get_person_derived(person, "baseline") == {"RMSSD": [30.0, 5.0]}
    assert library.get_person_derived(person, "other") is None


# ---- crash recovery ----------------------------------------------------------------------


def test_abandoned_recording_is_marked_interrupted(lib_path: Path) -> None:
    library = Library.open(lib_path)
    session = library.create_session(None, "ble", "AA", start_ns=START_NS)
    recorder = Recorder(library, session)
    for i in range(10):
        recorder.add_packet(packet(i))
    recorder.flush()
    library.close()  # abandoned: no finish, as after a crash
    with Library.open(lib_path, recover=False) as untouched:
        assert untouched.get_session(session).status == "recording"
        marked = untouched.recover_interrupted()
        assert marked == [session]
        info = untouched.get_session(session)
        assert info.status == "interrupted" and info.duration_s == pytest.approx(9.0)
        assert info.packet_count == 10


def test_live_recording_is_not_marked(lib_path: Path) -> None:
    with Library.open(lib_path) as recording_library:
        session = recording_library.create_session(None, "ble", "AA", start_ns=START_NS)
        recorder = Recorder(recording_library, session)
        recorder.add_packet(packet(0))
        recorder.flush()
        with Library.open(lib_path) as viewer:  # another window or the CLI
            assert viewer.recover_interrupted() == []
            assert viewer.get_session(session).status == "recording"
            with pytest.raises(LibraryError, match="already being recorded"):
                Recorder(viewer, session)
        recorder.finish()
        assert recording_library.get_session(session).status == "complete"


# ---- the recorder --------------------------------------------------------------------------


def test_recorder_commits_within_a_second(lib_path: Path, library: Library) -> None:
    session = library.create_session(None, "ble", "AA", start_ns=START_NS)
    recorder = Recorder(library, session)
    recorder.add_packet(Packet(START_NS, "AA", b"\x10\x3c\x00\x03", 60))
    recorder.add_packet(Packet(START_NS + SECOND_NS // 2, "AA", b"\x10\x3d\x00\x03", 61))
    assert committed_packets(lib_path, session) == 0  # buffered: half a second old
    assert not recorder.maybe_flush(START_NS + SECOND_NS - 1)
    assert recorder.maybe_flush(START_NS + SECOND_NS)  # the oldest is now 1 s old
    assert committed_packets(lib_path, session) == 2
    # Packet arrival alone also triggers the commit, without maybe_flush.
    recorder.add_packet(Packet(START_NS + 2 * SECOND_NS, "AA", b"\x00\x3c", 60))
    recorder.add_packet(Packet(START_NS + 3 * SECOND_NS, "AA", b"\x00\x3c", 60))
    assert committed_packets(lib_path, session) == 4
    recorder.add_event(3.5, "marker", {}, host_ns=START_NS + 3 * SECOND_NS + 1)
    assert recorder.pending == 1
    assert recorder.maybe_flush(START_NS + 4 * SECOND_NS + 1)
    assert library.get_session(session).event_count == 1
    recorder.finish()


def test_recorder_rejects_unserialisable_event(library: Library) -> None:
    session = library.create_session(None, "ble", "AA", start_ns=START_NS)
    recorder = Recorder(library, session)
    with pytest.raises(LibraryError, match="cannot be stored"):
        recorder.add_event(1.0, "note", {"when": object()})
    with pytest.raises(LibraryError, match="cannot be stored"):
        recorder.add_event(1.0, "note", {"value": float("nan")})
    recorder.finish()


def test_full_disk_stops_recording_and_keeps_data(lib_path: Path) -> None:
    library = Library.open(lib_path)
    session = library.create_session(None, "ble", "AA", start_ns=START_NS)
    recorder = Recorder(library, session)
    pages = library._db.execute("PRAGMA page_count").fetchone()[0]
    library._db.execute(f"PRAGMA max_page_count = {pages + 20}")
    big = b"\x10\x3c" + bytes(2000)
    with pytest.raises(LibraryError, match="disk is full") as info:
        for i in range(10_000):
            recorder.add_packet(Packet(START_NS + i * SECOND_NS, "AA", big, 60))
    assert "everything written before" in str(info.value)
    assert recorder.failed and recorder.packets_written > 0
    with pytest.raises(LibraryError, match="recording stopped"):
        recorder.add_packet(packet(0))
    library.close()
    with Library.open(lib_path) as reopened:
        batch = reopened.session_packets(session)
        assert len(batch) == recorder.packets_written
        assert all(p == big for p in batch.payloads)
        assert reopened.get_session(session).status == "interrupted"


def test_readonly_library_stops_recording_and_keeps_data(lib_path: Path) -> None:
    # Tests run as root, which ignores file modes; query_only is SQLite's read-only switch.
    library = Library.open(lib_path)
    session = library.create_session(None, "ble", "AA", start_ns=START_NS)
    recorder = Recorder(library, session)
    for i in range(3):
        recorder.add_packet(packet(i))
    assert recorder.packets_written == 2
    library._db.execute("PRAGMA query_only = ON")
    with pytest.raises(LibraryError, match="read-only"):
        for i in range(3, 6):
            recorder.add_packet(packet(i))
    assert recorder.failed
    library.close()
    with Library.open(lib_path) as reopened:
        assert len(reopened.session_packets(session)) == 2


def test_an_hour_of_packets_and_markers_reads_back_in_order(lib_path: Path) -> None:
    """Write as a live session does (a commit per second of data); timing is bench_library's."""
    n_packets = 3_600
    sent = [packet(i) for i in range(n_packets)]
    with Library.open(lib_path) as library:
        session = library.create_session(None, "ble", "AA", start_ns=START_NS)
        with Recorder(library, session) as recorder:
            for i, p in enumerate(sent):
                recorder.add_packet(p)
                if i % 60 == 0:
                    recorder.add_event(float(i), "marker", {"minute": i // 60}, p.host_ns)
                recorder.maybe_flush(p.host_ns)
        batch = library.session_packets(session)
        events = library.session_events(session)
    assert batch.payloads == [p.payload for p in sent]
    np.testing.assert_array_equal(batch.host_ns, [p.host_ns for p in sent])
    assert [e.payload["minute"] for e in events] == list(range(n_packets // 60))


def test_a_deleted_sessions_id_is_never_given_again(lib_path: Path) -> None:
    with Library.open(lib_path) as library:
        first = library.create_session(None, "ble", "AA", start_ns=START_NS)
        second = library.create_session(None, "ble", "AA", start_ns=START_NS)
        library.delete_session(second)
        third = library.create_session(None, "ble", "AA", start_ns=START_NS)
    with Library.open(lib_path) as library:  # the counter survives closing the file
        library.delete_session(third)
        fourth = library.create_session(None, "ble", "AA", start_ns=START_NS)
    assert [first, second, third, fourth] == [1, 2, 3, 4]
