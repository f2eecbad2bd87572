"""``trm-bio resonance``: the resonance-frequency assessment, headless.

A pacer runs the protocol (:class:`trm_bio.core.resonance.AssessmentProtocol`): a rest of
ordinary breathing, then each rate for two minutes with rests between. With a real strap the
steps and each breath's "in" and "out" are said on stderr, so stdout holds only the result;
a simulated person (``--simulate --resonance-rate R``) breathes along with the same pacer.
At the end the scores per rate and ``resonance_rate`` (breaths/min) are printed; with
``--person`` the result is stored with them and becomes their default pacer rate.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from trm_bio.cli.options import (
    library_options,
    person_options,
    positive_seconds,
    source_from_args,
    source_options,
)
from trm_bio.errors import TrmBioError

_POLL_S = 0.1
_INVITE = (
    "If it feels okay, you might breathe along with the pacer; let it go whenever you like. "
    "Slow breathing can feel light-headed: any rate is fine, and breathing as usual is fine too."
)


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"the rates must be breaths per minute separated by commas, not {text!r}"
        ) from None
    if not rates:
        raise argparse.ArgumentTypeError("give at least one rate")
    return rates


def _seconds_or_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"the rest must be 0 seconds or more, not {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``resonance`` sub-command."""
    parser = subparsers.add_parser(
        "resonance",
        parents=[
            source_options(),
            library_options(),
            person_options("store the result with this person (their default pacer rate)"),
        ],
        help="find a person's resonance breathing rate (guided, headless)",
        description=(
            "Breathe with a pacer at 6.5, 6.0, 5.5, 5.0 and 4.5 breaths/min for 2 minutes "
            "each, with a rest between; each rate is scored by the published criteria in "
            "priority order (phase of heart rate against breathing, peak-to-trough heart-rate "
            "swing, LF power, LF peak height, smoothness, fewest LF peaks) and the best one "
            "is the resonance rate."
        ),
    )
    parser.add_argument(
        "--rates", type=_rates, default=None, metavar="R,R,...",
        help="the paced rates in breaths/min (default 6.5,6,5.5,5,4.5)",
    )
    parser.add_argument(
        "--step", type=positive_seconds, default=120.0, metavar="S",
        help="seconds at each rate (default 120, at least 60)",
    )
    parser.add_argument(
        "--rest", type=_seconds_or_zero, default=60.0, metavar="S",
        help="seconds of ordinary breathing before and between the rates (default 60)",
    )
    parser.add_argument(
        "--ratio", default="1:1", metavar="IN:OUT",
        help="the pacer's inhale:exhale ratio: 1:1, 2:3 or 1:2 (default 1:1)",
    )
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="what to print"
    )
    parser.set_defaults(func=_resonance)


def _protocol(args: argparse.Namespace) -> object:
    from trm_bio.core.pacer import ratio_fraction
    from trm_bio.core.resonance import ASSESSMENT_RATES, AssessmentProtocol

    try:
        return AssessmentProtocol(
            rates_per_min=args.rates or ASSESSMENT_RATES,
            step_s=args.step,
            rest_s=args.rest,
            settle_s=min(20.0, args.step - 40.0) if args.step >= 60 else 20.0,
            inhale_fraction=ratio_fraction(args.ratio),
        )
    except ValueError as exc:
        raise TrmBioError(str(exc).rstrip(".")) from None


