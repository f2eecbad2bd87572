"""Nonlinear HRV of a whole session: DFA alpha1 and sample entropy, computed by neurokit2.

These are report-only numbers (never shown live), so the well-tested neurokit2
implementations are used rather than copies; neurokit2 is imported lazily, here only, so
``trm_bio.core`` and the app's start-up never load it. SD1 and SD2 come from
:func:`trm_bio.analysis.poincare` (the session summary) and are not repeated here.

* DFA alpha1: the short-term scaling exponent of detrended fluctuation analysis over
  windows of 4 to 16 beats (Peng et al. 1995, Chaos 5:82), on the corrected NN intervals of
  the longest unbroken segment (no window may span a gap). About 1 at rest in healthy adults;
  lower with strong respiratory sinus arrhythmia, higher under load.
* Sample entropy (m = 2, r = 0.2 x SD of the window): its cost grows with the square of the
  number of beats, so it is computed on consecutive windows of ``SAMPEN_WINDOW_BEATS`` beats
  inside segments (at most ``SAMPEN_MAX_WINDOWS``, spread evenly over the session) and
  averaged. The report says so.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DFA_SCALES_BEATS = tuple(range(4, 17))
#: Fewest beats for DFA alpha1 (several windows of the longest scale).
MIN_DFA_BEATS = 64
SAMPEN_WINDOW_BEATS = 300
SAMPEN_MAX_WINDOWS = 24
SAMPEN_METHOD = (
    f"sample entropy (m = 2, r = 0.2 × SD) is the mean over up to {SAMPEN_MAX_WINDOWS} windows "
    f"of {SAMPEN_WINDOW_BEATS} consecutive beats, because its cost grows with the square of "
    "the number of beats"
)
DFA_METHOD = "DFA alpha1 over windows of 4 to 16 beats, on the longest unbroken stretch"
NONLINEAR_KEYS = ("DFA_alpha1", "SampEn")


def _segments(nn_ms: np.ndarray, segment: np.ndarray) -> list[np.ndarray]:
    """Finite NN values of each segment, in order."""
    if nn_ms.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(segment)) + 1
    return [part[np.isfinite(part)] for part in np.split(nn_ms, cuts)]


def dfa_alpha1(nn_ms: np.ndarray, segment: np.ndarray) -> float:
    """DFA alpha1 (dimensionless) of the longest segment; NaN when it is too short."""
    parts = _segments(np.asarray(nn_ms, np.float64), np.asarray(segment))
    if not parts:
        return math.nan
    longest = max(parts, key=len)
    if longest.size < MIN_DFA_BEATS or np.std(longest) == 0:
        return math.nan
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value, _ = nk.fractal_dfa(longest, scale=list(DFA_SCALES_BEATS), overlap=True)
    return float(value)


def sample_entropy(nn_ms: np.ndarray, segment: np.ndarray) -> tuple[float, int]:
    """Mean sample entropy over windows of 300 beats within segments, and the window count.

    Returns NaN and 0 when no segment holds a full window (then one shorter segment of at
    least 100 beats is used on its own, if there is one).
    """
    parts = _segments(np.asarray(nn_ms, np.float64), np.asarray(segment))
    windows = [
        part[i : i + SAMPEN_WINDOW_BEATS]
        for part in parts
        for i in range(0, part.size - SAMPEN_WINDOW_BEATS + 1, SAMPEN_WINDOW_BEATS)
    ]
    if not windows:
        longest = max(parts, key=len) if parts else np.zeros(0)
        if longest.size < 100:
            return math.nan, 0
        windows = [longest]
    if len(windows) > SAMPEN_MAX_WINDOWS:
        pick = np.linspace(0, len(windows) - 1, SAMPEN_MAX_WINDOWS).round().astype(int)
        windows = [windows[i] for i in np.unique(pick)]
    import neurokit2 as nk

    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for window in windows:
            sd = float(np.std(window, ddof=1))
            if sd <= 0:
                continue
            value, _ = nk.entropy_sample(window, delay=1, dimension=2, tolerance=0.2 * sd)
            if math.isfinite(value):
                values.append(float(value))
    return (float(np.mean(values)) if values else math.nan), len(values)


def nonlinear_metrics(
    nn_ms: np.ndarray, segment: np.ndarray, *, hrv_valid: bool = True
) -> dict[str, Any]:
    """DFA alpha1 and sample entropy of a session's corrected NN intervals (ms).

    Both are NaN when the session's HRV is not valid (e.g. a sustained ectopic rhythm).
    """
    if not hrv_valid:
        return {"DFA_alpha1": math.nan, "SampEn": math.nan, "SampEnWindows": 0}
    sampen, n_windows = sample_entropy(nn_ms, segment)
    return {
        "DFA_alpha1": dfa_alpha1(nn_ms, segment),
        "SampEn": sampen,
        "SampEnWindows": n_windows,
    }
