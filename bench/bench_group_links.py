"""Group links: 8 emulated straps on one air, 20 drops spread over them, one shared loop.

The Bluetooth rig (tests/support/group_rig.py): eight emulated straps on one bumble air,
one central, a StrapGroup of eight BleStraps on one event loop. Drops go to one strap at a
time, in turn over the straps and over the kinds (the link drops; the strap goes out of
reach and comes back; the next two connections are refused; the next two are dropped during
set-up) while every strap keeps notifying. Each strap's RR values carry its number and a
running count, so a beat that reached another participant, or never arrived, is counted.

Printed: beats sent while linked (notified on a subscribed link), beats received, beats
crossed between participants (target 0), beats lost while linked (target 0), and the
reconnect time per drop, from the strap being reachable again (at once, or when it comes
back) to the new subscription, median and max (s). ``python -m bench group_links``.
"""

from __future__ import annotations

import logging
import statistics
import time

from tests.support.bumble_air import Air
from tests.support.group_rig import DROP_KINDS, GroupRig

STRAPS = 8
DROPS = 20
WAIT_S = 20.0  # bound on one strap coming back (s); a failure names the strap


def run(straps: int = STRAPS, drops: int = DROPS) -> dict[str, float]:
    """Run the rig once; the figures printed, by name."""
    air = Air()
    try:
        rig = GroupRig(air, straps, connect_timeout_s=5.0, scan_timeout_s=5.0)
        try:
            rig.start()
            rig.wait_all_streaming(WAIT_S)
            # Strap i gets drop i, i + straps, ...; the kind turns the other way round, so
            # every strap meets more than one kind.
            for n in range(drops):
                rig.send_round()
                rig.drop(n % straps, DROP_KINDS[(n // straps + n) % len(DROP_KINDS)], WAIT_S)
            for _ in range(3):
                rig.send_round()
            rig.settle(WAIT_S)
        finally:
            rig.close()
        times = [s for track in rig.tracks for s in track.reconnect_s]
        return {
            "straps": straps,
            "drops": sum(track.drops for track in rig.tracks),
            "sent": sum(track.sent_linked() for track in rig.tracks),
            "received": sum(len(track.received()) for track in rig.tracks),
            "crossed": sum(track.crossed() for track in rig.tracks),
            "lost": sum(track.lost() for track in rig.tracks),
            "unasked": len(rig.unasked_reconnections()),
            "median_s": statistics.median(times),
            "max_s": max(times),
        }
    finally:
        air.close()


def main() -> None:
    # bumble's controller warns of every packet for a link just closed: expected with drops.
    logging.getLogger("bumble").setLevel(logging.ERROR)
    started = time.perf_counter()
    figures = run()
    wall_s = time.perf_counter() - started

    def verdict(ok: bool) -> str:
        return "pass" if ok else "FAIL"

    print(f"straps                                   {figures['straps']:.0f}")
    print(f"drops (spread over the straps)           {figures['drops']:.0f}")
    print(f"beats sent while linked                  {figures['sent']:.0f}")
    print(f"beats received                           {figures['received']:.0f}")
    for label, key in (
        ("beats crossed between participants", "crossed"),
        ("beats lost while linked", "lost"),
        ("reconnecting on a strap not dropped", "unasked"),
    ):
        value = figures[key]
        print(f"{label:<41}{value:.0f}   target 0: {verdict(value == 0)}")
    median_s, max_s = figures["median_s"], figures["max_s"]
    print(f"reconnect time median / max (s)          {median_s:.3f} / {max_s:.3f}")
    print(f"(wall time {wall_s:.1f} s)")


if __name__ == "__main__":
    main()
