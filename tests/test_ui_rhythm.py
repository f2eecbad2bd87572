"""The live screen says when the heart rhythm makes HRV meaningless, in plain words."""

from __future__ import annotations

import numpy as np

from tests import recordings
from tests.ui_app import open_app
from trm_bio.store.imports import import_rr_recording
from trm_bio.store.library import Library
from trm_bio.store.rr_files import read_rr_file


def _replay_from(qtbot, tmp_path, rr_ms: np.ndarray, seek_s: float):
    """The window replaying ``rr_ms`` as a stored session, from ``seek_s`` on."""
    path = tmp_path / "beats.txt"
    path.write_text("\n".join(f"{v:.1f}" for v in rr_ms))
    library = Library.open(tmp_path / "lib.sqlite3")
    session_id = import_rr_recording(library, read_rr_file(path))
    library.close()
    window = open_app(qtbot, tmp_path, replay=session_id).window
    window.seek(seek_s)  # rebuilt from the recording: the windows are full at once
    qtbot.waitUntil(lambda: window.controller.session.last is not None, timeout=10000)
    return window


def test_atrial_fibrillation_shows_irregular_rhythm_instead_of_hrv(qtbot, tmp_path, data_dir):
    window = _replay_from(qtbot, tmp_path, recordings.mitdb_rhythm("219").rr_ms[:500], 200.0)
    readouts = window.readouts
    qtbot.waitUntil(lambda: "irregular" in readouts.rhythm.text(), timeout=10000)
    assert readouts.rhythm.isVisible()
    assert readouts.values["rmssd"].text() == "not shown"
    assert readouts.hr.text() not in ("", "–")  # the heart rate still shows


def test_sinus_rhythm_shows_hrv_and_no_rhythm_note(qtbot, tmp_path, data_dir):
    window = _replay_from(qtbot, tmp_path, recordings.mitdb_rhythm("100").rr_ms[:500], 200.0)
    readouts = window.readouts
    qtbot.waitUntil(lambda: readouts.values["rmssd"].text().endswith(" ms"), timeout=10000)
    assert not readouts.rhythm.isVisible()
