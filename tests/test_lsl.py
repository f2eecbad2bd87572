"""Lab Streaming Layer: outlets of a session, the LSL inlet source, the CLI, a missing liblsl.

Loopback only: before pylsl is imported in this process, LSLAPICFG points at a configuration
that keeps discovery on this machine (subprocesses inherit it). Stream names are unique per
test. Inlets are closed before outlets.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.cli_run import ROOT, Outcome, run_process


@pytest.fixture(scope="module", autouse=True)
def lsl_loopback(lsl_on_this_machine: Path) -> Path:
    """Every test here opens LSL streams: keep them on this machine (tests/conftest.py)."""
    return lsl_on_this_machine


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def open_inlet(name: str, stream_type: str, timeout_s: float = 20.0):
    """An open inlet on the stream of that name and type (waits for it to appear)."""
    import pylsl

    infos = pylsl.resolve_bypred(f"name='{name}' and type='{stream_type}'", 1, timeout_s)
    assert infos, f"no {stream_type} stream named {name} appeared"
    inlet = pylsl.StreamInlet(infos[0], recover=False)
    inlet.open_stream(timeout=10)
    return inlet


class Collector:
    """Pulls an inlet on a thread, as a live consumer does, until its stream is gone.

    (liblsl refuses to hand out buffered samples once the outlet has closed.)
    """

    def __init__(self, inlet) -> None:
        self.inlet = inlet
        self.samples: list = []
        self.stamps: list = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import pylsl

        while True:
            try:
                chunk, times = self.inlet.pull_chunk(timeout=0.1)
            except pylsl.util.LostError:
                return
            self.samples += chunk
            self.stamps += times

    def result(self, timeout_s: float = 20.0) -> tuple[list, list]:
        """Wait for the stream to close; the samples and their timestamps."""
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the stream did not close"
        self.inlet.close_stream()
        return self.samples, self.stamps


# -- outlets: metadata, beats, metrics and the marker stream of a scripted session -------------
def test_scripted_session_publishes_every_event_in_order_with_its_time(tmp_path: Path) -> None:
    from devices.simulated import SimulatedStrap
    from trm_bio import __version__
    from trm_bio.controller import SessionController, SessionOptions
    from trm_bio.store.library import Library

    name = unique("markers")
    with Library.open(tmp_path / "lib.db", create=True) as library:
        controller = SessionController(library)
        controller.enable_lsl(True, name=name)
        strap = SimulatedStrap("calm", seed=3, speed=50, duration_s=90)
        controller.start_live(strap, SessionOptions(source_kind="simulated"))
        publisher = controller.publishers[0]
        markers = Collector(open_inlet(name, "Markers"))
        beats = Collector(open_inlet(name, "RR"))
        metrics = Collector(open_inlet(name, "HRV"))
        info = metrics.inlet.info(timeout=5)
        # The scripted session: a skill, its steps, sensations, Help Now!, a marker.
        controller.start_skill("tracking")
        controller.poll()
        controller.log_sensation("pleasant", words=("warm",), location="chest")
        controller.flow_action("next")
        controller.log_marker("client smiled")
        controller.help_now()
        controller.flow_action("return_from_help_now")
        controller.log_sensation("neutral")
        while strap.running:
            strap.wait(0.25)  # wake when beats arrive
            controller.poll()
        session_id = controller.session_id
        start_lsl = publisher.start_lsl
        controller.stop()  # closes the outlets after the inlets got the last samples
        stored = library.session_events(session_id)
        got, stamps = markers.result()
        rr, rr_stamps = beats.result()
        hrv, _ = metrics.result()
        from trm_bio.history import analyse_session

        analysis = analyse_session(library, session_id)

    assert len(stored) > 10
    received = [json.loads(s[0]) for s in got]
    assert [(e["kind"], e["time_s"]) for e in received] == [(e.kind, e.time_s) for e in stored]
    kinds = {e["kind"] for e in received}
    assert {"flow", "sensation", "marker", "connection"} <= kinds
    flow_kinds = [e["payload"]["kind"] for e in received if e["kind"] == "flow"]
    assert "helpnow" in flow_kinds and "step_started" in flow_kinds
    assert [e["payload"] for e in received] == [e.payload for e in stored]
    np.testing.assert_allclose(
        np.array(stamps) - start_lsl, [e.time_s for e in stored], atol=1e-6, rtol=0
    )
    # Beats: RR exactly, their beat times as timestamps.
    np.testing.assert_array_equal(np.array(rr)[:, 0], analysis.beats.rr_ms)
    np.testing.assert_allclose(
        np.array(rr_stamps) - start_lsl, analysis.beats.times_s, atol=1e-6, rtol=0
    )
    # Metrics: one sample per settled beat, channel names and units in the metadata.
    labels, units = [], []
    channel = info.desc().child("channels").child("channel")
    while not channel.empty():
        labels.append(channel.child_value("label"))
        units.append(channel.child_value("unit"))
        channel = channel.next_sibling("channel")
    assert tuple(labels) == publisher.metric_names
    assert units[labels.index("RMSSD")] == "ms"
    assert info.desc().child("trm_bio").child_value("version") == __version__
    assert strap.source_id in info.source_id()
    assert info.desc().child("acquisition").child_value("serial_number") == strap.source_id
    rmssd = np.array(hrv)[:, labels.index("RMSSD")]
    # A new run's first beats settle together once it has its first beats: one sample.
    from trm_bio.core.engine import settled_reports

    reports = settled_reports(analysis.beats)
    settled = analysis.analysis.metrics["RMSSD"][reports[reports >= 0]][: rmssd.size]
    np.testing.assert_array_equal(rmssd, settled)


# -- the inlet on a plain RR stream of another program ---------------------------------------
def test_inlet_takes_a_plain_rr_stream_and_maps_its_clock() -> None:
    import pylsl

    from devices.hrm import rr_raw_to_ms
    from devices.lsl import LslSource
    from devices.packet import LinkState, Packet, StatusEvent

    name = unique("plain-rr")
    info = pylsl.StreamInfo(name, "RR", 1, pylsl.IRREGULAR_RATE, "double64", name)
    info.desc().append_child("channels").append_child("channel").append_child_value("unit", "s")
    outlet = pylsl.StreamOutlet(info)
    source = LslSource(name, resolve_timeout_s=20)
    found = source.resolve()
    assert (found.name, found.type) == (name, "RR")
    assert source.origin_ns is None  # not a trm-bio packet stream: its own clock
    source.start()
    rr_s = [rr_raw_to_ms(raw) / 1000 for raw in (820, 845, 861, 830, 812)]
    beat_lsl = pylsl.local_clock() + np.cumsum(rr_s)
    for value, stamp in zip(rr_s, beat_lsl, strict=True):
        outlet.push_sample([value], stamp)
    packets: list[Packet] = []
    states: list[LinkState] = []
    deadline = time.monotonic() + 20
    while len(packets) < 5 and time.monotonic() < deadline:
        item = source.get(0.2)
        if isinstance(item, Packet):
            packets.append(item)
        elif isinstance(item, StatusEvent):
            states.append(item.state)
    assert LinkState.STREAMING in states
    assert [p.rr_ms[0] for p in packets] == [v * 1000 for v in rr_s]  # seconds -> exact ms
    offset_ns = time.monotonic_ns() - pylsl.local_clock() * 1e9
    np.testing.assert_allclose(
        [p.host_ns for p in packets], beat_lsl * 1e9 + offset_ns, atol=2e6, rtol=0
    )
    # The stream goes away and comes back.
    del outlet
    states.clear()
    while LinkState.RECONNECTING not in states and time.monotonic() < deadline + 20:
        item = source.get(0.2)
        if isinstance(item, StatusEvent):
            states.append(item.state)
    assert LinkState.RECONNECTING in states
    outlet = pylsl.StreamOutlet(info)
    while LinkState.STREAMING not in states and time.monotonic() < deadline + 40:
        item = source.get(0.2)
        if isinstance(item, StatusEvent):
            states.append(item.state)
    assert states[-1] == LinkState.STREAMING
    source.stop()
    assert source.state == LinkState.DISCONNECTED
    del outlet


def test_a_polar_straps_frames_travel_so_the_receiver_gets_the_ecg_beats() -> None:
    import pylsl

    from devices.lsl import LslSource
    from devices.pmd import PmdFrame
    from devices.simulated_h10 import simulate_h10
    from trm_bio.core.beat_source import ECG_SOURCE
    from trm_bio.lsl_outlets import LslPublisher
    from trm_bio.session import Session

    name = unique("h10")
    start_ns = time.monotonic_ns()
    items = list(simulate_h10("calm", seed=5, duration_s=40.0, start_ns=start_ns))
    sender = Session(start_ns)
    publisher = LslPublisher(
        name, session_start_ns=start_ns, start_lsl=pylsl.local_clock(),
        strap_source_id="sim", metric_names=sender.engine.names,
    )  # fmt: skip
    source = LslSource(name, resolve_timeout_s=20)
    source.resolve()
    source.start()
    try:
        assert publisher.wait_for_consumers(20)
        sent = []
        for item in items:
            update = sender.process([item])
            publisher.publish(update, sender, [item])
            sent.extend(update.beats)
        assert sender.beat_source == ECG_SOURCE
        assert source.origin_ns is not None
        receiver = Session(source.origin_ns)
        got, frames = [], 0
        expected_frames = sum(isinstance(i, PmdFrame) for i in items)
        deadline = time.monotonic() + 30
        while frames < expected_frames and time.monotonic() < deadline:
            item = source.get(0.5)
            if item is None:
                continue
            frames += isinstance(item, PmdFrame)
            got.extend(receiver.process([item]).beats)
        assert frames == expected_frames
        # The receiver chose the same beats from the same frames and packets, bit for bit.
        assert receiver.beat_source == ECG_SOURCE
        assert [b.beat.time_s for b in got] == [b.beat.time_s for b in sent][: len(got)]
        assert len(got) >= len(sent) - 2  # the last packet may still be on its way
    finally:
        source.stop()
        publisher.close()


# -- two processes: a simulated session published, a session recorded from it ----------------
class Process:
    """A trm-bio subprocess whose output lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trm_bio", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, count: int = 1, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while sum(text in line for line in self.seen) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} not seen; output:\n{''.join(self.seen)}")
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue

    def finish(self, timeout_s: float = 60.0) -> str:
        code = self.proc.wait(timeout_s)
        while True:
            try:
                self.seen.append(self.lines.get(timeout=1.0))
            except queue.Empty:
                break
        assert code == 0, "".join(self.seen)
        return "".join(self.seen)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_session_from_another_process_equals_the_publisher_across_a_restart(
    tmp_path: Path,
) -> None:
    from devices.hrm import decode_hrm
    from trm_bio.core.engine import analyse_beats
    from trm_bio.core.timeline import beats_from_packets
    from trm_bio.history import analyse_session
    from trm_bio.store.library import Library

    name = unique("strap")
    receiver = Process(
        "record", "--lsl-source", name, "--lsl-source-wait", "60",
        "--library", str(tmp_path / "receiver.db"),
    )  # fmt: skip
    publishers = []
    try:
        for run, seed in enumerate((11, 12)):
            publisher = Process(
                "record", "--simulate", "--seed", str(seed), "--speed", "20", "--duration", "60",
                "--lsl", name, "--lsl-wait", "60", "--quiet",
                "--library", str(tmp_path / f"publisher{run}.db"),
            )  # fmt: skip
            publishers.append(publisher)
            publisher.finish()
            # The receiver sees the publisher's strap stop, then its stream go away.
            receiver.wait_for("[reconnecting] The LSL stream", count=run + 1)
        receiver.proc.send_signal(signal.SIGTERM)
        receiver.finish()
    finally:
        for process in (receiver, *publishers):
            process.kill()

    def load(path: Path):
        with Library.open(path, readonly=True) as library:
            info = library.list_sessions()[0]
            return info, library.session_packets(info.id), analyse_session(library, info.id)

    sent = [load(tmp_path / f"publisher{run}.db") for run in (0, 1)]
    info_b, packets_b, result_b = load(tmp_path / "receiver.db")
    beats_b, metrics_b = result_b.beats, result_b.analysis.metrics
    n0 = len(sent[0][1].payloads)
    # The same raw packets, in order, from both publishers.
    assert packets_b.payloads == sent[0][1].payloads + sent[1][1].payloads
    # First publisher: the receiver shares its beat clock, so everything is equal bit for bit.
    info_a, packets_a, result_a = sent[0]
    np.testing.assert_array_equal(
        packets_b.host_ns[:n0] - info_b.start_ns, packets_a.host_ns - info_a.start_ns
    )
    first = beats_b.segment == beats_b.segment[0]
    assert int(first.sum()) == len(result_a.beats) > 60
    np.testing.assert_array_equal(beats_b.times_s[first], result_a.beats.times_s)
    np.testing.assert_array_equal(beats_b.rr_ms[first], result_a.beats.rr_ms)
    for key, values in result_a.analysis.metrics.items():
        np.testing.assert_array_equal(metrics_b[key][first], values, err_msg=key)
    # The restart is a gap: the second publisher's beats are a new segment.
    info_a2, packets_a2, result_a2 = sent[1]
    second = ~first
    assert set(beats_b.segment[second].tolist()) == {int(beats_b.segment[0]) + 1}
    assert beats_b.times_s[second][0] > beats_b.times_s[first][-1]
    np.testing.assert_array_equal(beats_b.rr_ms[second], result_a2.beats.rr_ms)
    np.testing.assert_allclose(
        beats_b.times_s[second] - beats_b.times_s[second][0],
        result_a2.beats.times_s - result_a2.beats.times_s[0],
        atol=1e-9,
        rtol=0,
    )
    # Its packets keep their timing; on the publisher's clock they give its numbers exactly.
    host_b2 = packets_b.host_ns[n0:]
    np.testing.assert_array_equal(host_b2 - host_b2[0], packets_a2.host_ns - packets_a2.host_ns[0])
    origin = int(host_b2[0]) - int(packets_a2.host_ns[0] - info_a2.start_ns)
    rr = [decode_hrm(p).rr_ms for p in packets_b.payloads[n0:]]
    retimed = beats_from_packets(origin, host_b2.tolist(), rr)
    np.testing.assert_array_equal(retimed.times_s, result_a2.beats.times_s)
    again = analyse_beats(retimed).metrics
    for key, values in result_a2.analysis.metrics.items():
        np.testing.assert_array_equal(again[key], values, err_msg=key)


