"""The streaming engine equals the batch analysis, beat by beat, with bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from tests.recordings import nsr001_rr_ms, polar_strap_rr_ms
from trm_bio.core import artifacts
from trm_bio.core.engine import StreamingEngine, analyse_beats, metric_names
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
