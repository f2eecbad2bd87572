"""The simulated chest strap: the default source when no strap is at hand.

Three layers, each pure and seeded except the last:

1. The heart (:mod:`devices.physiology`): true beats of a scripted :class:`Scenario`.
2. The strap: what it detects (optional missed, extra and ectopic beats; nothing while the
   sensor has no skin contact) and what it sends: about one Heart Rate Measurement notification
   per second, real 0x2A37 bytes from :func:`devices.hrm.encode_hrm`, each carrying the RR of
   the beats detected since the previous notification (0 to 3 at resting rates), the heart rate
   field being the rounded average of the last 4 RR. The host receives it a few milliseconds
   later; link drops lose the notifications in between and produce status events.
   :func:`simulate` yields all of this in time order with virtual host times, no thread, no clock.
3. :class:`SimulatedStrap`: a :class:`~devices.source.Source` that plays :func:`simulate` on
   its own thread at a chosen speed.

Session time 0 is the moment the strap starts streaming; ``host_ns = start_ns + 1e9 * t``.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
from devices.packet import LinkState, Packet, SensorContact, StatusEvent
from devices.physiology import (
    SCENARIOS,
    BreathingGuide,
    HeartModel,
    PersonProfile,
    ResonanceResponse,
    ResonantHeartModel,
    Scenario,
    get_scenario,
)
from devices.pmd import PmdFrame
from devices.source import GROUP_SIZE_MAX, ThreadedSource

__all__ = [
    "SCENARIOS",
    "Artifacts",
    "BeatLabel",
    "BeatSeries",
    "Scenario",
    "SimulatedStrap",
    "simulate",
    "simulated_group",
    "strap_beats",
    "true_beats",
]

log = logging.getLogger(__name__)

CHUNK_S = 30.0
NOTIFY_PERIOD_S = 1.0
NOTIFY_JITTER_S = 0.005
LATENCY_RANGE_S = (0.005, 0.045)
HR_AVERAGE_BEATS = 4
MODEL_START_S = -5.0
STREAM_RESUME_S = 0.05  # from reconnection to the first notification being enabled again
GUIDED_CHUNK_S = 2.0  # a person following a guide answers a change within this (s)


class BeatLabel(enum.IntEnum):
    """Why a reported RR interval differs from the heart's (NORMAL: it does not)."""

    NORMAL = 0
    MISSED = 1  # the strap missed a beat: two true intervals reported as one
    EXTRA = 2  # a false detection split one true interval in two (both halves labelled)
    ECTOPIC = 3  # a premature beat: a short interval and its compensatory long one


@dataclass(frozen=True)
class Artifacts:
    """Detection errors the simulated strap makes, as rates per true beat (0 to 1).

    Parameters
    ----------
    missed_rate, extra_rate, ectopic_rate : float
        Fraction of beats missed, split by a false detection, or premature (ectopic, at 55-75 %
        of the interval, followed by a compensatory pause). Two artifacts are never adjacent.
    junk_after_connect : bool
        Put one RR of 0 at the head of the first notification after each (re)connection, as
        some straps do.
    clock_drift_ppm : float
        The strap's clock runs fast by this many parts per million: every RR it measures is
        longer by that fraction, so summed RR drifts from the host clock.
    """

    missed_rate: float = 0.0
    extra_rate: float = 0.0
    ectopic_rate: float = 0.0
    junk_after_connect: bool = False
    clock_drift_ppm: float = 0.0

    def __post_init__(self) -> None:
        rates = (self.missed_rate, self.extra_rate, self.ectopic_rate)
        if min(rates) < 0 or sum(rates) > 0.5:
            raise ValueError("Artifact rates must be at least 0 and add up to at most 0.5.")


@dataclass(frozen=True)
class BeatSeries:
    """Beats as three parallel arrays.

    Attributes
    ----------
    times_s : numpy.ndarray
        Beat time (s from session start) of the beat that ends each interval, float64.
    rr_ms : numpy.ndarray
        RR interval (ms), float64.
    label : numpy.ndarray
        :class:`BeatLabel` of each interval, int8.
    """

    times_s: np.ndarray
    rr_ms: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return int(self.rr_ms.size)


Stretches = Sequence[tuple[float, float]]


def _check_stretches(stretches: Stretches, what: str) -> tuple[tuple[float, float], ...]:
    out = tuple(sorted((float(a), float(b)) for a, b in stretches))
    for a, b in out:
        if not 0 <= a < b:
            raise ValueError(f"Each {what} stretch must be (start_s, end_s) with 0 <= start < end.")
    if any(out[i][1] > out[i + 1][0] for i in range(len(out) - 1)):
        raise ValueError(f"The {what} stretches must not overlap.")
    return out


