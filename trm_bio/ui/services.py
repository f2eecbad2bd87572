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

    def save_session_report(self, analysis: Any, path: str) -> Any:
        """Write the session's report (HTML or PDF by the suffix of ``path``); returns the path.

        Raises ``TrmBioError`` with one sentence when the file cannot be written.
        """

    def person_trends(self, person: str) -> Any:
        """A person's progress across sessions (``trm_bio.report.trends.Trends``).

        Raises ``TrmBioError`` with one sentence (no such person, no session yet).
        """

    def save_trends_report(self, trends: Any, path: str) -> Any:
        """Write a person's trends report (HTML or PDF by the suffix); returns the path."""

    def last_person(self) -> str | None:
        """The person of the newest session that has one (None when there is none)."""
