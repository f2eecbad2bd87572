"""The one question asked before anything ends a recording (the session or group window)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def may_end(parent: QWidget, title: str, question: str, end_words: str, keep_words: str) -> bool:
    """Ask ``question``; True when the person chose ``end_words``.

    ``keep_words`` is the default and what Escape answers: nothing ends by a slip.
    """
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(question)
    end = box.addButton(end_words, QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton(keep_words, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is end
