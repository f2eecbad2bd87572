"""Sensation logs and zone ratings: validation, vocabulary, storage round trips."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from skills import (
    BODY_LOCATIONS,
    SENSATION_WORDS,
    SensationError,
    SensationLog,
    SkillFileError,
    Valence,
    Vocabulary,
    Zone,
    ZoneRating,
    load_vocabulary,
    log_entry_from_dict,
)


def test_the_design_words_and_locations_are_offered() -> None:
    for word in ("warm", "cool", "tingly", "buzzy", "tight", "loose", "heavy", "light", "calm",
                 "settled", "shaky", "open", "steady"):
        assert word in SENSATION_WORDS
    assert len(set(SENSATION_WORDS)) == len(SENSATION_WORDS)
    assert BODY_LOCATIONS == ("head", "face", "throat", "chest", "belly", "back", "arms",
                              "hands", "legs", "feet", "whole body")
    assert [v.value for v in Valence] == ["pleasant", "neutral", "unpleasant"]
    assert [z.value for z in Zone] == ["high", "resilient", "low"]


def test_a_sensation_log_round_trips_through_json() -> None:
    log = SensationLog(12.5, Valence.PLEASANT, ("warm", "tingly"), "chest", 6, "like sunshine")
    stored = json.loads(json.dumps(log.to_dict()))
    assert stored == {"kind": "sensation", "time_s": 12.5, "valence": "pleasant",
                      "words": ["warm", "tingly"], "location": "chest", "intensity": 6,
                      "note": "like sunshine"}
    assert SensationLog.from_dict(stored) == log
    assert log_entry_from_dict(stored) == log
    bare = SensationLog(0, "neutral")
    assert bare.valence is Valence.NEUTRAL and bare.time_s == 0.0 and isinstance(bare.time_s, float)
    assert SensationLog.from_dict(bare.to_dict()) == bare


def test_record_normalises_input_and_checks_the_vocabulary() -> None:
    log = SensationLog.record(3, " Unpleasant ", [" Tight ", "heavy"], location="Whole_Body",
                              intensity=4, note="  in the shoulders ")
    assert log.valence is Valence.UNPLEASANT and log.words == ("tight", "heavy")
    assert log.location == "whole body" and log.note == "in the shoulders"
    message = "'sparkly' is not in the sensation vocabulary; add it to vocabulary.toml"
    with pytest.raises(SensationError, match=re.escape(message)):
        SensationLog.record(3, "pleasant", ["warm", "sparkly"])


def test_the_user_vocabulary_extends_the_words(tmp_path: Path) -> None:
    assert load_vocabulary(tmp_path) == Vocabulary()
    (tmp_path / "vocabulary.toml").write_text('words = ["Sparkly", "melty", "warm"]\n',
                                              encoding="utf-8")
    vocabulary = load_vocabulary(tmp_path)
    assert vocabulary.words[: len(SENSATION_WORDS)] == SENSATION_WORDS
    assert vocabulary.words[len(SENSATION_WORDS):] == ("sparkly", "melty")
    log = SensationLog.record(1, "pleasant", ["sparkly"], vocabulary=vocabulary)
    assert log.words == ("sparkly",)
    # A stored log keeps loading after its word has left the vocabulary.
    assert SensationLog.from_dict(log.to_dict()) == log


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('words = ["warm", 3]\n', "words[1] must be a word in letters (spaces, - and ' allowed), "
                                  "got 3"),
        ('words = ["ok", "<b>"]\n', "words[1] must be a word in letters"),
        ('words = "warm"\n', "words must be a list of words, got 'warm'"),
        ('colours = ["red"]\n', "colours is not a known field (known fields: words)"),
        ("words = [\n", "is not valid TOML ("),
    ],
)
def test_a_broken_vocabulary_file_names_file_and_field(tmp_path: Path, text: str,
                                                       message: str) -> None:
    path = tmp_path / "vocabulary.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SkillFileError, match="^" + re.escape(f"{path}: {message}")):
        load_vocabulary(tmp_path)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"valence": "bad"}, "valence must be one of pleasant, neutral, unpleasant, got 'bad'"),
        ({"location": "elbow"}, "location must be one of head, face, throat, chest, belly, back, "
                                "arms, hands, legs, feet, whole body, got 'elbow'"),
        ({"intensity": 11}, "intensity must be a whole number from 0 to 10, got 11"),
        ({"intensity": -1}, "intensity must be a whole number from 0 to 10, got -1"),
        ({"intensity": 3.5}, "intensity must be a whole number from 0 to 10, got 3.5"),
        ({"intensity": True}, "intensity must be a whole number from 0 to 10, got True"),
        ({"time_s": math.nan}, "time_s must be a finite time of 0 s or later, got nan"),
        ({"time_s": -1.0}, "time_s must be a finite time of 0 s or later, got -1.0"),
        ({"time_s": "soon"}, "time_s must be a number of seconds, got 'soon'"),
        ({"words": ("warm", "warm")}, "words must not repeat, got ['warm', 'warm']"),
        ({"words": "warm"}, "words must be a list of words, got 'warm'"),
        ({"words": ("warm", "")}, "a sensation word must be a word in letters, got ''"),
        ({"note": None}, "note must be text, got None"),
    ],
)
def test_each_bad_sensation_field_has_its_own_message(fields: dict, message: str) -> None:
    values = {"time_s": 1.0, "valence": "neutral", "words": (), "location": None,
              "intensity": None, "note": ""} | fields
    with pytest.raises(SensationError) as caught:
        SensationLog(**values)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "sensation", "time_s": 1.0}, "a sensation record is missing 'valence'"),
        ({"kind": "sensation", "valence": "pleasant"}, "a sensation record is missing 'time_s'"),
        ({"kind": "sensation", "time_s": 1, "valence": "pleasant", "colour": "red"},
         "a sensation record has an unknown field 'colour'"),
        ({"kind": "zone_rating", "time_s": 1, "valence": "pleasant"},
         "a sensation record has kind 'zone_rating'"),
    ],
)
def test_bad_stored_sensation_records(data: dict, message: str) -> None:
    with pytest.raises(SensationError, match="^" + re.escape(message) + "$"):
        SensationLog.from_dict(data)


def test_zone_rating_round_trip_and_validation() -> None:
    rating = ZoneRating(30.0, "High ", "heart racing a bit")
    assert rating.zone is Zone.HIGH
    stored = json.loads(json.dumps(rating.to_dict()))
    assert stored == {"kind": "zone_rating", "time_s": 30.0, "zone": "high",
                      "note": "heart racing a bit"}
    assert ZoneRating.from_dict(stored) == rating
    assert log_entry_from_dict(stored) == rating
    with pytest.raises(SensationError, match="zone must be one of high, resilient, low, got "
                                             "'stuck'"):
        ZoneRating(1.0, "stuck")
    with pytest.raises(SensationError, match="a zone_rating record is missing 'zone'"):
        ZoneRating.from_dict({"kind": "zone_rating", "time_s": 1.0})
    with pytest.raises(SensationError, match="kind 'sensation' or 'zone_rating', got 'marker'"):
        log_entry_from_dict({"kind": "marker", "time_s": 1.0})
