"""Rows a library may already hold that no trm-bio wrote (damage on disk, a hand edit, an
import by an older version): every command names the damaged session in one sentence and
goes on with the others; damaged derived caches are recomputed; a lost counter is rebuilt.

The rows are changed with SQLite directly while the library is closed, as damage would be.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.library_commands import (
    PERSON,
    assert_clear,
    poke,
    read_commands,
    record_session,
    run,
)
from trm_bio.history import _cache_key, analyse_session
from trm_bio.store.imports import import_rr_recording
from trm_bio.store.library import Library
from trm_bio.store.rr_files import RRRecording

RECORDED, DAMAGED, IMPORTED = 1, 2, 3


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library holding two recorded sessions and an imported one (made once)."""
    path = tmp_path_factory.mktemp("damaged") / "template.sqlite3"
    with Library.open(path) as lib:
        assert record_session(lib, seed=1) == RECORDED
        assert record_session(lib, seed=2) == DAMAGED
        # 8 minutes: long enough for the zone's session-start reference (about 5 minutes),
        # so the imported session has a cached baseline to damage.
        rr = 800 + 40 * np.sin(np.arange(600) / 3)
        recording = RRRecording(rr, np.cumsum(rr) / 1000, "csv", "ms", "header", "rr.csv")
        assert import_rr_recording(lib, recording, PERSON) == IMPORTED
    return path


@pytest.fixture
def library(tmp_path: Path, template: Path) -> Path:
    """A fresh copy of the template library."""
    path = tmp_path / "library.sqlite3"
    source, target = sqlite3.connect(template), sqlite3.connect(path)
    try:
        source.backup(target)  # SQLite's own copy: never the file through Python's open()
    finally:
        source.close()
        target.close()
    return path


ROW_DAMAGE = [
    ("duration not a number", "UPDATE sessions SET duration_s = 'long' WHERE id = 2", (),
     "duration_s"),
    ("tags not JSON", "UPDATE sessions SET tags = '[oops' WHERE id = 2", (), "tags"),
    ("settings a list", "UPDATE sessions SET settings = '[1]' WHERE id = 2", (), "settings"),
    ("start not a time", "UPDATE sessions SET started_utc = 'yesterday' WHERE id = 2", (),
     "started_utc"),
    ("start_ns text", "UPDATE sessions SET start_ns = 'soon' WHERE id = 2", (), "start_ns"),
    ("event payload not JSON", "UPDATE events SET payload = '{oops' WHERE session_id = 2", (),
     "payload"),
    ("event host time later", "UPDATE events SET host_ns = 'later' WHERE session_id = 2", (),
     "host_ns"),
    ("event at Infinity", "UPDATE events SET time_s = ? WHERE session_id = 2", (float("inf"),),
     "time_s"),
    ("connection state unknown",
     "UPDATE events SET payload = '{\"state\": \"gone\"}' WHERE session_id = 2"
     " AND kind = 'connection'", (), "state"),
    ("packet time text", "UPDATE packets SET host_ns = 'x' WHERE session_id = 2 AND seq = 5", (),
     "packet"),
    ("packet bytes as text", "UPDATE packets SET payload = 'abc' WHERE session_id = 2 AND seq = 5",
     (), "packet"),
    ("packet far in the future",
     "UPDATE packets SET host_ns = ? WHERE session_id = 2 AND seq = 5", (2**62,), "packet"),
]
IMPORTED_DAMAGE = [
    ("RR blob cut short", "UPDATE imported_rr SET rr_ms = x'0000' WHERE session_id = 3", (),
     "rr_ms"),
    ("RR times mismatched", "UPDATE imported_rr SET times_s = ? WHERE session_id = 3",
     (np.zeros(2).tobytes(),), "times_s"),
    ("RR of 1e130", "UPDATE imported_rr SET rr_ms = ? WHERE session_id = 3",
     (np.full(300, 1e130).tobytes(),), "rr_ms"),
    ("import details not JSON", "UPDATE imported_rr SET info = '{' WHERE session_id = 3", (),
     "info"),
]


@pytest.mark.parametrize(
    ("sql", "params", "field", "victim"),
    [(*c[1:], DAMAGED) for c in ROW_DAMAGE] + [(*c[1:], IMPORTED) for c in IMPORTED_DAMAGE],
    ids=[c[0] for c in ROW_DAMAGE + IMPORTED_DAMAGE],
)
def test_a_damaged_session_is_named_and_the_others_still_work(
    library, tmp_path, sql, params, field, victim
) -> None:
    poke(library, sql, params)
    lib = ("--library", str(library))
    others = {RECORDED, DAMAGED, IMPORTED} - {victim}

    listed = run("sessions", "--format", "json", *lib)
    assert listed.code == 0 and "Traceback" not in listed.err
    ids = {s["id"] for s in json.loads(listed.out)}
    if sql.startswith("UPDATE sessions"):  # the session's own row: listed as damaged
        assert ids == others
        assert f"session {victim} is damaged" in listed.err and "skipped" in listed.err
    else:
        assert ids == {RECORDED, DAMAGED, IMPORTED}

    for argv in read_commands(library, victim, tmp_path):
        outcome = run(*argv)
        assert_clear(outcome)
        # A replay plays the packets: an imported file's exact values are not needed there.
        readers = ("show", "export", "report") + (("replay",) if victim == DAMAGED else ())
        if argv[0] in readers:
            assert outcome.code == 1, outcome
            assert f"session {victim} is damaged" in outcome.err, outcome.err
            assert field in outcome.err, outcome.err
        if argv[0] == "trends":  # goes on with the others, saying which one it left out
            assert outcome.code == 0, outcome
            assert f"session {victim} is damaged" in outcome.err

    for other in others:
        shown = run("show", str(other), "--format", "json", *lib)
        assert shown.code == 0, shown
        assert json.loads(shown.out)["session"] == other