def _in_stretches(t_s: np.ndarray, stretches: Stretches) -> np.ndarray:
    inside = np.zeros(np.shape(t_s), dtype=bool)
    for a, b in stretches:
        inside |= (t_s >= a) & (t_s < b)
    return inside


class _StrapDetector:
    """Turns true beats into the beats the strap reports (artifacts, contact loss)."""

    def __init__(
        self, artifacts: Artifacts, contact_loss: Stretches, seed: np.random.SeedSequence
    ) -> None:
        self._artifacts = artifacts
        self._contact_loss = contact_loss
        self._rng = np.random.default_rng(seed)
        self._last_reported_s: float | None = None

    def detect(self, true_times_s: np.ndarray, true_rr_ms: np.ndarray) -> BeatSeries:
        art = self._artifacts
        n = true_rr_ms.size
        labels = np.zeros(n, dtype=np.int8)
        times = true_times_s.copy()
        rr = true_rr_ms.copy()
        if n and (art.missed_rate or art.extra_rate or art.ectopic_rate):
            u = self._rng.random(n)
            kind = np.zeros(n, dtype=np.int8)
            kind[u < art.ectopic_rate] = BeatLabel.ECTOPIC
            edge = art.ectopic_rate + art.missed_rate
            kind[(u >= art.ectopic_rate) & (u < edge)] = BeatLabel.MISSED
            kind[(u >= edge) & (u < edge + art.extra_rate)] = BeatLabel.EXTRA
            kind[1:][kind[:-1] != 0] = 0  # an artifact's neighbour stays normal
            kind[-1] = 0  # its consequence would fall in the next chunk
            previous_s = true_times_s - true_rr_ms / 1000.0
            # A premature beat and a missed one also change the interval after them.
            follow = np.flatnonzero((kind == BeatLabel.ECTOPIC) | (kind == BeatLabel.MISSED)) + 1

            ectopic = kind == BeatLabel.ECTOPIC
            times[ectopic] = previous_s[ectopic] + true_rr_ms[ectopic] / 1000.0 * self._rng.uniform(
                0.55, 0.75, int(ectopic.sum())
            )
            labels[ectopic] = BeatLabel.ECTOPIC
            labels[follow] = kind[follow - 1]
            extra = np.flatnonzero(kind == BeatLabel.EXTRA)
            extra_times = previous_s[extra] + true_rr_ms[extra] / 1000.0 * self._rng.uniform(
                0.3, 0.7, extra.size
            )
            keep = kind != BeatLabel.MISSED
            times = np.concatenate((times[keep], extra_times))
            labels = np.concatenate((labels[keep], np.full(extra.size, BeatLabel.EXTRA, np.int8)))
            labels[: int(keep.sum())][kind[keep] == BeatLabel.EXTRA] = BeatLabel.EXTRA
            rr = np.concatenate((rr[keep], np.zeros(extra.size)))
            order = np.argsort(times, kind="stable")
            times, labels, rr = times[order], labels[order], rr[order]
        if n:
            first_prev = (
                self._last_reported_s
                if self._last_reported_s is not None
                else true_times_s[0] - true_rr_ms[0] / 1000.0
            )
            abnormal = labels != BeatLabel.NORMAL
            if abnormal.any():
                diffs_ms = np.diff(np.concatenate(([first_prev], times))) * 1000.0
                rr = np.where(abnormal, diffs_ms, rr)
            self._last_reported_s = float(times[-1])
        if self._contact_loss:
            start_s = times - rr / 1000.0
            lost = np.zeros(times.size, dtype=bool)
            for a, b in self._contact_loss:
                lost |= (times > a) & (start_s < b)
            times, rr, labels = times[~lost], rr[~lost], labels[~lost]
        return BeatSeries(times, rr, labels)


def _seeds(seed: int) -> tuple[np.random.SeedSequence, ...]:
    """Independent streams: heart, strap detection, packet timing."""
    return tuple(np.random.SeedSequence(seed).spawn(3))


