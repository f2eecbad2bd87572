"""The practice flow: a pure state machine that walks through one skill or a session plan.

No Qt, no clock, no threads: every method takes ``now_s``, the time on the session's beat clock
(seconds from session start), which must never go backwards. Every transition returns the
:class:`FlowEvent` records it produced (also kept in :attr:`PracticeFlow.events`), for the
session to store beside the heartbeats.

Timing rules
------------
- A step with a suggested duration (a timed step) ends by itself once it has *run* for that
  long; a step without one waits for :meth:`PracticeFlow.next`.
- The step timer runs only while the flow is active, not paused and not in Help Now!.
- Timed transitions are dated at the moment they were due, not at the moment ``tick`` noticed
  them, so the events do not depend on how often ``tick`` is called. Every method first
  catches up with the timers up to ``now_s``, then does what it was asked.
- Navigating (next, previous, skip) while paused or in Help Now! resumes / returns first.

Help Now! is an interrupt: :meth:`PracticeFlow.help_now` can be called at any moment, records a
"helpnow" event, freezes the step timer and offers the Help Now! strategies;
:meth:`PracticeFlow.return_from_help_now` goes back to where the person was.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from skills.model import Plan, PlanLibrary, Skill, SkillLibrary, Step, Strategy

#: Every kind of FlowEvent, in the order they typically occur.
EVENT_KINDS: tuple[str, ...] = (
    "plan_started",
    "skill_started",
    "step_started",
    "step_finished",  # detail "timer" (time was up) or "next" (the person moved on)
    "step_skipped",
    "went_back",
    "paused",
    "resumed",
    "helpnow",
    "helpnow_strategy",  # detail is the strategy id
    "helpnow_returned",
    "skill_finished",
    "skill_skipped",
    "plan_finished",
    "stopped",
)

FlowStatus = Literal["ready", "running", "paused", "finished", "stopped"]


class FlowError(RuntimeError):
    """A flow method was called when it cannot apply (e.g. next before start) or time went back."""


@dataclass(frozen=True)
class FlowEvent:
    """One transition of the practice flow, on the beat clock.

    Attributes
    ----------
    time_s : float
        Beat-clock time of the transition, in seconds from session start.
    kind : str
        One of :data:`EVENT_KINDS`.
    skill_number, skill_id : int or None, str or None
        The skill the event belongs to (for Help Now! events: the interrupted skill).
    step_index : int or None
        Index of the step within the skill, from 0.
    prompt : str
        The step's prompt for step events, the strategy's prompt for "helpnow_strategy".
    plan_id : str or None
        The plan being practised, if any.
    position : int or None
        Index of the skill within the flow's sequence (a plan may repeat a skill).
    detail : str
        Extra words: the skill or plan name, why a step finished, the chosen strategy id.
    """

    time_s: float
    kind: str
    skill_number: int | None = None
    skill_id: str | None = None
    step_index: int | None = None
    prompt: str = ""
    plan_id: str | None = None
    position: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for storage (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowEvent:
        """The event stored by :meth:`to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class FlowState:
    """A snapshot of the flow at one moment (from :meth:`PracticeFlow.state`).

    ``remaining_s`` is the time left in a timed step (None for a manual step or when no step is
    current); ``elapsed_s`` is how long the current step has run (frozen time excluded).
    ``strategies`` holds the Help Now! strategies while in Help Now! (or the current skill's own
    strategies when practising Help Now! itself); ``strategy`` is the one of them the person
    chose last (None before a choice, and once they leave Help Now!).
    """

    status: FlowStatus
    skill: Skill | None
    position: int | None
    step_index: int | None
    step: Step | None
    remaining_s: float | None
    elapsed_s: float
    in_help_now: bool
    strategies: tuple[Strategy, ...]
    plan_id: str | None
    skill_count: int
    strategy: Strategy | None = None

    @property
    def prompt(self) -> str:
        """The current step's prompt ("" when no step is current)."""
        return self.step.prompt if self.step is not None else ""

    @property
    def paused(self) -> bool:
        return self.status == "paused"

    @property
    def finished(self) -> bool:
        """True once the last step of the last skill is done (not when stopped)."""
        return self.status == "finished"

    @property
    def stopped(self) -> bool:
        return self.status == "stopped"

    @property
    def done(self) -> bool:
        """True when finished or stopped: no more steps will come."""
        return self.status in ("finished", "stopped")


class PracticeFlow:
    """Runs one skill, or the skills of a plan one after another, step by step.

    Parameters
    ----------
    skills : sequence of Skill
        The skills to practise, in order (one for a single skill).
    help_now : Skill or None
        The Help Now! skill whose strategies the interrupt offers; None disables the interrupt.
    plan : Plan or None
        The plan the skills come from; adds "plan_started"/"plan_finished" events.
    """

    def __init__(
        self,
        skills: Sequence[Skill],
        *,
        help_now: Skill | None = None,
        plan: Plan | None = None,
    ) -> None:
        self._skills = tuple(skills)
        if not self._skills:
            raise FlowError("a practice flow needs at least one skill")
        for skill in self._skills:
            if not skill.steps:
                raise FlowError(f"skill {skill.number} ({skill.name}) has no steps to practise")
        self._help_now = help_now
        self._plan = plan
        self._status: Literal["ready", "active", "finished", "stopped"] = "ready"
        self._paused = False
        self._in_help_now = False
        self._strategy: Strategy | None = None  # the strategy chosen last (see FlowState)
        self._position = 0
        self._step_index = 0
        self._elapsed_before_s = 0.0  # step run time accumulated before the timer last started
        self._running_since_s: float | None = None  # None while the timer is frozen
        self._last_time_s = -math.inf
        self._events: list[FlowEvent] = []

    # -- construction from the libraries ---------------------------------------------------

    @classmethod
    def for_skill(cls, library: SkillLibrary, key: int | str) -> PracticeFlow:
        """A flow for one skill of the library (number or id), with the library's Help Now!."""
        return cls([library.get(key)], help_now=library.help_now)

    @classmethod
    def for_plan(cls, plans: PlanLibrary, plan_id: str) -> PracticeFlow:
        """A flow for a session plan, with the plan library's Help Now!."""
        plan = plans.get(plan_id)
        return cls(plans.skills_for(plan), help_now=plans.skill_library.help_now, plan=plan)

    # -- read-only views -------------------------------------------------------------------

    @property
    def skills(self) -> tuple[Skill, ...]:
        return self._skills

    @property
    def plan(self) -> Plan | None:
        return self._plan

    @property
    def events(self) -> tuple[FlowEvent, ...]:
        """Every event so far, in order."""
        return tuple(self._events)

    def state(self, now_s: float) -> FlowState:
        """The flow at ``now_s`` without advancing it (call :meth:`tick` first to advance)."""
        status: FlowStatus
        if self._status == "active":
            status = "paused" if self._paused else "running"
        else:
            status = self._status
        current = self._status in ("active", "ready")
        skill = self._skills[self._position] if current else None
        step = skill.steps[self._step_index] if skill is not None else None
        elapsed_s = self._elapsed_s(now_s) if self._status == "active" else 0.0
        remaining_s = None
        if step is not None and step.duration_s is not None:
            remaining_s = max(0.0, step.duration_s - elapsed_s)
        if self._in_help_now and self._help_now is not None:
            strategies = self._help_now.strategies
        else:
            strategies = skill.strategies if skill is not None else ()
        return FlowState(
            status=status,
            skill=skill,
            position=self._position if current else None,
            step_index=self._step_index if current else None,
            step=step,
            remaining_s=remaining_s,
            elapsed_s=elapsed_s,
            in_help_now=self._in_help_now,
            strategies=strategies,
            plan_id=self._plan.id if self._plan else None,
            skill_count=len(self._skills),
            # A strategy chosen in another skill's Help Now! is not this one's.
            strategy=self._strategy if self._strategy in strategies else None,
        )

    # -- transitions -----------------------------------------------------------------------

    def start(self, now_s: float) -> list[FlowEvent]:
        """Begin the first step of the first skill."""
        events = self._begin_call(now_s)
        if self._status != "ready":
            raise FlowError("the practice has already started")
        self._status = "active"
        if self._plan is not None:
            self._emit(events, now_s, "plan_started", detail=self._plan.name)
        self._start_skill(now_s, events)
        return events

    def tick(self, now_s: float) -> list[FlowEvent]:
        """Advance timed steps whose time is up by ``now_s``; manual steps keep waiting."""
        return self._begin_call(now_s)

    def next(self, now_s: float) -> list[FlowEvent]:
        """The person is done with this step: go to the next one (or the next skill)."""
        events = self._begin_navigation(now_s, "go to the next step")
        self._emit_step(events, now_s, "step_finished", detail="next")
        self._advance(now_s, events)
        return events

    def skip_step(self, now_s: float) -> list[FlowEvent]:
        """Leave this step out and go to the next one (or the next skill)."""
        events = self._begin_navigation(now_s, "skip a step")
        self._emit_step(events, now_s, "step_skipped")
        self._advance(now_s, events)
        return events

    def skip_skill(self, now_s: float) -> list[FlowEvent]:
        """Leave the rest of this skill out and go to the next skill of the plan (or finish)."""
        events = self._begin_navigation(now_s, "skip a skill")
        self._end_skill(now_s, events, "skill_skipped")
        return events

    def previous(self, now_s: float) -> list[FlowEvent]:
        """Go back one step; from a skill's first step, to the last step of the skill before.

        On the very first step, the step starts again from the beginning.
        """
        events = self._begin_navigation(now_s, "go back")
        self._emit_step(events, now_s, "went_back")
        if self._step_index > 0:
            self._step_index -= 1
        elif self._position > 0:
            self._position -= 1
            self._step_index = len(self._skills[self._position].steps) - 1
            self._emit_skill(events, now_s, "skill_started")
        self._start_step(now_s, events)
        return events

    def pause(self, now_s: float) -> list[FlowEvent]:
        """Freeze the step timer; does nothing if already paused."""
        events = self._begin_call(now_s)
        self._require_active("pause")
        if not self._paused:
            self._freeze(now_s)
            self._paused = True
            self._emit_step(events, now_s, "paused")
        return events

    def resume(self, now_s: float) -> list[FlowEvent]:
        """Let the step timer run again; does nothing if not paused."""
        events = self._begin_call(now_s)
        self._require_active("resume")
        if self._paused:
            self._paused = False
            self._thaw(now_s)
            self._emit_step(events, now_s, "resumed")
        return events

    def stop(self, now_s: float) -> list[FlowEvent]:
        """End the practice here; does nothing if it is already finished or stopped."""
        events = self._begin_call(now_s)
        if self._status in ("finished", "stopped"):
            return events
        self._freeze(now_s)
        if self._status == "active":
            self._emit_step(events, now_s, "stopped")
        else:
            self._emit(events, now_s, "stopped")
        self._status = "stopped"
        self._paused = False
        self._in_help_now = False
        return events

    def help_now(self, now_s: float) -> list[FlowEvent]:
        """Interrupt for Help Now!: freeze the step timer and offer the strategies.

        Allowed at any moment, from any skill; does nothing if already in Help Now!.
        """
        events = self._begin_call(now_s)
        if self._help_now is None:
            raise FlowError("Help Now! is not available: no Help Now! skill was loaded")
        if not self._in_help_now:
            self._freeze(now_s)
            self._in_help_now = True
            if self._status == "active":
                self._emit_step(events, now_s, "helpnow")
            else:
                self._emit(events, now_s, "helpnow")
        return events

    def choose_strategy(self, now_s: float, strategy_id: str) -> list[FlowEvent]:
        """Record that the person tries one Help Now! strategy (by id)."""
        events = self._begin_call(now_s)
        strategies = self.state(now_s).strategies
        if not strategies:
            raise FlowError("no Help Now! strategies are offered right now")
        chosen = next((s for s in strategies if s.id == strategy_id), None)
        if chosen is None:
            known = ", ".join(s.id for s in strategies)
            raise FlowError(f"there is no strategy {strategy_id!r}; the strategies are {known}")
        self._strategy = chosen
        if self._status == "active":
            self._emit_step(
                events, now_s, "helpnow_strategy", detail=chosen.id, prompt=chosen.prompt
            )
        else:
            self._emit(events, now_s, "helpnow_strategy", prompt=chosen.prompt, detail=chosen.id)
        return events

    def return_from_help_now(self, now_s: float) -> list[FlowEvent]:
        """Leave Help Now! and go back to the step (its timer runs on unless paused)."""
        events = self._begin_call(now_s)
        if self._in_help_now:
            self._in_help_now = False
            self._strategy = None
            self._thaw(now_s)
            if self._status == "active":
                self._emit_step(events, now_s, "helpnow_returned")
            else:
                self._emit(events, now_s, "helpnow_returned")
        return events

    # -- internals -------------------------------------------------------------------------

    def _begin_call(self, now_s: float) -> list[FlowEvent]:
        """Check the time and catch up with timed steps due by ``now_s``."""
        if isinstance(now_s, bool) or not isinstance(now_s, int | float) or not math.isfinite(
            now_s
        ):
            raise FlowError(f"the time must be a finite number of seconds, got {now_s!r}")
        if now_s < self._last_time_s:
            raise FlowError(
                f"the time went back from {self._last_time_s:g} s to {now_s:g} s"
            )
        self._last_time_s = float(now_s)
        events: list[FlowEvent] = []
        self._catch_up(float(now_s), events)
        return events

    def _begin_navigation(self, now_s: float, action: str) -> list[FlowEvent]:
        events = self._begin_call(now_s)
        self._require_active(action)
        if self._in_help_now:
            self._in_help_now = False
            self._strategy = None
            self._emit_step(events, now_s, "helpnow_returned")
        if self._paused:
            self._paused = False
            self._emit_step(events, now_s, "resumed")
        self._thaw(now_s)
        return events

    def _require_active(self, action: str) -> None:
        if self._status == "ready":
            raise FlowError(f"cannot {action}: the practice has not started")
        if self._status in ("finished", "stopped"):
            raise FlowError(f"cannot {action}: the practice has {self._status}")

    def _timer_runs(self) -> bool:
        return self._status == "active" and not self._paused and not self._in_help_now

    def _elapsed_s(self, now_s: float) -> float:
        running = now_s - self._running_since_s if self._running_since_s is not None else 0.0
        return self._elapsed_before_s + max(0.0, running)

    def _freeze(self, now_s: float) -> None:
        if self._running_since_s is not None:
            self._elapsed_before_s = self._elapsed_s(now_s)
            self._running_since_s = None

    def _thaw(self, now_s: float) -> None:
        if self._running_since_s is None and self._timer_runs():
            self._running_since_s = now_s

    def _catch_up(self, now_s: float, events: list[FlowEvent]) -> None:
        while self._timer_runs() and self._running_since_s is not None:
            step = self._skills[self._position].steps[self._step_index]
            if step.duration_s is None:
                return
            due_s = self._running_since_s + (step.duration_s - self._elapsed_before_s)
            if due_s > now_s:
                return
            self._emit_step(events, due_s, "step_finished", detail="timer")
            self._advance(due_s, events)

    def _start_skill(self, time_s: float, events: list[FlowEvent]) -> None:
        self._step_index = 0
        self._emit_skill(events, time_s, "skill_started")
        self._start_step(time_s, events)

    def _start_step(self, time_s: float, events: list[FlowEvent]) -> None:
        self._elapsed_before_s = 0.0
        self._running_since_s = time_s if self._timer_runs() else None
        self._emit_step(events, time_s, "step_started")

    def _advance(self, time_s: float, events: list[FlowEvent]) -> None:
        """The current step is over: start the next step, or end the skill."""
        if self._step_index + 1 < len(self._skills[self._position].steps):
            self._step_index += 1
            self._start_step(time_s, events)
        else:
            self._end_skill(time_s, events, "skill_finished")

    def _end_skill(self, time_s: float, events: list[FlowEvent], kind: str) -> None:
        self._emit_step(events, time_s, kind)
        if self._position + 1 < len(self._skills):
            self._position += 1
            self._start_skill(time_s, events)
            return
        self._status = "finished"
        self._running_since_s = None
        if self._plan is not None:
            self._emit(events, time_s, "plan_finished", detail=self._plan.name)

    def _emit(
        self,
        events: list[FlowEvent],
        time_s: float,
        kind: str,
        *,
        skill: Skill | None = None,
        step_index: int | None = None,
        prompt: str = "",
        detail: str = "",
    ) -> None:
        event = FlowEvent(
            time_s=float(time_s),
            kind=kind,
            skill_number=skill.number if skill else None,
            skill_id=skill.id if skill else None,
            step_index=step_index,
            prompt=prompt,
            plan_id=self._plan.id if self._plan else None,
            position=self._position if skill else None,
            detail=detail,
        )
        events.append(event)
        self._events.append(event)

    def _emit_skill(self, events: list[FlowEvent], time_s: float, kind: str) -> None:
        skill = self._skills[self._position]
        self._emit(events, time_s, kind, skill=skill, detail=skill.name)

    def _emit_step(
        self,
        events: list[FlowEvent],
        time_s: float,
        kind: str,
        *,
        detail: str = "",
        prompt: str | None = None,
    ) -> None:
        skill = self._skills[self._position]
        step = skill.steps[self._step_index]
        self._emit(
            events,
            time_s,
            kind,
            skill=skill,
            step_index=self._step_index,
            prompt=step.prompt if prompt is None else prompt,
            detail=detail,
        )
