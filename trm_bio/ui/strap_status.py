"""A strap's connection step by step, and what it offers, shown while it connects.

Setting up a strap is where people struggle most: the panel lists the set-up steps
(connected, services read, waiting for beats, beats arriving) with the current one
highlighted and the done ones ticked, says in plain words what helps at that step, and shows
each thing a strap can offer (HR, RR, ECG, ACC) with its state. It is drawn from the
source's :class:`~devices.packet.StatusEvent` details (documented in :mod:`devices.packet`);
a source that reports no steps (the simulated strap, an LSL stream) shows its link state,
and what it offers as "unknown" while its ``offers`` is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from devices.packet import OFFERS, SETUP_STEPS, LinkState, StatusEvent
from trm_bio.ui import theme

STEP_WORDS = {
    "connected": "Connected",
    "services read": "Services read",
    "waiting for beats": "Waiting for beats",
    "beats arriving": "Beats arriving",
}

#: What helps at each step, in plain words (None: no link yet).
STEP_HINTS: dict[str | None, str] = {
    None: "Looking for the strap. Wear it, or touch its electrodes with moist fingers: most "
    "straps only wake up on skin.",
    "connected": "Connected. Reading what the strap offers (heart rate, battery, ECG).",
    "services read": "Turning on the strap's heart-rate stream.",
    "waiting for beats": "Moisten the strap's electrodes and fasten it snugly below the chest "
    "muscles; beats usually arrive within 10–20 s.",
    "beats arriving": "Beats are arriving. This window can be closed; the strap goes on streaming.",
}

#: A link state's own hint; it replaces the step's.
STATE_HINTS = {
    LinkState.CONTACT_LOST: "The strap has lost skin contact: moisten its electrodes and "
    "fasten it snugly below the chest muscles.",
    LinkState.RECONNECTING: "The link went; reconnecting on its own. Keep the strap within a "
    "few metres of this computer.",
    LinkState.FAILED: "Check that the strap is worn and switched on, then press Connect again.",
    LinkState.DISCONNECTED: "The strap is not connected.",
}

#: Said beside the step's hint while a raw stream is in that state.
RAW_HINTS = {
    ("ECG", "waiting"): "ECG can take 20–30 s to start on a Polar H10.",
    ("ECG", "stalled"): "ECG frames stopped; the heart rate goes on without them.",
    ("ACC", "stalled"): "Accelerometer frames stopped; the heart rate goes on without them.",
}

CAPABILITY_WORDS = {
    "HR": "Heart rate",
    "RR": "Beat-to-beat intervals",
    "ECG": "Electrocardiogram",
    "ACC": "Chest movement (breathing)",
}

#: Badge colours: calm ones throughout (a strap's trouble is never drawn as an alarm).
_BADGE_COLOURS = {
    "arriving": theme.BAND,
    "offered": theme.LOW_SIDE,
    "starting": theme.LOW_SIDE,
    "waiting": theme.LOW_SIDE,
    "stalled": theme.HIGH_SIDE,
    "refused": theme.HIGH_SIDE,
    "failed": theme.HIGH_SIDE,
}
_BROKEN = (LinkState.SCANNING, LinkState.CONNECTING, LinkState.RECONNECTING)
_ENDED = (LinkState.DISCONNECTED, LinkState.FAILED)
_RAW_KEYS = {"ECG": "ecg", "ACC": "acc"}
_TROUBLE = ("refused", "failed", "stalled")


@dataclass
class StrapSetup:
    """What the status events so far say about one strap's connection.

    Attributes
    ----------
    state : LinkState or None
        The latest link state.
    step : str or None
        The current set-up step, one of :data:`devices.packet.SETUP_STEPS` (None: no link).
    stepwise : bool
        The source reports its steps (a Bluetooth strap); others are read from link states.
    offers : frozenset of str
        What the strap is known to offer (empty: not known).
    raw : dict of str to str
        ``"ECG"`` and ``"ACC"`` stream states, as ``details["ecg"]``/``["acc"]`` say them.
    reasons : dict of str to str
        The sentence that put a capability in trouble (refused, failed, stalled).
    message : str
        The latest sentence from the source.
    """

    state: LinkState | None = None
    step: str | None = None
    stepwise: bool = False
    offers: frozenset[str] = frozenset()
    raw: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    message: str = ""

    def update(self, status: StatusEvent, offers: frozenset[str] = frozenset()) -> None:
        """Take in one status event; ``offers`` is the source's own (it may know more)."""
        details = status.details
        self.state = status.state
        if status.message:
            self.message = status.message
        if status.state in _BROKEN:
            # A new connection starts from its first step and reports afresh.
            self.step = None
            self.raw.clear()
            self.reasons.clear()
        elif "step" in details:
            self.stepwise = True
            self.step = details["step"] if details["step"] in SETUP_STEPS else self.step
        elif not self.stepwise and status.state is LinkState.CONNECTED:
            self.step = "connected"
        elif not self.stepwise and status.state is LinkState.STREAMING:
            self.step = "beats arriving"  # a source without steps streams what it has
        if status.state in _ENDED:
            self.step = None
        listed = frozenset(n for n in details.get("offers", "").split(",") if n in OFFERS)
        self.offers = self.offers | listed | frozenset(offers)
        for name, key in _RAW_KEYS.items():
            if key not in details:
                continue
            state = details[key]
            if state in _TROUBLE and self.raw.get(name) != state:
                self.reasons[name] = status.message
            elif state not in _TROUBLE:
                self.reasons.pop(name, None)
            self.raw[name] = state

    def capability(self, name: str) -> str:
        """The state of one of :data:`devices.packet.OFFERS` in words (see the module doc)."""
        if name in self.raw:
            return self.raw[name]
        flowing = self.step == "beats arriving" and self.state not in _ENDED
        if name in self.offers:
            return "arriving" if flowing and name in ("HR", "RR") else "offered"
        if name == "RR" and self.stepwise and self.step is not None:
            return "waiting"  # a strap's RR is known when the first arrives
        if self.offers and not self.stepwise:
            return "not offered"
        return "unknown"


