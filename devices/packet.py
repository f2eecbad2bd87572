"""What every source emits: raw packets stamped with host time, and status changes.

A :class:`Packet` is the ground truth a session stores: the payload bytes exactly as they
arrived, the host's monotonic time of arrival, and the source id. The decoded fields are a
convenience (they can always be decoded again from ``payload``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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
    """

    host_ns: int
    source_id: str
    state: LinkState
    message: str = ""
    battery_percent: int | None = None
    body_location: int | None = None
    details: dict[str, str] = field(default_factory=dict)