def _resonance(args: argparse.Namespace) -> int:
    import numpy as np

    from devices.errors import DeviceError, MalformedPacketError
    from devices.packet import LinkState, Packet, StatusEvent
    from devices.pmd import PmdFrame, decode_frame
    from trm_bio.core.artifacts import correct_artifacts, detect_artifacts
    from trm_bio.core.resonance import AssessmentProtocol, accel_trace_lead_rad, assess
    from trm_bio.core.strap_signals import StrapSignals
    from trm_bio.core.timeline import beats_pinned_to_arrivals
    from trm_bio.sources import resolve_start_ns

    protocol = _protocol(args)
    assert isinstance(protocol, AssessmentProtocol)
    if args.resonance_rate is not None and not args.simulate:
        raise TrmBioError("--resonance-rate describes the simulated person: use it with --simulate")
    track = protocol.track()
    end_s = protocol.duration_s
    source, kind = source_from_args(args, end_s + 2.0, guide=track)
    resolve_start_ns(source)
    steps = protocol.steps()
    said_step = -1
    cue_from_s = 0.0
    host_ns: list[int] = []
    rr_ms: list[list[float]] = []
    start_ns: int | None = None
    # A Polar strap's accelerometer measures the breathing itself: phase is then taken
    # against the chest's movement rather than against the pacer the person may not follow.
    signals: StrapSignals | None = None
    now_s = 0.0
    print(_INVITE, file=sys.stderr, flush=True)
    source.start()
    try:
        while now_s < end_s:
            item = source.get(_POLL_S)
            if start_ns is None:
                if item is None:
                    continue
                start_ns = item.host_ns
            if args.simulate:
                now_s = (item.host_ns - start_ns) / 1e9 if item is not None else now_s
            else:
                now_s = (time.monotonic_ns() - start_ns) / 1e9
            for index, (rate, begin_s, _) in enumerate(steps):
                if index > said_step and now_s >= begin_s:
                    said_step = index
                    print(
                        f"Step {index + 1} of {len(steps)}: {rate:g} breaths a minute for "
                        f"{protocol.step_s:g} s.", file=sys.stderr, flush=True,
                    )
            if not args.simulate:  # a person needs the pacer; a simulated one has it
                for _, turn in track.turns(cue_from_s, now_s):
                    print("  in ..." if turn == "inhale" else "  out ...", file=sys.stderr,
                          flush=True)
                cue_from_s = now_s
            if isinstance(item, PmdFrame):
                if signals is None:
                    signals = StrapSignals(start_ns, breathing_keep_s=end_s + 10.0)
                try:
                    signals.take(item.host_ns, decode_frame(item.payload))
                except MalformedPacketError:
                    pass  # nothing is stored here; a frame that cannot be read adds nothing
                continue
            if item is None or not isinstance(item, Packet | StatusEvent):
                continue
            if isinstance(item, Packet):
                if item.rr_ms:
                    host_ns.append(item.host_ns)
                    rr_ms.append(list(item.rr_ms))
            elif item.state == LinkState.FAILED:
                error = getattr(source, "error", None)
                raise error if isinstance(error, DeviceError) else DeviceError(item.message)
            elif item.state == LinkState.DISCONNECTED and (args.simulate or kind != "lsl"):
                if args.simulate and now_s < end_s - 2.0:
                    continue  # a simulated link drop; the strap reconnects on its own
                if not args.simulate:
                    raise TrmBioError("the strap disconnected before the assessment ended")
                break
    except KeyboardInterrupt:
        print("trm-bio: the assessment was stopped; nothing was stored.", file=sys.stderr)
        return 130
    finally:
        source.stop()
    if start_ns is None or not host_ns:
        raise TrmBioError("no beats arrived, so no rate could be scored")
    # The pacer ran on the host clock: the beats must sit on it too, not up to a second late.
    beats = beats_pinned_to_arrivals(start_ns, host_ns, rr_ms)
    labels = detect_artifacts(beats.rr_ms, beats.segment)
    clean = correct_artifacts(beats.rr_ms, beats.times_s, beats.segment, labels)
    breathing_t_s, breathing = (
        signals.breathing_window(end_s + 10.0) if signals is not None else (None, None)
    )
    result = assess(
        np.asarray(clean.times_s),
        np.asarray(clean.nn_ms),
        protocol,
        breathing_t_s=breathing_t_s,
        breathing=breathing,
        breathing_lead_rad=accel_trace_lead_rad,
    )
    data = result.as_dict()
    if args.person:
        _store(args, data)
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        _print_table(data)
    return 0 if result.resonance_rate is not None else 1


def _store(args: argparse.Namespace, data: dict[str, object]) -> None:
    from trm_bio.cli.library_cmd import open_library
    from trm_bio.store.person_resonance import add_assessment

    if data.get("resonance_rate") is None:
        print("trm-bio: no rate could be scored, so nothing was stored.", file=sys.stderr)
        return
    with open_library(args) as library:
        add_assessment(library, library.ensure_person(args.person), data)
    print(
        f"Stored with {args.person}: their pacer starts at {data['resonance_rate']:g} "
        "breaths a minute.", file=sys.stderr,
    )


def _fmt(value: object, spec: str) -> str:
    if value is None:  # as wide as a number would be
        width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
        return format("-", f">{width}" if width else "")
    return format(value, spec)


def _print_table(data: dict[str, object]) -> None:
    rates = data["rates"]
    assert isinstance(rates, list)
    print(
        f"{'RATE /min':>9}  {'PHASE deg':>9}  {'SWING bpm':>9}  {'LF ms2':>8}  "
        f"{'LF PEAK':>9}  {'SMOOTH':>6}  {'PEAKS':>5}  {'SCORE':>5}  {'RANK':>4}"
    )
    for r in rates:
        print(
            f"{r['rate_per_min']:>9.1f}  {_fmt(r['phase_deg'], '>9.0f')}  "
            f"{_fmt(r['swing_bpm'], '>9.1f')}  {_fmt(r['lf_ms2'], '>8.0f')}  "
            f"{_fmt(r['lf_peak_ms2_per_hz'], '>9.0f')}  {_fmt(r['smoothness'], '>6.2f')}  "
            f"{r['lf_peaks']:>5d}  {_fmt(r['score'], '>5.2f')}  {_fmt(r['rank'], '>4d')}"
        )
    rate = data["resonance_rate"]
    print(f"resonance_rate: {_fmt(rate, 'g')} breaths/min (phase against the {data['reference']})")
