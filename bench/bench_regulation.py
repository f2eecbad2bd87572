"""Regulation model: its figures on real recordings, then its speed.

Real recordings (tests/recordings.py finds them; the section is skipped when they are
absent): beats from the ECG's R-peaks (drivedb, neurokit2 peaks refined on the raw ECG) or
the cardiologists' annotations (MIT-BIH), analysed by the app's own engine, then the zone
indicator exactly as the live app runs it, with the session-start calibration at the start
of each recording (or stretch). Printed per recording:

* rest: share of rest time shown High (time-weighted, after the calibration) and High
  episodes per 10 minutes of rest;
* drive06's labelled segments: seconds from each city segment's start to the first High;
* AUC of the arousal indicator for city driving against rest (drive06), beside the AUC of
  the indicator's heart rate alone, in the same run;
* the share of rest time with an UNKNOWN zone and why (quality gate).

Wrist pulse (optional): with ``TRM_BIO_STRESS_PREDICT`` naming a local copy of the public
Stress-Predict dataset (Iqbal et al., github.com/italha-d/Stress-Predict-Dataset: 35 people,
Empatica E4 wrist BVP, a Stroop test, an interview and hyperventilation with rest between),
beats are found in the BVP with neurokit2 and the same figures are printed for rest and
the three tasks, twice: with the pulse-sensor quality gate, and as a plain RR file read back
through ``trm-bio analyze FILE --series`` (no ``--pulse-sensor``, what a check that does not
know the flag runs): how many people calibrated (and how many with an HRV reference), rest
High and Low shares, how much of rest had the arousal from heart rate alone, and the AUC of
the arousal against heart rate alone, same beats.

Speed: the live per-beat update, whole-session batch and shift detection. neurokit2 has no
regulation model, so there is no ratio; the targets are the live budget (under 50 µs a beat)
and batch work that stays well inside a redraw.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from trm_bio.core.engine import analyse_beats, recent_artifact_share
from trm_bio.core.regulation import (
    DEFAULT_PARAMS,
    HR_METRIC,
    VAGAL_METRIC,
    RegulationParams,
    RegulationTrace,
    Regulator,
    Zone,
    regulate,
    rhythm_words,
)
from trm_bio.core.rhythm import irregular_judged
from trm_bio.core.shifts import detect_shifts
from trm_bio.core.timeline import beats_from_rr

N_BEATS = 100_000  # about 24 h of beats

#: drive06 segments (s from the start of the record; shared/data/README.md).
DRIVE06_REST = ((97.0, 1000.0), (3896.0, 4799.0))
DRIVE06_CITY = ((1000.0, 1870.0), (2309.0, 2701.0), (3159.0, 3896.0))
#: MIT-BIH records of (mostly) sinus rhythm with few ectopic beats, 30 min each: taken as
#: quiet daily life (ambulatory Holter excerpts, not lab rest).
MITDB_QUIET = ("100", "101", "105")
#: nsr001 (22 h of daily life) cut into 1 h "sessions", each calibrated afresh at its start:
#: not rest, so High there is not all false; its share is printed for orientation.
NSR_SESSION_S = 3600.0
#: The first seconds of a labelled rest segment after driving are left out of the rest
#: figures: the labels mark when the car stopped, and the heart takes 30-60 s to come down
#: (drive06 at 3896 s: 111 bpm, 80 bpm 35 s later). The figure with them is printed too.
TRANSITION_S = 60.0


@dataclass
class Recording:
    """One analysed recording: beat times from its own zero and the indicator's inputs."""

    name: str
    offset_s: float  # record time of beat-clock zero (s)
    times_s: np.ndarray
    rr_ms: np.ndarray
    hr: np.ndarray
    rmssd: np.ndarray
    rhythm: list[str]
    artifact_share: np.ndarray


def _recording(name: str, rr_ms: np.ndarray, offset_s: float = 0.0) -> Recording:
    beats = beats_from_rr(rr_ms)
    analysis = analyse_beats(beats)
    m = analysis.metrics
    return Recording(
        name, offset_s, beats.times_s, beats.rr_ms, m[HR_METRIC], m[VAGAL_METRIC],
        rhythm_words(analysis.rhythm_ok, analysis.irregular,
                     irregular_judged(beats.rr_ms, beats.segment)),
        recent_artifact_share(beats.times_s, analysis.labels),
    )


