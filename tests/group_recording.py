"""A group session recorded for the tests: simulated participants through the real
GroupController into a real library, fast.

The simulated straps run ``SPEED`` times real time; the controller's clock runs at the same
pace, so what the facilitator does (a skill for everyone, Help Now!, a sensation for one)
lands at the virtual time it is done, as it would live.
"""

from __future__ import annotations

import time
from pathlib import Path

from trm_bio.group import GroupController, Participant
from trm_bio.sources import open_group_sources
from trm_bio.store.library import Library

SPEED = 300.0
NAMES = ("Ana Lima", "Ben Okafor", "Chi Wu")


def record_group(
    path: Path, names: tuple[str, ...] = NAMES, *, duration_s: float = 900.0, seed: int = 3
) -> tuple[int, list[int]]:
    """Record a group session into the library at ``path``; (group id, session ids)."""
    t0 = time.monotonic_ns()
    with Library.open(path, create=True) as library:
        group = GroupController(
            library, clock_ns=lambda: t0 + round((time.monotonic_ns() - t0) * SPEED)
        )
        sources, on_stop = open_group_sources(
            "simulated", people=len(names), scenario="helpnow", seed=seed, speed=SPEED,
            duration_s=duration_s,
        )
        group_id = group.start_live(
            sources, [Participant(n) for n in names], name="Tuesday evening",
            analyse_live=False, on_stop=on_stop,
        )
        assert group_id is not None
        plan = [
            (duration_s / 3, lambda: group.start_skill(1)),
            (duration_s * 0.72, lambda: group.log_sensation("pleasant", ("warm",), seat=1)),
            (duration_s * 0.78, group.help_now),
        ]
        while True:
            first = group.members[0].source
            assert first is not None
            first.wait(0.05)
            group.poll()
            while plan and group.now_s() >= plan[0][0]:
                plan.pop(0)[1]()
            if all(not m.source.running and not m.source.pending for m in group.members):
                group.poll()
                break
        kept = group.stop()
        assert not plan, "the session ended before the facilitator's plan"
    return group_id, kept
