"""Group sessions: one session per participant, linked in the library, practice in step.

Real parts: a real SQLite library, the simulated strap (one per participant, each with its
own seed), the GroupController driving the same SessionController as a session alone.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.simulated import SimulatedStrap
from devices.source import Source
from trm_bio.errors import TrmBioError
from trm_bio.group import Connection, GroupController, Participant, initials
from trm_bio.sources import open_group_sources
from trm_bio.store.library import Library
from trm_bio.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

SPEED = 60.0
PEOPLE = (Participant("Ana Lima"), Participant("BK", person="Ben Kato"), Participant("CM"))


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "library.sqlite3") as opened:
        yield opened


def run_until(group: GroupController, done: object, limit_s: float = 60.0) -> None:
    """Poll the group, waiting on its sources' queues, until ``done()`` is true."""
    deadline = time.monotonic() + limit_s
    group.poll()
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the group never got there"
        for member in group.members:
            if member.source is not None and member.source.wait(0.02):
                break
        group.poll()
    group.poll()  # what the sources sent with the last change


def all_ended(group: GroupController) -> bool:
    return all(v.connection is Connection.ENDED for v in group.views())


def simulated(count: int, duration_s: float = 120.0, **kwargs: object) -> list[Source]:
    sources, _ = open_group_sources(
        "simulated", people=count, speed=SPEED, duration_s=duration_s, **kwargs  # type: ignore[arg-type]
    )
    return sources


def test_each_participant_gets_a_session_linked_as_one_group_in_seat_order(
    library: Library,
) -> None:
    group = GroupController(library)
    group_id = group.start_live(simulated(3), PEOPLE, name="Tuesday group", source_kind="simulated")
    group.start_skill(1)
    run_until(group, lambda: group.now_s() > 30)
    everyone = group.log_marker("a breath together")
    only_ben = group.log_marker("Ben moved", seat=1)
    run_until(group, lambda: all_ended(group))
    kept = group.stop()

    assert group_id is not None and len(kept) == 3 and len(everyone) == 3 and len(only_ben) == 1
    stored = library.get_group(group_id)
    assert (stored.name, stored.session_ids) == ("Tuesday group", tuple(kept))
    infos = library.group_sessions(group_id)
    assert [i.person_name for i in infos] == ["Ana Lima", "Ben Kato", "CM"]
    assert [(i.group_id, i.group_seat) for i in infos] == [(group_id, s) for s in range(3)]
    assert len({i.start_ns for i in infos}) == 1  # one beat clock for the whole group
    for seat, info in enumerate(infos):
        # No beat of one participant in another's session.
        packets = library.session_packets(info.id)
        assert len(packets) > 50 and set(packets.source_ids) == {f"simulated-{seat + 1}"}
        # The facilitator's practice is in every session, so shifts are measured per person.
        flow = library.session_events(info.id, kinds=["flow"])
        assert any(e.payload.get("kind") == "skill_started" for e in flow), flow
        markers = [e.payload["text"] for e in library.session_events(info.id, kinds=["marker"])]
        expected = ["a breath together", "Ben moved"] if seat == 1 else ["a breath together"]
        assert markers == expected
    # The simulated people are not one heart shown three times.
    heart = [library.session_packets(i.id).payloads[40:60] for i in infos]
    assert heart[0] != heart[1] != heart[2]


def test_a_dropped_strap_shows_reconnecting_on_its_tile_only_and_never_a_zone(
    library: Library,
) -> None:
    sources = [
        SimulatedStrap("calm", seed=seat, speed=SPEED, duration_s=200.0, source_id=f"s{seat}",
                       link_drops=((90.0, 150.0),) if seat == 1 else ())
        for seat in range(3)
    ]
    group = GroupController(library)
    group.start_live(sources, PEOPLE, record=False, source_kind="simulated")
    run_until(group, lambda: group.views()[1].connection is Connection.RECONNECTING)
    views = group.views()
    assert not views[1].shows_zone
    assert [v.connection for v in views[::2]] == [Connection.LIVE, Connection.LIVE]
    assert all(v.shows_zone for v in views[::2])
    run_until(group, lambda: group.views()[1].connection is Connection.LIVE)
    group.stop()


