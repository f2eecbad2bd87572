"""What a screen asks of the session controller: the newest reading and practice actions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from devices.simulated import SimulatedStrap
from trm_bio.controller import PracticeAction, Reading, SessionController, SessionOptions
from trm_bio.core.regulation import Zone
from trm_bio.errors import TrmBioError
from trm_bio.store.library import Library


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
    assert reading.link == controller.session.link_state.value


def test_the_reading_says_paused_while_the_session_is(controller: SessionController) -> None:
    run_to_end(controller, "calm", 120.0)
    controller.pause_session()
    assert controller.reading().link == "paused"
    controller.resume_session()
    assert controller.reading().link != "paused"


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
