"""The sound mode: which cue sounds when, and the generated waveforms."""

from __future__ import annotations

import numpy as np
import pytest

from trm_bio.core.pacer import PacerTrack
from trm_bio.ui.sound import (
    BREATH_TONE_S,
    HEADROOM,
    SAMPLE_RATE_HZ,
    ZONE_CUE_GAP_S,
    CueScheduler,
    SoundSettings,
    breath_tone,
    chime,
    waveform,
    zone_cue,
)

FRAME_S = 1 / 60


def _run(scheduler, track, start_s, end_s, step=lambda t: None, zone=lambda t: None,
         tentative=lambda t: False):
    """(frame time, cue) for frames at 60 Hz from start_s to end_s."""
    out = []
    for now in np.arange(start_s, end_s, FRAME_S):
        for cue in scheduler.due(float(now), track, step(now), zone(now),
                                 tentative=tentative(now)):
            out.append((float(now), cue))
    return out


def _pacer(rate=6.0, inhale=0.5, start_s=0.0):
    track = PacerTrack()
    track.start(start_s, rate, inhale)
    return track


def test_breath_cues_sound_once_at_each_turn_within_a_frame():
    played = _run(CueScheduler(SoundSettings(enabled=True)), _pacer(6.0, 0.4), -1.0, 25.0)
    assert [cue for _, cue in played] == ["inhale", "exhale"] * 2 + ["inhale", "exhale"]
    turns = [0.0, 4.0, 10.0, 14.0, 20.0, 24.0]
    for (when, _), turn in zip(played, turns, strict=True):
        assert 0.0 < when - turn <= FRAME_S + 1e-9


def test_sound_is_off_by_default_and_each_cue_can_be_turned_off():
    assert _run(CueScheduler(SoundSettings()), _pacer(), -1.0, 20.0) == []
    quiet_breath = CueScheduler(SoundSettings(enabled=True, breath=False))
    steps = lambda t: None if t < 3 else ("grounding", 0 if t < 8 else 1)  # noqa: E731
    played = _run(quiet_breath, _pacer(), -1.0, 12.0, step=steps)
    assert [cue for _, cue in played] == ["chime", "chime"]
    assert played[0][0] == pytest.approx(3.0, abs=FRAME_S)
    no_chime = CueScheduler(SoundSettings(enabled=True, breath=False, chime=False))
    assert _run(no_chime, _pacer(), -1.0, 12.0, step=steps) == []


def test_no_breath_cues_without_the_pacer_and_none_after_the_clock_goes_back():
    scheduler = CueScheduler(SoundSettings(enabled=True))
    assert _run(scheduler, None, 0.0, 30.0) == []
    track = _pacer(6.0, 0.5, start_s=0.0)
    _run(scheduler, track, 0.5, 30.0)
    # A new session: the clock starts again at 0; nothing from the old stretch replays.
    assert scheduler.due(0.0, track) == []


def test_zone_cue_is_optional_and_never_per_beat():
    # The zone flips on every beat (about 1 s): one cue, then nothing for the gap.
    flipping = lambda t: "high" if int(t) % 2 else "resilient"  # noqa: E731
    off = CueScheduler(SoundSettings(enabled=True, breath=False))
    assert _run(off, None, 0.0, 100.0, zone=flipping) == []
    on = CueScheduler(SoundSettings(enabled=True, breath=False, zone=True))
    played = _run(on, None, 0.0, 100.0, zone=flipping)
    times = [t for t, cue in played if cue == "zone"]
    assert len(times) == 4  # at about 1, 31, 61 and 91 s
    assert np.diff(times).min() >= ZONE_CUE_GAP_S
    # A tentative reading never cues; the first settled zone is where it starts, not a change.
    calm = CueScheduler(SoundSettings(enabled=True, breath=False, zone=True))
    assert _run(calm, None, 0.0, 50.0, zone=lambda t: "high" if t > 20 else "resilient",
                tentative=lambda t: 20 < t < 40)[0][0] == pytest.approx(40.0, abs=FRAME_S)


def _main_frequency(samples):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE_HZ)[np.argmax(spectrum)]


@pytest.mark.parametrize("volume", [0.2, 1.0])
def test_breath_tones_glide_up_for_in_and_down_for_out_without_clicks(volume):
    inhale, exhale = breath_tone("inhale", volume), breath_tone("exhale", volume)
    for tone in (inhale, exhale):
        assert tone.dtype == np.float32 and tone.size == int(BREATH_TONE_S * SAMPLE_RATE_HZ)
        assert np.abs(tone).max() == pytest.approx(HEADROOM * volume, rel=1e-5)
        # Smooth edges: the first and last milliseconds are nearly silent.
        ms = SAMPLE_RATE_HZ // 1000
        assert np.abs(tone[:ms]).max() < 0.01 * volume
        assert np.abs(tone[-ms:]).max() < 0.01 * volume
    quarter = inhale.size // 4
    assert _main_frequency(inhale[:quarter]) < _main_frequency(inhale[-quarter:])
    assert _main_frequency(exhale[:quarter]) > _main_frequency(exhale[-quarter:])
    assert 180 < _main_frequency(inhale[:quarter]) < 230


def test_chime_rings_at_660_hz_and_fades_and_zone_cue_is_two_notes():
    bell = chime(0.5)
    assert _main_frequency(bell) == pytest.approx(660, abs=3)
    third = int(0.3 * SAMPLE_RATE_HZ)
    assert np.sqrt(np.mean(bell[-third:] ** 2)) < 0.2 * np.sqrt(np.mean(bell[:third] ** 2))
    cue = zone_cue(0.5)
    half = cue.size // 2
    assert _main_frequency(cue[:half]) == pytest.approx(330, abs=5)
    assert _main_frequency(cue[half:]) == pytest.approx(392, abs=5)
    assert not np.any(waveform("zone", 0.0))
    with pytest.raises(ValueError, match="no sound cue"):
        waveform("whistle", 0.5)
