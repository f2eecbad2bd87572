"""Publish a running session (live or replay) on Lab Streaming Layer.

One :class:`LslPublisher` per session opens five outlets, all under one stream name (the
way one device offers several streams), told apart by type:

========================  ==========  ====================================================
type                      channels    one sample per
========================  ==========  ====================================================
``RR``                    1 float64   beat: RR (ms), timestamp = the beat's time
``HRV``                   float64     settled beat: every engine metric (NaN: not valid)
``Zone``                  4 float64   settled beat: arousal, lowness, zone code, tentative
``Markers``               1 string    session event (skill steps, sensations, Help Now!,
                                      markers, notes, link changes) as JSON text
                                      ``{"kind", "time_s", "payload"}``
``HeartRateMeasurement``  1 string    strap packet, PMD frame or link change, JSON
                                      ``{"t_ns", "hrm"}``, ``{"t_ns", "pmd"}`` (a Polar
                                      strap's ECG or accelerometer frame) or
                                      ``{"t_ns", "state", ...}``: the raw ground truth,
                                      so another trm-bio (``devices.lsl.LslSource``) can
                                      rebuild the session bit for bit
========================  ==========  ====================================================

Clock: every timestamp is ``start_lsl + t`` where ``t`` is the beat-clock time (s from the
session start) of the beat, event or packet, and ``start_lsl`` is the session start on the
LSL clock (``local_clock()`` now, minus the session time elapsed now). LSL carries it to
other computers with its own clock synchronisation, so beat timing survives the network. A
simulated strap running faster than real time runs its beat clock ahead of the LSL clock.

Metadata (``desc()``): ``channels/channel`` with ``label``, ``unit`` and ``type``;
``acquisition`` with ``manufacturer`` (trm-bio), ``model`` (the device name) and
``serial_number`` (the strap's source id); ``trm_bio`` with ``version``,
``session_start_lsl`` and ``strap_source_id``. Source ids are ``trm-bio:<strap>:<type>``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from devices.lsl import HRM_STREAM_TYPE, load_pylsl
from devices.packet import Packet, StatusEvent
from devices.pmd import PmdFrame
from trm_bio import __version__

log = logging.getLogger(__name__)

DEFAULT_STREAM_NAME = "trm-bio"
ZONE_CHANNELS = ("arousal", "lowness", "zone", "tentative")
LINGER_S = 0.5  # after the last sample, before closing: consumers still receiving get it

_METRIC_UNITS = {
    "MeanNN": "ms",
    "SDNN": "ms",
    "RMSSD": "ms",
    "pNN50": "percent",
    "HR": "bpm",
    "HR_20s": "bpm",
    "VLF": "ms^2",
    "LF": "ms^2",
    "HF": "ms^2",
    "LFHF": "ratio",
    "HFpeak": "Hz",
    "Coherence": "ratio",
    "RespirationRate": "breaths/min",
}
_ZONE_UNITS = {
    "arousal": "z",
    "lowness": "z",
    "zone": "code",  # trm_bio.core.regulation.ZoneIndicator values
    "tentative": "boolean",
}


class LslPublisher:
    """The outlets of one session (see module doc).

    Parameters
    ----------
    name : str
        Stream name shared by the five outlets.
    session_start_ns : int
        Host monotonic time of the session start (ns): zero of the beat clock.
    start_lsl : float
        The same instant on the LSL clock (s).
    strap_source_id : str
        Id of the strap (or simulated strap, or replayed session) the beats come from.
    metric_names : sequence of str
        The engine's metric names, in the order of its updates.
    device_name : str
        Shown as the acquisition model.
    """

    def __init__(
        self,
        name: str,
        *,
        session_start_ns: int,
        start_lsl: float,
        strap_source_id: str,
        metric_names: Sequence[str],
        device_name: str = "",
    ) -> None:
        pylsl = load_pylsl()
        self.name = name
        self.session_start_ns = int(session_start_ns)
        self.start_lsl = float(start_lsl)
        self.strap_source_id = strap_source_id
        self.metric_names = tuple(metric_names)
        self._events_sent = 0

        def outlet(kind: str, labels: Sequence[str], units: dict[str, str], fmt: str) -> Any:
            count = len(labels)
            info = pylsl.StreamInfo(
                name, kind, count, pylsl.IRREGULAR_RATE, fmt, f"trm-bio:{strap_source_id}:{kind}"
            )
            desc = info.desc()
            channels = desc.append_child("channels")
            for label in labels:
                channel = channels.append_child("channel")
                channel.append_child_value("label", label)
                channel.append_child_value("unit", units.get(label, ""))
                channel.append_child_value("type", kind)
            acquisition = desc.append_child("acquisition")
            acquisition.append_child_value("manufacturer", "trm-bio")
            acquisition.append_child_value("model", device_name or strap_source_id)
            acquisition.append_child_value("serial_number", strap_source_id)
            app = desc.append_child("trm_bio")
            app.append_child_value("version", __version__)
            app.append_child_value("session_start_lsl", repr(self.start_lsl))
            app.append_child_value("strap_source_id", strap_source_id)
            return pylsl.StreamOutlet(info, chunk_size=1, max_buffered=360)

        self.packets = outlet(HRM_STREAM_TYPE, ("packet",), {"packet": "json"}, "string")
        self.beats = outlet("RR", ("RR",), {"RR": "ms"}, "double64")
        self.metrics = outlet("HRV", self.metric_names, _METRIC_UNITS, "double64")
        self.zone = outlet("Zone", ZONE_CHANNELS, _ZONE_UNITS, "double64")
        self.markers = outlet("Markers", ("event",), {"event": "json"}, "string")
        self._outlets: tuple[Any, ...] = (
            self.packets, self.beats, self.metrics, self.zone, self.markers
        )

    # -- publishing ----------------------------------------------------------------------------
    def lsl_time(self, time_s: float) -> float:
        """LSL timestamp (s) of a beat-clock time (s)."""
        return self.start_lsl + time_s

    def publish(self, update: Any, session: Any, items: Sequence[Any] = ()) -> None:
        """Push what one drain produced: the raw items, beats, metrics, zone and new events.

        Parameters
        ----------
        update : trm_bio.session.SessionUpdate
            What the session made of ``items``.
        session : trm_bio.session.Session
            The session (its event list holds every event, wherever it was logged).
        items : sequence
            The source items the session just processed.
        """
        for item in items:
            record: dict[str, Any] | None = None
            if isinstance(item, Packet):
                record = {"t_ns": item.host_ns - self.session_start_ns, "hrm": item.payload.hex()}
            elif isinstance(item, PmdFrame):
                record = {"t_ns": item.host_ns - self.session_start_ns, "pmd": item.payload.hex()}
            elif isinstance(item, StatusEvent):
                record = {
                    "t_ns": item.host_ns - self.session_start_ns,
                    "state": item.state.value,
                    "message": item.message,
                    "battery": item.battery_percent,
                    "location": item.body_location,
                }
            if record is not None:
                stamp = self.lsl_time(record["t_ns"] / 1e9)
                self.packets.push_sample([json.dumps(record)], stamp)
        for state in update.beats:
            beat = state.beat
            self.beats.push_sample([beat.rr_ms], self.lsl_time(beat.time_s))
            if beat.settled_index < 0:
                continue
            stamp = self.lsl_time(beat.settled_time_s)
            self.metrics.push_sample(
                [float(beat.metrics.get(name, math.nan)) for name in self.metric_names], stamp
            )
            r = state.regulation
            if r is not None:
                self.zone.push_sample(
                    [r.arousal, r.lowness, float(int(r.zone)), float(r.tentative)], stamp
                )
        if update.seeked:  # a replay jump: what lies before it is not news
            self._events_sent = len(session.events)
        self.publish_events(session)

    def publish_events(self, session: Any) -> None:
        """Push the session's events logged since the last call, in order, one JSON each."""
        events = session.events
        for event in events[self._events_sent :]:
            text = json.dumps(
                {"kind": event.kind, "time_s": event.time_s, "payload": event.payload},
                default=str,
            )
            self.markers.push_sample([text], self.lsl_time(event.time_s))
        self._events_sent = len(events)

    def skip_events(self, session: Any) -> None:
        """Do not publish the events the session already holds."""
        self._events_sent = len(session.events)

    def wait_for_consumers(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` (s) until some program receives one of the streams."""
        deadline = time.monotonic() + timeout_s
        while True:
            if any(o.have_consumers() for o in self._outlets):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def close(self) -> None:
        """Close the outlets, after a short linger while consumers take the last samples."""
        if any(o.have_consumers() for o in self._outlets):
            time.sleep(LINGER_S)  # liblsl drops what is unsent when an outlet closes
        self._outlets = ()
        self.packets = self.beats = self.metrics = self.zone = self.markers = None