# -- the command line -----------------------------------------------------------------------------
# Each in its own process: liblsl reads its configuration (and logs its start) once per
# process, and the tests give each command its own configuration, or none.
def trm(*args: str, env: dict[str, str] | None = None) -> Outcome:
    return run_process(*args, env=env, timeout=60)


def test_lsl_list_and_stream_show_a_published_stream(tmp_path: Path) -> None:
    name = unique("cli")
    publisher = Process(
        "record", "--simulate", "--speed", "20", "--duration", "40", "--lsl", name,
        "--lsl-wait", "60", "--quiet", "--library", str(tmp_path / "lib.db"),
    )  # fmt: skip
    try:
        listing = trm("lsl", "list", "--query", name, "--timeout", "3")
        assert listing.code == 0, listing.err
        rows = [line.split() for line in listing.out.splitlines()[1:]]
        assert {row[1] for row in rows if row[0] == name} == {
            "RR", "HRV", "Zone", "Markers", "HeartRateMeasurement",
        }  # fmt: skip
        stream = trm("stream", "--lsl-source", name, "--duration", "2.5")
        assert stream.code == 0, stream.err
        # liblsl's startup INFO line (here, with the tests' configuration file named in
        # LSLAPICFG, "Configuration loaded from ...") stays out of the terminal.
        assert "Configuration loaded from" not in stream.err
        assert "Loaded default config" not in stream.err
        assert "[streaming] Receiving LSL stream" in stream.out
        assert " bpm  RR " in stream.out
        publisher.finish()
    finally:
        publisher.kill()


