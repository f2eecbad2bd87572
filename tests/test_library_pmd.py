"""A Polar strap's PMD frames (ECG, accelerometer) in the library: stored raw, replayed byte
for byte, exported (EDF+, CSV, JSON), on real SQLite files and the real H10 ECG recording."""

from __future__ import annotations

import csv
import json
import logging
import math
import sqlite3
import time
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from devices.packet import Packet, StatusEvent
from devices.pmd import PMD_EPOCH_UNIX_S, PmdFrame, PmdStream, decode_frame, encode_frame
from devices.simulated import simulate
from tests.test_cli_library import trm
from trm_bio.session import Session
from trm_bio.store.json_format import export_json, import_json
from trm_bio.store.library import Library
from trm_bio.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from trm_bio.store.recorder import Recorder
from trm_bio.store.replay import ReplaySource, load_items, packets_before

SECOND_NS = 1_000_000_000
START_NS = 1_000 * SECOND_NS
STRAP = "C0:FF:EE:00:00:10"
ECG_FRAME = 73  # samples of an H10 ECG frame
ACC_FRAME = 36  # samples of an H10 accelerometer frame at 200 Hz with a 232-byte MTU
ECG_STARTS_S = 5.0  # session time of the first ECG sample
LATENCY_FLOOR_NS = 10_000_000  # the smallest radio delay of a frame
LOST_FRAME = 100  # the ECG frame the radio lost