def _beat_chunks(
    scenario: Scenario,
    seed: int,
    duration_s: float | None,
    artifacts: Artifacts,
    contact_loss: Stretches,
    resonance: ResonanceResponse | None = None,
    guide: BreathingGuide | None = None,
) -> Iterator[tuple[float, float, BeatSeries, BeatSeries]]:
    """(chunk start, chunk end, true beats, reported beats) for consecutive chunks."""
    heart_seed, strap_seed, _ = _seeds(seed)
    heart = (
        HeartModel(scenario, heart_seed, MODEL_START_S)
        if resonance is None
        else ResonantHeartModel(
            scenario, heart_seed, MODEL_START_S, resonance=resonance, guide=guide
        )
    )
    # A person following a live guide is made a little at a time, so they follow it soon.
    chunk_s = GUIDED_CHUNK_S if guide is not None else CHUNK_S
    detector = _StrapDetector(artifacts, contact_loss, strap_seed)
    heart.beats_until(0.0)  # beats before streaming began are never reported
    chunk_start_s = 0.0
    while duration_s is None or chunk_start_s < duration_s:
        chunk_end_s = chunk_start_s + chunk_s
        if duration_s is not None:
            chunk_end_s = min(chunk_end_s, duration_s)
        times_s, rr_ms = heart.beats_until(chunk_end_s)
        true = BeatSeries(times_s, rr_ms, np.zeros(rr_ms.size, np.int8))
        yield chunk_start_s, chunk_end_s, true, detector.detect(times_s, rr_ms)
        chunk_start_s = chunk_end_s


def _concat(parts: list[BeatSeries], end_s: float) -> BeatSeries:
    if not parts:
        return BeatSeries(np.empty(0), np.empty(0), np.empty(0, np.int8))
    times_s = np.concatenate([p.times_s for p in parts])
    keep = times_s <= end_s  # the last chunk may run a grid step past the end
    return BeatSeries(
        times_s[keep],
        np.concatenate([p.rr_ms for p in parts])[keep],
        np.concatenate([p.label for p in parts])[keep],
    )


def true_beats(
    scenario: str | Scenario = "calm",
    *,
    seed: int = 0,
    duration_s: float,
    resonance: ResonanceResponse | None = None,
    guide: BreathingGuide | None = None,
) -> BeatSeries:
    """The heart's own beats from session time 0 to ``duration_s`` (s), as :func:`simulate` uses.

    Returns
    -------
    BeatSeries
        Beat times (s), RR (ms, exact model values before the strap's 1/1024 s rounding), all
        labelled NORMAL.
    """
    sc = get_scenario(scenario)
    chunks = _beat_chunks(sc, seed, duration_s, Artifacts(), (), resonance, guide)
    parts = [true for _, _, true, _ in chunks]
    return _concat(parts, duration_s)


def strap_beats(
    scenario: str | Scenario = "calm",
    *,
    seed: int = 0,
    duration_s: float,
    artifacts: Artifacts | None = None,
    contact_loss: Stretches = (),
) -> BeatSeries:
    """The beats the simulated strap detects (with artifacts labelled), before packetisation.

    Link drops are not applied here: beats lost in a drop are still in this series.
    """
    sc = get_scenario(scenario)
    art = artifacts or Artifacts()
    loss = _check_stretches(contact_loss, "contact loss")
    parts = [rep for _, _, _, rep in _beat_chunks(sc, seed, duration_s, art, loss)]
    return _concat(parts, duration_s)


