"""File exports for researchers: CSV tables, Kubios-compatible RR text, EDF+ with annotations.

The exporters take plain arrays and dicts (the session pipeline computes beats, flags and
metrics with the core and hands them over); they know nothing of the library.

CSV (for spreadsheets)
    ``export_csv("s12.csv", ...)`` writes two plain tables, one header row each, comma
    separated, UTF-8, ``.`` as decimal point, full float precision, an empty cell where a
    value is missing (NaN): ``s12.csv`` has one row per beat (``time_s``, ``rr_ms``, the other
    beat columns, then one column per metric, the value of the window ending at that beat);
    ``s12_events.csv`` has one row per event (``time_s``, ``kind``, ``host_ns``, one column
    per payload key, and ``payload_json`` holding the exact payload). Two files rather than
    sections in one, because spreadsheets and ``pandas.read_csv`` read one table per file.
    A session with a Polar strap's ECG or accelerometer adds ``s12_ecg.csv`` (``time_s``,
    ``run``, ``ecg_uv``) and ``s12_acc.csv`` (``time_s``, ``run``, ``acc_x_mg``,
    ``acc_y_mg``, ``acc_z_mg``): one row per sample as the strap sent it, not resampled,
    ``time_s`` on the session's clock; ``run`` changes where frames were lost (the time
    jumps there: no row is made up).
Kubios RR text
    One RR interval per line in seconds, nothing else: what Kubios HRV imports as "RR
    interval data" (and :func:`trm_bio.store.rr_files.read_rr_file` reads back).
EDF+
    Two signals resampled at 4 Hz on the beat clock, ``RR`` (ms) and ``HR`` (bpm), linear
    between beats; 0 where there is no data (before a segment starts after a gap), with a
    ``signal gap`` annotation over each gap; every event as an EDF+ annotation. A session
    with a Polar strap's ECG adds ``ECG`` (µV, 130 Hz), and with its accelerometer
    ``ACC X``, ``ACC Y``, ``ACC Z`` (mg, 200 Hz), on the same clock (time 0 is the session
    start): linear between the strap's samples inside a run, 0 where there is no data
    (before the stream started, frames lost, after it stopped) with an ``ECG gap`` or
    ``ACC gap`` annotation over each such stretch.
"""

from __future__ import annotations

import csv
import errno
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from devices.pmd import PmdStream
from trm_bio.errors import TrmBioError
from trm_bio.store.paths import open_private_output, private_output, write_private_text
from trm_bio.store.pmd_signals import StrapSignal, on_grid

#: One column of a table: a value per beat.
Column = Sequence[Any] | np.ndarray

_FIRST_BEAT_COLUMNS = ("time_s", "rr_ms")
#: Longest EDF+ export with a strap's ECG and accelerometer (s): their channels are built
#: in memory at 730 samples a second (a day: about 0.5 GB).
MAX_EDF_STRAP_S = 24 * 3600
_EDF_ANNOTATION_CHARS = 80


def events_csv_path(path: str | Path) -> Path:
    """Where :func:`export_csv` writes the events table beside ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_events{path.suffix or '.csv'}")


def signal_csv_path(path: str | Path, stream: PmdStream) -> Path:
    """Where :func:`export_csv` writes a PMD stream's samples beside ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_{stream.name.lower()}{path.suffix or '.csv'}")


