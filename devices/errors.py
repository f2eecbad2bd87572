"""The device layer's own exception hierarchy (in the manner of bleak's ``BleakError``).

Every error that crosses the device boundary is a :class:`DeviceError` whose ``str()`` is
one sentence a user can act on; the original exception is kept as ``__cause__``.
"""


class DeviceError(Exception):
    """A source could not do what was asked; the message is a sentence for the user."""


class MalformedPacketError(DeviceError, ValueError):
    """A Heart Rate Measurement payload is truncated or inconsistent."""


class BluetoothUnavailableError(DeviceError):
    """No Bluetooth adapter, no Bluetooth service, or no permission to use it."""


class DeviceNotFoundError(DeviceError):
    """No strap with the requested address or name answered a scan."""


class NotAHeartRateStrapError(DeviceError):
    """The device connected but has no Heart Rate Service (0x180D)."""
