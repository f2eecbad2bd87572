"""One session's pipeline: source items in, recorded packets and per-beat updates out.

The path of one heartbeat (DESIGN.md): the raw packet is written to the library first, then
its RR are timed on the beat clock, the engine analyses each beat, the regulation model
places it against the person's baseline, shift detection measures what followed each logged
event once its after-windows have passed, and the caller (the Qt window's timer, a CLI loop,
a test) receives one :class:`SessionUpdate` per drain. Status changes and logged events get
a time on the same beat clock and are written beside the packets.

A live session and a replayed one run this same object: replay feeds the stored packets and
stored connection changes, with their stored times, so the beats and metrics it produces
equal the live ones bit for bit. No threads and no clock reads here: host times come with
the items or from the caller.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from devices.errors import MalformedPacketError
from devices.packet import LinkState, Packet, StatusEvent
from devices.pmd import PmdFrame, PmdStream, decode_frame
from trm_bio.core import effects
from trm_bio.core.baseline import Baseline
from trm_bio.core.beat_source import (
    ECG_STOPPED,
    RR_SOURCE,
    BeatSourceSelector,
    SelectorOutput,
)
from trm_bio.core.engine import (
    BeatUpdate,
    StreamingEngine,
    analyse_beats,
    recent_artifact_share,
    settled_reports,
)
from trm_bio.core.events import (
    BREAKING_STATES,
    ConnectionPayload,
    Event,
    EventKind,
    beat_source_payload,
)
from trm_bio.core.growing import GrowingArray
from trm_bio.core.regulation import (
    HR_METRIC,
    PULSE_LOCATIONS,
    VAGAL_METRIC,
    RegulationParams,
    RegulationState,
    Regulator,
    rhythm_words,
)
from trm_bio.core.rhythm import irregular_judged
from trm_bio.core.shifts import Shift, ShiftWatch
from trm_bio.core.strap_signals import StrapSignals
from trm_bio.core.timeline import (
    NS_PER_S,
    Beats,
    Timeline,
    TimelineConfig,
    host_ns_at,
    timeline_after,
)
from trm_bio.errors import LibraryError
from trm_bio.store.pmd_signals import NOMINAL_RATE_HZ
from trm_bio.store.recorder import Recorder
from trm_bio.store.replay import RecordedEvent, SeekMarker

log = logging.getLogger(__name__)

def regulate_beat(
    regulator: Regulator, beat: BeatUpdate, respiration: float = math.nan
) -> RegulationState:
    """The regulation model at one settled beat of the engine: the live path's one call.

    Its inputs are the engine's at that beat: the indicator's heart rate and RMSSD windows,
    respiration, the rhythm check and the last minute's share of corrected beats.
    ``respiration`` (/min), when known, is the rate measured from chest movement, which
    replaces the engine's estimate from heart rhythm.
    """
    m = beat.metrics
    rhythm = rhythm_words(
        np.array([beat.rhythm_ok]), np.array([beat.irregular]), np.array([beat.rhythm_judged])
    )[0]
    if not math.isfinite(respiration):
        respiration = m["RespirationRate"]
    return regulator.update(
        beat.settled_time_s, m[HR_METRIC], m[VAGAL_METRIC], respiration,
        rhythm=rhythm, artifact_share=beat.artifact_rate,
    )


@dataclass(frozen=True, slots=True)
class BeatState:
    """One beat as the screen needs it: engine output plus the regulation model."""

    beat: BeatUpdate
    regulation: RegulationState | None


class FoundShift(NamedTuple):
    """A shift measured after a logged event, at its due beat (see ``ShiftWatch``)."""

    event: effects.EffectEvent
    shift: Shift
    due_s: float  # beat-clock time of the settled beat it was measured at (s)


class PmdSamples(NamedTuple):
    """The samples of one PMD data frame, for the steps that read the ECG or the chest.

    ``strap_time_s``: each sample's time on the strap's clock (s since 2000-01-01, float64;
    the last one is the frame's timestamp, the others 1/rate apart before it). ``values``:
    ECG in mV, shape (n,); ACC x/y/z in mg, shape (n, 3); float64. ``host_ns``: host
    arrival of the frame (ns), which maps the strap's clock onto the session's.
    """

    strap_time_s: np.ndarray
    values: np.ndarray
    host_ns: int


@dataclass
class SessionUpdate:
    """What one drain produced, in order. ``seeked`` is True when a replay jumped: the
    history was rebuilt and views should redraw from :attr:`Session.history`."""

    beats: list[BeatState] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    status: list[StatusEvent] = field(default_factory=list)
    shifts: list[FoundShift] = field(default_factory=list)
    packets: int = 0
    seeked: bool = False
    #: Decoded PMD samples, one entry per frame, in arrival order (see :class:`PmdSamples`).
    ecg: list[PmdSamples] = field(default_factory=list)
    acc: list[PmdSamples] = field(default_factory=list)
    frames: int = 0  # PMD frames taken (stored), decodable or not

    def __bool__(self) -> bool:
        return bool(
            self.beats or self.events or self.status or self.shifts or self.packets or self.seeked
            or self.frames
        )


class SessionHistory:
    """Everything the session computed so far, as arrays for the plots.

    ``beats``: every beat (time_s, rr_ms, hr_bpm, segment). ``metrics``: one row per settled
    beat (time_s, every engine metric, arousal, lowness, zone code, tentative, hrv_shown:
    1 where the regulation model lets HRV numbers show, 0 where the rhythm or timing spoils
    them, see :class:`~trm_bio.core.regulation.RegulationState`).
    """

    REGULATION = ("arousal", "lowness", "zone", "tentative", "hrv_shown")

    def __init__(self, metric_names: tuple[str, ...]) -> None:
        self.beats = GrowingArray(names=("time_s", "rr_ms", "hr_bpm", "segment", "label"))
        self.metrics = GrowingArray(names=("time_s", *metric_names, *self.REGULATION))

    def add(self, state: BeatState) -> None:
        b = state.beat
        self.beats.append((b.time_s, b.rr_ms, b.hr_bpm, b.segment, b.label))
        if b.settled_index >= 0:
            r = state.regulation
            regulation = (
                (r.arousal, r.lowness, float(int(r.zone)), float(r.tentative),
                 float(r.hrv_shown))
                if r is not None
                else (math.nan,) * 4 + (1.0,)
            )
            self.metrics.append((b.settled_time_s, *b.metrics.values(), *regulation))


class Session:
    """Runs one session's pipeline.

    Parameters
    ----------
    start_ns : int
        Host monotonic time of the session start (ns): zero of the beat clock.
    recorder : Recorder, optional
        Writes packets and events as they come (None: nothing is stored, e.g. replay).
    regulation : RegulationParams, optional
        Weights and thresholds of the regulation model.
    baseline : Baseline, optional
        The person's baseline from earlier sessions (None: calibrate on this session).
    history : callable, optional
        For replay: ``history(index) -> (packets, breaks)`` gives the packets before item
        ``index`` of the source and the packet indices that follow a disconnect, so that a
        :class:`SeekMarker` can rebuild the state.
    recorded_events : callable, optional
        For replay: ``recorded_events(index)`` gives the stored events before item ``index``,
        so that a seek re-arms shift detection with them.
    history_items : callable, optional
        For replay: ``history_items(index)`` gives the source's items before item ``index``;
        a seek in a session with PMD frames runs them again (beats from the ECG depend on
        every frame before).
    timeline_config : TimelineConfig, optional
        Re-anchoring and gap bounds.
    analyse_live : bool
        Run the engine at every beat (False: only record and time the beats, e.g. a
        headless recording; the batch analysis at the end gives the same numbers).
    """

    def __init__(
        self,
        start_ns: int,
        *,
        recorder: Recorder | None = None,
        regulation: RegulationParams | None = None,
        baseline: Baseline | None = None,
        history: Callable[[int], tuple[list[Packet], list[int]]] | None = None,
        recorded_events: Callable[[int], Iterable[Event]] | None = None,
        history_items: Callable[[int], list[Any]] | None = None,
        timeline_config: TimelineConfig | None = None,
        analyse_live: bool = True,
    ) -> None:
        self.start_ns = int(start_ns)
        self.analyse_live = analyse_live
        self.beats_seen = 0
        self.recorder = recorder
        self.regulation_params = regulation or RegulationParams()
        self.initial_baseline = baseline
        self._history_source = history
        self._recorded_events = recorded_events
        self._history_items = history_items
        self._timeline_config = timeline_config
        self.timeline = Timeline(self.start_ns, timeline_config)
        self.engine = StreamingEngine()
        #: The sensor's body location code (Heart Rate Service), once the source told it.
        self.body_location: int | None = None
        self.regulator = Regulator(self.regulation_params, baseline)
        #: The regulation model at the newest settled beat (None before the first).
        self.last_regulation: RegulationState | None = None
        self.history = SessionHistory(self.engine.names)
        self.link_state: LinkState | None = None
        #: Who set :attr:`link_state`: the strap's id, or ``"session"`` for a pause.
        self.link_source = ""
        self.battery_percent: int | None = None
        self.last_host_ns = self.start_ns
        self.last: BeatState | None = None
        self.events: list[Event] = []
        self.shift_watch: ShiftWatch[effects.EffectEvent] = ShiftWatch()
        self.shifts: list[FoundShift] = []  # in the order they were measured
        self.packets_seen = 0
        self.malformed = 0  # packets whose bytes could not be decoded (kept in the library)
        self.frames_seen = 0  # PMD frames (ECG, accelerometer) taken and stored
        # A Polar strap's ECG and accelerometer (made at the first frame) and the choice of
        # beats between its ECG and its RR (see trm_bio.core.beat_source).
        self.signals: StrapSignals | None = None
        self.selector = BeatSourceSelector()
        self.beat_source = ""  # where the newest beats come from ("" before any)
        self.ecg_message = ""  # the ECG's state in words ("" without ECG)
        # Every beat chosen, and the measured breathing rate when each was (see
        # _run_again); whether breathing is wanted (not for the beats alone).
        self._chosen: list[Beats] = []
        self._chosen_resp: list[float] = []
        self._breathing = True
        self.frames_malformed = 0  # of which could not be decoded (kept in the library)
        self.recording_error: str | None = None
        self.failure: str | None = None  # the source's last FAILED message (one sentence)

    # -- time ---------------------------------------------------------------------------
    def time_at(self, host_ns: int) -> float:
        """Beat-clock time (s) of a host monotonic time (ns)."""
        return (int(host_ns) - self.start_ns) / NS_PER_S

    def host_ns_at(self, time_s: float) -> int:
        """Host monotonic time (ns) of a beat-clock time (s)."""
        return host_ns_at(self.start_ns, time_s)

    @property
    def now_s(self) -> float:
        """Beat-clock time of the newest item seen (s)."""
        return self.time_at(self.last_host_ns)

    # -- items from the source ----------------------------------------------------------
    def process(self, items: Iterable[Any]) -> SessionUpdate:
        """Take items drained from a source, in order; returns what they produced."""
        update = SessionUpdate()
        for item in items:
            if isinstance(item, Packet):
                self._on_packet(item, update)
            elif isinstance(item, StatusEvent):
                self._on_status(item, update)
            elif isinstance(item, PmdFrame):
                self._on_pmd_frame(item, update)
            elif isinstance(item, RecordedEvent):
                self.events.append(item.event)
                self._watch(item.event)
                self.last_host_ns = max(self.last_host_ns, item.host_ns)
                update.events.append(item.event)
            elif isinstance(item, SeekMarker):
                self._seek(item)
                update = SessionUpdate(seeked=True)  # what came before the jump is stale
            else:
                log.warning("ignored an item of unknown type %s", type(item).__name__)
        update.shifts.extend(self._measure_shifts())
        return update

    def _on_packet(self, packet: Packet, update: SessionUpdate) -> None:
        self._record(lambda r: r.add_packet(packet))  # ground truth first
        update.packets += 1
        self.packets_seen += 1
        self.last_host_ns = max(self.last_host_ns, packet.host_ns)
        if packet.error is not None:
            self.malformed += 1  # stored above; replay skips it too, so both stay equal
            return
        rr_beats = self.timeline.push(packet.host_ns, packet.rr_ms)
        chosen = self.selector.push_rr(rr_beats, self.time_at(packet.host_ns))
        self._take_beats(chosen, update)

    def _take_beats(self, chosen: SelectorOutput, update: SessionUpdate) -> None:
        """Beats the source choice gave: analysed, and any change of source logged."""
        for change in chosen.changes:
            self.beat_source = change.source
            if change.reason == ECG_STOPPED:
                self.ecg_message = change.reason  # no frame says so: none is coming
            if self._history_source is None:  # live: record it; replay: a stored event
                update.events.append(
                    self.log(
                        EventKind.MARKER,
                        beat_source_payload(change.source, change.reason),
                        time_s=change.time_s,
                        host_ns=self.host_ns_at(change.time_s),
                    )
                )
        beats = chosen.beats
        if len(beats) and not self.beat_source:
            self.beat_source = RR_SOURCE
        self.beats_seen += len(beats)
        if len(beats):
            self._chosen.append(beats)
            self._chosen_resp.extend([self.breathing_rate_per_min] * len(beats))
        if not self.analyse_live:
            return
        for beat in self.engine.push(beats):
            state = None
            if beat.settled_index >= 0:
                state = regulate_beat(
                    self.regulator, beat, respiration=self.breathing_rate_per_min
                )
                self.last_regulation = state
            beat_state = BeatState(beat, state)
            self.history.add(beat_state)
            update.beats.append(beat_state)
            self.last = beat_state

    def _on_pmd_frame(self, frame: PmdFrame, update: SessionUpdate) -> None:
        """Store a PMD frame first, then hand its decoded samples on."""
        self._record(lambda r: r.add_pmd_frame(frame))  # ground truth first
        update.frames += 1
        self.frames_seen += 1
        self.last_host_ns = max(self.last_host_ns, frame.host_ns)
        try:
            decoded = decode_frame(frame.payload)
        except MalformedPacketError as exc:
            self.frames_malformed += 1  # stored above; replay feeds it again, so both agree
            if self.frames_malformed == 1:
                log.warning(
                    "A PMD frame from %s could not be decoded; it is kept in the library as "
                    "received and skipped, as any like it will be (%s)",
                    frame.source_id,
                    exc,
                )
            return
        # Seconds directly, not DecodedFrame.sample_times_ns: a strap time is any 64-bit
        # value, beyond int64 in a damaged or crafted frame.
        n = decoded.n_samples
        strap_s = decoded.strap_ns / NS_PER_S + (np.arange(n) - (n - 1)) / NOMINAL_RATE_HZ[
            decoded.stream
        ]
        if decoded.stream is PmdStream.ECG:
            update.ecg.append(PmdSamples(strap_s, decoded.samples / 1000.0, frame.host_ns))
        else:
            update.acc.append(
                PmdSamples(strap_s, decoded.samples.astype(np.float64), frame.host_ns)
            )
        if self.signals is None:
            self.signals = StrapSignals(self.start_ns, breathing=self._breathing)
        chunk = self.signals.take(frame.host_ns, decoded)
        if chunk is not None:
            self.ecg_message = chunk.message
            chosen = self.selector.push_ecg(
                chunk.beats_s, chunk.ok, chunk.message, chunk.until_s, self.time_at(frame.host_ns)
            )
            self._take_beats(chosen, update)

    def chosen_beats(self) -> Beats:
        """Every beat the session gave the analysis so far (from the ECG or the RR)."""
        if len(self._chosen) > 1:
            self._chosen = [Beats.concatenate(self._chosen)]
        return self._chosen[0] if self._chosen else Beats.empty()

    @property
    def breathing_rate_per_min(self) -> float:
        """The breathing rate measured from chest movement (/min; NaN when unknown)."""
        return self.signals.breathing_rate_per_min if self.signals is not None else math.nan

    def _on_status(self, status: StatusEvent, update: SessionUpdate) -> None:
        update.status.append(status)
        self.last_host_ns = max(self.last_host_ns, status.host_ns)
        if status.battery_percent is not None:
            self.battery_percent = status.battery_percent
        if status.body_location is not None:
            # A pulse sensor's timing jitter adds to RMSSD: the quality gate is stricter.
            self.body_location = status.body_location
            self.regulator.pulse_source = status.body_location in PULSE_LOCATIONS
        if status.state in BREAKING_STATES:
            self.timeline.break_segment()
            self.selector.break_segment()
        if status.state is LinkState.FAILED and status.message:
            self.failure = status.message
        if status.state is self.link_state:
            return
        self.link_state = status.state
        self.link_source = status.source_id
        if self._history_source is None:  # live: record it; replay: it is a stored event
            payload = ConnectionPayload(status.state, status.message, status.source_id)
            update.events.append(self.log(EventKind.CONNECTION, payload.to_json(), status.host_ns))

    # -- replay: rebuild the state at a point in time ------------------------------------
    def _seek(self, marker: SeekMarker) -> None:
        if self._history_source is None:
            raise RuntimeError("a live session cannot seek")
        before = self._history_items(marker.index) if self._history_items is not None else None
        if before is not None and any(isinstance(item, PmdFrame) for item in before):
            self._run_again(before)
        else:
            packets, breaks = self._history_source(marker.index)
            self.prime(packets, breaks)
            if before is not None:
                # The link as it stood then: a replay shows a dropped strap as dropped.
                links = [item for item in before if isinstance(item, StatusEvent)]
                self.link_state = links[-1].state if links else None
                self.link_source = links[-1].source_id if links else ""
        if self._recorded_events is not None:
            for event in self._recorded_events(marker.index):
                self._watch(event)
        self.last_host_ns = marker.host_ns

    def _run_again(self, items: list[Any]) -> None:
        """Rebuild every state from the items before a point: their beats again, then the
        analysis primed with the batch functions (as :meth:`prime`).

        Beats from the ECG depend on every frame before them (the detector's levels, the
        strap's clock, the choice of source), so a seek in a session with PMD frames runs
        the beat path over them all again, without the per-beat analysis; the regulation
        model gets the breathing rate each beat was settled with live.
        """
        fresh = Session(
            self.start_ns,
            history=self._history_source,
            timeline_config=self._timeline_config,
            analyse_live=False,
        )
        fresh.process([i for i in items if not isinstance(i, (RecordedEvent, SeekMarker))])
        for name in (
            "timeline", "selector", "signals", "beat_source", "ecg_message", "link_state",
            "link_source",
            "battery_percent", "body_location", "packets_seen", "frames_seen", "malformed",
            "frames_malformed", "last_host_ns",
        ):
            setattr(self, name, getattr(fresh, name))
        beats = fresh.chosen_beats()
        self._chosen, self._chosen_resp = [beats], fresh._chosen_resp
        # The live engine settles a beat a few beats after it, with the rate then.
        self._prime_analysis(beats, np.asarray(fresh._chosen_resp, dtype=np.float64))

    def prime(self, packets: list[Packet], breaks: Iterable[int] = ()) -> None:
        """Rebuild every state from the packets before a point, with the batch functions.

        The timeline is run over the packets (cheap: one step per packet), the engine is
        primed from the vectorised analysis, and the regulation model is brought to the
        same state from the batch metrics, so what follows equals an uninterrupted run.
        """
        timeline, beats = timeline_after(
            self.start_ns,
            [p.host_ns for p in packets],
            [p.rr_ms for p in packets],
            breaks,
            self._timeline_config,
        )
        self.timeline = timeline
        self.selector = BeatSourceSelector()
        self.selector.prime_rr(beats)
        self._chosen, self._chosen_resp = [beats], [math.nan] * len(beats)
        self.signals = None
        self.beat_source = RR_SOURCE if len(beats) else ""
        self.packets_seen = len(packets)
        self._prime_analysis(beats)
        if packets:
            self.last_host_ns = packets[-1].host_ns

    def _prime_analysis(self, beats: Beats, measured_resp: np.ndarray | None = None) -> None:
        """Bring the engine, the regulation model and the history to their state after
        ``beats``; ``measured_resp`` (/min, NaN where unknown): the breathing rate from chest
        movement at each beat's arrival (the live engine settles a beat at a later one), in
        place of the RSA estimate."""
        self.beats_seen = len(beats)
        self.engine = StreamingEngine(self.engine.windows)
        self.engine.prime(beats)
        self.regulator = Regulator(
            self.regulation_params, self.initial_baseline,
            pulse_source=self.body_location in PULSE_LOCATIONS,
        )
        self.last_regulation = None
        self.history = SessionHistory(self.engine.names)
        self.shift_watch.reset()  # the caller re-adds the events before this point
        self.shifts = []
        self.last = None
        if len(beats):
            analysis = analyse_beats(beats)
            # The beats the live engine reported settled, and the updates that reported them.
            reports = settled_reports(beats)
            pushes = np.flatnonzero(reports >= 0)
            rows = reports[pushes]
            settled = rows.size
            m = {k: v[rows] for k, v in analysis.metrics.items()}
            resp = m["RespirationRate"]
            if measured_resp is not None:
                measured = measured_resp[pushes]
                resp = np.where(np.isfinite(measured), measured, resp)
            irregular = analysis.irregular
            judged = irregular_judged(beats.rr_ms, beats.segment)
            words = rhythm_words(
                analysis.rhythm_ok[rows],
                None if irregular is None else irregular[rows],
                judged[rows],
            )
            share = recent_artifact_share(beats.times_s, analysis.labels)[rows]
            regulation = [
                self.regulator.update(t, h, r, q, rhythm=w, artifact_share=a)
                for t, h, r, q, w, a in zip(
                    beats.times_s[rows].tolist(),
                    m[HR_METRIC].tolist(),
                    m[VAGAL_METRIC].tolist(),
                    resp.tolist(),
                    words,
                    share.tolist(),
                    strict=True,
                )
            ]
            self.last_regulation = regulation[-1] if regulation else None
            hr = 60_000.0 / beats.rr_ms
            self.history.beats.extend(
                {
                    "time_s": beats.times_s,
                    "rr_ms": beats.rr_ms,
                    "hr_bpm": hr,
                    "segment": beats.segment.astype(np.float64),
                    "label": analysis.labels.astype(np.float64),
                }
            )
            if settled:
                self.history.metrics.extend(
                    {
                        "time_s": beats.times_s[rows],
                        **m,
                        "arousal": np.array([r.arousal for r in regulation]),
                        "lowness": np.array([r.lowness for r in regulation]),
                        "zone": np.array([float(int(r.zone)) for r in regulation]),
                        "tentative": np.array([float(r.tentative) for r in regulation]),
                        "hrv_shown": np.array([float(r.hrv_shown) for r in regulation]),
                    }
                )

    # -- events from the person or the practice flow ----------------------------------
    def log(
        self,
        kind: EventKind,
        payload: dict[str, Any] | None = None,
        host_ns: int | None = None,
        time_s: float | None = None,
    ) -> Event:
        """Record an event now (``host_ns``) or at a given beat-clock time (``time_s``)."""
        if host_ns is None:
            host_ns = self.last_host_ns
        if time_s is None:
            time_s = self.time_at(host_ns)
        event = Event(float(time_s), kind, dict(payload or {}), int(host_ns))
        self._record(lambda r: r.add_event(event.time_s, kind, event.payload, event.host_ns))
        self.events.append(event)
        self._watch(event)
        return event

    # -- shift detection ----------------------------------------------------------------
    def _watch(self, event: Event) -> None:
        """Watch a logged event whose aftermath is measured (the batch analysis's rule)."""
        for effect_event in effects.effect_events([event]):
            self.shift_watch.add(effect_event.time_s, effect_event)

    def _measure_shifts(self) -> list[FoundShift]:
        """The shifts whose due beat has been reached (cheap when none is due)."""
        m = self.history.metrics
        if not m.size or not self.shift_watch.due(float(m["time_s"][-1])):
            return []
        found = [
            FoundShift(event, shift, due_s)
            for event, shift, due_s in self.shift_watch.measure(
                m["time_s"],
                m["HR_20s"],
                m["RMSSD"],
                m["arousal"],
                self.regulator.baseline,
                zone=m["zone"],
                lowness=m["lowness"],
            )
        ]
        self.shifts.extend(found)
        return found

    def _record(self, write: Callable[[Recorder], Any]) -> None:
        """Write through the recorder; a failed write stops recording, not the session.

        The person keeps their feedback on screen; :attr:`recording_error` says why the
        recording stopped, and everything committed before stays in the library.
        """
        if self.recorder is None:
            return
        try:
            write(self.recorder)
        except LibraryError as exc:
            self.recording_error = str(exc)
            log.error("%s", exc)
            self.recorder = None

    @property
    def received_beats(self) -> bool:
        """Whether any heartbeat arrived: a recording without one holds nothing to keep."""
        return self.beats_seen > 0

    def tick(self, now_ns: int) -> None:
        """Let the recorder commit what waited a second (call from the drain timer)."""
        self._record(lambda r: r.maybe_flush(int(now_ns)))

    def close(self) -> None:
        """Commit everything still buffered."""
        self._record(lambda r: r.flush())


def beats_from_items(start_ns: int, items: Iterable[Any]) -> Beats:
    """The beats a session gives for a source's items (packets, PMD frames, link changes in
    arrival order), without the analysis: the beats of a stored session with ECG, exactly
    as the live pipeline chose and timed them.

    Parameters
    ----------
    start_ns : int
        Host monotonic time of the session start (ns).
    items : iterable
        The items, as a replay loads them.
    """
    session = Session(start_ns, history=lambda index: ([], []), analyse_live=False)
    session._breathing = False  # the beats need the accelerometer's clock, not its breaths
    batch: list[Any] = []
    for item in items:  # in batches: an update holds its frames' samples until dropped
        if not isinstance(item, RecordedEvent):
            batch.append(item)
        if len(batch) >= 1000:
            session.process(batch)
            batch = []
    session.process(batch)
    return session.chosen_beats()
