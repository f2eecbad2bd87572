"""The keyboard shortcuts, in one table that the menus and the help screen share."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

#: action id -> (key sequence, what it does). The main window binds every one of them.
SHORTCUTS: dict[str, tuple[str, str]] = {
    "pleasant": ("1", "Log a pleasant sensation"),
    "neutral": ("2", "Log a neutral sensation"),
    "unpleasant": ("3", "Log an unpleasant sensation"),
    "commit": ("Return", "Log the sensation with its details"),
    "help_now": ("H", "Help Now!"),
    "begin": ("G", "Begin the chosen skill or plan"),
    "next": ("N", "Next step"),
    "previous": ("B", "Back a step"),
    "skip_step": ("S", "Skip this step"),
    "skip_skill": ("Shift+S", "Skip to the next skill"),
    "pause_practice": ("P", "Pause or resume the practice"),
    "marker": ("M", "Put a marker at this moment"),
    "zone_high": ("F6", "The person senses the High Zone"),
    "zone_resilient": ("F7", "The person senses the Resilient Zone"),
    "zone_low": ("F8", "The person senses the Low Zone"),
    "start_session": ("Ctrl+R", "Start recording a session"),
    "pause_session": ("Ctrl+P", "Pause or resume the session"),
    "stop_session": ("Ctrl+E", "End the session and see its summary"),
    "devices": ("Ctrl+D", "Choose a strap"),
    "disconnect": ("Ctrl+Shift+D", "Disconnect the strap"),
    "library": ("Ctrl+L", "Session library"),
    "history": ("Ctrl+Shift+H", "Progress across this person's sessions"),
    "client_view": ("Ctrl+K", "Show or hide the client view"),
    "client_full_screen": ("F11", "Client view full screen on or off (Esc on it leaves)"),
    "event_list": ("Ctrl+J", "Show or hide the event list"),
    "span_1": ("Ctrl+1", "Show the last minute"),
    "span_5": ("Ctrl+2", "Show the last 5 minutes"),
    "span_15": ("Ctrl+3", "Show the last 15 minutes"),
    "span_all": ("Ctrl+4", "Show the whole session"),
    "hide_numbers": ("Ctrl+H", "Hide or show numbers"),
    "large_text": ("Ctrl+T", "Large text on or off"),
    "reduced_motion": ("Ctrl+M", "Reduced motion on or off"),
    "play": ("Space", "Replay: play or pause"),
    "next_event": ("]", "Replay: jump to the next event"),
    "previous_event": ("[", "Replay: back to the previous event"),
    "next_shift": ("Shift+]", "Replay: jump to the next detected shift"),
    "faster": ("+", "Replay: faster"),
    "slower": ("-", "Replay: slower"),
    "help": ("F1", "This list"),
    "quit": ("Ctrl+Q", "Quit"),
}


class HelpDialog(QDialog):
    """The keys of a window: the main window's (:data:`SHORTCUTS`) unless given others."""

    def __init__(
        self, parent: QWidget | None = None, shortcuts: dict[str, tuple[str, str]] | None = None
    ) -> None:
        shortcuts = SHORTCUTS if shortcuts is None else shortcuts
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        box = QVBoxLayout(self)
        intro = QLabel("Every frequent action has a key. Keys for tracking work at any time.")
        intro.setWordWrap(True)
        box.addWidget(intro)
        self.table = QTableWidget(len(shortcuts), 2)
        self.table.setHorizontalHeaderLabels(("Key", "What it does"))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (key, words) in enumerate(shortcuts.values()):
            self.table.setItem(row, 0, QTableWidgetItem(key))
            self.table.setItem(row, 1, QTableWidgetItem(words))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.resizeColumnsToContents()
        box.addWidget(self.table)
        self.resize(520, 640)
