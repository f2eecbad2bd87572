"""The group view's tiles: one calm tile per participant, for the facilitator and the client.

A tile shows who (the label the facilitator chose, or on the client's screen a number or
initials), the zone indicator (:class:`~trm_bio.ui.zone_widget.ZoneBandWidget`, placed and
coloured by :func:`~trm_bio.zone_display.show_zone` as on every screen) and the strap's
state. A participant whose strap dropped is shown greyed and "reconnecting", with no zone
and never a zone colour (:attr:`~trm_bio.group.ParticipantView.shows_zone`).

What a tile shows is a :class:`TileState`; a tile repaints only when its state changes (a
beat a second each, rounded numbers), so eight tiles stay cheap to keep up to date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from trm_bio.group import Connection, ParticipantView, initials
from trm_bio.ui import theme
from trm_bio.ui.zone_widget import ZoneBandWidget
from trm_bio.zone_display import ZoneScale, ZoneShown, show_zone

#: The band's smallest size in a tile (px): eight tiles fit a 1366x768 laptop beside the
#: practice column (the band's own minimum is for one person's screen).
BAND_MIN = (120, 60)
#: How a tile on the client's screen names its participant: by number unless the
#: facilitator turns names (or initials) on.
CLIENT_LABELS = ("numbers", "initials", "names")

_GREY_TILE = "#F1EEEA"
_CALM_WORDS = {
    Connection.CONNECTING: "connecting…",
    Connection.NO_CONTACT: "no skin contact",
    Connection.RECONNECTING: "reconnecting",
    Connection.PAUSED: "paused",
    Connection.ENDED: "disconnected",
    Connection.FAILED: "no strap",
}


@dataclass(frozen=True)
class TileState:
    """What one participant's tile shows (compared whole: a tile repaints on a change)."""

    seat: int
    label: str
    connection: Connection
    zone: ZoneShown = field(default_factory=ZoneShown)
    words: str = ""  # the zone in words, or the strap's state when no zone is shown
    hr_bpm: float = math.nan  # rounded, bpm
    rmssd_ms: float = math.nan  # rounded, ms

    @property
    def shows_zone(self) -> bool:
        return self.connection in (Connection.LIVE, Connection.REPLAY)


def tile_state(view: ParticipantView, scale: ZoneScale | None = None) -> TileState:
    """A participant's tile from their view: the zone only while it may be shown."""
    reading = view.reading
    hr = round(reading.hr_bpm) if math.isfinite(reading.hr_bpm) else math.nan
    rmssd = round(reading.rmssd_ms) if math.isfinite(reading.rmssd_ms) else math.nan
    if not view.shows_zone:
        words = _CALM_WORDS.get(view.connection, view.connection.value)
        return TileState(view.seat, view.label, view.connection, ZoneShown(), words)
    zone = show_zone(
        reading.zone,
        arousal=reading.arousal,
        lowness=reading.lowness,
        tentative=reading.tentative,
        reason=reading.zone_reason,
        calibrating=reading.calibrating,
        scale=scale or ZoneScale(),
    )
    return TileState(view.seat, view.label, view.connection, zone, zone.label, hr, rmssd)


def columns_for(count: int) -> int:
    """Tiles per row for ``count`` participants: at most two rows, near-square tiles."""
    return {1: 1, 2: 2, 3: 3, 4: 2, 5: 3, 6: 3}.get(count, 4)


def client_caption(state: TileState, labels: str, number: int | None = None) -> str:
    """How the client's screen names a participant: a number (``number``, else their place
    + 1), initials or the label."""
    if labels == "names":
        return state.label
    if labels == "initials":
        return initials(state.label)
    return str(number if number is not None else state.seat + 1)


class _Band(ZoneBandWidget):
    """The zone indicator of a tile: its words (low, resilient, high) only where they fit
    whole; a narrow tile (large text on a small screen) shows the band and the dot alone,
    and the zone in words under it."""

    LABELS_MIN = (150, 70)  # px: the band's size from which its words are written

    def __init__(self) -> None:
        super().__init__(horizontal=True)
        self.setMinimumSize(*BAND_MIN)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def resizeEvent(self, event: QResizeEvent) -> None:
        fits = self.width() >= self.LABELS_MIN[0] and self.height() >= self.LABELS_MIN[1]
        if fits != self.show_labels:
            self.show_labels = fits
            self.update()
        super().resizeEvent(event)


