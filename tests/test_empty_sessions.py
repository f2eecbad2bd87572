"""A recording that never received a heartbeat is not kept, and says so.

Without Bluetooth (this test machine has no D-Bus system bus, so bleak cannot start), a
strap address gives no beat: ``record`` and ``practice`` end with a sentence and a non-zero
exit status, and the library holds no new session. The same holds in the app, and for a
strap that is there but delivers no beat. A session that did receive beats is kept, whatever
happened to its strap afterwards.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
from devices.packet import LinkState
from devices.simulated import SimulatedStrap
from devices.source import Source
from tests.cli_run import run, run_process
from tests.ui_app import open_app
from trm_bio.cli.library_cmd import run_session
from trm_bio.controller import SessionController, SessionOptions
from trm_bio.store.library import Library

NOTHING_SAVED = "No heartbeat arrived, so nothing was saved."
ADDRESS = "AA:BB:CC:DD:EE:FF"  # no strap has it, with or without Bluetooth


def _sessions(library: Path) -> list[dict]:
    listed = run("sessions", "--format", "json", "--library", str(library), check=True)
    return json.loads(listed.out)


def _run(*argv: str) -> tuple[int, str, str]:
    outcome = run(*argv)
    return outcome.code, outcome.out, outcome.err


@pytest.mark.timeout(120)
def test_record_with_a_strap_that_never_answers_keeps_nothing(tmp_path: Path) -> None:
    library = tmp_path / "lib.sqlite3"
    code, out, err = _run(
        "record", "--device", ADDRESS, "--duration", "20", "--library", str(library)
    )
    assert code == 1
    assert "saved" not in out.replace(NOTHING_SAVED, "")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trm-bio: ")
    assert lines[0].endswith(NOTHING_SAVED)
    assert _sessions(library) == []


@pytest.mark.timeout(120)
def test_record_without_bluetooth_end_to_end(tmp_path: Path) -> None:
    """The installed command in its own process, as a person runs it."""
    library = tmp_path / "lib.sqlite3"
    result = run_process(
        "record", "--device", ADDRESS, "--duration", "20", "--quiet", library=library, timeout=100
    )
    assert result.code == 1
    assert result.out == ""  # --quiet prints the id of a saved session, and none was
    assert "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1].endswith(NOTHING_SAVED)
    listed = run_process("sessions", "--format", "json", library=library)
    assert listed.code == 0 and json.loads(listed.out) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("choice", "named"),
    [(("--skill", "7"), "skill 7 (Titration)"), (("--plan", "small_steps"), "plan 'small_steps'")],
)
def test_practice_of_a_clinician_skill_is_refused_before_a_session(
    tmp_path: Path, choice: tuple[str, str], named: str
) -> None:
    library = tmp_path / "lib.sqlite3"
    for source in (("--simulate",), ("--device", ADDRESS)):
        code, out, err = _run(
            "practice",
            *source,
            *choice,
            "--skills-dir",
            str(tmp_path / "no skills"),
            "--library",
            str(library),
        )
        assert code == 1 and out == ""
        assert err.startswith(f"trm-bio: {named}") and err.count("\n") == 1
        assert "clinician mode" in err and err.rstrip().endswith("add --clinician")
    assert _sessions(library) == []


def _drive(controller: SessionController, source: Source) -> int | None:
    """Record from ``source`` through the command line's own loop until it ends."""
    controller.start_live(source, SessionOptions(source_kind="simulated"), analyse_live=False)
    run_session(controller, None, lambda update: None)
    return controller.stop()


@pytest.mark.timeout(60)
def test_a_strap_without_skin_contact_delivers_no_beat_and_nothing_is_kept(
    tmp_path: Path,
) -> None:
    # The simulated strap streams packets all along, without contact: 0 bpm and no RR.
    strap = SimulatedStrap(
        "calm", speed=math.inf, duration_s=60.0, contact_loss=((0.0, 60.0),)
    )
    with Library.open(tmp_path / "lib.sqlite3") as library:
        controller = SessionController(library, skills_dir=tmp_path / "no skills")
        packets = []
        controller.start_live(strap, SessionOptions(source_kind="simulated"))
        run_session(controller, None, lambda update: packets.append(update.packets))
        assert sum(packets) >= 50  # packets came, beats did not
        assert controller.stop() is None
        assert controller.error == NOTHING_SAVED
        assert library.list_sessions() == []


class FailingStrap(Source):
    """A strap that sends ``beats`` one-beat packets and then gives up for good."""

    def __init__(self, beats: int, reason: str) -> None:
        super().__init__("scripted:strap")
        self.beats = beats
        self.reason = reason

    def start(self) -> None:
        now_ns = time.monotonic_ns()
        self._set_state(LinkState.STREAMING, "", now_ns)
        for index in range(self.beats):
            payload = encode_hrm(60, [rr_ms_to_raw(1000.0)])
            host_ns = now_ns + (index + 1) * 1_000_000_000
            self._emit(packet_from_payload(payload, host_ns, self.source_id))
        self._set_state(LinkState.FAILED, self.reason, now_ns + (self.beats + 1) * 10**9)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Nothing runs on a thread of its own."""


@pytest.mark.timeout(60)
def test_a_strap_failing_before_any_beat_gives_its_reason(tmp_path: Path) -> None:
    with Library.open(tmp_path / "lib.sqlite3") as library:
        controller = SessionController(library, skills_dir=tmp_path / "no skills")
        assert _drive(controller, FailingStrap(0, "The adapter was removed.")) is None
        assert controller.error == f"The adapter was removed. {NOTHING_SAVED}"
        assert library.list_sessions() == []


@pytest.mark.timeout(60)
def test_a_session_with_beats_is_kept_when_its_strap_fails_later(tmp_path: Path) -> None:
    with Library.open(tmp_path / "lib.sqlite3") as library:
        controller = SessionController(library, skills_dir=tmp_path / "no skills")
        session_id = _drive(controller, FailingStrap(12, "The adapter was removed."))
        assert session_id is not None and controller.error is None
        (info,) = library.list_sessions()
        assert (info.id, info.status, info.packet_count) == (session_id, "complete", 12)


@pytest.mark.timeout(120)
def test_the_app_keeps_no_session_without_a_heartbeat(qtbot, tmp_path: Path) -> None:
    # The simulated link is down from the start: the strap is chosen, no packet comes.
    parts = open_app(qtbot, tmp_path, link_drops=((0.0, 3600.0),))
    window, controller = parts.window, parts.controller
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.mode == "recording"
    session_id = controller.session_id
    assert session_id is not None
    qtbot.waitUntil(lambda: controller.session.link_state is LinkState.RECONNECTING, timeout=10000)
    assert window.stop_session() is None
    assert window.statusBar().currentMessage() == NOTHING_SAVED
    assert parts.library.list_sessions() == []
    assert window.mode == "preview"  # the strap keeps showing live, ready for a new session
