"""What every source emits: raw packets stamped with host time, and status changes.

A :class:`Packet` is the ground truth a session stores: the payload bytes exactly as they
arrived, the host's monotonic time of arrival, and the source id. The decoded fields are a
convenience (they can always be decoded again from ``payload``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

#: What a strap can offer, in the order ``StatusEvent.details["offers"]`` lists them: heart
#: rate, RR intervals, single-lead ECG and the accelerometer (the last two over Polar's PMD).
OFFERS: tuple[str, ...] = ("HR", "RR", "ECG", "ACC")

#: The set-up steps of one connection, in order (``StatusEvent.details["step"]``).
SETUP_STEPS: tuple[str, ...] = (
    "connected",
    "services read",
    "waiting for beats",
    "beats arriving",
)

#: States of a raw stream (``StatusEvent.details["ecg"]`` and ``["acc"]``).
RAW_STREAM_STATES: tuple[str, ...] = (
    "not offered",
    "off",
    "starting",
    "waiting",
    "arriving",
    "stalled",
    "refused",
    "failed",
)


def offers_text(offers: frozenset[str]) -> str:
    """``offers`` as ``StatusEvent.details["offers"]`` spells it (``"HR,RR,ECG,ACC"``)."""
    return ",".join(name for name in OFFERS if name in offers)


class SensorContact(enum.IntEnum):
    """Sensor-contact state from bits 1-2 of the Heart Rate Measurement flags."""

    NOT_SUPPORTED = 0  # bits 1-2 are 0 or 1: the strap does not report contact
    NO_CONTACT = 2
    CONTACT = 3


class LinkState(enum.Enum):
    """Where a source is in its life; carried by :class:`StatusEvent`."""

    SCANNING = "scanning"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    STREAMING = "streaming"
    CONTACT_LOST = "contact lost"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Packet:
    """One notification from a heart-rate source.

    Parameters
    ----------
    host_ns : int
        Host monotonic time of arrival, ``time.monotonic_ns()`` (ns). For simulated or
        replayed sources, the virtual host time the packet would have arrived at.
    source_id : str
        Stable id of the source: a Bluetooth address, ``"sim:<scenario>:<seed>"``, an LSL id.
    payload : bytes
        The raw Heart Rate Measurement (0x2A37) bytes as received.
    heart_rate_bpm : int
        Heart rate the strap reported (bpm).
    rr_ms : tuple of float
        RR intervals carried, oldest first (ms, ``raw * 1000 / 1024``, never rounded).
    contact : SensorContact
        Sensor-contact state.
    energy_kj : int or None
        Energy expended (kJ) when the strap sent it.
    error : str or None
        Why the payload could not be decoded (then every decoded field is empty). Such a
        packet is still delivered, so that its bytes are stored: nothing is thrown away.
    """

    host_ns: int
    source_id: str
    payload: bytes
    heart_rate_bpm: int
    rr_ms: tuple[float, ...] = ()
    contact: SensorContact = SensorContact.NOT_SUPPORTED
    energy_kj: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A change in a source's link state.

    Parameters
    ----------
    host_ns : int
        Host monotonic time of the change (ns).
    source_id : str
        Id of the source whose state changed.
    state : LinkState
        The new state.
    message : str
        One sentence for the user (the reason, for ``FAILED`` and ``DISCONNECTED``).
    battery_percent, body_location : int or None
        Latest battery level (%) and Body Sensor Location code, when known.
    details : dict of str to str
        Machine-readable facts beside the sentence (a strap dialog shows them step by step).
        A Bluetooth strap (:class:`devices.ble.BleStrap`) sets these keys:

        * ``"cause"`` (RECONNECTING only): ``"dropped"``, ``"silent"`` or
          ``"failed attempt"``; a RECONNECTING event carries nothing else.
        * ``"step"``: how far the current connection has come, one of
          :data:`SETUP_STEPS`: ``"connected"``, ``"services read"`` (battery, body location
          and what the strap offers read), ``"waiting for beats"`` (subscribed, no RR yet),
          ``"beats arriving"`` (a packet carried RR).
        * ``"offers"``: what the strap is known to offer so far, comma-separated in the
          order of :data:`OFFERS` (``"HR,RR,ECG,ACC"`` for a Polar H10 once all is known);
          the same as the source's ``offers``.
        * ``"ecg"``, ``"acc"``: the raw stream's state, one of :data:`RAW_STREAM_STATES`:
          ``"not offered"``, ``"off"`` (the caller turned raw streams off), ``"starting"``,
          ``"waiting"`` (started, no frame yet: an H10's ECG can take 20-30 s),
          ``"arriving"``, ``"stalled"`` (frames arrived, then stopped; the heart rate goes
          on), ``"refused"`` (the strap said no; the message says why) or ``"failed"`` (it
          could not be started; the message says why). Absent until known.

        Every event of a connection carries the latest value of every key it has reached,
        so any one event is enough to draw the dialog.
    """

    host_ns: int
    source_id: str
    state: LinkState
    message: str = ""
    battery_percent: int | None = None
    body_location: int | None = None
    details: dict[str, str] = field(default_factory=dict)
