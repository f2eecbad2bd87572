"""One vocabulary on every command: ``--lsl`` publishes, ``--lsl-source`` subscribes,
``--format`` chooses the output, ``--speed`` is checked alike, and an old spelling is refused
with a sentence naming the new one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.cli_run import one_sentence_error, run
from trm_bio.cli import build_parser, options
from trm_bio.errors import TrmBioError
from trm_bio.sources import open_source
from trm_bio.store.library import Library


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every sub-command's parser by its name (``lsl list`` as "lsl list")."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}"] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


def test_shared_options_mean_the_same_on_every_command() -> None:
    commands = _commands()
    publishing = {
        name for name, p in commands.items()
        if (a := _option(p, "--lsl")) is not None and a.help != argparse.SUPPRESS
    }  # fmt: skip
    assert publishing == {"record", "practice", "replay", "app"}
    for name in publishing:
        assert _option(commands[name], "--lsl").nargs == "?", name  # --lsl [NAME]
    subscribing = {name for name, p in commands.items() if _option(p, "--lsl-source")}
    assert subscribing == {"record", "practice", "stream", "resonance"}
    for name in subscribing:  # one source group: the same choices, the same simulation
        for flag in ("--device", "--simulate", "--scenario", "--seed", "--speed"):
            assert _option(commands[name], flag) is not None, (name, flag)
    speeds = {name for name, p in commands.items() if _option(p, "--speed")}
    assert speeds == {"record", "practice", "stream", "replay", "app", "resonance"}
    assert {_option(commands[name], "--speed").type for name in speeds} == {options.speed}
    for name in ("sessions", "show"):
        assert _option(commands[name], "--format").choices == ("table", "json")
    libraries = {name for name, p in commands.items() if _option(p, "--library")}
    assert libraries == {
        "app", "record", "practice", "sessions", "show", "replay", "import", "export",
        "delete", "report", "trends", "resonance",
    }  # fmt: skip
    # Every command with the simulated strap can make a person with a resonance rate.
    resonant = {name for name, p in commands.items() if _option(p, "--resonance-rate")}
    assert resonant == {"record", "practice", "stream", "app", "resonance"}
    assert {_option(commands[n], "--resonance-rate").type for n in resonant} == {
        options.resonance_rate
    }
    for name in ("export", "report", "trends"):
        assert _option(commands[name], "-o") is _option(commands[name], "--output")
        assert _option(commands[name], "--force") is not None


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            ("import", "s.json", "--json"),
            "import recognises a trm-bio JSON export by itself: leave --json out",
        ),
        (
            ("stream", "--lsl", "strap"),
            "`stream --lsl NAME` is now `stream --lsl-source NAME` (--lsl publishes, on every "
            "command)",
        ),
    ],
)
def test_an_old_spelling_is_refused_with_the_new_one(tmp_path: Path, argv, sentence) -> None:
    library = tmp_path / "lib.sqlite3"
    outcome = run(*argv, "--library", str(library)) if argv[0] != "stream" else run(*argv)
    assert outcome.code == 2 and outcome.out == ""
    assert outcome.err.splitlines()[-1] == f"trm-bio {argv[0]}: error: {sentence}"
    assert not library.exists()  # refused before anything was opened


SPEED_COMMANDS = [
    ("stream", "--simulate"),
    ("record", "--simulate"),
    ("practice", "--simulate", "--skill", "3"),
    ("replay", "1"),
    ("app",),
]


@pytest.mark.parametrize("command", SPEED_COMMANDS, ids=[c[0] for c in SPEED_COMMANDS])
def test_every_speed_is_checked_alike(tmp_path: Path, command: tuple[str, ...]) -> None:
    library = ("--library", str(tmp_path / "lib.sqlite3")) if command[0] != "stream" else ()
    for bad in ("0", "-2", "nan", "inf", "1001", "fast"):
        outcome = run(*command, "--speed", bad, *library)
        assert outcome.code == 2, (command, bad, outcome)
        assert outcome.err.splitlines()[-1].endswith(
            "argument --speed: the speed must be a number above 0 and at most 1000 "
            f"(1 is real time), not {bad!r}"
        )
    assert not (tmp_path / "lib.sqlite3").exists()
    parser = build_parser()
    for good in ("0.5", "1000"):
        assert parser.parse_args([*command, "--speed", good]).speed == float(good)


def test_record_and_stream_refuse_an_unknown_scenario_alike(tmp_path: Path) -> None:
    said = {
        one_sentence_error(run(*command, "--scenario", "nope"))
        for command in (
            ("stream", "--simulate"),
            ("record", "--simulate", "--library", str(tmp_path / "lib.sqlite3")),
        )
    }
    (sentence,) = said
    assert "no simulated scenario 'nope'; choose one of calm" in sentence
    with pytest.raises(TrmBioError) as caught:
        open_source("simulated", scenario="nope")
    assert f"trm-bio: {caught.value}" == sentence


def test_import_reads_any_json_document_as_a_session_export(tmp_path: Path) -> None:
    """No RR file starts with {: such a file is an export, or is refused as one."""
    library = tmp_path / "lib.sqlite3"
    document = tmp_path / "notes.txt"  # the name does not decide
    document.write_text(json.dumps({"hello": 1}))
    message = one_sentence_error(run("import", str(document), "--library", str(library)))
    assert "not a trm-bio session" in message
    with Library.open(library) as opened:
        assert opened.list_sessions() == []


def test_a_wait_for_lsl_subscribers_is_zero_or_more_seconds(tmp_path: Path) -> None:
    library = ("--library", str(tmp_path / "lib.sqlite3"))
    for bad in ("-1", "nan", "inf", "soon"):
        outcome = run("record", "--simulate", "--lsl", "--lsl-wait", bad, *library)
        assert outcome.code == 2, (bad, outcome)
        assert "argument --lsl-wait:" in outcome.err.splitlines()[-1]
    assert not (tmp_path / "lib.sqlite3").exists()
    parser = build_parser()
    for good in ("0", "2.5"):
        args = parser.parse_args(["record", "--simulate", "--lsl-wait", good])
        assert args.lsl_wait == float(good)


def test_json_is_short_for_format_json_where_a_listing_is_printed(tmp_path: Path) -> None:
    parser = build_parser()
    assert parser.parse_args(["sessions", "--json"]).format == "json"
    assert parser.parse_args(["show", "1", "--json"]).format == "json"
    assert parser.parse_args(["sessions"]).format == "table"
    outcome = run("sessions", "--json", "--library", str(tmp_path / "lib.sqlite3"))
    assert outcome.code == 0 and outcome.out.strip() == "[]"
