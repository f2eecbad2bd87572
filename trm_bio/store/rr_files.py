"""Readers for RR interval files: plain text (ms or s), CSV with a header, Kubios RR text.

Formats understood (detected from the content, never from the file name):

``text``
    One interval per line, in milliseconds or seconds (the unit is detected from the values,
    or given with ``unit=``). Two numeric columns without a header are read as
    ``time, rr`` (the HRVAS convention), both in the same unit.
``kubios``
    Kubios' "RR interval data" text: free-text or ``#`` header lines, then one RR column
    (seconds or milliseconds), optionally preceded by a time column. Free-text lines
    (a title such as ``Polar RR data``) before the header or the values are passed over; a
    whitespace-separated line is a header only when its names line up with the columns.
``csv``
    A delimited table (``,`` ``;`` or tab) with a header row naming an RR column (``rr``,
    ``rr_ms``, ``RR (ms)``, ``rri``, ``ibi``, ``interval``...) and optionally a time column;
    also a single RR column under its name and nothing else (``rr_ms`` then one value a line).
    The header's unit (``ms``, ``s``) wins over detection. Rows with an empty RR cell are
    skipped (a strap log interleaving ECG rows and RR rows reads as its RR rows). A header
    row without an RR column (``time,hr``, ``date,steps,calories``) is refused, naming the
    columns it has. Decimal commas (``812,5``, a European spreadsheet export) are read where
    the comma cannot be the delimiter: between ``;`` or tabs, or in a single column.

A ``unit=`` that the values plainly contradict (812 read as seconds, 0.81 as milliseconds)
is refused with a sentence saying which unit the values look like. Values that look like
heart rates (30-220, beats per minute) are refused as such, and so is a file whose intervals
are under 250 ms (over 240 beats a minute) for most of it, whatever the unit.

PhysioNet RR files such as nsr2db's ``nsr001`` start with an offset (the time of the first
beat) on line 1; a first value far outside the range of the rest is taken as that offset,
logged, and dropped.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from trm_bio.errors import InputFileError
from trm_bio.store.schema import MAX_SESSION_S, RR_LIMITS_MS

log = logging.getLogger(__name__)

Unit = Literal["auto", "ms", "s"]
#: The unit RR values were found in.
RRUnit = Literal["ms", "s"]

#: Plausible RR ranges used to detect the unit; values outside are artifacts or gaps.
_RANGE_S = (0.2, 5.0)
_RANGE_MS = (200.0, 5000.0)
#: Heart rates (beats per minute): a file of these is not a file of RR intervals.
_RANGE_BPM = (30.0, 220.0)
#: Below this median RR (ms), over 240 beats a minute, a file cannot be intervals in that unit.
_MIN_MEDIAN_RR_MS = 250.0
#: Share of values that must fall in a unit's range for detection to pick it.
_DETECT_SHARE = 0.95
_MAX_BYTES_SNIFFED = 8192

_RR_NAMES = (
    "rr",
    "rr_ms",
    "rr_s",
    "rri",
    "rr_interval",
    "rr_intervals",
    "rrinterval",
    "ibi",
    "ibi_ms",
    "ibi_s",
    "nn",
    "nni",
    "interval",
    "intervals",
    "interbeat_interval",
    "beat_interval",
)
_TIME_NAMES = ("time", "time_s", "time_ms", "t", "timestamp", "seconds", "elapsed", "beat_time")


@dataclass(frozen=True)
class RRRecording:
    """RR intervals read from a file.

    Attributes
    ----------
    rr_ms : numpy.ndarray
        Intervals (ms, float64), in file order, never rounded.
    times_s : numpy.ndarray or None
        Time of the beat ending each interval (s, float64), when the file has a time
        column: the file's times relative to its first row, shifted so the first beat ends
        at ``rr_ms[0] / 1000`` (the same clock as ``cumsum(rr_ms) / 1000``).
    format : str
        ``"text"``, ``"kubios"`` or ``"csv"``.
    unit : str
        Unit the file's RR values were in: ``"ms"`` or ``"s"``.
    unit_source : str
        How the unit was decided: ``"argument"``, ``"header"`` or ``"detected"``.
    source_name : str
        The file's name (no folders), for session metadata.
    offset_s : float or None
        A leading offset line that was dropped (PhysioNet style), in seconds.
    rr_column, time_column : str or None
        Header names used, for CSV files.
    start_epoch_s : float or None
        When the recording began (Unix time, s), if the file's times are wall-clock stamps.
    """

    rr_ms: np.ndarray
    times_s: np.ndarray | None
    format: str
    unit: str
    unit_source: str
    source_name: str
    offset_s: float | None = None
    rr_column: str | None = None
    time_column: str | None = None
    start_epoch_s: float | None = None

    @property
    def duration_s(self) -> float:
        """Sum of the intervals (s)."""
        return float(np.sum(self.rr_ms) / 1000.0)


def read_rr_file(path: str | Path, *, unit: Unit = "auto") -> RRRecording:
    """Read an RR interval file (plain text, Kubios RR text or CSV).

    Parameters
    ----------
    path : str or Path
        The file.
    unit : {"auto", "ms", "s"}
        Unit of the RR values; ``"auto"`` takes it from a CSV header, else detects it from
        the values (all in 0.2-5 → seconds, all in 200-5000 → milliseconds).

    Returns
    -------
    RRRecording

    Raises
    ------
    InputFileError
        Missing, empty, binary or nonsense files, a header without an RR column, NaN or
        non-positive intervals, a unit that cannot be told from the values, a ``unit``
        the values plainly contradict, heart rates in place of intervals, or intervals
        faster than a heart beats.
    """
    if unit not in ("auto", "ms", "s"):
        raise InputFileError(f"unknown RR unit {unit!r}: use auto, ms or s")
    path = Path(path)
    text = _read_text(path)
    name = path.name
    lines = text.splitlines()
    # Kubios and other exporters put '#' comment lines before the data.
    numbered = [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    had_comments = any(line.lstrip().startswith("#") for line in lines)
    if not numbered:
        raise InputFileError(f"{name} has no RR intervals in it (only comments or blank lines)")
    try:
        dialect = _sniff_dialect(numbered[:50])
        if dialect.decimal_comma:
            log.info("%s: reading decimal commas (812,5 as 812.5)", name)
        header = _find_header(numbered[:50], dialect)
        if header is not None:
            return _read_table(path, numbered, header, dialect, unit, had_comments)
        return _read_columns(path, numbered, dialect, unit, had_comments)
    except csv.Error as exc:  # a quoted field that never ends, or one over the size limit
        raise InputFileError(f"{name} cannot be read as a table ({exc})") from exc


def _read_text(path: Path) -> str:
    name = path.name
    if not path.exists():
        raise InputFileError(f"{path} does not exist")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not an RR file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path} cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise InputFileError(f"{name} is empty")
    if b"\x00" in data[:_MAX_BYTES_SNIFFED]:
        raise InputFileError(f"{name} is a binary file, not an RR text or CSV file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Spreadsheet exports on Windows are often cp1252; random bytes rarely decode cleanly.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name} is a binary file, not an RR text or CSV file") from exc
    control = sum(ch < " " and ch not in "\r\n\t" for ch in text[:_MAX_BYTES_SNIFFED])
    if control:
        raise InputFileError(f"{name} is a binary file, not an RR text or CSV file")
    return text


@dataclass(frozen=True)
class _Dialect:
    """How a file's lines split into fields.

    ``delimiter`` None splits on whitespace; ``decimal_comma`` reads ``812,5`` as 812.5 (a
    European spreadsheet export).
    """

    delimiter: str | None
    decimal_comma: bool = False


# In the order preferred when two read the lines equally well: plain ones first, so that a
# headerless "1,800" stays two columns (time, rr) rather than becoming 1.8.
_DIALECTS = (
    _Dialect(","),
    _Dialect("\t"),
    _Dialect("\t", decimal_comma=True),
    _Dialect(";"),
    _Dialect(";", decimal_comma=True),
    _Dialect(None),
    _Dialect(None, decimal_comma=True),
)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


@dataclass(frozen=True)
class _Header:
    """A header row: its index into the numbered lines, its names, and the RR column's."""

    index: int
    names: list[str]
    rr_index: int


