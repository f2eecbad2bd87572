"""Guards on the architecture and on known-bad dependency versions."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("package", ["trm_bio.core", "devices", "skills"])
def test_package_does_not_import_qt(package: str) -> None:
    """DESIGN.md: the core, devices and skills must run without Qt."""
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(mod.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{package} pulled in {out.stdout.strip()}"


@pytest.mark.parametrize("package", ["devices", "skills"])
def test_devices_and_skills_never_import_the_app(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(mod.name)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'trm_bio')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_core_imports_nothing_of_the_app() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import trm_bio.core as pkg\n"
        "for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(mod.name)\n"
        "allowed = ('trm_bio', 'trm_bio.core')\n"
        "app = [m for m in sys.modules if m.startswith('trm_bio') and m not in allowed]\n"
        "print(','.join(sorted(m for m in app if not m.startswith('trm_bio.core.'))))\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('bleak', 'asyncio', 'sqlite3', 'neurokit2'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    app_modules, forbidden = out.stdout.split("\n")[:2]
    assert app_modules == ""
    assert "bleak" not in forbidden and "sqlite3" not in forbidden and "neurokit2" not in forbidden


#: What the UI may import of the store and the device layer: the private-file helper (its
#: settings file is health-adjacent) and the plain records a session's update carries.
UI_MAY_IMPORT = ("trm_bio.store.paths", "devices.packet")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or for type checking only."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_ui_never_touches_the_store_or_a_device() -> None:
    """DESIGN.md: ui never touches the store or a device directly (not even for types).

    The window is given a controller and the composition root's services; what it reads of
    stored sessions is typed by Protocols in trm_bio/ui/services.py.
    """
    ui = Path(__file__).resolve().parents[1] / "trm_bio" / "ui"
    bad = {
        f"{path.name}: {name}"
        for path in sorted(ui.glob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in ("devices", "bleak", "sqlite3")
        or name.startswith("trm_bio.store")
        if not any(name == ok or name.startswith(ok + ".") for ok in UI_MAY_IMPORT)
    }
    assert sorted(bad) == []


def test_pyside6_does_not_corrupt_none_refcount() -> None:
    """PySide6 6.12.0 decrements None's refcount on every void Qt call (DESIGN.md).

    On CPython 3.11 the interpreter then aborts ("none_dealloc"); the pin keeps 6.12 out and
    this test proves the installed version is sound.
    """
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for i in range(5000):
        obj.setObjectName(f"n{i % 7}")  # returns void
        obj.blockSignals(False)
    after = sys.getrefcount(None)
    # Immortal None (3.12+) reports a huge constant; on 3.11 the count must not fall.
    assert after >= before - 50, f"None refcount fell from {before} to {after}"


# What a fast start must not load: each of these costs 0.1-1 s (scipy.signal alone about 1 s);
# the skills package (its loader, flow and vocabulary, about 30 ms) loads when a command runs.
HEAVY = ("numpy", "scipy", "pandas", "matplotlib", "neurokit2", "PySide6", "pyqtgraph", "bleak",
         "pylsl", "skills")


def _heavy_modules_after(code: str) -> list[str]:
    """The heavy top-level packages in ``sys.modules`` after running ``code`` afresh."""
    probe = (
        f"{code}\n"
        "import sys\n"
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [name for name in out.stdout.strip().split(",") if name]


def test_building_the_command_line_loads_no_heavy_package() -> None:
    """`trm-bio --help` and every parser stay fast: a command's modules load when it runs."""
    code = (
        "import argparse\n"
        "from trm_bio.cli import build_parser\n"
        "parser = build_parser()\n"
        "subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]\n"
        "assert len(subs[0].choices) > 10, sorted(subs[0].choices)\n"
        "for sub in subs[0].choices.values():\n"
        "    sub.format_help()\n"
    )
    assert _heavy_modules_after(code) == []


def test_scenario_names_are_listed_without_scipy() -> None:
    """The app and the command line list the simulated scenarios; scipy loads when one runs."""
    code = "from devices.simulated import SCENARIOS\nassert 'calm' in SCENARIOS\n"
    assert "scipy" not in _heavy_modules_after(code)


# What the window's first screen must not wait for (DESIGN.md; issue 18, start to first beat):
# scipy alone costs most of a second, the reports' and other commands' packages as much again.
FIRST_SCREEN_HEAVY = ("scipy", "pandas", "matplotlib", "neurokit2", "wfdb", "pyedflib", "bleak",
                      "pylsl", "sounddevice")
FIRST_SCREEN_MODULES = ("trm_bio.report.pdf", "trm_bio.report.html", "trm_bio.report.plots",
                        "trm_bio.core.ecg_peaks", "trm_bio.core.accel_breathing")

#: Builds the app as ``trm-bio app`` does (offscreen, a scratch library and settings), ticks the
#: window by hand until the first beat is drawn, and prints what was loaded by then; then one
#: more tick, which starts loading the analysis' later modules, and whether they came.
_FIRST_SCREEN = """
import sys, tempfile, time
from pathlib import Path
from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication
from trm_bio.app import build
from trm_bio.store.library import Library
from trm_bio.ui.settings import Settings, use_settings_folder

scratch = Path(tempfile.mkdtemp())
use_settings_folder(scratch / "settings")
app = QApplication(["trm-bio"])
library = Library.open(scratch / "lib.sqlite3")
settings = Settings(QSettings(str(scratch / "trm-bio.ini"), QSettings.Format.IniFormat))
window = build(library, settings=settings).window
window.tick_timer.stop()
window.show()
loop = QEventLoop()

def drawn():
    data = window.plots.rr_curve.xData
    return data is not None and len(data) > 0

deadline = time.monotonic() + 30
while not drawn() and time.monotonic() < deadline:
    QTimer.singleShot(10, loop.quit)
    loop.exec()
    window.tick()
assert drawn(), "no beat was drawn in 30 s"
heavy = {m.split(".")[0] for m in sys.modules} & set(HEAVY)
print("loaded=" + ",".join(sorted(heavy | {m for m in sys.modules if m.startswith(MODULES)})))
from trm_bio.controller import LATER_MODULES

window.tick()
while not all(m in sys.modules for m in LATER_MODULES) and time.monotonic() < deadline:
    time.sleep(0.01)
print("missing=" + ",".join(m for m in LATER_MODULES if m not in sys.modules))
window.close()
library.close()
"""


def test_the_windows_first_screen_loads_no_heavy_module(tmp_path: Path) -> None:
    """`trm-bio app` draws its first beat without scipy, the reports or the other commands'
    packages (each costs 0.1-1 s of the start); the analysis' later modules load after it."""
    code = f"HEAVY = {FIRST_SCREEN_HEAVY!r}\nMODULES = {FIRST_SCREEN_MODULES!r}\n{_FIRST_SCREEN}"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    said = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    assert "loaded" in said, out.stderr
    assert said["loaded"] == "", f"the first screen loaded {said['loaded']}"
    assert out.returncode == 0, out.stderr
    assert said["missing"] == "", f"{said['missing']} did not load after the first beat"
