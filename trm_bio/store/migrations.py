"""Numbered schema migrations of the session library.

``MIGRATIONS[i]`` takes a library from schema version ``i`` to ``i + 1``; the version is kept
in ``PRAGMA user_version``. Never edit a migration that has shipped: append a new one.
``APPLICATION_ID`` (``PRAGMA application_id``) marks a file as a trm-bio library, so that a
foreign SQLite file is never migrated or written to.
"""

from __future__ import annotations

import sqlite3

#: "TRMB" as a big-endian 32-bit integer.
APPLICATION_ID = 0x54524D42

_V1 = """
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,          -- display name or pseudonymous code
    created_utc TEXT NOT NULL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    started_utc TEXT NOT NULL,          -- ISO 8601, UTC
    start_ns INTEGER NOT NULL,          -- host monotonic ns at start (beat clock zero)
    ended_utc TEXT,
    duration_s REAL,
    source_kind TEXT NOT NULL,          -- ble, simulated, lsl, import, replay...
    source_id TEXT NOT NULL DEFAULT '',
    device_name TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',    -- JSON array of strings
    status TEXT NOT NULL DEFAULT 'recording'
        CHECK (status IN ('recording', 'complete', 'interrupted')),
    settings TEXT NOT NULL DEFAULT '{}'  -- JSON object
);
CREATE INDEX sessions_by_person ON sessions (person_id, started_utc);
CREATE INDEX sessions_by_start ON sessions (started_utc);
CREATE INDEX sessions_by_status ON sessions (status);

-- The ground truth: raw bytes as received, with host arrival time.
CREATE TABLE packets (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    host_ns INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX packets_by_time ON packets (session_id, host_ns);

CREATE TABLE events (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    time_s REAL NOT NULL,               -- beat clock, s from session start
    host_ns INTEGER,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}', -- JSON object
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX events_by_time ON events (session_id, time_s);
CREATE INDEX events_by_kind ON events (session_id, kind);

-- Exact RR values of an imported file (packets quantise RR to 1/1024 s).
CREATE TABLE imported_rr (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    rr_ms BLOB NOT NULL,                -- float64 little-endian
    times_s BLOB,                       -- float64 little-endian, or NULL
    info TEXT NOT NULL DEFAULT '{}'     -- JSON: file name, format, unit, offset
);

-- Derived data: can always be recomputed from packets and events.
CREATE TABLE session_derived (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,                 -- 'summary', ...
    data TEXT NOT NULL,                 -- JSON
    updated_utc TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
);
CREATE TABLE person_derived (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    name TEXT NOT NULL,                 -- 'baseline', ...
    data TEXT NOT NULL,                 -- JSON
    updated_utc TEXT NOT NULL,
    PRIMARY KEY (person_id, name)
);
"""

_V2 = """
-- Derived per-beat arrays (numpy .npz bytes), so opening a long session needs no
-- recomputation; ``key`` says what they were computed from and by which code version.
CREATE TABLE session_arrays (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    data BLOB NOT NULL,
    updated_utc TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
);
"""

_V3 = """
-- Session ids are never given twice: a deleted session's id stays retired, so a note or
-- export that names "session 5" can never later point at someone else's session.
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters (name, value) SELECT 'session', COALESCE(MAX(id), 0) FROM sessions;
"""

_V4 = """
-- Polar PMD data frames (ECG, accelerometer) as received: ground truth beside the packets,
-- kept even when they cannot be decoded. ``stream`` is the frame's first byte (PMD stream
-- type: 0 ECG, 2 ACC; -1 for an empty payload), so a session's streams are found without
-- reading the blobs.
CREATE TABLE pmd_frames (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    host_ns INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    stream INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX pmd_frames_by_stream ON pmd_frames (session_id, stream);
"""

_V5 = """
-- Group sessions: several participants recorded at once (one strap each), one session each.
-- A group links its sessions; deleting a session leaves the group and the others as they are.
-- AUTOINCREMENT: a group's id is never given twice (as with sessions, see _V3).
CREATE TABLE session_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    started_utc TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT ''
);
ALTER TABLE sessions ADD COLUMN group_id INTEGER
    REFERENCES session_groups(id) ON DELETE SET NULL;
-- The participant's place in the group (0-based), so tiles and reports keep one order.
ALTER TABLE sessions ADD COLUMN group_seat INTEGER;
CREATE INDEX sessions_by_group ON sessions (group_id, group_seat);
"""

MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5]

#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection) -> int:
    """Apply every migration the library lacks, each in its own transaction.

    Parameters
    ----------
    connection : sqlite3.Connection
        An autocommit connection (``isolation_level=None``) to a trm-bio library.

    Returns
    -------
    int
        The number of migrations applied.
    """
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    applied = 0
    for number in range(version, SCHEMA_VERSION):
        # The version is read again inside the write lock: another program opening the same
        # old library at the same moment may have applied this migration meanwhile, and a
        # migration (ALTER TABLE) must never run twice.
        connection.execute("BEGIN IMMEDIATE")
        try:
            if connection.execute("PRAGMA user_version").fetchone()[0] > number:
                connection.execute("COMMIT")
                continue
            for statement in _statements(MIGRATIONS[number]):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number + 1}")
            connection.execute("COMMIT")
        except sqlite3.Error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        applied += 1
    return applied


def _statements(script: str) -> list[str]:
    """A migration's SQL statements, one by one (executescript would commit first)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise ValueError(f"a migration ends with an incomplete statement: {pending.strip()!r}")
    return statements