def _band() -> ZoneBandWidget:
    return _Band()


class _Tile(QFrame):
    """A tile's frame: the band, words under it, its grey look when no zone is shown."""

    def __init__(self, seat: int, parent: QWidget | None, number: int | None) -> None:
        super().__init__(parent)
        self.seat = seat
        self.shown_number = number if number is not None else seat + 1
        self.state: TileState | None = None
        self.band = _band()
        self.words = QLabel("")
        self.words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.words.setWordWrap(True)
        self.words.setAccessibleName("Zone or strap")
        self._look: tuple[bool, bool] | None = None

    def _set_look(self, greyed: bool, selected: bool) -> None:
        if self._look == (greyed, selected):
            return  # a style sheet polishes the whole tile again: only on a change
        self._look = (greyed, selected)
        self.band.set_greyed(greyed)
        border = f"3px solid {theme.POSITION}" if selected else "1px solid #E3DBD0"
        background = _GREY_TILE if greyed else theme.SURFACE
        self.setStyleSheet(
            f"_Tile, ParticipantTile, ClientTile {{ background: {background}; "
            f"border: {border}; border-radius: 10px; }} QLabel {{ background: transparent; }}"
        )
        self.words.setStyleSheet(f"color: {theme.MUTED_TEXT if greyed else theme.TEXT};")