def load_recordings() -> list[Recording]:
    """drive06, drive17a, MIT-BIH quiet records and a night of nsr001 (raises when absent)."""
    from tests import recordings

    out = []
    for record in ("drive06", "drive17a"):
        peaks = recordings.drivedb_r_peaks_s(record)
        out.append(_recording(record, np.diff(peaks) * 1000.0, float(peaks[0])))
    for record in MITDB_QUIET:
        out.append(_recording(f"mitdb{record}", recordings.mitdb(record).rr_ms))
    rr = recordings.nsr001_rr_ms()
    rr = rr[rr <= 3000]
    t = np.cumsum(rr) / 1000.0
    for k, start in enumerate(np.arange(0.0, t[-1] - NSR_SESSION_S / 2, NSR_SESSION_S)):
        part = (t >= start) & (t < start + NSR_SESSION_S)
        out.append(_recording(f"nsr001-h{k:02d}", rr[part], float(start)))
    return out


def run(rec: Recording, params: RegulationParams) -> RegulationTrace:
    """The indicator over the recording as the live app runs it (session-start calibration)."""
    return regulate(
        rec.times_s, rec.hr, rec.rmssd, params=params, rhythm=rec.rhythm,
        artifact_share=rec.artifact_share,
    )


def _in(times: np.ndarray, spans: tuple[tuple[float, float], ...]) -> np.ndarray:
    mask = np.zeros(times.size, dtype=bool)
    for a, b in spans:
        mask |= (times >= a) & (times < b)
    return mask


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu

    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if not pos.size or not neg.size:
        return float("nan")
    return float(mannwhitneyu(pos, neg).statistic / (pos.size * neg.size))


def rest_figures(
    rec: Recording, trace: RegulationTrace, rest: np.ndarray
) -> dict[str, float]:
    """High share of rest time, High episodes per 10 min, UNKNOWN share (after calibration)."""
    after = np.arange(rec.times_s.size) > trace.calibration_end_index
    if trace.calibration_end_index < 0:
        after[:] = False
    mask = rest & after
    dt = rec.rr_ms / 1000.0
    total = float(dt[mask].sum())
    high = trace.zone == int(Zone.HIGH)
    entries = high[1:] & ~high[:-1] & mask[1:]
    return {
        "rest_min": total / 60.0,
        "high_pct": 100.0 * float(dt[mask & high].sum()) / total if total else float("nan"),
        "episodes_10min": float(entries.sum()) / (total / 600.0) if total else float("nan"),
        "low_pct": 100.0 * float(dt[mask & (trace.zone == int(Zone.LOW))].sum()) / total
        if total else float("nan"),
        "unknown_pct": (
            100.0 * float(dt[mask & (trace.zone == int(Zone.UNKNOWN))].sum()) / total
            if total else float("nan")
        ),
    }


def evaluate(
    recs: list[Recording], params: RegulationParams = DEFAULT_PARAMS
) -> list[dict[str, object]]:
    """Every figure of every recording, one dict per recording."""
    rows: list[dict[str, object]] = []
    for rec in recs:
        trace = run(rec, params)
        t = rec.times_s + rec.offset_s
        row: dict[str, object] = {"name": rec.name}
        if rec.name == "drive06":
            rest = _in(t, DRIVE06_REST)
            row.update(rest_figures(rec, trace, rest))
            settled = tuple((a + TRANSITION_S, b) for a, b in DRIVE06_REST)
            row["high_pct_all_rest"] = row["high_pct"]
            row.update(rest_figures(rec, trace, _in(t, settled)))
            latency = []
            high = trace.zone == int(Zone.HIGH)
            for a, b in DRIVE06_CITY:
                hit = np.flatnonzero(high & (t >= a) & (t < b))
                latency.append(float(t[hit[0]] - a) if hit.size else float("inf"))
            row["city_latency_s"] = latency
            city = _in(t, DRIVE06_CITY)
            after = np.arange(t.size) > trace.calibration_end_index
            row["auc_arousal"] = _auc(trace.arousal[city & after], trace.arousal[rest & after])
            row["auc_hr"] = _auc(rec.hr[city & after], rec.hr[rest & after])
        else:  # rest or quiet daily life throughout
            row.update(rest_figures(rec, trace, np.ones(t.size, dtype=bool)))
        reasons = Counter(str(r) for r in trace.reason[trace.zone == int(Zone.UNKNOWN)])
        row["calibrated_s"] = (
            float(rec.times_s[trace.calibration_end_index])
            if trace.calibration_end_index >= 0 else float("nan")
        )
        row["reasons"] = reasons
        rows.append(row)
    return rows


