"""RR file readers: plain text, Kubios RR text, CSV, PhysioNet offset, and bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tests.recordings import nsr001_rr_ms, polar_strap_rr_ms
from trm_bio.errors import InputFileError
from trm_bio.store.rr_files import Unit, read_rr_file

RR_MS = np.array([812.5, 790.0, 1003.90625, 655.0, 720.25, 880.0])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines(values: np.ndarray) -> str:
    return "\n".join(repr(float(v)) for v in values) + "\n"


def test_one_column_milliseconds_detected(tmp_path: Path) -> None:
    rec = read_rr_file(write(tmp_path, "rr.txt", lines(RR_MS)))
    assert rec.format == "text" and rec.unit == "ms" and rec.unit_source == "detected"
    np.testing.assert_array_equal(rec.rr_ms, RR_MS)
    assert rec.times_s is None and rec.source_name == "rr.txt"


def test_one_column_seconds_detected(tmp_path: Path) -> None:
    rec = read_rr_file(write(tmp_path, "rr.txt", lines(RR_MS / 1000)))
    assert rec.unit == "s"
    np.testing.assert_allclose(rec.rr_ms, RR_MS, rtol=1e-15)


def test_windows_line_endings_and_blank_lines(tmp_path: Path) -> None:
    text = "\r\n".join(["", "800", "", "810", "790", ""])
    rec = read_rr_file(write(tmp_path, "rr.txt", text))
    np.testing.assert_array_equal(rec.rr_ms, [800, 810, 790])


@pytest.mark.parametrize("values", [[0.8, 800.0, 810.0], [6.0, 7.0, 8.0, 9.0]])
def test_ambiguous_unit_asks_for_unit_option(tmp_path: Path, values: list[float]) -> None:
    path = write(tmp_path, "odd.txt", lines(np.array(values)))
    with pytest.raises(InputFileError, match=r"odd\.txt.*--unit"):
        read_rr_file(path)


def test_unit_argument_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.txt", "50\n60\n70\n")
    rec = read_rr_file(path, unit="s")
    np.testing.assert_array_equal(rec.rr_ms, [50_000, 60_000, 70_000])
    assert rec.unit_source == "argument"
    with pytest.raises(InputFileError, match="unknown RR unit"):
        read_rr_file(path, unit="min")  # type: ignore[arg-type]


def test_kubios_header_lines_then_column(tmp_path: Path) -> None:
    header = "# SIGNAL/SERIES EXPORT - KUBIOS\n# Device:\tn/a\n# Comment:\tRR intervals\n"
    rec = read_rr_file(write(tmp_path, "kubios.txt", header + lines(RR_MS)))
    assert rec.format == "kubios" and rec.unit == "ms"
    np.testing.assert_array_equal(rec.rr_ms, RR_MS)


def test_free_text_header_names_the_unit(tmp_path: Path) -> None:
    # Values in 0.2-5 would be detected as seconds; the header says ms... and wins.
    rec = read_rr_file(write(tmp_path, "rr.txt", "RR interval (s)\n0.8\n0.9\n0.85\n"))
    # A lone column under its name is a one-column CSV; Kubios has header lines of its own.
    assert rec.unit == "s" and rec.unit_source == "header" and rec.format == "csv"
    np.testing.assert_allclose(rec.rr_ms, [800, 900, 850])
    kubios = "# SIGNAL/SERIES EXPORT - KUBIOS\nRR interval (s)\n0.8\n0.9\n0.85\n"
    assert read_rr_file(write(tmp_path, "kubios.txt", kubios)).format == "kubios"


@pytest.mark.parametrize(
    ("header", "scale", "unit_source"),
    [
        ("rr", 1.0, "detected"),
        ("RR (ms)", 1.0, "header"),
        ("rr_ms", 1.0, "header"),
        ("RRI", 1.0, "detected"),
        ("IBI", 1.0, "detected"),
        ("interval_ms", 1.0, "header"),
        ("RR interval [s]", 1e-3, "header"),
        ("rr_s", 1e-3, "header"),
    ],
)
def test_csv_rr_column_found_by_name(
    tmp_path: Path, header: str, scale: float, unit_source: str
) -> None:
    body = "\n".join(f"{i},{v * scale!r},x" for i, v in enumerate(RR_MS.tolist()))
    rec = read_rr_file(write(tmp_path, "beats.csv", f"beat,{header},note\n{body}\n"))
    assert rec.format == "csv" and rec.rr_column == header and rec.unit_source == unit_source
    np.testing.assert_allclose(rec.rr_ms, RR_MS, rtol=1e-15)


def test_csv_semicolon_with_time_column(tmp_path: Path) -> None:
    times = np.cumsum(RR_MS) / 1000 + 100.0  # a clock that does not start at zero
    body = "\n".join(f"{t!r};{v!r}" for t, v in zip(times.tolist(), RR_MS.tolist(), strict=True))
    rec = read_rr_file(write(tmp_path, "beats.csv", f"Time (s);RR (ms)\n{body}\n"))
    assert rec.time_column == "Time (s)"
    assert rec.times_s is not None
    np.testing.assert_allclose(rec.times_s, np.cumsum(RR_MS) / 1000, atol=1e-9)


def test_csv_rows_without_rr_are_skipped(tmp_path: Path) -> None:
    text = "time,ecg,hr,rr\n1,0.1,,\n2,0.2,60,800\n3,0.1,,\n4,0.3,61,790\n"
    rec = read_rr_file(write(tmp_path, "log.csv", text))
    np.testing.assert_array_equal(rec.rr_ms, [800, 790])


def test_two_unnamed_columns_are_time_and_rr(tmp_path: Path) -> None:
    rr_s = RR_MS / 1000
    body = "\n".join(
        f"{t!r} {v!r}" for t, v in zip(np.cumsum(rr_s).tolist(), rr_s.tolist(), strict=True)
    )
    rec = read_rr_file(write(tmp_path, "hrvas.ibi", body))
    np.testing.assert_allclose(rec.rr_ms, RR_MS)
    assert rec.times_s is not None
    np.testing.assert_allclose(rec.times_s, np.cumsum(rr_s), atol=1e-9)


def test_leading_offset_is_dropped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "nsr.txt", "225.796875\n" + lines(RR_MS / 1000))
    with caplog.at_level(logging.INFO, logger="trm_bio.store.rr_files"):
        rec = read_rr_file(path)
    assert rec.offset_s == 225.796875
    np.testing.assert_allclose(rec.rr_ms, RR_MS)
    assert any("offset" in message for message in caplog.messages)


def test_no_offset_when_first_value_is_plausible(tmp_path: Path) -> None:
    rec = read_rr_file(write(tmp_path, "rr.txt", lines(RR_MS)))
    assert rec.offset_s is None and rec.rr_ms.size == RR_MS.size


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b"\n  \n\t\n", "is empty"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("random.bin", bytes(range(256)) * 4, "binary"),
        ("words.txt", b"hello\nworld\n", "no numbers"),
        ("comments.txt", b"# only\n# comments\n", "no RR intervals"),
        ("nan.txt", b"800\nnan\n810\n", "missing value.*line 2"),
        ("negative.txt", b"800\n-790\n810\n", "-790 on line 2, which is not positive"),
        ("zero.txt", b"# RR\n800\n0\n810\n", "0 on line 3, which is not positive"),
        ("mixed.csv", b"time;rr\n0.0;812.5\n0.8;790,5\n", "'790,5' on line 3, a decimal comma"),
        ("middle.txt", b"800\n810\noops\n820\n", "'oops' on line 3"),
        ("ragged.txt", b"1 800\n2 810\n3\n", "1 value on line 3 where 2 values were"),
        ("empty_column.csv", b"time,rr\n1,\n2,\n", "no values"),
        ("wide.txt", b"1 2 3\n4 5 6\n", "header naming the RR column"),
        ("inf.txt", b"800\n1e999\n810\n", "'1e999' on line 2, which is not a finite number"),
        ("extra.csv", b"time,rr\n0,648,4\n1,656,2\n", "3 values on line 2 where its header"),
        ("quote.csv", b'time,rr\n0,"' + b"8" * 200_000 + b'"\n', "cannot be read as a table"),
        ("title.csv", b'"' + b"x" * 200_000 + b'",rr\n0,800\n', "cannot be read as a table"),
    ],
)
def test_bad_files_raise_one_sentence(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        read_rr_file(path)
    text = str(info.value)
    assert name in text and "\n" not in text


TITLED = "Polar RR data\n" + lines(RR_MS)


@pytest.mark.parametrize(
    ("text", "unit_source", "rr_column"),
    [
        (TITLED, "detected", None),
        ("Polar H10 RR export\nSubject: test\n" + lines(RR_MS), "detected", None),
        ("Polar RR data\nRR (ms)\n" + lines(RR_MS), "header", "RR (ms)"),
        ("Kubios HRV RR export\n# RR intervals\nRR (ms)\n" + lines(RR_MS), "header", "RR (ms)"),
    ],
)
def test_free_text_lines_before_the_values_are_passed(
    tmp_path: Path, text: str, unit_source: str, rr_column: str | None
) -> None:
    # A title naming RR is not a header: its words do not line up with the one column below.
    rec = read_rr_file(write(tmp_path, "titled.txt", text))
    assert rec.format == "kubios" and rec.unit == "ms" and rec.unit_source == unit_source
    assert rec.rr_column == rr_column
    np.testing.assert_array_equal(rec.rr_ms, RR_MS)


def test_whitespace_header_with_units_names_two_columns(tmp_path: Path) -> None:
    rr_s = RR_MS / 1000
    body = "".join(
        f"  {t:10.6f}\t{v!r}\n"
        for t, v in zip(np.cumsum(rr_s).tolist(), rr_s.tolist(), strict=True)
    )
    rec = read_rr_file(write(tmp_path, "kubios.txt", "  Time (s)   RR (s)\n" + body))
    assert rec.rr_column == "RR (s)" and rec.time_column == "Time (s)" and rec.format == "kubios"
    assert rec.unit == "s" and rec.unit_source == "header"
    np.testing.assert_allclose(rec.rr_ms, RR_MS, rtol=1e-15)


@pytest.mark.parametrize(
    ("text", "rr_column"),
    [
        ("Time;RR\n0,000;812,5\n0,812;790,0\n1,602;1003,9\n", "RR"),
        ("time\trr_ms\n0\t812,5\n0,812\t790\n1,602\t1003,9\n", "rr_ms"),
        ("rr_ms\n812,5\n790,0\n1003,9\n", "rr_ms"),
        # As pairs, a time column running backwards (812 then 790): not time and RR.
        ("812,5\n790,0\n1003,9\n", None),
        # As pairs, rows of unequal width (a whole number written without a comma).
        ("812,5\n790\n1003,9\n", None),
    ],
)
def test_decimal_commas_are_read_where_unambiguous(
    tmp_path: Path, text: str, rr_column: str | None
) -> None:
    rec = read_rr_file(write(tmp_path, "export.csv", text))
    assert rec.rr_column == rr_column and rec.unit == "ms"
    np.testing.assert_array_equal(rec.rr_ms, [812.5, 790.0, 1003.9])


def test_headerless_comma_pairs_stay_time_and_rr(tmp_path: Path) -> None:
    # "0,812" could be 0.812 s or the pair (0, 812): without a header it stays the pair.
    rec = read_rr_file(write(tmp_path, "pairs.txt", "0,812\n812,790\n1602,1004\n"))
    np.testing.assert_array_equal(rec.rr_ms, [812, 790, 1004])
    assert rec.times_s is not None


def test_a_table_of_other_columns_names_them(tmp_path: Path) -> None:
    path = write(tmp_path, "steps.csv", "date,steps,calories\n2024-01-01,5000,2000\n")
    with pytest.raises(InputFileError) as info:
        read_rr_file(path)
    assert str(info.value) == (
        "steps.csv has no RR interval column (its columns are 'date', 'steps', 'calories'); "
        "the RR intervals need a column named rr, rr_ms or ibi"
    )


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("50\n60\n70\n80\n", "auto"),
        ("72\n69\n113\n90\n", "ms"),
        ("rr\n72\n69\n113\n90\n", "auto"),
        ("RR (ms)\n72\n69\n113\n90\n", "auto"),
    ],
)
def test_heart_rates_in_bpm_are_named_as_such(tmp_path: Path, text: str, unit: Unit) -> None:
    with pytest.raises(
        InputFileError,
        match=r"^the values in hr\.txt look like heart rates in "
        r"beats per minute \(they range from \d+ to \d+\), not RR intervals",
    ):
        read_rr_file(write(tmp_path, "hr.txt", text), unit=unit)


def test_intervals_no_heart_keeps_up_are_refused(tmp_path: Path) -> None:
    # 240-245 given as ms: not heart rates, but 245 beats a minute for the whole file.
    path = write(tmp_path, "fast.txt", "240\n245\n242\n244\n241\n")
    with pytest.raises(InputFileError, match=r"shorter than 250 ms for most of the file"):
        read_rr_file(path, unit="ms")
    assert read_rr_file(write(tmp_path, "ok.txt", "240\n245\n820\n810\n805\n")).unit == "ms"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        read_rr_file(tmp_path / "nope.txt")
    with pytest.raises(InputFileError, match="folder"):
        read_rr_file(tmp_path)


def test_real_nsr001_offset_dropped(data_dir: Path) -> None:
    rec = read_rr_file(data_dir / "nsr001_rr_secs.txt")
    assert rec.unit == "s" and rec.format == "text"
    assert rec.offset_s == pytest.approx(225.796875)
    np.testing.assert_array_equal(rec.rr_ms, nsr001_rr_ms())


def test_real_polar_strap_log_and_a_csv_made_from_it(data_dir: Path, tmp_path: Path) -> None:
    expected = polar_strap_rr_ms()
    direct = read_rr_file(data_dir / "polar_h10_ecg_rr.csv")
    np.testing.assert_array_equal(direct.rr_ms, expected)
    assert direct.times_s is not None and np.all(np.diff(direct.times_s) > 0)
    times = np.cumsum(expected) / 1000
    body = "\n".join(f"{t!r},{v!r}" for t, v in zip(times.tolist(), expected.tolist(), strict=True))
    made = read_rr_file(write(tmp_path, "polar.csv", f"time_s,RR (ms)\n{body}\n"))
    np.testing.assert_array_equal(made.rr_ms, expected)
    np.testing.assert_allclose(made.times_s, times, atol=1e-9)
