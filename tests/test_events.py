"""The one event vocabulary: kinds, records and payloads from the session to the store and out."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from devices.packet import LinkState, StatusEvent
from devices.simulated import simulate
from skills.flow import FlowEvent
from skills.sensations import SensationLog, ZoneRating
from tests.cli_run import run
from tests.library_commands import record_session
from trm_bio.core.events import (
    BREAKING_STATES,
    ConnectionPayload,
    Event,
    EventKind,
    FlowPayload,
    SensationPayload,
    TextPayload,
    ZoneRatingPayload,
)
from trm_bio.core.growing import GrowingArray
from trm_bio.history import session_beats
from trm_bio.session import Session
from trm_bio.store.exports import events_csv_path, read_events_csv
from trm_bio.store.json_format import record_to_json
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder
from trm_bio.store.replay import load_items, packets_before

START_NS = 10**12
STORED_KINDS = ["flow", "sensation", "connection", "connection", "zone_rating", "resource"]


def _rows(path: Path, session: int) -> list[tuple]:
    """The session's event rows as SQLite holds them (kind text, payload JSON text)."""
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT seq, time_s, host_ns, kind, payload FROM events WHERE session_id = ?"
            " ORDER BY seq",
            (session,),
        ).fetchall()
    finally:
        db.close()