def simulate(
    scenario: str | Scenario = "calm",
    *,
    seed: int = 0,
    duration_s: float | None,
    start_ns: int = 0,
    source_id: str | None = None,
    artifacts: Artifacts | None = None,
    contact_loss: Stretches = (),
    link_drops: Stretches = (),
    battery_percent: int | None = 100,
    body_location: int | None = 1,
    resonance: ResonanceResponse | None = None,
    guide: BreathingGuide | None = None,
) -> Iterator[Packet | StatusEvent]:
    """Packets and status events of a simulated strap, in time order, with virtual host times.

    Parameters
    ----------
    scenario : str or Scenario
        A name from :data:`SCENARIOS` or a :class:`Scenario`.
    seed : int
        Same seed, same items, byte for byte.
    duration_s : float or None
        Session length (s); None streams for ever (profiles hold their last values).
    start_ns : int
        Host monotonic time (ns) of session time 0.
    source_id : str or None
        Id on every item; default ``"sim:<scenario>:<seed>"``.
    artifacts : Artifacts or None
        Detection errors of the strap (none by default).
    contact_loss : sequence of (start_s, end_s)
        Stretches without skin contact: packets flag NO_CONTACT, report 0 bpm and no RR; the
        source emits CONTACT_LOST, then STREAMING when contact returns.
    link_drops : sequence of (start_s, end_s)
        Stretches with no link: no packets; DISCONNECTED and RECONNECTING when the host
        notices (after min(2 s, half the drop)), CONNECTED at the end, STREAMING 50 ms later.
    battery_percent, body_location : int or None
        Device facts carried on status events (Body Sensor Location 1 is chest).
    resonance : ResonanceResponse or None
        A person with a resonance rate (:class:`devices.physiology.ResonantHeartModel`).
    guide : BreathingGuide or None
        With ``resonance``: a breathing guide the person follows while it is on.

    Yields
    ------
    Packet or StatusEvent
        CONNECTING, CONNECTED and STREAMING at ``start_ns``, then packets about once a second,
        and, for a finite duration, DISCONNECTED at its end. ``host_ns`` never decreases.
    """
    sc = get_scenario(scenario)
    art = artifacts or Artifacts()
    loss = _check_stretches(contact_loss, "contact loss")
    drops = _check_stretches(link_drops, "link drop")
    if duration_s is not None and not duration_s > 0:
        raise ValueError("A simulated session needs a duration above 0 seconds, or None.")
    sid = source_id or f"sim:{sc.name}:{seed}"
    timing_rng = np.random.default_rng(_seeds(seed)[2])

    def ns(t_s: float) -> int:
        return start_ns + round(t_s * 1e9)

    def status(t_s: float, state: LinkState, message: str = "") -> tuple[int, int, StatusEvent]:
        event = StatusEvent(ns(t_s), sid, state, message, battery_percent, body_location)
        return (event.host_ns, 0, event)

    for state in (LinkState.CONNECTING, LinkState.CONNECTED, LinkState.STREAMING):
        yield status(0.0, state)[2]

    # Link-drop status events are known in advance; keep them sorted and release by time.
    pending: list[tuple[int, int, StatusEvent]] = []
    resume_s: list[tuple[float, float]] = []  # (link lost at, notifications enabled again at)
    for a, b in drops:
        noticed_s = a + min(2.0, 0.5 * (b - a))
        pending.append(status(noticed_s, LinkState.DISCONNECTED, "The simulated link dropped."))
        pending.append(status(noticed_s + 1e-6, LinkState.RECONNECTING))
        pending.append(status(b, LinkState.CONNECTED))
        pending.append(status(b + STREAM_RESUME_S, LinkState.STREAMING))
        resume_s.append((a, b + STREAM_RESUME_S))
    pending.sort(key=lambda item: item[0])

    def notification_times() -> Iterator[tuple[float, float]]:
        """(strap send time, host arrival time) of each notification, in s."""
        first_s = float(timing_rng.uniform(0.3, 1.0))
        for index in itertools.count():
            send_s = first_s + index * NOTIFY_PERIOD_S
            send_s += float(timing_rng.uniform(-NOTIFY_JITTER_S, NOTIFY_JITTER_S))
            yield send_s, send_s + float(timing_rng.uniform(*LATENCY_RANGE_S))

    buffer_t = np.empty(0)
    buffer_rr = np.empty(0)
    recent_rr: list[float] = []  # the last few reported RR, for the heart-rate field
    notifications = notification_times()
    upcoming = next(notifications)
    need_junk = art.junk_after_connect
    had_contact = True
    drift = 1.0 + art.clock_drift_ppm * 1e-6
    fallback_hr = round(float(sc.heart_rate_bpm(0.0)))

    for _, chunk_end_s, _, reported in _beat_chunks(
        sc, seed, duration_s, art, loss, resonance, guide
    ):
        buffer_t = np.concatenate((buffer_t, reported.times_s))
        buffer_rr = np.concatenate((buffer_rr, reported.rr_ms))
        items: list[tuple[int, int, Packet | StatusEvent]] = []
        while pending and pending[0][0] < ns(chunk_end_s):
            items.append(pending.pop(0))
        for notify_s, arrival_s in itertools.chain([upcoming], notifications):
            if notify_s >= chunk_end_s:
                upcoming = (notify_s, arrival_s)  # it belongs to the next chunk
                break
            # A notification carries every beat detected since the previous one.
            split = int(np.searchsorted(buffer_t, notify_s, side="right"))
            carried_rr = buffer_rr[:split]
            buffer_t, buffer_rr = buffer_t[split:], buffer_rr[split:]
            recent_rr = (recent_rr + carried_rr.tolist())[-HR_AVERAGE_BEATS:]
            if any(lost <= arrival_s and notify_s < back for lost, back in resume_s):
                need_junk = art.junk_after_connect
                continue  # lost with the link
            if duration_s is not None and arrival_s > duration_s:
                continue
            contact = not _in_stretches(np.array([notify_s]), loss)[0]
            host_ns = ns(arrival_s)
            if contact != had_contact:
                items.append(
                    status(arrival_s, LinkState.STREAMING if contact else LinkState.CONTACT_LOST,
                           "" if contact else "The simulated strap lost skin contact.")
                )
                had_contact = contact
            rr_raw = [rr_ms_to_raw(value * drift) for value in carried_rr]
            if need_junk:
                rr_raw.insert(0, 0)
                need_junk = False
            if contact:
                hr = round(60000.0 / float(np.mean(recent_rr))) if recent_rr else fallback_hr
                payload = encode_hrm(hr, rr_raw, SensorContact.CONTACT)
            else:
                payload = encode_hrm(0, (), SensorContact.NO_CONTACT)
            items.append((host_ns, 1, packet_from_payload(payload, host_ns, sid)))
        items.sort(key=lambda item: (item[0], item[1]))
        for _, _, item in items:
            yield item
    if duration_s is not None:
        for _, _, event in pending:
            yield event
        yield status(duration_s, LinkState.DISCONNECTED, "The simulated session ended.")[2]


