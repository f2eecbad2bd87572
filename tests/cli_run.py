"""Running ``trm-bio`` in the tests.

:func:`run` calls the command line's ``main()`` in this process, so that coverage sees it;
:func:`run_process` starts ``python -m trm_bio`` for the few end-to-end tests and those that
need a process of their own (killed, on a terminal, holding locks another process meets).
Both give an :class:`Outcome`.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trm_bio.cli import main

ROOT = Path(__file__).resolve().parents[1]
LIBRARY_ENV = "TRM_BIO_LIBRARY"


@dataclass(frozen=True)
class Outcome:
    """What a ``trm-bio`` run gave: its arguments, exit status, stdout and stderr."""

    argv: tuple[str, ...]
    code: int
    out: str
    err: str


@contextlib.contextmanager
def _environment(library: Path | None, umask: int | None) -> Iterator[None]:
    """``$TRM_BIO_LIBRARY`` and the umask for one run, as a shell would set them."""
    previous = os.environ.get(LIBRARY_ENV)
    old_umask = None if umask is None else os.umask(umask)
    if library is not None:
        os.environ[LIBRARY_ENV] = str(library)
    try:
        yield
    finally:
        if old_umask is not None:
            os.umask(old_umask)
        if library is not None:
            if previous is None:
                del os.environ[LIBRARY_ENV]
            else:
                os.environ[LIBRARY_ENV] = previous


def run(
    *argv: str,
    library: Path | None = None,
    cwd: Path | None = None,
    umask: int | None = None,
    check: bool = False,
) -> Outcome:
    """Run ``trm-bio ARGV`` in this process, its output captured (stdin is empty, not a
    terminal). ``library`` sets ``$TRM_BIO_LIBRARY``; ``check`` asserts exit status 0."""
    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO()
    try:
        with (
            _environment(library, umask),
            contextlib.chdir(cwd or os.getcwd()),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse: a usage error (2), or --help (0)
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = saved_stdin
    outcome = Outcome(tuple(argv), code, out.getvalue(), err.getvalue())
    if check:
        assert outcome.code == 0, outcome
    return outcome


def run_process(
    *argv: str,
    library: Path | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    check: bool = False,
    timeout: float = 120,
) -> Outcome:
    """Run ``python -m trm_bio ARGV`` as its own process and wait for it to end."""
    environ = {**os.environ, **(env or {})}
    if library is not None:
        environ[LIBRARY_ENV] = str(library)
    done = subprocess.run(
        [sys.executable, "-m", "trm_bio", *argv],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    outcome = Outcome(tuple(argv), done.returncode, done.stdout, done.stderr)
    if check:
        assert outcome.code == 0, outcome
    return outcome


def one_sentence_error(outcome: Outcome) -> str:
    """The one line a failing command printed (asserting there is one, and no traceback)."""
    assert outcome.code != 0, outcome
    assert "Traceback" not in outcome.err, outcome.err
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("trm-bio: "), outcome.err
    return lines[0]
