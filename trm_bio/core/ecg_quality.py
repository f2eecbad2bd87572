"""Where a recorded ECG cannot give beats, and the beats found there left out.

The R-peak detector (:mod:`trm_bio.core.ecg_peaks`) finds "beats" in noise too: during a
burst of muscle or movement noise it splits normal intervals (383 + 246 ms between 650 ms
ones in MIT-BIH record 105) and these pass the artifact rules as normal, so a file's RMSSD
and SDNN come out far too high. Live, the Polar H10 path falls back to the strap's RR while
:func:`~trm_bio.core.ecg_peaks.ecg_status` says the ECG is not clean; a file has no second
source, so its unusable stretches are judged the same way and their beats left out:

* :func:`~trm_bio.core.ecg_peaks.ecg_status_along` judges ``STATUS_WINDOW_S`` (4 s) windows
  starting every ``STEP_S`` (2 s), so each moment of the ECG is judged in two windows and a
  burst that straddles a window boundary is still caught whole.
* A stretch is the union of overlapping windows that are not "ok" (flat, clipped, of
  implausible amplitude or noisy). Every interval that touches a stretch is left out and the
  beat after it starts a new segment, so no interval spans a stretch and no sliding window
  holds one (:class:`~trm_bio.core.timeline.Beats` segments).
* When more than ``MAX_UNUSABLE_SHARE`` of the ECG is unusable, HRV is not valid.

Tuned on real recordings (``python -m bench ecg_quality``): RMSSD (ms) after artifact
correction as ``trm-bio analyze`` computes it, before and after leaving the unusable
stretches out, and from the cardiologists' annotated beats; ``*``: HRV not valid for the
record for another reason (bigeminy, atrial fibrillation, an ectopic rhythm), shown anyway.

=========  ========  =========  ======  =====  =========
record     unusable  stretches  before  after  annotated
=========  ========  =========  ======  =====  =========
MIT 100    0.0 %     0          28.3    28.3   27.2
MIT 101    0.0 %     0          38.5    38.5   37.8
MIT 105    5.6 %     12         46.2    23.0   20.8
MIT 106    0.4 %     2          338.2*  318.4* 332.8*
MIT 116    1.7 %     4          39.7    37.3   34.8
MIT 119    0.0 %     0          381.0*  381.0* 385.6*
MIT 201    0.0 %     0          294.4*  294.4* 290.9*
MIT 203    0.9 %     3          238.7*  234.7* 235.3*
MIT 208    0.0 %     0          100.0*  100.0* 178.7*
MIT 219    0.0 %     0          207.9*  207.9* 209.0*
MIT 223    0.0 %     0          116.7*  116.7* 111.8*
drive06    0.0 %     0          43.4    43.4   –
drive17a   0.0 %     0          86.1    86.1   –
Polar H10  0.0 %     0          399.5*  399.5* –
=========  ========  =========  ======  =====  =========

The clean records (100, 101, both drives with their motion, the H10) lose nothing. The
false beats 105 keeps lie at the edges of its bursts and between them, in 4 s that hold too
little noise to fall under the kurtosis and band-power limits. Back-to-back 4 s windows (no
overlap) caught less of 105's bursts (4.2 % unusable, RMSSD 25.9). 2 s windows are too
short for those indices: they took more of the arrhythmic records for noise (106 2.2 %, 203
3.1 %; 106's RMSSD then 242 against 333 annotated), and at the H10's 130 Hz they are under
the 2 s that :func:`~trm_bio.core.ecg_peaks.ecg_status` needs. Widening each stretch by
2 s, or joining stretches under 8-10 s apart, left up to 3 % more of 105 out for at most
0.3 ms of RMSSD.

Judging takes about 0.55 s per hour of 360 Hz ECG (13 s for 24 h; detecting the beats
takes 17 s), ``analyze`` of a 30 min record about 0.5 s in all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trm_bio.core.ecg_peaks import STATUS_WINDOW_S, StatusCode, ecg_status_along
from trm_bio.core.timeline import Beats, TimelineConfig, beats_from_rr

Float = NDArray[np.float64]

#: A window starts every this (s): half a ``STATUS_WINDOW_S``.
STEP_S = STATUS_WINDOW_S / 2
#: More of the ECG than this unusable and HRV is not valid. The Task Force (Circulation
#: 93:1043-1065, 1996) asks a 24 h recording for at least 18 h of analysable ECG: a quarter
#: may be lost. Beyond that the beats left describe a chosen part of the recording (the
#: still moments between movements), not the recording.
MAX_UNUSABLE_SHARE = 0.25

#: The problems in the order :func:`~trm_bio.core.ecg_peaks.ecg_status` tries them, in the
#: words of the note ("starting": a window whose samples are mostly missing).
PROBLEM_WORDS: dict[StatusCode, str] = {
    "flat": "flat",
    "saturated": "clipped",
    "amplitude": "far too large",
    "noisy": "too noisy",
    "starting": "samples missing",
}


@dataclass(frozen=True)
class UnusableEcg:
    """The stretches of a recorded ECG that cannot give beats.

    Attributes
    ----------
    starts_s, ends_s : numpy.ndarray
        Each stretch (s, on the ECG's clock), increasing and apart.
    window_starts_s, window_ends_s : numpy.ndarray
        Each window judged not "ok" (s), increasing.
    window_codes : tuple of str
        Its status code (``"noisy"``, ``"flat"`` ...).
    ecg_s : float
        Length of the ECG (s).
    """

    starts_s: Float
    ends_s: Float
    window_starts_s: Float
    window_ends_s: Float
    window_codes: tuple[StatusCode, ...]
    ecg_s: float

    @property
    def unusable_s(self) -> float:
        """Time in the stretches (s)."""
        return float(np.sum(self.ends_s - self.starts_s))

    @property
    def share(self) -> float:
        """Share of the ECG in the stretches (0-1)."""
        return min(1.0, self.unusable_s / self.ecg_s) if self.ecg_s > 0 else 0.0

    @property
    def problems(self) -> list[StatusCode]:
        """The status codes found, most basic first (flat before noisy)."""
        return [code for code in PROBLEM_WORDS if code in self.window_codes]

    def code_at(self, times_s: ArrayLike) -> NDArray[np.str_]:
        """The status of the ECG at each time: ``"ok"``, or the code of the latest-starting
        window not "ok" that holds it."""
        t = np.asarray(times_s, dtype=np.float64)
        out = np.full(t.shape, "ok", dtype=object)
        if not self.window_codes:
            return out.astype(str)
        latest = np.searchsorted(self.window_starts_s, t, side="right") - 1
        inside = (latest >= 0) & (t <= self.window_ends_s[np.maximum(latest, 0)])
        codes = np.asarray(self.window_codes, dtype=object)
        out[inside] = codes[latest[inside]]
        return out.astype(str)

    def left_out(self, beat_times_s: ArrayLike) -> NDArray[np.bool_]:
        """Per interval between successive beats: whether it touches a stretch."""
        t = np.asarray(beat_times_s, dtype=np.float64)
        if t.size < 2 or self.starts_s.size == 0:
            return np.zeros(max(t.size - 1, 0), dtype=bool)
        # The first stretch ending at or after the interval's start; it touches the
        # interval when it starts by the interval's end.
        first = np.searchsorted(self.ends_s, t[:-1], side="left")
        found = first < self.starts_s.size
        touches = np.zeros(t.size - 1, dtype=bool)
        touches[found] = self.starts_s[first[found]] <= t[1:][found]
        return touches

    def beats(self, beat_times_s: ArrayLike,
              max_rr_ms: float = TimelineConfig().max_rr_ms) -> Beats:
        """The intervals between detected beats, those touching a stretch left out.

        Each one left out ends its segment, exactly as an RR that cannot be a heartbeat does
        in :func:`~trm_bio.core.timeline.beats_from_rr`; beat times are the detected ones.
        """
        t = np.asarray(beat_times_s, dtype=np.float64)
        rr = np.diff(t) * 1000.0
        rr[self.left_out(t)] = np.nan
        plain = beats_from_rr(rr, max_rr_ms=max_rr_ms)
        kept = np.isfinite(rr) & (rr > 0) & (rr <= max_rr_ms)
        return Beats(t[1:][kept], plain.rr_ms, plain.segment)

    def note(self) -> str:
        """One sentence on what was left out ("" when the whole ECG was usable)."""
        if self.starts_s.size == 0:
            return ""
        count = self.starts_s.size
        stretches = f"{count} stretch" if count == 1 else f"{count} stretches"
        return (
            f"{_percent(self.share)} of the ECG ({self.unusable_s:.0f} s in {stretches}) could "
            f"not give beats ({self._words()}); the beats there are left out"
        )

    def reason(self) -> str:
        """Why HRV is not valid for this ECG ("" when enough of it is usable)."""
        if self.share <= MAX_UNUSABLE_SHARE:
            return ""
        return (
            f"with more than {_percent(MAX_UNUSABLE_SHARE)} of the ECG left out "
            f"({_percent(self.share)}: {self._words()}), the beats that remain do not stand for "
            "the recording, so heart-rate variability is not valid for it"
        )

    def _words(self) -> str:
        return ", ".join(PROBLEM_WORDS[code] for code in self.problems)

    def quality(self, beat_times_s: ArrayLike) -> dict[str, object]:
        """The quality keys of a summary (``ecg_...``)."""
        t = np.asarray(beat_times_s, dtype=np.float64)
        return {
            "ecg_unusable_s": self.unusable_s,
            "ecg_unusable_share": self.share,
            "ecg_unusable_stretches": int(self.starts_s.size),
            "ecg_problems": ", ".join(self.problems),
            "ecg_beats_left_out": int(np.sum(self.code_at(t) != "ok")),
            "ecg_note": self.note(),
        }


def _percent(share: float) -> str:
    value = 100.0 * share
    return f"{value:.1f} %" if value < 10 else f"{value:.0f} %"


def unusable_ecg(times_s: ArrayLike, ecg_mv: ArrayLike, fs_hz: float) -> UnusableEcg:
    """Judge a whole recorded ECG in ``STATUS_WINDOW_S`` windows every ``STEP_S``.

    Parameters
    ----------
    times_s : array_like
        Time of each sample (s).
    ecg_mv : array_like
        The samples (mV), evenly sampled apart from lost ones.
    fs_hz : float
        Sampling rate (Hz).

    Returns
    -------
    UnusableEcg
        The stretches not "ok" (a window runs from its first sample's time to its last's).
    """
    t = np.asarray(times_s, dtype=np.float64)
    x = np.asarray(ecg_mv, dtype=np.float64)
    ecg_s = float(t[-1] - t[0]) if t.size else 0.0
    if t.size == 0:
        empty = np.empty(0)
        return UnusableEcg(empty, empty, empty, empty, (), 0.0)
    window_starts, codes = ecg_status_along(x, fs_hz, STATUS_WINDOW_S, STEP_S)
    n = max(1, round(STATUS_WINDOW_S * fs_hz))
    bad = np.flatnonzero([code != "ok" for code in codes])
    first = window_starts[bad]
    w_start = t[first]
    w_end = t[np.minimum(first + n - 1, t.size - 1)]
    starts: list[float] = []
    ends: list[float] = []
    for a, b in zip(w_start.tolist(), w_end.tolist(), strict=True):
        if ends and a <= ends[-1]:
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    return UnusableEcg(
        np.asarray(starts, dtype=np.float64),
        np.asarray(ends, dtype=np.float64),
        w_start,
        w_end,
        tuple(codes[i] for i in bad),
        ecg_s,
    )