class SimulatedStrap(ThreadedSource):
    """A simulated chest strap on its own thread, paced by the monotonic clock.

    Parameters
    ----------
    scenario : str or Scenario
        What the heart does (see :data:`SCENARIOS`).
    seed : int
        Same seed, same packets.
    speed : float
        1 plays in real time, above 1 faster, ``math.inf`` as fast as possible.
    duration_s : float or None
        Session length (s); None streams until :meth:`stop` (needs a finite speed).
    source_id : str or None
        Default ``"sim:<scenario>:<seed>"``.
    artifacts, contact_loss, link_drops
        As for :func:`simulate`.
    battery_percent, body_location : int or None
        Device facts reported on status events (100 %, 1 = chest).
    resonance, guide
        As for :func:`simulate`: a person with a resonance rate, following a breathing guide.
    h10 : bool
        Act as a Polar H10: stream ECG and accelerometer PMD frames too
        (:func:`devices.simulated_h10.simulate_h10`).
    profile : PersonProfile or None
        A person of their own (:meth:`devices.physiology.PersonProfile.apply` makes the
        scenario theirs); None plays the scenario as scripted.

    Items carry virtual host times: ``start_ns`` (``time.monotonic_ns()`` at :meth:`start`)
    plus the virtual time elapsed, so at speed 1 ``host_ns`` is the real arrival time.
    """

    def __init__(
        self,
        scenario: str | Scenario = "calm",
        *,
        seed: int = 0,
        speed: float = 1.0,
        duration_s: float | None = None,
        source_id: str | None = None,
        artifacts: Artifacts | None = None,
        contact_loss: Stretches = (),
        link_drops: Stretches = (),
        battery_percent: int | None = 100,
        body_location: int | None = 1,
        resonance: ResonanceResponse | None = None,
        guide: BreathingGuide | None = None,
        h10: bool = False,
        profile: PersonProfile | None = None,
    ) -> None:
        self.profile = profile
        self.scenario = get_scenario(scenario) if profile is None else profile.apply(scenario)
        self.resonance = resonance
        self.guide = guide
        if not speed > 0:
            raise ValueError("The simulated strap's speed must be above 0.")
        if math.isinf(speed) and duration_s is None:
            raise ValueError("An endless simulated strap needs a finite speed.")
        super().__init__(source_id or f"sim:{self.scenario.name}:{seed}")
        self.seed = seed
        self.speed = float(speed)
        self.duration_s = duration_s
        self.battery_percent = battery_percent
        self.body_location = body_location
        self._artifacts = artifacts
        self._contact_loss = _check_stretches(contact_loss, "contact loss")
        self._link_drops = _check_stretches(link_drops, "link drop")
        self.start_ns: int | None = None
        self.h10 = h10
        # What the strap dialog shows it offers: a heart-rate strap, or an H10's raw streams too.
        self.offers = frozenset({"HR", "RR", "ECG", "ACC"} if h10 else {"HR", "RR"})

    def start(self, *, worn: bool = False) -> None:
        """Start streaming on a new thread; returns at once (a second call does nothing).

        ``worn``: the strap was on the chest, beating, before this call (the app's first
        preview): its session time 0 is set back so that its first notification carrying a
        beat is due at once, as a strap already worn answers the subscription within a
        second, rather than the person looking at an empty screen for that second.
        """
        if self._thread is None:
            now_ns = time.monotonic_ns()
            lead_s = self._first_beat_s() if worn and not math.isinf(self.speed) else 0.0
            self.start_ns = now_ns - round(lead_s / self.speed * 1e9)
            self._start_thread(self._run, self.start_ns)

    def _items(self, start_ns: int) -> Iterator[Packet | StatusEvent | PmdFrame]:
        """The strap's items in time order, session time 0 at host time ``start_ns``."""
        generate: Callable[..., Iterator[Packet | StatusEvent | PmdFrame]] = simulate
        if self.h10:
            from devices.simulated_h10 import simulate_h10

            generate = simulate_h10
        return generate(
            self.scenario,
            seed=self.seed,
            duration_s=self.duration_s,
            start_ns=start_ns,
            source_id=self.source_id,
            battery_percent=self.battery_percent,
            body_location=self.body_location,
            artifacts=self._artifacts,
            contact_loss=self._contact_loss,
            link_drops=self._link_drops,
            resonance=self.resonance,
            guide=self.guide,
        )

    def _first_beat_s(self) -> float:
        """Session time (s) of the first notification that carries a beat (a few ms to find:
        the same seed gives the same items)."""
        for item in self._items(0):
            if isinstance(item, Packet) and item.rr_ms:
                return item.host_ns / 1e9
        return 0.0

    def _run(self, start_ns: int) -> None:
        started_s = start_ns / 1e9  # time.monotonic() of session time 0
        last_ns = start_ns
        try:
            for item in self._items(start_ns):
                if self._stop_event.is_set():
                    break
                if not math.isinf(self.speed):
                    due_s = started_s + (item.host_ns - start_ns) / 1e9 / self.speed
                    wait_s = due_s - time.monotonic()
                    # Waiting on the event lets stop() interrupt the pause at once.
                    if wait_s > 0 and self._stop_event.wait(wait_s):
                        break
                last_ns = item.host_ns
                if isinstance(item, StatusEvent):
                    self._set_state(item.state, item.message, host_ns=item.host_ns)
                elif isinstance(item, PmdFrame):
                    self._put(item)
                else:
                    self._emit(item)
        except Exception as error:  # the thread must not die silently
            log.exception("The simulated strap failed.")
            self._set_state(LinkState.FAILED, f"The simulated strap failed: {error}.", last_ns)
            return
        if self.state is not LinkState.DISCONNECTED:
            elapsed_ns = round((time.monotonic() - started_s) * self.speed * 1e9)
            now_ns = last_ns if math.isinf(self.speed) else max(last_ns, start_ns + elapsed_ns)
            self._set_state(LinkState.DISCONNECTED, "The simulated strap was stopped.", now_ns)


