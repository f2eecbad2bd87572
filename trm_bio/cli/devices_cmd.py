"""``trm-bio scan`` and ``trm-bio stream``: find straps in reach, print beats live.

``stream`` prints one line per packet (time, heart rate, RR intervals, contact, battery) and
one per link change, flushed as it goes, until Ctrl-C, ``--duration`` or the source ends.
"""

from __future__ import annotations

import argparse
import sys
import time

from devices.errors import DeviceError
from devices.packet import LinkState, Packet, SensorContact, StatusEvent
from trm_bio.cli.options import (
    positive_seconds,
    refuse_old_spelling,
    source_from_args,
    source_options,
)

_CONTACT_WORDS = {
    SensorContact.CONTACT: "contact",
    SensorContact.NO_CONTACT: "NO contact",
    SensorContact.NOT_SUPPORTED: "contact n/a",
}
_BODY_LOCATIONS = {
    0: "other",
    1: "chest",
    2: "wrist",
    3: "finger",
    4: "hand",
    5: "ear lobe",
    6: "foot",
}
_POLL_S = 0.25  # how often the stream loop checks the clock while no item arrives


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scan`` and ``stream`` sub-commands."""
    scan_parser = subparsers.add_parser(
        "scan",
        help="list heart-rate straps in reach",
        description="Listen for Bluetooth heart-rate straps (Heart Rate Service) and list them.",
    )
    scan_parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=5.0,
        metavar="S",
        help="how long to listen, in seconds (default 5)",
    )
    scan_parser.set_defaults(func=_scan)

    stream_parser = subparsers.add_parser(
        "stream",
        parents=[source_options()],
        help="print the beats of a strap (or the simulated strap) live",
        description="Connect to a strap, run the simulated one, or subscribe to a Lab Streaming "
        "Layer stream (see `trm-bio lsl list`), and print every beat live.",
    )
    stream_parser.add_argument(
        "--duration",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="stop after S seconds of stream time (default: until Ctrl-C)",
    )
    # `stream --lsl NAME` subscribed; --lsl publishes on every other command.
    refuse_old_spelling(
        stream_parser,
        "--lsl",
        "`stream --lsl NAME` is now `stream --lsl-source NAME` (--lsl publishes, on every command)",
        takes_value=True,
    )
    stream_parser.set_defaults(func=_stream)


# -- scan ---------------------------------------------------------------------------------
def _scan(args: argparse.Namespace) -> int:
    from devices.ble import scan

    straps = scan(args.timeout)
    if not straps:
        print(f"trm-bio: no heart-rate strap answered within {args.timeout:g} s.", file=sys.stderr)
        return 1
    name_width = max(4, *(len(strap.name) for strap in straps))
    print(f"{'NAME':<{name_width}}  {'ADDRESS':<17}  RSSI (dBm)", flush=True)
    for strap in straps:
        print(
            f"{strap.name or '?':<{name_width}}  {strap.address:<17}  {strap.rssi:>10}", flush=True
        )
    return 0


# -- stream -------------------------------------------------------------------------------
def format_packet(packet: Packet, t_s: float, battery_percent: int | None) -> str:
    """One line for one packet: stream time (s), HR, RR (ms), contact, battery."""
    rr = ", ".join(f"{rr_ms:.1f}" for rr_ms in packet.rr_ms) if packet.rr_ms else "-"
    battery = f"  battery {battery_percent} %" if battery_percent is not None else ""
    return (
        f"{t_s:9.3f} s  HR {packet.heart_rate_bpm:3d} bpm  RR {rr} ms  "
        f"{_CONTACT_WORDS[packet.contact]}{battery}"
    )


def format_status(event: StatusEvent, t_s: float) -> str:
    """One line for one link change."""
    facts = []
    if event.battery_percent is not None:
        facts.append(f"battery {event.battery_percent} %")
    if event.body_location is not None:
        facts.append(_BODY_LOCATIONS.get(event.body_location, f"location {event.body_location}"))
    suffix = f" ({', '.join(facts)})" if facts and event.state == LinkState.CONNECTED else ""
    message = f" {event.message}" if event.message else ""
    return f"{t_s:9.3f} s  [{event.state.value}]{message}{suffix}"


def _stream(args: argparse.Namespace) -> int:
    from trm_bio.sources import resolve_start_ns

    source, kind = source_from_args(args, args.duration)
    resolve_start_ns(source)  # an LSL stream: a clear sentence when no such stream answers
    first_ns: int | None = None
    wall_deadline = None
    if args.duration is not None and not args.simulate:
        wall_deadline = time.monotonic() + args.duration
    source.start()
    try:
        while True:
            if wall_deadline is not None and time.monotonic() >= wall_deadline:
                return 0
            item = source.get(_POLL_S)
            if item is None or not isinstance(item, Packet | StatusEvent):
                continue  # nothing yet, or a Polar strap's raw ECG or accelerometer frame
            if first_ns is None:
                first_ns = item.host_ns
            t_s = (item.host_ns - first_ns) / 1e9
            if isinstance(item, Packet):
                if args.duration is not None and args.simulate and t_s > args.duration:
                    return 0
                print(format_packet(item, t_s, source.battery_percent), flush=True)
                continue
            if item.state == LinkState.FAILED:
                error = getattr(source, "error", None)
                raise error if isinstance(error, DeviceError) else DeviceError(item.message)
            print(format_status(item, t_s), flush=True)
            # A live strap says DISCONNECTED only at its end (drops are RECONNECTING); the
            # simulated one also says it for a simulated drop, so only its end counts there.
            if (
                item.state == LinkState.DISCONNECTED
                and kind != "lsl"
                and (not args.simulate or (args.duration is not None and t_s >= args.duration))
            ):
                return 0
    except KeyboardInterrupt:
        return 0
    finally:
        source.stop()
