"""Whose session: an editable list of the people in the open library, a new name allowed.

The choice is never remembered between launches (another library, another client); it
starts empty, so a session is someone's only when the clinician says whose.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QComboBox, QCompleter, QWidget


class PersonBox(QComboBox):
    """An editable combo box of people's names (or codes), read like a line edit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)  # a new name joins when saved
        self.setAccessibleName("Person")
        self.setToolTip("Whose session: someone in this library, or type a new name or code")
        line = self.lineEdit()
        assert line is not None  # editable
        line.setPlaceholderText("person (name or code)")
        completer = self.completer()
        if completer is not None:
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setText("")

    def set_people(self, names: Iterable[str]) -> None:
        """List ``names`` (the library's people), keeping what is typed."""
        typed = self.text()
        self.blockSignals(True)
        self.clear()
        self.addItems(sorted(set(names), key=str.casefold))
        self.blockSignals(False)
        self.setText(typed)

    def people(self) -> list[str]:
        """The names listed."""
        return [self.itemText(i) for i in range(self.count())]

    def text(self) -> str:
        """The name as typed or chosen ("" for nobody)."""
        return self.currentText()

    def setText(self, name: str) -> None:
        """Show ``name`` ("" for nobody)."""
        self.setCurrentIndex(-1)
        self.setEditText(name)
