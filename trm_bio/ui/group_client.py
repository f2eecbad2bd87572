"""The group's client view: calm tiles for a projector the whole group sees.

Each participant is a tile with the zone only: no numbers, and no names unless the
facilitator turns them on (numbered by default, or initials). Above the tiles, the shared
prompt in its short form (the skills' client prompts, as on the client view of one
person). It is placed on a chosen screen, full screen, by the same code as the client view
(:mod:`trm_bio.ui.client_screen`); Esc on it leaves full screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from trm_bio.ui import theme
from trm_bio.ui.client_view import client_prompt
from trm_bio.ui.group_tiles import CLIENT_LABELS, ClientTile, TileState, lay_out


class GroupClientWindow(QWidget):
    """The projector's window; the group window hands it the tiles' states."""

    def __init__(self, scale: theme.TextScale, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("For the group — trm-bio")
        self.setStyleSheet(f"background: {theme.BACKGROUND};")
        self.scale = scale
        self.labels = CLIENT_LABELS[0]
        self.short_prompts: dict[str, str] = {}
        self.tiles: list[ClientTile] = []
        box = QVBoxLayout(self)
        box.setContentsMargins(40, 24, 40, 24)
        box.setSpacing(18)
        self.prompt = QLabel("")
        self.prompt.setWordWrap(True)
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setStyleSheet(f"color: {theme.TEXT};")
        self.prompt.setAccessibleName("Prompt")
        box.addWidget(self.prompt)
        self.grid = QGridLayout()
        self.grid.setSpacing(16)
        box.addLayout(self.grid, 1)
        self.set_scale(scale)
        self.resize(1024, 640)

    def set_scale(self, scale: theme.TextScale) -> None:
        self.scale = scale
        self.prompt.setFont(theme.font(22, scale))
        for tile in self.tiles:
            tile.set_scale(scale)

    def set_short_prompts(self, short: dict[str, str]) -> None:
        self.short_prompts = dict(short)

    def set_band(self, low_edge: float, high_edge: float) -> None:
        for tile in self.tiles:
            tile.band.set_band(low_edge, high_edge)

    def set_reduced_motion(self, reduced: bool) -> None:
        for tile in self.tiles:
            tile.band.reduced_motion = reduced

    def set_labels(self, labels: str) -> None:
        """Name the participants by "numbers" (the default), "initials" or "names"."""
        if labels not in CLIENT_LABELS:
            raise ValueError(f"labels must be one of {CLIENT_LABELS}, not {labels!r}")
        self.labels = labels
        for tile in self.tiles:
            if tile.state is not None:
                tile.show_state(tile.state, labels)

    def set_count(
        self, count: int, band: tuple[float, float], numbers: Sequence[int] | None = None
    ) -> None:
        """One tile per participant (new tiles when the group changes), each numbered by
        ``numbers`` (default 1, 2 ...: see :class:`~trm_bio.ui.group_tiles.ClientTile`)."""
        shown = list(numbers) if numbers is not None else list(range(1, count + 1))
        if shown == [tile.shown_number for tile in self.tiles]:
            return
        self.tiles = [
            ClientTile(seat, self.scale, number=shown[seat]) for seat in range(count)
        ]
        for tile in self.tiles:
            tile.band.set_band(*band)
        lay_out(self.grid, list(self.tiles))

    def show_tiles(self, states: list[TileState]) -> None:
        for tile, state in zip(self.tiles, states, strict=False):
            tile.show_state(state, self.labels)

    def show_prompt(self, prompt: str) -> None:
        text = client_prompt(prompt, self.short_prompts)
        if self.prompt.text() != text:
            self.prompt.setText(text)
        self.prompt.setVisible(bool(text))

    def captions(self) -> list[str]:
        """What each tile is called on the screen now (for tests and screen readers)."""
        return [tile.caption.text() for tile in self.tiles]
