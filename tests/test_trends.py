"""Progress across sessions: a dozen simulated sessions with a scripted improvement (resting
heart rate falling, RMSSD rising, a stress episode shrinking session by session), recorded
through the live pipeline into a real library; the trends must show the improvement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from devices.physiology import Profile, Scenario
from devices.simulated import simulate
from tests.cli_run import Outcome, one_sentence_error, run
from trm_bio.history import analyse_session
from trm_bio.report import save_trends_report
from trm_bio.report.trends import person_trends, trends_table
from trm_bio.session import Session
from trm_bio.store.library import Library
from trm_bio.store.recorder import Recorder

START_NS = 1_000_000_000_000
N_SESSIONS = 12
DURATION_S = 600.0
HR_STEP_BPM = -0.6  # scripted change of resting heart rate per session
FIRST = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def improving_scenario(k: int) -> Scenario:
    """Session k: calmer at rest than session k-1, and a smaller stress rise mid-session."""
    rest_hr = 72.0 + HR_STEP_BPM * k
    rest_rsa = 28.0 + 2.0 * k
    bump = 1.0 - k / (N_SESSIONS - 1)  # 1 in the first session, 0 in the last
    # The stress rise starts after the 5 minutes the session-start reference takes.
    knots = (0.0, 340.0, 400.0, 460.0, 540.0)

    def profile(rest: float, stressed: float) -> Profile:
        peak = rest + bump * (stressed - rest)
        return Profile(knots, (rest, rest, peak, peak, rest), "smooth")

    return Scenario(
        name=f"improving-{k}",
        description="scripted improvement",
        duration_s=DURATION_S,
        heart_rate_bpm=profile(rest_hr, rest_hr + 24.0),
        breaths_per_min=profile(12.0, 20.0),
        rsa_ms=profile(rest_rsa, 8.0),
        mayer_ms=Profile.constant(12.0),
        noise_ms=profile(7.0, 4.0),
    )


def record(library: Library, person_id: int, k: int) -> int:
    started = (FIRST + timedelta(days=3 * k)).isoformat()
    session_id = library.create_session(
        person_id, "simulated", "sim", start_ns=START_NS, started_utc=started
    )
    session = Session(START_NS, recorder=Recorder(library, session_id))
    items = list(simulate(improving_scenario(k), seed=k, duration_s=DURATION_S,
                          start_ns=START_NS))
    events = [
        (320.0, "flow", {"kind": "skill_started", "skill_id": "grounding", "detail": "Grounding"}),
        (480.0, "resource", {"text": "the sea at dawn"}),
        (520.0, "zone_rating", {"zone": "resilient" if k > 5 else "high", "note": ""}),
    ]
    chunk = 60
    for i in range(0, len(items), chunk):
        part = items[i : i + chunk]
        session.process(part)
        now_s = (part[-1].host_ns - START_NS) / 1e9
        while events and events[0][0] <= now_s:
            t, kind, payload = events.pop(0)
            session.log(kind, payload, START_NS + int(t * 1e9), time_s=t)
        session.tick(part[-1].host_ns)
    session.close()
    library.finish_session(session_id, duration_s=DURATION_S)
    return session_id


@pytest.fixture(scope="module")
def improving_library(tmp_path_factory) -> tuple[Path, list[int]]:
    path = tmp_path_factory.mktemp("trends") / "library.sqlite3"
    with Library.open(path) as library:
        person = library.add_person("C-12")
        library.add_person("someone else")
        ids = [record(library, person, k) for k in range(N_SESSIONS)]
    return path, ids


def test_trends_show_the_scripted_improvement(improving_library) -> None:
    path, ids = improving_library
    with Library.open(path) as library:
        trends = person_trends(library, "C-12")
    assert [p.session for p in trends.sessions] == ids
    hr = trends.trends["baseline_hr_bpm"]
    rmssd = trends.trends["baseline_rmssd_ms"]
    resilient = trends.trends["resilient_share"]
    # Resting HR was scripted to fall 0.6 bpm per session (the model's mean runs ~1 % high).
    assert hr.slope_per_session == pytest.approx(HR_STEP_BPM, abs=0.25)
    assert hr.last_mean < hr.first_mean - 4.0
    assert rmssd.slope_per_session > 0.5 and rmssd.last_mean > rmssd.first_mean * 1.3
    # The stress episode shrinks to nothing: more of each later session in the band.
    assert resilient.slope_per_session > 0.02
    assert resilient.last_mean > resilient.first_mean + 0.2
    assert trends.sessions[-1].resilient_share > 0.9
    labels = {(h.kind, h.label) for h in trends.helpers}
    assert ("skill", "Grounding") in labels and ("resource", "the sea at dawn") in labels
    assert all(h.n_sessions == N_SESSIONS for h in trends.helpers)
    text = trends_table(trends)
    assert "C-12" in text and text.count("\n") > N_SESSIONS


def test_trends_use_the_cache_and_match_a_recompute(improving_library) -> None:
    path, _ = improving_library
    with Library.open(path) as library:
        cached = person_trends(library, "C-12").as_dict()
        fresh = person_trends(library, "C-12", recompute=True).as_dict()
    assert cached == fresh


def test_trends_count_time_in_the_band_and_refresh_a_summary_cached_by_beats(
    improving_library,
) -> None:
    path, ids = improving_library
    with Library.open(path) as library:
        analysis = analyse_session(library, ids[0])
        by_time = analysis.zone_time().shares()["resilient"]
        assert person_trends(library, "C-12").sessions[0].resilient_share == pytest.approx(
            by_time
        )
        # A summary cached before shares were counted by time (no "zone_seconds") is not
        # trusted: the session is analysed again.
        stale = analysis.as_dict()
        del stale["zone_seconds"]
        stale["zones"] = {"low": 0.0, "resilient": 0.125, "high": 0.875}
        library.store_summary(ids[0], stale)
        again = person_trends(library, "C-12").sessions[0].resilient_share
    assert again == pytest.approx(by_time) and again != 0.125


def test_trends_command_json_and_html(improving_library, tmp_path) -> None:
    path, ids = improving_library

    def trm(*args: str) -> Outcome:
        return run(*args, library=path)

    out = trm("trends", "C-12", "--format", "json")
    assert out.code == 0, out.err
    document = json.loads(out.out)
    with Library.open(path) as library:
        assert document == person_trends(library, "C-12").as_dict()
    assert [s["session"] for s in document["sessions"]] == ids
    html_path = tmp_path / "trends.html"
    out = trm("trends", "C-12", "--format", "html", "-o", str(html_path))
    assert out.code == 0, out.err
    html = html_path.read_text()
    assert "http://" not in html and "https://" not in html
    assert html.count("data-session=") == N_SESSIONS
    missing = trm("trends", "nobody")
    assert missing.code == 1 and "nobody" in one_sentence_error(missing)


def test_trends_pdf(improving_library, tmp_path) -> None:
    path, _ = improving_library
    with Library.open(path, readonly=True) as library:
        trends = person_trends(library, "C-12")
    pdf = save_trends_report(trends, tmp_path / "trends.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_history_view_draws_the_trends(improving_library, qtbot) -> None:
    from trm_bio.ui.history_view import HistoryView

    path, _ = improving_library
    with Library.open(path, readonly=True) as library:
        trends = person_trends(library, "C-12")
    view = HistoryView(trends)
    qtbot.addWidget(view)
    view.show()
    _, y = view.curves["baseline_hr_bpm"].getData()
    np.testing.assert_allclose(y, [p.baseline_hr_bpm for p in trends.sessions])
    _, share = view.curves["resilient_share"].getData()
    np.testing.assert_allclose(share, [100 * p.resilient_share for p in trends.sessions])
    assert view.helpers.rowCount() == len(trends.helpers) >= 2
    with qtbot.waitSignal(view.report_requested, timeout=1000):
        view.save_button.click()