def _as_rr_file(rr_ms: np.ndarray, folder: str) -> RegulationTrace:
    """The indicator as ``trm-bio analyze FILE --series`` computes it for an RR text file,
    without ``--pulse-sensor``: read back, analysed and regulated by the command's own path."""
    from pathlib import Path

    from trm_bio.analysis import analyse_recording, regulation_trace
    from trm_bio.cli.analyze import read_beats

    path = Path(folder, "rr.txt")
    path.write_text("".join(f"{r!r}\n" for r in rr_ms.tolist()))
    beats, _, _ = read_beats(path)
    analysis, _ = analyse_recording(beats)
    return regulation_trace(analysis)


def wrist_figures(folder: str, params: RegulationParams = DEFAULT_PARAMS) -> None:
    """Rest High share, UNKNOWN share and AUCs on the Stress-Predict wrist recordings, with
    the pulse-sensor flag and as a plain RR file (what an unaware check runs)."""
    import tempfile
    from pathlib import Path

    import neurokit2 as nk

    modes = ("pulse sensor", "RR file, no pulse flag")
    figures: dict[str, dict[str, list[float]]] = {
        m: {k: [] for k in ("high", "low", "unknown", "auc_a", "auc_hr", "hr_only", "hrv")}
        for m in modes
    }
    people = 0
    scratch = tempfile.TemporaryDirectory()
    for subject in sorted(Path(folder, "Raw_data").glob("S*")):
        try:
            bvp = np.loadtxt(subject / "BVP.csv")
            tags = np.atleast_1d(np.loadtxt(subject / f"tags_{subject.name}.csv", delimiter=","))
        except (OSError, ValueError):
            continue
        tags = tags - bvp[0]
        # Seven tags: three tasks (start, end) and the end of the last rest; some files hold
        # tags from another day (negative) or extra ones: left out.
        if tags.size != 7 or (tags < 0).any() or (np.diff(tags) <= 0).any():
            continue
        fs = float(bvp[1])
        _, info = nk.ppg_peaks(nk.ppg_clean(bvp[2:], sampling_rate=fs), sampling_rate=fs)
        peaks = np.asarray(info["PPG_Peaks"]) / fs
        rec = _recording(subject.name, np.diff(peaks) * 1000.0, float(peaks[0]))
        t = rec.times_s + rec.offset_s
        task = _in(t, ((tags[0], tags[1]), (tags[2], tags[3]), (tags[4], tags[5])))
        rest = ~task & (t < tags[6])
        people += 1
        for mode in modes:
            if mode == modes[0]:
                trace = regulate(
                    rec.times_s, rec.hr, rec.rmssd, params=params, rhythm=rec.rhythm,
                    artifact_share=rec.artifact_share, pulse_source=True,
                )
            else:
                trace = _as_rr_file(rec.rr_ms, scratch.name)
                if trace.times_s.size != t.size:
                    raise RuntimeError(f"{subject.name}: the RR file lost beats")
            if trace.calibration_end_index < 0 or trace.baseline is None:
                continue
            row = rest_figures(rec, trace, rest)
            after = np.arange(t.size) > trace.calibration_end_index
            f = figures[mode]
            f["hrv"].append(float(trace.baseline.has_hrv))
            f["high"].append(row["high_pct"])
            f["low"].append(row["low_pct"])
            f["unknown"].append(row["unknown_pct"])
            hr_only = np.isfinite(trace.arousal) & np.isnan(trace.z_vagal)
            f["hr_only"].append(100.0 * float(np.mean(hr_only[rest & after])))
            # Same beats, same run: the arousal column against the indicator's heart rate.
            f["auc_a"].append(_auc(trace.arousal[task & after], trace.arousal[rest & after]))
            f["auc_hr"].append(_auc(rec.hr[task & after], rec.hr[rest & after]))
    scratch.cleanup()
    if not people:
        print("Stress-Predict: no usable recording found")
        return
    for mode in modes:
        f = figures[mode]
        a, h, high = np.array(f["auc_a"]), np.array(f["auc_hr"]), np.array(f["high"])
        print(
            f"Stress-Predict wrist BVP ({mode}), {people} people, {len(high)} calibrated "
            f"({int(sum(f['hrv']))} with an HRV reference): rest High % median "
            f"{np.nanmedian(high):.1f} (max {np.nanmax(high):.1f}, above 8 % in "
            f"{int(np.sum(high > 8))}; target <= 8), Low % max {np.nanmax(f['low']):.1f}; zone "
            f"UNKNOWN a median {np.nanmedian(f['unknown']):.0f} % of rest, arousal from heart "
            f"rate alone a median {np.nanmedian(f['hr_only']):.0f} %\n  AUC tasks vs rest (per "
            f"person, after the calibration): arousal median {np.nanmedian(a):.3f} (mean "
            f"{np.nanmean(a):.3f}), heart rate alone median {np.nanmedian(h):.3f} (mean "
            f"{np.nanmean(h):.3f}); per person, arousal minus heart rate "
            f"{np.nanmin(a - h):+.4f} to {np.nanmax(a - h):+.4f}"
        )


