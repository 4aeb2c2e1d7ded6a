"""Settings persisted between runs with QSettings (one JSON value per Settings field)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional

from PyQt6 import QtCore

from monitor.settings import Settings

__all__ = ["SettingsStore", "ORGANIZATION", "APPLICATION", "NOT_PERSISTED", "SOURCE_FIELDS"]

ORGANIZATION = "spectromon"
APPLICATION = "spectromon"
# Run options of the command line, not preferences.
NOT_PERSISTED = frozenset({"realtime"})
SOURCE_FIELDS = ("device", "samplerate", "channels", "channel", "blocksize", "latency", "input",
                 "loop", "generator")
_FIELDS = {f.name for f in dataclasses.fields(Settings)}
_PREFIX = "settings/"


class SettingsStore:
    """Reads and writes :class:`Settings` fields, and a few window-only values, in QSettings.

    Parameters
    ----------
    organization, application : str
        QSettings scope; tests pass their own so the user's settings are never touched.
    path : str, optional
        An explicit INI file instead of the user's configuration directory.
    """

    def __init__(self, organization: str = ORGANIZATION, application: str = APPLICATION,
                 path: Optional[str] = None) -> None:
        fmt = QtCore.QSettings.Format.IniFormat
        if path is not None:
            self.qsettings = QtCore.QSettings(path, fmt)
        else:
            self.qsettings = QtCore.QSettings(fmt, QtCore.QSettings.Scope.UserScope,
                                              organization, application)

    def clear(self) -> None:
        """Forget everything saved (``--reset-settings``)."""
        self.qsettings.clear()
        self.qsettings.sync()

    def load(self) -> dict[str, Any]:
        """The saved Settings fields (unvalidated; unreadable values are skipped)."""
        out: dict[str, Any] = {}
        for key in self.qsettings.allKeys():
            if not key.startswith(_PREFIX):
                continue
            name = key[len(_PREFIX):]
            if name not in _FIELDS or name in NOT_PERSISTED:
                continue
            try:
                value = json.loads(str(self.qsettings.value(key)))
            except (TypeError, ValueError):
                continue
            if name == "watch" and isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            out[name] = value
        return out

    def save(self, settings: Settings, given: Optional[dict] = None) -> None:
        """Save every field of ``settings``, except those still equal to what the command line
        gave for this run only (``given``): those keep their saved value."""
        given = given or {}
        for f in dataclasses.fields(Settings):
            if f.name in NOT_PERSISTED:
                continue
            value = getattr(settings, f.name)
            if f.name in given and given[f.name] == value:
                continue
            self.qsettings.setValue(_PREFIX + f.name, json.dumps(value))
        self.qsettings.sync()

    def value(self, key: str, default: Any = None) -> Any:
        """A window-only value (geometry, view), not a Settings field."""
        return self.qsettings.value("window/" + key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.qsettings.setValue("window/" + key, value)


def merge_settings(saved: dict, given: dict) -> tuple[Settings, Optional[str]]:
    """Lay the command line's fields over the saved ones and validate.

    Returns the settings and, when the saved ones were unusable, why they were dropped.
    Raises ParameterError only for a bad command line.
    """
    from monitor.settings import ParameterError

    try:
        return Settings(**{**saved, **given}).validate(), None
    except (ParameterError, TypeError) as exc:
        settings = Settings(**given).validate()
        return settings, f"saved settings ignored ({exc})"
