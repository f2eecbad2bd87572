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
    from devices.strap_group import StrapGroup

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


class GroupSources(list["Source"]):
    """A group session's sources, one per participant in order, and what they share.

    A plain list of unstarted sources (start each, or all with :meth:`start`), plus
    :meth:`stop`, which stops them all and, for Bluetooth straps, then ends the event loop
    they share (:class:`devices.strap_group.StrapGroup`): stop a group through it, not
    only source by source. :meth:`restart` reconnects one participant's strap and puts the
    new source in its place.
    """

    def __init__(self, sources: Sequence[Source], strap_group: StrapGroup | None = None) -> None:
        super().__init__(sources)
        #: The straps' shared loop and their owner (None for simulated people).
        self.strap_group = strap_group

    def start(self) -> None:
        """Start every source; returns at once."""
        if self.strap_group is not None:
            self.strap_group.start()
        for source in self:
            source.start()  # a second start does nothing

    def restart(self, index: int) -> Source:
        """Reconnect participant ``index``'s strap alone and return its new source.

        Raises
        ------
        TrmBioError
            For simulated people: only a Bluetooth strap is reconnected.
        """
        if self.strap_group is None:
            raise TrmBioError("Only a Bluetooth strap can be reconnected")
        self[index] = new = self.strap_group.restart(index)
        return new

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every source, then the shared Bluetooth loop; idempotent."""
        if self.strap_group is not None:
            self.strap_group.stop(timeout_s)  # the straps it made, restarted ones included
        for source in self:
            source.stop(timeout_s)


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
) -> tuple[GroupSources, Callable[[], None]]:
    """New, unstarted sources for a group session, one per participant, in order.

    Parameters
    ----------
    kind : {"simulated", "ble"}
        Simulated people, or Bluetooth straps on one adapter and one shared loop.
    targets : sequence of str
        The straps' addresses or names (``ble``), one per participant, none twice.
    people : int, optional
        How many simulated people (``simulated``); each has their own seed and physiology
        (:func:`devices.simulated.simulated_group`, source ids ``simulated-1`` ...).
    scenario, seed, speed, duration_s, link_drops, h10
        As for :func:`open_source`, for every simulated person (``seed`` is the group's).
    ble_options : mapping, optional
        Extra :class:`devices.ble.BleStrap` arguments for every strap.

    Returns
    -------
    sources : GroupSources
        The sources, a list (:meth:`GroupSources.restart` reconnects one strap alone).
    on_stop : callable
        To call once after the sources have stopped (each by its session): it ends the
        straps' shared loop (:meth:`GroupSources.stop`; idempotent).

    Raises
    ------
    TrmBioError
        One sentence for a group of fewer than 1 or more than 8, a strap given twice, an
        unknown scenario, or a kind that has no group (LSL).
    """
    from devices.source import GROUP_SIZE_MAX

    if kind == "simulated":
        from devices.simulated import simulated_group

        if people is None:
            raise TrmBioError(f"Say how many simulated people, 1 to {GROUP_SIZE_MAX}")
        try:
            sources = GroupSources(
                simulated_group(
                    people, scenario, seed=seed, speed=speed, duration_s=duration_s,
                    link_drops=link_drops, h10=h10,
                )
            )
        except ValueError as exc:  # the group's size, the scenario or the speed
            raise TrmBioError(str(exc).rstrip(".")) from exc
        return sources, sources.stop
    if kind == "ble":
        from devices.strap_group import StrapGroup

        try:
            group = StrapGroup(list(targets), **(ble_options or {}))
        except ValueError as exc:  # the group's size, or a strap given twice
            raise TrmBioError(str(exc).rstrip(".")) from exc
        sources = GroupSources(group.straps, group)
        return sources, sources.stop
    raise TrmBioError("A group session takes simulated people or Bluetooth straps")


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