class StrapStatusPanel(QGroupBox):
    """The set-up steps, a hint, and the capability rows of the strap being connected."""

    #: The current step changed (a name of SETUP_STEPS, or "" when there is no link).
    step_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Connection", parent)
        self.setup = StrapSetup()
        box = QVBoxLayout(self)
        self.headline = QLabel("")
        self.headline.setWordWrap(True)
        box.addWidget(self.headline)
        self.step_rows: dict[str, QLabel] = {}
        for step in SETUP_STEPS:
            row = QLabel()
            self.step_rows[step] = row
            box.addWidget(row)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setObjectName("muted")
        box.addWidget(self.hint)
        grid = QGridLayout()
        grid.setColumnStretch(2, 1)
        self.badges: dict[str, QLabel] = {}
        self.notes: dict[str, QLabel] = {}
        for row_index, name in enumerate(OFFERS):
            grid.addWidget(QLabel(f"{name}  {CAPABILITY_WORDS[name]}"), row_index, 0)
            badge = QLabel()
            self.badges[name] = badge
            grid.addWidget(badge, row_index, 1)
            note = QLabel("")
            note.setWordWrap(True)
            note.setObjectName("muted")
            self.notes[name] = note
            grid.addWidget(note, row_index, 2)
        box.addLayout(grid)
        self._shown_step: str | None = None
        self._draw()

    @property
    def current_step(self) -> str | None:
        """The step highlighted now (None: no link)."""
        return self.setup.step

    def begin(self, label: str) -> None:
        """Start over for a new connection to the strap named ``label``."""
        self.setup = StrapSetup(message=f"Connecting to the {label}.")
        self._draw()

    def show_status(self, status: StatusEvent, offers: frozenset[str] = frozenset()) -> None:
        """Take in one of the source's status events (``offers``: the source's own)."""
        self.setup.update(status, offers)
        self._draw()

    def _draw(self) -> None:
        setup = self.setup
        self.headline.setText(setup.message)
        current = SETUP_STEPS.index(setup.step) if setup.step is not None else -1
        for index, (step, row) in enumerate(self.step_rows.items()):
            words = STEP_WORDS[step]
            if index == current:
                mark = "✓" if step == SETUP_STEPS[-1] else "▸"
                row.setText(f"{mark}  {words}")
                row.setProperty("step_state", "current")
                row.setStyleSheet(
                    f"background: {theme.LOW_SIDE}; color: {theme.TEXT}; font-weight: bold; "
                    "border-radius: 4px; padding: 2px 6px;"
                )
            elif index < current:
                row.setText(f"✓  {words}")
                row.setProperty("step_state", "done")
                row.setStyleSheet(f"color: {theme.TEXT}; padding: 2px 6px;")
            else:
                row.setText(f"○  {words}")
                row.setProperty("step_state", "pending")
                row.setStyleSheet(f"color: {theme.MUTED_TEXT}; padding: 2px 6px;")
        state_hint = STATE_HINTS.get(setup.state) if setup.state is not None else None
        hints = [state_hint or STEP_HINTS[setup.step]]
        for name in _RAW_KEYS:
            extra = RAW_HINTS.get((name, setup.raw.get(name, "")))
            if extra:
                hints.append(extra)
        self.hint.setText(" ".join(hints))
        for name, badge in self.badges.items():
            state = setup.capability(name)
            badge.setText(state)
            colour = _BADGE_COLOURS.get(state, theme.UNKNOWN_ZONE)
            badge.setStyleSheet(
                f"background: {colour}; color: {theme.TEXT}; border-radius: 8px; padding: 1px 8px;"
            )
            self.notes[name].setText(setup.reasons.get(name, ""))
        if setup.step != self._shown_step:
            self._shown_step = setup.step
            self.step_changed.emit(setup.step or "")
