"""The first-run guide: a few invitational screens on the zones, the skills and the windows.

Shown once, at the first launch (remembered in the settings), beside the main window and
without holding it up: beats keep arriving behind it. Help > Guide shows it again. The
skills' names and purposes come from the loaded skills, so a clinician's own skill files
are described as they are.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from trm_bio.ui import theme
from trm_bio.ui.menus import find_menu

if TYPE_CHECKING:
    from skills.model import Skill
    from trm_bio.ui.main_window import MainWindow

SEEN_KEY = "guide/seen"

WELCOME = """
<h2>Welcome to trm-bio</h2>
<p>trm-bio shows what a heart-rate chest strap measures, live, beside the practices of the
Trauma Resiliency Model. You might notice how the body settles or stirs as you track
sensations, and see the heart's rhythm shift with it.</p>
<p>There is nothing to get right. Go at your own pace; you can pause, skip or stop at any
time. Everything stays on this computer, in a library only you can read.</p>
<p>A few screens follow, on the zones, the skills and the two windows. Skip them whenever you
like: Help &gt; Guide brings them back.</p>
"""

ZONES = f"""
<h2>The zones are indicators, not a diagnosis</h2>
<p><b style="background: {theme.BAND}">&nbsp;Resilient Zone&nbsp;</b> The band in the middle is
where a person can feel their feelings and still think and act as they wish. Its width is
their own, found from their own heart in the first minutes (<i>Finding your baseline</i>).</p>
<p><b style="background: {theme.HIGH_SIDE}">&nbsp;High Zone&nbsp;</b> Above the band the body is
stirred up: the heart faster, its beat-to-beat variation smaller.
<b style="background: {theme.LOW_SIDE}">&nbsp;Low Zone&nbsp;</b> Below it a person may feel
flat, numb or very tired; the heart tells this side least surely, so it is always shown as
tentative.</p>
<p>Neither side is good or bad, and the indicator can be wrong: movement, talking, coffee or
a loose strap move it too. The person's own sense of where they are matters most, and they
can say so with F6, F7 and F8.</p>
"""

WINDOWS = """
<h2>Two windows</h2>
<p><b>The clinician's window</b> (this one) holds everything: the heart plots with a marker
for each event, the practice prompt in full, sensation tracking (keys 1 pleasant, 2 neutral,
3 unpleasant), Help Now! (H), and the session buttons (Ctrl+R starts recording, Ctrl+E ends
it and shows its summary). The event list (Ctrl+J) keeps every entry, to correct after the
session.</p>
<p><b>The client view</b> (Ctrl+K) is a calm second window for the person: the prompt in a
sentence or two, a softly breathing shape and their band, with no numbers unless you turn
them on. View &gt; Client view on screen puts it on another monitor; F11 shows it full
screen, Esc leaves.</p>
<p>Without a strap, the simulated strap shows how it all moves. Ctrl+D chooses a real one;
F1 lists every key.</p>
"""


def skills_page(skills: tuple[Skill, ...]) -> str:
    """The skills screen: each skill's number, name and purpose, from the loaded skills."""
    rows = "".join(
        f"<tr><td>{skill.number}</td><td><b>{escape(skill.name)}</b>"
        f"{' <i>(with a clinician)</i>' if skill.clinician_only else ''}</td>"
        f"<td>{escape(skill.purpose)}</td></tr>"
        for skill in skills
    )
    return (
        "<h2>The skills</h2><p>Each skill is a few short steps, with a prompt for each. "
        "Choose one, or a plan that joins several, and begin (G). Help Now! is there at any "
        "moment.</p>"
        f'<table cellspacing="4">{rows}</table>'
        "<p>Skills 7 to 9 reach toward what has been difficult: they are offered in clinician "
        "mode (Practice menu), with a trained therapist.</p>"
    )


class GuideDialog(QDialog):
    """The guide's screens one after another, with Back, Next and Close."""

    def __init__(self, skills: tuple[Skill, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("trm-bio: a short guide")
        self.pages = QStackedWidget()
        for text in (WELCOME, ZONES, skills_page(skills), WINDOWS):
            label = QLabel(text)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            label.setContentsMargins(12, 6, 12, 6)
            self.pages.addWidget(label)
        self.where = QLabel("")
        self.where.setObjectName("muted")
        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(lambda: self.go(-1))
        self.next_button = QPushButton("Next")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(lambda: self.go(1))
        self.close_button = QPushButton("Skip the guide")
        self.close_button.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(self.where)
        row.addStretch(1)
        for button in (self.close_button, self.back_button, self.next_button):
            row.addWidget(button)
        box = QVBoxLayout(self)
        box.addWidget(self.pages, 1)
        box.addLayout(row)
        self.resize(680, 560)
        self.go(0)

    def page_text(self) -> str:
        page = self.pages.currentWidget()
        return page.text() if isinstance(page, QLabel) else ""

    def go(self, step: int) -> None:
        """Move ``step`` screens on (negative: back); Next on the last screen closes."""
        index = self.pages.currentIndex() + step
        if index >= self.pages.count():
            self.accept()
            return
        index = max(index, 0)
        self.pages.setCurrentIndex(index)
        last = index == self.pages.count() - 1
        self.where.setText(f"{index + 1} of {self.pages.count()}")
        self.back_button.setEnabled(index > 0)
        self.next_button.setText("Begin" if last else "Next")
        self.close_button.setVisible(not last)


def show_guide(window: MainWindow) -> GuideDialog:
    """Show the guide beside ``window``, not holding it up; remembered as seen."""
    dialog = GuideDialog(window.controller.skills.all_skills, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.raise_()
    window.settings.q.setValue(SEEN_KEY, True)
    return dialog


def offer(window: MainWindow) -> GuideDialog | None:
    """At launch: the guide the first time, nothing after (see :func:`show_guide`)."""
    if window.settings.q.value(SEEN_KEY, False) in (True, "true"):
        return None
    return show_guide(window)


def attach(window: MainWindow) -> QAction:
    """Add Help > Guide to ``window``; returns its action."""
    action = QAction("Guide: the zones, the skills, the two windows", window)
    action.triggered.connect(lambda: show_guide(window))
    menu = find_menu(window, "Help")
    if menu is not None:
        menu.addAction(action)
    return action
