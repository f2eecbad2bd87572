"""The group summary and reports (trm_bio/report/group.py) on a real library holding a
simulated group recorded through the GroupController: each participant's figures are their
own session's, the group's name nobody, and each participant's report names no one else."""

from __future__ import annotations

import json
import re
import stat
import statistics
from pathlib import Path

import pytest

from tests.group_recording import NAMES, record_group
from trm_bio.group import GroupController
from trm_bio.history import analyse_session
from trm_bio.report import save_group_report
from trm_bio.report.data import what_helped
from trm_bio.report.group import (
    group_summary,
    moment_shifts,
    save_participant_reports,
)
from trm_bio.store.library import Library


@pytest.fixture(scope="module")
def group_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, list[int]]:
    path = tmp_path_factory.mktemp("group") / "library.sqlite3"
    group_id, kept = record_group(path)
    return path, group_id, kept


def test_each_participants_figures_are_their_own_sessions(group_library) -> None:
    path, group_id, kept = group_library
    assert len(kept) == len(NAMES)
    with Library.open(path) as library:
        summary = group_summary(library, group_id)
        results = [analyse_session(library, sid) for sid in kept]
    assert [p.label for p in summary.participants] == list(NAMES)
    assert [p.session_id for p in summary.participants] == kept
    for p, result in zip(summary.participants, results, strict=True):
        own = result.zone_time()
        assert p.zone_seconds == own.to_dict()  # by time, pauses and unknown apart
        assert p.resilient_s == own.seconds["resilient"]
        assert p.known_s == pytest.approx(own.known_s)
        assert p.helped == tuple(what_helped(result))
        # A skill's shift is the one the session's own effects measured for it.
        effects = {(e.kind, e.time_s): s.direction for e, s in result.effects.shifts}
        skills = [m for m in p.moments if m.kind in ("skill", "helpnow")]
        assert skills, "the skill and Help Now! were practised together"
        for m in skills:
            assert effects[(m.kind, m.time_s)] == m.direction
    # The whole group did the skill and Help Now!; steps came from the skill's own timer.
    kinds = {m.kind for p in summary.participants for m in p.moments}
    assert kinds == {"skill", "step", "helpnow"}
    # The sensation was logged for participant 2 alone: only their what-helped can hold it.
    for seat, p in enumerate(summary.participants):
        assert seat == 1 or all(h.kind != "sensation" for h in p.helped)


def test_group_figures_aggregate_the_participants(group_library) -> None:
    path, group_id, _kept = group_library
    with Library.open(path) as library:
        summary = group_summary(library, group_id)
    document = summary.group_dict()
    seconds = [p.resilient_s for p in summary.participants]
    assert document["participants"] == 3
    assert document["resilient_s"]["median"] == statistics.median(seconds)
    assert document["resilient_s"]["min"] == min(seconds)
    assert document["resilient_s"]["max"] == max(seconds)
    by_key = {}
    for p in summary.participants:
        for m in p.moments:
            by_key.setdefault(m.key, []).append(m)
    for figure in summary.moments():
        members = by_key[(figure.kind, figure.label, figure.occurrence)]
        assert figure.n_participants == len(members)
        assert figure.n_settled == sum(m.settled for m in members)
    helpnow = [f for f in summary.moments() if f.kind == "helpnow"]
    assert len(helpnow) == 1 and helpnow[0].n_participants == 3


def test_the_group_report_names_nobody(group_library, tmp_path) -> None:
    path, group_id, _kept = group_library
    with Library.open(path) as library:
        summary = group_summary(library, group_id)
    html = save_group_report(summary, tmp_path / "group.html", seats=True).read_text()
    pdf = save_group_report(summary, tmp_path / "group.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    for written in (tmp_path / "group.html", pdf):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    for name in NAMES:
        for part in name.split():
            assert part not in html
    assert "Tuesday evening" in html  # the group's own name
    # Participant 2's own sensation helped them; its words stay in their own report.
    assert ("sensation", "warm") in {(h.kind, h.label) for h in summary.participants[1].helped}
    assert "warm" not in html
    assert "participant 3" in html  # the seat rows asked for, without names
    data = html.split('id="trm-bio-data">')[1].split("</script>")[0]
    document = json.loads(data)
    assert "sessions" not in document  # no session ids that lead to a person
    assert all(set(row) >= {"seat", "resilient_s"} for row in document["seats"])
    plain = save_group_report(summary, tmp_path / "plain.html").read_text()
    assert "participant 3" not in plain  # per-seat rows are off by default


def test_each_participants_report_names_no_one_else(group_library, tmp_path) -> None:
    path, group_id, kept = group_library
    with Library.open(path) as library:
        written = save_participant_reports(library, group_id, tmp_path / "each")
    assert [p.name for p in written] == [
        f"seat-{seat + 1}-session-{sid}-report.html" for seat, sid in enumerate(kept)
    ]
    for name, report in zip(NAMES, written, strict=True):
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", report.read_text())
        assert name in text
        assert "part of a group session (with 2 other participants)" in text
        for other in NAMES:
            if other != name:
                assert other.split()[0] not in text, (name, other)
        assert stat.S_IMODE(report.stat().st_mode) == 0o600


def test_moments_come_from_the_sessions_flow_events(group_library) -> None:
    path, _group_id, kept = group_library
    with Library.open(path) as library:
        result = analyse_session(library, kept[0])
    moments = moment_shifts(result)
    steps = [m for m in moments if m.kind == "step"]
    assert steps and steps[0].label.endswith("step 1")
    assert [m.time_s for m in moments] == sorted(m.time_s for m in moments)


def test_replaying_a_group_keeps_the_group(group_library) -> None:
    """Stopping a group replay kept no new session; the group must not be removed for it."""
    path, group_id, kept = group_library
    with Library.open(path) as library:
        group = GroupController(library)
        group.open_replay(group_id, speed=1000.0)
        group.poll()
        assert group.stop() == []
        assert library.get_group(group_id).session_ids == tuple(kept)