def _summary(library: Path, session: int) -> dict:
    shown = run("show", str(session), "--format", "json", "--library", str(library))
    assert shown.code == 0, shown
    return json.loads(shown.out)


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        b"PK\x03\x04 not really a zip",
        _npz(times_s=np.zeros(3)),
        _npz(**{name: np.zeros(3) for name in ("times_s", "rr_ms", "segment")}),
    ],
    ids=["not npz", "broken zip", "arrays missing", "arrays of the wrong kind"],
)
def test_a_damaged_analysis_cache_is_recomputed(library, data) -> None:
    expected = _summary(library, RECORDED)  # computes and caches the analysis
    poke(library, "UPDATE session_arrays SET data = ? WHERE session_id = ?", (data, RECORDED))
    with Library.open(library, readonly=True) as lib:  # read-only: recomputed, not stored
        result = analyse_session(lib, RECORDED)
    assert json.loads(json.dumps(result.as_dict())) == expected
    assert _cached_arrays(library) == data
    assert _summary(library, RECORDED) == expected
    with Library.open(library) as lib:  # writable: the damaged cache was replaced
        cached = lib.get_arrays(RECORDED, "analysis", _cache_key(lib.get_session(RECORDED)))
        assert cached is not None and len(cached["rr_ms"]) > 100


def _cached_arrays(library: Path) -> bytes:
    db = sqlite3.connect(f"{library.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT data FROM session_arrays WHERE session_id = ?", (RECORDED,)
        ).fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("recording-summary", "{oops"),
        ("recording-summary", "[]"),
        ("recording-summary", "KEY"),
        ("summary", '{"metrics": "x", "quality": {"beats": 5}}'),
        ("summary", '{"metrics": {"HR": "fast"}, "quality": {"beats": 5}}'),
        ("baseline", '{"hr_bpm": "x"}'),
        ("baseline", '{"hr_bpm": 60, "hr_spread_bpm": 0, "ln_rmssd": 3, "ln_rmssd_spread": 0,'
                     ' "n_beats": 5}'),
    ],
)
def test_damaged_cached_summaries_are_recomputed(library, name, data) -> None:
    lib = ("--library", str(library))
    expected_show = _summary(library, IMPORTED)
    expected_trends = run("trends", PERSON, "--format", "json", *lib)
    assert expected_trends.code == 0
    if data == "KEY":  # current key, summary of the wrong shape
        with Library.open(library, readonly=True) as opened:
            key = _cache_key(opened.get_session(IMPORTED))
        data = json.dumps({"key": key, "summary": 5})
    poke(library, "UPDATE session_derived SET data = ? WHERE session_id = ? AND name = ?",
         (data, IMPORTED, name))
    trends = run("trends", PERSON, "--format", "json", *lib)
    assert trends.code == 0 and "Traceback" not in trends.err, trends
    assert json.loads(trends.out) == json.loads(expected_trends.out)
    assert _summary(library, IMPORTED) == expected_show


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM counters",
        "UPDATE counters SET value = 'many' WHERE name = 'session'",
        "UPDATE counters SET value = 1 WHERE name = 'session'",
    ],
    ids=["missing", "not a number", "behind the ids in use"],
)
def test_a_lost_session_counter_is_rebuilt_from_the_ids_in_use(library, sql) -> None:
    poke(library, sql)
    with Library.open(library) as lib:
        new = lib.create_session(None, "simulated")
        assert new == IMPORTED + 1
        assert lib.create_session(None, "simulated") == new + 1


def test_unreadable_person_caches_are_recomputed(library) -> None:
    with Library.open(library) as lib:
        person = lib.find_person(PERSON).id
        lib.store_person_derived(person, "baseline", {"hr_bpm": 60})
    poke(library, "UPDATE person_derived SET data = '{oops'")
    with Library.open(library) as lib:
        assert lib.get_person_derived(person, "baseline") is None


def test_a_damaged_session_can_still_be_deleted(library) -> None:
    poke(library, "UPDATE sessions SET tags = '[oops' WHERE id = 2")
    deleted = run("delete", str(DAMAGED), "--yes", "--library", str(library))
    assert deleted.code == 0, deleted
    listed = run("sessions", "--format", "json", "--library", str(library))
    assert {s["id"] for s in json.loads(listed.out)} == {RECORDED, IMPORTED}
    assert listed.err == ""


def test_a_damaged_recording_left_open_does_not_stop_the_library_opening(library) -> None:
    poke(library, "UPDATE sessions SET status = 'recording', start_ns = 'soon' WHERE id = 2")
    listed = run("sessions", "--format", "json", "--library", str(library))
    assert listed.code == 0, listed
    assert {s["id"] for s in json.loads(listed.out)} == {RECORDED, IMPORTED}
    assert "session 2 is damaged (start_ns" in listed.err


def test_the_library_writes_no_session_its_readers_would_call_damaged(library) -> None:
    from trm_bio.errors import LibraryError

    with Library.open(library) as lib:
        with pytest.raises(LibraryError, match="started_utc"):
            lib.create_session(None, "ble", started_utc="whenever")
        with pytest.raises(LibraryError, match="notes"):
            lib.update_session(RECORDED, notes="\ud800")
        # A setting not set (NaN) was always allowed, and still reads back.
        session = lib.create_session(None, "ble", settings={"window_s": float("nan")})
        assert np.isnan(lib.get_session(session).settings["window_s"])
