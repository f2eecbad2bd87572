"""The main window: live biofeedback beside the skills, sessions, replay, the client view.

One timer drives everything: each tick drains the source through the controller (``poll``),
passes the new events and shifts on as markers, and redraws once if anything changed (the
x range slides a few times a second otherwise). The window forwards input to the controller
and to the services the composition root gave it; it computes no metric: what it shows
comes from the controller (:meth:`~trm_bio.controller.SessionController.reading`, the
session's history, events and shifts).

Its modes and the moves between them are :mod:`trm_bio.ui.modes`; the summary and progress
dialogs and their reports are :mod:`trm_bio.ui.reports`.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QElapsedTimer, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from devices.packet import LinkState
from trm_bio.controller import PracticeAction, Reading, SessionController, SessionOptions
from trm_bio.core.events import SESSION_SOURCE
from trm_bio.core.norms import resting_norms
from trm_bio.errors import TrmBioError
from trm_bio.ui import client_screen, first_run, group_dialog, interrupted_notice, theme
from trm_bio.ui.baseline_panel import BaselinePanel, PopulationNorms, norms_from
from trm_bio.ui.client_view import ClientState, ClientWindow
from trm_bio.ui.devices_dialog import DevicesDialog
from trm_bio.ui.event_list import EventListDock
from trm_bio.ui.help_dialog import SHORTCUTS, HelpDialog
from trm_bio.ui.live_plots import LivePlots, Marker
from trm_bio.ui.markers import markers_for, prompt_at, replay_markers, shift_markers
from trm_bio.ui.modes import Mode, ModeMachine
from trm_bio.ui.pacer import PacerPanel, install_pacer_actions
from trm_bio.ui.person_box import PersonBox
from trm_bio.ui.questions import may_end
from trm_bio.ui.readouts import LINK_WORDS, Readings, ReadoutPanel
from trm_bio.ui.replay_bar import ReplayBar
from trm_bio.ui.reports import ReportDialogs, sentence
from trm_bio.ui.same import same
from trm_bio.ui.self_rating import SelfRatingDialog
from trm_bio.ui.services import AppServices, DeviceChoice
from trm_bio.ui.session_browser import SessionBrowser
from trm_bio.ui.settings import SPANS, TREND_CHOICES, Settings
from trm_bio.ui.skills_panel import SkillsPanel
from trm_bio.ui.tracking_panel import TrackingPanel
from trm_bio.ui.zone_widget import ZoneBandWidget
from trm_bio.zone_display import ZoneShown, settling_words, show_zone

if TYPE_CHECKING:
    from devices.packet import StatusEvent
    from trm_bio.history import SessionAnalysis
    from trm_bio.session import Session

log = logging.getLogger(__name__)

DESIGN_SIZE = QSize(1400, 860)  # px: the window's size where the screen has room for it
FRAME_MARGIN = QSize(16, 48)  # px: room left on the screen for the frame and title bar
COLUMN_MIN_HEIGHT = 120  # px: a side column scrolls rather than ask for more
TICK_MS = 25  # drain + redraw cadence: a beat reaches the screen within about one tick
SLIDE_MS = 200  # without new data, the time axis slides this often
PANELS_MS = 200  # without new data, the panels (step timer, readouts) refresh this often
MAX_TRENDS = 3
SETTLED_NOTE_S = 60.0  # how long a session says its baseline comes from earlier sessions (s)

_CALM_STATUS = {
    LinkState.RECONNECTING: "The strap's link dropped; reconnecting on its own. The gap will "
    "show on the plots.",
    LinkState.DISCONNECTED: "The strap is not connected just now.",
    LinkState.CONTACT_LOST: "The strap has lost skin contact; a little moisture on the "
    "electrodes helps.",
    LinkState.FAILED: "The strap could not be reached.",
}
#: A reconnecting strap's cause, when devices.ble gives one (StatusEvent details "cause").
_CALM_CAUSES = {
    "silent": "The strap went quiet although it is still connected; reconnecting on its own. "
    "The gap will show on the plots.",
    "failed attempt": "Connecting to the strap did not work this time; trying again on its own.",
}


class _Column(QScrollArea):
    """A side column: as wide as its content needs, as tall as there is room, scrolling
    down beyond (so its content never sets the window's height)."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:
        content = self.widget()
        width = content.minimumSizeHint().width() if content is not None else 0
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(width + bar, COLUMN_MIN_HEIGHT)


def first_size(available: QRect) -> QRect:
    """The window's place at first start on a screen's ``available`` geometry (px).

    As large as the design size (1400 x 860) where the screen has room, else the screen's
    room less a margin for the window frame and title bar.
    """
    width = min(DESIGN_SIZE.width(), available.width() - FRAME_MARGIN.width())
    height = min(DESIGN_SIZE.height(), available.height() - FRAME_MARGIN.height())
    x = available.x() + (available.width() - width) // 2
    y = available.y() + max(0, (available.height() - height - FRAME_MARGIN.height()) // 2)
    return QRect(x, y, width, height)


class MainWindow(QMainWindow):
    """See module doc."""

    def __init__(
        self,
        controller: SessionController,
        services: AppServices,
        settings: Settings,
        *,
        tick_ms: int = TICK_MS,
    ) -> None:
        super().__init__()
        self.built_ns = time.monotonic_ns()  # when the window began to be built
        self.controller = controller
        self.services = services
        self.settings = settings
        self.modes = ModeMachine()
        self.reports = ReportDialogs(services, self, self.say)
        self.start_rating: SelfRatingDialog | None = None
        self.device: DeviceChoice | None = None
        self.devices_dialog: DevicesDialog | None = None  # open: shows the strap's set-up
        self.analysis: SessionAnalysis | None = None  # the replayed session's analysis
        self.replay_markers: list[Marker] = []
        self._paused_at_s: float | None = None  # the frozen plot time while paused
        self._replay_note = ""  # the replay's latest link message (end, a recorded pause)
        self._events_seen = 0  # the session's events and shifts already marked
        self._shifts_seen = 0
        self._session_obj: Session | None = None
        self._dirty = True
        self._last_status: LinkState | None = None
        self._interrupted = False  # the strap's beats stopped after they had come
        self._streamed = False  # the strap's beats have come (since it was connected)
        self._shown_error: str | None = None
        self.scale = theme.TextScale(theme.LARGE_TEXT_FACTOR if settings.large_text else 1.0)
        self.setWindowTitle("trm-bio")
        self._build()
        self._bind_actions()
        install_pacer_actions(self)
        self.event_list = EventListDock.attach(self)
        self.client_placement = client_screen.attach(self)  # the client view's screen
        self.guide_action = first_run.attach(self)  # Help > Guide
        self.group_action = group_dialog.attach(self)  # Session > New group session…
        # Sessions found cut short when the library opened: said once, at the foot.
        self.interrupted_notice = interrupted_notice.attach(self)
        self.apply_display_settings()
        geometry = settings.geometry("main")
        if geometry is None or not self.restoreGeometry(geometry):
            self.setGeometry(first_size(self.screen().availableGeometry()))
        self.fit_to_screen()
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(tick_ms)
        self.tick_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()
        self._slide = QElapsedTimer()
        self._slide.start()
        self._panels = QElapsedTimer()
        self._panels.start()
        self.last_redraw_ms = math.nan

    def fit_to_screen(self) -> None:
        """Shrink the window to its screen's room (a geometry kept from a larger screen)."""
        room = self.screen().availableGeometry()
        if self.width() > room.width() or self.height() > room.height():
            self.setGeometry(first_size(room))

    @property
    def mode(self) -> Mode:
        return self.modes.mode

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        c = self.controller
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 6)
        bar = QHBoxLayout()
        self.device_label = QLabel("No strap")
        self.device_label.setObjectName("muted")
        # Long words (a strap's name, a mode) wrap rather than widen the window.
        self.device_label.setMaximumWidth(160)
        self.device_label.setWordWrap(True)
        self.device_button = QPushButton("Strap…")
        self.device_button.setToolTip("Scan for straps and connect (Ctrl+D)")
        self.device_button.clicked.connect(self.choose_device)
        # Whose session is chosen from the open library's people each time, never
        # remembered from an earlier launch (which may have been another library).
        self.person = PersonBox()
        self.person.setMinimumWidth(140)
        self.person.setMaximumWidth(260)
        self.person.set_people(self.services.people())
        self.settings.forget_person()
        self.notes = QLineEdit()
        self.notes.setPlaceholderText("notes for this session")
        self.start_button = QPushButton("Start session")
        self.start_button.setToolTip("Start recording a session (Ctrl+R)")
        self.start_button.clicked.connect(self.start_session)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume the session (Ctrl+P)")
        self.pause_button.clicked.connect(self.pause_session)
        self.stop_button = QPushButton("End session")
        self.stop_button.setToolTip("End the session and see its summary (Ctrl+E)")
        self.stop_button.clicked.connect(self.stop_session)
        self.mode_label = QLabel("")
        self.mode_label.setObjectName("muted")
        self.mode_label.setWordWrap(True)  # one line where there is room, two with large text
        self.span = QComboBox()
        for label in SPANS:
            self.span.addItem(label)
        self.span.setCurrentText(self.settings.span)
        self.span.currentTextChanged.connect(self.set_span)
        self.span.setToolTip("How much time the plots show (Ctrl+1 … Ctrl+4)")
        self.span.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.span.setMinimumContentsLength(6)
        for w in (self.device_button, self.device_label):
            bar.addWidget(w)
        bar.addSpacing(6)
        bar.addWidget(self.person, 1)
        bar.addWidget(self.notes, 2)
        for w in (self.start_button, self.pause_button, self.stop_button, self.mode_label):
            bar.addWidget(w)
        bar.addStretch(0)
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.span)
        outer.addLayout(bar)

        # The side columns scroll rather than set the window's minimum: the window fits a
        # laptop screen (1366 x 768, or 1920 x 1080 at 150 %) whatever they show, and
        # grows by itself never (Help Now!'s strategies, large text).
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        self.readouts = ReadoutPanel(self.scale)
        self.pacer = PacerPanel(
            c.now_s, self.say, track=getattr(self.services, "pacer_track", None),
            settings=self.settings.q,
        )
        self.zone_band = ZoneBandWidget()
        band_row = QHBoxLayout()
        band_row.addStretch(1)
        band_row.addWidget(self.zone_band)
        band_row.addStretch(1)
        band_row.addWidget(self.pacer.guide_view, 6)  # the breathing guide, while it is on
        self.baseline_panel = BaselinePanel()
        self.baseline_panel.set_norms(norms_from(resting_norms()))
        left_box.addWidget(self.readouts)
        left_box.addLayout(band_row, 1)
        left_box.addWidget(self.pacer)
        left_box.addWidget(self.baseline_panel)
        self.plots = LivePlots(self.settings.trends)
        # The settling-in invitation at the start of a session, above the plots (hidden
        # otherwise; the plots give it room, so the window needs no more height for it).
        self.settling = QLabel("")
        self.settling.setWordWrap(True)
        self.settling.setAccessibleName("Settling in")
        self.settling.setStyleSheet(
            f"background: {theme.BAND}; border-radius: 8px; padding: 6px 10px;"
        )
        self.settling.setVisible(False)
        middle = QWidget()
        middle_box = QVBoxLayout(middle)
        middle_box.setContentsMargins(0, 0, 0, 0)
        middle_box.addWidget(self.settling)
        middle_box.addWidget(self.plots, 1)
        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(0, 0, 0, 0)
        self.skills = SkillsPanel(c, self.scale)
        self.tracking = TrackingPanel(c, self.scale)
        # Equal shares, but the tracking takes no more than its rows use: the prompt gets the
        # rest.
        right_box.addWidget(self.skills, 1)
        right_box.addWidget(self.tracking, 1)
        self.left_column = _Column(left)
        self.right_column = _Column(right)
        splitter.addWidget(self.left_column)
        splitter.addWidget(middle)
        splitter.addWidget(self.right_column)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([235, 500, 585])  # the readouts whole beside a scroll bar
        self.splitter = splitter
        outer.addWidget(splitter, 1)
        self.replay_bar = ReplayBar()
        self.replay_bar.play_toggled.connect(self.toggle_play)
        self.replay_bar.speed_chosen.connect(self.set_replay_speed)
        self.replay_bar.seek_requested.connect(self.seek)
        self.replay_bar.jump_requested.connect(self.jump)
        self.replay_bar.hide()
        outer.addWidget(self.replay_bar)
        self.setCentralWidget(central)
        for panel in (self.skills, self.tracking):
            panel.message.connect(self.say)
        self.skills.flow_changed.connect(self._mark_dirty)
        self.tracking.logged.connect(self._mark_dirty)
        band = tuple(self.services.band)
        self.zone_band.set_band(*band)
        self.plots.set_band(*band)
        self.client = ClientWindow(self.scale)
        self.client.set_short_prompts(c.skills.client_prompts())
        self.client.set_band(*band)
        self.client.shape.guide = self.pacer.swell  # the client's shape follows the pacer
        self.plots.set_span(SPANS[self.settings.span])

    def _bind_actions(self) -> None:
        handlers = {
            "pleasant": lambda: self.tracking.notice("pleasant"),
            "neutral": lambda: self.tracking.notice("neutral"),
            "unpleasant": lambda: self.tracking.notice("unpleasant"),
            "commit": self.tracking.commit,
            "help_now": self.skills.help_now,
            "begin": self.skills.begin,
            "next": lambda: self.skills.act(PracticeAction.NEXT),
            "previous": lambda: self.skills.act(PracticeAction.PREVIOUS),
            "skip_step": lambda: self.skills.act(PracticeAction.SKIP_STEP),
            "skip_skill": lambda: self.skills.act(PracticeAction.SKIP_SKILL),
            "pause_practice": lambda: self.skills.act(PracticeAction.PAUSE),
            "marker": self.put_marker,
            "zone_high": lambda: self.tracking.rate_zone("high"),
            "zone_resilient": lambda: self.tracking.rate_zone("resilient"),
            "zone_low": lambda: self.tracking.rate_zone("low"),
            "start_session": self.start_session,
            "pause_session": self.pause_session,
            "stop_session": self.stop_session,
            "devices": self.choose_device,
            "disconnect": self.disconnect_strap,
            "library": self.open_library,
            "history": lambda: self.reports.show_history(self.person.text()),
            "client_view": self.toggle_client_view,
            "client_full_screen": lambda: self.client_placement.full_action.toggle(),
            "event_list": lambda: self.event_list.toggleViewAction().trigger(),
            "span_1": lambda: self.span.setCurrentText("1 min"),
            "span_5": lambda: self.span.setCurrentText("5 min"),
            "span_15": lambda: self.span.setCurrentText("15 min"),
            "span_all": lambda: self.span.setCurrentText("Whole session"),
            "hide_numbers": lambda: self.hide_numbers_action.toggle(),
            "large_text": lambda: self.large_text_action.toggle(),
            "reduced_motion": lambda: self.reduced_motion_action.toggle(),
            "play": self.toggle_play,
            "next_event": lambda: self.jump(1, "event"),
            "previous_event": lambda: self.jump(-1, "event"),
            "next_shift": lambda: self.jump(1, "shift"),
            "faster": lambda: self._step_speed(1),
            "slower": lambda: self._step_speed(-1),
            "help": self.show_help,
            "quit": self.close,
        }
        self.shortcut_actions: dict[str, QAction] = {}
        toggles = {"hide_numbers", "large_text", "reduced_motion"}
        for name, (key, words) in SHORTCUTS.items():
            action = QAction(words, self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if name in toggles:
                action.setCheckable(True)
            else:
                action.triggered.connect(handlers[name])
            self.addAction(action)
            self.shortcut_actions[name] = action
        self.hide_numbers_action: QAction = self.shortcut_actions["hide_numbers"]
        self.hide_numbers_action.setChecked(self.settings.hide_numbers)
        self.hide_numbers_action.toggled.connect(self.set_hide_numbers)
        self.large_text_action: QAction = self.shortcut_actions["large_text"]
        self.large_text_action.setChecked(self.settings.large_text)
        self.large_text_action.toggled.connect(self.set_large_text)
        self.reduced_motion_action: QAction = self.shortcut_actions["reduced_motion"]
        self.reduced_motion_action.setChecked(self.settings.reduced_motion)
        self.reduced_motion_action.toggled.connect(self.set_reduced_motion)
        # The client window is a window of its own: the same keys work there.
        self.client.addActions(list(self.shortcut_actions.values()))

        menu = self.menuBar()
        session = menu.addMenu("&Session")
        for name in (
            "devices",
            "disconnect",
            "start_session",
            "pause_session",
            "stop_session",
            "library",
            "history",
        ):
            session.addAction(self.shortcut_actions[name])
        self.back_to_live_action = session.addAction("Back to live", self.back_to_live)
        session.addSeparator()
        # A setting remembered between runs: other programs (e.g. a lab's recorder) may
        # take the session's beats, metrics and events from Lab Streaming Layer.
        self.lsl_action = session.addAction("Publish on Lab Streaming Layer")
        self.lsl_action.setCheckable(True)
        self.lsl_action.setToolTip(
            "Send beats, metrics, the zone indicator and events to research tools on the "
            "network (off by default)"
        )
        self.lsl_action.toggled.connect(self.set_lsl)
        if self.settings.lsl:
            self.lsl_action.setChecked(True)
        session.addSeparator()
        session.addAction(self.shortcut_actions["quit"])
        practice = menu.addMenu("&Practice")
        for name in (
            "begin",
            "next",
            "previous",
            "skip_step",
            "skip_skill",
            "pause_practice",
            "help_now",
            "pleasant",
            "neutral",
            "unpleasant",
            "commit",
            "zone_high",
            "zone_resilient",
            "zone_low",
            "marker",
        ):
            practice.addAction(self.shortcut_actions[name])
        practice.addSeparator()
        self.clinician_action = practice.addAction("Clinician mode (skills 7 to 9)")
        self.clinician_action.setCheckable(True)
        self.clinician_action.setChecked(bool(self.controller.clinician_mode))
        self.clinician_action.toggled.connect(self.set_clinician_mode)
        view = menu.addMenu("&View")
        for name in (
            "client_view",
            "span_1",
            "span_5",
            "span_15",
            "span_all",
            "hide_numbers",
            "large_text",
            "reduced_motion",
        ):
            view.addAction(self.shortcut_actions[name])
        self.client_numbers_action = view.addAction("Numbers on the client view")
        self.client_numbers_action.setCheckable(True)
        self.client_numbers_action.setChecked(self.settings.client_numbers)
        self.client_numbers_action.toggled.connect(self.set_client_numbers)
        trends = view.addMenu("Trends")
        self.trend_actions: dict[str, QAction] = {}
        for name in TREND_CHOICES:
            action = trends.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in self.settings.trends)
            action.toggled.connect(self._trends_changed)
            self.trend_actions[name] = action
        replay = menu.addMenu("&Replay")
        for name in ("play", "next_event", "previous_event", "next_shift", "faster", "slower"):
            replay.addAction(self.shortcut_actions[name])
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.shortcut_actions["help"])

    # -- display settings -----------------------------------------------------------------------
    def apply_display_settings(self) -> None:
        self.set_hide_numbers(self.settings.hide_numbers)
        self.set_reduced_motion(self.settings.reduced_motion)
        self.client.set_numbers_visible(self.settings.client_numbers)

    def set_hide_numbers(self, hidden: bool) -> None:
        self.settings.hide_numbers = hidden
        self.readouts.set_numbers_visible(not hidden)
        self.plots.set_numbers_visible(not hidden)

    def set_large_text(self, large: bool) -> None:
        self.settings.large_text = large
        self.scale = theme.TextScale(theme.LARGE_TEXT_FACTOR if large else 1.0)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, self.scale)
        for w in (self.readouts, self.skills, self.client):
            w.set_scale(self.scale)

    def set_reduced_motion(self, reduced: bool) -> None:
        self.settings.reduced_motion = reduced
        self.zone_band.reduced_motion = reduced
        self.client.set_reduced_motion(reduced)

    def set_client_numbers(self, shown: bool) -> None:
        self.settings.client_numbers = shown
        self.client.set_numbers_visible(shown)

    def set_span(self, label: str) -> None:
        if label in SPANS:
            self.settings.span = label
            self.plots.set_span(SPANS[label])
            self._dirty = True

    def _trends_changed(self) -> None:
        chosen = [n for n, a in self.trend_actions.items() if a.isChecked()][:MAX_TRENDS]
        if not chosen:
            chosen = ["RMSSD"]
        self.settings.trends = chosen
        self.plots.set_trends(chosen)
        self.plots.set_markers(self._all_markers())
        self._dirty = True

    def set_clinician_mode(self, on: bool) -> None:
        self.settings.clinician_mode = on
        self.controller.set_clinician_mode(on)
        self.skills.refresh_skills()

    def set_lsl(self, on: bool) -> None:
        """Publish sessions on Lab Streaming Layer, or stop; remembered between runs."""
        try:
            self.controller.enable_lsl(on)
        except TrmBioError as exc:
            self.settings.lsl = False
            self.lsl_action.blockSignals(True)
            self.lsl_action.setChecked(False)
            self.lsl_action.blockSignals(False)
            self.say(sentence(str(exc)))
            return
        self.settings.lsl = on
        self.say(
            "Sessions are published on Lab Streaming Layer from now on."
            if on
            else "Sessions are no longer published on Lab Streaming Layer."
        )

    def toggle_client_view(self) -> None:
        if self.client.isVisible():
            self.client.hide()
        else:
            self.client_placement.show()
            self._update_client()

    def show_help(self) -> None:
        HelpDialog(self).exec()

    def say(self, sentence: str) -> None:
        self.statusBar().showMessage(sentence, 8000)

    def put_marker(self) -> None:
        if self.controller.session is None or self.modes.enables.replay:
            return
        self.controller.log_marker("marker")
        self.say("Marked this moment.")
        self._dirty = True

    def _mark_dirty(self, *args: object) -> None:
        self._dirty = True

    # -- devices and sessions -------------------------------------------------------------------
    def choose_device(self) -> None:
        # Not modal: it stays open after Connect, showing the set-up step by step.
        if self.devices_dialog is not None:
            self.devices_dialog.close()
        self.devices_dialog = DevicesDialog(
            self.services, self.device, self, connect=self._connect_chosen
        )
        self.devices_dialog.show()

    def _connect_chosen(self, choice: DeviceChoice) -> None:
        """Connect the strap chosen in the dialog, asking first while a session records."""
        if self.may_end_recording(
            "A session is being recorded. End it and save it to connect another strap?",
            "End, save and connect",
            "Cancel",
        ):
            self.connect_device(choice)

    def connect_device(self, choice: DeviceChoice) -> None:
        """Show a strap live without recording (a preview)."""
        self._end_current()
        self.device = choice
        self.services.start_live(
            choice, SessionOptions(record=False, source_kind=choice.kind, device_name=choice.label)
        )
        self._enter_mode(Mode.PREVIEW)
        self.say(f"Connecting to the {choice.label}. Nothing is recorded until a session starts.")

    def disconnect_strap(self) -> None:
        if not self.may_end_recording(
            "A session is being recorded. End it and save it to disconnect the strap?",
            "End, save and disconnect",
            "Cancel",
        ):
            return
        self._end_current()
        self._enter_mode(Mode.IDLE)
        self.say("Disconnected. Choose a strap (Ctrl+D) to connect again.")

    def start_session(self) -> None:
        if self.modes.enables.recording:
            self.say("A session is already being recorded.")
            return
        if self.device is None:
            self.device = DeviceChoice("simulated")
        self._end_current()
        person = self.person.text().strip() or None
        self.pacer.use_person(getattr(self.services, "person_resonance_rate", None), person)
        self.services.start_live(
            self.device,
            SessionOptions(
                person=person,
                notes=self.notes.text().strip(),
                record=True,
                source_kind=self.device.kind,
                device_name=self.device.label,
            ),
        )
        self._enter_mode(Mode.RECORDING)
        self.say(
            "Session started and recording. Tracking keys: 1 pleasant, 2 neutral, 3 unpleasant."
        )
        self.ask_start_rating()

    def ask_start_rating(self) -> SelfRatingDialog:
        """Invite the person's own rating at the start (beside the window; skippable)."""
        if self.start_rating is not None:
            self.start_rating.close()
        dialog = self.start_rating = SelfRatingDialog("start", self)
        dialog.form.saved.connect(lambda distress, zone: self._log_start_rating(distress, zone))
        dialog.show()  # a transient window: it stays above this one
        self.activateWindow()  # the keyboard stays with the session (tracking keys, shortcuts)
        return dialog

    def _log_start_rating(self, distress: float | None, zone: str | None) -> None:
        dialog = self.start_rating
        try:
            self.controller.log_self_rating("start", distress, zone)
        except TrmBioError as exc:  # e.g. the session already ended
            if dialog is not None:
                dialog.form.message.setText(f"The rating was not saved: {sentence(str(exc))}")
            return
        self._dirty = True
        if dialog is not None:
            dialog.accept()
        self.say("Your rating at the start is saved with the session.")

    def pause_session(self) -> None:
        """Pause or resume the recorded session (see ``SessionController.pause_session``).

        While paused, beats are neither recorded nor shown and the practice waits; the
        plots hold still at the moment of the pause, and the pause shows as a gap after.
        """
        if not self.modes.enables.pause:
            return
        c = self.controller
        # Take in what the strap sent up to this moment first: before a pause it belongs
        # to the session; before a resume it came during the pause and is left out.
        self.tick()
        if self.mode is Mode.PAUSED:
            c.resume_session()
            self._paused_at_s = None
            self.modes.go(Mode.RECORDING)
            self._show_mode()
            self.say("The session goes on. The pause shows as a gap on the plots.")
        else:
            self._paused_at_s = c.now_s()
            c.pause_session()
            self.modes.go(Mode.PAUSED)
            self._show_mode()
            self.say(
                "Paused: nothing is recorded and the practice waits. Ctrl+P goes on when "
                "you are ready."
            )
        self._dirty = True

    def stop_session(self, *, reconnect: bool = True) -> int | None:
        """End the recorded session, show its summary, and keep the strap showing live.

        The next session starts clean: its notes and whose it is are chosen afresh.
        """
        if not self.modes.enables.stop:
            return None
        self.tracking.commit()
        session_id = self.controller.stop()
        error = self.controller.error  # e.g. no heartbeat arrived, so nothing was kept
        self._enter_mode(Mode.IDLE)
        self.notes.clear()
        self.person.set_people(self.services.people())
        self.person.setText("")
        if session_id is not None:
            self.reports.show_summary(session_id, just_ended=True)
        if reconnect and self.device is not None:
            self.connect_device(self.device)
        if error:
            self.say(error)  # after the reconnection's own sentence, which it would hide
        return session_id

    def may_end_recording(self, question: str, end_words: str, keep_words: str) -> bool:
        """Ask before anything ends a recorded session; True when it may go on.

        Not recording: True at once. Otherwise the person chooses: ``end_words`` ends
        and saves the session (its summary shows) and returns True; ``keep_words`` (or
        Escape) keeps recording and returns False.
        """
        if not self.modes.enables.recording:
            return True
        if not may_end(self, "End the session?", question, end_words, keep_words):
            self.say("The session goes on recording.")
            return False
        self.stop_session(reconnect=False)
        return True

    def make_browser(self) -> SessionBrowser:
        """The session library dialog, wired to replay, summary and report."""
        browser = SessionBrowser(self.services, self)
        browser.replay_requested.connect(self.open_replay)
        browser.summary_requested.connect(self.reports.show_summary)
        browser.report_requested.connect(self.reports.save_report_of)
        return browser

    def open_library(self) -> None:
        self.make_browser().exec()

    def open_replay(self, session_id: int, speed: float = 1.0) -> None:
        if not self.may_end_recording(
            "A session is being recorded. End it and save it to open the replay?",
            "End, save and replay",
            "Cancel",
        ):
            return
        self._end_current()
        try:
            self.analysis = analysis = self.services.analyse(session_id)
        except TrmBioError as exc:  # e.g. a damaged session: one sentence, no replay
            self.say(sentence(str(exc)))
            return
        self.controller.open_replay(session_id, speed)
        self.replay_markers = replay_markers(analysis)
        status = self.controller.replay_status()
        assert status is not None  # the replay was opened just above
        self.replay_bar.timeline.set_markers(self.replay_markers, status.end_s)
        self.replay_bar.set_speed(speed)
        self._enter_mode(Mode.REPLAY)
        # Whose session it was and its notes, shown read-only (see _show_mode).
        self.person.setText(analysis.info.person_name or "")
        self.notes.setText(analysis.info.notes or "")
        self.say(
            f"Replaying session {session_id}. Space plays or pauses; ] jumps to the next event."
        )

    def events_corrected(self, session_id: int) -> None:
        """A stored session's events were corrected: a replay of it shows them anew."""
        if self.mode is not Mode.REPLAY or self.analysis is None:
            return
        if self.analysis.info.id != session_id:
            return
        try:
            self.analysis = analysis = self.services.analyse(session_id)
        except TrmBioError as exc:
            self.say(sentence(str(exc)))
            return
        self.replay_markers = replay_markers(analysis)
        status = self.controller.replay_status()
        if status is not None:
            self.replay_bar.timeline.set_markers(self.replay_markers, status.end_s)
        self.plots.set_markers(self.replay_markers)
        self._dirty = True

    def back_to_live(self) -> None:
        if self.mode is not Mode.REPLAY:
            return
        self._end_current()
        if self.device is not None:
            self.connect_device(self.device)
        else:
            self._enter_mode(Mode.IDLE)

    def _end_current(self) -> None:
        if self.modes.enables.recording:
            self.stop_session_quietly()
        elif self.controller.session is not None:
            self.controller.stop()

    def stop_session_quietly(self) -> None:
        self.tracking.commit()
        self.controller.stop()

    def _enter_mode(self, mode: Mode) -> None:
        """Show a new session (or none) in ``mode``: fresh markers, panels and buttons."""
        was_replay = self.modes.enables.replay
        replay = self.modes.go(mode).replay
        if was_replay:  # the replayed session's person and notes are not the next one's
            self.person.setText("")
            self.notes.clear()
        self._events_seen = self._shifts_seen = 0
        self._session_obj = None
        self._last_status = None
        self._streamed = self._interrupted = False  # a new source: nothing came yet
        self._paused_at_s = None
        self._replay_note = ""
        self._dirty = True
        self.replay_bar.setVisible(replay)
        self.skills.set_read_only(replay)
        self.tracking.set_read_only(replay)
        self.back_to_live_action.setEnabled(replay)
        self._show_mode()
        self.plots.set_markers(self.replay_markers if replay else [])
        self.device_label.setText(
            self.device.label
            if self.device is not None and not replay
            else ("Recorded session" if replay else "No strap")
        )
        session = self.controller.session
        self.plots.set_history(session.history if session is not None else None)
        self.skills.show_flow(None)
        if mode is Mode.IDLE:
            self.readouts.set_readings(Readings())
            self.zone_band.set_reading(ZoneShown())
            self.settling.setVisible(False)
            self.plots.redraw(0.0)

    def _show_mode(self) -> None:
        """The session buttons and the mode's words, as the current mode offers them."""
        offers = self.modes.enables
        self.start_button.setEnabled(offers.start)
        self.pause_button.setEnabled(offers.pause)
        self.pause_button.setText(offers.pause_words)
        self.stop_button.setEnabled(offers.stop)
        self.mode_label.setText(offers.label)
        # The menus and keys offer what the buttons offer (none of it during a replay).
        self.shortcut_actions["start_session"].setEnabled(offers.start)
        self.shortcut_actions["pause_session"].setEnabled(offers.pause)
        self.shortcut_actions["stop_session"].setEnabled(offers.stop)
        # A replayed session's person and notes are the recording's: shown, not edited.
        self.person.setEnabled(not offers.replay)
        self.notes.setReadOnly(offers.replay)

    def _all_markers(self) -> list[Marker]:
        if self.modes.enables.replay:
            return list(self.replay_markers)
        session = self.controller.session
        if session is None:
            return []
        return markers_for(session.events) + shift_markers(
            (found.event, found.shift) for found in session.shifts
        )

    def _mark_new(self, session: Session) -> None:
        """Mark the live session's events and measured shifts not marked yet."""
        events = session.events[self._events_seen :]
        shifts = session.shifts[self._shifts_seen :]
        if events or shifts:
            self._dirty = True
            self._events_seen = len(session.events)
            self._shifts_seen = len(session.shifts)
            self.plots.add_markers(
                markers_for(events) + shift_markers((f.event, f.shift) for f in shifts)
            )

    # -- replay controls ------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.controller.is_replay:
            self.controller.replay_toggle()  # at the end, play means from the start
            self._dirty = True

    def set_replay_speed(self, speed: float) -> None:
        self.controller.replay_set_speed(speed)

    def _step_speed(self, direction: int) -> None:
        if self.controller.is_replay:
            self.set_replay_speed(self.replay_bar.step_speed(direction))

    def seek(self, time_s: float) -> None:
        if self.controller.is_replay:
            self.controller.replay_seek(time_s)
            self._dirty = True

    def jump(self, direction: int, kind: str) -> float | None:
        """Seek to the next (+1) or previous (-1) event or shift; returns its time."""
        replay = self.controller.replay_status()
        if replay is None:
            return None
        position = replay.position_s
        wanted = [m.time_s for m in self.replay_markers if (m.kind == "shift") == (kind == "shift")]
        if direction > 0:
            later = [t for t in wanted if t > position + 0.5]
            target = min(later) if later else None
        else:
            earlier = [t for t in wanted if t < position - 2.0]
            target = max(earlier) if earlier else None
        if target is None:
            self.say(f"No further {kind} in this direction.")
            return None
        self.seek(target)
        return target

    # -- the frame ---------------------------------------------------------------------------------
    def tick(self) -> None:
        """Drain, mark, and redraw once if anything changed (see module doc)."""
        c = self.controller
        session = c.session
        if session is None:
            return
        update = c.poll()
        session = c.session
        if session is None:
            return
        if session is not self._session_obj:
            self._session_obj = session
            self._dirty = True
        if update:
            self._dirty = True
        for status in update.status:
            self._on_status(status)
        if self.modes.enables.live:
            self._mark_new(session)
        if c.error and c.error != self._shown_error:
            self._shown_error = c.error
            self.say(c.error)
        now_s = c.now_s() if self._paused_at_s is None else self._paused_at_s
        changed = self._dirty
        if changed or self._slide.elapsed() >= SLIDE_MS:
            self.redraw(now_s)
        # Most ticks bring nothing new (beats come about once a second): the panels then
        # refresh only a few times a second, which keeps the app's CPU low.
        if changed or self._panels.elapsed() >= PANELS_MS:
            self._panels.restart()
            self._update_panels(now_s)

    def redraw(self, now_s: float) -> None:
        session = self.controller.session
        if session is None:
            return
        timer = QElapsedTimer()
        timer.start()
        self.plots.set_history(session.history)
        self.plots.redraw(now_s)
        c = self.controller
        self.plots.strap.show_signals(c.ecg_window(10.0), c.breathing_window(60.0))
        self._dirty = False
        self._slide.restart()
        self.last_redraw_ms = timer.nsecsElapsed() / 1e6

    def _on_status(self, status: StatusEvent) -> None:
        state = status.state
        if self.modes.enables.replay:
            # A recording's link changes show on its timeline, not as news; the replay's
            # own end is said once.
            self._replay_note = status.message
            if str(status.source_id).startswith("replay:") and state is LinkState.DISCONNECTED:
                self.say("The replay reached the end. Space plays it again from the start.")
            return
        if status.source_id == SESSION_SOURCE:
            return  # the session's own pause: said when the button was pressed
        if self.devices_dialog is not None and self.devices_dialog.isVisible():
            source = self.controller.source
            offers = source.offers if source is not None else frozenset()
            self.devices_dialog.show_status(status, offers)
        cause = status.details.get("cause")
        if state is LinkState.RECONNECTING and cause in _CALM_CAUSES:
            self.say(_CALM_CAUSES[cause])
        elif state in _CALM_STATUS:
            self.say(_CALM_STATUS[state])
        elif state is LinkState.STREAMING and self._interrupted:
            # "again" only after beats had come and stopped, never at a fresh start.
            self.say("Beats are arriving again.")
        if state is LinkState.STREAMING:
            self._interrupted = False
        elif state in _CALM_STATUS:
            self._interrupted = self._interrupted or self._streamed
        self._streamed = self._streamed or state is LinkState.STREAMING
        self._last_status = state

    def readings_of(self, reading: Reading) -> Readings:
        """What the readout panel shows of the controller's reading."""
        return Readings(
            hr_bpm=reading.hr_bpm,
            respiration_bpm=reading.respiration_bpm,
            coherence=reading.coherence,
            rmssd_ms=reading.rmssd_ms,
            artifact_rate=reading.artifact_rate,
            battery_percent=reading.battery_percent,
            link_state=reading.link,
            paused=reading.paused,
            zone=self.zone_of(reading),
            rhythm=reading.rhythm,
            hrv_shown=reading.hrv_shown,
            settling=reading.settling,
        )

    def zone_of(self, reading: Reading) -> ZoneShown:
        """The zone as every screen shows it (the indicator, the label, the client's bar)."""
        reason = reading.zone_reason
        if not reason and not reading.calibrating and self.controller.session is not None:
            reason = "There is no zone reading just now."
        return show_zone(
            reading.zone,
            arousal=reading.arousal,
            lowness=reading.lowness,
            tentative=reading.tentative,
            reason=reason,
            calibrating=reading.calibrating,
            scale=self.zone_band.scale,
        )

    def set_population_norms(self, norms: PopulationNorms | None) -> None:
        """Population values shown beside the own baseline, for orientation (None: none)."""
        self.baseline_panel.set_norms(norms)

    def settling_of(self, reading: Reading, *, for_client: bool, practising: bool = False) -> str:
        """The settling-in words for now ("" outside a recorded session's start);
        ``practising``: a skill's prompt shows beside them (see :func:`settling_words`)."""
        if not self.modes.enables.recording:
            return ""
        if not reading.calibrating and self.controller.now_s() > SETTLED_NOTE_S:
            return ""  # the note on a baseline from earlier sessions stays a minute
        return settling_words(
            reading.calibrating,
            reading.calibration_left_s,
            reading.baseline_source,
            for_client=for_client,
            practising=practising,
        )

    def current_prompt(self) -> str:
        if self.modes.enables.replay:
            status = self.controller.replay_status()
            if self.analysis is None or status is None:
                return ""
            return prompt_at(self.analysis.events, status.position_s)
        state = self.controller.flow_state()
        if state is not None and state.strategy is not None and not state.done:
            # The client's screen: the chosen strategy and its invitation, in words large
            # enough to read across a room (the main window adds how to try it).
            return self.skills.strategy_text(state, with_how=False)
        return self.skills.prompt.text() if state is not None else ""

    def _update_panels(self, now_s: float) -> None:
        reading = self.controller.reading()
        readings = self.readings_of(reading)
        if not same(readings, self.readouts.readings):
            self.readouts.set_readings(readings)
        in_replay = self.modes.enables.replay
        link = readings.link_state
        broken = link is LinkState.RECONNECTING or link is LinkState.DISCONNECTED
        if link is not None and broken and not readings.paused and not in_replay:
            self.readouts.link.setText(LINK_WORDS[link])
        self.zone_band.set_reading(readings.zone)
        settling = self.settling_of(reading, for_client=False)
        if settling != self.settling.text():
            self.settling.setText(settling)
        self.settling.setVisible(bool(settling))
        self._show_baseline(reading)
        replay = self.controller.replay_status() if in_replay else None
        if replay is not None:
            prompt = self.current_prompt()
            if prompt != self.skills.prompt.text():
                self.skills.show_recorded_prompt(prompt, "Recorded prompt")
            self.replay_bar.show_position(
                replay.position_s, replay.end_s, replay.paused, finished=replay.finished
            )
            note = "The replay reached the end." if replay.finished else self._replay_note
            self.readouts.link.setText(note or "Replaying a recorded session")
        else:
            self.skills.show_flow(self.controller.flow_state())
        self.pacer.follow_session(self, now_s, reading)
        self._update_client(reading)

    def _show_baseline(self, reading: Reading) -> None:
        baseline = self.controller.baseline()
        if baseline is None:
            self.baseline_panel.show_baseline(math.nan, math.nan, "")
        else:
            self.baseline_panel.show_baseline(
                baseline.hr_bpm, baseline.rmssd_ms, reading.baseline_source or baseline.source
            )

    def _update_client(self, reading: Reading | None = None) -> None:
        if not self.client.isVisible():
            return
        readings = self.readouts.readings
        if reading is None:
            reading = self.controller.reading()
        prompt = self.current_prompt()
        self.client.show_state(
            ClientState(
                reading=self.zone_band.reading,
                prompt=prompt,
                settling=self.settling_of(reading, for_client=True, practising=bool(prompt)),
                respiration_bpm=readings.respiration_bpm,
                hr_bpm=readings.hr_bpm,
            )
        )

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing while recording asks first (Alt+F4, Ctrl+Q, the title bar's button);
        # an ended session's summary shows before the window goes.
        recording = self.modes.enables.recording
        if not self.may_end_recording(
            "A session is being recorded. End it and save it before closing?",
            "End and save",
            "Keep going",
        ):
            event.ignore()
            return
        summary = self.reports.summary_dialog
        if recording and summary is not None and summary.isVisible():
            summary.hide()  # shown again as a modal dialog: the window waits for it
            summary.exec()
        # Whatever still runs (a preview, a replay) ends; a recording was kept above.
        self.tick_timer.stop()
        self._end_current()
        self.settings.set_geometry("main", self.saveGeometry())
        self.settings.sync()
        self.client.close()
        event.accept()
