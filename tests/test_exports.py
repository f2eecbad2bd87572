"""Exports and imports: CSV, Kubios RR text, EDF+, session JSON, RR files as sessions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from devices.hrm import decode_hrm, encode_hrm
from devices.packet import Packet, SensorContact
from tests.recordings import nsr001_rr_ms, polar_strap_rr_ms
from trm_bio.errors import InputFileError, TrmBioError
from trm_bio.store.exports import (
    events_csv_path,
    export_csv,
    export_edf,
    export_kubios_rr,
    read_beats_csv,
    read_events_csv,
)
from trm_bio.store.imports import import_rr_recording, synthesise_packets
from trm_bio.store.json_format import export_json, import_json
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder
from trm_bio.store.rr_files import RRRecording, read_rr_file

RNG = np.random.default_rng(7)
EVENTS = [
    {"time_s": 12.25, "kind": "skill_step", "host_ns": 5, "payload": {"skill": "grounding"}},
    {
        "time_s": 30.0,
        "kind": "sensation",
        "payload": {"valence": "pleasant", "words": ["warm"], "text": "warm hands"},
    },
    {"time_s": 45.5, "kind": "marker", "payload": {}},
]


def beats(n: int = 300) -> dict[str, np.ndarray]:
    rr_ms = 800 + 60 * np.sin(np.arange(n) / 5) + RNG.normal(0, 15, n)
    segment = np.zeros(n, dtype=np.int64)
    segment[n // 2 :] = 1
    times_s = np.cumsum(rr_ms) / 1000
    times_s[n // 2 :] += 20.0  # a 20 s disconnect between the two segments
    label = np.array(["N"] * n)
    label[[10, 11]] = ["E", "M"]
    nn_ms = rr_ms.copy()
    nn_ms[[10, 11]] = np.nan
    return {"time_s": times_s, "rr_ms": rr_ms, "segment": segment, "label": label, "nn_ms": nn_ms}


# ---- CSV -----------------------------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    beat_table = beats()
    n = beat_table["rr_ms"].size
    metrics = {
        "RMSSD": np.where(np.arange(n) < 60, np.nan, RNG.uniform(20, 60, n)),
        "HR": 60000 / beat_table["rr_ms"],
    }
    written = export_csv(tmp_path / "s1.csv", beat_table, metrics, EVENTS)
    assert written == [tmp_path / "s1.csv", events_csv_path(tmp_path / "s1.csv")]
    header = (tmp_path / "s1.csv").read_text().splitlines()[0]
    assert header == "time_s,rr_ms,segment,label,nn_ms,RMSSD,HR"
    back = read_beats_csv(tmp_path / "s1.csv")
    for name, values in {**beat_table, **metrics}.items():
        if values.dtype.kind == "f":
            np.testing.assert_array_equal(back[name], values)  # bit for bit, NaN where NaN
        else:
            assert back[name].tolist() == values.tolist()
    assert back["segment"].dtype == np.int64
    events = read_events_csv(events_csv_path(tmp_path / "s1.csv"))
    assert [(e["time_s"], e["kind"], e["payload"]) for e in events] == [
        (e["time_s"], e["kind"], e["payload"]) for e in EVENTS
    ]
    events_header = events_csv_path(tmp_path / "s1.csv").read_text().splitlines()[0]
    assert events_header == "time_s,kind,host_ns,skill,valence,words,text,payload_json"


def test_beats_csv_reads_as_rr_file(tmp_path: Path) -> None:
    beat_table = beats()
    export_csv(tmp_path / "s1.csv", beat_table)
    rec = read_rr_file(tmp_path / "s1.csv")
    assert rec.rr_column == "rr_ms" and rec.time_column == "time_s" and rec.unit == "ms"
    np.testing.assert_array_equal(rec.rr_ms, beat_table["rr_ms"])


def test_csv_columns_must_match(tmp_path: Path) -> None:
    with pytest.raises(TrmBioError, match="different lengths"):
        export_csv(tmp_path / "x.csv", {"time_s": [1.0, 2.0], "rr_ms": [800.0]})


# ---- Kubios RR text -------------------------------------------------------------------------


def test_kubios_rr_round_trip(tmp_path: Path) -> None:
    rr_ms = beats()["rr_ms"]
    path = export_kubios_rr(tmp_path / "rr.txt", rr_ms)
    text = path.read_text()
    assert "#" not in text and len(text.splitlines()) == rr_ms.size
    assert all(0.2 < float(line) < 5 for line in text.splitlines())  # seconds
    rec = read_rr_file(path)
    assert rec.unit == "s" and rec.format == "text"
    np.testing.assert_allclose(rec.rr_ms, rr_ms, rtol=1e-15)


def test_kubios_rr_real_recordings_round_trip(data_dir: Path, tmp_path: Path) -> None:
    for rr_ms in (nsr001_rr_ms(), polar_strap_rr_ms()):
        rec = read_rr_file(export_kubios_rr(tmp_path / "rr.txt", rr_ms))
        np.testing.assert_allclose(rec.rr_ms, rr_ms, rtol=1e-15)
        assert rec.offset_s is None


def test_kubios_rr_refuses_bad_values(tmp_path: Path) -> None:
    with pytest.raises(TrmBioError, match="positive"):
        export_kubios_rr(tmp_path / "rr.txt", [800.0, np.nan])
    with pytest.raises(TrmBioError, match="no RR"):
        export_kubios_rr(tmp_path / "rr.txt", [])


# ---- EDF+ ------------------------------------------------------------------------------------


def test_edf_signals_and_annotations(tmp_path: Path) -> None:
    beat_table = beats()
    path = export_edf(
        tmp_path / "s1.edf",
        beat_table["time_s"],
        beat_table["rr_ms"],
        segment=beat_table["segment"],
        events=EVENTS,
        start_utc="2025-03-01T09:30:00+00:00",
        patient_code="client 7",
    )
    reader = pyedflib.EdfReader(str(path))
    try:
        assert reader.getSignalLabels() == ["RR", "HR"]
        assert reader.getSampleFrequency(0) == 4
        assert reader.getPhysicalDimension(0) == "ms"
        assert reader.getStartdatetime().isoformat() == "2025-03-01T09:30:00"
        assert reader.getPatientCode() == "client 7"  # EDF+ stores spaces as _
        rr_signal = reader.readSignal(0)
        hr_signal = reader.readSignal(1)
        onsets, durations, texts = reader.readAnnotations()
    finally:
        reader.close()
    t = np.arange(rr_signal.size) / 4
    first = beat_table["segment"] == 0
    inside = (t >= beat_table["time_s"][0]) & (t <= beat_table["time_s"][first][-1])
    expected = np.interp(t[inside], beat_table["time_s"][first], beat_table["rr_ms"][first])
    np.testing.assert_allclose(rr_signal[inside], expected, atol=0.1)  # 16-bit quantisation
    np.testing.assert_allclose(hr_signal[inside], 60000 / expected, atol=0.05)
    gap_start = beat_table["time_s"][first][-1]
    second_begins = beat_table["time_s"][~first][0] - beat_table["rr_ms"][~first][0] / 1000
    in_gap = (t > gap_start + 0.25) & (t < second_begins - 0.25)
    assert in_gap.sum() > 60 and np.all(np.abs(rr_signal[in_gap]) < 0.1)
    assert list(texts) == ["signal gap", "skill_step: grounding", "sensation: warm hands", "marker"]
    np.testing.assert_allclose(onsets, [gap_start, 12.25, 30.0, 45.5], atol=1e-4)
    assert durations[0] == pytest.approx(second_begins - gap_start, abs=1e-4)


def test_edf_needs_beats(tmp_path: Path) -> None:
    with pytest.raises(TrmBioError, match="two beats"):
        export_edf(tmp_path / "x.edf", [0.8], [800.0])


# ---- session JSON --------------------------------------------------------------------------


def recorded_session(library: Library) -> int:
    person = library.add_person("client 7")
    session = library.create_session(
        person,
        "ble",
        "AA:BB",
        "Polar H10",
        10**12,
        notes="intake",
        tags=("a", "b"),
        settings={"window_s": 60.0},
    )
    with Recorder(library, session) as recorder:
        for i in range(500):
            raw = RNG.integers(600, 1100, size=int(RNG.integers(0, 5))).tolist()
            payload = encode_hrm(int(RNG.integers(50, 120)), raw, contact=SensorContact.CONTACT)
            source = "AA:BB" if i < 400 else "CC:DD"
            recorder.add_packet(Packet(10**12 + i * 997_000_123, source, payload, 60))
            if i % 50 == 0:
                recorder.add_event(
                    i * 0.997, "sensation", {"valence": "neutral", "n": i, "x": 0.1 + i}, 10**12 + i
                )
    library.store_summary(session, {"RMSSD": 41.5})
    return session


def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    with Library.open(tmp_path / "a.sqlite3") as source:
        session = recorded_session(source)
        original = source.session_record(session)
        export_json(tmp_path / "s.json", original)
    with Library.open(tmp_path / "b.sqlite3") as target:
        new_id = target.add_session_record(import_json(tmp_path / "s.json"))
        copy = target.session_record(new_id)
        assert target.get_session(new_id).person_name == "client 7"
    assert copy.session == original.session
    assert copy.packets.payloads == original.packets.payloads
    np.testing.assert_array_equal(copy.packets.host_ns, original.packets.host_ns)
    assert copy.packets.source_ids == original.packets.source_ids
    assert copy.events == original.events
    # Caches are recomputed from the session, never taken from a file that may disagree.
    assert copy.derived == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a JSON file"),
        ('{"hello": 1}', "not a trm-bio session"),
        ('{"format": "trm-bio-session", "version": 99}', "newer trm-bio"),
        ('{"format": "trm-bio-session", "version": 1, "session": {}}', "damaged"),
    ],
)
def test_import_json_refuses_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputFileError, match=message):
        import_json(path)


# ---- RR files as sessions ------------------------------------------------------------------


def test_synthesised_packets_carry_every_beat() -> None:
    rr_ms = np.array([800.0, 810.0, 150.0, 160.0, 170.0, 180.0, 190.0, 1200.0, 2500.0, 790.0])
    host_ns, payloads = synthesise_packets(rr_ms, start_ns=0)
    decoded = [decode_hrm(p) for p in payloads]
    carried = np.concatenate([m.rr_ms for m in decoded])
    np.testing.assert_allclose(carried, rr_ms, atol=1000 / 1024 / 2)
    assert max(len(m.rr_ms) for m in decoded) <= 4
    assert np.all(np.diff(host_ns) > 0)
    # Every packet arrives at or after the end of the last beat it carries.
    counts = np.array([len(m.rr_ms) for m in decoded])
    last_end_s = (np.cumsum(rr_ms) / 1000)[np.cumsum(counts) - 1]
    assert np.all(host_ns / 1e9 >= last_end_s - 1e-9)
    assert np.all(host_ns / 1e9 - last_end_s < 1.0 + 1e-6)


def test_import_rr_file_keeps_exact_values(tmp_path: Path, data_dir: Path) -> None:
    rec = read_rr_file(data_dir / "nsr001_rr_secs.txt")
    with Library.open(tmp_path / "lib.sqlite3") as library:
        session = import_rr_recording(library, rec, person="P01")
        info = library.get_session(session)
        assert (info.source_kind, info.status, info.person_name) == ("import", "complete", "P01")
        assert info.duration_s == pytest.approx(rec.rr_ms.sum() / 1000)
        assert info.settings["import"]["offset_s"] == pytest.approx(225.796875)
        exact = library.imported_rr(session)
        assert exact is not None
        np.testing.assert_array_equal(exact.rr_ms, nsr001_rr_ms())
        batch = library.session_packets(session)
        carried = np.concatenate([decode_hrm(p).rr_ms for p in batch.payloads])
        np.testing.assert_allclose(carried, rec.rr_ms, atol=1000 / 1024 / 2)
        record = library.session_record(session)
    # The exact values survive a JSON round trip too.
    export_json(tmp_path / "s.json", record)
    again = import_json(tmp_path / "s.json")
    assert again.imported_rr is not None
    np.testing.assert_array_equal(again.imported_rr.rr_ms, rec.rr_ms)


def test_import_keeps_file_times(tmp_path: Path) -> None:
    rec = RRRecording(
        np.array([800.0, 900.0]), np.array([0.8, 1.7]), "csv", "ms", "header", "x.csv"
    )
    with Library.open(tmp_path / "lib.sqlite3") as library:
        session = import_rr_recording(library, rec)
        exact = library.imported_rr(session)
    assert exact is not None and exact.times_s is not None
    assert exact.times_s.tolist() == [0.8, 1.7]
    assert json.loads(json.dumps(exact.info))["file"] == "x.csv"
