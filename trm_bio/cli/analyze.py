"""``trm-bio analyze FILE``: HRV of an RR file, whole recording and sliding windows."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from trm_bio.analysis import analyse_recording
from trm_bio.core import artifacts
from trm_bio.core.engine import BeatAnalysis
from trm_bio.core.timeline import beats_from_rr
from trm_bio.errors import InputFileError
from trm_bio.store.rr_files import read_rr_file

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
        help="HRV summary of an RR interval file",
        description=(
            "Read an RR interval file (one interval per line in ms or s, CSV with a header, "
            "or Kubios RR text), correct artifacts, and print the HRV of the whole recording. "
            "pNN50 is NN50 divided by the number of intervals, as neurokit2 defines it."
        ),
    )
    p.add_argument("file", type=Path, help="the RR file")
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
        help="also write the sliding-window series, one row per beat",
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
    progress = _Progress()
    progress(f"reading {args.file.name}")
    recording = read_rr_file(args.file, unit=args.unit)
    beats = beats_from_rr(recording.rr_ms, recording.times_s)
    if len(beats) < 2:
        raise InputFileError(f"{args.file.name} holds fewer than two usable RR intervals")
    analysis, summary = analyse_recording(beats, progress)
    if args.series:
        progress(f"writing {args.series.name}")
        write_series(args.series, analysis)
    progress.done()
    info = {
        "file": recording.source_name,
        "format": recording.format,
        "unit": recording.unit,
        "unit_source": recording.unit_source,
    }
    document = {"recording": info, **summary.as_dict()}
    if args.format == "json":
        print(json.dumps(document, indent=2))
    elif args.format == "csv":
        print(summary_csv(document), end="")
    else:
        print(summary_table(document))
    return 0


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
        title = f"{rec['file']}  ({rec['format']}, RR in {rec['unit']}, unit {rec['unit_source']})"
    lines = [
        title,
        f"{q['beats']} beats over {q['duration_s'] / 60:.1f} min in {q['segments']} segment(s); "
        f"{q['artifacts']} artifacts ({100 * (q['artifact_rate'] or 0):.2f} %) corrected "
        f"[{', '.join(f'{k[2:]} {v}' for k, v in q.items() if k.startswith('n_'))}]",
    ]
    if not document["hrv_valid"]:
        lines.append(f"Note: {document['reason']}.")
    lines.append("")
    width = max(len(k) for k in document["metrics"])
    for key, value in document["metrics"].items():
        unit = UNITS.get(key, "")
        lines.append(f"  {key:<{width}}  {_fmt(value):>10}  {unit}")
    return "\n".join(lines)


def summary_csv(document: dict[str, Any]) -> str:
    """One header row and one value row: metrics (neurokit2 names) then quality."""
    row = {
        "file": document["recording"]["file"],
        **document["metrics"],
        **document["quality"],
        "hrv_valid": document["hrv_valid"],
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def write_series(path: Path, analysis: BeatAnalysis) -> None:
    """Per-beat series: time, RR, artifact label, rhythm check, every sliding-window metric."""
    beats = analysis.beats
    columns: dict[str, np.ndarray] = {
        "time_s": beats.times_s,
        "rr_ms": beats.rr_ms,
        "segment": beats.segment,
        "artifact": np.asarray(artifacts.LABEL_NAMES, dtype=object)[analysis.labels],
        "rhythm_ok": analysis.rhythm_ok,
    }
    columns.update(analysis.metrics)
    try:
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            rows = zip(*(c.tolist() for c in columns.values()), strict=True)
            writer.writerows(
                ["" if isinstance(v, float) and math.isnan(v) else v for v in row] for row in rows
            )
    except OSError as exc:
        raise InputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