class ParticipantTile(_Tile):
    """The facilitator's tile: number and label, zone, strap state, numbers if asked,
    Reconnect; a click selects the participant for the next log. ``seat`` is the tile's
    place; ``number`` the participant's number shown (default ``seat + 1``; a replay's
    participants keep their stored seat's, though one left no session)."""

    clicked = Signal(int)  # seat
    reconnect_requested = Signal(int)  # seat

    def __init__(
        self,
        seat: int,
        scale: theme.TextScale,
        parent: QWidget | None = None,
        *,
        number: int | None = None,
    ):
        super().__init__(seat, parent, number)
        self.selected = False
        self._number_selected: bool | None = None  # what the number's style shows
        self.numbers_visible = False
        self.offer_reconnect = True
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 8, 10, 8)
        box.setSpacing(4)
        head = QHBoxLayout()
        self.number = QLabel(str(self.shown_number))
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.number.setFixedWidth(28)
        self.number.setToolTip(
            f"Key {self.shown_number} selects this participant for the next log"
        )
        self.name = QLabel("")
        self.name.setMinimumWidth(40)
        self.name.setAccessibleName("Participant")
        head.addWidget(self.number)
        head.addWidget(self.name, 1)
        box.addLayout(head)
        box.addStretch(1)
        box.addWidget(self.band, 2)
        box.addWidget(self.words)
        self.numbers = QLabel("")
        self.numbers.setObjectName("muted")
        self.numbers.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.numbers.setWordWrap(True)  # large text wraps rather than widen the window
        self.numbers.setVisible(False)
        box.addWidget(self.numbers)
        box.addStretch(1)
        foot = QHBoxLayout()
        foot.addStretch(1)
        self.reconnect = QPushButton("Reconnect")
        self.reconnect.setToolTip("Connect this participant's strap anew (their session goes on)")
        self.reconnect.setFlat(True)
        self.reconnect.clicked.connect(lambda: self.reconnect_requested.emit(self.seat))
        foot.addWidget(self.reconnect)
        box.addLayout(foot)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.set_scale(scale)
        self._set_look(True, False)

    def set_scale(self, scale: theme.TextScale) -> None:
        self.name.setFont(theme.font(13, scale, bold=True))
        self.number.setFont(theme.font(13, scale, bold=True))
        self.words.setFont(theme.font(12, scale))
        self.numbers.setFont(theme.font(10, scale))
        self._fit_name()

    def show_state(
        self, state: TileState, *, selected: bool, numbers: bool, reconnect: bool
    ) -> bool:
        """Show ``state``; False (and nothing done) when the tile already shows it."""
        if (
            state == self.state
            and selected == self.selected
            and numbers == self.numbers_visible
            and reconnect == self.offer_reconnect
        ):
            return False
        self.state, self.selected, self.numbers_visible = state, selected, numbers
        self.offer_reconnect = reconnect
        self.reconnect.setVisible(reconnect)
        if self.name.toolTip() != state.label:
            self.name.setToolTip(state.label)
            self._fit_name()
        self.band.set_reading(state.zone)
        if self.words.text() != state.words:
            self.words.setText(state.words)
        self.numbers.setVisible(numbers)
        if numbers:
            hr = f"{state.hr_bpm:.0f} bpm" if math.isfinite(state.hr_bpm) else "– bpm"
            rmssd = (
                f"RMSSD {state.rmssd_ms:.0f} ms" if math.isfinite(state.rmssd_ms) else "RMSSD –"
            )
            self.numbers.setText(f"{hr} · {rmssd}" if state.shows_zone else "")
        if selected != self._number_selected:  # a style sheet re-polishes: only on a change
            self._number_selected = selected
            self.number.setStyleSheet(
                f"background: {theme.POSITION}; color: white; border-radius: 6px;"
                if selected
                else f"background: {theme.BAND}; border-radius: 6px;"
            )
        self._set_look(not state.shows_zone, selected)
        self.setAccessibleDescription(f"{state.label}: {state.words}")
        return True

    def _fit_name(self) -> None:
        """The label whole where it fits, else cut with an ellipsis (never mid-letter)."""
        label = self.name.toolTip()
        shown = self.name.fontMetrics().elidedText(
            label, Qt.TextElideMode.ElideRight, max(self.name.width(), 20)
        )
        if self.name.text() != shown:
            self.name.setText(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_name()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit(self.seat)
        super().mousePressEvent(event)


class ClientTile(_Tile):
    """The client's tile: a number (or initials, or the name if the facilitator chose so)
    and the zone; no numbers, no words beyond the strap's state. ``number`` as for
    :class:`ParticipantTile`."""

    def __init__(
        self,
        seat: int,
        scale: theme.TextScale,
        parent: QWidget | None = None,
        *,
        number: int | None = None,
    ):
        super().__init__(seat, parent, number)
        self.labels = CLIENT_LABELS[0]
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 10, 14, 10)
        self.caption = QLabel(str(self.shown_number))
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setAccessibleName("Participant")
        box.addWidget(self.caption)
        box.addStretch(1)
        box.addWidget(self.band, 2)
        box.addWidget(self.words)
        box.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.set_scale(scale)
        self._set_look(True, False)

    def set_scale(self, scale: theme.TextScale) -> None:
        self.caption.setFont(theme.font(20, scale, bold=True))
        self.words.setFont(theme.font(14, scale))

    def show_state(self, state: TileState, labels: str) -> bool:
        """Show ``state`` named as ``labels`` says; False when nothing changed."""
        if state == self.state and labels == self.labels:
            return False
        self.state, self.labels = state, labels
        caption = client_caption(state, labels, self.shown_number)
        if self.caption.text() != caption:
            self.caption.setText(caption)
        self.band.set_reading(state.zone)
        # Zone only: the band says it; words only for a strap that is away.
        words = "" if state.shows_zone else state.words
        if self.words.text() != words:
            self.words.setText(words)
        self._set_look(not state.shows_zone, False)
        return True


def lay_out(grid: QGridLayout, tiles: list[QWidget]) -> None:
    """Put ``tiles`` in ``grid``, :func:`columns_for` a row, every cell stretching alike."""
    while grid.count():
        item = grid.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.setParent(None)
            widget.deleteLater()
    # A grid keeps its rows and columns: a bigger group's last ones would keep their share.
    for column in range(grid.columnCount()):
        grid.setColumnStretch(column, 0)
    for row in range(grid.rowCount()):
        grid.setRowStretch(row, 0)
    columns = columns_for(len(tiles))
    for index, tile in enumerate(tiles):
        grid.addWidget(tile, index // columns, index % columns)
    for column in range(columns):
        grid.setColumnStretch(column, 1)
    for row in range((len(tiles) + columns - 1) // columns):
        grid.setRowStretch(row, 1)
