"""The shared zone display and time shares on constructed readings (exact expectations)."""

from __future__ import annotations

import math

import numpy as np

from trm_bio.core.regulation import Zone
from trm_bio.core.zone_time import zone_time
from trm_bio.zone_display import (
    ZoneScale,
    settling_words,
    shares_words,
    show_zone,
    zone_positions,
    zone_runs,
)

LOW, RESILIENT, HIGH, UNKNOWN = (int(z) for z in Zone)  # in their order of definition


def beats(rate_bpm: float, seconds: float, start_s: float) -> np.ndarray:
    step = 60.0 / rate_bpm
    return start_s + step * np.arange(1, round(seconds / step) + 1)


def test_shares_count_seconds_not_beats_and_leave_the_pause_out():
    # 60 s High at 120 bpm, a 60 s pause, 60 s resilient at 60 bpm, 30 s unknown at 60 bpm.
    high = beats(120.0, 60.0, 0.0)
    calm = beats(60.0, 60.0, 120.0)
    unsure = beats(60.0, 30.0, 180.0)
    times = np.concatenate(([0.0], high, [120.0], calm, unsure))
    zone = np.concatenate(
        ([HIGH], np.full(high.size, HIGH), [RESILIENT], np.full(calm.size, RESILIENT),
         np.full(unsure.size, UNKNOWN))
    )
    segment = np.concatenate((np.zeros(1 + high.size), np.ones(1 + calm.size + unsure.size)))
    t = zone_time(times, zone, segment)
    assert t.seconds == {"low": 0.0, "resilient": 60.0, "high": 60.0}
    assert t.gaps_s == 60.0 and t.unknown_s == 30.0
    assert t.shares() == {"low": 0.0, "resilient": 0.5, "high": 0.5}  # by beats: 2/3 High
    words = shares_words(t.to_dict())
    assert words.startswith("resilient 50 %, high 50 %, low 0 % of 2 min with a reading")
    assert "30 s without a reading" in words and "1 min paused or without a signal" in words
    # The strip paints exactly what is counted, and nothing in the pause.
    runs = zone_runs(times, zone, segment)
    assert [(a, b, c) for a, b, c in runs if c != UNKNOWN] == [
        (0.0, 60.0, HIGH),
        (120.0, 180.0, RESILIENT),
    ]


def test_every_reading_sits_in_its_own_zone_and_unknown_has_no_place():
    scale = ZoneScale(-2.5, 1.25)
    arousal = np.array([1.4, -0.5, 0.9, 1.6, 0.2, -3.0, 5.0, 2.0])
    lowness = np.array([2.8, 1.6, 0.0, 0.0, 3.0, 3.0, 0.0, 0.0])
    zone = np.array([LOW, LOW, HIGH, RESILIENT, RESILIENT, LOW, HIGH, UNKNOWN])
    pos = zone_positions(arousal, lowness, zone, scale)
    assert [scale.zone_at(p) for p in pos] == [Zone(z) for z in zone]
    assert pos[0] == -2.8 and pos[5] == -3.0  # the Low side's own evidence
    assert pos[6] == scale.view[1]  # far readings rest at the edge of the view
    shown = show_zone(Zone.LOW, arousal=1.4, lowness=2.8, tentative=True, scale=scale)
    assert shown.label == "Low Zone (tentative)" and shown.position == -2.8
    unknown = show_zone(Zone.UNKNOWN, arousal=2.0, lowness=0.0, reason="Too uneven.")
    assert math.isnan(unknown.position) and unknown.reason == "Too uneven."
    assert unknown.label == "Zone unknown" and unknown.colour != shown.colour


def test_settling_words_invite_and_say_the_time_left():
    clinician = settling_words(True, 135.0, "", for_client=False)
    client = settling_words(True, 135.0, "", for_client=True)
    for text in (clinician, client):
        assert text.startswith("Let's take a few minutes to settle in. You might notice")
        assert not any(word in text.lower() for word in ("must", "should", "sit still", "relax"))
    assert "2 min 20 s of settling left" in clinician and "About 3 minutes to go." in client
    assert "Less than a minute" in settling_words(True, 20.0, "", for_client=True)
    assert "earlier sessions" in settling_words(False, math.nan, "previous-sessions",
                                                for_client=True)
    assert settling_words(False, math.nan, "session-start", for_client=False) == ""
