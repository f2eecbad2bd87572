"""Every source of heartbeats: BLE strap, simulated strap, LSL inlet, recorded sessions.

`devices` never imports `trm_bio`: it knows packets and status, not sessions or metrics.
The public facade is small: a :class:`~devices.source.Source` yields
:class:`~devices.packet.Packet` and :class:`~devices.packet.StatusEvent` items.
"""

from devices.errors import DeviceError, MalformedPacketError
from devices.packet import LinkState, Packet, SensorContact, StatusEvent
from devices.source import Source, SourceItem

__all__ = [
    "DeviceError",
    "LinkState",
    "MalformedPacketError",
    "Packet",
    "SensorContact",
    "Source",
    "SourceItem",
    "StatusEvent",
]
