"""Time-domain HRV against neurokit2 on real recordings (equal within 1e-9 relative)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests import recordings
from trm_bio.analysis import poincare
from trm_bio.core.time_domain import summary_time, time_domain
from trm_bio.core.windows import window_bounds

nk = pytest.importorskip("neurokit2")
KEYS = ("MeanNN", "SDNN", "RMSSD", "pNN50", "MinNN", "MaxNN")


_series = recordings.oracle_series


def _nk_time(rr_window: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Intervals passed as such: peaks would round-trip RR through a cumulative sum and
        # move differences of exactly 50 ms (MIT-BIH's 18 samples at 360 Hz) across pNN50's
        # threshold.
        out = nk.hrv_time(
            {"RRI": rr_window, "RRI_Time": np.cumsum(rr_window) / 1000.0}, sampling_rate=1000
        )
    return {key: float(out[f"HRV_{key}"].iloc[0]) for key in KEYS}


@pytest.mark.parametrize("name", ["nsr001", "mitdb100", "polar"])
@pytest.mark.parametrize("window_s", [60.0, 300.0])
def test_windows_equal_neurokit2(data_dir, name, window_s):
    rr = _series(name)
    times = np.cumsum(rr) / 1000.0
    ours = time_domain(rr, window_s=window_s)
    start, stop, full = window_bounds(times, rr, None, window_s)
    candidates = np.flatnonzero(full)
    assert candidates.size > 0
    pick = np.random.default_rng(7).choice(candidates, min(60, candidates.size), replace=False)
    for i in pick:
        expected = _nk_time(rr[start[i] : stop[i]])
        for key in KEYS:
            assert ours[key][i] == pytest.approx(expected[key], rel=1e-9, abs=1e-12), (key, i)
        assert ours["HR"][i] == pytest.approx(60000.0 / expected["MeanNN"], rel=1e-12)


def test_windows_not_full_at_the_start_are_nan(data_dir):
    rr = _series("nsr001")[:2000]
    out = time_domain(rr, window_s=300.0)
    times = np.cumsum(rr) / 1000.0
    assert np.all(np.isnan(out["SDNN"][times < 300.0]))
    assert np.all(np.isfinite(out["SDNN"][times >= 300.0]))


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("nsr001", {"MeanNN": 760.4, "SDNN": 168.65, "RMSSD": 34.33, "pNN50": 8.86}),
        ("polar", {"MeanNN": 751.2, "SDNN": 256.3, "RMSSD": 441.8, "pNN50": 87.6}),
    ],
)
def test_whole_record_matches_data_readme(data_dir, name, reference):
    rr = _series(name)
    summary = summary_time(rr)
    expected = _nk_time(rr)
    for key in ("MeanNN", "SDNN", "RMSSD", "pNN50", "MinNN", "MaxNN"):
        assert summary[key] == pytest.approx(expected[key], rel=1e-9)
    for key, value in reference.items():
        # The README rounds to the digits it prints.
        assert summary[key] == pytest.approx(value, abs=0.06)


def test_poincare_sd1_sd2_equal_neurokit2(data_dir):
    rr = _series("mitdb100")
    ours = poincare(rr, np.zeros(rr.size, dtype=np.int64))
    # neurokit2's own Poincaré step of nk.hrv_nonlinear, fed as that function feeds it: the
    # whole function adds entropies and fractal dimensions that take 15 s and are not compared.
    # These are private names of the pinned neurokit2 version (see pyproject.toml).
    from neurokit2.hrv.hrv_nonlinear import _hrv_nonlinear_poincare
    from neurokit2.hrv.hrv_utils import _hrv_format_input

    peaks = np.r_[0.0, np.cumsum(rr)]
    rri, rri_time, rri_missing = _hrv_format_input(peaks, sampling_rate=1000)
    expected = _hrv_nonlinear_poincare(rri, rri_time=rri_time, rri_missing=rri_missing, out={})
    assert ours["SD1"] == pytest.approx(float(expected["SD1"]), rel=1e-9)
    assert ours["SD2"] == pytest.approx(float(expected["SD2"]), rel=1e-9)


def test_rejected_beats_match_neurokit2_intervals_with_gaps(data_dir):
    rr = _series("mitdb100")[:400].copy()
    rr[[50, 51, 120, 300]] = np.nan
    times = np.cumsum(np.where(np.isnan(rr), 800.0, rr)) / 1000.0
    ours_whole = summary_time(rr)
    keep = np.isfinite(rr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = nk.hrv_time({"RRI": rr[keep], "RRI_Time": times[keep]}, sampling_rate=1000)
    for key in ("MeanNN", "SDNN", "RMSSD", "pNN50"):
        assert ours_whole[key] == pytest.approx(float(expected[f"HRV_{key}"].iloc[0]), rel=1e-9)
