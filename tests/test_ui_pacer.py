"""The breathing guide on the real window (offscreen): one key, rate and ratio steps, the
client view following it, the person's resonance rate, feedback words and the sound mode."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.ui_app import open_app, settings_in
from trm_bio.core.pacer import breath_shape
from trm_bio.store.library import Library
from trm_bio.store.person_resonance import add_assessment
from trm_bio.ui.sound import NO_AUDIO, AudioOutput

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def test_one_key_starts_and_stops_the_guide_which_is_off_by_default(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window = parts.window
    pacer = window.pacer
    assert not pacer.on and not pacer.body.isVisible() and not pacer.frame.isActive()
    qtbot.keyClick(window, Qt.Key.Key_B, CTRL)
    assert pacer.on and pacer.body.isVisible() and pacer.frame.isActive()
    assert "If it feels okay" in pacer.invitation.text()
    assert "light-headed" in pacer.note.text()
    # The shape breathes: over a breath (10 s of session time at 6 /min) it swells and settles.
    seen = []
    qtbot.waitUntil(lambda: seen.append(pacer.shape.swell) or (
        max(seen) > 0.9 and min(seen) < 0.1), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_B, CTRL)
    assert not pacer.on and not pacer.frame.isActive()
    assert len(pacer.track.stretches) == 1 and math.isfinite(pacer.track.stretches[0].end_s)
    window.close()


def test_rate_steps_and_ratio_while_on(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, pacer = parts.window, parts.window.pacer
    qtbot.keyClick(window, Qt.Key.Key_B, CTRL)
    assert pacer.rate_per_min == 6.0
    qtbot.keyClick(window, Qt.Key.Key_Up, CTRL_SHIFT)
    assert pacer.rate_per_min == 6.5 and pacer.track.current().rate_per_min == 6.5
    qtbot.mouseClick(pacer.slower, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pacer.slower, Qt.MouseButton.LeftButton)
    assert pacer.rate_per_min == 5.5 and pacer.rate_label.text() == "5.5 breaths a minute"
    for _ in range(12):
        qtbot.keyClick(window, Qt.Key.Key_Down, CTRL_SHIFT)
    assert pacer.rate_per_min == 3.0
    for _ in range(20):
        qtbot.mouseClick(pacer.faster, Qt.MouseButton.LeftButton)
    assert pacer.rate_per_min == 10.0
    pacer.ratio_box.setCurrentText("2:3")
    assert pacer.track.current().inhale_fraction == pytest.approx(0.4)
    # Remembered for the next time the window opens.
    assert float(window.settings.q.value("pacer/rate")) == 10.0
    assert window.settings.q.value("pacer/ratio") == "2:3"
    window.close()


def test_client_view_shape_follows_the_guide(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, client = parts.window, parts.window.client
    qtbot.keyClick(window, Qt.Key.Key_K, CTRL)
    qtbot.waitExposed(client)
    words = window.pacer.mirrors[0]
    assert not words.isVisible()
    qtbot.keyClick(client, Qt.Key.Key_B, CTRL)  # the key works on the client view too
    assert window.pacer.on and words.isVisible()
    for _ in range(5):
        running = window.pacer.track.current()
        now = parts.controller.now_s()
        expected = float(breath_shape(running.cycle_phase(now), running.inhale_fraction))
        assert client.shape.swell() == pytest.approx(expected, abs=0.08)
        qtbot.wait(37)
    qtbot.waitUntil(lambda: words.text() in ("in …", "… and out"), timeout=2000)
    window.close()


def test_the_simulated_person_breathes_along_and_the_swing_shows(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm", resonance_rate=6.0)
    window, pacer = parts.window, parts.window.pacer
    assert parts.services.pacer_track is pacer.track
    window.start_session()  # a new source: the simulated person who follows the pacer
    qtbot.keyClick(window, Qt.Key.Key_B, CTRL)
    start = parts.controller.now_s()
    qtbot.waitUntil(lambda: parts.controller.now_s() - start > 90, timeout=20000)
    qtbot.waitUntil(lambda: "beats a minute" in pacer.swing.text(), timeout=5000)
    swing = float(pacer.swing.text().split(": ")[1].split()[0])
    assert 10 <= swing <= 30  # at resonance: a swing far above calm breathing's few bpm
    # Coherence as a level in words, never a raw decimal.
    assert re.fullmatch(r"Coherence: (level [1-4] of 4: [a-z ]+|not clear yet)",
                        pacer.coherence.text())
    window.close()


def test_the_remembered_persons_resonance_rate_is_where_the_guide_starts(qtbot, tmp_path):
    with Library.open(tmp_path / "lib.sqlite3") as library:
        add_assessment(library, library.ensure_person("Kim"), {"resonance_rate": 4.5})
    settings = settings_in(tmp_path / "settings")
    settings.person = "Kim"
    settings.sync()
    parts = open_app(qtbot, tmp_path, scenario="calm")
    assert parts.window.pacer.rate_per_min == 4.5
    parts.window.close()


def test_a_stored_resonance_rate_is_the_default_pacer_rate(qtbot, tmp_path):
    parts = open_app(qtbot, tmp_path, scenario="calm")
    library, window = parts.library, parts.window
    add_assessment(library, library.ensure_person("Sam"), {"resonance_rate": 5.5, "rates": []})
    window.person.setText("Sam")
    window.start_session()
    assert window.pacer.rate_per_min == 5.5
    window.close()


def test_sound_is_off_by_default_and_says_once_without_an_audio_device(qtbot, tmp_path):
    if AudioOutput(lambda _: None).ready():
        pytest.skip("this machine has an audio output device")
    parts = open_app(qtbot, tmp_path, scenario="calm")
    window, pacer = parts.window, parts.window.pacer
    said: list[str] = []
    pacer.audio = AudioOutput(said.append)
    assert not pacer.sound.enabled and not pacer.sound_box.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_B, CTRL)
    qtbot.keyClick(window, Qt.Key.Key_B, CTRL_SHIFT)
    assert pacer.sound.enabled
    # Cues keep coming (each inhale and exhale), the sentence comes once.
    start = parts.controller.now_s()
    qtbot.waitUntil(lambda: parts.controller.now_s() - start > 25, timeout=10000)
    assert said == [NO_AUDIO]
    assert np.isfinite(start)
    window.close()
