"""A group session's summary as plain data: each participant's figures and the group's.

Each participant's figures are their own session's, read exactly as the single-session
summary and report read them (:func:`trm_bio.history.analyse_session`): time in the resilient
band by time (:mod:`trm_bio.core.zone_time`: seconds, pauses and time without a reading set
apart), the shift after each practice moment (a skill started, each of its steps, Help
Now!; measured by :func:`trm_bio.core.effects.summarize_session`, as the effects are) and
what helped (:func:`trm_bio.report.data.what_helped`: followed by a move toward the band and
never by the indicator moving away).

The group's figures name nobody: the median and range of the time in the band, and for each
practice moment how many participants settled after it (the what-helped rule: a move toward
the band, the indicator not moving away). :meth:`GroupSummary.group_dict` is all a group
report shows; per-seat rows ("participant 3", never a name) only when asked for.

No Qt and no files here: the report writers, the command line and the summary dialog read
the same :class:`GroupSummary`.
"""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trm_bio.core import effects
from trm_bio.core.events import FlowPayload
from trm_bio.errors import TrmBioError
from trm_bio.report.data import Helped, moved_away, what_helped
from trm_bio.report.text import display_name, fmt_clock
from trm_bio.store.paths import refuse_symlink
from trm_bio.zone_display import duration_words

if TYPE_CHECKING:
    from trm_bio.history import SessionAnalysis
    from trm_bio.store.library import GroupInfo, Library, SessionInfo

log = logging.getLogger(__name__)

#: What a group's "what helped" may list: the practice the group shares, never one
#: participant's own words (a sensation, a resource).
SHARED_HELP = ("skill", "helpnow")


def seat_label(seat: int | None) -> str:
    """A participant's place without their name: "participant 3" (seat 2, 0-based)."""
    return "participant ?" if seat is None else f"participant {seat + 1}"


def participant_label(info: SessionInfo, seat: int) -> str:
    """What the facilitator's screen calls a participant: their person's name, else
    "Participant N"."""
    return info.person_name or f"Participant {seat + 1}"


@dataclass(frozen=True)
class MomentShift:
    """What followed one practice moment in one participant's session.

    ``key`` is the same for the same moment in every session of the group: the kind, the
    label and how many times that label had come before in the session.
    """

    kind: str  # "skill", "step" or "helpnow"
    label: str  # display name, e.g. "Tracking, step 2"
    occurrence: int  # 0 for its first time in the session
    time_s: float  # beat clock (s)
    direction: str  # "toward", "away", "none", "unknown" (:mod:`trm_bio.core.shifts`)
    settled: bool  # toward the band and the indicator did not move away after it

    @property
    def key(self) -> tuple[str, str, int]:
        return self.kind, self.label, self.occurrence


def practice_events(result: SessionAnalysis) -> list[effects.EffectEvent]:
    """A session's practice moments (skills, their steps, Help Now!) as effect events."""
    skill = ""
    out = []
    for event in result.events:
        d = event.details
        if not isinstance(d, FlowPayload):
            continue
        if d.kind == "skill_started":
            skill = d.detail or display_name("skill", str(d.skill_id))
            out.append(effects.EffectEvent(event.time_s, "skill", skill))
        elif d.kind == "step_started":
            label = f"{skill or 'skill'}, step {(d.step_index or 0) + 1}"
            out.append(effects.EffectEvent(event.time_s, "step", label))
        elif d.kind in ("helpnow", "helpnow_strategy"):
            name = display_name("helpnow", d.detail) if d.detail else "Help Now!"
            out.append(effects.EffectEvent(event.time_s, "helpnow", name))
    return out


def moment_shifts(result: SessionAnalysis) -> list[MomentShift]:
    """The shift after each practice moment of one analysed session, in time order.

    Measured by :func:`trm_bio.core.effects.summarize_session` with the session's own
    beats, window metrics and regulation trace, as its effects are.
    """
    events = practice_events(result)
    if not events:
        return []
    m = result.analysis.metrics
    measured = effects.summarize_session(
        result.beats.times_s, m["HR_20s"], m["RMSSD"], result.regulation, events
    ).shifts
    direction = {id(event): shift.direction for event, shift in measured}
    times, zone = result.regulation.times_s, result.regulation.zone
    seen: dict[tuple[str, str], int] = {}
    out = []
    for event in events:
        n = seen.get((event.kind, event.label), 0)
        seen[(event.kind, event.label)] = n + 1
        d = direction.get(id(event), "unknown")
        settled = d == "toward" and not moved_away(times, zone, event.time_s)
        out.append(MomentShift(event.kind, event.label, n, event.time_s, d, settled))
    return out


