"""The skills panel: choose a skill or a plan, the prompt large and calm, steps, a timer,
and Help Now! one key away.

It forwards every action to the session controller and shows the flow's state; it keeps no
state of its own beyond what is on screen. Clinician-only skills appear only in clinician
mode because the controller's skill library hides them otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from skills.model import HELP_NOW_ID
from trm_bio.controller import PracticeAction
from trm_bio.ui import theme

PROMPT_MIN_HEIGHT = 130  # px: four lines; a longer prompt scrolls, never clips
STRATEGIES_MAX_HEIGHT = 150  # px: Help Now!'s strategies scroll beyond this, never grow the window

if TYPE_CHECKING:
    from skills.flow import FlowEvent, FlowState
    from skills.model import PlanLibrary, SkillLibrary, Strategy


class Practice(Protocol):
    """What the panel drives: one session's practice (the session controller), or a
    group's, kept in step across the participants (:class:`trm_bio.group.GroupController`
    through the group window)."""

    @property
    def session(self) -> object | None: ...  # None while nothing runs

    @property
    def skills(self) -> SkillLibrary: ...

    @property
    def plans(self) -> PlanLibrary: ...

    def start_skill(self, key: int | str) -> list[FlowEvent]: ...

    def start_plan(self, plan_id: str) -> list[FlowEvent]: ...

    def flow_action(self, action: PracticeAction | str, *args: str) -> list[FlowEvent]: ...

    def choose_strategy(self, strategy_id: str) -> list[FlowEvent]: ...

    def help_now(self) -> list[FlowEvent]: ...

    def flow_state(self) -> FlowState | None: ...


class SkillsPanel(QGroupBox):
    """Skill / plan chooser, prompt, step controls, timer, Help Now!."""

    message = Signal(str)  # a calm sentence for the status bar
    flow_changed = Signal()

    def __init__(
        self, controller: Practice, scale: theme.TextScale, parent: QWidget | None = None
    ):
        super().__init__("Practice", parent)
        self.controller = controller
        self.read_only = False
        box = QVBoxLayout(self)
        theme.compact(box)
        row = QHBoxLayout()
        self.chooser = QComboBox()
        self.chooser.setAccessibleName("Skill or plan")
        self.start_button = QPushButton("Begin")
        self.start_button.setToolTip("Begin the chosen skill or plan (G)")
        self.start_button.clicked.connect(self.begin)
        row.addWidget(self.chooser, 1)
        row.addWidget(self.start_button)
        box.addLayout(row)
        self.where = QLabel("Choose a skill or a plan when you are ready.")
        self.where.setObjectName("muted")
        self.where.setWordWrap(True)
        # Where the practice is and the step's time share a row above the prompt: the
        # prompt keeps the room, and the timer is never under it.
        status_row = QHBoxLayout()
        status_row.addWidget(self.where, 1)
        box.addLayout(status_row)
        self.prompt = QLabel("")
        self.prompt.setWordWrap(True)
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.prompt.setStyleSheet(f"background: {theme.BACKGROUND}; padding: 10px;")
        # The prompt wraps to the panel's width and the area scrolls when the text is
        # taller than the room left: a long prompt or large text is never cut off, never
        # covers the timer, and never makes the window grow.
        page = QWidget()
        page.setStyleSheet(f"background: {theme.BACKGROUND};")
        page_box = QVBoxLayout(page)
        page_box.setContentsMargins(0, 0, 0, 0)
        page_box.addWidget(self.prompt)
        page_box.addStretch(1)
        self.prompt_area = QScrollArea()
        self.prompt_area.setWidget(page)
        self.prompt_area.setWidgetResizable(True)
        self.prompt_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.prompt_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.prompt_area.setMinimumHeight(PROMPT_MIN_HEIGHT)
        self.prompt_area.setStyleSheet(
            f"QScrollArea {{ background: {theme.BACKGROUND}; border-radius: 10px; }}"
        )
        box.addWidget(self.prompt_area, 1)
        self.timer = QLabel("")
        self.timer.setObjectName("muted")
        self.timer.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        status_row.addWidget(self.timer)
        grid = QGridLayout()
        grid.setSpacing(theme.PANEL_SPACING)
        self.buttons: dict[PracticeAction, QPushButton] = {}
        for index, (action, text, tip) in enumerate(
            (
                (PracticeAction.PREVIOUS, "◀ Back", "Go back a step (B)"),
                (PracticeAction.NEXT, "Next ▶", "Move on to the next step (N)"),
                (PracticeAction.SKIP_STEP, "Skip step", "Skip this step (S)"),
                (PracticeAction.SKIP_SKILL, "Skip skill", "Skip to the next skill (Shift+S)"),
                (PracticeAction.PAUSE, "Pause", "Pause or resume the practice (P)"),
                (PracticeAction.STOP, "End practice", "End the practice here"),
            )
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, a=action: self.act(a))
            grid.addWidget(button, index // 3, index % 3)
            self.buttons[action] = button
        # Help Now! stands beside the step buttons, as tall as their two rows: as easy to
        # find, and the row it had is the room that lets the tracking below fit a laptop
        # screen unscrolled.
        self.helpnow = QPushButton("Help Now!\n(H)")
        self.helpnow.setObjectName("helpnow")
        self.helpnow.setToolTip("Quick sensory strategies for a hard moment (H)")
        self.helpnow.clicked.connect(self.help_now)
        self.helpnow.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        grid.addWidget(self.helpnow, 0, 3, 2, 1)
        box.addLayout(grid)
        strategy_page = QWidget()
        self.strategy_layout = QGridLayout(strategy_page)
        self.strategy_layout.setContentsMargins(0, 0, 0, 0)
        # Twelve strategies would make the panel, and so the window, taller than a laptop
        # screen: they scroll within a bounded area instead.
        self.strategy_box = QScrollArea()
        self.strategy_box.setWidget(strategy_page)
        self.strategy_box.setWidgetResizable(True)
        self.strategy_box.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strategy_box.setFrameShape(QScrollArea.Shape.NoFrame)
        self.strategy_box.setMaximumHeight(STRATEGIES_MAX_HEIGHT)
        self.strategy_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        box.addWidget(self.strategy_box)
        self.strategy_box.hide()
        self.strategy_buttons: dict[str, QPushButton] = {}
        self._strategy_ids: tuple[str, ...] = ()
        self._shown: tuple[Any, ...] = ()
        self.set_scale(scale)
        self.refresh_skills()
        self.show_flow(None)

    def set_scale(self, scale: theme.TextScale) -> None:
        self.prompt.setFont(theme.font(17, scale))
        self.timer.setFont(theme.font(12, scale))

    def refresh_skills(self) -> None:
        """Fill the chooser from the controller (after a clinician-mode change)."""
        current = self.chooser.currentData()
        self.chooser.clear()
        for skill in self.controller.skills:
            suffix = "  (with a therapist)" if skill.clinician_only else ""
            self.chooser.addItem(f"{skill.number}. {skill.name}{suffix}", f"skill:{skill.id}")
        self.chooser.insertSeparator(self.chooser.count())
        for plan in self.controller.plans:
            self.chooser.addItem(f"Plan: {plan.name}", f"plan:{plan.id}")
        index = self.chooser.findData(current) if current is not None else -1
        self.chooser.setCurrentIndex(max(index, 0))

    def select(self, kind: str, key: str) -> bool:
        """Choose a skill (``kind="skill"``) or a plan by id; False when it is not offered."""
        index = self.chooser.findData(f"{kind}:{key}")
        if index >= 0:
            self.chooser.setCurrentIndex(index)
        return index >= 0

    def set_read_only(self, read_only: bool) -> None:
        """Replay: the prompts are shown, the controls are not offered."""
        self.read_only = read_only
        for w in (self.chooser, self.start_button, self.helpnow, *self.buttons.values()):
            w.setEnabled(not read_only)
        self.strategy_box.setVisible(False)

    # -- actions -------------------------------------------------------------------------
    def begin(self) -> None:
        data = self.chooser.currentData()
        if not data or self.controller.session is None or self.read_only:
            self.message.emit("Connect a strap first; then a skill can begin.")
            return
        kind, key = str(data).split(":", 1)
        if kind == "skill":
            self.controller.start_skill(key)
        else:
            self.controller.start_plan(key)
        self.show_flow(self.controller.flow_state())
        self.flow_changed.emit()

    def act(self, action: PracticeAction) -> None:
        """Take ``action`` in the running practice (pause resumes a paused one)."""
        state = self._running()
        if state is None:
            return
        if action is PracticeAction.PAUSE and state.paused:
            action = PracticeAction.RESUME
        self._forward(lambda: self.controller.flow_action(action))

    def choose_strategy(self, strategy_id: str) -> None:
        """Take one of Help Now!'s strategies (by id)."""
        if self._running() is not None:
            self._forward(lambda: self.controller.choose_strategy(strategy_id))

    def _running(self) -> FlowState | None:
        """The running practice's state (None, with a sentence, when none runs)."""
        if self.read_only:
            return None
        state = self.controller.flow_state()
        if state is None or state.done:
            self.message.emit("No practice is running; choose a skill and press Begin.")
            return None
        return state

    def _forward(self, call: Callable[[], object]) -> None:
        try:
            call()
        except Exception as exc:  # FlowError and TrmBioError: a sentence, not a traceback
            self.message.emit(str(exc).capitalize())
            return
        self.show_flow(self.controller.flow_state())
        self.flow_changed.emit()

    def help_now(self) -> None:
        if self.read_only or self.controller.session is None:
            return
        self.controller.help_now()
        self.message.emit("Help Now!: pick anything that might help, at your own pace.")
        self.show_flow(self.controller.flow_state())
        self.flow_changed.emit()

    def _back_from_help_now(self) -> None:
        self.act(PracticeAction.RETURN_FROM_HELP_NOW)

    # -- display -------------------------------------------------------------------------
    def show_flow(self, state: FlowState | None) -> None:
        """Show a FlowState (None: nothing running). Cheap when nothing changed."""
        if state is None:
            key: tuple[Any, ...] = (None,)
        else:
            remaining = state.remaining_s
            key = (
                state.status,
                state.position,
                state.step_index,
                state.in_help_now,
                None if remaining is None else math.ceil(remaining),
                len(state.strategies),
                state.strategy.id if state.strategy is not None else None,
            )
        if key == self._shown:
            return
        self._shown = key
        if state is None or state.skill is None:
            self.where.setText("Choose a skill or a plan when you are ready.")
            self.prompt.setText("")
            self.timer.setText("")
            self._set_strategies(())
            return
        skill = state.skill
        of_skills = (
            f" · skill {state.position + 1} of {state.skill_count}"
            if state.skill_count > 1 and state.position is not None
            else ""
        )
        step = (
            f" · step {state.step_index + 1} of {len(skill.steps)}"
            if state.step_index is not None
            else ""
        )
        status = {"paused": " · paused", "finished": " · finished", "stopped": " · ended"}.get(
            state.status, ""
        )
        self.where.setText(f"{skill.name}{of_skills}{step}{status}")
        if state.done:
            self.prompt.setText("Thank you. You might take a moment to notice how you are now.")
        elif state.strategy is not None:
            self.prompt.setText(self.strategy_text(state))
        elif state.in_help_now:
            self.prompt.setText(
                "Help Now!  Choose anything that might help right now. There is no hurry."
            )
        else:
            self.prompt.setText(state.prompt)
        if state.remaining_s is not None and not state.done:
            total = math.ceil(state.remaining_s)
            self.timer.setText(f"{total // 60}:{total % 60:02d} left in this step")
        elif state.step is not None and not state.done:
            self.timer.setText("Move on when you are ready.")
        else:
            self.timer.setText("")
        self.buttons[PracticeAction.PAUSE].setText("Resume" if state.paused else "Pause")
        self._set_strategies(state.strategies if (state.in_help_now or skill.strategies) else ())
        for strategy_id, button in self.strategy_buttons.items():
            button.setChecked(state.strategy is not None and state.strategy.id == strategy_id)

    def strategy_text(self, state: FlowState, *, with_how: bool = True) -> str:
        """The chosen Help Now! strategy as the prompt: its name, what to do, and how.

        The words are the skills': the strategy's own invitation, then (``with_how``; in
        the Help Now! interrupt) the Help Now! skill's step for trying a strategy, or else
        the step the person is on while practising Help Now! itself.
        """
        strategy = state.strategy
        assert strategy is not None
        if not with_how:
            how = ""
        elif state.in_help_now:
            skill = next((s for s in self.controller.skills if s.id == HELP_NOW_ID), None)
            steps = skill.steps if skill is not None else ()
            how = next((step.prompt for step in steps if step.id == "try"), "")
        else:
            how = state.prompt
        return "\n\n".join(part for part in (strategy.name, strategy.prompt, how) if part)

    def _set_strategies(self, strategies: tuple[Strategy, ...]) -> None:
        ids = tuple(s.id for s in strategies)
        if ids == self._strategy_ids:
            return
        self._strategy_ids = ids
        while self.strategy_layout.count():
            item = self.strategy_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.strategy_buttons = {}
        for index, strategy in enumerate(strategies):
            button = QPushButton(strategy.name)
            button.setToolTip(strategy.prompt)
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, s=strategy.id: self.choose_strategy(s))
            self.strategy_layout.addWidget(button, index // 2, index % 2)
            self.strategy_buttons[strategy.id] = button
        if strategies:
            back = QPushButton("Back to where I was")
            back.clicked.connect(self._back_from_help_now)
            self.strategy_layout.addWidget(back, (len(strategies) + 1) // 2, 0, 1, 2)
        self.strategy_box.setVisible(bool(strategies) and not self.read_only)

    def show_recorded_prompt(self, prompt: str, where: str) -> None:
        """Replay: the prompt that was showing at the replay position."""
        self._shown = ("replay", prompt)
        self.prompt.setText(prompt)
        self.where.setText(where)
        self.timer.setText("")
