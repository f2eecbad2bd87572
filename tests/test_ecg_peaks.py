"""R-peaks from the ECG (trm_bio/core/ecg_peaks.py) on real recordings: MIT-BIH Arrhythmia
records resampled to the Polar H10's 130 Hz, and a real H10 ECG against the strap's own RR."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tests.ecg_scoring import mitdb_ecg_at, polar_recording, score, strap_agreement
from tests.recordings import MITDB_RECORDS
from trm_bio.core.ecg_peaks import LEARN_S, EcgBeatDetector, detect_r_peaks, ecg_status

H10_HZ = 130.0


@functools.lru_cache(maxsize=16)
def _record(record: str, fs_hz: float = H10_HZ) -> tuple[np.ndarray, np.ndarray]:
    return mitdb_ecg_at(record, fs_hz)


def _stream(detector: EcgBeatDetector, times: np.ndarray, ecg: np.ndarray,
            sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feed chunks of the given sizes; beats found and, per beat, the time of the last
    sample fed when it came (s)."""
    beats, seen_at = [], []
    edges = np.r_[0, np.cumsum(sizes)]
    edges = edges[edges < ecg.size]
    for lo, hi in zip(edges, np.r_[edges[1:], ecg.size], strict=True):
        got = detector.feed(times[lo:hi], ecg[lo:hi])
        beats.append(got)
        seen_at.append(np.full(got.size, times[hi - 1]))
    got = detector.flush()
    beats.append(got)
    seen_at.append(np.full(got.size, np.inf))
    return np.concatenate(beats), np.concatenate(seen_at)


def test_finds_the_annotated_beats_of_every_record_at_130_hz(data_dir):
    """Every record, pooled and one by one: no record may fall far below the rest."""
    total = None
    for record in MITDB_RECORDS:
        ecg, reference = _record(record)
        result = score(reference, detect_r_peaks(ecg, H10_HZ))
        assert result.sensitivity >= 0.985, (record, result.sensitivity)
        assert result.ppv >= 0.975, (record, result.ppv)  # 105 has minutes of noise
        assert result.median_error_ms <= 5.0, (record, result.median_error_ms)
        total = result if total is None else total + result
    assert total.sensitivity >= 0.995, total.sensitivity
    assert total.ppv >= 0.995, total.ppv
    assert total.median_error_ms <= 3.0, total.median_error_ms


@pytest.mark.parametrize("fs_hz", [250.0, 360.0])
def test_works_at_other_sampling_rates(data_dir, fs_hz):
    ecg, reference = _record("100", fs_hz)
    result = score(reference, detect_r_peaks(ecg, fs_hz))
    assert result.sensitivity >= 0.999 and result.ppv >= 0.999, result
    assert result.median_error_ms <= 3.0, result.median_error_ms


def test_streaming_gives_the_batch_beats_exactly(data_dir):
    """Chunks of 1 to 150 samples (the H10 sends 73) on the noisiest record, ten minutes."""
    ecg, _ = _record("105")
    ecg = ecg[: int(600 * H10_HZ)]
    times = np.arange(ecg.size) / H10_HZ
    sizes = np.random.default_rng(16).integers(1, 151, size=ecg.size)
    streamed, _ = _stream(EcgBeatDetector(H10_HZ), times, ecg, sizes)
    batch = detect_r_peaks(ecg, H10_HZ)
    assert batch.size > 600
    np.testing.assert_array_equal(streamed, batch)


def test_beats_come_within_half_a_second_of_the_r_wave(data_dir):
    """Fed one sample at a time, as a live strap: each beat is out 0.5 s after its R wave."""
    ecg, reference = _record("100")
    ecg = ecg[: int(90 * H10_HZ)]
    times = np.arange(ecg.size) / H10_HZ
    detector = EcgBeatDetector(H10_HZ)
    beats, seen_at = _stream(detector, times, ecg, np.ones(ecg.size, dtype=int))
    assert beats.size >= 100
    late = seen_at[:-1] - beats[:-1]  # the last may wait for the flush
    assert np.all(late >= 0)
    # The first beats wait for the levels to be learnt from the first LEARN_S.
    assert np.all(seen_at[beats < LEARN_S] <= LEARN_S + 0.5)
    assert late[beats[:-1] >= LEARN_S].max() <= 0.5, late.max()
    assert detector.decision_lag_s < 0.2
    # ... and they are the annotated beats.
    assert score(reference[reference < times[-1] - 0.5], beats[:-1]).sensitivity >= 0.99