def print_figures(rows: list[dict[str, object]]) -> None:
    """The real-recording table (targets: High <= 2 % of rest and <= 0.3 episodes per 10
    min; every city segment High within 60 s; AUC arousal >= AUC heart rate)."""
    print(f"{'recording':14s} {'rest min':>8s} {'High %':>7s} {'ep/10min':>8s} "
          f"{'Low %':>6s} {'unknown %':>9s} {'calib. at':>9s}  "
          "city latency (s) / AUC arousal vs HR")
    nsr = [row for row in rows if str(row["name"]).startswith("nsr001-h")]
    rows = [row for row in rows if row not in nsr]
    for row in rows:
        extra = ""
        if "city_latency_s" in row:
            lat = ", ".join(f"{x:.0f}" for x in row["city_latency_s"])  # type: ignore[attr-defined]
            extra = (
                f"  [{lat}]  AUC {row['auc_arousal']:.3f} vs HR {row['auc_hr']:.3f}; "
                f"High {row['high_pct_all_rest']:.2f} % with the first {TRANSITION_S:.0f} s"
            )
        print(
            f"{row['name']:14s} {row['rest_min']:8.1f} {row['high_pct']:7.2f} "
            f"{row['episodes_10min']:8.2f} {row['low_pct']:6.1f} {row['unknown_pct']:9.1f} "
            f"{row['calibrated_s']:8.0f}s{extra}"
        )
    if nsr:
        high = np.array([float(row["high_pct"]) for row in nsr])  # type: ignore[arg-type]
        episodes = np.array([float(row["episodes_10min"]) for row in nsr])  # type: ignore[arg-type]
        print(
            f"nsr001, {len(nsr)} one-hour sessions of daily life (not rest): High % median "
            f"{np.nanmedian(high):.1f}, quartiles {np.nanpercentile(high, 25):.1f}-"
            f"{np.nanpercentile(high, 75):.1f}; episodes/10 min median {np.nanmedian(episodes):.2f}"
        )


def _series(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.6, 1.1, n))
    slow = np.sin(times / 300.0)
    hr = 70 + 6 * slow + rng.normal(0, 1, n)
    rmssd = np.exp(3.5 - 0.4 * slow + rng.normal(0, 0.05, n))
    return times, hr, rmssd


def main() -> None:
    """Print the real-recording figures, then the speed table."""
    try:
        recs = load_recordings()
    except FileNotFoundError as exc:
        print(f"real recordings skipped: {exc}")
    else:
        print_figures(evaluate(recs))
    wrist = os.environ.get("TRM_BIO_STRESS_PREDICT")
    if wrist:
        wrist_figures(wrist)
    times, hr, rmssd = _series(N_BEATS)
    live = Regulator()
    tl, hl, rl = times.tolist(), hr.tolist(), rmssd.tolist()
    started = time.perf_counter()
    for i in range(N_BEATS):
        live.update(tl[i], hl[i], rl[i])
    per_beat_us = (time.perf_counter() - started) / N_BEATS * 1e6

    started = time.perf_counter()
    trace = regulate(times, hr, rmssd)
    batch_s = time.perf_counter() - started

    events = np.sort(np.random.default_rng(1).uniform(200, times[-1], 1000))
    started = time.perf_counter()
    detect_shifts(times, hr, rmssd, trace.arousal, events, trace.baseline, zone=trace.zone,
                  lowness=trace.lowness)
    shifts_s = time.perf_counter() - started

    rows = [
        ("live update, one beat", f"{per_beat_us:.2f} µs", "< 50 µs", per_beat_us < 50),
        (f"batch regulate, {N_BEATS} beats", f"{batch_s * 1e3:.0f} ms", "< 1 s", batch_s < 1),
        ("detect_shifts, 1000 events", f"{shifts_s * 1e3:.0f} ms", "< 1 s", shifts_s < 1),
    ]
    print(f"{'work':34s} {'ours':>12s} {'target':>10s}  result")
    for name, value, target, ok in rows:
        print(f"{name:34s} {value:>12s} {target:>10s}  {'pass' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