def test_a_participant_without_beats_keeps_no_session_and_is_named(library: Library) -> None:
    sources = simulated(2, duration_s=60.0)
    silent = SimulatedStrap("calm", seed=9, speed=SPEED, duration_s=60.0, source_id="silent",
                            link_drops=((0.0, 61.0),))
    group = GroupController(library)
    group_id = group.start_live([*sources, silent], PEOPLE, source_kind="simulated")
    run_until(group, lambda: all_ended(group))
    kept = group.stop()
    assert group_id is not None and len(kept) == 2
    assert library.get_group(group_id).session_ids == tuple(kept)
    assert group.error is not None and group.error.startswith("CM:")
    assert "No heartbeat arrived" in group.error


def test_a_group_in_which_nobody_sent_a_beat_is_not_kept(library: Library) -> None:
    silent = [
        SimulatedStrap("calm", seed=s, speed=SPEED, duration_s=30.0, source_id=f"s{s}",
                       link_drops=((0.0, 31.0),))
        for s in range(2)
    ]
    group = GroupController(library)
    group.start_live(silent, PEOPLE[:2], source_kind="simulated")
    run_until(group, lambda: all_ended(group))
    assert group.stop() == []
    assert library.list_groups() == [] and library.list_sessions() == []


def test_a_recorded_group_replays_together_with_the_same_beats(library: Library) -> None:
    group = GroupController(library)
    group_id = group.start_live(simulated(3, 90.0), PEOPLE, source_kind="simulated")
    assert group_id is not None
    run_until(group, lambda: all_ended(group))
    live_beats = [m.session.history.beats.size for m in group.members if m.session is not None]
    group.stop()

    group.open_replay(group_id, speed=math.inf)
    assert [p.label for p in group.participants] == ["Ana Lima", "Ben Kato", "CM"]
    assert all(v.connection is Connection.REPLAY and v.shows_zone for v in group.views())
    run_until(group, lambda: group.replay_status().finished)  # type: ignore[union-attr]
    assert [m.session.history.beats.size for m in group.members if m.session] == live_beats
    with pytest.raises(TrmBioError, match="read-only"):
        group.log_marker("not in a replay")
    group.stop()


def test_group_sizes_and_counts_are_checked_with_one_sentence(library: Library) -> None:
    group = GroupController(library)
    with pytest.raises(TrmBioError, match="one strap per participant"):
        group.start_live(simulated(2), PEOPLE)
    with pytest.raises(TrmBioError, match="1 to 8 people, not 9"):
        open_group_sources("simulated", people=9)
    with pytest.raises(TrmBioError, match="given twice"):
        open_group_sources("ble", ["AA:BB", "CC:DD", "AA:BB"])
    with pytest.raises(TrmBioError, match="no group session is running"):
        group.log_marker()
    assert library.list_groups() == []


def test_initials_for_a_tile() -> None:
    assert (initials("Ana Lima"), initials("ben"), initials("Ana de la Cruz Lima")) == (
        "AL", "B", "ADL",
    )


def test_a_library_of_the_previous_schema_gains_groups_and_keeps_its_sessions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as raw:  # as the previous trm-bio left it
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for number, script in enumerate(MIGRATIONS[:4]):
            raw.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
        raw.execute(
            "INSERT INTO sessions (id, started_utc, start_ns, source_kind, status, duration_s)"
            " VALUES (1, '2026-01-02T03:04:05+00:00', 0, 'ble', 'complete', 2.0)"
        )
        raw.execute("UPDATE counters SET value = 1 WHERE name = 'session'")
    with Library.open(path) as upgraded:
        assert upgraded.schema_version == SCHEMA_VERSION == 5
        (info,) = upgraded.list_sessions()
        assert (info.id, info.group_id, info.group_seat) == (1, None, None)
        group_id = upgraded.create_group("later")
        upgraded.set_session_group(1, group_id, seat=0)
        assert upgraded.get_group(group_id).session_ids == (1,)
        upgraded.delete_group(group_id)
        assert upgraded.get_session(1).group_id is None and upgraded.list_groups() == []


def test_two_programs_upgrading_one_library_at_once_apply_each_migration_once(
    tmp_path: Path,
) -> None:
    from trm_bio.store.migrations import migrate

    path = tmp_path / "v4.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as raw:
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for number, script in enumerate(MIGRATIONS[:4]):
            raw.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
    this = sqlite3.connect(path, isolation_level=None, timeout=5)
    other = sqlite3.connect(path, isolation_level=None, timeout=5)
    upgraded_by_other: list[int] = []

    def other_program_first(sql: str) -> None:
        # The other program upgrades after this one read the old version, before it writes.
        if not upgraded_by_other and sql.startswith("BEGIN"):
            upgraded_by_other.append(migrate(other))

    this.set_trace_callback(other_program_first)
    try:
        assert migrate(this) == 0  # nothing left to do, and no "already exists" error
        assert upgraded_by_other == [1]
        assert this.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        this.close()
        other.close()


