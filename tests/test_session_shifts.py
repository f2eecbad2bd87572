"""Shift detection in the session pipeline: a replay finds the live run's shifts at its beats.

The live run is a real recording (nsr001, a Holter RR series) sent as strap packets one per
drain, with sensations logged as the beat clock passes them; the replay plays the stored
session in one drain, and again with a seek back into its middle.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from devices.hrm import packet_from_payload
from tests.recordings import nsr001_rr_ms, shared_data_dir
from trm_bio.core.shifts import Shift
from trm_bio.history import analyse_session
from trm_bio.session import FoundShift, Session
from trm_bio.store.imports import synthesise_packets
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder
from trm_bio.store.replay import RecordedEvent, SeekMarker, load_items, packets_before

pytestmark = pytest.mark.skipif(
    shared_data_dir() is None, reason="the real recordings (../shared/data) are not here"
)

START_NS = 1_000_000_000_000
#: Beat-clock times (s) of the logged sensations: one early (while the baseline is being
#: measured), two that overlap, and one too late for its last after-window to pass.
SENSATIONS_S = (100.0, 400.0, 450.0, 800.0, 1000.0)
BEATS = 1800  # about 18 minutes of the recording (ends at 1107 s)


def _comparable(found: list[FoundShift]) -> list[tuple]:
    return [(f.event, f.shift.to_dict(), f.due_s) for f in found]


def _numbers(shifts: list[Shift]) -> np.ndarray:
    """Every number of the shifts (NaN where not measurable)."""

    def walk(value: object) -> list[float]:
        if isinstance(value, dict):
            return [x for v in value.values() for x in walk(v)]
        if isinstance(value, list | tuple):
            return [x for v in value for x in walk(v)]
        if value is None:
            return [math.nan]
        return [float(value)] if isinstance(value, int | float) else []

    return np.array([x for shift in shifts for x in walk(shift.to_dict())])


def _words(found: list[FoundShift]) -> list[tuple]:
    return [(f.event, f.due_s, f.shift.direction, f.shift.zone_before, f.shift.zone_after)
            for f in found]


@pytest.fixture()
def live(tmp_path: Path) -> Iterator[tuple[Library, int, Session]]:
    """The recording run live through a recording session, one packet per drain."""
    library = Library.open(tmp_path / "library.sqlite3")
    host_ns, payloads = synthesise_packets(nsr001_rr_ms()[:BEATS], START_NS)
    session_id = library.create_session(None, "simulated", "nsr001", start_ns=START_NS)
    session = Session(START_NS, recorder=Recorder(library, session_id))
    pending = list(SENSATIONS_S)
    for t_ns, payload in zip(host_ns.tolist(), payloads, strict=True):
        while pending and session.now_s >= pending[0]:
            session.log("sensation", {"valence": "unpleasant"}, time_s=pending.pop(0))
        session.process([packet_from_payload(payload, t_ns, "nsr001")])
        session.tick(t_ns)
    session.close()
    library.finish_session(session_id)
    yield library, session_id, session
    library.close()


def test_replay_finds_the_live_shifts_at_the_same_beats(live) -> None:
    library, session_id, session = live
    measured = [f for f in session.shifts if math.isfinite(f.shift.movement)]
    assert len(measured) >= 2, "the recording gives too few measurable shifts to compare"
    wait_s = session.shift_watch.wait_s
    # Each measured at its due beat: the first settled beat past its last after-window.
    times = session.history.metrics["time_s"]
    for found in session.shifts:
        due = times[np.searchsorted(times, found.event.time_s + wait_s)]
        assert found.due_s == due
    assert [f.event.time_s for f in session.shifts] == list(SENSATIONS_S[:-1])

    info, items = load_items(library, session_id)
    replay = Session(
        info.start_ns,
        history=lambda index: packets_before(items, index),
        recorded_events=lambda index: [
            i.event for i in items[:index] if isinstance(i, RecordedEvent)
        ],
    )
    update = replay.process(items)  # everything in one drain
    assert _comparable(replay.shifts) == _comparable(session.shifts)
    assert _comparable(update.shifts) == _comparable(session.shifts)

    # A seek back to between the events: the shifts before it are measured again at once,
    # the later ones as the replay goes on; the whole list equals the live one (the metrics
    # rebuilt at a seek differ from the streamed ones in the last bits only).
    seek_s = 700.0
    index = int(np.searchsorted([i.host_ns for i in items], START_NS + seek_s * 1e9, "right"))
    seeked = replay.process([SeekMarker(int(START_NS + seek_s * 1e9), seek_s, index)])
    assert seeked.seeked
    assert [f.event.time_s for f in seeked.shifts] == [100.0, 400.0, 450.0]
    replay.process(items[index:])
    assert _words(replay.shifts) == _words(session.shifts)
    np.testing.assert_allclose(
        _numbers([f.shift for f in replay.shifts]),
        _numbers([f.shift for f in session.shifts]),
        rtol=1e-9,
    )

    # The batch analysis of the stored session finds the same shifts (its regulation trace
    # is computed in one pass, so it may differ in the last bits).
    batch = {e.time_s: s for e, s in analyse_session(library, session_id).effects.shifts}
    live_shifts = [f.shift for f in session.shifts]
    batch_shifts = [batch[f.event.time_s] for f in session.shifts]
    assert [s.direction for s in batch_shifts] == [s.direction for s in live_shifts]
    np.testing.assert_allclose(_numbers(batch_shifts), _numbers(live_shifts), rtol=1e-9)
