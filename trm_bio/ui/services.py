"""What the windows may ask of the rest of the app, beside the session controller.

The composition root (:mod:`trm_bio.app`) implements :class:`AppServices`; the windows never
open the library or a device themselves. A source made here is handed, unopened, to the
controller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class DeviceChoice:
    """A strap the person picked: the simulated one (with a scenario) or a Bluetooth one."""

    kind: str  # "simulated" or "ble"
    target: str = ""  # Bluetooth address or name (empty for the simulated strap)
    name: str = "Simulated strap"
    scenario: str = "calm"
    rssi: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "simulated":
            return f"Simulated strap ({self.scenario})"
        signal = f", {self.rssi} dBm" if self.rssi is not None else ""
        return f"{self.name or 'Heart-rate strap'} [{self.target}{signal}]"


class AppServices(Protocol):
    """The composition root's offer to the windows."""

    scenarios: tuple[str, ...]
    band: tuple[float, float]  # the regulation model's Low and High thresholds (spreads)

    def scan(self, timeout_s: float) -> list[DeviceChoice]:
        """Straps in reach (blocks; called on a worker thread)."""

    def make_source(self, choice: DeviceChoice) -> Any:
        """A new, unstarted source for ``choice`` (the controller starts it)."""

    def live_shifts(self, session: Any) -> list[tuple[Any, Any]]:
        """(effects.Event, Shift) pairs detected so far in a live session."""

    def list_sessions(self) -> list[Any]:
        """The library's sessions (``SessionInfo``), newest last."""

    def analyse(self, session_id: int) -> Any:
        """The stored session analysed (``trm_bio.history.SessionAnalysis``)."""
