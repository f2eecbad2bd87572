"""Beats from a Polar H10's ECG in the session: on the beat clock, switched with the RR, replayed.

The items are a real H10 session (``polar_h10_ecg_rr.csv``: ECG frames and the strap's own
RR packets, see tests/h10_items.py), fed through the session as a live source would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from devices.packet import Packet
from trm_bio.core.beat_source import ECG_SOURCE, RR_SOURCE
from trm_bio.core.events import BEAT_SOURCE_KEY, EventKind
from trm_bio.core.timeline import Beats, beats_from_packets
from trm_bio.history import session_beats
from trm_bio.session import Session
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder
from trm_bio.store.replay import SeekMarker, load_items, packets_before

START_NS = 5_000_000_000_000
#: Stretches (s) where the ECG goes flat while the strap's RR keep coming.
FLAT_S = ((200.0, 230.0), (400.0, 406.0))


def run_live(items: list, recorder: Recorder | None = None) -> tuple[Session, list, list]:
    """One item per drain, as the finest live interleaving; returns beats and events."""
    session = Session(START_NS, recorder=recorder)
    beats, events = [], []
    for item in items:
        update = session.process([item])
        beats.extend(update.beats)
        events.extend(update.events)
        session.tick(item.host_ns)
    session.close()
    return session, beats, events


def arrays(states: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.array([s.beat.time_s for s in states])
    rr = np.array([s.beat.rr_ms for s in states])
    seg = np.array([s.beat.segment for s in states])
    return t, rr, seg


def strap_beats(items: list) -> Beats:
    """The beats the strap's RR alone give (the RR timeline over its packets)."""
    packets = [i for i in items if isinstance(i, Packet)]
    return beats_from_packets(START_NS, [p.host_ns for p in packets], [p.rr_ms for p in packets])


def matched_share(reference_s: np.ndarray, beats_s: np.ndarray, tolerance_s: float) -> float:
    """Share of reference beats with a beat within ``tolerance_s``."""
    i = np.clip(np.searchsorted(beats_s, reference_s), 1, beats_s.size - 1)
    nearest = np.minimum(np.abs(beats_s[i] - reference_s), np.abs(beats_s[i - 1] - reference_s))
    return float(np.mean(nearest <= tolerance_s))


def source_changes(events: list) -> list[tuple[float, str, str]]:
    return [
        (e.time_s, e.payload[BEAT_SOURCE_KEY], e.payload["reason"])
        for e in events
        if e.kind is EventKind.MARKER and BEAT_SOURCE_KEY in e.payload
    ]


@pytest.fixture(scope="module")
def h10(data_dir) -> list:
    from tests.h10_items import h10_items

    return h10_items(START_NS)


@pytest.fixture(scope="module")
def h10_contact_loss(data_dir) -> list:
    from tests.h10_items import h10_items

    return h10_items(START_NS, flat_s=FLAT_S)


def test_beats_come_from_the_ecg_and_match_the_straps_own(h10) -> None:
    session, states, events = run_live(h10)
    t, _, seg = arrays(states)
    changes = source_changes(events)
    assert [c[1] for c in changes] == [ECG_SOURCE]
    assert changes[0][0] < 15.0  # as soon as the ECG has settled and met the RR
    assert session.beat_source == ECG_SOURCE
    # The strap's RR beats, moved by the lag the session found, meet an ECG beat each.
    lag = session.selector.lag_s
    assert lag is not None and 0.0 < lag < 3.0
    reference = strap_beats(h10).times_s - lag
    from_ecg = t > changes[0][0]
    later = reference > changes[0][0] + 10.0
    assert matched_share(reference[later], t[from_ecg], 0.05) >= 0.99
    # The ECG beats' intervals are the strap's to within its 1/1024 s and our sampling.
    assert seg.max() == 0
    assert np.diff(t).min() >= 0.25  # no double beat, not even where the source changed
    # The offset is the fastest frame's: its drift is that of two crystals (tens of ppm).
    assert abs(session.signals.clock.drift_ppm) < 200


def test_contact_loss_falls_back_on_the_rr_and_back_with_no_double_or_lost_beat(
    h10_contact_loss,
) -> None:
    session, states, events = run_live(h10_contact_loss)
    t, _, seg = arrays(states)
    changes = source_changes(events)
    assert [c[1] for c in changes] == [ECG_SOURCE, RR_SOURCE, ECG_SOURCE, RR_SOURCE, ECG_SOURCE]
    for (time_s, source, reason), (a, _) in zip(changes[1::2], FLAT_S, strict=True):
        assert source == RR_SOURCE and "contact lost" in reason
        assert a - 1.5 < time_s <= a + 0.5  # dated at the last ECG beat before the loss
    for (time_s, _, _), (_, b) in zip(changes[2::2], FLAT_S, strict=True):
        assert b < time_s < b + 10.0
    assert seg.max() == 0  # no beat lost: the segment never breaks
    lag = session.selector.lag_s
    reference = strap_beats(h10_contact_loss).times_s - lag
    for a, b in FLAT_S:
        lo, hi = a - 10.0, b + 15.0
        near = (t > lo) & (t < hi)
        assert np.diff(t[near]).min() >= 0.25, "a double beat at a switch"
        expected = int(np.count_nonzero((reference > lo) & (reference < hi)))
        assert abs(int(near.sum()) - expected) <= 1, (a, int(near.sum()), expected)
        # Inside the flat stretch the beats are the strap's RR, on the ECG's clock.
        inside = (reference > a + 4.5) & (reference < b - 0.5)
        assert inside.any()
        assert matched_share(reference[inside], t, 0.02) == 1.0


