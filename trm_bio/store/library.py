"""The session library: one SQLite file holding people, sessions, raw packets and events.

Ground truth is the raw packets (bytes as received, with host arrival time), a Polar
strap's raw PMD frames (ECG, accelerometer; likewise) and the events on the beat clock;
everything else (summaries, baselines) is derived and can be recomputed.
The file is created with mode 0600 in a 0700 folder because it holds health data, runs in
WAL mode with foreign keys on, and is marked with ``PRAGMA application_id`` so that a file
that is not ours is refused and never written to.

A process has one SQLite connection per library file, whatever path or however many times
it is opened: every :class:`Library` of that file is a handle on it, usable from any thread
(statements and transactions are serialised). Nothing here ever opens the file, its ``-wal``
or its ``-shm`` from Python: closing such a descriptor would drop every SQLite lock the
process holds on the file, and another process would then delete the WAL still being
written (sqlite.org, "How To Corrupt An SQLite Database File", 2.2). A file that cannot be
written opens read-only: everything reads, nothing is written, not even cached analyses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import sqlite3
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import EllipsisType
from typing import Any

import numpy as np

from devices.pmd import ACC_SETTINGS, ECG_SETTINGS, PmdSetting, PmdStream
from trm_bio.core.events import Event
from trm_bio.errors import DamagedSessionError, LibraryError
from trm_bio.store import locks, schema
from trm_bio.store.migrations import APPLICATION_ID, SCHEMA_VERSION, migrate
from trm_bio.store.paths import library_path

log = logging.getLogger(__name__)

SESSION_STATUSES = ("recording", "complete", "interrupted")

# Primary result codes (the low byte of extended codes).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_NOTADB = 26
# Failures of a way of opening that a read-only way may not have.
_UNWRITABLE = (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CANTOPEN)

PacketRow = tuple[int, int, int, str, bytes]  # session_id, seq, host_ns, source_id, payload
EventRow = tuple[int, int, float, int | None, str, str]  # session_id, seq, time_s, ns, kind, json
FrameRow = tuple[int, int, int, str, int, bytes]  # session_id, seq, host_ns, source, stream, bytes
# PMD frame layout, for counting samples without decoding (see devices.pmd): a 10-byte
# header, then per (stream, frame-type byte in hex) the bytes of one sample.
_PMD_HEADER_BYTES = 10
_PMD_SAMPLE_BYTES = {(0, "00"): 3, (2, "00"): 3, (2, "01"): 6, (2, "02"): 9}
_PMD_RATES_HZ = {  # the rates trm-bio asks the strap for
    int(PmdStream.ECG): float(ECG_SETTINGS[PmdSetting.SAMPLE_RATE]),
    int(PmdStream.ACC): float(ACC_SETTINGS[PmdSetting.SAMPLE_RATE]),
}
#: Where derived data is cached, by whose it is: the table and its owner's id column.
_DERIVED_TABLES = {
    "session": ("session_derived", "session_id"),
    "person": ("person_derived", "person_id"),
}


def utc_now_iso() -> str:
    """The wall clock now, UTC, ISO 8601 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Person:
    """Someone whose sessions the library holds (a name or a pseudonymous code)."""

    id: int
    name: str
    created_utc: str


@dataclass(frozen=True)
class SessionInfo:
    """One session's metadata (``duration_s`` in seconds; times in UTC ISO 8601)."""

    id: int
    person_id: int | None
    person_name: str | None
    started_utc: str
    start_ns: int
    ended_utc: str | None
    duration_s: float | None
    source_kind: str
    source_id: str
    device_name: str
    notes: str
    tags: tuple[str, ...]
    status: str
    settings: dict[str, Any]
    packet_count: int
    event_count: int
    #: The group session it belongs to (None: recorded alone) and its participant's place
    #: in that group (0-based; see :meth:`Library.create_group`).
    group_id: int | None = None
    group_seat: int | None = None


@dataclass(frozen=True)
class GroupInfo:
    """A group session: several participants recorded at once, a session each.

    ``session_ids`` are in seat order (the participants' places), ``started_utc`` UTC ISO 8601.
    """

    id: int
    name: str
    started_utc: str
    notes: str
    session_ids: tuple[int, ...]


@dataclass(frozen=True)
class PacketBatch:
    """A session's raw packets (or raw PMD frames) in arrival order.

    Attributes
    ----------
    host_ns : numpy.ndarray
        Host monotonic arrival times (ns, int64).
    payloads : list of bytes
        Raw Heart Rate Measurement bytes (or PMD data frames), exactly as received.
    source_ids : list of str
        Source of each packet (one session may see a strap reconnect).
    """

    host_ns: np.ndarray
    payloads: list[bytes]
    source_ids: list[str]

    def __len__(self) -> int:
        return len(self.payloads)

    @classmethod
    def empty(cls) -> PacketBatch:
        """A batch of nothing."""
        return cls(np.zeros(0, dtype=np.int64), [], [])


@dataclass(frozen=True)
class StreamSpan:
    """What a session holds of one PMD stream (see :meth:`Library.pmd_streams`).

    Attributes
    ----------
    frames : int
        Frames stored, decodable or not.
    samples : int
        Samples in the frames whose layout is a known one (ECG 3 bytes; ACC 3 axes).
    seconds : float
        ``samples`` at the stream's nominal rate (ECG 130 Hz, ACC 200 Hz): the time covered.
    """

    frames: int
    samples: int
    seconds: float


@dataclass(frozen=True)
class ImportedRR:
    """The exact RR values of an imported file (ms; times in s or None) and import details."""

    rr_ms: np.ndarray
    times_s: np.ndarray | None
    info: dict[str, Any]


@dataclass
class SessionRecord:
    """Everything a session is, for export and import: metadata, person, packets, events."""

    session: dict[str, Any]
    person_name: str | None
    packets: PacketBatch
    events: list[Event]
    imported_rr: ImportedRR | None = None
    derived: dict[str, Any] = field(default_factory=dict)
    #: Raw Polar PMD data frames (ECG, accelerometer) as received; empty for most sessions.
    pmd_frames: PacketBatch = field(default_factory=PacketBatch.empty)


class _SharedFile:
    """This process's one SQLite connection to one library file, shared by its Library objects.

    Every :class:`Library` of the same file in this process is a handle on this connection:
    a second SQLite connection would be safe, but the registry also makes sure that nothing
    of this process ever opens the file from Python while a connection holds its locks.
    ``mutex`` serialises statements and transactions of all handles across threads.
    Opened read-only while only read-only handles use it (nothing, not even a checkpoint,
    is written), it is reopened read-write for the first handle that may write.
    """

    db: sqlite3.Connection
    writable: bool
    mutex: threading.RLock

    def __init__(
        self,
        key: tuple[Any, ...],
        db: sqlite3.Connection,
        path: Path,
        *,
        writable: bool,
        can_write: bool,
    ) -> None:
        self.key = key
        self.db = db
        self.path = path  # resolved: the base of the recording lock files of every process
        self.writable = writable  # the connection may write
        self.can_write = can_write  # the file could be written (a writer may upgrade it)
        self.mutex = threading.RLock()
        self.handles = 0
        #: Sessions this process records: session id -> (its lock, the handle holding it).
        self.recording: dict[int, tuple[locks.RecordingLock, Library]] = {}

    def upgrade(self, file: Path) -> None:
        """Swap in a read-write connection (under ``mutex``: no statement is running)."""
        fresh = _connect(file, self.key, new=False, readonly=False)
        if not fresh.writable:
            fresh.db.close()
            return
        with self.mutex:
            old, self.db, self.writable = self.db, fresh.db, True
        old.close()  # SQLite keeps its descriptor while the new connection holds locks


#: The open library files of this process, by file identity (see :func:`_file_key`).
_OPEN_FILES: dict[tuple[Any, ...], _SharedFile] = {}
_OPEN_FILES_LOCK = threading.Lock()
#: Connections inherited through fork(): kept referenced and never closed in the child,
#: because closing (even by garbage collection) could checkpoint under the parent.
_INHERITED: list[_SharedFile] = []


