"""Property tests of the sliding-window metrics: gaps, NaN, constant and extreme input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trm_bio.core.frequency_domain import FREQ_KEYS, frequency_domain
from trm_bio.core.time_domain import time_domain
from trm_bio.core.windows import window_bounds

rr_values = st.floats(min_value=250.0, max_value=2500.0, allow_nan=False)


@st.composite
def beats(draw, min_size=1, max_size=400, with_nan=True, with_gaps=True):
    rr = np.array(draw(st.lists(rr_values, min_size=min_size, max_size=max_size)))
    if with_nan and rr.size:
        nan_at = draw(st.lists(st.integers(0, rr.size - 1), max_size=max(1, rr.size // 10)))
        rr[nan_at] = np.nan
    times = np.cumsum(np.where(np.isnan(rr), 800.0, rr)) / 1000.0
    segment = np.zeros(rr.size, dtype=np.int64)
    if with_gaps and rr.size > 2:
        cuts = sorted(draw(st.lists(st.integers(1, rr.size - 1), max_size=3)))
        for cut in cuts:
            segment[cut:] += 1
            times[cut:] += draw(st.floats(1.0, 120.0))  # the gap of a disconnect
    return rr, times, segment


@settings(max_examples=60, deadline=None)
@given(beats(), st.sampled_from([10.0, 30.0, 60.0]))
def test_no_full_window_spans_segments_and_values_are_finite(data, window_s):
    rr, times, segment = data
    start, stop, full = window_bounds(times, rr, segment, window_s)
    out = time_domain(rr, times, segment, window_s=window_s)
    for i in np.flatnonzero(full):
        assert segment[start[i]] == segment[stop[i] - 1]
        assert np.all(times[start[i] : stop[i]] > times[i] - window_s)
    for key, values in out.items():
        assert np.all(np.isnan(values[~full])), key
        assert not np.any(np.isinf(values)), key
    # A full window with a valid beat has a finite mean; brute force for the others.
    for i in np.flatnonzero(full):
        window = rr[start[i] : stop[i]]
        valid = window[np.isfinite(window)]
        if valid.size:
            assert np.isclose(out["MeanNN"][i], valid.mean(), rtol=1e-9)
            assert out["MinNN"][i] == valid.min() and out["MaxNN"][i] == valid.max()
        if valid.size >= 2:
            assert np.isclose(out["SDNN"][i], valid.std(ddof=1), rtol=1e-7, atol=1e-6)
        diffs = np.diff(window)[segment[start[i] + 1 : stop[i]] == segment[i]]
        diffs = diffs[np.isfinite(diffs)]
        if diffs.size:
            assert np.isclose(out["RMSSD"][i], np.sqrt(np.mean(diffs**2)), rtol=1e-9)
            expected = np.sum(np.abs(diffs) > 50) / (diffs.size + 1) * 100
            assert np.isclose(out["pNN50"][i], expected)
        else:
            assert np.isnan(out["RMSSD"][i])


@settings(max_examples=40, deadline=None)
@given(beats(min_size=2, max_size=300), st.sampled_from([20.0, 60.0]))
def test_ends_on_a_time_grid_agree_with_ends_at_beats(data, window_s):
    rr, times, segment = data
    every = time_domain(rr, times, segment, window_s=window_s)
    on_grid = time_domain(rr, times, segment, window_s=window_s, ends_s=times.copy())
    for key in every:
        np.testing.assert_array_equal(every[key], on_grid[key])
    grid = np.arange(0.0, times[-1] + 5.0, 2.5)
    gridded = time_domain(rr, times, segment, window_s=window_s, ends_s=grid)
    start, stop, full = window_bounds(times, rr, segment, window_s, grid)
    for i in np.flatnonzero(full & (stop > start)):
        last = stop[i] - 1
        # Same beats as the window ending at its last beat when no beat left in between.
        if times[start[i]] > times[last] - window_s and np.isfinite(every["MeanNN"][last]):
            same = window_bounds(times, rr, segment, window_s, times[last : last + 1])
            if same[0][0] == start[i]:
                assert np.isclose(gridded["MeanNN"][i], every["MeanNN"][last], rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.floats(300.0, 2000.0), st.integers(1, 600))
def test_constant_rr_has_zero_variability(rr_value, n_beats):
    rr = np.full(n_beats, rr_value)
    out = time_domain(rr, window_s=30.0)
    full = np.isfinite(out["MeanNN"])
    assert np.all(out["SDNN"][full & np.isfinite(out["SDNN"])] == 0.0)
    assert np.all(out["RMSSD"][np.isfinite(out["RMSSD"])] == 0.0)
    np.testing.assert_allclose(out["HR"][full], 60000.0 / rr_value)
    freq = frequency_domain(rr, window_s=120.0)
    for key in ("VLF", "LF", "HF", "TP"):
        values = freq[key][np.isfinite(freq[key])]
        assert np.all(np.abs(values) <= 1e-9 * rr_value**2), key


def test_single_beat_and_empty_input():
    for rr in (np.array([800.0]), np.empty(0)):
        out = time_domain(rr, window_s=60.0)
        assert all(v.size == rr.size and np.all(np.isnan(v)) for v in out.values())
        freq = frequency_domain(rr, window_s=120.0)
        assert all(v.size == rr.size and np.all(np.isnan(v)) for v in freq.values())


@settings(max_examples=15, deadline=None)
@given(beats(min_size=200, max_size=500, with_gaps=True))
def test_frequency_domain_nan_outside_full_windows_and_finite_inside(data):
    rr, times, segment = data
    out = frequency_domain(rr, times, segment, window_s=120.0)
    _, _, full = window_bounds(times, rr, segment, 120.0)
    for key in FREQ_KEYS:
        assert np.all(np.isnan(out[key][~full])), key
    for key in ("VLF", "LF", "HF", "TP", "HFpeak", "RespirationRate"):
        values = out[key][full]
        assert not np.any(np.isinf(values)), key
        assert np.all(values[np.isfinite(values)] >= 0.0), key


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(280.0, 2400.0), min_size=150, max_size=300))
def test_extreme_alternation_stays_finite(values):
    rr = np.array(values)
    rr[::2] = 300.0  # extreme bigeminy-like swings
    out = frequency_domain(rr, window_s=60.0)
    td = time_domain(rr, window_s=60.0)
    full = np.isfinite(td["MeanNN"])
    for key in ("LF", "HF", "VLF"):
        assert np.all(np.isfinite(out[key][full])), key


@settings(max_examples=40, deadline=None)
@given(beats(min_size=1, max_size=400), st.booleans())
def test_several_windows_at_once_equal_one_window_at_a_time(data, on_grid):
    # time_domain_windows shares the search and the prefix sums between the windows; each
    # window must come out exactly as time_domain gives it alone.
    from trm_bio.core.time_domain import TIME_KEYS, time_domain_windows

    rr, times, segment = data
    ends = np.arange(0.0, times[-1] + 5.0, 2.5) if on_grid else None
    lengths = (10.0, 60.0, 30.0)
    together = time_domain_windows(rr, times, segment, windows_s=lengths, ends_s=ends)
    for window_s, values in zip(lengths, together, strict=True):
        alone = time_domain(rr, times, segment, window_s=window_s, ends_s=ends)
        assert tuple(values) == TIME_KEYS
        for key in TIME_KEYS:
            np.testing.assert_array_equal(values[key], alone[key], err_msg=key)