@dataclass(frozen=True)
class ParticipantSummary:
    """One participant's figures (their own session's); ``label`` is for the facilitator's
    screen only, never for a group report."""

    seat: int  # 0-based
    label: str
    session_id: int
    zone_seconds: dict[str, float]  # "resilient", "high", "low", "unknown", "gaps" (s)
    moments: tuple[MomentShift, ...] = ()
    helped: tuple[Helped, ...] = ()
    error: str | None = None  # why the session could not be analysed

    @property
    def resilient_s(self) -> float:
        """Seconds the indicator read the resilient band (s)."""
        return float(self.zone_seconds.get("resilient", 0.0))

    @property
    def known_s(self) -> float:
        """Seconds with a zone reading (s)."""
        return float(sum(self.zone_seconds.get(k, 0.0) for k in ("resilient", "high", "low")))

    @property
    def resilient_share(self) -> float | None:
        """Share (0-1) of the time with a reading in the band; None without a reading."""
        return self.resilient_s / self.known_s if self.known_s > 0 else None

    @property
    def settled_count(self) -> int:
        return sum(m.settled for m in self.moments)


@dataclass(frozen=True)
class MomentFigure:
    """One practice moment across the group: how many participants settled after it."""

    kind: str
    label: str
    occurrence: int
    time_s: float  # the earliest participant's time of it (s, the group's beat clock)
    n_participants: int  # whose session holds it
    n_measured: int  # whose shift could be measured
    n_settled: int
    n_away: int


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"min": None, "median": None, "max": None}
    # min first: callers unpack (low, middle, high)
    return {"min": min(values), "median": float(statistics.median(values)), "max": max(values)}