def _forget_inherited_files() -> None:
    global _OPEN_FILES_LOCK
    _INHERITED.extend(_OPEN_FILES.values())
    _OPEN_FILES.clear()
    _OPEN_FILES_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_files)


class Library:
    """The session library file. Open with :meth:`Library.open`; use as a context manager.

    Every ``Library.open`` of the same file in one process returns a handle on one shared
    connection (the file is closed when the last handle closes), so handles may be used
    from different threads. ``readonly`` is True when the handle may not write: opened
    read-only, or the file cannot be written (a read-only file, folder or mount).
    """

    def __init__(self, shared: _SharedFile, path: Path, *, readonly: bool) -> None:
        self._shared = shared
        self.path = path
        self.readonly = readonly or not shared.writable
        self._closed = False
        #: Sessions this handle marked "interrupted" (a recorder that had stopped), oldest
        #: first: the app says so once, in its window.
        self.recovered: list[int] = []

    # ---- opening and closing -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        readonly: bool = False,
        recover: bool = True,
    ) -> Library:
        """Open (or create) the library.

        A file that cannot be written (mode, folder or mount) opens read-only whatever
        ``readonly`` says: everything can be read, nothing is written (derived data is
        then not cached), and a write is refused with one sentence.

        Parameters
        ----------
        path : path or None
            The file; None takes ``$TRM_BIO_LIBRARY`` or the user data folder.
        create : bool
            Create the file (mode 0600, folder 0700) when it does not exist.
        readonly : bool
            Open without any write (no migration, no recovery).
        recover : bool
            Mark sessions left "recording" by a crashed recorder as "interrupted"
            (see :meth:`recover_interrupted`).

        Raises
        ------
        LibraryError
            Missing (with ``create=False``), not a trm-bio library, newer than this
            version, corrupt, or not readable. A refused file is left untouched.
        """
        file = library_path(path)
        if file.is_dir():
            raise LibraryError(f"the library path {file} is a folder, not a file")
        with _OPEN_FILES_LOCK:
            new = False
            if not file.exists():
                if readonly or not create:
                    raise LibraryError(f"there is no trm-bio library at {file}")
                _create_private_file(file)
                new = True
            key = _file_key(file)
            shared = _OPEN_FILES.get(key)
            if shared is None:
                shared = _connect(file, key, new=new, readonly=readonly)
                _OPEN_FILES[key] = shared
            elif not readonly and not shared.writable and shared.can_write:
                shared.upgrade(file)
            shared.handles += 1
        library = cls(shared, file, readonly=readonly)
        try:
            library._attach()
            if recover and not library.readonly:
                library.recover_interrupted()
        except BaseException:
            library.close()
            raise
        return library

    def _attach(self) -> None:
        """Check the schema for this handle; a writing handle brings it up to date."""
        with self._shared.mutex:
            db = self._db
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise LibraryError(
                        f"the library {self.path} was written by a newer trm-bio (schema "
                        f"{version}, this version knows up to {SCHEMA_VERSION}); update "
                        "trm-bio to open it"
                    )
                if self.readonly:
                    if version < SCHEMA_VERSION:
                        how = (
                            "open it once without read-only"
                            if self._shared.can_write
                            else "it is read-only here: open it once where it can be written"
                        )
                        raise LibraryError(f"the library {self.path} needs upgrading; {how}")
                    return
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    log.warning("%s: could not switch to WAL (journal mode %s)", self.path, mode)
                applied = migrate(db)
            except sqlite3.Error as exc:
                raise _translate(exc, self.path, "opening it") from exc
        if applied:
            log.info("%s: applied %d schema migration(s)", self.path, applied)

    def close(self) -> None:
        """Close this handle (the file itself when it is the last one of this process).

        Recordings this handle holds and did not finish stay "recording" until recovered.
        """
        if self._closed:
            return
        self._closed = True
        shared = self._shared
        with shared.mutex:
            for session_id, (lock, owner) in list(shared.recording.items()):
                if owner is self:
                    del shared.recording[session_id]
                    lock.release()
        with _OPEN_FILES_LOCK:
            shared.handles -= 1
            last = shared.handles == 0
            if last and _OPEN_FILES.get(shared.key) is shared:
                del _OPEN_FILES[shared.key]
        if last:
            with shared.mutex, contextlib.suppress(sqlite3.Error):
                shared.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _db(self) -> sqlite3.Connection:
        return self._shared.db

    @property
    def schema_version(self) -> int:
        """The library's schema version (``PRAGMA user_version``)."""
        return int(self._query("PRAGMA user_version")[0][0])

    @contextlib.contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; any SQLite failure becomes a LibraryError sentence."""
        if self.readonly:
            raise _read_only_error(self.path, doing)
        with self._shared.mutex:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise _translate(exc, self.path, doing) from exc

    def _query(self, sql: str, params: Sequence[Any] = (), doing: str = "reading") -> list[Any]:
        with self._shared.mutex:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, self.path, doing) from exc

    def _query_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts by column name (robust to a column added or moved)."""
        with self._shared.mutex:
            try:
                cursor = self._db.execute(sql, params)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            except sqlite3.Error as exc:
                raise _translate(exc, self.path, "reading") from exc

    # ---- people --------------------------------------------------------------------------

    def add_person(self, name: str) -> int:
        """Add a person (display name or pseudonymous code) and return their id."""
        name = name.strip()
        if not name:
            raise LibraryError("a person needs a name or a code")
        if self.find_person(name) is not None:
            raise LibraryError(f"there is already a person called {name!r} in the library")
        with self._transaction("adding a person") as db:
            return _person_id(db, name)

    def ensure_person(self, name: str) -> int:
        """The id of the person with this name, added if new."""
        person = self.find_person(name.strip())
        return person.id if person is not None else self.add_person(name)

    def find_person(self, name_or_id: str | int) -> Person | None:
        """A person by id (int or digits) or exact name; None when not there."""
        if isinstance(name_or_id, int) or str(name_or_id).isdigit():
            rows = self._query(_PEOPLE_SELECT + " WHERE id = ?", (int(name_or_id),))
            if rows:
                return _person(rows[0])
        rows = self._query(_PEOPLE_SELECT + " WHERE name = ?", (str(name_or_id),))
        return _person(rows[0]) if rows else None

    def list_people(self) -> list[Person]:
        """Everyone in the library, by name."""
        return [_person(row) for row in self._query(_PEOPLE_SELECT + " ORDER BY name")]

    # ---- sessions ------------------------------------------------------------------------

    def create_session(
        self,
        person_id: int | None,
        source_kind: str,
        source_id: str = "",
        device_name: str = "",
        start_ns: int = 0,
        started_utc: str | None = None,
        notes: str = "",
        tags: Iterable[str] = (),
        settings: dict[str, Any] | None = None,
        status: str = "recording",
        group_id: int | None = None,
        group_seat: int | None = None,
    ) -> int:
        """Create a session and return its id.

        Parameters
        ----------
        person_id : int or None
            Whose session it is.
        source_kind : str
            ``"ble"``, ``"simulated"``, ``"lsl"``, ``"import"``, ``"replay"``...
        source_id, device_name : str
            The source's id (e.g. Bluetooth address) and a name to show.
        start_ns : int
            Host monotonic time (ns) of the session start: zero of the beat clock.
        started_utc : str or None
            Wall-clock start (UTC ISO 8601); now when None.
        notes, tags, settings
            Free text, labels, and the settings in force (JSON-serialisable).
        status : str
            ``"recording"`` (default) while a recorder writes it: this handle then holds
            the session's recording lock until it is finished (see :meth:`finish_session`).
        group_id, group_seat : int or None
            The group session it belongs to (:meth:`create_group`) and the participant's
            place in it (0-based).
        """
        if status not in SESSION_STATUSES:
            raise LibraryError(f"unknown session status {status!r}")
        tags = list(tags)
        started_utc = started_utc or datetime.now(UTC).isoformat(timespec="seconds")
        # Nothing is written that the readers would take for damage.
        meta = _check_meta(
            {"started_utc": started_utc, "start_ns": start_ns, "source_kind": source_kind,
             "source_id": source_id, "device_name": device_name, "notes": notes,
             "tags": tags, "status": status, "settings": settings or {}}
        )
        session_id = None
        try:
            with self._transaction("creating a session") as db:
                session_id = _next_session_id(db)
                _insert_session(db, session_id, person_id, meta, status)
                if group_id is not None:
                    self._join_group(db, session_id, group_id, group_seat)
                if status == "recording":
                    # Locked before the row is committed: no other program ever sees the
                    # session "recording" without its lock and takes it for a crashed one.
                    self.hold_recording_lock(session_id)
        except BaseException:
            if session_id is not None:
                self.release_recording_lock(session_id)
            raise
        return int(session_id)

    _SESSION_SELECT = (
        "SELECT s.id AS id, s.person_id AS person_id, p.name AS person_name,"
        " s.started_utc AS started_utc, s.start_ns AS start_ns, s.ended_utc AS ended_utc,"
        " s.duration_s AS duration_s, s.source_kind AS source_kind, s.source_id AS source_id,"
        " s.device_name AS device_name, s.notes AS notes, s.tags AS tags, s.status AS status,"
        " s.settings AS settings, s.group_id AS group_id, s.group_seat AS group_seat,"
        " (SELECT count(*) FROM packets k WHERE k.session_id = s.id) AS packet_count,"
        " (SELECT count(*) FROM events e WHERE e.session_id = s.id) AS event_count"
        " FROM sessions s LEFT JOIN people p ON p.id = s.person_id"
    )

    @staticmethod
    def _session_from_row(row: dict[str, Any]) -> SessionInfo:
        """A checked SessionInfo; DamagedSessionError naming the field that is wrong."""
        session_id = int(row["id"])
        try:
            values = {name: row[name] for name in schema.SessionMeta.model_fields}
            values["tags"] = _json_column(row["tags"], "tags")
            values["settings"] = _json_column(row["settings"], "settings")
            meta = schema.validate_session_meta(values)
            if not isinstance(row["person_id"], int | None):
                raise ValueError(f"person_id is {row['person_id']!r}, not a person's id")
            for column in ("group_id", "group_seat"):
                if not isinstance(row[column], int | None) or (row[column] or 0) < 0:
                    raise ValueError(f"{column} is {row[column]!r}, not a group's number")
        except ValueError as exc:
            raise DamagedSessionError(session_id, str(exc)) from None
        name = row["person_name"]
        return SessionInfo(
            id=session_id,
            person_id=row["person_id"],
            person_name=None if name is None else str(name),
            started_utc=meta.started_utc,
            start_ns=meta.start_ns,
            ended_utc=meta.ended_utc,
            duration_s=meta.duration_s,
            source_kind=meta.source_kind,
            source_id=meta.source_id,
            device_name=meta.device_name,
            notes=meta.notes,
            tags=tuple(meta.tags),
            status=meta.status,
            settings=dict(meta.settings),
            packet_count=int(row["packet_count"]),
            event_count=int(row["event_count"]),
            group_id=row["group_id"],
            group_seat=row["group_seat"],
        )

    def sessions_and_damaged(
        self, person_id: int | None = None
    ) -> tuple[list[SessionInfo], list[DamagedSessionError]]:
        """Sessions oldest first (only one person's when ``person_id`` is given), and the
        sessions whose rows are damaged, each as the error that says what is wrong."""
        sql = self._SESSION_SELECT
        params: tuple[Any, ...] = ()
        if person_id is not None:
            sql += " WHERE s.person_id = ?"
            params = (person_id,)
        rows = self._query_dicts(sql + " ORDER BY s.started_utc, s.id", params)
        sessions: list[SessionInfo] = []
        damaged: list[DamagedSessionError] = []
        for row in rows:
            try:
                sessions.append(self._session_from_row(row))
            except DamagedSessionError as exc:
                damaged.append(exc)
        return sessions, damaged

    def list_sessions(self, person_id: int | None = None) -> list[SessionInfo]:
        """Sessions, oldest first; only one person's when ``person_id`` is given.

        A damaged session is left out with a warning (see :meth:`sessions_and_damaged`).
        """
        sessions, damaged = self.sessions_and_damaged(person_id)
        for exc in damaged:
            log.warning("%s; skipped", exc)
        return sessions

    def get_session(self, session_id: int) -> SessionInfo:
        """One session's metadata.

        Raises
        ------
        LibraryError
            There is no such session; DamagedSessionError when its row is damaged.
        """
        rows = self._query_dicts(self._SESSION_SELECT + " WHERE s.id = ?", (int(session_id),))
        if not rows:
            raise LibraryError(f"there is no session {session_id} in the library")
        return self._session_from_row(rows[0])

    # ---- group sessions -----------------------------------------------------------------

    def create_group(
        self, name: str = "", *, started_utc: str | None = None, notes: str = ""
    ) -> int:
        """Create a group session (its participants' sessions join it) and return its id.

        Parameters
        ----------
        name : str
            What the facilitator calls the group (may be empty).
        started_utc : str or None
            Wall-clock start (UTC ISO 8601); now when None.
        notes : str
            Free text about the group as a whole.
        """
        started_utc = started_utc or datetime.now(UTC).isoformat(timespec="seconds")
        try:
            meta = schema.validate_session_meta(
                {"started_utc": started_utc, "start_ns": 0, "source_kind": "group",
                 "notes": notes, "device_name": name}
            )
        except ValueError as exc:
            raise LibraryError(f"the group cannot be stored: {exc}") from None
        with self._transaction("creating a group") as db:
            cursor = db.execute(
                "INSERT INTO session_groups (name, started_utc, notes) VALUES (?,?,?)",
                (meta.device_name, meta.started_utc, meta.notes),
            )
            return int(cursor.lastrowid or 0)

    @staticmethod
    def _join_group(
        db: sqlite3.Connection, session_id: int, group_id: int, seat: int | None
    ) -> None:
        if not db.execute("SELECT 1 FROM session_groups WHERE id = ?", (group_id,)).fetchone():
            raise LibraryError(f"there is no group {group_id} in the library")
        if seat is not None and seat < 0:
            raise LibraryError(f"a participant's place in a group cannot be {seat}")
        db.execute(
            "UPDATE sessions SET group_id = ?, group_seat = ? WHERE id = ?",
            (group_id, seat, session_id),
        )

    def set_session_group(
        self, session_id: int, group_id: int | None, seat: int | None = None
    ) -> None:
        """Put a session into a group at ``seat`` (None for ``group_id``: take it out)."""
        self.get_session(session_id)
        with self._transaction("changing a session's group") as db:
            if group_id is None:
                db.execute(
                    "UPDATE sessions SET group_id = NULL, group_seat = NULL WHERE id = ?",
                    (session_id,),
                )
            else:
                self._join_group(db, session_id, group_id, seat)

    def list_groups(self) -> list[GroupInfo]:
        """Every group session, oldest first, each with its sessions in seat order."""
        rows = self._query(
            "SELECT g.id, g.name, g.started_utc, g.notes, s.id FROM session_groups g"
            " LEFT JOIN sessions s ON s.group_id = g.id"
            " ORDER BY g.started_utc, g.id, s.group_seat, s.id"
        )
        groups: dict[int, GroupInfo] = {}
        for group_id, name, started_utc, notes, session_id in rows:
            group = groups.get(group_id) or GroupInfo(
                int(group_id), str(name), str(started_utc), str(notes), ()
            )
            if session_id is not None:
                group = dataclasses.replace(
                    group, session_ids=(*group.session_ids, int(session_id))
                )
            groups[group_id] = group
        return list(groups.values())

    def get_group(self, group_id: int) -> GroupInfo:
        """One group session.

        Raises
        ------
        LibraryError
            There is no such group.
        """
        for group in self.list_groups():
            if group.id == group_id:
                return group
        raise LibraryError(f"there is no group {group_id} in the library")

    def delete_group(self, group_id: int) -> None:
        """Remove a group; its sessions stay in the library, each on its own."""
        self.get_group(group_id)
        with self._transaction("deleting a group") as db:
            db.execute(
                "UPDATE sessions SET group_id = NULL, group_seat = NULL WHERE group_id = ?",
                (group_id,),
            )
            db.execute("DELETE FROM session_groups WHERE id = ?", (group_id,))

    def group_sessions(self, group_id: int) -> list[SessionInfo]:
        """A group's sessions in seat order (damaged ones left out with a warning)."""
        sessions = []
        for session_id in self.get_group(group_id).session_ids:
            try:
                sessions.append(self.get_session(session_id))
            except DamagedSessionError as exc:
                log.warning("%s; skipped", exc)
        return sessions

    def update_session(
        self,
        session_id: int,
        *,
        person_id: int | EllipsisType | None = ...,
        notes: str | None = None,
        tags: Iterable[str] | None = None,
        device_name: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Change a session's editable metadata (arguments left out stay as they are)."""
        info = self.get_session(session_id)
        _check_meta(
            {"started_utc": info.started_utc, "start_ns": info.start_ns,
             "source_kind": info.source_kind,
             "notes": info.notes if notes is None else notes,
             "tags": list(info.tags if tags is None else tags),
             "device_name": info.device_name if device_name is None else device_name,
             "settings": info.settings if settings is None else settings}
        )
        changes: dict[str, Any] = {}
        if person_id is not ...:
            changes["person_id"] = person_id
        if notes is not None:
            changes["notes"] = notes
        if tags is not None:
            changes["tags"] = json.dumps(list(tags))
        if device_name is not None:
            changes["device_name"] = device_name
        if settings is not None:
            changes["settings"] = json.dumps(settings)
        if not changes:
            return
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._transaction("updating a session") as db:
            db.execute(
                f"UPDATE sessions SET {assignments} WHERE id = ?", (*changes.values(), session_id)
            )

    def finish_session(
        self,
        session_id: int,
        ended_utc: str | None = None,
        duration_s: float | None = None,
        status: str = "complete",
    ) -> None:
        """Mark a session finished.

        ``duration_s`` defaults to the span from ``start_ns`` to the last packet or event;
        ``ended_utc`` to ``started_utc + duration_s``.
        """
        if status not in SESSION_STATUSES:
            raise LibraryError(f"unknown session status {status!r}")
        info = self.get_session(session_id)
        if duration_s is None:
            duration_s = self._span_s(session_id, info.start_ns)
        if ended_utc is None:
            ended_utc = plus_seconds(info.started_utc, duration_s)
        with self._transaction("finishing a session") as db:
            db.execute(
                "UPDATE sessions SET ended_utc = ?, duration_s = ?, status = ? WHERE id = ?",
                (ended_utc, float(duration_s), status, session_id),
            )
        self.release_recording_lock(session_id)

    def delete_session(self, session_id: int) -> None:
        """Delete a session with its packets, events and derived data (a damaged one too).

        A session still being recorded, by another program or by another part of this one,
        is refused with a sentence; whoever records it may delete it (e.g. an empty one).
        """
        with contextlib.suppress(DamagedSessionError):  # there, if damaged: it can still go
            self.get_session(session_id)
        with self._shared.mutex:
            held = self._shared.recording.get(session_id)
            if held is not None and held[1] is not self:
                raise LibraryError(
                    f"session {session_id} is being recorded right now in this program; stop "
                    "the recording before deleting it"
                )
            if held is None and locks.recording_is_alive(self._shared.path, session_id):
                raise LibraryError(
                    f"session {session_id} is being recorded right now by another program; "
                    "stop that recording before deleting it"
                )
            with self._transaction("deleting a session") as db:
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            self.release_recording_lock(session_id)

    def _span_s(self, session_id: int, start_ns: int) -> float:
        last = self._query(
            "SELECT max(m) FROM (SELECT max(host_ns) AS m FROM packets WHERE session_id = ?"
            " UNION ALL SELECT max(host_ns) FROM events WHERE session_id = ?"
            " UNION ALL SELECT max(host_ns) FROM pmd_frames WHERE session_id = ?)",
            (session_id, session_id, session_id),
        )[0][0]
        if type(start_ns) is not int or not isinstance(last, int | None):
            raise DamagedSessionError(session_id, "its start or a packet time is not a time")
        return max(0.0, (last - start_ns) / 1e9) if last is not None else 0.0

    def recover_interrupted(self) -> list[int]:
        """Mark sessions left "recording" by a recorder that is gone as "interrupted".

        A live recorder (this process or another) holds its session's lock file, which
        the operating system releases when the process dies, even on ``kill -9``. The
        duration becomes the span to the last stored packet or event.

        Returns
        -------
        list of int
            Ids of the sessions marked.
        """
        rows = self._query(
            "SELECT id, start_ns, started_utc FROM sessions WHERE status = 'recording'"
        )
        marked: list[int] = []
        for session_id, start_ns, started_utc in rows:
            if session_id in self._shared.recording or locks.recording_is_alive(
                self._shared.path, session_id
            ):
                continue
            try:
                duration_s = self._span_s(session_id, start_ns)
            except DamagedSessionError as exc:  # left as it is; every command names it
                log.warning("%s; not marked interrupted", exc)
                continue
            with self._transaction("marking an interrupted session") as db:
                db.execute(
                    "UPDATE sessions SET status = 'interrupted', duration_s = ?, ended_utc = ?"
                    " WHERE id = ? AND status = 'recording'",
                    (duration_s, plus_seconds(started_utc, duration_s), session_id),
                )
            log.warning(
                "session %d was not finished (the recorder stopped); marked interrupted after "
                "%.1f s",
                session_id,
                duration_s,
            )
            marked.append(session_id)
        self.recovered += marked
        return marked

    # ---- packets and events ----------------------------------------------------------------

    def session_packets(
        self, session_id: int, start_ns: int | None = None, end_ns: int | None = None
    ) -> PacketBatch:
        """A session's raw packets in arrival order, optionally ``start_ns <= host_ns < end_ns``."""
        sql = "SELECT host_ns, payload, source_id FROM packets WHERE session_id = ?"
        params: list[Any] = [session_id]
        if start_ns is not None:
            sql += " AND host_ns >= ?"
            params.append(int(start_ns))
        if end_ns is not None:
            sql += " AND host_ns < ?"
            params.append(int(end_ns))
        return self._batch(session_id, self._query(sql + " ORDER BY seq", params), "packet")

    def session_pmd_frames(self, session_id: int) -> PacketBatch:
        """A session's raw PMD data frames (ECG, accelerometer) in arrival order, exactly
        as received (undecodable ones too); an empty batch for a session without any."""
        rows = self._query(
            "SELECT host_ns, payload, source_id FROM pmd_frames WHERE session_id = ?"
            " ORDER BY seq",
            (session_id,),
        )
        return self._batch(session_id, rows, "PMD frame")

    def _batch(self, session_id: int, rows: list[Any], what_row: str) -> PacketBatch:
        """Rows of (host_ns, payload, source_id) checked; DamagedSessionError naming the row."""
        if not rows:
            return PacketBatch.empty()
        host_ns, payloads, source_ids = zip(*rows, strict=True)
        for values, wanted, what in (
            (host_ns, int, "host time"),
            (payloads, bytes, "bytes"),
            (source_ids, str, "source id"),
        ):
            bad = next((i for i, v in enumerate(values) if type(v) is not wanted), None)
            if bad is not None:
                raise DamagedSessionError(
                    session_id, f"{what_row} {bad + 1} has {values[bad]!r:.40} as its {what}"
                )
        times = np.fromiter(host_ns, dtype=np.int64, count=len(rows))
        try:
            schema.check_span(self._start_ns(session_id), times, f"a {what_row}")
        except ValueError as exc:
            raise DamagedSessionError(session_id, str(exc)) from None
        return PacketBatch(times, list(payloads), list(source_ids))

    def pmd_streams(self, session_id: int) -> dict[int, StreamSpan]:
        """What a session holds of each PMD stream, by stream type (0 ECG, 2 ACC...).

        Counted from the frames' lengths and frame-type bytes, without decoding them; an
        empty dict for a session without PMD frames. A damaged row is left out of the count
        (:meth:`session_pmd_frames` names it).
        """
        rows = self._query(
            "SELECT stream, hex(substr(payload, 10, 1)), length(payload), count(*)"
            " FROM pmd_frames WHERE session_id = ? GROUP BY 1, 2, 3",
            (session_id,),
        )
        frames: dict[int, int] = {}
        samples: dict[int, int] = {}
        for stream, frame_type, length, count in rows:
            if type(stream) is not int or type(length) is not int:
                continue  # a damaged row: the readers of the frames name it, a count skips it
            frames[stream] = frames.get(stream, 0) + int(count)
            width = _PMD_SAMPLE_BYTES.get((stream, str(frame_type)))
            body = length - _PMD_HEADER_BYTES
            if width is not None and body >= 0 and body % width == 0:
                samples[stream] = samples.get(stream, 0) + int(count) * (body // width)
        return {
            stream: StreamSpan(
                n, samples.get(stream, 0), samples.get(stream, 0) / _PMD_RATES_HZ.get(stream, 1.0)
            )
            for stream, n in sorted(frames.items())
        }

    def _start_ns(self, session_id: int) -> int:
        """The session's beat-clock zero (ns), read without the rest of its row."""
        rows = self._query("SELECT start_ns FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            return 0
        if type(rows[0][0]) is not int:
            raise DamagedSessionError(session_id, f"start_ns is {rows[0][0]!r:.40}, not a time")
        return rows[0][0]

    def session_events(self, session_id: int, kinds: Iterable[str] | None = None) -> list[Event]:
        """A session's events in the order they were logged, optionally of some kinds only.

        Raises
        ------
        DamagedSessionError
            An event's row holds something no trm-bio wrote (bad JSON, a time that is
            not a number...).
        """
        sql = "SELECT seq, time_s, host_ns, kind, payload FROM events WHERE session_id = ?"
        params: list[Any] = [session_id]
        if kinds is not None:
            wanted = list(kinds)
            sql += f" AND kind IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        rows = self._query(sql + " ORDER BY seq", params)
        start_ns = self._start_ns(session_id) if rows else 0
        events = []
        for seq, time_s, ns, kind, data in rows:
            try:
                values = {"seq": seq, "time_s": time_s, "host_ns": ns, "kind": kind}
                events.append(_checked_event(values, _json_column(data, "payload"), start_ns))
            except ValueError as exc:
                raise DamagedSessionError(session_id, f"event {seq!r:.20}: {exc}") from None
        return events

    def update_event(
        self,
        session_id: int,
        seq: int,
        *,
        time_s: float | None = None,
        kind: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Event:
        """Correct a logged event after the session: its time, kind or payload.

        ``time_s`` is on the beat clock (s from the session's start), within the session;
        the event's host time, when stored, moves with it by the same amount. The session's
        cached summary (whose effects and "what helped" come from the events) is dropped,
        to be computed again. Arguments left out stay as they are.

        Returns
        -------
        Event
            The event as it is stored now.

        Raises
        ------
        LibraryError
            No such session or event, a session still being recorded, a time outside the
            session, or a kind or payload that an event of that kind cannot hold (the
            message names the field).
        """
        self._refuse_while_recording(session_id, "correcting its events")
        info = self.get_session(session_id)
        old = [e for e in self.session_events(session_id) if e.seq == seq]
        if not old:
            raise LibraryError(f"session {session_id} has no event {seq}")
        event = old[0]
        new_time = event.time_s if time_s is None else float(time_s)
        end_s = max(info.duration_s or 0.0, event.time_s)
        if not 0.0 <= new_time <= end_s:
            raise LibraryError(
                f"an event of session {session_id} must lie within the session, from 0 to "
                f"{end_s:.0f} s; {new_time:g} s does not"
            )
        host_ns = event.host_ns
        if host_ns is not None:
            host_ns += round((new_time - event.time_s) * 1e9)
        values = {
            "seq": seq,
            "time_s": new_time,
            "host_ns": host_ns,
            "kind": str(event.kind if kind is None else kind),
        }
        data = event.payload if payload is None else payload
        try:
            changed = _checked_event(values, data, info.start_ns)
        except ValueError as exc:
            raise LibraryError(f"the event cannot be changed so: {exc}") from None
        row = _event_row(session_id, changed)
        with self._transaction("correcting an event") as db:
            db.execute(
                "UPDATE events SET time_s = ?, host_ns = ?, kind = ?, payload = ?"
                " WHERE session_id = ? AND seq = ?",
                (*row[2:], session_id, seq),
            )
            db.execute(
                "DELETE FROM session_derived WHERE session_id = ? AND name = 'summary'",
                (session_id,),
            )
        return changed

    def delete_event(self, session_id: int, seq: int) -> None:
        """Delete a logged event after the session (e.g. a key pressed by mistake).

        The cached summary is dropped as in :meth:`update_event`. LibraryError for no such
        event or a session being recorded.
        """
        self._refuse_while_recording(session_id, "correcting its events")
        with self._transaction("deleting an event") as db:
            gone = db.execute(
                "DELETE FROM events WHERE session_id = ? AND seq = ?", (session_id, seq)
            ).rowcount
            db.execute(
                "DELETE FROM session_derived WHERE session_id = ? AND name = 'summary'",
                (session_id,),
            )
        if not gone:
            raise LibraryError(f"session {session_id} has no event {seq}")

    def _refuse_while_recording(self, session_id: int, doing: str) -> None:
        """LibraryError when the session is being recorded, here or by another program."""
        with self._shared.mutex:
            if session_id in self._shared.recording or locks.recording_is_alive(
                self._shared.path, session_id
            ):
                raise LibraryError(
                    f"session {session_id} is being recorded right now; end it before {doing}"
                )
    def next_frame_seq(self, session_id: int) -> int:
        """The next free PMD frame sequence number of a session."""
        row = self._query(
            "SELECT coalesce(max(seq) + 1, 0) FROM pmd_frames WHERE session_id = ?",
            (session_id,),
        )[0]
        return int(row[0])

    def next_sequence_numbers(self, session_id: int) -> tuple[int, int]:
        """The next free packet and event sequence numbers of a session."""
        row = self._query(
            "SELECT (SELECT coalesce(max(seq) + 1, 0) FROM packets WHERE session_id = ?),"
            " (SELECT coalesce(max(seq) + 1, 0) FROM events WHERE session_id = ?)",
            (session_id, session_id),
        )[0]
        return int(row[0]), int(row[1])

    def write_rows(
        self,
        packet_rows: Sequence[PacketRow],
        event_rows: Sequence[EventRow],
        frame_rows: Sequence[FrameRow] = (),
    ) -> None:
        """Insert packets, events and PMD frames in one transaction (the recorder's commit)."""
        with self._transaction("recording") as db:
            _insert_rows(db, packet_rows, event_rows, frame_rows)

    def add_event(
        self, session_id: int, time_s: float, kind: str, payload: dict[str, Any]
    ) -> Event:
        """Add one event to a finished session (e.g. the person's rating given after it).

        Checked as an import checks events; a session still being recorded is refused (its
        recorder numbers its events). Raises LibraryError with one sentence.
        """
        info = self.get_session(session_id)
        if info.status == "recording":
            raise LibraryError(
                f"session {session_id} is still being recorded; log the event in the session"
            )
        _, seq = self.next_sequence_numbers(session_id)
        try:
            event = _checked_event(
                {"seq": seq, "time_s": float(time_s), "host_ns": None, "kind": str(kind)},
                payload, info.start_ns,
            )
        except ValueError as exc:
            raise LibraryError(f"the {kind} event cannot be stored ({exc})") from None
        with self._transaction("adding an event") as db:
            _insert_rows(db, (), [_event_row(session_id, event)])
        return event

    def hold_recording_lock(self, session_id: int) -> None:
        """Hold the session's recording lock until it is finished or this handle closed.

        The lock is a file beside the library (never the library, its -wal or -shm), so
        that other processes, and other handles of this one, see the session is live.
        """
        shared = self._shared
        with shared.mutex:
            held = shared.recording.get(session_id)
            if held is not None:
                if held[1] is self:
                    return
                raise LibraryError(
                    f"session {session_id} is already being recorded in this program"
                )
            try:
                lock = locks.RecordingLock(shared.path, session_id)
            except BlockingIOError as exc:
                raise LibraryError(
                    f"session {session_id} is already being recorded by another program"
                ) from exc
            except OSError as exc:
                raise LibraryError(
                    f"cannot write beside the library {self.path} ({exc.strerror or exc})"
                ) from exc
            shared.recording[session_id] = (lock, self)

    def release_recording_lock(self, session_id: int) -> None:
        """Drop the session's recording lock if this handle holds it (the session stays)."""
        with self._shared.mutex:
            held = self._shared.recording.get(session_id)
            if held is None or held[1] is not self:
                return
            del self._shared.recording[session_id]
            held[0].release()

    # ---- imported RR and derived data ------------------------------------------------------

    def imported_rr(self, session_id: int) -> ImportedRR | None:
        """The exact RR values of an imported session, or None for a recorded one."""
        rows = self._query(
            "SELECT rr_ms, times_s, info FROM imported_rr WHERE session_id = ?", (session_id,)
        )
        if not rows:
            return None
        rr_blob, times_blob, info = rows[0]
        try:
            rr = _float_blob(rr_blob, "rr_ms")
            times = None if times_blob is None else _float_blob(times_blob, "times_s")
            schema.check_imported_rr(rr, times)
            details = schema.check_json_value(_json_column(info, "info"))
            if not isinstance(details, dict):
                raise ValueError("info is not a JSON object")
        except ValueError as exc:
            raise DamagedSessionError(session_id, f"imported RR values: {exc}") from None
        return ImportedRR(rr, times, details)

    def _store_derived(self, owner: str, owner_id: int, name: str, data: Any) -> None:
        """Cache derived data (JSON-serialisable) of a ``"session"`` or a ``"person"``."""
        table, column = _DERIVED_TABLES[owner]
        with self._transaction("storing derived data") as db:
            db.execute(
                f"INSERT OR REPLACE INTO {table} ({column}, name, data, updated_utc)"
                " VALUES (?,?,?,?)",
                (owner_id, name, json.dumps(data), utc_now_iso()),
            )

    def _get_derived(self, owner: str, owner_id: int, name: str) -> Any | None:
        """Cached derived data of a ``"session"`` or a ``"person"``, or None (absent or
        unreadable: recompute it)."""
        table, column = _DERIVED_TABLES[owner]
        rows = self._query(
            f"SELECT data FROM {table} WHERE {column} = ? AND name = ?", (owner_id, name)
        )
        return _derived(rows[0][0], f"{owner} {owner_id}: cached {name}") if rows else None

    def store_derived(self, session_id: int, name: str, data: Any) -> None:
        """Cache derived data of a session (JSON-serialisable), e.g. ``"summary"``."""
        self._store_derived("session", session_id, name, data)

    def get_derived(self, session_id: int, name: str) -> Any | None:
        """Cached derived data of a session, or None (absent or unreadable: recompute it)."""
        return self._get_derived("session", session_id, name)

    def store_arrays(
        self, session_id: int, name: str, key: str, arrays: dict[str, np.ndarray]
    ) -> None:
        """Cache derived per-beat arrays of a session under ``name``, valid for ``key``."""
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)  # read back with allow_pickle=False
        with self._transaction("storing derived arrays") as db:
            db.execute(
                "INSERT OR REPLACE INTO session_arrays (session_id, name, key, data, updated_utc)"
                " VALUES (?,?,?,?,?)",
                (session_id, name, key, buffer.getvalue(), utc_now_iso()),
            )

    def get_arrays(self, session_id: int, name: str, key: str) -> dict[str, np.ndarray] | None:
        """Cached arrays stored with the same ``key``, or None (absent or stale)."""
        rows = self._query(
            "SELECT data FROM session_arrays WHERE session_id = ? AND name = ? AND key = ?",
            (session_id, name, key),
        )
        if not rows:
            return None
        try:
            with np.load(io.BytesIO(rows[0][0]), allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (  # a damaged cache is recomputed, not fatal
            OSError,
            ValueError,
            TypeError,
            EOFError,
            KeyError,
            zipfile.BadZipFile,
            zlib.error,
        ) as exc:
            log.warning("session %d: cached %s unreadable (%s)", session_id, name, exc)
            return None

    def store_summary(self, session_id: int, summary: dict[str, Any]) -> None:
        """Cache a session's summary (derived: can be recomputed)."""
        self.store_derived(session_id, "summary", summary)

    def get_summary(self, session_id: int) -> dict[str, Any] | None:
        """A session's cached summary, or None."""
        return self.get_derived(session_id, "summary")

    def store_person_derived(self, person_id: int, name: str, data: Any) -> None:
        """Cache derived data of a person, e.g. ``"baseline"`` for the regulation model."""
        self._store_derived("person", person_id, name, data)

    def get_person_derived(self, person_id: int, name: str) -> Any | None:
        """Cached derived data of a person, or None."""
        return self._get_derived("person", person_id, name)

    # ---- whole sessions, for export and import -------------------------------------------------

    def session_record(self, session_id: int) -> SessionRecord:
        """Everything about a session, for :func:`trm_bio.store.json_format.export_json`."""
        info = self.get_session(session_id)
        session = {
            key: getattr(info, key)
            for key in (
                "started_utc",
                "start_ns",
                "ended_utc",
                "duration_s",
                "source_kind",
                "source_id",
                "device_name",
                "notes",
                "status",
                "settings",
            )
        }
        session["tags"] = list(info.tags)
        derived = {
            name: value
            for name, data in self._query(
                "SELECT name, data FROM session_derived WHERE session_id = ?", (session_id,)
            )
            if (value := _derived(data, f"session {session_id}: cached {name}")) is not None
        }
        return SessionRecord(
            session=session,
            person_name=info.person_name,
            packets=self.session_packets(session_id),
            events=self.session_events(session_id),
            imported_rr=self.imported_rr(session_id),
            derived=derived,
            pmd_frames=self.session_pmd_frames(session_id),
        )

    def add_session_record(self, record: SessionRecord) -> int:
        """Store a whole session (an export, or an RR file's) as a new session; returns its id.

        Every field is checked first (:mod:`trm_bio.store.schema`); then the person (when
        new), the session, its packets, events and imported RR values are written in one
        transaction, so an import either succeeds whole or leaves nothing behind. Derived
        data is not taken from the record: it is recomputed from what the session holds.

        Raises
        ------
        LibraryError
            A field no session can hold (the sentence names it), or a library that cannot
            be written.
        """
        try:
            meta, events = check_record(record)
        except ValueError as exc:
            raise LibraryError(f"the session to import is damaged: {exc}") from None
        status = "interrupted" if meta.status == "recording" else meta.status
        packets = record.packets
        rr = record.imported_rr
        with self._transaction("importing a session") as db:
            person_id = None if record.person_name is None else _person_id(db, record.person_name)
            session_id = _next_session_id(db)
            _insert_session(db, session_id, person_id, meta, status)
            _insert_rows(
                db,
                (
                    (session_id, seq, ns, source, payload)
                    for seq, (ns, source, payload) in enumerate(
                        zip(
                            packets.host_ns.tolist(),
                            packets.source_ids,
                            packets.payloads,
                            strict=True,
                        )
                    )
                ),
                (_event_row(session_id, e) for e in events),
                (
                    frame_row(session_id, seq, ns, source, payload)
                    for seq, (ns, source, payload) in enumerate(
                        zip(
                            record.pmd_frames.host_ns.tolist(),
                            record.pmd_frames.source_ids,
                            record.pmd_frames.payloads,
                            strict=True,
                        )
                    )
                ),
            )
            if rr is not None:
                db.execute(
                    "INSERT INTO imported_rr (session_id, rr_ms, times_s, info)"
                    " VALUES (?,?,?,?)",
                    (
                        session_id,
                        np.ascontiguousarray(rr.rr_ms, "<f8").tobytes(),
                        None
                        if rr.times_s is None
                        else np.ascontiguousarray(rr.times_s, "<f8").tobytes(),
                        json.dumps(rr.info, allow_nan=False),
                    ),
                )
        return session_id


# ---- helpers ---------------------------------------------------------------------------------


def _create_private_file(file: Path) -> None:
    """Create an empty file readable by its owner only, in a folder only they can enter."""
    folder = file.parent
    if not folder.exists():
        try:
            folder.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise LibraryError(
                f"cannot create the library folder {folder} ({exc.strerror or exc})"
            ) from exc
    try:
        fd = os.open(file, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as exc:
        raise LibraryError(f"cannot create the library {file} ({exc.strerror or exc})") from exc
    os.close(fd)
    with contextlib.suppress(OSError):  # the umask may have narrowed it; never widen it
        os.chmod(file, 0o600)


def _next_session_id(db: sqlite3.Connection) -> int:
    """A session id never given before, even to a deleted session (inside a transaction).

    A counters row that is missing or damaged (not a whole number, or behind the highest
    id in use) is set again from the highest id in use, so no id is ever given twice.
    """
    session_id = int(
        db.execute(
            "SELECT max(coalesce((SELECT value FROM counters WHERE name = 'session'"
            " AND typeof(value) = 'integer'), 0), coalesce((SELECT max(id) FROM sessions), 0))"
            " + 1"
        ).fetchone()[0]
    )
    db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES ('session', ?)", (session_id,))
    return session_id


def _check_meta(values: dict[str, Any]) -> schema.SessionMeta:
    """The session metadata checked; LibraryError naming the field no session can hold."""
    try:
        return schema.validate_session_meta(values)
    except ValueError as exc:
        raise LibraryError(f"the session cannot be stored: {exc}") from None


def _insert_session(
    db: sqlite3.Connection,
    session_id: int,
    person_id: int | None,
    meta: schema.SessionMeta,
    status: str,
) -> None:
    """Write a session's row (inside a transaction)."""
    db.execute(
        "INSERT INTO sessions (id, person_id, started_utc, start_ns, ended_utc,"
        " duration_s, source_kind, source_id, device_name, notes, tags, status,"
        " settings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            session_id,
            person_id,
            meta.started_utc,
            meta.start_ns,
            meta.ended_utc,
            meta.duration_s,
            meta.source_kind,
            meta.source_id,
            meta.device_name,
            meta.notes,
            json.dumps(list(meta.tags)),
            status,
            json.dumps(meta.settings),
        ),
    )


def frame_row(session_id: int, seq: int, host_ns: int, source_id: str, payload: bytes) -> FrameRow:
    """The row of a PMD frame: its stream type (first byte, -1 when empty) beside its bytes."""
    return (session_id, seq, host_ns, source_id, payload[0] if payload else -1, payload)


def _insert_rows(
    db: sqlite3.Connection,
    packet_rows: Iterable[PacketRow],
    event_rows: Iterable[EventRow],
    frame_rows: Iterable[FrameRow] = (),
) -> None:
    """Write packets, events and PMD frames (inside a transaction)."""
    db.executemany(
        "INSERT INTO packets (session_id, seq, host_ns, source_id, payload) VALUES (?,?,?,?,?)",
        packet_rows,
    )
    db.executemany(
        "INSERT INTO events (session_id, seq, time_s, host_ns, kind, payload)"
        " VALUES (?,?,?,?,?,?)",
        event_rows,
    )
    db.executemany(
        "INSERT INTO pmd_frames (session_id, seq, host_ns, source_id, stream, payload)"
        " VALUES (?,?,?,?,?,?)",
        frame_rows,
    )


def check_record(record: SessionRecord) -> tuple[schema.SessionMeta, list[Event]]:
    """A session record's metadata and events, every field checked (see
    :mod:`trm_bio.store.schema`); ValueError naming the first field that is wrong."""
    if not isinstance(record.session, dict):
        raise ValueError("session is not a JSON object")
    meta = schema.validate_session_meta(record.session)
    name = record.person_name
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"person is {name!r:.40}, not a name or code")
    if name is not None:
        try:
            schema.check_json_value(name)
        except ValueError as exc:
            raise ValueError(f"person: {exc}") from None
    _check_batch(record.packets, "packets", meta.start_ns)
    _check_batch(record.pmd_frames, "pmd_frames", meta.start_ns)
    events = []
    for i, e in enumerate(record.events):
        values = {"seq": e.seq, "time_s": e.time_s, "host_ns": e.host_ns, "kind": str(e.kind)}
        try:
            events.append(_checked_event(values, e.payload, meta.start_ns))
        except ValueError as exc:
            raise ValueError(f"events[{i}].{exc}") from None
    if len({e.seq for e in events}) != len(events):
        raise ValueError("events: two events have the same seq")
    rr = record.imported_rr
    if rr is not None:
        try:
            schema.check_imported_rr(
                np.asarray(rr.rr_ms, dtype=np.float64),
                None if rr.times_s is None else np.asarray(rr.times_s, dtype=np.float64),
            )
            if not isinstance(rr.info, dict):
                raise ValueError("info is not a JSON object")
            try:
                schema.check_json_value(rr.info)
            except ValueError as exc:
                raise ValueError(f"info: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"imported_rr.{exc}") from None
    return meta, events


def _check_batch(batch: PacketBatch, name: str, start_ns: int) -> None:
    """ValueError naming what is wrong in a record's packets or PMD frames."""
    host_ns = np.asarray(batch.host_ns)
    n = len(batch.payloads)
    if host_ns.shape != (n,) or len(batch.source_ids) != n:
        raise ValueError(f"{name}: host_ns, sources and payloads differ in length")
    if n and host_ns.dtype.kind not in "iu":
        raise ValueError(f"{name}.host_ns are not whole numbers")
    if not all(type(p) is bytes for p in batch.payloads):
        raise ValueError(f"{name}: a payload is not bytes")
    if not all(isinstance(x, str) for x in batch.source_ids):
        raise ValueError(f"{name}: a source id is not text")
    try:
        schema.check_json_value(list(dict.fromkeys(batch.source_ids)))
    except ValueError as exc:
        raise ValueError(f"{name}.source_ids: {exc}") from None
    schema.check_span(start_ns, host_ns.astype(np.int64), f"{name}.host_ns")


def _checked_event(values: dict[str, Any], payload: Any, start_ns: int) -> Event:
    """One event from its fields and payload, every one checked (see
    :mod:`trm_bio.store.schema`); ValueError naming the field that is wrong."""
    checked = schema.validate_event({**values, "payload": payload})
    if checked.host_ns is not None:
        schema.check_span(start_ns, np.asarray([checked.host_ns], np.int64), "host_ns")
    return Event(checked.time_s, checked.kind, checked.payload, checked.host_ns, checked.seq)


def _event_row(session_id: int, event: Event) -> EventRow:
    """The row of an event read from a library or an export (it has its ``seq``)."""
    if event.seq is None:
        raise LibraryError(f"the {event.kind} event at {event.time_s} s has no seq")
    payload = json.dumps(event.payload, allow_nan=False)
    return (session_id, event.seq, event.time_s, event.host_ns, str(event.kind), payload)


def _person_id(db: sqlite3.Connection, name: str) -> int:
    """The id of the person called ``name``, added if new (inside a transaction)."""
    name = name.strip()
    row = db.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
    if row is not None:
        return int(row[0])
    cursor = db.execute(
        "INSERT INTO people (name, created_utc) VALUES (?, ?)", (name, utc_now_iso())
    )
    return int(cursor.lastrowid or 0)


_PEOPLE_SELECT = "SELECT id, name, created_utc FROM people"


def _person(row: Sequence[Any]) -> Person:
    person_id, name, created_utc = row
    return Person(int(person_id), str(name), str(created_utc))


def _json_column(text: Any, column: str) -> Any:
    """A JSON column's value; ValueError naming the column when it is not JSON text."""
    if not isinstance(text, str):
        raise ValueError(f"{column} holds {text!r:.40}, not JSON text")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError(f"{column} is not valid JSON") from None


def _derived(text: Any, what: str) -> Any | None:
    """Cached derived data from its JSON; None (recompute it) when it is unreadable."""
    try:
        return _json_column(text, "data")
    except ValueError as exc:
        log.warning("%s is unreadable (%s); it will be recomputed", what, exc)
        return None


def _float_blob(blob: Any, column: str) -> np.ndarray:
    """float64 values stored little-endian; ValueError when the blob cannot hold them."""
    if not isinstance(blob, bytes) or len(blob) % 8:
        raise ValueError(f"{column} is not a list of numbers")
    return np.frombuffer(blob, "<f8").astype(np.float64)


def is_library_file(path: str | os.PathLike[str], library_file: Path) -> bool:
    """Whether ``path`` names the library file or one of SQLite's files beside it.

    Decided from names and ``os.stat`` only (nothing is opened), so that a command can
    refuse to write an export over the library or read the library as an import.
    """
    candidate = Path(path)
    with contextlib.suppress(OSError):
        if candidate.exists() and library_file.exists():
            if os.path.samefile(candidate, library_file):
                return True
    try:
        resolved = candidate.resolve()
        base = library_file.resolve()
    except (OSError, RuntimeError):
        return False
    names = {base.name + suffix for suffix in ("", "-wal", "-shm", "-journal")}
    return resolved.parent == base.parent and resolved.name in names


def _file_key(file: Path) -> tuple[Any, ...]:
    """The file's identity, whatever path names it, from ``os.stat`` (which opens nothing)."""
    try:
        st = os.stat(file)
    except OSError as exc:
        raise LibraryError(f"cannot read the library {file} ({exc.strerror or exc})") from exc
    if st.st_ino:
        return (st.st_dev, st.st_ino)
    return (st.st_dev, os.path.normcase(str(file.resolve())))  # a file system without inodes


def _check_header(file: Path) -> None:
    """Refuse a file that is not a trm-bio library, from its header, leaving it untouched.

    Read through SQLite, never from Python: closing a Python descriptor of the file would
    drop every SQLite lock this process holds on it (sqlite.org, "How To Corrupt An SQLite
    Database File", 2.2), and SQLite's own descriptors are shared safely. ``immutable``: no
    lock taken, and no ``-wal`` or ``-shm`` created beside a file that may not be ours.
    """
    not_sqlite = (
        f"{file} is not a trm-bio library (it is not an SQLite database); it was left untouched"
    )
    try:
        probe = sqlite3.connect(
            f"{file.resolve().as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise _translate(exc, file, "reading its header") from exc
    try:
        app_id = probe.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.Error as exc:
        if _primary(exc) == _SQLITE_NOTADB:
            raise LibraryError(not_sqlite) from exc
        raise _translate(exc, file, "reading its header") from exc
    finally:
        probe.close()
    if app_id != APPLICATION_ID:
        raise LibraryError(
            f"{file} is an SQLite database of another program, not a trm-bio library; it was "
            "left untouched"
        )


def _connect(file: Path, key: tuple[Any, ...], *, new: bool, readonly: bool) -> _SharedFile:
    """This process's connection to a library file: checked, read-write when it may be.

    A file that cannot be written opens read-only; a WAL library on a read-only mount, whose
    ``-shm`` cannot be created, opens ``immutable`` (what is in its ``-wal`` is not seen).
    """
    can_write = os.access(file, os.W_OK) and os.access(file.parent, os.W_OK | os.X_OK)
    writable = can_write and not readonly
    if new or file.stat().st_size == 0:  # an empty file: a creation cut short
        if not writable:
            raise LibraryError(f"there is no trm-bio library at {file} yet (the file is empty)")
        new = True
    else:
        _check_header(file)
    uri = file.resolve().as_uri()
    ways = [("read-write", str(file), False)] if writable else []
    ways += [
        ("read-only", f"{uri}?mode=ro", True),
        ("immutable", f"{uri}?mode=ro&immutable=1", True),
    ]
    for how, target, as_uri in ways:
        try:
            db = sqlite3.connect(target, uri=as_uri, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _translate(exc, file, "opening it") from exc
        try:
            _prepare_connection(db, file, new=new, writable=how == "read-write")
        except sqlite3.Error as exc:
            db.close()
            if how != "immutable" and _primary(exc) in _UNWRITABLE:
                log.info("%s cannot be opened %s (%s); trying read-only", file, how, exc)
                continue
            raise _translate(exc, file, "opening it") from exc
        except LibraryError:
            db.close()
            raise
        if how != "read-write" and not readonly:
            log.info(
                "the library %s is read-only here (opened %s): it is read, and nothing is "
                "written to it, not even cached analyses",
                file,
                how,
            )
        if how == "immutable" and Path(f"{file}-wal").exists():
            log.warning(
                "the library %s is on a read-only disk beside a -wal file that cannot be read "
                "there; the newest changes may be missing",
                file,
            )
        return _SharedFile(
            key, db, file.resolve(), writable=how == "read-write", can_write=can_write
        )
    raise AssertionError("the immutable way always ends the loop")


def _prepare_connection(db: sqlite3.Connection, file: Path, *, new: bool, writable: bool) -> None:
    """Connection-wide settings, and the checks that refuse a file before anything is written."""
    db.execute("PRAGMA busy_timeout = 5000")
    if new:
        # Written in rollback-journal mode so the mark is in the main file's header
        # before anything else: a crash right after creation still leaves it ours.
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    elif db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        raise LibraryError(
            f"{file} is an SQLite database of another program, not a trm-bio library; it was "
            "left untouched"
        )
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise LibraryError(
            f"the library {file} was written by a newer trm-bio (schema {version}, this "
            f"version knows up to {SCHEMA_VERSION}); update trm-bio to open it"
        )
    # Touch the schema so a corrupt file fails here rather than halfway through a task.
    db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    db.execute("PRAGMA foreign_keys = ON")
    if writable:
        # FULL: a commit survives power loss too, and we commit about once a second.
        db.execute("PRAGMA synchronous = FULL")


def _primary(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of an error (the low byte of the extended code)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _read_only_error(file: Path, doing: str) -> LibraryError:
    return LibraryError(
        f"the library {file} is read-only, so it cannot be written while {doing}; "
        "everything written before is kept"
    )


def plus_seconds(iso_utc: str, seconds: float) -> str:
    """``iso_utc`` plus ``seconds``, ISO 8601 (unchanged when it is not a readable time)."""
    try:
        return (datetime.fromisoformat(iso_utc) + timedelta(seconds=seconds)).isoformat(
            timespec="microseconds"
        )
    except (TypeError, ValueError, OverflowError):  # not a time, or past the year 9999
        return iso_utc


def _translate(exc: sqlite3.Error, file: Path, doing: str) -> LibraryError:
    """One sentence for an SQLite failure."""
    primary = _primary(exc)
    text = str(exc)
    if primary == _SQLITE_FULL or "full" in text:
        return LibraryError(
            f"the library {file} cannot grow while {doing}: the disk is full; everything "
            "written before this moment is kept"
        )
    if primary in (_SQLITE_READONLY, _SQLITE_PERM) or "readonly" in text or "read-only" in text:
        return _read_only_error(file, doing)
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text:
        return LibraryError(
            f"the library {file} is damaged (SQLite says: {text}); it was left as it is"
        )
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return LibraryError(f"the library {file} is busy in another program; try again")
    if primary == _SQLITE_CANTOPEN:
        return LibraryError(f"the library {file} cannot be opened (SQLite says: {text})")
    if primary == _SQLITE_IOERR:
        return LibraryError(
            f"the library {file} could not be written while {doing} (input/output error: is "
            "the disk still there, and not full?)"
        )
    return LibraryError(f"the library {file} failed while {doing} (SQLite says: {text})")