def test_beat_times_are_on_the_strap_clock(data_dir):
    """Times of the samples, not their count: an offset clock and a rate a bit off 130 Hz."""
    ecg, _ = _record("100")
    ecg = ecg[: int(120 * H10_HZ)]
    fs = 130.16  # the H10's crystal, as measured in the Polar file
    start = 7.5e8  # seconds since 2000-01-01, the strap's epoch
    detector = EcgBeatDetector(fs)
    beats = np.r_[detector.feed(start + np.arange(ecg.size) / fs, ecg), detector.flush()]
    np.testing.assert_allclose(beats - start, detect_r_peaks(ecg, fs), atol=1e-6)


def test_a_gap_starts_afresh_and_no_beat_is_invented_in_it(data_dir):
    ecg, reference = _record("100")
    ecg = ecg[: int(120 * H10_HZ)]
    times = np.arange(ecg.size) / H10_HZ
    lost = (times >= 60.0) & (times < 61.5)  # two H10 frames lost
    detector = EcgBeatDetector(H10_HZ)
    beats = np.r_[detector.feed(times[~lost], ecg[~lost]), detector.flush()]
    assert not np.any((beats > 60.0) & (beats < 61.5))
    expected = reference[(reference < 119.5) & ((reference < 59.9) | (reference > 62.0))]
    result = score(expected, beats[(beats < 59.9) | (beats > 62.0)])
    assert result.sensitivity >= 0.99 and result.ppv >= 0.99, result
    # A sample that is not a number is a gap too, not a poisoned filter.
    broken = ecg.copy()
    broken[int(30 * H10_HZ)] = np.nan
    after = detect_r_peaks(broken, H10_HZ)
    assert score(reference[(reference > 32) & (reference < 119.5)],
                 after[after > 32]).sensitivity >= 0.99


def test_the_polar_h10_ecg_gives_the_straps_own_rr(data_dir):
    polar = polar_recording()
    detector = EcgBeatDetector(polar.fs_hz)
    beats = np.r_[detector.feed(polar.times_s, polar.ecg_mv), detector.flush()]
    agreement = strap_agreement(polar.rr_ms, polar.rr_arrival_s, beats)
    assert agreement.share >= 0.98, agreement.share
    assert agreement.median_abs_ms <= 1.5, agreement.median_abs_ms
    assert detector.status().ok, detector.status()


def test_status_says_when_the_ecg_cannot_give_beats(data_dir):
    ecg, _ = _record("100")
    window = ecg[: int(4 * H10_HZ)]
    rng = np.random.default_rng(3)
    assert ecg_status(window, H10_HZ).ok
    flat = np.full(window.size, 0.02) + rng.normal(0, 0.003, window.size)
    assert ecg_status(flat, H10_HZ).code == "flat"
    assert ecg_status(flat, H10_HZ).message.startswith("ECG contact lost")
    assert ecg_status(np.clip(5 * window, -1.0, 1.5), H10_HZ).code == "saturated"
    assert ecg_status(8 * window, H10_HZ).code == "amplitude"
    assert ecg_status(window + rng.normal(0, 0.5, window.size), H10_HZ).code == "noisy"
    assert ecg_status(rng.normal(0, 0.3, window.size), H10_HZ).code == "noisy"
    assert ecg_status(window[:100], H10_HZ).code == "starting"