def _sniff_dialect(numbered: list[tuple[int, str]]) -> _Dialect:
    """The dialect under which most of the sample's lines are rows of numbers.

    A delimiter is a candidate when at least half the lines hold it. Decimal commas are a
    candidate only when no line holds a decimal point; they win only where the comma cannot
    be the delimiter: between ``;`` or tabs (``0,648;648,4``), in one column under a header
    naming the RR column (``rr_ms`` above ``812,5``), or where comma-separated pairs would
    be rows of unequal width or a time column that runs backwards (``812,5`` above
    ``790,3``). A headerless ``0,812`` above ``812,790`` stays ``time, rr``.
    """
    sample = [line for _, line in numbered]
    present = {
        d for d in (",", "\t", ";") if sum(d in line for line in sample) >= max(1, len(sample) // 2)
    }
    commas = not any(re.search(r"\d\.\d", line) for line in sample) and any(
        re.search(r"\d,\d", line) for line in sample
    )
    candidates = [
        d
        for d in _DIALECTS
        if (d.delimiter is None or d.delimiter in present) and (commas or not d.decimal_comma)
    ]

    def rank(dialect: _Dialect) -> tuple[int, bool, bool, bool]:
        rows = [fields for fields in (_split(line, dialect) for line in sample) if _is_row(fields)]
        header = _find_header(numbered, dialect)
        fits = header is not None and len(header.names) == _data_width(
            numbered[header.index + 1 :], dialect
        )
        even = len({len(fields) for fields in rows}) <= 1
        forward = True
        if header is None and even and rows and len(rows[0]) == 2:
            first = [float(fields[0]) for fields in rows if fields[0]]
            forward = all(b >= a for a, b in itertools.pairwise(first))
        return len(rows), fits, even, forward

    ranks = [rank(d) for d in candidates]
    return candidates[ranks.index(max(ranks))]


def _is_row(fields: list[str]) -> bool:
    """Whether fields are a row of numbers (empty cells allowed, not all empty)."""
    filled = [f for f in fields if f]
    return bool(filled) and all(_is_number(f) for f in filled)


def _split(line: str, dialect: _Dialect) -> list[str]:
    if dialect.delimiter is None:
        fields = line.split()
    else:
        fields = [f.strip().strip('"').strip("'") for f in line.split(dialect.delimiter)]
    if dialect.decimal_comma:
        fields = [f.replace(",", ".") if _DECIMAL_COMMA.fullmatch(f) else f for f in fields]
    return fields


def _csv_split(line: str, dialect: _Dialect) -> list[str]:
    """A delimited line's fields, quotes honoured (``"RR, ms"`` is one name)."""
    if dialect.delimiter is None:
        return _split(line, dialect)
    fields = [f.strip().strip('"') for f in next(csv.reader([line], delimiter=dialect.delimiter))]
    if dialect.decimal_comma:
        fields = [f.replace(",", ".") if _DECIMAL_COMMA.fullmatch(f) else f for f in fields]
    return fields


def _normalise(name: str) -> str:
    """A header name reduced to lower-case words joined by ``_``, units removed."""
    name = name.strip().strip('"').lower()
    name = re.sub(r"[\(\[].*?[\)\]]", " ", name)  # "RR (ms)" -> "rr"
    name = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    return name


def _header_unit(name: str) -> Literal["ms", "s", "ns"] | None:
    """The unit a header names: 'ms', 's', 'ns' or None."""
    lowered = name.lower()
    if re.search(r"(\bms\b|_ms\b|msec|millisec|\(ms\)|\[ms\])", lowered):
        return "ms"
    if re.search(r"(\bns\b|_ns\b|nanosec)", lowered):
        return "ns"
    if re.search(r"(\bs\b|_s\b|\bsec\b|secs\b|second|\(s\)|\[s\])", lowered):
        return "s"
    return None


def _rr_column(names: list[str]) -> int | None:
    normalised = [_normalise(n) for n in names]
    for candidate in _RR_NAMES:
        if candidate in normalised:
            return normalised.index(candidate)
    for index, name in enumerate(normalised):
        if name.startswith(("rr_interval", "interval", "ibi", "rr_")) and "time" not in name:
            return index
    return None


def _time_column(names: list[str], rr_index: int) -> int | None:
    normalised = [_normalise(n) for n in names]
    for candidate in _TIME_NAMES:
        if candidate in normalised and normalised.index(candidate) != rr_index:
            return normalised.index(candidate)
    return None


def _data_width(numbered: list[tuple[int, str]], dialect: _Dialect) -> int | None:
    """The number of fields of the first row of numbers in ``numbered``, if there is one."""
    for _, line in numbered:
        fields = _split(line, dialect)
        if _is_row(fields):
            return len(fields)
    return None


def _header_names(line: str, width: int | None, dialect: _Dialect) -> list[str]:
    """The column names a header line gives above rows ``width`` fields wide.

    Whitespace-separated names keep their words and units together: the line above a single
    column is one name (``RR interval (s)``), ``Time (s)   RR (s)`` is two.
    """
    if dialect.delimiter is not None:
        return _csv_split(line, dialect)
    text = line.strip()
    wide = [name for name in re.split(r"\t|\s{2,}", text) if name]
    if width is None or width == 1 or len(wide) == width:
        return wide
    names: list[str] = []
    for token in text.split():
        if names and token.startswith(("(", "[")):
            names[-1] += " " + token
        else:
            names.append(token)
    return names


def _find_header(numbered: list[tuple[int, str]], dialect: _Dialect) -> _Header | None:
    """The header row that names an RR column, if any; free-text lines before it are passed.

    A whitespace-separated line counts only when its names line up with the columns below
    it: a title such as "Polar RR data" above one column is one name, and no RR column.
    """
    for index, (_, line) in enumerate(numbered):
        if _is_row(_split(line, dialect)):
            continue  # a data row: headers come before data
        width = _data_width(numbered[index + 1 :], dialect)
        names = _header_names(line, width, dialect)
        if dialect.delimiter is None and width is not None and len(names) != width:
            continue  # free text: its words are not the columns' names
        rr_index = _rr_column(names)
        if rr_index is not None:
            return _Header(index, names, rr_index)
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_table(
    path: Path,
    numbered: list[tuple[int, str]],
    header: _Header,
    dialect: _Dialect,
    unit: Unit,
    had_comments: bool,
) -> RRRecording:
    name = path.name
    names, rr_index = header.names, header.rr_index
    time_index = _time_column(names, rr_index)
    rr_values: list[float] = []
    time_values: list[float] = []
    line_numbers: list[int] = []
    for line_number, line in numbered[header.index + 1 :]:
        fields = _csv_split(line, dialect)
        if any(fields[len(names) :]):
            raise InputFileError(
                f"{name} has {_values(len(fields))} on line {line_number} where its header "
                f"names {len(names)} column{'s' if len(names) > 1 else ''}"
            )
        if rr_index >= len(fields) or not fields[rr_index]:
            continue
        rr_values.append(_parse(fields[rr_index], name, line_number))
        line_numbers.append(line_number)
        if time_index is not None:
            if time_index >= len(fields) or not fields[time_index]:
                raise InputFileError(f"{name} has an RR value without a time on line {line_number}")
            time_values.append(_parse(fields[time_index], name, line_number))
    if not rr_values:
        raise InputFileError(f"{name} has a {names[rr_index]!r} column but no values in it")
    rr = np.asarray(rr_values, dtype=np.float64)
    _check_positive(rr, line_numbers, name)
    header_unit = _header_unit(names[rr_index])
    if unit != "auto":
        _check_unit_argument(rr, unit, name)
        rr_unit, how = unit, "argument"
    elif header_unit in ("ms", "s"):
        rr_unit, how = header_unit, "header"
    else:
        rr_unit, how = _detect_unit(rr, name), "detected"
    rr_ms = _to_ms(rr, rr_unit, name)
    _check_plausible(rr_ms, rr, line_numbers, name)
    _check_rate(rr_ms, rr, name)
    times_s = start_epoch_s = None
    if time_index is not None:
        raw_times = np.asarray(time_values, dtype=np.float64)
        times_s = _times_to_s(raw_times, names[time_index], rr_ms)
        _check_times(times_s, raw_times, line_numbers, name)
        start_epoch_s = _epoch_start_s(raw_times, names[time_index], rr_ms)
    # A lone column under its name ("rr_ms") is a one-column CSV; Kubios' RR text has header
    # lines of its own ('#' comments or free text) above the column, or aligned columns
    # ("Time (s)   RR (s)").
    aligned = len(names) > 1 and re.search(r"\t|\S\s{2,}\S", numbered[header.index][1])
    kubios = dialect.delimiter is None and bool(aligned or header.index > 0 or had_comments)
    return RRRecording(
        rr_ms=rr_ms,
        times_s=times_s,
        start_epoch_s=start_epoch_s,
        format="kubios" if kubios else "csv",
        unit=rr_unit,
        unit_source=how,
        source_name=name,
        rr_column=names[rr_index],
        time_column=None if time_index is None else names[time_index],
    )


def _read_columns(
    path: Path,
    numbered: list[tuple[int, str]],
    dialect: _Dialect,
    unit: Unit,
    had_comments: bool,
) -> RRRecording:
    name = path.name
    # Header lines (free text) may precede the numbers; after the first number, all must be.
    first_data = next(
        (i for i, (_, line) in enumerate(numbered) if _is_row(_split(line, dialect))), None
    )
    if first_data is None:
        if dialect.delimiter is not None:
            _refuse_table_without_rr(numbered[:50], dialect, name)
        raise InputFileError(f"{name} has no numbers in it, so it is not an RR interval file")
    rows: list[list[float]] = []
    line_numbers = [number for number, _ in numbered[first_data:]]
    width = len(_split(numbered[first_data][1], dialect))
    if first_data > 0 and dialect.delimiter is not None:
        _refuse_header_without_rr(_split(numbered[first_data - 1][1], dialect), width, name)
    if width > 2:
        raise InputFileError(
            f"{name} has {width} unnamed columns: add a header naming the RR column (e.g. rr_ms)"
        )
    for line_number, line in numbered[first_data:]:
        fields = _split(line, dialect)
        if len(fields) != width:
            raise InputFileError(
                f"{name} has {_values(len(fields))} on line {line_number} where "
                f"{_values(width)} {'was' if width == 1 else 'were'} expected"
            )
        rows.append([_parse(f, name, line_number) for f in fields])
    table = np.asarray(rows, dtype=np.float64)
    rr = table[:, -1]
    times = table[:, 0] if width == 2 else None
    _check_positive(rr, line_numbers, name)
    offset_s = None
    if times is None and rr.size >= 3:
        offset_s, rr = _drop_offset(rr, name, unit)
        if offset_s is not None:
            line_numbers = line_numbers[1:]
    if unit != "auto":
        _check_unit_argument(rr, unit, name)
        rr_unit, how = unit, "argument"
    else:
        rr_unit, how = _detect_unit(rr, name), "detected"
    if offset_s is not None and rr_unit == "ms":
        offset_s /= 1000.0
    rr_ms = _to_ms(rr, rr_unit, name)
    _check_plausible(rr_ms, rr, line_numbers, name)
    _check_rate(rr_ms, rr, name)
    times_s = None
    if times is not None:
        times_s = _times_to_s(times, "ms" if rr_unit == "ms" else "s", rr_ms)
        _check_times(times_s, times, line_numbers, name)
    header_lines = first_data > 0 or had_comments
    return RRRecording(
        rr_ms=rr_ms,
        times_s=times_s,
        format="kubios" if header_lines else "text",
        unit=rr_unit,
        unit_source=how,
        source_name=name,
        offset_s=offset_s,
    )


def _refuse_table_without_rr(numbered: list[tuple[int, str]], dialect: _Dialect, name: str) -> None:
    """Refuse a table of other things (``date,steps,calories``) by the columns it has.

    Its rows are not all numbers (a date column), so no row reads as data; a header above
    a row holding numbers is what it is.
    """
    for (_, line), (_, below) in itertools.pairwise(numbered):
        row = _split(below, dialect)
        if any(_is_number(field) for field in row):
            _refuse_header_without_rr(_split(line, dialect), len(row), name)


def _refuse_header_without_rr(fields: list[str], width: int, name: str) -> None:
    """Refuse a delimited table whose header row (just above the data) names no RR column.

    Without this, ``time,hr`` would be read as unnamed ``time, rr`` columns and the heart
    rates would fail as RR values with a puzzling unit error.
    """
    found = [field for field in fields if field]
    if len(fields) != width or not found or any(_is_number(field) for field in found):
        return  # not a header row: free text above the numbers
    columns = ", ".join(repr(field) for field in found)
    raise InputFileError(
        f"{name} has no RR interval column (its columns are {columns}); "
        "the RR intervals need a column named rr, rr_ms or ibi"
    )


def _values(count: int) -> str:
    return f"{count} value{'' if count == 1 else 's'}"


def _parse(text: str, name: str, line_number: int) -> float:
    try:
        value = float(text)
    except ValueError:
        if _DECIMAL_COMMA.fullmatch(text):
            raise InputFileError(
                f"{name} has {text!r} on line {line_number}, a decimal comma in a file that "
                "also has decimal points, so which one marks the decimals cannot be told"
            ) from None
        raise InputFileError(
            f"{name} has {text!r} on line {line_number}, which is not a number"
        ) from None
    if math.isnan(value):
        raise InputFileError(f"{name} has a missing value ({text}) on line {line_number}")
    if math.isinf(value):
        raise InputFileError(
            f"{name} has {text!r} on line {line_number}, which is not a finite number"
        )
    return value


def _share_in(values: np.ndarray, bounds: tuple[float, float]) -> float:
    return float(np.mean((values >= bounds[0]) & (values <= bounds[1])))


def _drop_offset(rr: np.ndarray, name: str, unit: Unit) -> tuple[float | None, np.ndarray]:
    """Drop a PhysioNet-style offset on line 1: far outside the range the rest lies in."""
    rest = rr[1:]
    median = float(np.median(rest))
    first = float(rr[0])
    if median <= 0 or first < 10 * median:
        return None, rr
    # The rest must look like RR on its own, or this is just a bad first value.
    bounds = {"s": _RANGE_S, "ms": _RANGE_MS}
    candidates = [bounds[unit]] if unit in bounds else [_RANGE_S, _RANGE_MS]
    if not any(_share_in(rest, b) >= _DETECT_SHARE for b in candidates):
        return None, rr
    log.info(
        "%s: line 1 (%g) is far outside the RR range of the rest; reading it as the time "
        "offset of the first beat (PhysioNet style) and dropping it",
        name,
        first,
    )
    return first, rest


def _plain_unit(values: np.ndarray) -> RRUnit | None:
    """The unit the values plainly are in ("s" or "ms"), or None when they could be either."""
    if _share_in(values, _RANGE_S) >= _DETECT_SHARE and float(values.max()) < 60.0:
        return "s"
    if _share_in(values, _RANGE_MS) >= _DETECT_SHARE and float(values.min()) >= 20.0:
        return "ms"
    return None


def _check_unit_argument(values: np.ndarray, unit: str, name: str) -> None:
    """Refuse a given unit the values plainly contradict (812 s, or 0.81 ms, per beat).

    Values that fit neither unit are left to the given one (and to the range checks later).
    """
    plain = _plain_unit(values)
    if plain is None or plain == unit:
        return
    words = {"s": "seconds", "ms": "milliseconds"}
    raise InputFileError(
        f"the RR values in {name} look like {words[plain]}, not {words[unit]} (they range "
        f"from {values.min():g} to {values.max():g}); use --unit {plain} or leave --unit out"
    )


def _detect_unit(values: np.ndarray, name: str) -> RRUnit:
    plain = _plain_unit(values)
    if plain is not None:
        return plain
    if _looks_like_bpm(values):
        raise InputFileError(_bpm_sentence(values, name))
    raise InputFileError(
        f"the RR values in {name} could be seconds or milliseconds (they range from "
        f"{values.min():g} to {values.max():g}); pass --unit ms or --unit s"
    )


def _looks_like_bpm(values: np.ndarray) -> bool:
    """Whether the values are heart rates (beats per minute) rather than intervals."""
    return _share_in(values, _RANGE_BPM) >= _DETECT_SHARE


def _bpm_sentence(values: np.ndarray, name: str) -> str:
    return (
        f"the values in {name} look like heart rates in beats per minute (they range from "
        f"{values.min():g} to {values.max():g}), not RR intervals; trm-bio needs the time "
        "from beat to beat (an RR or IBI export)"
    )


def _check_rate(rr_ms: np.ndarray, values: np.ndarray, name: str) -> None:
    """Refuse intervals that make most of the file beat faster than any heart keeps up.

    ``--unit ms`` on heart rates (69-113) would otherwise be analysed as 100 ms intervals.
    """
    median = float(np.median(rr_ms))
    if median >= _MIN_MEDIAN_RR_MS:
        return
    if _looks_like_bpm(values):
        raise InputFileError(_bpm_sentence(values, name))
    raise InputFileError(
        f"the RR intervals in {name} are shorter than {_MIN_MEDIAN_RR_MS:g} ms for most of "
        f"the file (median {median:g} ms, {60_000 / median:.0f} beats a minute), faster than "
        "any heart beats for long; check the unit (--unit) and the column"
    )


def _check_positive(values: np.ndarray, line_numbers: list[int], name: str) -> None:
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        i = int(bad[0])
        raise InputFileError(
            f"{name} has an RR interval of {values[i]:g} on line {line_numbers[i]}, "
            "which is not positive"
        )


def _check_plausible(
    rr_ms: np.ndarray, values: np.ndarray, line_numbers: list[int], name: str
) -> None:
    """Refuse a value that cannot be a heart interval (see ``RR_LIMITS_MS``), by its line."""
    low, high = RR_LIMITS_MS
    bad = np.flatnonzero((rr_ms < low) | (rr_ms > high))
    if bad.size:
        i = int(bad[0])
        raise InputFileError(
            f"{name} line {line_numbers[i]}: {values[i]:g} is not a heart interval (RR "
            f"intervals lie between {low:g} ms and {high / 60000:g} minutes)"
        )
    if float(rr_ms.sum()) / 1000.0 > MAX_SESSION_S:
        raise InputFileError(
            f"{name} holds more than {MAX_SESSION_S / 86400:g} days of RR intervals, more "
            "than one session can hold; split it into shorter files"
        )


def _check_times(
    times_s: np.ndarray, values: np.ndarray, line_numbers: list[int], name: str
) -> None:
    """Refuse a time column that runs beyond what one session can span, by its line."""
    bad = np.flatnonzero(~(np.abs(times_s) <= MAX_SESSION_S))
    if bad.size:
        i = int(bad[0])
        raise InputFileError(
            f"{name} line {line_numbers[i]}: the time {values[i]:g} lies more than "
            f"{MAX_SESSION_S / 86400:g} days from the first row, more than one session spans"
        )


def _to_ms(values: np.ndarray, unit: str, name: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # 1e308 s is inf ms, which the range check refuses
        return values * 1000.0 if unit == "s" else values.copy()


def _times_to_s(times: np.ndarray, column: str, rr_ms: np.ndarray) -> np.ndarray:
    """File times to seconds on the beat clock: relative to row 1, first beat ends at rr0."""
    unit: str | None = _header_unit(column)
    span = float(times[-1] - times[0]) if times.size else 0.0
    expected_s = float(np.sum(rr_ms)) / 1000.0
    if unit is None:
        # Pick the scale that makes the time span closest to the RR sum.
        scales = {"s": 1.0, "ms": 1e-3, "ns": 1e-9}
        unit = min(
            scales,
            key=lambda u: abs(
                math.log10(max(span * scales[u], 1e-12)) - math.log10(max(expected_s, 1e-12))
            ),
        )
    scale = {"s": 1.0, "ms": 1e-3, "ns": 1e-9}[unit]
    return (times - times[0]) * scale + rr_ms[0] / 1000.0


def _epoch_start_s(times: np.ndarray, column: str, rr_ms: np.ndarray) -> float | None:
    """Wall-clock start (Unix s) when a file's times are epoch stamps (a strap log), else None.

    The scale is the one :func:`_times_to_s` picks; stamps between 2001 and 2096 count.
    """
    if times.size == 0:
        return None
    relative = _times_to_s(times, column, rr_ms) - rr_ms[0] / 1000.0
    span = float(times[-1] - times[0])
    scale = relative[-1] / span if span > 0 else 1.0
    first_s = float(times[0]) * scale
    if 1e9 <= first_s <= 4e9:
        return first_s - rr_ms[0] / 1000.0  # the first interval began before the first stamp
    return None
