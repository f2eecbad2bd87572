"""The practice flow, fed with beat-clock times: timed and manual steps, pause, skip, Help Now!."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from skills import (
    FlowError,
    FlowEvent,
    Plan,
    PracticeFlow,
    Skill,
    Step,
    Strategy,
    UnknownSkillError,
    load_plans,
    load_skills,
)
from skills.flow import EVENT_KINDS

HELP = Skill(
    number=5, id="help_now", name="Help Now!", purpose="Quick strategies.", kind="wellness",
    steps=(Step("Choose any strategy."),),
    strategies=(Strategy("water", "Sip water", "Take a sip."),
                Strategy("walk", "Walk", "Walk, noticing your feet.")),
)
# Skill A: timed 10 s, manual, timed 5 s. Skill B: one timed 4 s step.
SKILL_A = Skill(
    number=1, id="alpha", name="Alpha", purpose="A.", kind="wellness",
    steps=(Step("a0", 10.0), Step("a1", None, invites_tracking=True), Step("a2", 5.0)),
)
SKILL_B = Skill(number=2, id="beta", name="Beta", purpose="B.", kind="wellness",
                steps=(Step("b0", 4.0),))
PLAN = Plan("ab", "Alpha then Beta", "", ("alpha", "beta"))


def kinds(events: list[FlowEvent]) -> list[str]:
    return [event.kind for event in events]


def single() -> PracticeFlow:
    return PracticeFlow([SKILL_A], help_now=HELP)


def planned() -> PracticeFlow:
    return PracticeFlow([SKILL_A, SKILL_B], help_now=HELP, plan=PLAN)


def test_start_gives_the_first_step() -> None:
    flow = single()
    assert flow.state(0.0).status == "ready"
    events = flow.start(2.5)
    assert kinds(events) == ["skill_started", "step_started"]
    assert all(event.time_s == 2.5 for event in events)
    assert events[1].skill_number == 1 and events[1].skill_id == "alpha"
    assert events[1].step_index == 0 and events[1].prompt == "a0"
    state = flow.state(2.5)
    assert state.status == "running" and state.prompt == "a0" and state.remaining_s == 10.0


def test_a_timed_step_ends_when_its_time_is_up() -> None:
    flow = single()
    flow.start(0.0)
    assert flow.tick(9.999) == []
    assert flow.state(9.0).remaining_s == pytest.approx(1.0)
    events = flow.tick(10.0)
    assert kinds(events) == ["step_finished", "step_started"]
    assert events[0].detail == "timer" and events[0].step_index == 0
    assert events[1].time_s == 10.0 and events[1].step_index == 1


def test_a_manual_step_waits_for_next() -> None:
    flow = single()
    flow.start(0.0)
    flow.tick(10.0)
    assert flow.tick(5000.0) == []
    state = flow.state(5000.0)
    assert state.step_index == 1 and state.remaining_s is None and state.step.invites_tracking
    events = flow.next(5001.0)
    assert kinds(events) == ["step_finished", "step_started"]
    assert events[0].detail == "next" and events[1].time_s == 5001.0
    assert flow.state(5001.0).remaining_s == 5.0


def test_timed_events_carry_their_due_time_whatever_the_tick_rate() -> None:
    coarse, fine = planned(), planned()
    coarse.start(0.0)
    fine.start(0.0)
    coarse.tick(100.0)  # one late tick: catches up to the manual step a1 at 10 s
    for i in range(1, 1001):
        fine.tick(i * 0.1)
    assert coarse.events == fine.events
    coarse.next(200.0)  # a2 (5 s) then beta's b0 (4 s) run out by 209 s
    events = coarse.tick(300.0)
    assert [(e.kind, e.time_s) for e in events] == [
        ("step_finished", 205.0), ("skill_finished", 205.0), ("skill_started", 205.0),
        ("step_started", 205.0), ("step_finished", 209.0), ("skill_finished", 209.0),
        ("plan_finished", 209.0),
    ]
    assert coarse.state(300.0).finished and coarse.state(300.0).skill is None


def test_pause_freezes_the_step_timer() -> None:
    flow = single()
    flow.start(0.0)
    assert kinds(flow.pause(4.0)) == ["paused"]
    assert flow.pause(5.0) == []  # already paused
    assert flow.tick(1000.0) == []
    state = flow.state(1000.0)
    assert state.paused and state.remaining_s == pytest.approx(6.0)
    resumed = flow.resume(1000.0)
    assert kinds(resumed) == ["resumed"] and resumed[0].time_s == 1000.0
    assert flow.resume(1001.0) == []
    assert flow.tick(1005.9) == []
    assert [e.time_s for e in flow.tick(1006.5)] == [1006.0, 1006.0]


def test_pause_after_a_due_time_first_catches_up() -> None:
    flow = planned()
    flow.start(0.0)
    events = flow.pause(12.0)  # a0 ran out at 10 s, before the pause
    assert kinds(events) == ["step_finished", "step_started", "paused"]
    assert [e.time_s for e in events] == [10.0, 10.0, 12.0]


def test_skip_step_and_skip_skill() -> None:
    flow = planned()
    flow.start(0.0)
    events = flow.skip_step(3.0)
    assert kinds(events) == ["step_skipped", "step_started"]
    assert events[0].step_index == 0 and events[1].step_index == 1
    events = flow.skip_skill(4.0)
    assert kinds(events) == ["skill_skipped", "skill_started", "step_started"]
    assert events[0].skill_id == "alpha" and events[2].skill_id == "beta"
    assert events[2].position == 1 and events[2].plan_id == "ab"
    events = flow.skip_skill(5.0)
    assert kinds(events) == ["skill_skipped", "plan_finished"]
    assert flow.state(5.0).finished
    with pytest.raises(FlowError, match="cannot skip a skill: the practice has finished"):
        flow.skip_skill(6.0)


def test_previous_goes_back_and_restarts_the_timer() -> None:
    flow = planned()
    flow.start(0.0)
    events = flow.previous(3.0)  # on the very first step: it starts again
    assert kinds(events) == ["went_back", "step_started"]
    assert flow.state(3.0).remaining_s == 10.0
    flow.tick(13.0)
    flow.next(20.0)  # now on a2
    events = flow.previous(21.0)
    assert kinds(events) == ["went_back", "step_started"] and events[1].step_index == 1
    flow.next(22.0)
    flow.tick(27.0)  # a2 done: beta starts at 27 s
    assert flow.state(27.0).skill.id == "beta"
    events = flow.previous(28.0)  # from beta's first step to alpha's last step
    assert kinds(events) == ["went_back", "skill_started", "step_started"]
    assert events[0].skill_id == "beta"
    assert (events[2].skill_id, events[2].step_index, events[2].time_s) == ("alpha", 2, 28.0)
    assert flow.state(30.0).remaining_s == pytest.approx(3.0)


def test_stop_ends_the_practice() -> None:
    flow = planned()
    flow.start(0.0)
    events = flow.stop(3.0)
    assert kinds(events) == ["stopped"] and events[0].skill_id == "alpha"
    assert events[0].step_index == 0
    state = flow.state(3.0)
    assert state.stopped and state.done and not state.finished
    assert flow.stop(4.0) == []
    for action in (flow.next, flow.previous, flow.pause, flow.resume, flow.skip_step):
        with pytest.raises(FlowError, match="the practice has stopped"):
            action(5.0)
    assert flow.tick(100.0) == []


def test_help_now_interrupts_and_returns() -> None:
    flow = single()
    flow.start(0.0)
    events = flow.help_now(3.0)
    assert kinds(events) == ["helpnow"]
    assert (events[0].skill_id, events[0].step_index, events[0].time_s) == ("alpha", 0, 3.0)
    state = flow.state(3.0)
    assert state.in_help_now and [s.id for s in state.strategies] == ["water", "walk"]
    assert state.prompt == "a0"  # the interrupted step stays current underneath
    assert state.strategy is None  # none chosen yet
    assert flow.help_now(4.0) == []
    assert flow.tick(500.0) == []  # the step timer is frozen in Help Now!
    chosen = flow.choose_strategy(501.0, "walk")
    assert kinds(chosen) == ["helpnow_strategy"]
    assert chosen[0].detail == "walk" and chosen[0].prompt == "Walk, noticing your feet."
    assert flow.state(501.0).strategy.id == "walk"  # the chosen one, for the screens
    with pytest.raises(FlowError, match="there is no strategy 'swim'"):
        flow.choose_strategy(502.0, "swim")
    assert flow.state(502.0).strategy.id == "walk"
    returned = flow.return_from_help_now(600.0)
    assert kinds(returned) == ["helpnow_returned"] and returned[0].time_s == 600.0
    assert not flow.state(600.0).in_help_now
    assert flow.state(600.0).strategy is None  # left behind with Help Now!
    assert flow.return_from_help_now(601.0) == []
    assert [e.time_s for e in flow.tick(607.0)] == [607.0, 607.0]  # 3 s ran + 7 s after


def test_help_now_while_paused_returns_paused() -> None:
    flow = single()
    flow.start(0.0)
    flow.pause(2.0)
    flow.help_now(3.0)
    flow.return_from_help_now(50.0)
    assert flow.state(50.0).paused and flow.tick(500.0) == []
    flow.resume(500.0)
    assert flow.state(500.0).remaining_s == 8.0


def test_navigating_from_help_now_or_pause_returns_and_resumes_first() -> None:
    flow = single()
    flow.start(0.0)
    flow.pause(1.0)
    flow.help_now(2.0)
    events = flow.next(3.0)
    assert kinds(events) == ["helpnow_returned", "resumed", "step_finished", "step_started"]
    state = flow.state(3.0)
    assert state.status == "running" and not state.in_help_now


def test_help_now_before_start_and_without_a_help_now_skill() -> None:
    flow = single()
    events = flow.help_now(0.5)
    assert kinds(events) == ["helpnow"] and events[0].skill_id is None
    flow.return_from_help_now(1.0)
    flow.start(1.0)
    assert flow.state(1.0).status == "running"
    with pytest.raises(FlowError, match="Help Now! is not available"):
        PracticeFlow([SKILL_A]).help_now(0.0)


def test_every_transition_records_an_event_at_the_given_time() -> None:
    flow = planned()
    calls = [
        (flow.start, 1.0), (flow.pause, 2.0), (flow.resume, 3.0), (flow.help_now, 4.0),
        (flow.return_from_help_now, 5.0), (flow.skip_step, 6.0), (flow.previous, 7.0),
        (flow.next, 8.0), (flow.next, 9.0), (flow.skip_skill, 10.0), (flow.skip_skill, 11.0),
    ]
    for action, now_s in calls:
        events = action(now_s)
        assert events, action.__name__
        assert all(event.time_s == now_s for event in events), action.__name__
        assert all(event.kind in EVENT_KINDS for event in events)
    times = [event.time_s for event in flow.events]
    assert times == sorted(times)
    assert flow.events[-1].kind == "plan_finished"
    assert flow.events[0].kind == "plan_started" and flow.events[0].detail == "Alpha then Beta"


def test_calls_out_of_order_or_with_bad_times_are_refused() -> None:
    flow = single()
    with pytest.raises(FlowError, match="cannot go to the next step: the practice has not"):
        flow.next(0.0)
    flow.start(10.0)
    with pytest.raises(FlowError, match="already started"):
        flow.start(11.0)
    with pytest.raises(FlowError, match="the time went back from 11 s to 9 s"):
        flow.tick(9.0)
    with pytest.raises(FlowError, match="finite number of seconds"):
        flow.tick(math.nan)
    with pytest.raises(FlowError, match="at least one skill"):
        PracticeFlow([])


def test_a_whole_shipped_plan_with_next_and_ticks(tmp_path: Path) -> None:
    plans = load_plans(tmp_path)
    flow = PracticeFlow.for_plan(plans, "getting_started")
    now_s = 0.0
    flow.start(now_s)
    while not flow.state(now_s).done:
        state = flow.state(now_s)
        if state.remaining_s is not None:
            now_s += state.remaining_s
            flow.tick(now_s)
        else:
            now_s += 7.0
            flow.next(now_s)
    started = [e.skill_id for e in flow.events if e.kind == "skill_started"]
    assert started == ["tracking", "grounding", "resourcing"]
    expected_steps = sum(len(skill.steps) for skill in plans.skills_for("getting_started"))
    assert kinds(list(flow.events)).count("step_started") == expected_steps
    assert flow.events[-1].kind == "plan_finished" and flow.events[-1].time_s == now_s
    manual = sum(step.duration_s is None for s in flow.skills for step in s.steps)
    timed = sum(s.total_timed_s for s in flow.skills)
    assert now_s == pytest.approx(timed + 7.0 * manual)


def test_flows_from_the_library_respect_clinician_mode(tmp_path: Path) -> None:
    library = load_skills(tmp_path)
    flow = PracticeFlow.for_skill(library, 3)
    flow.start(0.0)
    flow.help_now(1.0)
    assert [s.id for s in flow.state(1.0).strategies][:2] == ["water", "textures"]
    with pytest.raises(UnknownSkillError, match="clinician mode"):
        PracticeFlow.for_skill(library, "titration")
    clinician = library.with_mode(clinician_mode=True)
    assert PracticeFlow.for_skill(clinician, 7).skills[0].name == "Titration"
    with pytest.raises(UnknownSkillError, match="clinician mode"):
        PracticeFlow.for_plan(load_plans(tmp_path), "small_steps")


def test_practising_help_now_itself_offers_its_strategies(tmp_path: Path) -> None:
    flow = PracticeFlow.for_skill(load_skills(tmp_path), "help_now")
    flow.start(0.0)
    assert len(flow.state(0.0).strategies) >= 6
    events = flow.choose_strategy(1.0, "water")
    assert events[0].skill_id == "help_now" and events[0].detail == "water"


def test_flow_event_round_trip() -> None:
    flow = planned()
    flow.start(0.0)
    flow.help_now(1.0)
    flow.choose_strategy(2.0, "water")
    for event in flow.events:
        assert FlowEvent.from_dict(event.to_dict()) == event