def test_lsl_list_keeps_liblsl_startup_log_off_stderr_and_its_configuration(
    tmp_path: Path, lsl_loopback: Path
) -> None:
    import pylsl

    name = unique("quiet")
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "RR", 1, 0, "float32", name))
    try:
        listing = trm("lsl", "list", "--query", name, "--timeout", "2")
        assert listing.code == 0 and listing.err == ""
        assert [line.split()[:2] for line in listing.out.splitlines()[1:]] == [[name, "RR"]]
        # The configuration liblsl would read still rules: another lab session sees nothing.
        elsewhere = tmp_path / "elsewhere.cfg"
        elsewhere.write_text(lsl_loopback.read_text() + "[lab]\nSessionID = elsewhere\n")
        hidden = trm("lsl", "list", "--query", name, "--timeout", "2",
                     env={"LSLAPICFG": str(elsewhere)})  # fmt: skip
        assert hidden.out == "No LSL stream answered within 2 s.\n" and hidden.err == ""
        # A configuration with its own [log] section is the user's choice, left as it is.
        chatty = tmp_path / "chatty.cfg"
        chatty.write_text(lsl_loopback.read_text() + "[log]\nlevel = 0\n")
        told = trm("lsl", "list", "--query", name, "--timeout", "2",
                   env={"LSLAPICFG": str(chatty)})  # fmt: skip
        assert told.out == listing.out and "Configuration loaded from" in told.err
    finally:
        del outlet


def test_without_liblsl_the_lsl_features_say_so_and_the_rest_works(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT / "tests" / "support" / "no_liblsl")}
    library = ("--library", str(tmp_path / "l.db"))
    for args in (("lsl", "list"), ("stream", "--lsl-source", "x"),
                 ("record", "--simulate", "--lsl", *library),
                 ("record", "--lsl-source", "x", *library)):  # fmt: skip
        result = trm(*args, env=env)
        assert result.code == 1
        assert "Traceback" not in result.err
        message = result.err.strip()
        assert message.count("\n") == 0 and "Lab Streaming Layer is not available" in message
    ok = trm(
        "record", "--simulate", "--speed", "50", "--duration", "20", "--quiet",
        "--library", str(tmp_path / "l.db"), env=env,
    )  # fmt: skip
    assert ok.code == 0, ok.err