def test_a_group_that_cannot_start_leaves_no_group_and_ends_the_device_loop(
    library: Library,
) -> None:
    ended: list[bool] = []
    group = GroupController(library)
    with pytest.raises(TrmBioError, match="one strap per participant"):
        group.start_live(simulated(2), PEOPLE, on_stop=lambda: ended.append(True))
    assert ended == [True] and library.list_groups() == [] and not group.running


def test_placeholder_participants_share_no_history_across_groups(library: Library) -> None:
    from trm_bio.group import participants_from_labels

    for _ in range(2):
        group = GroupController(library)
        group.start_live(
            simulated(2, 60.0), participants_from_labels(["", "Ana Lima"]), source_kind="simulated"
        )
        run_until(group, lambda g=group: all_ended(g))
        group.stop()
    infos = library.list_sessions()
    assert [i.person_name for i in infos] == [None, "Ana Lima", None, "Ana Lima"]
    assert [p.name for p in library.list_people()] == ["Ana Lima"]  # no "Participant 1"
    assert participants_from_labels(["Participant 1", "Participant 1"])[1].person_name == (
        "Participant 1"  # the default of another seat is a name someone chose
    )


def test_a_full_disk_keeps_each_participants_interrupted_session_in_the_group(
    library: Library,
) -> None:
    clock = {"ns": 10**12}
    group = GroupController(library, clock_ns=lambda: clock["ns"])
    sources = [
        SimulatedStrap("calm", seed=s, speed=math.inf, duration_s=1800.0, source_id=f"s{s}")
        for s in range(2)
    ]
    group_id = group.start_live(sources, PEOPLE[:2], source_kind="simulated")
    pages = library._db.execute("PRAGMA page_count").fetchone()[0]
    library._db.execute(f"PRAGMA max_page_count = {pages + 8}")  # the disk fills up
    while any(s.running or s.pending for s in sources):  # type: ignore[attr-defined]
        clock["ns"] += 200_000_000
        group.poll()
    group.poll()
    assert all(m.error and "full" in m.error for m in group.members)
    kept = group.stop()
    library._db.execute("PRAGMA max_page_count = 1073741823")  # space freed before the end
    assert group_id is not None and len(kept) == 2
    assert library.get_group(group_id).session_ids == tuple(kept)
    assert [library.get_session(s).status for s in kept] == ["interrupted", "interrupted"]


def test_a_group_replay_shows_a_recorded_drop_and_starts_everyone_together(
    library: Library,
) -> None:
    sources = [
        SimulatedStrap("calm", seed=seat, speed=SPEED, duration_s=200.0, source_id=f"s{seat}",
                       link_drops=((90.0, 150.0),) if seat == 1 else ())
        for seat in range(3)
    ]
    group = GroupController(library)
    group_id = group.start_live(sources, PEOPLE, source_kind="simulated")
    assert group_id is not None
    run_until(group, lambda: all_ended(group))
    group.stop()

    group.open_replay(group_id, speed=1.0, paused=True)
    positions = [m.replay.position_s for m in group.members if m.replay is not None]
    assert positions == [0.0, 0.0, 0.0]  # nobody runs ahead while the others load
    group.replay_seek(120.0)  # inside the drop: rebuilt from what came before
    run_until(group, lambda: True)
    views = group.views()
    assert views[1].connection is Connection.RECONNECTING and not views[1].shows_zone
    assert views[0].connection is Connection.REPLAY and views[2].connection is Connection.REPLAY
    group.stop()


def test_a_failed_start_after_a_replay_leaves_the_replayed_group_alone(library: Library) -> None:
    group = GroupController(library)
    group_id = group.start_live(simulated(2, 30.0), PEOPLE[:2], source_kind="simulated")
    run_until(group, lambda: all_ended(group))
    group.stop()
    assert group_id is not None
    group.open_replay(group_id, speed=math.inf)
    with pytest.raises(TrmBioError, match="one strap per participant"):
        group.start_live(simulated(2), PEOPLE)
    assert library.get_group(group_id).session_ids  # still there, still linked