def export_csv(
    path: str | Path,
    beats: Mapping[str, Column],
    metrics: Mapping[str, Column] | None = None,
    events: Sequence[Mapping[str, Any]] | None = None,
    signals: Sequence[StrapSignal] = (),
) -> list[Path]:
    """Write the beats (and per-beat metrics) table and the events table.

    Parameters
    ----------
    path : path
        The beats table; the events go to ``<stem>_events.csv`` beside it.
    beats : dict of arrays
        Parallel per-beat columns, e.g. ``time_s``, ``rr_ms``, ``segment``, ``label``,
        ``nn_ms``; ``time_s`` and ``rr_ms`` come first.
    metrics : dict of arrays or None
        Per-beat metric values (neurokit2 names: ``RMSSD``, ``HR``...), same length as beats.
    events : list of dict or None
        Each with ``time_s``, ``kind``, optional ``host_ns`` and ``payload`` (dict). None
        writes no events file.
    signals : list of StrapSignal
        A Polar strap's ECG and accelerometer samples (see
        :mod:`trm_bio.store.pmd_signals`): one ``<stem>_ecg.csv`` or ``<stem>_acc.csv`` each.

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    columns = _columns(beats, metrics)
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise TrmBioError(f"the columns to export have different lengths: {lengths}")
    n_rows = next(iter(lengths.values()), 0)
    cells = [_cells(values) for values in columns.values()]
    # The beats table is renamed into place last: it is the name a rerun checks.
    with open_private_output(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        writer.writerows(zip(*cells, strict=True) if cells else [() for _ in range(n_rows)])
        written = []
        if events is not None:
            written.append(_write_events_csv(events_csv_path(path), events))
        for signal in signals:
            written.append(_write_signal_csv(signal_csv_path(path, signal.stream), signal))
    return [path, *written]


def _write_signal_csv(path: Path, signal: StrapSignal) -> Path:
    columns: dict[str, np.ndarray] = {
        "time_s": signal.time_s,
        "run": signal.run,
        **signal.column_values(),
    }
    with open_private_output(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        writer.writerows(zip(*(_cells(values) for values in columns.values()), strict=True))
    return path


def _columns(
    beats: Mapping[str, Any], metrics: Mapping[str, Any] | None
) -> dict[str, np.ndarray | Sequence[Any]]:
    ordered = [name for name in _FIRST_BEAT_COLUMNS if name in beats]
    ordered += [name for name in beats if name not in ordered]
    columns: dict[str, Any] = {name: beats[name] for name in ordered}
    for name, values in (metrics or {}).items():
        if name in columns:
            raise TrmBioError(f"the metric {name!r} has the name of a beat column")
        columns[name] = values
    return columns


def _cells(values: Sequence[Any] | np.ndarray) -> list[str]:
    array = np.asarray(values)
    if array.dtype.kind == "f":
        return ["" if math.isnan(x) else repr(x) for x in array.astype(np.float64).tolist()]
    if array.dtype.kind == "b":
        return ["1" if x else "0" for x in array.tolist()]
    if array.dtype.kind in "iu":
        return [str(x) for x in array.tolist()]
    return ["" if x is None else str(x) for x in array.tolist()]


def _write_events_csv(path: Path, events: Sequence[Mapping[str, Any]]) -> Path:
    keys: dict[str, None] = {}
    for event in events:
        keys.update(dict.fromkeys(event.get("payload") or {}))
    fixed = ["time_s", "kind", "host_ns"]
    payload_columns = [k for k in keys if k not in fixed and k != "payload_json"]
    with open_private_output(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*fixed, *payload_columns, "payload_json"])
        for event in events:
            payload = dict(event.get("payload") or {})
            host_ns = event.get("host_ns")
            row = [
                repr(float(event["time_s"])),
                str(event["kind"]),
                "" if host_ns is None else str(int(host_ns)),
            ]
            for key in payload_columns:
                value = payload.get(key)
                if value is None:
                    row.append("")
                elif isinstance(value, dict | list):
                    row.append(json.dumps(value, ensure_ascii=False))
                else:
                    row.append(str(value))
            row.append(json.dumps(payload, ensure_ascii=False, sort_keys=True))
            writer.writerow(row)
    return path


def read_beats_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a beats table written by :func:`export_csv` back into arrays.

    Integer columns come back as int64, numeric ones as float64 (empty cell → NaN), the
    rest as strings.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise TrmBioError(f"{path.name} is empty")
    header, body = rows[0], rows[1:]
    columns = list(zip(*body, strict=True)) if body else [() for _ in header]
    return {name: _parse_column(values) for name, values in zip(header, columns, strict=True)}


def _parse_column(values: Sequence[str]) -> np.ndarray:
    if values and all(v.lstrip("-").isdigit() for v in values):
        return np.asarray([int(v) for v in values], dtype=np.int64)
    try:
        return np.asarray([float(v) if v else math.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.asarray(values, dtype=str)


def read_events_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read an events table written by :func:`export_csv` (exact payloads from JSON)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            {
                "time_s": float(row["time_s"]),
                "kind": row["kind"],
                "host_ns": int(row["host_ns"]) if row["host_ns"] else None,
                "payload": json.loads(row["payload_json"]),
            }
            for row in csv.DictReader(handle)
        ]


def export_kubios_rr(path: str | Path, rr_ms: Sequence[float] | np.ndarray) -> Path:
    """Write RR intervals as Kubios HRV "RR interval data": one value per line, in seconds.

    Parameters
    ----------
    path : path
        The text file to write.
    rr_ms : array
        RR intervals (ms); written in seconds at full float precision, no header.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.size == 0:
        raise TrmBioError("there are no RR intervals to export")
    if not np.all(np.isfinite(rr)) or np.any(rr <= 0):
        raise TrmBioError("the RR intervals to export must all be positive numbers")
    path = Path(path)
    text = "\n".join(repr(x) for x in (rr / 1000.0).tolist())
    return write_private_text(path, text + "\n", encoding="ascii")