def test_stored_kinds_read_as_the_enum_and_export_as_stored(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite3"
    with Library.open(path) as library:
        session = record_session(library)  # kinds written as text, as every library holds them
        events = library.session_events(session)
        exported = record_to_json(library.session_record(session))["events"]
    assert all(type(e) is Event and isinstance(e.kind, EventKind) for e in events)
    assert [e.kind for e in events] == STORED_KINDS
    rows = _rows(path, session)
    assert exported == [
        {"seq": seq, "time_s": t, "host_ns": ns, "kind": kind, "payload": json.loads(payload)}
        for seq, t, ns, kind, payload in rows
    ]
    assert all(type(e["kind"]) is str for e in exported)  # plain text in the file


def test_a_kind_this_version_does_not_know_is_kept_as_text() -> None:
    event = Event(1.0, "heartmath_session", {"text": "from a newer trm-bio", "level": 2})
    assert event.kind == "heartmath_session" and not isinstance(event.kind, EventKind)
    assert event.details is None
    assert event.to_json()["payload"] == {"text": "from a newer trm-bio", "level": 2}


def test_payload_records_read_what_the_practice_writes() -> None:
    sensation = SensationLog.record(3.0, "pleasant", ("warm", "tingly"), location="chest",
                                    intensity=4, note="soft").to_dict()
    assert SensationPayload.from_json(sensation) == SensationPayload(
        "pleasant", ("warm", "tingly"), "chest", 4, "soft"
    )
    rating = ZoneRating(5.0, "high", "racing").to_dict()
    assert ZoneRatingPayload.from_json(rating) == ZoneRatingPayload("high", "racing")
    flow = FlowEvent(7.0, "step_started", 3, "grounding", 2, "Feel the floor.", "plan-a", 1, "x")
    read = FlowPayload.from_json(flow.to_dict())
    names = {f.name for f in dataclasses.fields(FlowPayload)}
    assert names == {f.name for f in dataclasses.fields(FlowEvent)} - {"time_s"}
    assert all(getattr(read, name) == getattr(flow, name) for name in names)
    # What an older or hand-made payload leaves out reads as the field's default.
    assert SensationPayload.from_json({"valence": "neutral"}) == SensationPayload("neutral")
    assert TextPayload.from_json({}).text is None


def test_payloads_the_app_writes_are_the_json_it_always_wrote() -> None:
    link = ConnectionPayload(LinkState.CONTACT_LOST, "no skin contact", "AA:BB")
    assert json.dumps(link.to_json()) == (
        '{"state": "contact lost", "message": "no skin contact", "source": "AA:BB"}'
    )
    assert ConnectionPayload.from_json(link.to_json()) == link
    assert TextPayload("the lake").to_json() == {"text": "the lake"}
    with pytest.raises(ValueError):
        ConnectionPayload.from_json({"state": "teleported"})


def test_a_live_session_logs_and_stores_one_event_type(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite3"
    with Library.open(path) as library:
        session_id = library.create_session(None, "ble", "AA:BB", start_ns=START_NS)
        session = Session(START_NS, recorder=Recorder(library, session_id))
        update = session.process([StatusEvent(START_NS + 10, "AA:BB", LinkState.STREAMING, "ok")])
        marker = session.log(EventKind.MARKER, TextPayload("here").to_json())
        session.close()
        library.finish_session(session_id)
        stored = library.session_events(session_id)
    assert [type(e) for e in (*update.events, marker)] == [Event, Event]
    assert [(e.kind, e.payload) for e in session.events] == [(e.kind, e.payload) for e in stored]
    assert [row[3:] for row in _rows(path, session_id)] == [
        ("connection", '{"state": "streaming", "message": "ok", "source": "AA:BB"}'),
        ("marker", '{"text": "here"}'),
    ]


def test_the_cli_events_table_keeps_each_event_kind_and_payload(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite3"
    with Library.open(path) as library:
        session = record_session(library)
        stored = library.session_events(session)
    out = tmp_path / "s.csv"
    run("export", str(session), "--format", "csv", "-o", str(out), library=path, check=True)
    table = read_events_csv(events_csv_path(out))
    # Each row says what the event was and holds its payload exactly (it had lost both:
    # a practice step came out as its own transition, and every payload as {}).
    assert [row["kind"] for row in table] == STORED_KINDS
    assert [row["payload"] for row in table] == [e.payload for e in stored]


@pytest.mark.parametrize("state", [LinkState.FAILED, LinkState.CONTACT_LOST])
def test_live_replay_and_batch_break_the_segment_on_the_same_link_states(
    tmp_path: Path, state: LinkState
) -> None:
    items = list(simulate("calm", seed=2, duration_s=240.0, start_ns=START_NS))
    at = next(i for i, item in enumerate(items) if item.host_ns > START_NS + 120 * 10**9)
    source = items[at].source_id
    items[at:at] = [
        StatusEvent(items[at].host_ns - 1, source, state, "the link changed"),
        StatusEvent(items[at].host_ns - 1, source, LinkState.STREAMING, "beats again"),
    ]
    with Library.open(tmp_path / "lib.sqlite3") as library:
        session_id = library.create_session(None, "simulated", source, start_ns=START_NS)
        live = Session(START_NS, recorder=Recorder(library, session_id))
        live_beats = [b.beat for i in items for b in live.process([i]).beats]
        live.close()
        library.finish_session(session_id)
        batch = session_beats(library, library.get_session(session_id))
        info, stored = load_items(library, session_id)
    replay = Session(info.start_ns, history=lambda index: packets_before(stored, index))
    replayed = [b.beat for b in replay.process(stored).beats]
    segments = np.array([b.segment for b in live_beats])
    assert np.unique(segments).size == (2 if state in BREAKING_STATES else 1)
    np.testing.assert_array_equal(batch.segment, segments)
    np.testing.assert_array_equal([b.segment for b in replayed], segments)


def test_a_growing_array_holds_what_was_appended_and_drops_the_oldest() -> None:
    one = GrowingArray(np.int64, capacity=4)
    for value in range(3):
        one.append(value)
    one.extend(np.arange(3, 10))  # past the capacity: grows once
    one.drop_left(2)
    np.testing.assert_array_equal(one.view, np.arange(2, 10))
    assert len(one) == one.size == 8
    rows = GrowingArray(names=("time_s", "rr_ms"), capacity=2)
    rows.append((0.5, 800.0))
    rows.extend({"time_s": np.array([1.3, 2.1]), "rr_ms": np.array([810.0, 790.0])})
    np.testing.assert_array_equal(rows["rr_ms"], [800.0, 810.0, 790.0])
    np.testing.assert_array_equal(rows["time_s"], [0.5, 1.3, 2.1])