@dataclass(frozen=True)
class GroupSummary:
    """A group session: its participants' figures and the group's (see the module doc)."""

    group_id: int
    name: str
    started_utc: str
    participants: tuple[ParticipantSummary, ...]

    @property
    def measured(self) -> list[ParticipantSummary]:
        return [p for p in self.participants if p.error is None]

    def moments(self) -> list[MomentFigure]:
        """Each practice moment of the group with how many settled after it, in time order."""
        found: dict[tuple[str, str, int], list[MomentShift]] = {}
        for p in self.measured:
            for m in p.moments:
                found.setdefault(m.key, []).append(m)
        figures = [
            MomentFigure(
                kind=key[0],
                label=key[1],
                occurrence=key[2],
                time_s=min(m.time_s for m in ms),
                n_participants=len(ms),
                n_measured=sum(m.direction != "unknown" for m in ms),
                n_settled=sum(m.settled for m in ms),
                n_away=sum(m.direction == "away" for m in ms),
            )
            for key, ms in found.items()
        ]
        return sorted(figures, key=lambda f: f.time_s)

    def helped_counts(self) -> list[tuple[str, str, int]]:
        """(kind, name, how many participants it helped), most first: no one named.

        Only what the group practised together (skills, Help Now!): a sensation's or a
        resource's words are one participant's own, and stay in their own report.
        """
        counts: dict[tuple[str, str], int] = {}
        for p in self.measured:
            for h in {(str(h.kind), h.label) for h in p.helped if h.kind in SHARED_HELP}:
                counts[h] = counts.get(h, 0) + 1
        return sorted(
            ((kind, label, n) for (kind, label), n in counts.items()), key=lambda t: (-t[2], t[1])
        )

    def group_dict(self, *, seats: bool = False) -> dict[str, Any]:
        """The group's figures, JSON-ready, naming nobody; ``seats``: also a row per seat
        ("participant 3"), still without names."""
        measured = self.measured
        shares = [p.resilient_share for p in measured if p.resilient_share is not None]
        document: dict[str, Any] = {
            "format": "trm-bio group summary",
            "version": 1,
            "group": self.group_id,
            "name": self.name,
            "started_utc": self.started_utc,
            "participants": len(self.participants),
            "measured": len(measured),
            "resilient_s": _spread([p.resilient_s for p in measured]),
            "resilient_share": _spread([s for s in shares if math.isfinite(s)]),
            "moments": [
                {
                    "kind": f.kind, "label": f.label, "occurrence": f.occurrence,
                    "time_s": f.time_s, "participants": f.n_participants,
                    "measured": f.n_measured, "settled": f.n_settled, "away": f.n_away,
                }
                for f in self.moments()
            ],
            "helped": [
                {"kind": kind, "label": label, "participants": n}
                for kind, label, n in self.helped_counts()
            ],
        }
        if seats:
            document["seats"] = [self.seat_dict(p) for p in self.participants]
        return document

    @staticmethod
    def seat_dict(p: ParticipantSummary) -> dict[str, Any]:
        """One seat's figures without the participant's name or session."""
        return {
            "seat": seat_label(p.seat),
            "resilient_s": p.resilient_s,
            "known_s": p.known_s,
            "resilient_share": p.resilient_share,
            "settled": p.settled_count,
            "moments": len(p.moments),
            "measured": p.error is None,
        }

    # -- the words every view of the group shows (reports, dialog, command line) ----------
    def band_sentence(self) -> str:
        """The group's time in the resilient band in one sentence, naming nobody."""
        measured = self.measured
        n = len(self.participants)
        if not measured:
            return f"None of the {n} participants' sessions could be read."
        seconds = [p.resilient_s for p in measured]
        shares = [p.resilient_share for p in measured if p.resilient_share is not None]
        low, mid, high = (duration_words(v or 0.0) for v in _spread(seconds).values())
        text = (
            f"Time in the resilient band, by the indicator (seconds, not beats; pauses and time "
            f"without a reading left out), across {len(measured)} of {n} participants: median "
            f"{mid}, from {low} to {high}"
        )
        if shares:
            s_low, s_mid, s_high = (100 * (v or 0.0) for v in _spread(shares).values())
            text += (
                f"; as a share of the time with a reading, median {s_mid:.0f} %, from "
                f"{s_low:.0f} % to {s_high:.0f} %"
            )
        return text + "."

    def moment_rows(self) -> list[list[str]]:
        """[time, what, settled after it, moved away] for each practice moment."""
        kinds = {"skill": "skill started", "step": "step", "helpnow": "Help Now!"}
        return [
            [
                fmt_clock(f.time_s),
                f"{kinds.get(f.kind, f.kind)}: {f.label}" if f.kind != "helpnow" or
                f.label != "Help Now!" else "Help Now!",
                f"{f.n_settled} of {f.n_measured}" if f.n_measured else "not measurable",
                str(f.n_away),
            ]
            for f in self.moments()
        ]

    def helped_rows(self) -> list[list[str]]:
        """[what, name, participants it helped] (most first), naming nobody."""
        n = len(self.measured)
        return [
            [kind, label, f"{count} of {n}"] for kind, label, count in self.helped_counts()
        ]

    def seat_rows(self, *, names: bool = False) -> list[list[str]]:
        """[who, time in band, share, settled after] per seat; ``names`` only on the
        facilitator's own screen ("participant 3" otherwise)."""
        rows = []
        for p in self.participants:
            who = p.label if names else seat_label(p.seat)
            if p.error is not None:
                rows.append([who, "not read", "–", "–"])
                continue
            share = p.resilient_share
            rows.append([
                who,
                duration_words(p.resilient_s),
                "–" if share is None else f"{100 * share:.0f} %",
                f"{p.settled_count} of {len(p.moments)}",
            ])
        return rows

    def as_dict(self) -> dict[str, Any]:
        """Everything, with each participant's label and session: for the facilitator
        (``trm-bio`` JSON output, the summary dialog), never for a group report."""
        return {
            **self.group_dict(),
            "sessions": [
                {
                    "seat": p.seat + 1,
                    "label": p.label,
                    "session": p.session_id,
                    "zone_seconds": p.zone_seconds,
                    "resilient_share": p.resilient_share,
                    "settled": p.settled_count,
                    "moments": [
                        {"kind": m.kind, "label": m.label, "time_s": m.time_s,
                         "direction": m.direction, "settled": m.settled}
                        for m in p.moments
                    ],
                    "helped": [h.label for h in p.helped],
                    "error": p.error,
                }
                for p in self.participants
            ],
        }


