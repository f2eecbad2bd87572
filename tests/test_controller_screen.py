"""What a screen asks of the session controller: the newest reading and practice actions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
from devices.packet import SensorContact
from devices.simulated import SimulatedStrap
from devices.source import Source
from trm_bio.controller import PracticeAction, Reading, SessionController, SessionOptions
from trm_bio.core.regulation import Zone
from trm_bio.errors import TrmBioError
from trm_bio.store.library import Library

NS = 1_000_000_000
START_NS = 50 * NS


class HandFedStrap(Source):
    """A source whose packets the test hands in, stamped when it says."""

    def __init__(self) -> None:
        super().__init__("hand-fed")

    def start(self) -> None:
        pass

    def stop(self, timeout_s: float = 5.0) -> None:
        pass

    def feed(self, host_ns: int) -> None:
        payload = encode_hrm(60, (rr_ms_to_raw(1000.0),), contact=SensorContact.CONTACT)
        self._emit(packet_from_payload(payload, host_ns, self.source_id))


@pytest.fixture()
def controller(tmp_path: Path) -> SessionController:
    library = Library.open(tmp_path / "library.sqlite3")
    controller = SessionController(library)
    yield controller
    controller.stop()
    library.close()


def run_to_end(controller: SessionController, scenario: str, duration_s: float) -> None:
    strap = SimulatedStrap(scenario, seed=5, speed=math.inf, duration_s=duration_s)
    controller.start_live(strap, SessionOptions(record=False, source_kind="simulated"))
    while strap.running:
        strap.wait(0.25)
        controller.poll()
    controller.poll()


def test_the_reading_is_the_newest_settled_beat(controller: SessionController) -> None:
    assert controller.reading() == Reading()  # nothing runs: every value unknown
    run_to_end(controller, "stress", 420.0)
    reading = controller.reading()
    m = controller.session.history.metrics
    assert reading.hr_bpm == m["HR_20s"][-1] and np.isfinite(reading.hr_bpm)
    assert reading.rmssd_ms == m["RMSSD"][-1]
    assert reading.respiration_bpm == m["RespirationRate"][-1]
    assert reading.coherence == m["Coherence"][-1]
    assert (reading.arousal, reading.lowness) == (m["arousal"][-1], m["lowness"][-1])
    assert reading.zone is Zone(int(m["zone"][-1])) and reading.zone is not Zone.UNKNOWN
    assert reading.tentative == (m["tentative"][-1] > 0)
    # The zone is shown against this session's own settled start: no reason, no settling.
    assert reading.zone_reason == "" and not reading.calibrating
    assert reading.baseline_source == "session-start" and math.isnan(reading.calibration_left_s)
    assert reading.link is controller.session.link_state is not None


def test_the_reading_says_paused_while_the_session_is(controller: SessionController) -> None:
    run_to_end(controller, "calm", 120.0)
    controller.pause_session()
    assert controller.reading().paused
    controller.resume_session()
    assert not controller.reading().paused


def test_practice_actions_by_name_and_by_member(controller: SessionController) -> None:
    run_to_end(controller, "calm", 60.0)
    with pytest.raises(TrmBioError, match="no skill is running"):
        controller.flow_action(PracticeAction.NEXT)
    controller.start_skill("tracking")
    first = controller.flow_state().step_index
    controller.flow_action(PracticeAction.NEXT)
    controller.flow_action("previous")  # the command line passes the words
    assert controller.flow_state().step_index == first
    with pytest.raises(TrmBioError, match="no practice action 'start'"):
        controller.flow_action("start")  # a flow method, but not an action a person takes
    controller.help_now()
    strategy = controller.flow_state().strategies[0]
    controller.flow_action(PracticeAction.CHOOSE_STRATEGY, strategy.id)
    assert controller.flow_state().in_help_now
    controller.flow_action(PracticeAction.RETURN_FROM_HELP_NOW)
    controller.flow_action(PracticeAction.STOP)
    assert controller.flow_state().done


def test_a_packet_queued_after_the_resume_but_sent_during_the_pause_is_left_out(
    tmp_path: Path,
) -> None:
    """The resume drains the queue, then reads the clock: a packet the strap stamped in
    between was sent during the pause and is neither shown nor stored."""
    library = Library.open(tmp_path / "library.sqlite3")
    clock = {"ns": START_NS}
    controller = SessionController(library, clock_ns=lambda: clock["ns"])
    strap = HandFedStrap()
    controller.start_live(strap, SessionOptions(source_kind="simulated"))
    for t in range(1, 11):  # ten beats before the pause
        strap.feed(START_NS + t * NS)
        clock["ns"] = START_NS + t * NS
        controller.poll()
    clock["ns"] = START_NS + 10 * NS + NS // 2
    controller.pause_session()
    for t in range(11, 20):  # sent during the pause
        strap.feed(START_NS + t * NS)
    clock["ns"] = START_NS + 20 * NS + NS // 2
    controller.resume_session()
    strap.feed(START_NS + 20 * NS)  # stamped before the resume, queued after its drain
    for t in range(21, 26):
        strap.feed(START_NS + t * NS)
        clock["ns"] = START_NS + t * NS
        controller.poll()
    session_id = controller.stop()
    stored_s = (library.session_packets(session_id).host_ns - START_NS) / NS
    library.close()
    assert stored_s.tolist() == [*range(1, 11), *range(21, 26)]
