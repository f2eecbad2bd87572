"""The streaming engine equals the batch analysis, beat by beat, with bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from tests.recordings import nsr001_rr_ms, polar_strap_rr_ms
from trm_bio.core import artifacts
from trm_bio.core.engine import StreamingEngine, analyse_beats, metric_names, settled_reports
from trm_bio.core.timeline import Beats, beats_from_rr


def _assert_stream_equals_batch(beats: Beats, engine: StreamingEngine | None = None) -> int:
    batch = analyse_beats(beats)
    engine = engine or StreamingEngine()
    compared = 0
    first = engine.count
    for k, update in enumerate(engine.push(beats)):
        i = update.settled_index
        # The newest beat is reported at once, with a label that may still change.
        assert (update.index, update.rr_ms) == (first + k, beats.rr_ms[k])
        assert update.label in range(len(artifacts.LABEL_NAMES))
        if i < 0:
            continue
        assert update.settled_label == batch.labels[i]
        assert update.rhythm_ok == bool(batch.rhythm_ok[i])
        assert update.irregular == bool(batch.irregular[i])
        for name, value in update.metrics.items():
            expected = batch.metrics[name][i]
            if np.isnan(expected):
                assert np.isnan(value), (name, i)
            else:
                assert value == pytest.approx(expected, rel=1e-9, abs=1e-9), (name, i)
                compared += 1
    return compared


def test_stream_equals_batch_on_a_real_holter_stretch_with_a_gap(data_dir) -> None:
    rr = nsr001_rr_ms()[20_000:21_400].copy()
    rr[700] = 5000.0  # a recording pause: the timeline ends the segment there
    beats = beats_from_rr(rr)
    assert np.unique(beats.segment).size == 2
    compared = _assert_stream_equals_batch(beats)
    assert compared > 5_000  # the windows filled: this compared real numbers, not NaNs


def test_stream_equals_batch_through_sustained_bigeminy(data_dir) -> None:
    beats = beats_from_rr(polar_strap_rr_ms())
    _assert_stream_equals_batch(beats)
    batch = analyse_beats(beats)
    assert not batch.rhythm_ok.all()  # the rhythm check caught the bigeminy
    assert np.isnan(batch.metrics["RMSSD"][~batch.rhythm_ok]).all()  # HRV not reported


def test_stream_equals_batch_through_atrial_fibrillation(data_dir) -> None:
    from tests.recordings import mitdb_rhythm

    rec = mitdb_rhythm("201")  # fibrillation, then sinus rhythm
    beats = beats_from_rr(rec.rr_ms[:1500], rec.times_s[:1500])
    _assert_stream_equals_batch(beats)
    batch = analyse_beats(beats)
    assert batch.irregular.any() and not batch.irregular.all()
    assert not batch.rhythm_ok[batch.irregular].any()
    assert np.isnan(batch.metrics["RMSSD"][batch.irregular]).all()  # no HRV shown there


def test_memory_stays_bounded_over_a_long_stream(data_dir) -> None:
    beats = beats_from_rr(nsr001_rr_ms()[:6_000])
    engine = StreamingEngine()
    sizes = []
    for k in range(len(beats)):
        engine.push_beat(float(beats.times_s[k]), float(beats.rr_ms[k]), int(beats.segment[k]))
        sizes.append(engine._times.view.size)
    assert max(sizes[3000:]) <= max(sizes[:3000]) + 300  # no growth with session length
    assert max(sizes) < 1_200


def test_prime_rebuilds_the_state_a_beat_by_beat_run_reaches(data_dir) -> None:
    beats = beats_from_rr(nsr001_rr_ms()[5_000:6_200])
    cut = 800
    head = Beats(beats.times_s[:cut], beats.rr_ms[:cut], beats.segment[:cut])
    tail = Beats(beats.times_s[cut:], beats.rr_ms[cut:], beats.segment[cut:])
    continuous = StreamingEngine()
    continuous.push(head)
    primed = StreamingEngine()
    primed.prime(head)
    for a, b in zip(continuous.push(tail), primed.push(tail), strict=True):
        assert a.settled_index == b.settled_index
        assert a.settled_label == b.settled_label
        np.testing.assert_array_equal(list(a.metrics.values()), list(b.metrics.values()))


def test_update_carries_every_metric_and_the_newest_beat_at_once() -> None:
    rng = np.random.default_rng(0)
    rr = 800 + 30 * rng.standard_normal(200)
    engine = StreamingEngine()
    updates = engine.push(beats_from_rr(rr))
    assert set(updates[-1].metrics) == set(metric_names())
    last = updates[-1]
    assert last.rr_ms == rr[-1] and last.hr_bpm == pytest.approx(60_000 / rr[-1])
    assert last.settled_index == len(rr) - 1 - artifacts.LOOKAHEAD_BEATS


def test_stream_equals_batch_with_injected_artifacts_of_every_kind(data_dir) -> None:
    # The engine skips the correction call where every label in its reach is NORMAL and
    # interpolates once for both spectral windows: both must leave the numbers unchanged
    # next to every kind of artifact (the batch path corrects the whole series at once).
    from tests.artifact_injection import inject

    clean = nsr001_rr_ms()[30_000:31_500]
    injected = inject(clean, np.zeros(clean.size, dtype=np.int64), rate=0.03, seed=5)
    beats = beats_from_rr(injected.rr_ms)
    batch = analyse_beats(beats)
    assert np.count_nonzero(batch.labels) >= 10  # the artifacts were labelled
    assert _assert_stream_equals_batch(beats) > 5_000


def test_stream_equals_batch_with_artifacts_right_after_segment_breaks(data_dir) -> None:
    # The first beats of a segment are judged from the segment's own level, and a flagged
    # one with no normal interval before it is left out: the live engine's lean labels and
    # its correction must do exactly what the batch analysis does there.
    rr = nsr001_rr_ms()[40_000:41_600].copy()
    breaks = (300, 700, 1100)
    for b in breaks:
        rr[b] = 5000.0  # a recording pause: a new segment starts after it
        rr[b + 1] = 2800.0  # the first interval of the segment
        rr[b + 4] = 2800.0
        rr[b + 7 : b + 9] = 0.4 * rr[b + 7], 0.6 * rr[b + 7]  # an extra beat
    beats = beats_from_rr(rr)
    assert np.unique(beats.segment).size == len(breaks) + 1
    batch = analyse_beats(beats)
    long_ones = np.flatnonzero(beats.rr_ms == 2800.0)
    assert long_ones.size == 2 * len(breaks)
    assert (batch.labels[long_ones] != artifacts.NORMAL).all()
    assert batch.corrected.nn_ms.max() < 1500.0
    assert _assert_stream_equals_batch(beats) > 5_000


def _two_artifacts_after_gaps() -> Beats:
    """Real nsr001 beats with three 60 s gaps, each segment starting with two artifacts
    among its first three intervals (1200 ms among 550-650, or 1700 then 2800 ms)."""
    rr = nsr001_rr_ms()[20_000:21_200].copy()
    for gap, first in ((300, (1200.0, None, 1200.0)), (600, (1700.0, 2800.0)),
                       (900, (None, 1200.0, 1200.0))):
        rr[gap] = 60_000.0  # the timeline ends the segment here
        for k, value in enumerate(first):
            if value is not None:
                rr[gap + 1 + k] = value
    return beats_from_rr(rr)


def test_stream_equals_batch_when_a_segment_starts_with_two_artifacts(data_dir) -> None:
    # Such a segment's first beats are judged from the median of its first START_BEATS:
    # the engine holds them until the segment has them, then settles them together, with
    # the labels, corrections and metrics of the batch analysis.
    beats = _two_artifacts_after_gaps()
    assert np.unique(beats.segment).size == 4
    batch = analyse_beats(beats)
    starts = np.flatnonzero(np.diff(beats.segment)) + 1
    for s in starts:
        long_ones = s + np.flatnonzero(beats.rr_ms[s : s + 3] > 1000.0)
        assert long_ones.size == 2 and (batch.labels[long_ones] != artifacts.NORMAL).all()
    assert batch.corrected.nn_ms.max() < 1000.0  # no long interval copied into a real beat
    engine = StreamingEngine()
    assert _assert_stream_equals_batch(beats, engine) > 5_000
    assert engine.settled == len(beats) - artifacts.LOOKAHEAD_BEATS


def test_segment_start_beats_settle_together_once_the_segment_has_its_first_beats(
    data_dir,
) -> None:
    beats = _two_artifacts_after_gaps()
    reports = [u.settled_index for u in StreamingEngine().push(beats)]
    np.testing.assert_array_equal(reports, settled_reports(beats))
    start = int(np.flatnonzero(np.diff(beats.segment))[0]) + 1
    held = reports[start + artifacts.LOOKAHEAD_BEATS : start + artifacts.START_BEATS - 1]
    assert held and all(r == -1 for r in held)  # nothing settles while the start is open
    release = start + artifacts.START_BEATS - 1
    assert reports[release] == release - artifacts.LOOKAHEAD_BEATS
    assert reports[release + 1] == reports[release] + 1  # then one a beat again
    settled = [r for r in reports if r >= 0]
    assert len(settled) < len(beats) - artifacts.LOOKAHEAD_BEATS  # some beats shared one


@pytest.mark.parametrize("extra", [0, 1, 2, 4, 5, 6, 8])
def test_prime_inside_a_held_segment_start_equals_a_beat_by_beat_run(data_dir, extra) -> None:
    beats = _two_artifacts_after_gaps()
    cut = int(np.flatnonzero(np.diff(beats.segment))[1]) + 1 + extra
    head = Beats(beats.times_s[:cut], beats.rr_ms[:cut], beats.segment[:cut])
    tail = Beats(beats.times_s[cut:], beats.rr_ms[cut:], beats.segment[cut:])
    continuous = StreamingEngine()
    continuous.push(head)
    primed = StreamingEngine()
    primed.prime(head)
    assert primed.settled == continuous.settled
    for a, b in zip(continuous.push(tail), primed.push(tail), strict=True):
        assert (a.settled_index, a.settled_label) == (b.settled_index, b.settled_label)
        np.testing.assert_array_equal(list(a.metrics.values()), list(b.metrics.values()))


def test_beats_going_back_in_time_are_refused() -> None:
    from trm_bio.errors import TrmBioError as AppError

    engine = StreamingEngine()
    engine.push_beat(1.0, 800.0, 0)
    engine.push_beat(1.8, 800.0, 0)
    with pytest.raises(AppError, match="may decrease"):
        engine.push_beat(1.5, 800.0, 0)
    with pytest.raises(AppError):
        engine.push_beat(2.6, 800.0, -1)  # segment ids only grow
    with pytest.raises(AppError):
        engine.push_beat(float("nan"), 800.0, 0)
    engine.push_beat(2.6, 800.0, 1)  # a refused beat left the state as it was
    assert engine.count == 3