def participant_summary(result: SessionAnalysis, seat: int) -> ParticipantSummary:
    """One participant's figures from their analysed session."""
    return ParticipantSummary(
        seat=seat,
        label=participant_label(result.info, seat),
        session_id=result.info.id,
        zone_seconds=result.zone_time().to_dict(),
        moments=tuple(moment_shifts(result)),
        helped=tuple(what_helped(result)),
    )


def _seats(infos: list[SessionInfo]) -> list[tuple[int, SessionInfo]]:
    return [
        (info.group_seat if info.group_seat is not None else i, info)
        for i, info in enumerate(infos)
    ]


def group_summary(library: Library, group_id: int) -> GroupSummary:
    """The summary of a stored group session (each session analysed, as ``show`` does).

    Raises
    ------
    TrmBioError
        One sentence when there is no such group or it holds no session. A participant
        whose session cannot be analysed keeps a row with the reason.
    """
    from trm_bio.history import analyse_session

    group = library.get_group(group_id)
    infos = library.group_sessions(group_id)
    if not infos:
        raise TrmBioError(f"group {group_id} holds no session")
    participants = []
    for seat, info in _seats(infos):
        try:
            participants.append(participant_summary(analyse_session(library, info.id), seat))
        except TrmBioError as exc:
            log.warning("group %d: session %d not analysed: %s", group_id, info.id, exc)
            participants.append(
                ParticipantSummary(seat, participant_label(info, seat), info.id, {},
                                   error=str(exc))
            )
    return GroupSummary(group.id, group.name, group.started_utc, tuple(participants))


def group_sentence(library: Library, info: SessionInfo) -> str | None:
    """For a participant's own report: that the session was part of a group session, and
    how many took part, naming no one else (None for a session recorded alone)."""
    if info.group_id is None:
        return None
    try:
        group: GroupInfo = library.get_group(info.group_id)
    except TrmBioError:
        return None
    others = len(group.session_ids) - 1
    with_whom = (
        f"with {others} other participant{'s' if others != 1 else ''}" if others > 0
        else "with no other participant's session kept"
    )
    return f"This session was part of a group session ({with_whom})."


def save_participant_report(
    library: Library, session_id: int, path: str | Path, fmt: str | None = None
) -> Path:
    """Write one participant's own report: their session's report, as a session alone
    has it, with a line saying it was part of a group session (no one else named)."""
    from trm_bio.history import analyse_session
    from trm_bio.report import save_session_report
    from trm_bio.store.person_resonance import latest_for_name

    result = analyse_session(library, session_id)
    resonance = latest_for_name(library, result.info.person_name)
    return save_session_report(
        result, path, fmt, resonance, group_sentence(library, result.info)
    )


def participant_report_paths(
    library: Library, group_id: int, folder: str | Path, fmt: str = "html"
) -> list[tuple[int, Path]]:
    """(session id, file) of each participant's own report in ``folder``: named by seat and
    session, never by name (``seat-1-session-12-report.html``)."""
    return [
        (info.id, Path(folder) / f"seat-{seat + 1}-session-{info.id}-report.{fmt}")
        for seat, info in _seats(library.group_sessions(group_id))
    ]


def save_participant_reports(
    library: Library, group_id: int, folder: str | Path, fmt: str = "html"
) -> list[Path]:
    """Each participant's own report into ``folder`` (made, private, when absent), named as
    :func:`participant_report_paths` says."""
    folder = Path(folder)
    refuse_symlink(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return [
        save_participant_report(library, session_id, out, fmt)
        for session_id, out in participant_report_paths(library, group_id, folder, fmt)
    ]


__all__ = [
    "GroupSummary",
    "MomentFigure",
    "MomentShift",
    "ParticipantSummary",
    "group_sentence",
    "group_summary",
    "moment_shifts",
    "participant_label",
    "participant_report_paths",
    "participant_summary",
    "practice_events",
    "save_participant_report",
    "save_participant_reports",
    "seat_label",
]
