"""The main window's mode state machine, fed transitions without Qt."""

from __future__ import annotations

import itertools

import pytest

from trm_bio.ui.modes import ALLOWED, ENABLES, Mode, ModeError, ModeMachine

REFUSED = {
    (Mode.IDLE, Mode.PAUSED),
    (Mode.PREVIEW, Mode.PAUSED),
    (Mode.REPLAY, Mode.PAUSED),
    (Mode.PAUSED, Mode.PAUSED),
    (Mode.RECORDING, Mode.RECORDING),
}


def test_a_session_from_preview_through_a_pause_to_replay() -> None:
    machine = ModeMachine()
    assert machine.mode is Mode.IDLE and machine.enables.label == "Not connected"
    for mode in (Mode.PREVIEW, Mode.RECORDING, Mode.PAUSED, Mode.RECORDING, Mode.IDLE,
                 Mode.PREVIEW, Mode.REPLAY, Mode.REPLAY, Mode.PREVIEW):
        offers = machine.go(mode)
        assert machine.mode is mode and offers == ENABLES[mode]


@pytest.mark.parametrize(("start", "to"), sorted(REFUSED))
def test_refused_moves_raise_and_leave_the_mode_as_it_was(start: Mode, to: Mode) -> None:
    machine = ModeMachine(start)
    assert not machine.can(to)
    with pytest.raises(ModeError, match=f"from {start} to {to}"):
        machine.go(to)
    assert machine.mode is start


def test_every_other_move_is_allowed() -> None:
    for start, to in itertools.product(Mode, Mode):
        assert ModeMachine(start).can(to) == ((start, to) not in REFUSED), (start, to)
    assert set(ALLOWED) == set(Mode) == set(ENABLES)


def test_what_each_mode_offers() -> None:
    offers = {mode: ENABLES[mode] for mode in Mode}
    # A new session can start only when none is being recorded or replayed.
    assert [m for m in Mode if offers[m].start] == [Mode.IDLE, Mode.PREVIEW]
    # Pause (or resume) and end only while a session is recorded, paused or not.
    for mode in Mode:
        recorded = mode in (Mode.RECORDING, Mode.PAUSED)
        assert offers[mode].pause == offers[mode].stop == offers[mode].recording == recorded
    assert offers[Mode.PAUSED].pause_words == "Resume"
    assert offers[Mode.RECORDING].pause_words == "Pause"
    # Live data is marked as it comes everywhere but idle and replay; only replay has its bar.
    assert [m for m in Mode if offers[m].live] == [Mode.PREVIEW, Mode.RECORDING, Mode.PAUSED]
    assert [m for m in Mode if offers[m].replay] == [Mode.REPLAY]
    assert len({o.label for o in offers.values()}) == len(Mode)


def test_modes_are_their_old_words() -> None:
    """Tests and tools compare the window's mode with its word."""
    assert Mode.PREVIEW == "preview" and Mode("replay") is Mode.REPLAY
    with pytest.raises(ValueError):
        ModeMachine().go("live")  # type: ignore[arg-type]
