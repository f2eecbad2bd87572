"""The one place a live source of beats is made from what the person chose.

A choice is a kind and a target: ``"simulated"`` (the target unused; the scenario, seed and
speed say what the simulated heart does), ``"ble"`` (a Bluetooth strap's address or name) or
``"lsl"`` (a Lab Streaming Layer stream's name or type). The command line (``record``,
``practice``, ``stream``) and the app's device picker both come here. A recorded session is
not a choice of this kind: the controller opens its replay (``SessionController.open_replay``).

Nothing heavy loads on import: each source's module loads when one is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from trm_bio.errors import TrmBioError

if TYPE_CHECKING:
    from devices.source import Source

SourceKind = Literal["simulated", "ble", "lsl"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("simulated", "ble", "lsl")


def require_lsl() -> None:
    """Raise TrmBioError with one sentence when LSL cannot be used on this computer.

    Every command that uses LSL calls this first, so it also keeps liblsl's startup INFO
    line ("Loaded default config") out of the terminal: it is noise beside the command's
    own output, and liblsl reads its configuration only once, on first use.
    """
    from devices.lsl import lsl_unavailable_reason, quiet_liblsl_startup

    reason = lsl_unavailable_reason()
    if reason is not None:
        raise TrmBioError(reason.rstrip("."))
    quiet_liblsl_startup()


def open_source(
    kind: SourceKind,
    target: str = "",
    *,
    scenario: str = "calm",
    seed: int = 0,
    speed: float = 1.0,
    duration_s: float | None = None,
    link_drops: tuple[tuple[float, float], ...] = (),
    lsl_wait_s: float = 30.0,
    ble_options: Mapping[str, Any] | None = None,
    resonance_rate: float | None = None,
    guide: Any = None,
    h10: bool = False,
) -> Source:
    """A new, unstarted source for one choice.

    Parameters
    ----------
    kind : {"simulated", "ble", "lsl"}
        Which source.
    target : str
        The strap's address or name (``ble``), or the stream's name or type (``lsl``).
    scenario, seed, speed, duration_s, link_drops
        The simulated strap's scenario, random seed, pace (1 is real time), length (s; None
        streams until stopped) and link drops ((start_s, end_s) pairs).
    lsl_wait_s : float
        How long an LSL source waits for its stream when resolved (s).
    ble_options : mapping, optional
        Extra :class:`devices.ble.BleStrap` arguments (bleak backends and bounds).
    resonance_rate : float, optional
        The simulated person's resonance rate (breaths/min; :mod:`devices.physiology`).
    guide : optional
        With ``resonance_rate``: a breathing guide (``trm_bio.core.pacer.PacerTrack``) the
        simulated person breathes along with while it is on.
    h10 : bool
        The simulated strap acts as a Polar H10 (ECG and accelerometer frames too).

    Raises
    ------
    TrmBioError
        One sentence for an unknown scenario or speed, or when LSL is not available here.
    """
    if kind == "simulated":
        from devices.physiology import ResonanceResponse
        from devices.simulated import SimulatedStrap

        try:
            resonance = None if resonance_rate is None else ResonanceResponse(resonance_rate)
            return SimulatedStrap(
                scenario, seed=seed, speed=speed, duration_s=duration_s, link_drops=link_drops,
                resonance=resonance, guide=guide if resonance is not None else None,
                h10=h10,
            )
        except ValueError as exc:  # an unknown scenario or speed: the message lists what works
            raise TrmBioError(str(exc).rstrip(".")) from exc
    if kind == "lsl":
        from devices.lsl import LslSource

        require_lsl()
        return LslSource(target, resolve_timeout_s=lsl_wait_s)
    if kind == "ble":
        from devices.ble import BleStrap

        return BleStrap(target, **(ble_options or {}))
    raise ValueError(f"unknown source kind {kind!r}; one of {', '.join(SOURCE_KINDS)}")


def check_scenario(scenario: str) -> None:
    """Raise TrmBioError with one sentence (naming the known ones) for an unknown scenario."""
    from devices.physiology import get_scenario

    try:
        get_scenario(scenario)
    except ValueError as exc:
        raise TrmBioError(str(exc).rstrip(".")) from exc


def resolve_start_ns(source: Source) -> int | None:
    """Beat-clock zero a source asks for, or None.

    An LSL source finds its stream first (blocking, up to its wait; one sentence when none
    answers) and, when another trm-bio publishes the stream, shares that session's clock.
    """
    from devices.lsl import LslSource

    if not isinstance(source, LslSource):
        return None
    source.resolve()
    return source.origin_ns


def open_group_sources(
    kind: SourceKind,
    targets: Sequence[str] = (),
    *,
    people: int | None = None,
    scenario: str = "calm",
    seed: int = 0,
    speed: float = 1.0,
    duration_s: float | None = None,
    link_drops: tuple[tuple[float, float], ...] = (),
    ble_options: Mapping[str, Any] | None = None,
    h10: bool = False,
) -> tuple[list[Source], Callable[[], None] | None]:
    """New, unstarted sources for a group session: one per participant, in seat order.

    Parameters
    ----------
    kind : {"simulated", "ble"}
        Simulated people (``people`` of them, each with their own physiology and seed) or
        Bluetooth straps (``targets``: addresses or names, one per participant).
    targets : sequence of str
        The straps (``ble``).
    people : int, optional
        How many simulated participants (``simulated``; 1 to 8).
    scenario, seed, speed, duration_s, link_drops, h10
        As for :func:`open_source`; each simulated participant's seed derives from ``seed``.
    ble_options : mapping, optional
        Extra :class:`devices.ble.BleStrap` arguments.

    Returns
    -------
    sources : list of Source
        One per participant.
    on_stop : callable or None
        To call once after every source has stopped (ends a shared device loop).

    Raises
    ------
    TrmBioError
        One sentence for a group size outside 1-8, a strap named twice, or a bad choice.
    """
    from trm_bio.group import check_people

    if kind == "simulated":
        count = people if people is not None else len(targets)
        check_people(count)
        sources = [
            open_source(
                "simulated", scenario=scenario, seed=seed * 1000 + seat, speed=speed,
                duration_s=duration_s, link_drops=link_drops, h10=h10,
            )
            for seat in range(count)
        ]
        for seat, source in enumerate(sources):
            source.source_id = f"simulated-{seat + 1}"
        return sources, None
    if kind == "ble":
        check_people(len(targets))
        doubled = sorted({t for t in targets if list(targets).count(t) > 1})
        if doubled:
            raise TrmBioError(
                f"the strap {doubled[0]} is named twice; give each participant their own strap"
            )
        return [open_source("ble", target, ble_options=ble_options) for target in targets], None
    raise TrmBioError(f"a group session cannot use {kind} sources; use straps or --simulate")
