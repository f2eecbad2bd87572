"""Settings remembered between runs (QSettings): display choices and the person's name.

The name makes the file private: it is kept at mode 0600 in a folder of mode 0700.

Tests point QSettings at a temporary folder with :func:`use_settings_folder` so that a
test run never touches the user's own settings.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from trm_bio.store.paths import keep_private

log = logging.getLogger(__name__)

ORGANISATION = "trm-bio"
APPLICATION = "trm-bio"

#: Time spans offered on the live screen: label -> seconds (None: the whole session).
SPANS: dict[str, float | None] = {
    "1 min": 60.0,
    "5 min": 300.0,
    "15 min": 900.0,
    "Whole session": None,
}

#: Trend metrics offered beside RMSSD (engine names).
TREND_CHOICES = ("RMSSD", "SDNN", "pNN50", "HR", "MeanNN", "LF", "HF", "LFHF")

_DEFAULTS: dict[str, Any] = {
    "large_text": False,
    "hide_numbers": False,
    "reduced_motion": False,
    "client_numbers": False,
    "clinician_mode": False,
    "span": "5 min",
    "trends": ["RMSSD", "SDNN"],
    "person": "",
    "lsl": False,
}


def use_settings_folder(folder: Path) -> None:
    """Keep every QSettings of this process in ``folder`` (INI files), e.g. for tests."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    # QSettings(organisation, application), the app's own, is NativeFormat: an INI file
    # too on Linux and the BSDs, whose folder is set apart.
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))


class Settings:
    """Typed access to the app's QSettings, with defaults."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings(ORGANISATION, APPLICATION)
        self._keep_private()

    def _keep_private(self) -> None:
        """The file holds the person's name: 0600 before QSettings first writes it, which
        keeps the mode when it replaces the file."""
        if self.q.format() != QSettings.Format.IniFormat and sys.platform in ("win32", "darwin"):
            return  # the registry and macOS's preferences are per-user already, and no file
        file = Path(self.q.fileName())
        try:
            keep_private(file, own_folder=file.parent.name == ORGANISATION)
        except OSError as exc:  # settings are a comfort: the app runs without them
            log.warning("cannot keep the settings file %s private: %s", file, exc)

    def _get(self, key: str) -> Any:
        default = _DEFAULTS[key]
        value = self.q.value(key, default)
        if isinstance(default, bool):
            return value in (True, "true", "True", 1, "1")
        if isinstance(default, list):
            if isinstance(value, str):
                return [value] if value else []
            return list(value) if isinstance(value, list | tuple) else []
        return value

    def _set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    large_text = property(
        lambda s: s._get("large_text"), lambda s, v: s._set("large_text", bool(v))
    )
    hide_numbers = property(
        lambda s: s._get("hide_numbers"), lambda s, v: s._set("hide_numbers", bool(v))
    )
    reduced_motion = property(
        lambda s: s._get("reduced_motion"), lambda s, v: s._set("reduced_motion", bool(v))
    )
    client_numbers = property(
        lambda s: s._get("client_numbers"), lambda s, v: s._set("client_numbers", bool(v))
    )
    clinician_mode = property(
        lambda s: s._get("clinician_mode"), lambda s, v: s._set("clinician_mode", bool(v))
    )
    lsl = property(lambda s: s._get("lsl"), lambda s, v: s._set("lsl", bool(v)))
    person = property(lambda s: str(s._get("person")), lambda s, v: s._set("person", str(v)))

    @property
    def span(self) -> str:
        value = str(self._get("span"))
        return value if value in SPANS else _DEFAULTS["span"]

    @span.setter
    def span(self, value: str) -> None:
        self._set("span", value)

    @property
    def trends(self) -> list[str]:
        chosen = [m for m in self._get("trends") if m in TREND_CHOICES]
        return chosen or list(_DEFAULTS["trends"])

    @trends.setter
    def trends(self, value: list[str]) -> None:
        self._set("trends", list(value))

    def forget_person(self) -> None:
        """Drop a person's name an earlier version kept (it must not reach another library)."""
        if self.q.contains("person"):
            self.q.remove("person")

    def geometry(self, name: str) -> QByteArray | None:
        value = self.q.value(f"geometry/{name}")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, name: str, value: QByteArray) -> None:
        self.q.setValue(f"geometry/{name}", value)

    def sync(self) -> None:
        self.q.sync()
        self._keep_private()
