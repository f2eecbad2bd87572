"""Readers for ECG files: CSV with ``time`` and ``ecg`` columns, EDF/EDF+, WFDB records.

Which files are ECG (:func:`ecg_kind`), from the name and the first bytes:

``edf``
    A ``.edf`` file, or any file that starts as EDF does (``0`` and seven spaces). The
    first signal labelled ECG or EKG is read (``ECG``, ``ECG I``, ``EKG lead II`` ...).
``wfdb``
    A PhysioNet WFDB record: its ``.hea`` header, its ``.dat``, or the record name (the
    path without extension) when ``NAME.hea`` exists beside it. The first signal named ECG
    or EKG is read, else lead II (``MLII``, ``II``), else the first other lead (``V5``...).
``csv``
    A delimited text table whose header names an ECG column (``ecg``, ``ecg_mv``,
    ``ECG (uV)``, ``ekg``) and a time column (``time``, ``time_s``, ``timestamp`` ...). The
    ECG is in mV unless the header says µV or V. The time unit is the header's, else the
    one (s, ms, µs or ns) that gives a sampling rate between 20 and 20,000 Hz: the Polar
    loggers write epoch nanoseconds. Other columns (``hr``, ``rr``) are ignored.

Anything else is left to the RR readers (:mod:`trm_bio.store.rr_files`).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from trm_bio.errors import InputFileError

log = logging.getLogger(__name__)

EcgKind = Literal["csv", "edf", "wfdb"]

#: ECG shorter than this cannot give a rhythm (s).
MIN_ECG_S = 10.0
#: Sampling rates an ECG file may have (Hz).
RATE_RANGE_HZ = (20.0, 20000.0)
_ECG_NAMES = ("ecg", "ekg", "ecg_mv", "ecg_uv", "ecg_v", "ecg_signal")
_TIME_NAMES = ("time", "time_s", "time_ms", "time_ns", "t", "timestamp", "seconds", "elapsed")
_LEAD = re.compile(r"^(ml)?(i{1,3}|avr|avl|avf|v[1-6])$", re.IGNORECASE)
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class EcgRecording:
    """One ECG lead read from a file.

    Attributes
    ----------
    times_s : numpy.ndarray
        Time of each sample (s from the first sample; the file's own clock where it has one).
    ecg_mv : numpy.ndarray
        The samples (mV).
    fs_hz : float
        Sampling rate (Hz): the header's, or the median step of the time column.
    format : str
        ``"csv"``, ``"edf"`` or ``"wfdb"``.
    channel : str
        The column or signal read.
    source_name : str
        The file's name (no folders).
    """

    times_s: np.ndarray
    ecg_mv: np.ndarray
    fs_hz: float
    format: str
    channel: str
    source_name: str

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1] - self.times_s[0]) if self.times_s.size else 0.0


def ecg_kind(path: str | Path) -> EcgKind | None:
    """Which kind of ECG file ``path`` is, or None when it is not one (an RR file)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".hea" or (
        (suffix == ".dat" or not path.exists()) and _header_of(path).exists()
    ):
        return "wfdb"
    if not path.is_file():
        return None
    if suffix in (".edf", ".bdf"):
        return "edf"
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return None  # the RR reader says why in its sentence
    if head.startswith(b"0       "):
        return "edf"
    if suffix == "" and _header_of(path).exists():
        return "wfdb"
    if b"\x00" in head:
        return None
    text = head.decode("utf-8-sig", errors="replace")
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _split(line)
        return "csv" if _column(fields, _ECG_NAMES) is not None else None
    return None


def read_ecg_file(path: str | Path) -> EcgRecording:
    """Read an ECG file of any kind :func:`ecg_kind` recognises.

    Raises
    ------
    InputFileError
        The file cannot be read, has no ECG signal, a value that is not a number, times
        that do not increase, an implausible sampling rate, or under ``MIN_ECG_S`` of ECG.
    """
    path = Path(path)
    kind = ecg_kind(path)
    if kind == "edf":
        recording = _read_edf(path)
    elif kind == "wfdb":
        recording = _read_wfdb(path)
    elif kind == "csv":
        recording = _read_csv(path)
    else:
        raise InputFileError(f"{path.name} is not an ECG file (CSV with an ecg column, EDF or "
                             "WFDB)")
    low, high = RATE_RANGE_HZ
    if not low <= recording.fs_hz <= high:
        raise InputFileError(
            f"{recording.source_name} is sampled at {recording.fs_hz:.3g} Hz, which is not an "
            f"ECG's rate ({low:g}-{high:g} Hz)"
        )
    if recording.duration_s < MIN_ECG_S:
        raise InputFileError(
            f"{recording.source_name} holds {recording.duration_s:.1f} s of ECG; at least "
            f"{MIN_ECG_S:g} s are needed to find a rhythm"
        )
    return recording


# -- CSV ----------------------------------------------------------------------------------
def _split(line: str) -> list[str]:
    for delimiter in (",", "\t", ";"):
        if delimiter in line:
            return [f.strip().strip('"').strip("'") for f in line.split(delimiter)]
    return line.split()


def _normalise(name: str) -> str:
    name = name.strip().lower().replace("µ", "u")
    name = re.sub(r"[\(\[]\s*(.*?)\s*[\)\]]", r"_\1", name)  # "ECG (mV)" -> "ecg_mv"
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def _column(fields: list[str], names: tuple[str, ...]) -> int | None:
    normalised = [_normalise(f) for f in fields]
    for name in names:
        if name in normalised:
            return normalised.index(name)
    return None


def _volts_to_mv(unit: str) -> float | None:
    """Factor from a unit name to mV, or None when it is not a voltage."""
    unit = unit.strip().lower().replace("µ", "u")
    return {"mv": 1.0, "uv": 1e-3, "v": 1e3, "nv": 1e-6}.get(unit)


def _read_csv(path: Path) -> EcgRecording:
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{name} cannot be read as text ({exc})") from exc
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    header_line = lines[0][1]
    delimiter = next((d for d in (",", "\t", ";") if d in header_line), None)
    header = next(csv.reader([header_line], delimiter=delimiter or " ", skipinitialspace=True))
    header = [h.strip() for h in header if h.strip() or delimiter]
    ecg_index = _column(header, _ECG_NAMES)
    assert ecg_index is not None  # ecg_kind found it
    time_index = _column(header, _TIME_NAMES)
    if time_index is None:
        columns = ", ".join(repr(h) for h in header)
        raise InputFileError(
            f"{name} has an ECG column but no time column (its columns are {columns}); "
            "add a column named time, in seconds"
        )
    parsed = _columns_fast(text, delimiter, time_index, ecg_index)
    if parsed is None:  # something is wrong: find the line and say what
        parsed = _columns_slow(lines, delimiter, time_index, ecg_index, len(header), name)
    times, values = parsed
    if times.size < 2:
        raise InputFileError(f"{name} has a header but fewer than two ECG samples under it")
    raw_times = times
    steps = np.diff(raw_times)
    bad = np.flatnonzero(~(steps > 0))
    if bad.size:
        line_number = lines[int(bad[0]) + 2][0]
        raise InputFileError(f"{name} line {line_number}: the time does not increase from the line "
                             "before, so the samples are out of order")
    scale = _time_scale(header[time_index], float(np.median(steps)), name)
    unit_match = re.search(r"(mv|uv|µv|nv|\bv\b|_v$)", header[ecg_index].lower())
    factor = 1.0
    if unit_match:
        factor = _volts_to_mv(unit_match.group(1).strip("_")) or 1.0
    times_s = (raw_times - raw_times[0]) * scale
    return EcgRecording(
        times_s=times_s,
        ecg_mv=values * factor,
        fs_hz=1.0 / float(np.median(np.diff(times_s))),
        format="csv",
        channel=header[ecg_index],
        source_name=name,
    )


def _columns_fast(
    text: str, delimiter: str | None, time_index: int, ecg_index: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Time and ECG columns by numpy's parser (hours of ECG in a second), or None when a
    value is not a number or missing, or a row is short."""
    try:
        table = np.loadtxt(
            io.StringIO(text),
            delimiter=delimiter,
            comments="#",
            skiprows=1,
            usecols=(time_index, ecg_index),
            dtype=np.float64,
            ndmin=2,
        )
    except (ValueError, IndexError):
        return None
    if not np.all(np.isfinite(table)):
        return None
    return table[:, 0].copy(), table[:, 1].copy()


def _columns_slow(
    lines: list[tuple[int, str]],
    delimiter: str | None,
    time_index: int,
    ecg_index: int,
    width: int,
    name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Time and ECG columns line by line, refusing the first bad value by its line."""
    times: list[float] = []
    values: list[float] = []
    for number, line in lines[1:]:
        fields = (line.split() if delimiter is None
                  else next(csv.reader([line], delimiter=delimiter)))
        if max(ecg_index, time_index) >= len(fields):
            raise InputFileError(f"{name} line {number} has {len(fields)} values where "
                                 f"{width} were expected")
        times.append(_number(fields[time_index], name, number))
        values.append(_number(fields[ecg_index], name, number, missing_ok=True))
    return np.asarray(times, dtype=np.float64), np.asarray(values, dtype=np.float64)


def _number(text: str, name: str, line: int, *, missing_ok: bool = False) -> float:
    text = text.strip().strip('"')
    if missing_ok and text in ("", "nan", "NaN", "NA"):
        return math.nan  # a lost sample: the detector starts afresh after it
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(f"{name} has {text!r} on line {line}, which is not a number") from None
    if not math.isfinite(value):
        raise InputFileError(f"{name} has {text!r} on line {line}, which is not a number")
    return value


def _time_scale(column: str, step: float, name: str) -> float:
    """Seconds per unit of the time column: the header's unit, else the one that makes the
    median step a sampling rate in ``RATE_RANGE_HZ``."""
    normalised = _normalise(column)
    for suffix, scale in (("_ns", 1e-9), ("_us", 1e-6), ("_ms", 1e-3), ("_s", 1.0)):
        if normalised.endswith(suffix):
            return scale
    low, high = RATE_RANGE_HZ
    for scale in (1.0, 1e-3, 1e-6, 1e-9):
        if low <= 1.0 / (step * scale) <= high:
            return scale
    raise InputFileError(
        f"{name}: the times step by {step:g}, which is no ECG sampling rate in seconds, "
        "milliseconds, microseconds or nanoseconds"
    )


# -- EDF ------------------------------------------------------------------------------------
def _is_ecg_label(label: str) -> bool:
    words = re.split(r"[^a-z0-9]+", label.lower())
    return "ecg" in words or "ekg" in words or label.lower().startswith(("ecg", "ekg"))


def _read_edf(path: Path) -> EcgRecording:
    import pyedflib

    name = path.name
    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise InputFileError(f"{name} is not a readable EDF file ({exc})") from exc
    try:
        labels = [label.strip() for label in reader.getSignalLabels()]
        channel = next((i for i, label in enumerate(labels) if _is_ecg_label(label)), None)
        if channel is None:
            listed = ", ".join(repr(label) for label in labels) or "none"
            raise InputFileError(
                f"{name} has no ECG signal (its signals are {listed}); the ECG must be "
                "labelled ECG or EKG"
            )
        factor = _volts_to_mv(reader.getPhysicalDimension(channel)) or 1.0
        fs = float(reader.getSampleFrequency(channel))
        ecg = reader.readSignal(channel).astype(np.float64) * factor
    finally:
        reader.close()
    return EcgRecording(np.arange(ecg.size) / fs, ecg, fs, "edf", labels[channel], name)


# -- WFDB -----------------------------------------------------------------------------------
def _header_of(path: Path) -> Path:
    return path.with_name(path.name + ".hea") if path.suffix.lower() not in (
        ".hea", ".dat", ".atr") else path.with_suffix(".hea")


def _read_wfdb(path: Path) -> EcgRecording:
    import wfdb

    header = _header_of(path)
    name = header.name
    if not header.exists():
        raise InputFileError(f"{path} is not a WFDB record: {name} does not exist")
    record_name = str(header.with_suffix(""))
    try:
        record: Any = wfdb.rdrecord(record_name, smooth_frames=False)
    except Exception as exc:  # wfdb raises bare ValueError, IndexError... on bad headers
        raise InputFileError(f"{name} is not a readable WFDB record ({exc})") from exc
    names = [str(n) for n in (record.sig_name or [])]
    # A signal named ECG, else lead II (the usual rhythm lead, MLII in the MIT-BIH
    # databases), else the first other lead.
    channel = next((i for i, n in enumerate(names) if _is_ecg_label(n)), None)
    if channel is None:
        channel = next((i for i, n in enumerate(names) if n.strip().upper() in ("MLII", "II")),
                       None)
    if channel is None:
        channel = next((i for i, n in enumerate(names) if _LEAD.match(n.strip())), None)
    if channel is None:
        listed = ", ".join(repr(n) for n in names) or "none"
        raise InputFileError(
            f"{name} has no ECG signal (its signals are {listed}); the ECG must be named "
            "ECG, EKG or a lead such as MLII or V5"
        )
    signal = record.e_p_signal[channel] if record.e_p_signal is not None else None
    if signal is None:
        raise InputFileError(f"{name} has no samples for its signal {names[channel]!r}")
    factor = _volts_to_mv(str(record.units[channel])) or 1.0
    fs = float(record.fs) * int(record.samps_per_frame[channel])
    ecg = np.asarray(signal, dtype=np.float64) * factor
    return EcgRecording(np.arange(ecg.size) / fs, ecg, fs, "wfdb", names[channel], name)