def test_the_detector_says_contact_lost_when_the_strap_comes_off(data_dir):
    ecg, _ = _record("100")
    ecg = ecg[: int(30 * H10_HZ)]
    detector = EcgBeatDetector(H10_HZ)
    detector.feed(np.arange(ecg.size) / H10_HZ, ecg)
    assert detector.status().ok
    # Off the skin: the H10 sends a near-flat line.
    off = np.full(int(5 * H10_HZ), ecg[-1]) + np.random.default_rng(5).normal(0, 0.002, 650)
    detector.feed(30.0 + np.arange(off.size) / H10_HZ, off)
    status = detector.status()
    assert status.code == "flat" and "contact lost" in status.message
    # A signal that looks like an ECG but gives no beat for seconds is said too (here the
    # QRS shrank 25-fold, far below the level the detector had learnt).
    detector = EcgBeatDetector(H10_HZ)
    detector.feed(np.arange(ecg.size) / H10_HZ, ecg)
    faint = 0.04 * ecg[: int(6 * H10_HZ)]
    assert ecg_status(faint, H10_HZ).ok
    detector.feed(30.0 + np.arange(faint.size) / H10_HZ, faint)
    assert detector.status().code == "no_beats", detector.status()


def _with_pauses(ecg: np.ndarray, reference: np.ndarray, every: int = 20
                 ) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """The ECG with a 3-6 s pause after every ``every``-th beat (as a sinus arrest or a
    blocked beat): the beat's own diastole, P wave and all, repeated without a QRS."""
    rng = np.random.default_rng(7)
    peaks = np.round(reference * H10_HZ).astype(int)
    pieces, pauses, moved, last = [], [], reference.copy(), 0
    length = 0
    for k in range(every, peaks.size - 2, every):
        start, stop = peaks[k] + int(0.45 * H10_HZ), peaks[k + 1] - int(0.08 * H10_HZ)
        if stop - start < int(0.15 * H10_HZ):
            continue
        quiet = ecg[start:stop] - np.linspace(0.0, ecg[stop - 1] - ecg[start], stop - start)
        fill = np.tile(quiet, int(np.ceil(rng.uniform(3, 6) * H10_HZ / quiet.size)))
        pieces += [ecg[last:start], fill]
        length += start - last
        pauses.append((length / H10_HZ, (length + fill.size) / H10_HZ))
        length += fill.size
        moved[peaks >= start] += fill.size / H10_HZ
        last = start
    pieces.append(ecg[last:])
    return np.concatenate(pieces), moved, pauses


@pytest.mark.parametrize("record", ["100", "223"])
def test_no_beat_is_invented_in_a_pause(data_dir, record):
    """The levels stay where the beats left them through a pause of a few seconds: the P
    waves in it are not taken for beats."""
    ecg, reference = _record(record)
    paused, moved, pauses = _with_pauses(ecg, reference)
    assert len(pauses) > 50
    beats = detect_r_peaks(paused, H10_HZ)
    inside = sum(int(np.sum((beats > a + 0.2) & (beats < b - 0.1))) for a, b in pauses)
    assert inside == 0
    result = score(moved, beats)
    assert result.sensitivity >= 0.995 and result.ppv >= 0.995, result


def test_beats_are_found_again_after_the_qrs_shrinks(data_dir):
    """A strap that slips: from 15 min on, the ECG has a third of its size."""
    ecg, reference = _record("101")
    shrunk = ecg.copy()
    shrunk[int(900 * H10_HZ):] *= 0.3
    result = score(reference, detect_r_peaks(shrunk, H10_HZ))
    assert result.sensitivity >= 0.995, result


def test_a_frame_sent_twice_changes_nothing(data_dir):
    """Samples at or before a time already fed are dropped: the beats stay in order and are
    those of the ECG fed once."""
    ecg, _ = _record("100")
    ecg = ecg[: int(60 * H10_HZ)]
    times = np.arange(ecg.size) / H10_HZ
    detector = EcgBeatDetector(H10_HZ)
    beats = np.concatenate([
        detector.feed(times[:3000], ecg[:3000]),
        detector.feed(times[2927:3073], ecg[2927:3073]),  # the last frame again, and one more
        detector.feed(times[3073:], ecg[3073:]),
        detector.flush(),
    ])
    np.testing.assert_array_equal(beats, detect_r_peaks(ecg, H10_HZ))
