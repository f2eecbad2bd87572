"""``trm-bio scan`` and ``trm-bio stream`` in this process; Ctrl-C on a stream in its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_run import ROOT, one_sentence_error, run

PACKET_LINE = re.compile(
    r"^\s*(?P<t>\d+\.\d{3}) s  HR\s+(?P<hr>\d+) bpm  RR (?P<rr>-|[\d., ]+) ms  "
    r"(?P<contact>contact|NO contact|contact n/a)"
)
STATUS_LINE = re.compile(r"^\s*\d+\.\d{3} s  \[(?P<state>[a-z ]+)\]")


def _has_system_bus() -> bool:
    return (
        bool(os.environ.get("DBUS_SYSTEM_BUS_ADDRESS"))
        or Path("/run/dbus/system_bus_socket").exists()
    )


no_bluetooth = pytest.mark.skipif(
    _has_system_bus(), reason="this machine has a D-Bus system bus (maybe Bluetooth)"
)


@no_bluetooth
@pytest.mark.parametrize(
    "args", [("scan", "--timeout", "1"), ("stream", "--device", "C0:11:22:33:44:55")]
)
def test_without_bluetooth_one_sentence_and_non_zero_exit(args):
    result = run(*args)
    assert result.code == 1
    line = one_sentence_error(result)
    assert line.endswith(".") and "Bluetooth" in line


def test_stream_simulated_prints_every_beat_for_the_duration():
    result = run("stream", "--simulate", "--speed", "50", "--duration", "20", "--seed", "3")
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert all(PACKET_LINE.match(line) or STATUS_LINE.match(line) for line in lines), lines
    beats = [PACKET_LINE.match(line) for line in lines if PACKET_LINE.match(line)]
    # About one notification per simulated second, all within the 20 s asked for.
    assert 17 <= len(beats) <= 21
    times_s = [float(b["t"]) for b in beats]
    assert times_s == sorted(times_s) and times_s[-1] <= 20.0
    assert all(30 <= int(b["hr"]) <= 220 for b in beats)
    rr_ms = [float(v) for b in beats if b["rr"] != "-" for v in b["rr"].split(", ")]
    assert len(rr_ms) >= 15 and all(250 <= rr <= 2500 for rr in rr_ms)


def test_stream_simulated_output_is_flushed_per_line_and_ctrl_c_ends_cleanly():
    process = subprocess.Popen(
        [sys.executable, "-m", "trm_bio", "stream", "--simulate", "--speed", "5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        # Endless stream: a beat line can only be read now if it was flushed on its own.
        while not PACKET_LINE.match(line := process.stdout.readline()):
            assert line, "the stream ended before printing a beat"
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Traceback" not in stderr


def test_stream_unknown_scenario_is_one_sentence():
    result = run("stream", "--simulate", "--scenario", "no-such-scenario")
    assert result.code == 1
    assert "no-such-scenario" in one_sentence_error(result)