def export_edf(
    path: str | Path,
    times_s: Sequence[float] | np.ndarray,
    rr_ms: Sequence[float] | np.ndarray,
    *,
    segment: Sequence[int] | np.ndarray | None = None,
    events: Sequence[Mapping[str, Any]] = (),
    start_utc: str | datetime | None = None,
    patient_code: str = "X",
    recording_note: str = "trm-bio",
    sample_rate_hz: int = 4,
    signals: Sequence[StrapSignal] = (),
) -> Path:
    """Write an EDF+ file: RR and HR tachograms at ``sample_rate_hz`` and event annotations.

    Parameters
    ----------
    path : path
        The ``.edf`` file.
    times_s, rr_ms : arrays
        Beat times (s, beat clock) and the RR intervals they end (ms); NaN RR are skipped.
    segment : array of int or None
        Segment id per beat; the signal is not interpolated across a segment change.
    events : list of dict
        ``time_s``, ``kind``, optional ``payload`` and ``duration_s``; become annotations.
    start_utc : ISO 8601 str or datetime or None
        Wall-clock start of the beat clock (EDF holds local-less date and time).
    patient_code : str
        A pseudonymous code (EDF+ patient field; ASCII).
    sample_rate_hz : int
        Rate of the resampled signals (Hz).
    signals : list of StrapSignal
        A Polar strap's ECG (channel ``ECG``, µV) and accelerometer (``ACC X/Y/Z``, mg) on
        the session's clock, each at its nominal rate (see the module's notes).
    """
    import pyedflib

    times = np.asarray(times_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    segments = (
        np.zeros(times.size, dtype=np.int64)
        if segment is None
        else np.asarray(segment, dtype=np.int64)
    )
    keep = np.isfinite(rr) & np.isfinite(times) & (rr > 0)
    times, rr, segments = times[keep], rr[keep], segments[keep]
    if times.size < 2:
        raise TrmBioError("an EDF export needs at least two beats")
    event_end = max(
        (float(e["time_s"]) + float(e.get("duration_s") or 0.0) for e in events), default=0.0
    )
    signal_end = max((float(s.time_s.max()) for s in signals if len(s)), default=0.0)
    n_records = max(1, math.ceil(max(float(times[-1]), event_end, signal_end) + 1e-9))
    sample_times = np.arange(n_records * sample_rate_hz) / sample_rate_hz
    rr_signal, gaps = _tachogram(sample_times, times, rr, segments)
    hr_signal = np.where(rr_signal > 0, 60000.0 / np.where(rr_signal > 0, rr_signal, 1.0), 0.0)

    rr_max = float(max(3000.0, math.ceil(rr.max())))
    hr_max = float(max(250.0, math.ceil(hr_signal.max())))
    headers = [
        _signal_header("RR", "ms", sample_rate_hz, rr_max),
        _signal_header("HR", "bpm", sample_rate_hz, hr_max),
    ]
    if signals and n_records > MAX_EDF_STRAP_S:
        raise TrmBioError(
            f"the session spans {n_records / 3600:.1f} h, longer than the "
            f"{MAX_EDF_STRAP_S // 3600} h of ECG and accelerometer one EDF+ export holds; "
            "export it as CSV, which holds them whole"
        )
    samples = [rr_signal, hr_signal]
    annotations = [(start, end - start, "signal gap") for start, end in gaps]
    for strap in signals:
        channels, headers_of, strap_gaps = _strap_channels(strap, n_records)
        samples += channels
        headers += headers_of
        name = strap.stream.name
        annotations += [(start, end - start, f"{name} gap") for start, end in strap_gaps]
    path = Path(path)
    with private_output(path) as temporary:  # pyedflib writes by name: a temporary one
        writer = pyedflib.EdfWriter(
            str(temporary), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS
        )
        try:
            writer.setSignalHeaders(headers)
            writer.setPatientCode(_ascii(patient_code) or "X")
            writer.setRecordingAdditional(_ascii(recording_note))
            start = _start_datetime(start_utc)
            if start is not None:
                writer.setStartdatetime(start)
            writer.writeSamples(samples)
            for onset_s, duration_s, text in annotations:
                writer.writeAnnotation(onset_s, duration_s, text)
            for event in events:
                writer.writeAnnotation(
                    float(event["time_s"]),
                    float(event.get("duration_s") or 0.0),
                    _annotation_text(event),
                )
        finally:
            writer.close()
        _check_edf_whole(pyedflib, temporary)
    return path


def _check_edf_whole(pyedflib: Any, path: Path) -> None:
    """pyedflib ignores a write that fails at close (a full disk): read the header back."""
    try:
        pyedflib.EdfReader(str(path)).close()
    except OSError as exc:  # edflib compares the file's size with its header
        raise OSError(errno.EIO, "the EDF file came out incomplete (is the disk full?)") from exc


def _signal_header(
    label: str,
    unit: str,
    rate_hz: int,
    physical_max: float,
    *,
    physical_min: float = 0.0,
    transducer: str = "chest strap RR",
) -> dict[str, Any]:
    return {
        "label": label,
        "dimension": unit,
        "sample_frequency": rate_hz,
        "physical_min": physical_min,
        "physical_max": physical_max,
        "digital_min": -32768,
        "digital_max": 32767,
        "transducer": transducer,
        "prefilter": "linear interpolation",
    }


#: EDF+ label, unit, transducer and smallest physical range (±) of each PMD stream.
_STRAP_CHANNELS = {
    PmdStream.ECG: (("ECG",), "uV", "chest strap ECG electrodes", 1000),
    PmdStream.ACC: (("ACC X", "ACC Y", "ACC Z"), "mg", "chest strap accelerometer", 2000),
}


def _strap_channels(
    strap: StrapSignal, n_records: int
) -> tuple[list[np.ndarray], list[dict[str, Any]], list[tuple[float, float]]]:
    """A PMD stream's channels on 1 s records: samples, headers and the gaps (s)."""
    labels, unit, transducer, least = _STRAP_CHANNELS[strap.stream]
    rate_hz = int(strap.rate_hz)
    values, gaps = on_grid(strap, n_records * rate_hz)
    columns = values.reshape(values.shape[0], -1)
    # Symmetric range, rounded up to a hundred: values are never clipped.
    peak = float(np.abs(columns).max(initial=0.0))
    # Whole numbers: EDF holds 8 characters, and "-419400.0" would be cut.
    limit = int(max(least, 100 * math.ceil(peak / 100.0)))
    headers = [
        _signal_header(
            label, unit, rate_hz, limit, physical_min=-limit, transducer=transducer
        )
        for label in labels
    ]
    return [np.ascontiguousarray(columns[:, i]) for i in range(columns.shape[1])], headers, gaps


def _tachogram(
    sample_times: np.ndarray, times: np.ndarray, rr: np.ndarray, segments: np.ndarray
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """RR resampled on ``sample_times`` per segment, 0 outside segments; the gaps (s)."""
    signal = np.zeros(sample_times.size, dtype=np.float64)
    gaps: list[tuple[float, float]] = []
    bounds = np.flatnonzero(np.diff(segments) != 0) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [times.size]))
    previous_end = 0.0
    for first, last in zip(starts.tolist(), ends.tolist(), strict=True):
        seg_times, seg_rr = times[first:last], rr[first:last]
        begin = float(seg_times[0] - seg_rr[0] / 1000.0)  # the segment's first interval starts
        if first > 0 and begin > previous_end:
            gaps.append((previous_end, begin))
        inside = (sample_times >= max(begin, 0.0)) & (sample_times <= seg_times[-1])
        signal[inside] = np.interp(sample_times[inside], seg_times, seg_rr)
        previous_end = float(seg_times[-1])
    return signal, gaps


def _annotation_text(event: Mapping[str, Any]) -> str:
    payload = dict(event.get("payload") or {})
    detail = next(
        (
            str(payload[k])
            for k in ("text", "label", "name", "skill", "step", "zone", "valence")
            if k in payload
        ),
        json.dumps(payload, ensure_ascii=False, sort_keys=True) if payload else "",
    )
    text = f"{event['kind']}: {detail}" if detail else str(event["kind"])
    return text[:_EDF_ANNOTATION_CHARS]


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii").replace(" ", "_")


def _start_datetime(start: str | datetime | None) -> datetime | None:
    if start is None:
        return None
    value = datetime.fromisoformat(start) if isinstance(start, str) else start
    return value.replace(tzinfo=None)  # EDF has no time zone; the value is UTC