def simulated_group(
    n: int,
    scenario: str | Scenario = "calm",
    *,
    seed: int = 0,
    speed: float = 1.0,
    duration_s: float | None = None,
    link_drops: Stretches = (),
    h10: bool = False,
) -> list[SimulatedStrap]:
    """A simulated group: ``n`` people, each with their own strap, seed and physiology.

    Person ``i`` (0-based) has the source id ``"simulated-<i + 1>"``, a seed and a
    :class:`~devices.physiology.PersonProfile` drawn from the ``i``-th child of ``seed``'s
    ``numpy.random.SeedSequence``, so a person is the same whatever the group's size.

    Parameters
    ----------
    n : int
        People (1 to ``GROUP_SIZE_MAX``).
    scenario, speed, duration_s, h10
        As for :class:`SimulatedStrap`; the same for everyone.
    seed : int
        The group's seed.
    link_drops : sequence of (start_s, end_s)
        Link drops, the same for every strap.

    Raises
    ------
    ValueError
        One sentence for ``n`` outside 1 to ``GROUP_SIZE_MAX`` or an unknown scenario.
    """
    if not 1 <= n <= GROUP_SIZE_MAX:
        raise ValueError(f"A simulated group has 1 to {GROUP_SIZE_MAX} people, not {n}.")
    people = []
    for index, person in enumerate(np.random.SeedSequence(seed).spawn(n)):
        heart, body = person.spawn(2)
        people.append(
            SimulatedStrap(
                scenario,
                seed=int(heart.generate_state(1)[0]),
                speed=speed,
                duration_s=duration_s,
                source_id=f"simulated-{index + 1}",
                link_drops=link_drops,
                h10=h10,
                profile=PersonProfile.draw(body),
            )
        )
    return people