def test_replay_gives_the_live_beats_bit_for_bit(h10_contact_loss, tmp_path: Path) -> None:
    items = h10_contact_loss[: len(h10_contact_loss) // 2]  # 5 minutes, one loss of contact
    library = Library.open(tmp_path / "library.sqlite3")
    try:
        session_id = library.create_session(None, "ble", "h10", start_ns=START_NS)
        _, live, live_events = run_live(items, Recorder(library, session_id))
        library.finish_session(session_id)
        info, stored = load_items(library, session_id)
        replay = Session(info.start_ns, history=lambda index: packets_before(stored, index))
        update = replay.process(stored)  # all at once: the coarsest drain
        # A seek into the ECG stretch after the loss of contact runs the frames before again.
        seek_s = 240.0
        index = int(np.searchsorted([i.host_ns for i in stored], START_NS + seek_s * 1e9))
        sought = Session(
            info.start_ns,
            history=lambda index: packets_before(stored, index),
            history_items=lambda index: stored[:index],
        )
        assert sought.process([SeekMarker(int(START_NS + seek_s * 1e9), seek_s, index)]).seeked
        after = sought.process(stored[index:]).beats
        stored_beats = session_beats(library, info)  # what summaries and reports analyse
    finally:
        library.close()
    assert len(live) > 300
    live_t, live_rr, live_seg = arrays(live)
    t, rr, seg = arrays(update.beats)
    assert np.array_equal(live_t, t) and np.array_equal(live_rr, rr)
    assert np.array_equal(live_seg, seg)
    assert np.array_equal(stored_beats.times_s, live_t)
    assert np.array_equal(stored_beats.rr_ms, live_rr)
    live_metrics = np.array([list(s.beat.metrics.values()) for s in live])
    metrics = np.array([list(s.beat.metrics.values()) for s in update.beats])
    assert np.array_equal(live_metrics, metrics, equal_nan=True)
    # The changes of source come back as the stored markers, not logged twice.
    assert source_changes(update.events) == source_changes(live_events)
    assert len(source_changes(live_events)) == 3
    assert replay.beat_source == ECG_SOURCE
    assert after and sought.beat_source == ECG_SOURCE
    first = after[0].beat.index
    assert np.array_equal(arrays(after)[0], live_t[first:])
    # The engine is primed from the batch analysis: sums round differently, to 1e-9.
    np.testing.assert_allclose(
        np.array([list(s.beat.metrics.values()) for s in after]), live_metrics[first:],
        rtol=1e-9, atol=1e-9,
    )
    assert sought.history.beats.size == len(live)

    def arousal(states: list) -> np.ndarray:
        return np.array([s.regulation.arousal if s.regulation else np.nan for s in states])

    np.testing.assert_allclose(arousal(after), arousal(live[first:]), rtol=1e-9, atol=1e-9)


def test_the_first_lag_in_bigeminy_is_not_a_cycle_off(data_dir) -> None:
    from tests.h10_items import h10_items

    # The ECG is flat at first (electrodes still dry): the lag is found from the first clean
    # beats of a bigeminy, where pairs a cycle apart match too.
    items = h10_items(START_NS, flat_s=((10.0, 20.0),), seed=3)[:4000]
    session = Session(START_NS)
    lags = []
    for item in items:
        session.process([item])
        lags.append(session.selector.lag_s)
    known = np.array([lag for lag in lags if lag is not None])
    assert known.size and np.abs(known - known[-1]).max() < 0.02, sorted(set(known.round(2)))


def test_ecg_frames_that_stop_coming_hand_over_to_the_rr_and_say_so(h10) -> None:
    from devices.pmd import PmdFrame
    from trm_bio.core.beat_source import ECG_STOPPED

    stop_ns = START_NS + 200 * 10**9  # a PMD drop-out: the frames stop, the packets go on
    end_ns = stop_ns + 60 * 10**9
    items = [
        i for i in h10
        if i.host_ns < end_ns and not (isinstance(i, PmdFrame) and i.host_ns > stop_ns)
    ]
    session, states, events = run_live(items)
    assert [c[1:] for c in source_changes(events)] == [
        (ECG_SOURCE, ""), (RR_SOURCE, ECG_STOPPED)
    ]
    assert 195.0 < source_changes(events)[1][0] <= 200.0
    assert session.ecg_message == ECG_STOPPED
    t, _, seg = arrays(states)
    assert seg.max() == 0 and np.diff(t).min() >= 0.25 and t[-1] > 205.0


def test_frames_without_samples_are_stored_and_skipped() -> None:
    from devices.pmd import PmdFrame, PmdStream, encode_frame

    session = Session(START_NS)
    empty = [
        PmdFrame(START_NS + i, "h10", encode_frame(stream, 10**12, np.zeros((0, 3) if i else 0)))
        for i, stream in enumerate((PmdStream.ECG, PmdStream.ACC))
    ]
    update = session.process(empty)
    assert update.frames == 2 and not update.beats
    assert session.ecg_message == "" and session.beat_source == ""


def test_without_ecg_the_beats_are_the_rr_timelines_unchanged(data_dir) -> None:
    from tests.h10_items import h10_items

    items = h10_items(START_NS, ecg=False)
    session, states, events = run_live(items)
    t, rr, seg = arrays(states)
    reference = strap_beats(items)
    assert np.array_equal(t, reference.times_s)
    assert np.array_equal(rr, reference.rr_ms)
    assert np.array_equal(seg, reference.segment)
    assert source_changes(events) == []
    assert session.beat_source == RR_SOURCE
