"""``trm-bio resonance`` end to end: a simulated person with a resonance rate breathes along
with the assessment's pacer; the rate found, what is printed and what is stored."""

from __future__ import annotations

import json

import pytest

from tests.cli_run import one_sentence_error, run
from trm_bio.store.library import Library
from trm_bio.store.person_resonance import assessments, resonance_rate


@pytest.mark.parametrize("rate", [5.0, 6.5])
def test_assessment_finds_the_simulated_resonance_rate(tmp_path, rate):
    library = tmp_path / "lib.sqlite3"
    result = run(
        "resonance", "--simulate", "--resonance-rate", str(rate), "--speed", "1000",
        "--seed", "7", "--format", "json", "--person", "Sam", library=library, check=True,
    )
    data = json.loads(result.out)
    assert abs(data["resonance_rate"] - rate) <= 0.25
    assert [r["rate_per_min"] for r in data["rates"]] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert data["reference"] == "pacer"
    assert "light-headed" in result.err and "Step 5 of 5" in result.err
    with Library.open(library, readonly=True) as lib:
        person = lib.find_person("Sam")
        assert person is not None
        assert resonance_rate(lib, person.id) == data["resonance_rate"]
        assert assessments(lib, person.id)[-1]["rates"] == data["rates"]


@pytest.mark.parametrize("rate", [5.0, 6.5])
def test_a_polar_strap_takes_the_phase_against_the_measured_breathing(rate):
    """With an H10's accelerometer the phase is the heart's against the chest's movement,
    whose breathing follows the pacer (the simulated person breathes along)."""
    result = run(
        "resonance", "--simulate", "--h10", "--resonance-rate", str(rate), "--speed", "1000",
        "--seed", "3", "--format", "json", check=True,
    )
    data = json.loads(result.out)
    assert data["reference"] == "measured breathing"
    assert abs(data["resonance_rate"] - rate) <= 0.25


def test_table_with_configured_steps_and_rests(tmp_path):
    result = run(
        "resonance", "--simulate", "--resonance-rate", "5.5", "--speed", "1000",
        "--rates", "6,5.5,5", "--step", "90", "--rest", "15", "--ratio", "2:3",
        library=tmp_path / "lib.sqlite3", check=True,
    )
    lines = result.out.splitlines()
    assert lines[0].split()[:2] == ["RATE", "/min"]
    assert [float(line.split()[0]) for line in lines[1:4]] == [6.0, 5.5, 5.0]
    assert lines[-1].startswith("resonance_rate: 5.5 breaths/min")
    assert "Step 3 of 3: 5 breaths a minute for 90 s." in result.err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--simulate", "--ratio", "3:1"), "inhale:exhale ratios 1:1, 2:3, 1:2"),
        (("--simulate", "--rates", "6,12"), "between 3 and 10 breaths/min"),
        (("--device", "AA:BB:CC:DD:EE:FF", "--resonance-rate", "5"), "--simulate"),
    ],
)
def test_bad_settings_are_one_sentence(tmp_path, args, words):
    outcome = run("resonance", *args, library=tmp_path / "lib.sqlite3")
    assert words in one_sentence_error(outcome)


def test_resonance_rate_out_of_range_is_a_usage_error():
    outcome = run("stream", "--simulate", "--resonance-rate", "40", "--duration", "1")
    assert outcome.code == 2
    assert "from 2 to 12" in outcome.err and "Traceback" not in outcome.err


def test_the_rate_shows_in_trends_and_the_session_report(tmp_path):
    library = tmp_path / "lib.sqlite3"
    run("record", "--simulate", "--speed", "1000", "--duration", "240", "--person", "Ana",
        library=library, check=True)
    before = json.loads(run("trends", "Ana", "--format", "json", library=library,
                            check=True).out)
    assert before["resonance"] == []
    run("resonance", "--simulate", "--resonance-rate", "6.5", "--speed", "1000",
        "--rates", "6.5,5.5", "--step", "60", "--rest", "10", "--person", "Ana",
        library=library, check=True)
    trends = json.loads(run("trends", "Ana", "--format", "json", library=library,
                            check=True).out)
    assert [a["resonance_rate"] for a in trends["resonance"]] == [6.5]
    table = run("trends", "Ana", library=library, check=True).out
    assert "Resonance breathing rate: 6.5 breaths a minute (assessed " in table
    html = tmp_path / "trends.html"
    run("trends", "Ana", "--format", "html", "-o", str(html), library=library, check=True)
    assert 'data-resonance="6.5"' in html.read_text()
    session = json.loads(run("sessions", "--format", "json", library=library,
                             check=True).out)[0]["id"]
    report = tmp_path / "report.html"
    run("report", str(session), "-o", str(report), library=library, check=True)
    assert "Resonance breathing rate: 6.5 breaths a minute" in report.read_text()
