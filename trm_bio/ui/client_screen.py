"""Where the client view shows: on a chosen screen, full screen or in a window, remembered.

A clinician puts the client view on the screen the client faces (a second monitor, a
projector), full screen. The View menu lists the screens connected now; the choice and
full screen are kept in the settings and used again at the next launch, as long as that
screen is there (else the client view opens on the main window's screen). Esc on the
client view leaves full screen; F11, or the menu, enters it again. With one screen
all of this still works: the client view then covers that screen until Esc or Ctrl+K.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeyEvent, QKeySequence, QScreen
from PySide6.QtWidgets import QMenu

from trm_bio.ui.help_dialog import SHORTCUTS
from trm_bio.ui.menus import find_menu

if TYPE_CHECKING:
    from trm_bio.ui.group_window import GroupWindow
    from trm_bio.ui.main_window import MainWindow

log = logging.getLogger(__name__)

SCREEN_KEY = "client/screen"  # the chosen screen's name
FULL_KEY = "client/full_screen"


def screen_words(screen: QScreen, index: int) -> str:
    """A screen as the menu names it: number, name and size (``2: HDMI-1, 1920×1080``)."""
    size = screen.geometry().size()
    return f"{index + 1}: {screen.name() or 'screen'}, {size.width()}×{size.height()}"


class ClientPlacement(QObject):
    """Puts a window's client view (the main window's, the group window's) on its screen;
    see module doc."""

    def __init__(self, window: MainWindow | GroupWindow) -> None:
        super().__init__(window)
        self.window = window
        self.client = window.client
        self.q = window.settings.q
        self.menu = QMenu("Client view on screen", window)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.full_action = QAction("Client view full screen", window)
        self.full_action.setCheckable(True)
        self.full_action.setChecked(self.full_screen)
        # The key itself is the window's (help_dialog.SHORTCUTS); here it is only named.
        self.full_action.setShortcut(QKeySequence(SHORTCUTS["client_full_screen"][0]))
        self.full_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.full_action.setToolTip("Show the client view full screen (Esc on it leaves)")
        self.full_action.toggled.connect(self.set_full_screen)
        self.client.installEventFilter(self)
        self.fill_menu()
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.screenAdded.connect(lambda _: self.fill_menu())
            app.screenRemoved.connect(self._screen_removed)

    # -- settings -------------------------------------------------------------------------------
    @property
    def screen_name(self) -> str:
        return str(self.q.value(SCREEN_KEY, "") or "")

    @property
    def full_screen(self) -> bool:
        return self.q.value(FULL_KEY, False) in (True, "true")

    def chosen_screen(self) -> QScreen:
        """The chosen screen when it is connected, else the main window's."""
        for screen in QGuiApplication.screens():
            if screen.name() == self.screen_name:
                return screen
        return self.window.screen() or QGuiApplication.primaryScreen()

    # -- menu -----------------------------------------------------------------------------------
    def fill_menu(self) -> None:
        """One entry per connected screen, the chosen one checked."""
        self.menu.clear()
        for action in self.group.actions():
            self.group.removeAction(action)
        chosen = self.chosen_screen()
        for index, screen in enumerate(QGuiApplication.screens()):
            action = self.menu.addAction(screen_words(screen, index))
            action.setCheckable(True)
            action.setChecked(screen is chosen)
            action.setData(screen.name())
            action.triggered.connect(lambda _=False, s=screen: self.choose(s))
            self.group.addAction(action)

    def _screen_removed(self, screen: QScreen) -> None:
        # Qt moves a window off a screen that goes; the menu lists what is left.
        self.fill_menu()
        if self.client.isVisible():
            self.place()

    # -- placing --------------------------------------------------------------------------------
    def choose(self, screen: QScreen) -> None:
        """Show the client view on ``screen`` from now on (remembered)."""
        self.q.setValue(SCREEN_KEY, screen.name())
        for action in self.group.actions():
            action.setChecked(action.data() == screen.name())
        if self.client.isVisible():
            self.place()
        self.window.say(f"The client view shows on {screen.name() or 'that screen'}.")

    def set_full_screen(self, on: bool) -> None:
        """Full screen on the chosen screen, or a window there (remembered)."""
        self.q.setValue(FULL_KEY, bool(on))
        if self.full_action.isChecked() != on:
            self.full_action.setChecked(on)
        if self.client.isVisible():
            self.place()

    def show(self) -> None:
        """Show the client view where it was chosen to be."""
        self.place()

    def place(self) -> None:
        screen = self.chosen_screen()
        client = self.client
        area = screen.availableGeometry()
        if client.isFullScreen() and client.screen() is not screen:
            client.showNormal()  # a full-screen window moves to another screen from normal
        client.setScreen(screen)
        if not area.contains(client.frameGeometry().center()):
            size = client.size().boundedTo(area.size())
            client.setGeometry(
                area.x() + (area.width() - size.width()) // 2,
                area.y() + (area.height() - size.height()) // 2,
                size.width(),
                size.height(),
            )
        if self.full_screen:
            client.showFullScreen()
        else:
            client.showNormal()
        client.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.client
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and self.client.isFullScreen()
        ):
            self.set_full_screen(False)
            return True
        return False


def attach(window: MainWindow | GroupWindow) -> ClientPlacement:
    """Add the client view's placement to ``window`` and its entries to the View menu."""
    placement = ClientPlacement(window)
    menu = find_menu(window, "View")
    if menu is not None:
        menu.addSeparator()
        menu.addMenu(placement.menu)
        menu.addAction(placement.full_action)
    return placement
