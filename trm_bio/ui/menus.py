"""Finding a menu of the main window by its title, for the parts that add their entries."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMenu


def find_menu(window: QMainWindow, title: str) -> QMenu | None:
    """The menu of ``window``'s menu bar titled ``title`` (without its ``&``), or None."""
    for entry in window.menuBar().actions():
        menu = entry.menu()
        if entry.text().replace("&", "") == title and isinstance(menu, QMenu):
            return menu
    return None
