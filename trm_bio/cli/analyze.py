"""``trm-bio analyze FILE``: HRV of an RR file, whole recording and sliding windows.

``trm-bio analyze FILE FILE... | FOLDER``: batch analysis, one row per file (CSV, JSON or a
table), spread over every core. A file that cannot be analysed gets an error row with the
one-sentence reason; the others are still analysed, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trm_bio.errors import InputFileError, TrmBioError
from trm_bio.store.paths import open_private_output, refuse_symlink

# numpy, scipy and the analysis load inside the functions that run a command: building the
# parser (every `trm-bio` call, `--help` too) must stay fast.
if TYPE_CHECKING:
    import numpy as np

    from trm_bio.core.ecg_quality import UnusableEcg
    from trm_bio.core.engine import BeatAnalysis
    from trm_bio.core.timeline import Beats
    from trm_bio.store.rr_files import Unit

UNITS = {
    "MeanNN": "ms",
    "SDNN": "ms",
    "RMSSD": "ms",
    "pNN50": "%",
    "HR": "bpm",
    "MinNN": "ms",
    "MaxNN": "ms",
    "VLF": "ms²",
    "LF": "ms²",
    "HF": "ms²",
    "LFHF": "",
    "HFpeak": "Hz",
    "SD1": "ms",
    "SD2": "ms",
    "SD1SD2": "",
    "RespirationRate": "breaths/min",
    "Coherence": "",
    "HR_20s": "bpm",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="HRV summary of an RR interval file or an ECG",
        description=(
            "Read an RR interval file (one interval per line in ms or s, CSV with a header, "
            "or Kubios RR text), correct artifacts, and print the HRV of the whole recording. "
            "An ECG file (CSV with time in s and ecg in mV columns, EDF/EDF+ with an ECG "
            "signal, or a WFDB record: its .hea file or record name) is recognised by its "
            "columns, first bytes or extension; its beats are found with the app's R-peak "
            "detector and analysed the same way, leaving out the beats of stretches where the ECG "
            "is too noisy, flat or clipped to find beats (the summary says how much). "
            "pNN50 is NN50 divided by the number of intervals, as neurokit2 defines it. "
            "Several files or folders: batch analysis on every core, one row per file "
            "(folders are searched recursively, hidden files skipped); a file that cannot be "
            "analysed gets an error row saying why, and the exit status is then 1."
        ),
    )
    p.add_argument(
        "file",
        type=Path,
        nargs="+",
        help="the RR file; or several files or folders for a batch (one row per file)",
    )
    p.add_argument(
        "--unit",
        choices=("auto", "ms", "s"),
        default="auto",
        help="unit of the RR values (default: detect)",
    )
    p.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="how to print the summary (default: table)",
    )
    p.add_argument(
        "--series",
        type=Path,
        metavar="FILE.csv",
        help=(
            "also write the sliding-window series and the zone indicator (Arousal, Zone, as "
            "the live app computes them), one row per beat (one file only)"
        ),
    )
    p.add_argument(
        "--pulse-sensor",
        action="store_true",
        help=(
            "--series: the beats come from a pulse (optical) sensor on the wrist, finger or "
            "ear, as the live app treats one: a stricter HRV gate (with or without it, where "
            "the beat timing is too noisy for HRV, Arousal is from heart rate alone and Zone "
            "unknown)"
        ),
    )
    p.add_argument(
        "--beats",
        type=Path,
        metavar="OUT.csv",
        help=(
            "ECG files: also write every detected beat's time (s), one a line, those the "
            "analysis leaves out (noisy, flat or clipped ECG) too (one file only)"
        ),
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="batch: files analysed at once (default: the number of cores)",
    )
    p.set_defaults(func=run)


class _Progress:
    """Stage messages on stderr, only when it is a terminal (long files take seconds)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.started = time.perf_counter()

    def __call__(self, stage: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            print(f"\r\033[K[{elapsed:5.1f} s] {stage}…", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = args.file
    if len(paths) > 1 or paths[0].is_dir():
        return run_batch(args)
    args.file = paths[0]
    return run_single(args)


def run_single(args: argparse.Namespace) -> int:
    from trm_bio.analysis import analyse_recording

    for output in (args.series, args.beats):
        if output:
            refuse_symlink(output)  # before the analysis, which can take seconds
    progress = _Progress()
    progress(f"reading {args.file.name}")
    beats, info, detected = read_beats(args.file, args.unit, progress)
    if args.beats:
        if detected is None:
            raise InputFileError(
                f"--beats writes the beats found in an ECG, and {args.file.name} is an RR file"
            )
        progress(f"writing {args.beats.name}")
        write_beats(args.beats, detected)
    analysis, summary = analyse_recording(
        beats, progress, None if detected is None else (detected.unusable, detected.times_s)
    )
    if args.series:
        progress(f"writing {args.series.name}")
        write_series(args.series, analysis, pulse_source=args.pulse_sensor)
    progress.done()
    document = {"recording": info, **summary.as_dict()}
    if args.format == "json":
        print(json.dumps(document, indent=2))
    elif args.format == "csv":
        print(summary_csv(document), end="")
    else:
        print(summary_table(document))
    return 0


@dataclass(frozen=True)
class DetectedBeats:
    """Every beat the detector found in an ECG file (s), and the ECG's unusable stretches
    (the beats there are left out of the analysis, not out of ``--beats``)."""

    times_s: np.ndarray
    unusable: UnusableEcg


def read_beats(
    path: Path, unit: Unit = "auto", progress: Callable[[str], None] | None = None
) -> tuple[Beats, dict[str, Any], DetectedBeats | None]:
    """The beats of an RR or ECG file, what the file was, and (ECG) every beat found.

    Raises
    ------
    InputFileError
        The file cannot be read, or holds fewer than two usable intervals.
    """
    from trm_bio.store.ecg_files import ecg_kind

    if ecg_kind(path) is not None:
        return _ecg_beats(path, progress)
    from trm_bio.core.timeline import beats_from_rr
    from trm_bio.store.rr_files import read_rr_file

    recording = read_rr_file(path, unit=unit)
    beats = beats_from_rr(recording.rr_ms, recording.times_s)
    if len(beats) < 2:
        raise InputFileError(f"{path.name} holds fewer than two usable RR intervals")
    info = {
        "file": recording.source_name,
        "format": recording.format,
        "unit": recording.unit,
        "unit_source": recording.unit_source,
    }
    return beats, info, None


def _ecg_beats(
    path: Path, progress: Callable[[str], None] | None
) -> tuple[Beats, dict[str, Any], DetectedBeats]:
    """Beats found in an ECG file by the app's detector (trm_bio/core/ecg_peaks.py), those
    in stretches of ECG that cannot give beats left out (trm_bio/core/ecg_quality.py)."""
    import numpy as np

    from trm_bio.core.ecg_peaks import EcgBeatDetector
    from trm_bio.core.ecg_quality import unusable_ecg
    from trm_bio.store.ecg_files import read_ecg_file

    ecg = read_ecg_file(path)
    if progress is not None:
        progress(f"finding the beats in {ecg.duration_s / 60:.0f} min of ECG")
    detector = EcgBeatDetector(ecg.fs_hz)
    found = np.concatenate([detector.feed(ecg.times_s, ecg.ecg_mv), detector.flush()])
    if found.size < 3:
        raise InputFileError(
            f"no heartbeats could be found in the ECG of {ecg.source_name} "
            f"({found.size} in {ecg.duration_s:.0f} s)"
        )
    if progress is not None:
        progress("judging the ECG's quality")
    unusable = unusable_ecg(ecg.times_s, ecg.ecg_mv, ecg.fs_hz)
    beats = unusable.beats(found)
    if len(beats) < 2:
        note = unusable.note()
        raise InputFileError(
            f"{ecg.source_name} holds fewer than two usable RR intervals"
            + (f" ({note})" if note else "")
        )
    info = {
        "file": ecg.source_name,
        "format": f"ecg-{ecg.format}",
        "channel": ecg.channel,
        "sampling_rate_hz": round(ecg.fs_hz, 3),
        "beats_detected": int(found.size),
        "unit": "",
        "unit_source": "",
    }
    return beats, info, DetectedBeats(found, unusable)


def write_beats(path: Path, detected: DetectedBeats) -> None:
    """Every detected beat time (s from the file's first sample) a line under a header,
    those the analysis leaves out too: the file keeps its one-column form, which other
    tools read; the summary says which stretches were left out."""
    try:
        with open_private_output(path, "w", newline="", encoding="utf-8") as handle:
            handle.write("beat_time_s\n")
            handle.writelines(f"{t:.6f}\n" for t in detected.times_s.tolist())
    except OSError as exc:
        raise InputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)


def summary_table(document: dict[str, Any], title: str | None = None) -> str:
    """A human-readable table of a summary document (``title`` defaults to the file line)."""
    q = document["quality"]
    if title is None:
        rec = document["recording"]
        if "channel" in rec:
            title = (f"{rec['file']}  (ECG {rec['format'][4:]}, signal {rec['channel']}, "
                     f"{rec['sampling_rate_hz']:g} Hz, {rec['beats_detected']} beats detected)")
        else:
            title = (f"{rec['file']}  ({rec['format']}, RR in {rec['unit']}, "
                     f"unit {rec['unit_source']})")
    lines = [
        title,
        f"{q['beats']} beats over {q['duration_s'] / 60:.1f} min in {q['segments']} segment(s); "
        f"{q['artifacts']} artifacts ({100 * (q['artifact_rate'] or 0):.2f} %) corrected "
        f"[{', '.join(f'{k[2:]} {v}' for k, v in q.items() if k.startswith('n_'))}]",
    ]
    if q.get("ecg_note"):
        lines.append(f"Note: {q['ecg_note']}.")
    if not document["hrv_valid"]:
        lines.append(f"Note: {document['reason']}.")
    lines.append("")
    width = max(len(k) for k in document["metrics"])
    for key, value in document["metrics"].items():
        unit = UNITS.get(key, "")
        lines.append(f"  {key:<{width}}  {_fmt(value):>10}  {unit}")
    return "\n".join(lines)


def summary_csv(document: dict[str, Any]) -> str:
    """One header row and one value row: metrics (neurokit2 names) then quality, validity
    and its reason, and what the file was (the batch CSV's columns, in their own order)."""
    rec = document["recording"]
    row = {
        "file": rec["file"],
        **document["metrics"],
        **document["quality"],
        "hrv_valid": document["hrv_valid"],
        "reason": document["reason"],
        **{key: rec.get(key, "") for key in ("format", "unit", "unit_source")},
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def write_series(path: Path, analysis: BeatAnalysis, *, pulse_source: bool = False) -> None:
    """Per-beat series: time, RR, artifact label, rhythm check, every sliding-window metric,
    then whether the rhythm is irregular (``rhythm_ok`` is False there too) and whether it is
    fixed-rate (as from a pacemaker), then the zone indicator (``Arousal``, in baseline
    spreads, and ``Zone``: low, resilient, high or unknown) exactly as the live app computes
    it with its session-start calibration on this file (``pulse_source``: from a pulse
    sensor, see :class:`~trm_bio.core.regulation.Regulator`)."""
    import numpy as np

    from trm_bio.analysis import regulation_trace
    from trm_bio.core import artifacts

    beats = analysis.beats
    columns: dict[str, np.ndarray] = {
        "time_s": beats.times_s,
        "rr_ms": beats.rr_ms,
        "segment": beats.segment,
        "artifact": np.asarray(artifacts.LABEL_NAMES, dtype=object)[analysis.labels],
        "rhythm_ok": analysis.rhythm_ok,
    }
    columns.update(analysis.metrics)
    if analysis.irregular is not None:
        columns["irregular_rhythm"] = analysis.irregular
    if analysis.paced is not None:
        columns["paced_rhythm"] = analysis.paced
    trace = regulation_trace(analysis, pulse_source=pulse_source)
    columns["Arousal"] = trace.arousal
    columns["Zone"] = np.asarray(trace.zone_labels(), dtype=object)
    try:
        with open_private_output(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            rows = zip(*(c.tolist() for c in columns.values()), strict=True)
            writer.writerows(
                ["" if isinstance(v, float) and math.isnan(v) else v for v in row] for row in rows
            )
    except OSError as exc:
        raise InputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc


# -- batch --------------------------------------------------------------------------------
BATCH_FIELDS = ("file", "status", "error", "format", "unit", "unit_source")


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named, and every non-hidden file inside the folders named (sorted, recursive);
    a WFDB record in a folder counts once, by its header (not its signal or annotations)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                    and not _wfdb_companion(p)
                )
            )
        else:
            out.append(path)
    return out


def _wfdb_companion(path: Path) -> bool:
    """A WFDB record's signal or annotation file (``100.dat``, ``100.atr`` beside
    ``100.hea``): its record is analysed through the header."""
    return path.suffix.lower() != ".hea" and path.with_suffix(".hea").is_file()


def analyse_file(path: str, unit: Unit = "auto") -> dict[str, Any]:
    """One batch row: the file's summary document, or its error sentence (never raises)."""
    from trm_bio.analysis import analyse_recording

    try:
        beats, info, detected = read_beats(Path(path), unit)
        _, summary = analyse_recording(
            beats, ecg=None if detected is None else (detected.unusable, detected.times_s)
        )
    except TrmBioError as exc:
        return {"file": path, "status": "error", "error": str(exc)}
    except Exception as exc:  # a bug must not cost the study's other rows
        return {
            "file": path,
            "status": "error",
            "error": f"{Path(path).name} could not be analysed ({type(exc).__name__}: {exc})",
        }
    return {
        "file": path,
        "status": "ok",
        "error": "",
        "format": info["format"],
        "unit": info["unit"],
        "unit_source": info["unit_source"],
        **summary.as_dict(),
    }


def _batch_rows(files: list[Path], unit: Unit, jobs: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, row) as files finish, analysed ``jobs`` at a time in worker processes."""
    if jobs <= 1 or len(files) == 1:
        for i, path in enumerate(files):
            yield i, analyse_file(str(path), unit)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
        futures = {pool.submit(analyse_file, str(path), unit): i for i, path in enumerate(files)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def run_batch(args: argparse.Namespace) -> int:
    """Analyse many files: one row per file, in the order given, errors as rows."""
    if args.series:
        raise TrmBioError("--series writes one file's per-beat series; give a single file")
    if args.beats:
        raise TrmBioError("--beats writes one ECG's beat times; give a single file")
    files = expand_paths(args.file)
    if not files:
        raise InputFileError("the folder(s) given hold no files to analyse")
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise TrmBioError("--jobs needs at least 1")
    progress = sys.stderr.isatty()
    started = time.perf_counter()
    rows: list[dict[str, Any] | None] = [None] * len(files)
    for done, (index, row) in enumerate(_batch_rows(files, args.unit, jobs), start=1):
        rows[index] = row
        if progress:
            elapsed = time.perf_counter() - started
            print(
                f"\r\033[K[{elapsed:5.1f} s] {done}/{len(files)} {files[index].name}",
                end="",
                file=sys.stderr,
                flush=True,
            )
    if progress:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    table = [r for r in rows if r is not None]
    if args.format == "json":
        print(json.dumps(table, indent=2))
    elif args.format == "csv":
        print(batch_csv(table), end="")
    else:
        print(batch_table(table))
    failed = sum(r["status"] != "ok" for r in table)
    if failed:
        print(
            f"trm-bio: {failed} of {len(table)} files could not be analysed; their rows say why",
            file=sys.stderr,
        )
        return 1
    return 0


def batch_csv(rows: list[dict[str, Any]]) -> str:
    """One header and one row per file: file, status, error, format, metrics, quality."""
    fields: dict[str, None] = dict.fromkeys(BATCH_FIELDS)
    for row in rows:
        fields.update(dict.fromkeys(row.get("metrics", {})))
    for row in rows:
        fields.update(dict.fromkeys(row.get("quality", {})))
    fields.update(dict.fromkeys(("hrv_valid", "reason")))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields))
    writer.writeheader()
    for row in rows:
        flat = {k: v for k, v in row.items() if k not in ("metrics", "quality")}
        flat.update(row.get("metrics", {}))
        flat.update(row.get("quality", {}))
        writer.writerow({k: "" if v is None else v for k, v in flat.items()})
    return out.getvalue()


def batch_table(rows: list[dict[str, Any]]) -> str:
    """A compact table for the terminal: one line per file."""
    width = max([len("FILE"), *(len(r["file"]) for r in rows)])
    width = min(width, 60)
    lines = [f"{'FILE':<{width}}  {'BEATS':>7} {'MIN':>6} {'HR':>6} {'SDNN':>7} {'RMSSD':>7}  NOTE"]
    for r in rows:
        name = r["file"] if len(r["file"]) <= width else "…" + r["file"][-(width - 1) :]
        if r["status"] != "ok":
            lines.append(
                f"{name:<{width}}  {'':>7} {'':>6} {'':>6} {'':>7} {'':>7}  error: {r['error']}"
            )
            continue
        q, m = r["quality"], r["metrics"]
        notes = [] if r["hrv_valid"] else ["HRV not valid"]
        if q.get("ecg_unusable_share"):
            notes.append(f"{100 * q['ecg_unusable_share']:.1f} % of the ECG left out")
        note = "; ".join(notes)
        lines.append(
            f"{name:<{width}}  {q['beats']:>7} {q['duration_s'] / 60:>6.1f} "
            f"{_fmt(m.get('HR')):>6} {_fmt(m.get('SDNN')):>7} {_fmt(m.get('RMSSD')):>7}  {note}"
        )
    return "\n".join(lines)