def polar_ecg(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The real H10 ECG: sample times (ns, the recording's clock) and values (µV)."""
    times, values = [], []
    with open(data_dir / "polar_h10_ecg_rr.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            times.append(round(float(row["time"])))
            values.append(round(float(row["ecg"]) * 1000.0))
    return np.array(times, dtype=np.int64), np.array(values, dtype=np.int64)


def h10_frames(data_dir: Path, *, seconds: float | None = None) -> tuple[list[PmdFrame], dict]:
    """ECG frames built from the real recording and accelerometer frames of a breathing
    chest, as an H10 sends them: strap timestamps of each frame's last sample, arrival on
    the host after a radio delay of at least ``LATENCY_FLOOR_NS``; ECG frame
    ``LOST_FRAME`` lost. Also the truth: every ECG sample's session time (s) and value."""
    times, uv = polar_ecg(data_dir)
    if seconds is not None:
        keep = times - times[0] < seconds * 1e9
        times, uv = times[keep], uv[keep]
    rng = np.random.default_rng(16)
    strap = times - PMD_EPOCH_UNIX_S * SECOND_NS
    to_host = START_NS + int(ECG_STARTS_S * 1e9) - int(strap[0])  # strap clock -> host clock

    def delay(i: int) -> int:  # the floor is reached at least every 40 frames (< 30 s)
        return LATENCY_FLOOR_NS + (0 if i % 40 == 0 else int(rng.uniform(0, 30e6)))

    frames: list[PmdFrame] = []
    kept = np.zeros(times.size, dtype=bool)
    for k, first in enumerate(range(0, times.size - ECG_FRAME + 1, ECG_FRAME)):
        last = first + ECG_FRAME - 1
        if k == LOST_FRAME:
            continue
        payload = encode_frame(PmdStream.ECG, int(strap[last]), uv[first : last + 1])
        frames.append(PmdFrame(int(strap[last]) + to_host + delay(k), STRAP, payload))
        kept[first : last + 1] = True
    # The accelerometer: gravity on z, breathing at 0.25 Hz on x, from the ECG's start.
    n_acc = int((times[-1] - times[0]) / 1e9 * 200)
    t_acc = np.arange(n_acc) / 200.0
    acc = np.stack(
        [
            np.round(40 * np.sin(2 * np.pi * 0.25 * t_acc)),
            np.round(10 * np.cos(2 * np.pi * 0.1 * t_acc)),
            np.full(n_acc, 985.0),
        ],
        axis=1,
    ).astype(np.int64)
    acc_strap = int(strap[0]) + np.round(t_acc * 1e9).astype(np.int64)
    for k, first in enumerate(range(0, n_acc - ACC_FRAME + 1, ACC_FRAME)):
        last = first + ACC_FRAME - 1
        payload = encode_frame(PmdStream.ACC, int(acc_strap[last]), acc[first : last + 1])
        frames.append(PmdFrame(int(acc_strap[last]) + to_host + delay(k), STRAP, payload))
    frames.sort(key=lambda f: f.host_ns)
    truth = {
        "ecg_time_s": (strap[kept] + to_host - START_NS) / 1e9,
        "ecg_uv": uv[kept],
        "lost_s": (
            (strap[LOST_FRAME * ECG_FRAME] + to_host - START_NS) / 1e9,
            (strap[LOST_FRAME * ECG_FRAME + ECG_FRAME - 1] + to_host - START_NS) / 1e9,
        ),
        "acc_time_s": (acc_strap + to_host - START_NS) / 1e9,
        "acc_mg": acc,
    }
    return frames, truth


MALFORMED = (
    b"",  # an empty notification
    bytes((0, 1, 2, 3)),  # shorter than a header
    bytes((0,)) + (5).to_bytes(8, "little") + bytes((0x80,)) + b"\x01\x02",  # compressed
    bytes((0,)) + (5).to_bytes(8, "little") + bytes((0,)) + b"\x01\x02",  # half a sample
)


def session_items(frames: list[PmdFrame], duration_s: float, malformed: bool = False) -> list:
    """Heart-rate packets and link changes of a simulated strap, with the frames, in order."""
    items = list(simulate("calm", seed=7, duration_s=duration_s, start_ns=START_NS))
    items += frames
    if malformed:
        items += [
            PmdFrame(START_NS + (30 + i) * SECOND_NS + 1, STRAP, payload)
            for i, payload in enumerate(MALFORMED)
        ]
    items.sort(key=lambda item: (item.host_ns, not isinstance(item, StatusEvent)))
    return items


def record_live(library: Library, items: list) -> tuple[int, list]:
    """Record items one per drain, as the window's timer does; the updates it gave."""
    session_id = library.create_session(None, "ble", STRAP, start_ns=START_NS)
    session = Session(START_NS, recorder=Recorder(library, session_id), analyse_live=False)
    updates = []
    for item in items:
        updates.append(session.process([item]))
        session.tick(item.host_ns)
    session.close()
    library.finish_session(session_id)
    return session_id, updates


@pytest.fixture
def library(tmp_path: Path):
    with Library.open(tmp_path / "library.sqlite3") as opened:
        yield opened


# ---- the migration ----------------------------------------------------------------------


def test_a_library_of_the_previous_schema_is_upgraded_keeping_its_sessions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v3.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as raw:  # as the previous trm-bio left it
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for number, script in enumerate(MIGRATIONS[:3]):
            raw.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
        raw.execute(
            "INSERT INTO sessions (id, started_utc, start_ns, source_kind, status, duration_s)"
            " VALUES (1, '2026-01-02T03:04:05+00:00', ?, 'ble', 'complete', 2.0)",
            (START_NS,),
        )
        raw.executemany(
            "INSERT INTO packets VALUES (1, ?, ?, 'AA', ?)",
            [(i, START_NS + i * SECOND_NS, bytes((16, 60 + i, 0, 3))) for i in range(3)],
        )
        raw.execute("UPDATE counters SET value = 1 WHERE name = 'session'")
    with Library.open(path) as upgraded:
        assert upgraded.schema_version == SCHEMA_VERSION
        (info,) = upgraded.list_sessions()
        assert (info.id, info.status, info.packet_count) == (1, "complete", 3)
        assert upgraded.session_packets(1).payloads == [bytes((16, 60 + i, 0, 3)) for i in range(3)]
        assert len(upgraded.session_pmd_frames(1)) == 0 and upgraded.pmd_streams(1) == {}
        # and the upgraded file takes frames
        session = upgraded.create_session(None, "ble", STRAP, start_ns=START_NS)
        with Recorder(upgraded, session) as recorder:
            recorder.add_pmd_frame(PmdFrame(START_NS, STRAP, b"\x00" * 13))
        assert upgraded.session_pmd_frames(session).payloads == [b"\x00" * 13]
        assert session == 2


# ---- recording ------------------------------------------------------------------------------


def committed_frames(path: Path, session_id: int) -> int:
    """Frames another connection sees: what survives if this process dies now."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as other:
        return other.execute(
            "SELECT count(*) FROM pmd_frames WHERE session_id = ?", (session_id,)
        ).fetchone()[0]


def test_frames_are_committed_within_a_second_with_the_packets(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite3"
    with Library.open(path) as library:
        session = library.create_session(None, "ble", STRAP, start_ns=START_NS)
        recorder = Recorder(library, session)
        frame = encode_frame(PmdStream.ECG, 10**15, np.arange(ECG_FRAME) - 36)
        recorder.add_pmd_frame(PmdFrame(START_NS, STRAP, frame))
        recorder.add_packet(Packet(START_NS + SECOND_NS // 2, STRAP, b"\x10\x3c\x00\x03", 60))
        assert committed_frames(path, session) == 0  # half a second old: still buffered
        assert not recorder.maybe_flush(START_NS + SECOND_NS - 1)
        assert recorder.maybe_flush(START_NS + SECOND_NS)
        assert committed_frames(path, session) == 1
        # a frame's arrival alone commits what waited a second
        recorder.add_pmd_frame(PmdFrame(START_NS + 2 * SECOND_NS, STRAP, frame))
        recorder.add_pmd_frame(PmdFrame(START_NS + 3 * SECOND_NS, STRAP, b""))
        assert committed_frames(path, session) == 3
        recorder.finish()
        assert recorder.frames_written == 3
        stored = library.session_pmd_frames(session)
        assert stored.payloads == [frame, frame, b""]  # the empty one too: nothing is lost
        assert stored.host_ns.tolist() == [
            START_NS,
            START_NS + 2 * SECOND_NS,
            START_NS + 3 * SECOND_NS,
        ]
        assert library.get_session(session).duration_s == 3.0  # the last frame ends it
        library.delete_session(session)
        assert committed_frames(path, session) == 0  # deleted with its session


def test_sigkill_while_recording_frames_loses_at_most_the_last_second(tmp_path: Path) -> None:
    from tests.library_child import frame_item
    from tests.test_library_integrity import Child

    path = tmp_path / "library.sqlite3"
    Library.open(path).close()
    child = Child(path, "frames")
    try:
        child.expect("ready")
        child.send("go")
        target = int(np.random.default_rng().integers(200, 400))  # a moment of its own
        sent = 0
        while sent < target:
            sent = int(child.expect("sent")[1])
    finally:
        child.kill()
    while (line := child.lines.get(timeout=60)) is not None:  # what it said before dying
        if line.startswith("sent"):
            sent = int(line.split()[1])
    with Library.open(path) as library:
        (info,) = library.list_sessions()
        assert info.status == "interrupted"
        stored = library.session_pmd_frames(info.id)
    expected = [frame_item(i) for i in range(sent + 1)]  # one more may be stored, unsaid
    assert 0 < len(stored) <= len(expected)
    for i, (host_ns, payload) in enumerate(
        zip(stored.host_ns.tolist(), stored.payloads, strict=True)
    ):
        assert (host_ns, payload) == (expected[i].host_ns, expected[i].payload)  # in order, exact
    last_said = expected[sent - 1].host_ns
    assert int(stored.host_ns[-1]) >= last_said - SECOND_NS


# ---- the session's item loop ------------------------------------------------------------------


def test_malformed_frames_are_stored_counted_and_said_once(
    library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    good = encode_frame(PmdStream.ECG, 10**15, np.arange(ECG_FRAME))
    items = [PmdFrame(START_NS + i, STRAP, p) for i, p in enumerate((good, *MALFORMED, good))]
    session_id = library.create_session(None, "ble", STRAP, start_ns=START_NS)
    session = Session(START_NS, recorder=Recorder(library, session_id))
    with caplog.at_level(logging.WARNING):
        update = session.process(items)
    session.close()
    assert update.frames == 6 and len(update.ecg) == 2 and not update.acc
    assert session.frames_seen == 6 and session.frames_malformed == 4
    assert library.session_pmd_frames(session_id).payloads == [good, *MALFORMED, good]
    said = [r.getMessage() for r in caplog.records if "PMD" in r.getMessage()]
    assert len(said) == 1 and "\n" not in said[0] and said[0].count(". ") == 0, said
    assert "could not be decoded" in said[0]
    strap_s, mv, host_ns = update.ecg[0]
    np.testing.assert_array_equal(mv, np.arange(ECG_FRAME) / 1000.0)
    assert strap_s[-1] == 10**15 / 1e9 and host_ns == START_NS
    assert np.allclose(np.diff(strap_s), 1 / 130)


# ---- replay ---------------------------------------------------------------------------------


def test_replay_feeds_the_same_frames_byte_for_byte_in_order(library: Library, data_dir) -> None:
    frames, _ = h10_frames(data_dir, seconds=120.0)
    items = session_items(frames, 130.0, malformed=True)
    session_id, live = record_live(library, items)
    sent = [i for i in items if isinstance(i, PmdFrame)]

    replay = ReplaySource(library, session_id, speed=math.inf)
    replay.start()
    got = []
    try:
        while not (replay.finished and not replay.pending):
            item = replay.get(timeout_s=5)
            if item is not None:
                got.append(item)
        while (item := replay.get(timeout_s=0)) is not None:
            got.append(item)
    finally:
        replay.stop()
    replayed = [i for i in got if isinstance(i, PmdFrame)]
    assert [(f.host_ns, f.source_id, f.payload) for f in replayed] == [
        (f.host_ns, f.source_id, f.payload) for f in sent
    ]
    # interleaved with the packets in host-time order, as they came
    raw = [i for i in got if isinstance(i, Packet | PmdFrame)]
    assert [i.host_ns for i in raw] == sorted(i.host_ns for i in raw)
    assert [type(i) for i in raw] == [
        type(i) for i in items if isinstance(i, Packet | PmdFrame) and not getattr(i, "error", None)
    ]
    # The same steps see the same samples.
    info, stored = load_items(library, session_id)
    session = Session(info.start_ns, history=lambda index: packets_before(stored, index))
    again = session.process(stored)
    live_ecg = [chunk for u in live for chunk in u.ecg]
    live_acc = [chunk for u in live for chunk in u.acc]
    assert len(again.ecg) == len(live_ecg) and len(again.acc) == len(live_acc) > 0
    for a, b in zip(again.ecg + again.acc, live_ecg + live_acc, strict=True):
        np.testing.assert_array_equal(a.strap_time_s, b.strap_time_s)
        np.testing.assert_array_equal(a.values, b.values)
        assert a.host_ns == b.host_ns
    assert session.frames_malformed == len(MALFORMED)
    # A seek lands among the frames: what follows it starts at the seek.
    replay = ReplaySource(library, session_id, speed=math.inf, paused=True)
    marker = replay.seek(60.0)
    following = [i for i in replay.items[marker.index :] if isinstance(i, PmdFrame)]
    assert following and following[0].host_ns >= START_NS + 60 * SECOND_NS
    assert replay.items[marker.index - 1].host_ns <= START_NS + 60 * SECOND_NS


# ---- exports --------------------------------------------------------------------------------


@pytest.fixture
def h10_session(tmp_path: Path, data_dir: Path) -> tuple[Path, int, dict]:
    """A library holding a 10-minute session with the real H10 ECG and a chest's movement."""
    path = tmp_path / "library.sqlite3"
    frames, truth = h10_frames(data_dir)
    with Library.open(path) as library:
        session_id, _ = record_live(library, session_items(frames, 610.0))
    return path, session_id, truth


def test_edf_export_carries_the_h10_ecg_and_accelerometer(h10_session, tmp_path: Path) -> None:
    path, session_id, truth = h10_session
    out = tmp_path / "s.edf"
    trm("export", str(session_id), "--format", "edf", "-o", str(out), library=path)
    reader = pyedflib.EdfReader(str(out))
    try:
        labels = reader.getSignalLabels()
        assert labels == ["RR", "HR", "ECG", "ACC X", "ACC Y", "ACC Z"]
        ecg_index = labels.index("ECG")
        assert reader.getSampleFrequency(ecg_index) == 130
        assert reader.getPhysicalDimension(ecg_index) == "uV"
        assert reader.getSampleFrequency(labels.index("ACC X")) == 200
        assert reader.getPhysicalDimension(labels.index("ACC Z")) == "mg"
        ecg = reader.readSignal(ecg_index)
        acc_z = reader.readSignal(labels.index("ACC Z"))
        onsets, durations, texts = reader.readAnnotations()
    finally:
        reader.close()
    grid = np.arange(ecg.size) / 130.0
    # Every sample on the session's clock, placed by the strap's clock within a run; the
    # strap-to-host offset is measured by the smallest radio delay, so samples sit that
    # much late (a bias no receiver can see), well under one sample.
    times = truth["ecg_time_s"] + LATENCY_FLOOR_NS / 1e9
    lost_from, lost_to = np.array(truth["lost_s"]) + LATENCY_FLOOR_NS / 1e9
    period = 1 / 130
    before = (grid >= times[0] + 0.002) & (grid <= lost_from - period - 0.002)
    after = (grid >= lost_to + period + 0.002) & (grid <= times[-1] - 0.002)
    resolution = 2 * np.abs(ecg).max() / 65535
    for part in (before, after):
        # within a millisecond of the truth (the offset's line through noisy minima)
        around = [np.interp(grid[part] + dt, times, truth["ecg_uv"]) for dt in (-1e-3, 0, 1e-3)]
        low, high = np.min(around, axis=0), np.max(around, axis=0)
        assert np.all((ecg[part] >= low - 2 * resolution) & (ecg[part] <= high + 2 * resolution))
    assert np.abs(ecg).max() > 1000  # real R peaks, in µV
    # the stretches without ECG are 0 and annotated
    assert np.all(ecg[grid < times[0] - 0.002] == pytest.approx(0, abs=resolution))
    lost = (grid > lost_from - period + 0.002) & (grid < lost_to + period - 0.002)
    assert lost.sum() >= ECG_FRAME - 1 and np.all(ecg[lost] == pytest.approx(0, abs=resolution))
    gaps = [(o, d) for o, d, t in zip(onsets, durations, texts, strict=True) if t == "ECG gap"]
    assert any(
        o == pytest.approx(0.0) and o + d == pytest.approx(times[0], abs=0.01) for o, d in gaps
    )
    assert any(o < lost_from and o + d > lost_to - 1 / 130 for o, d in gaps)
    assert "ACC gap" in texts and np.median(acc_z[acc_z != 0]) == pytest.approx(985, abs=1)


def test_csv_and_json_exports_carry_the_signals_and_json_round_trips(
    h10_session, tmp_path: Path
) -> None:
    path, session_id, truth = h10_session
    out = tmp_path / "s.csv"
    printed = trm("export", str(session_id), "--format", "csv", "-o", str(out), library=path).out
    assert "s_ecg.csv" in printed and "s_acc.csv" in printed
    with open(tmp_path / "s_ecg.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["time_s", "run", "ecg_uv"]
    assert [int(r["ecg_uv"]) for r in rows] == truth["ecg_uv"].tolist()  # every sample, exact
    times = np.array([float(r["time_s"]) for r in rows])
    np.testing.assert_allclose(times, truth["ecg_time_s"] + LATENCY_FLOOR_NS / 1e9, atol=2e-3)
    assert {r["run"] for r in rows} == {"0", "1"}  # one lost frame: two runs
    with open(tmp_path / "s_acc.csv", newline="") as handle:
        acc_rows = list(csv.DictReader(handle))
    assert list(acc_rows[0]) == ["time_s", "run", "acc_x_mg", "acc_y_mg", "acc_z_mg"]
    assert len(acc_rows) == len(truth["acc_mg"]) - len(truth["acc_mg"]) % ACC_FRAME

    document = tmp_path / "s.json"
    trm("export", str(session_id), "--format", "json", "-o", str(document), library=path)
    data = json.loads(document.read_text())
    assert data["version"] == 2
    assert data["signals"]["ecg"]["ecg_uv"] == truth["ecg_uv"].tolist()
    assert set(data["signals"]["acc"]) == {"time_s", "run", "acc_x_mg", "acc_y_mg", "acc_z_mg"}
    record = import_json(document)
    with Library.open(path) as library:
        original = library.session_pmd_frames(session_id)
        copy = library.add_session_record(record)
        again = library.session_pmd_frames(copy)
        assert again.payloads == original.payloads
        assert again.host_ns.tolist() == original.host_ns.tolist()
        assert again.source_ids == original.source_ids
        export_json(tmp_path / "copy.json", library.session_record(copy))
    copied = json.loads((tmp_path / "copy.json").read_text())
    assert copied["pmd_frames"] == data["pmd_frames"] and copied["signals"] == data["signals"]


def test_a_session_without_frames_exports_as_before(library: Library, tmp_path: Path) -> None:
    session_id, _ = record_live(
        library, list(simulate("calm", seed=2, duration_s=60.0, start_ns=START_NS))
    )
    export_json(tmp_path / "plain.json", library.session_record(session_id))
    data = json.loads((tmp_path / "plain.json").read_text())
    assert data["version"] == 1 and "pmd_frames" not in data and "signals" not in data


def test_sessions_and_show_say_which_signals_a_session_holds(h10_session) -> None:
    path, session_id, truth = h10_session
    listing = trm("sessions", library=path).out
    assert "SIGNALS" in listing and "ECG 10.0 min, ACC 10.0 min" in listing
    (entry,) = json.loads(trm("sessions", "--format", "json", library=path).out)
    assert entry["ecg_s"] == len(truth["ecg_uv"]) / 130  # the samples at the nominal rate
    assert entry["acc_s"] == (len(truth["acc_mg"]) // ACC_FRAME) * ACC_FRAME / 200
    assert "ECG 10.0 min, ACC 10.0 min" in trm("show", str(session_id), library=path).out
    with Library.open(path) as library:
        plain, _ = record_live(
            library, list(simulate("calm", seed=3, duration_s=60.0, start_ns=START_NS))
        )
    shown = trm("show", str(plain), library=path).out
    assert "ECG" not in shown.splitlines()[0]


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE pmd_frames SET payload = 'abc' WHERE seq = 7", ()),
        ("UPDATE pmd_frames SET host_ns = 'later' WHERE seq = 7", ()),
        ("UPDATE pmd_frames SET host_ns = ? WHERE seq = 7", (2**62,)),
        ("UPDATE pmd_frames SET stream = 'ecg', payload = 1.5 WHERE seq = 7", ()),
    ],
    ids=["bytes as text", "time as text", "far in the future", "stream and bytes as text"],
)
def test_a_damaged_frame_row_is_named_in_one_sentence(
    tmp_path: Path, data_dir: Path, sql: str, params: tuple
) -> None:
    from tests.library_commands import assert_clear, poke, read_commands, run

    path = tmp_path / "library.sqlite3"
    frames, _ = h10_frames(data_dir, seconds=60.0)
    with Library.open(path) as library:
        session_id, _ = record_live(library, session_items(frames, 70.0))
    poke(path, sql, params)
    for argv in read_commands(path, session_id, tmp_path):
        outcome = run(*argv)
        assert_clear(outcome)
        if argv[0] == "replay" or (argv[0] == "export" and "kubios" not in argv):
            assert outcome.code == 1, outcome  # the frames are what it reads
            assert f"session {session_id} is damaged" in outcome.err
            assert "PMD frame" in outcome.err, outcome.err


def test_frames_sent_during_a_pause_are_neither_shown_nor_stored(tmp_path: Path) -> None:
    from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
    from devices.packet import SensorContact
    from devices.source import Source
    from trm_bio.controller import SessionController, SessionOptions

    class HandFedH10(Source):
        """Packets and ECG frames the test hands in, stamped when it says."""

        def start(self) -> None:
            pass

        def stop(self, timeout_s: float = 5.0) -> None:
            pass

        def feed(self, second: int) -> None:
            host_ns = START_NS + second * SECOND_NS
            hrm = encode_hrm(60, (rr_ms_to_raw(1000.0),), contact=SensorContact.CONTACT)
            self._emit(packet_from_payload(hrm, host_ns, self.source_id))
            ecg = encode_frame(PmdStream.ECG, 10**15 + second * SECOND_NS, [second] * 3)
            self._put(PmdFrame(host_ns + 1, self.source_id, ecg))

    with Library.open(tmp_path / "library.sqlite3") as library:
        clock = {"ns": START_NS}
        controller = SessionController(library, clock_ns=lambda: clock["ns"])
        strap = HandFedH10(STRAP)
        controller.start_live(strap, SessionOptions(source_kind="ble"))
        shown = []

        def poll_at(second: int) -> None:
            clock["ns"] = START_NS + second * SECOND_NS + SECOND_NS // 2
            shown.extend(int(c.values[0] * 1000) for c in controller.poll().ecg)

        for second in range(1, 6):
            strap.feed(second)
            poll_at(second)
        controller.pause_session()
        for second in range(6, 10):  # sent during the pause
            strap.feed(second)
            poll_at(second)
        clock["ns"] = START_NS + 10 * SECOND_NS
        controller.resume_session()
        strap.feed(9)  # stamped before the resume, queued after its drain
        for second in range(11, 14):
            strap.feed(second)
            poll_at(second)
        session_id = controller.stop()
        stored = library.session_pmd_frames(session_id)
    kept = [1, 2, 3, 4, 5, 11, 12, 13]
    assert shown == kept
    assert [(ns - 1 - START_NS) // SECOND_NS for ns in stored.host_ns.tolist()] == kept


@pytest.mark.parametrize("strap_ns", [0, 10**15, 2**63, 2**64 - 1])
def test_a_lone_frame_at_any_strap_time_is_timed_by_its_arrival(strap_ns: int) -> None:
    from trm_bio.store.pmd_signals import strap_signals

    frame = PmdFrame(
        START_NS + 3 * SECOND_NS, STRAP, encode_frame(PmdStream.ECG, strap_ns, [7, 8, 9])
    )
    (signal,) = strap_signals([frame.host_ns], [frame.payload], [STRAP], START_NS).values()
    np.testing.assert_allclose(signal.time_s, [3 - 2 / 130, 3 - 1 / 130, 3.0])
    assert signal.values.tolist() == [7, 8, 9] and signal.run.tolist() == [0, 0, 0]
    update = Session(START_NS).process([frame])  # the live path takes it too
    assert update.ecg[0].values.tolist() == [0.007, 0.008, 0.009]
    assert update.ecg[0].strap_time_s[-1] == strap_ns / 1e9


# ---- end to end: the emulated H10 through bleak, the controller and the library -------------


def test_a_session_from_the_emulated_h10_stores_its_frames_as_sent(tmp_path: Path) -> None:
    from tests import test_ble_pmd as rig
    from tests.support.bleak_bumble_backend import BumbleCentral
    from tests.support.bumble_air import Air
    from trm_bio.controller import SessionController, SessionOptions

    try:
        rig.polar_ecg()
    except FileNotFoundError as exc:
        pytest.skip(f"needs the real Polar H10 recording: {exc}")
    air = Air()
    try:
        strap = rig.EmulatedH10(air, speed=rig.SPEED)
        source = rig.make_source(BumbleCentral(air), strap)
        with Library.open(tmp_path / "library.sqlite3") as library:
            controller = SessionController(library)
            controller.start_live(source, SessionOptions(source_kind="ble"))
            ecg: list = []
            beats = 0
            deadline = time.monotonic() + 6 * rig.WAIT_S
            while len(ecg) < 8 * ECG_FRAME:
                assert time.monotonic() < deadline, "the frames did not come"
                source.wait(rig.WAIT_S)
                update = controller.poll()
                ecg.extend(v for chunk in update.ecg for v in chunk.values.tolist())
                if controller.session.link_state is not None and beats < 20:
                    beats += strap.notify(rig.beat(beats))
            session_id = controller.stop()
            stored = library.session_pmd_frames(session_id)
            streams = library.pmd_streams(session_id)
        sent = {stream: strap.frames_sent(stream) for stream in (PmdStream.ECG, PmdStream.ACC)}
    finally:
        air.close()
    for stream in (PmdStream.ECG, PmdStream.ACC):
        got = [p for p in stored.payloads if p[0] == stream]
        assert got and got == sent[stream][: len(got)]  # byte for byte, none lost
    assert stored.host_ns.tolist() == sorted(stored.host_ns.tolist())
    assert streams[PmdStream.ECG].frames == len([p for p in stored.payloads if p[0] == 0])
    # what the session handed on is what it stored (the real ECG in mV)
    stored_ecg = [decode_frame(p).samples for p in stored.payloads if p[0] == PmdStream.ECG]
    np.testing.assert_array_equal(np.concatenate(stored_ecg)[: len(ecg)] / 1000.0, ecg)
