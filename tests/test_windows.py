"""Which windows are full: a window that holds a gap, or runs past the data, is left out."""

from __future__ import annotations

import numpy as np
import pytest

from tests import recordings
from trm_bio.analysis import spectral_summary
from trm_bio.core.timeline import Beats, beats_from_rr
from trm_bio.core.windows import window_bounds


def _nsr001_minutes(minutes: float) -> np.ndarray:
    """The first ``minutes`` of the Holter's RR series (ms), a stretch without signal gaps."""
    rr = recordings.nsr001_rr_ms()[:3000]
    return rr[: int(np.searchsorted(np.cumsum(rr), minutes * 60_000.0))]


def _with_gap(rr_ms: np.ndarray, gap_from_s: float, gap_to_s: float) -> Beats:
    """The beats of ``rr_ms`` with those between the two times lost, as a dropout loses
    them: a new segment after the gap, the clock running on through it."""
    beats = beats_from_rr(rr_ms)
    keep = (beats.times_s <= gap_from_s) | (beats.times_s > gap_to_s)
    segment = (beats.times_s > gap_to_s).astype(np.int64)
    return Beats(beats.times_s[keep], beats.rr_ms[keep], segment[keep])


def test_a_window_on_a_time_grid_that_holds_a_gap_is_not_full(data_dir):
    beats = _with_gap(_nsr001_minutes(11.0), 240.0, 360.0)
    times, rr, segment = beats.times_s, beats.rr_ms, beats.segment
    # 0-300 s: all its beats are of the first segment, which ends at 240 s (the old kernel
    # took it as full); 300-600 s: the second segment begins at 360 s.
    _, _, full = window_bounds(times, rr, segment, 300.0, np.array([300.0, 600.0]))
    assert not full.any()
    # The gap-free windows around it stay full: one ending a fraction of a beat after the
    # first segment's last beat, and one inside the second segment.
    last_before = times[segment == 0][-1]
    ends = np.array([last_before + 0.1, 640.0])
    _, _, full = window_bounds(times, rr, segment, 120.0, ends)
    assert full.all()


def test_a_window_past_the_end_of_the_data_is_not_full(data_dir):
    rr = _nsr001_minutes(3.0)  # beats up to about 180 s, one segment
    times = np.cumsum(rr) / 1000.0
    ends = np.array([150.0, times[-1], times[-1] + 0.3, 300.0])
    start, stop, full = window_bounds(times, rr, None, 150.0, ends)
    assert stop[-1] > start[-1]  # the last window holds the beats of 150-180 s
    assert full.tolist() == [True, True, True, False]


def test_few_ends_and_many_ends_agree(data_dir):
    """The live engine asks for one end at a time (its own path for a few ends): each end
    alone gives what a grid of many gives."""
    beats = _with_gap(_nsr001_minutes(11.0), 240.0, 360.0)
    times, rr, segment = beats.times_s, beats.rr_ms, beats.segment
    grid = np.arange(5.0, 700.0, 2.5)
    _, _, full = window_bounds(times, rr, segment, 60.0, grid)
    alone = [window_bounds(times, rr, segment, 60.0, grid[i : i + 1])[2][0]
             for i in range(grid.size)]
    np.testing.assert_array_equal(full, alone)
    # Windows ending in the gap, or reaching back into it, are all left out.
    into_gap = (grid > 240.0 + 1.0) & (grid - 60.0 < 360.0)
    assert into_gap.any() and not full[into_gap].any()


@pytest.mark.parametrize("gap", [(240.0, 360.0), (182.0, 782.0)])
def test_the_whole_record_spectrum_leaves_out_windows_with_a_gap(data_dir, gap):
    beats = _with_gap(_nsr001_minutes(11.0 if gap[1] < 600 else 14.0), *gap)
    spectrum = spectral_summary(beats.rr_ms, beats.times_s, beats.segment)
    # No 5-minute window of the grid lies within one segment.
    assert spectrum["SpectralWindows"] == 0 and np.isnan(spectrum["LF"])
    whole = beats_from_rr(_nsr001_minutes(11.0))
    spectrum = spectral_summary(whole.rr_ms, whole.times_s, whole.segment)
    assert spectrum["SpectralWindows"] == 2 and np.isfinite(spectrum["LF"])
