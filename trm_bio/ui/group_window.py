"""The group window: a calm view of every participant of a group session, for the facilitator.

One tile per participant (:mod:`trm_bio.ui.group_tiles`): the label the facilitator chose,
the zone indicator and the strap's state; a strap that drops shows "reconnecting", greyed,
never a zone. Beside the tiles, the shared practice (the skills panel, driving every
participant's session in step through the :class:`~trm_bio.group.GroupController`) and
one-key logging: M logs a marker, Ctrl+1/2/3 a pleasant, neutral or unpleasant sensation,
for the whole group; a participant's number key (1-8), or a click on their tile, selects
them so that the next log is theirs alone (Esc: the whole group again). F6/F7/F8 log the
selected participant's own sense of their zone.

A timer drains every participant's source (``GroupController.poll``); the tiles are
updated when something came or a few times a second, and a tile repaints only when what it
shows changed. The group's client view (:mod:`trm_bio.ui.group_client`) follows. The
window computes nothing of its own and holds no source: a strap is connected anew by the
services (:meth:`~trm_bio.ui.services.GroupServices.reconnect_seat`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from trm_bio.controller import PracticeAction
from trm_bio.errors import TrmBioError
from trm_bio.group import Connection, GroupController
from trm_bio.ui import client_screen, theme
from trm_bio.ui.group_client import GroupClientWindow
from trm_bio.ui.group_tiles import CLIENT_LABELS, ParticipantTile, TileState, lay_out, tile_state
from trm_bio.ui.help_dialog import HelpDialog
from trm_bio.ui.live_plots import Marker
from trm_bio.ui.main_window import _Column, first_size
from trm_bio.ui.markers import prompt_at, replay_markers
from trm_bio.ui.questions import may_end
from trm_bio.ui.replay_bar import ReplayBar
from trm_bio.ui.reports import sentence
from trm_bio.ui.skills_panel import SkillsPanel
from trm_bio.ui.tracking_panel import VALENCE_KEYS
from trm_bio.zone_display import ZoneScale

if TYPE_CHECKING:
    from skills.flow import FlowEvent, FlowState
    from skills.model import PlanLibrary, SkillLibrary
    from trm_bio.history import SessionAnalysis
    from trm_bio.ui.services import GroupServices
    from trm_bio.ui.settings import Settings

log = logging.getLogger(__name__)

TICK_MS = 100  # drain cadence: a beat a second each; a tile is at most a tenth late
PANELS_MS = 500  # without new data, the tiles and the prompt refresh this often
NUMBERS_KEY = "group/numbers"  # HR and RMSSD small on the tiles (off by default)

#: The group window's keys: action id -> (key sequence, what it does). The practice keys
#: are the main window's; the digits choose a participant here, so the sensation keys are
#: the main window's digits with Ctrl.
GROUP_SHORTCUTS: dict[str, tuple[str, str]] = {
    "marker": ("M", "Log a marker (for the selected participant, else the whole group)"),
    "pleasant": ("Ctrl+1", "Log a pleasant sensation"),
    "neutral": ("Ctrl+2", "Log a neutral sensation"),
    "unpleasant": ("Ctrl+3", "Log an unpleasant sensation"),
    "zone_high": ("F6", "The selected participant senses the High Zone"),
    "zone_resilient": ("F7", "The selected participant senses the Resilient Zone"),
    "zone_low": ("F8", "The selected participant senses the Low Zone"),
    "whole_group": ("Esc", "The next log is for the whole group"),
    **{f"select_{n}": (str(n), f"The next log is for participant {n} only") for n in range(1, 9)},
    "begin": ("G", "Begin the chosen skill or plan"),
    "next": ("N", "Next step"),
    "previous": ("B", "Back a step"),
    "skip_step": ("S", "Skip this step"),
    "skip_skill": ("Shift+S", "Skip to the next skill"),
    "pause_practice": ("P", "Pause or resume the practice"),
    "help_now": ("H", "Help Now!"),
    "pause_session": ("Ctrl+P", "Pause or resume the group session"),
    "stop_session": ("Ctrl+E", "End the group session and see its summary"),
    "numbers": ("Ctrl+H", "Show or hide heart rate and RMSSD on the tiles"),
    "large_text": ("Ctrl+T", "Large text on or off"),
    "client_view": ("Ctrl+K", "Show or hide the group's client view"),
    "client_full_screen": ("F11", "Client view full screen on or off (Esc on it leaves)"),
    "play": ("Space", "Replay: play or pause"),
    "faster": ("+", "Replay: faster"),
    "slower": ("-", "Replay: slower"),
    "close": ("Ctrl+W", "Close the group window"),
    "help": ("F1", "This list"),
}


class GroupPractice:
    """The group's practice as the skills panel drives one session's (see
    :class:`~trm_bio.ui.skills_panel.Practice`): every action in every participant's
    session, in step."""

    def __init__(self, group: GroupController) -> None:
        self.group = group

    @property
    def session(self) -> object | None:
        members = self.group.members
        return members[0].session if members else None

    @property
    def skills(self) -> SkillLibrary:
        return self.group.skills

    @property
    def plans(self) -> PlanLibrary:
        return self.group.plans

    def start_skill(self, key: int | str) -> list[FlowEvent]:
        return self.group.start_skill(key)

    def start_plan(self, plan_id: str) -> list[FlowEvent]:
        return self.group.start_plan(plan_id)

    def flow_action(self, action: PracticeAction | str, *args: str) -> list[FlowEvent]:
        return self.group.flow_action(action, *args)

    def choose_strategy(self, strategy_id: str) -> list[FlowEvent]:
        return self.group.choose_strategy(strategy_id)

    def help_now(self) -> list[FlowEvent]:
        return self.group.help_now()

    def flow_state(self) -> FlowState | None:
        return self.group.flow_state()


class GroupWindow(QMainWindow):
    """See module doc. ``state`` is "idle", "live", "paused", "replay" or "ended"."""

    def __init__(
        self,
        group: GroupController,
        services: GroupServices,
        settings: Settings,
        *,
        tick_ms: int = TICK_MS,
    ) -> None:
        super().__init__()
        self.group = group
        self.services = services
        self.settings = settings
        self.state = "idle"
        self.group_id: int | None = None
        self.selected: int | None = None  # the seat the next log is for (None: everyone)
        self.tiles: list[ParticipantTile] = []
        #: Each tile's participant number (a replay's: their stored seat + 1; keys select it)
        self.seat_numbers: list[int] = []
        self.analysis: SessionAnalysis | None = None  # a replay's first session, analysed
        self.replay_markers: list[Marker] = []
        self._shown_errors: set[str] = set()
        self.last_redraw_ms = math.nan  # the last tile update's time (ms), for the benchmark
        self.scale = theme.TextScale(theme.LARGE_TEXT_FACTOR if settings.large_text else 1.0)
        self.zone_scale = ZoneScale(*services.band)
        self.numbers_visible = settings.q.value(NUMBERS_KEY, False) in (True, "true")
        self.setWindowTitle("Group session")
        self.practice = GroupPractice(group)
        self.client = GroupClientWindow(self.scale)
        self.client.set_short_prompts(group.skills.client_prompts())
        self._build()
        self._bind_actions()
        self.client_placement = client_screen.attach(self)
        # The projector's window takes the same keys, but Esc there leaves full screen.
        self.client.addActions(
            [a for name, a in self.shortcut_actions.items() if name != "whole_group"]
        )
        geometry = settings.geometry("group")
        if geometry is None or not self.restoreGeometry(geometry):
            self.setGeometry(first_size(self.screen().availableGeometry()))
        self._show_state()
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(tick_ms)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()
        self._panels = QElapsedTimer()
        self._panels.start()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 6)
        bar = QHBoxLayout()
        self.title = QLabel("Group session")
        self.title.setFont(theme.font(13, self.scale, bold=True))
        self.title.setMaximumWidth(420)
        self.mode_label = QLabel("")
        self.mode_label.setObjectName("muted")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume every participant's session (Ctrl+P)")
        self.pause_button.clicked.connect(self.pause_session)
        self.stop_button = QPushButton("End session")
        self.stop_button.setToolTip("End the group session and see its summary (Ctrl+E)")
        self.stop_button.clicked.connect(self.end_session)
        self.client_button = QPushButton("Client view")
        self.client_button.setToolTip("Show the group's calm view on a projector (Ctrl+K)")
        self.client_button.clicked.connect(self.toggle_client_view)
        bar.addWidget(self.title)
        bar.addWidget(self.mode_label, 1)
        for w in (self.client_button, self.pause_button, self.stop_button):
            bar.addWidget(w)
        outer.addLayout(bar)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        tiles = QWidget()
        self.grid = QGridLayout(tiles)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        self.tiles_area = tiles
        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(0, 0, 0, 0)
        self.skills = SkillsPanel(self.practice, self.scale)
        self.skills.message.connect(self.say)
        right_box.addWidget(self._logging_box())
        right_box.addWidget(self.skills, 1)
        self.right_column = _Column(right)
        splitter.addWidget(tiles)
        splitter.addWidget(self.right_column)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([960, 380])
        self.splitter = splitter
        outer.addWidget(splitter, 1)
        self.replay_bar = ReplayBar()
        self.replay_bar.play_toggled.connect(self.toggle_play)
        self.replay_bar.speed_chosen.connect(self.group.replay_set_speed)
        self.replay_bar.seek_requested.connect(self.seek)
        self.replay_bar.jump_requested.connect(self.jump)
        self.replay_bar.hide()
        outer.addWidget(self.replay_bar)
        self.setCentralWidget(central)

    def _logging_box(self) -> QGroupBox:
        box = QGroupBox("Log")
        layout = QVBoxLayout(box)
        self.for_label = QLabel("")
        self.for_label.setWordWrap(True)
        self.for_label.setAccessibleName("The next log is for")
        layout.addWidget(self.for_label)
        row = QHBoxLayout()
        self.marker_button = QPushButton("Marker (M)")
        self.marker_button.setToolTip("Log a marker now (M)")
        self.marker_button.clicked.connect(self.log_marker)
        row.addWidget(self.marker_button)
        self.whole_button = QPushButton("Whole group (Esc)")
        self.whole_button.setToolTip("The next log is for the whole group (Esc)")
        self.whole_button.clicked.connect(lambda: self.select(None))
        row.addWidget(self.whole_button)
        layout.addLayout(row)
        valences = QHBoxLayout()
        self.valence_buttons: dict[str, QPushButton] = {}
        for valence, key in VALENCE_KEYS:
            button = QPushButton(valence.capitalize())
            button.setStyleSheet(f"border-left: 6px solid {theme.VALENCE_COLOURS[valence]};")
            button.setToolTip(f"Log a {valence} sensation now (Ctrl+{key})")
            button.clicked.connect(lambda _=False, v=valence: self.log_sensation(v))
            valences.addWidget(button)
            self.valence_buttons[valence] = button
        layout.addLayout(valences)
        keys = QLabel(
            "Keys: M a marker, Ctrl+1/2/3 a sensation, a participant's number first for them "
            "alone, Esc for everyone; F1 lists them all."
        )
        keys.setObjectName("muted")
        keys.setWordWrap(True)
        layout.addWidget(keys)
        return box

    def _bind_actions(self) -> None:
        handlers = {
            "marker": self.log_marker,
            "pleasant": lambda: self.log_sensation("pleasant"),
            "neutral": lambda: self.log_sensation("neutral"),
            "unpleasant": lambda: self.log_sensation("unpleasant"),
            "zone_high": lambda: self.rate_zone("high"),
            "zone_resilient": lambda: self.rate_zone("resilient"),
            "zone_low": lambda: self.rate_zone("low"),
            "whole_group": lambda: self.select(None),
            **{f"select_{n}": self._selector(n) for n in range(1, 9)},
            "begin": self.skills.begin,
            "next": lambda: self.skills.act(PracticeAction.NEXT),
            "previous": lambda: self.skills.act(PracticeAction.PREVIOUS),
            "skip_step": lambda: self.skills.act(PracticeAction.SKIP_STEP),
            "skip_skill": lambda: self.skills.act(PracticeAction.SKIP_SKILL),
            "pause_practice": lambda: self.skills.act(PracticeAction.PAUSE),
            "help_now": self.skills.help_now,
            "pause_session": self.pause_session,
            "stop_session": self.end_session,
            "client_view": self.toggle_client_view,
            "client_full_screen": lambda: self.client_placement.full_action.toggle(),
            "play": self.toggle_play,
            "faster": lambda: self._step_speed(1),
            "slower": lambda: self._step_speed(-1),
            "close": self.close,
            "help": lambda: HelpDialog(self, GROUP_SHORTCUTS).exec(),
        }
        self.shortcut_actions: dict[str, QAction] = {}
        for name, (key, words) in GROUP_SHORTCUTS.items():
            action = QAction(words, self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if name == "numbers":
                action.setCheckable(True)
                action.setChecked(self.numbers_visible)
                action.toggled.connect(self.set_numbers_visible)
            elif name == "large_text":
                action.setCheckable(True)
                action.setChecked(bool(self.settings.large_text))
                action.toggled.connect(self.set_large_text)
            else:
                action.triggered.connect(handlers[name])
            self.addAction(action)
            self.shortcut_actions[name] = action
        menu = self.menuBar()
        session = menu.addMenu("&Session")
        for name in ("pause_session", "stop_session", "close"):
            session.addAction(self.shortcut_actions[name])
        practice = menu.addMenu("&Practice")
        for name in ("begin", "next", "previous", "skip_step", "skip_skill", "pause_practice",
                     "help_now"):
            practice.addAction(self.shortcut_actions[name])
        logging_menu = menu.addMenu("&Log")
        for name in ("marker", "pleasant", "neutral", "unpleasant", "zone_high",
                     "zone_resilient", "zone_low", "whole_group"):
            logging_menu.addAction(self.shortcut_actions[name])
        view = menu.addMenu("&View")
        view.addAction(self.shortcut_actions["numbers"])
        view.addAction(self.shortcut_actions["large_text"])
        view.addAction(self.shortcut_actions["client_view"])
        names = view.addMenu("Client view names the participants by")
        self.client_label_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for labels, words in zip(
            CLIENT_LABELS, ("Number (no names)", "Initials", "Name"), strict=True
        ):
            action = names.addAction(words)
            action.setCheckable(True)
            action.setChecked(labels == self.client.labels)
            action.triggered.connect(lambda _=False, v=labels: self.set_client_labels(v))
            group.addAction(action)
            self.client_label_actions[labels] = action
        replay = menu.addMenu("&Replay")
        for name in ("play", "faster", "slower"):
            replay.addAction(self.shortcut_actions[name])
        menu.addMenu("&Help").addAction(self.shortcut_actions["help"])

    # -- starting --------------------------------------------------------------------------
    def show_live(self, name: str = "") -> None:
        """Show the group session the controller has just started (recording)."""
        self.group_id = self.group.group_id
        self.state = "live"
        self.analysis = None
        self.replay_markers = []
        self._begin_tiles(len(self.group.members))
        self.title.setText(name or "Group session")
        self.replay_bar.hide()
        self.skills.set_read_only(False)
        self.skills.refresh_skills()
        self._show_state()
        self.refresh()
        self.say(
            f"Group session started with {len(self.tiles)} participants, recording. M marks "
            "a moment for everyone; a participant's number first marks it for them alone."
        )

    def open_replay(self, group_id: int, speed: float = 1.0) -> bool:
        """Replay a stored group session: every participant's tile as it was recorded."""
        if not self.may_end_recording(
            "A group session is being recorded. End it and save it to open the replay?",
            "End, save and replay",
            "Cancel",
        ):
            return False
        self._end_current()
        try:
            self.group.open_replay(group_id, speed)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return False
        self.group_id = group_id
        self.state = "replay"
        # Numbered by their stored seats, as the exports and reports number them (a
        # participant whose strap sent no beat left no session: the seats can be 0 and 2).
        self._begin_tiles(len(self.group.members), [seat + 1 for seat in self.group.seats])
        self.analysis = None
        self.replay_markers = []
        first = self.group.members[0].session_id if self.group.members else None
        if first is not None:
            try:
                self.analysis = self.services.analyse(first)
                self.replay_markers = replay_markers(self.analysis)
            except TrmBioError as exc:  # the tiles replay anyway; the prompts are left out
                self.say(sentence(str(exc)))
        status = self.group.replay_status()
        self.replay_bar.timeline.set_markers(
            self.replay_markers, status.end_s if status is not None else 1.0
        )
        self.replay_bar.set_speed(speed)
        self.replay_bar.show()
        self.skills.set_read_only(True)
        self.title.setText(f"Replay of group {group_id}")
        self._show_state()
        self.refresh()
        self.say(f"Replaying group {group_id}. Space plays or pauses.")
        return True

    def _begin_tiles(self, count: int, numbers: list[int] | None = None) -> None:
        self.selected = None
        self.set_client_labels(CLIENT_LABELS[0])  # a new group: no names on the projector
        self._shown_errors.clear()
        if numbers is None or len(numbers) != count:
            numbers = list(range(1, count + 1))
        self.seat_numbers = numbers
        self.tiles = [
            ParticipantTile(seat, self.scale, number=self.seat_numbers[seat])
            for seat in range(count)
        ]
        for tile in self.tiles:
            tile.band.set_band(self.zone_scale.low_edge, self.zone_scale.high_edge)
            tile.band.reduced_motion = bool(self.settings.reduced_motion)
            tile.clicked.connect(self._tile_clicked)
            tile.reconnect_requested.connect(self.reconnect)
        lay_out(self.grid, list(self.tiles))
        self.client.set_count(
            count, (self.zone_scale.low_edge, self.zone_scale.high_edge), self.seat_numbers
        )
        self.client.set_reduced_motion(bool(self.settings.reduced_motion))
        self._show_selection()

    # -- the frame ---------------------------------------------------------------------------
    def tick(self) -> None:
        """Drain every participant's source; refresh the tiles when something came."""
        if not self.group.running:
            return
        updates = self.group.poll()
        if any(updates) or self._panels.elapsed() >= PANELS_MS:
            self.refresh()

    def states(self) -> list[TileState]:
        """Every tile's state now, from the controller (ended: each as it last was)."""
        if not self.group.running:
            return [
                TileState(t.seat, t.state.label if t.state else "", Connection.ENDED,
                          words="session ended")
                for t in self.tiles
            ]
        return [tile_state(view, self.zone_scale) for view in self.group.views()]

    def refresh(self) -> None:
        """Tiles, prompt, replay position and the client view, each only where it changed."""
        self._panels.restart()
        started = time.perf_counter_ns()
        states = self.states()
        self.show_tiles(states)
        self.last_redraw_ms = (time.perf_counter_ns() - started) / 1e6
        replay = self.group.replay_status() if self.state == "replay" else None
        if replay is not None:
            prompt = self.current_prompt()
            if prompt != self.skills.prompt.text():
                self.skills.show_recorded_prompt(prompt, "Recorded prompt")
            self.replay_bar.show_position(
                replay.position_s, replay.end_s, replay.paused, finished=replay.finished
            )
        elif self.group.running:
            self.skills.show_flow(self.group.flow_state())
        for seat, error in self.group.member_errors():
            words = f"{self._label(seat)}: {error}"
            if words not in self._shown_errors:
                self._shown_errors.add(words)
                self.say(sentence(words))
        if self.client.isVisible():
            self.client.show_tiles(states)
            self.client.show_prompt(self.current_prompt())

    def show_tiles(self, states: list[TileState]) -> int:
        """Show each tile's state; how many tiles changed."""
        live = self.state == "live"
        changed = 0
        for tile, state in zip(self.tiles, states, strict=False):
            changed += tile.show_state(
                state,
                selected=tile.seat == self.selected,
                numbers=self.numbers_visible,
                reconnect=live,
            )
        return changed

    def current_prompt(self) -> str:
        """The shared prompt as it stands (replay: as it was at the replay's position)."""
        if self.state == "replay":
            status = self.group.replay_status()
            if self.analysis is None or status is None:
                return ""
            return prompt_at(self.analysis.events, status.position_s)
        state = self.group.flow_state() if self.group.running else None
        if state is None:
            return ""
        if state.strategy is not None and not state.done:
            return self.skills.strategy_text(state, with_how=False)
        return self.skills.prompt.text()

    # -- logging -------------------------------------------------------------------------------
    def select(self, seat: int | None) -> None:
        """The next log is for participant ``seat`` alone (None: the whole group)."""
        if seat is not None and not 0 <= seat < len(self.tiles):
            self.say(f"There is no participant {seat + 1} in this group.")
            return
        self.selected = seat
        self._show_selection()

    def _selector(self, number: int) -> Callable[[], None]:
        """Key ``number`` selects the participant shown with that number."""

        def select() -> None:
            if number in self.seat_numbers:
                self.select(self.seat_numbers.index(number))
            else:
                self.say(f"There is no participant {number} in this group.")

        return select

    def _tile_clicked(self, seat: int) -> None:
        self.select(None if self.selected == seat else seat)

    def _number(self, seat: int) -> int:
        """The number tile ``seat`` shows."""
        return self.seat_numbers[seat] if seat < len(self.seat_numbers) else seat + 1

    def _label(self, seat: int) -> str:
        participants = self.group.participants
        if seat < len(participants):
            return participants[seat].label
        return f"Participant {self._number(seat)}"

    def _show_selection(self) -> None:
        seat = self.selected
        if seat is None:
            self.for_label.setText("The next log is for the whole group.")
            self.for_label.setStyleSheet("")
        else:
            self.for_label.setText(
                f"The next log is for {self._number(seat)} · {self._label(seat)} only (Esc: "
                "the whole group)."
            )
            self.for_label.setStyleSheet(
                f"background: {theme.POSITION}; color: white; border-radius: 6px; padding: 4px;"
            )
        for tile in self.tiles:
            if tile.state is not None:
                tile.show_state(
                    tile.state,
                    selected=tile.seat == seat,
                    numbers=self.numbers_visible,
                    reconnect=tile.offer_reconnect,
                )

    def _log(self, what: str, act: Callable[[int | None], object]) -> None:
        """Log ``what`` through ``act(seat)`` for the selection; then the whole group again."""
        if self.state not in ("live", "paused"):
            self.say("Events are logged during a live group session.")
            return
        seat = self.selected
        try:
            act(seat)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return
        who = "the whole group" if seat is None else f"{self._label(seat)} only"
        self.say(f"Logged {what} for {who}.")
        if seat is not None:
            self.select(None)

    def log_marker(self) -> None:
        self._log("a marker", lambda seat: self.group.log_marker("marker", seat))

    def log_sensation(self, valence: str) -> None:
        article = "an" if valence[:1] in "aeiou" else "a"
        self._log(
            f"{article} {valence} sensation",
            lambda seat: self.group.log_sensation(valence, seat=seat),
        )

    def rate_zone(self, zone: str) -> None:
        """The selected participant's own sense of their zone (one person's, never the
        whole group's)."""
        chosen = self.selected
        if chosen is None:
            self.say("Choose the participant first (their number key), then their zone.")
            return
        self._log(
            f"the {zone} zone as sensed", lambda _: self.group.log_zone_rating(zone, chosen)
        )

    # -- the session -----------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.state in ("live", "paused")

    def _show_state(self) -> None:
        words = {
            "idle": "No group session",
            "live": "Recording every participant",
            "paused": "Paused: nothing is recorded",
            "replay": "Replaying a recorded group",
            "ended": "The group session ended",
        }[self.state]
        self.mode_label.setText(words)
        self.pause_button.setEnabled(self.recording)
        self.pause_button.setText("Resume" if self.state == "paused" else "Pause")
        self.stop_button.setEnabled(self.recording)
        for name in ("pause_session", "stop_session"):
            self.shortcut_actions[name].setEnabled(self.recording)
        live = self.recording
        for w in (self.marker_button, *self.valence_buttons.values()):
            w.setEnabled(live)

    def pause_session(self) -> None:
        """Pause or resume every participant's session (the tiles say "paused")."""
        if not self.recording:
            return
        self.tick()  # what came before the pause belongs to the session
        if self.state == "paused":
            self.group.resume_session()
            self.state = "live"
            self.say("The group session goes on. The pause shows as a gap for everyone.")
        else:
            self.group.pause_session()
            self.state = "paused"
            self.say("Paused: nothing is recorded and the practice waits. Ctrl+P goes on.")
        self._show_state()
        self.refresh()

    def end_session(self) -> None:
        """End the group session, asking first; then its summary."""
        if not self.recording:
            return
        self.may_end_recording(
            "End the group session? Every participant's session is saved.",
            "End and save",
            "Keep going",
        )

    def may_end_recording(self, question: str, end_words: str, keep_words: str) -> bool:
        """Ask before anything ends a recorded group session; True when it may go on.

        Not recording: True at once. Otherwise ``end_words`` ends and saves every
        participant's session (the group's summary shows) and returns True; ``keep_words``
        (or Escape) keeps recording and returns False.
        """
        if not self.recording:
            return True
        if not may_end(self, "End the group session?", question, end_words, keep_words):
            self.say("The group session goes on recording.")
            return False
        self.stop_session()
        return True

    def stop_session(self) -> list[int]:
        """End the recorded group session now (no question) and show its summary."""
        if not self.recording:
            return []
        self.tick()
        group_id = self.group_id
        kept = self.group.stop()
        error = self.group.error
        self.state = "ended"
        self._show_state()
        self.refresh()
        self.say(
            f"The group session ended; {len(kept)} participant session(s) were saved."
            + (f" {sentence(error)}" if error else "")
        )
        if kept and group_id is not None:
            self.services.show_group_summary(group_id)
        return kept

    def _end_current(self) -> None:
        if self.recording:
            self.stop_session()
        elif self.group.running:
            self.group.stop()  # a replay

    def reconnect(self, seat: int) -> None:
        """Connect participant ``seat``'s strap anew (their session goes on)."""
        if self.state != "live":
            self.say("A strap is connected anew during a live, unpaused group session.")
            return
        try:
            self.services.reconnect_seat(seat)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return
        self.say(f"Connecting {self._label(seat)}'s strap anew; their session goes on.")
        self.refresh()

    # -- replay ------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.state == "replay":
            self.group.replay_toggle()
            self.refresh()

    def seek(self, time_s: float) -> None:
        if self.state == "replay":
            self.group.replay_seek(time_s)
            self.refresh()

    def _step_speed(self, direction: int) -> None:
        if self.state == "replay":
            self.group.replay_set_speed(self.replay_bar.step_speed(direction))

    def jump(self, direction: int, kind: str) -> float | None:
        """Seek to the next (+1) or previous (-1) event or shift of the first participant."""
        status = self.group.replay_status()
        if status is None:
            return None
        wanted = [m.time_s for m in self.replay_markers if (m.kind == "shift") == (kind == "shift")]
        if direction > 0:
            later = [t for t in wanted if t > status.position_s + 0.5]
            target = min(later) if later else None
        else:
            earlier = [t for t in wanted if t < status.position_s - 2.0]
            target = max(earlier) if earlier else None
        if target is None:
            self.say(f"No further {kind} in this direction.")
            return None
        self.seek(target)
        return target

    # -- display ---------------------------------------------------------------------------------
    def set_numbers_visible(self, visible: bool) -> None:
        """Heart rate and RMSSD small on each tile (off by default; remembered)."""
        self.numbers_visible = visible
        self.settings.q.setValue(NUMBERS_KEY, bool(visible))
        self.show_tiles([t.state for t in self.tiles if t.state is not None])

    def set_large_text(self, large: bool) -> None:
        """Large text on or off, for the whole app as the main window does (remembered)."""
        self.settings.large_text = large
        self.scale = theme.TextScale(theme.LARGE_TEXT_FACTOR if large else 1.0)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, self.scale)
        self.title.setFont(theme.font(13, self.scale, bold=True))
        for tile in self.tiles:
            tile.set_scale(self.scale)
        self.skills.set_scale(self.scale)
        self.client.set_scale(self.scale)

    def set_client_labels(self, labels: str) -> None:
        """How the client view names participants: numbers, initials or names, for this
        group only (each group and replay starts with numbers: no names unless turned on)."""
        self.client.set_labels(labels)
        action = self.client_label_actions.get(labels)
        if action is not None and not action.isChecked():
            action.setChecked(True)

    def toggle_client_view(self) -> None:
        if self.client.isVisible():
            self.client.hide()
        else:
            self.client_placement.show()
            self.client.show_tiles(self.states())
            self.client.show_prompt(self.current_prompt())

    def say(self, words: str) -> None:
        self.statusBar().showMessage(words, 8000)

    # -- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing while recording asks first, as the main window does.
        if not self.may_end_recording(
            "A group session is being recorded. End it and save it before closing?",
            "End and save",
            "Keep going",
        ):
            event.ignore()
            return
        self.tick_timer.stop()
        if self.group.running:
            self.group.stop()  # a replay
        self.state = "idle"
        self.settings.set_geometry("group", self.saveGeometry())
        self.settings.sync()
        self.client.close()
        event.accept()

    def showEvent(self, event: QShowEvent) -> None:
        if not self.tick_timer.isActive():  # shown again after it was closed
            self.tick_timer.start()
        super().showEvent(event)
