"""The user's choices saved between runs, with QSettings (one JSON value per Settings field).

Only what the user chose is saved (see :meth:`monitor.session.Session.saved_choices`), so a
value the user never set (a hop that follows n_fft) keeps following its rule on the next start.
QtCore only: the headless runner reads the same saved settings as the window.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from PyQt6 import QtCore

from monitor.settings import FIELDS, field_spec

__all__ = ["SettingsStore", "ORGANIZATION", "APPLICATION"]

ORGANIZATION = "spectromon"
APPLICATION = "spectromon"
_PREFIX = "settings/"
_VERSION_KEY = "format/version"
# Version 1 saved every field, chosen or not; version 2 saves only the user's choices.
_VERSION = 2


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
        """The saved choices (unvalidated: :func:`monitor.session.clean_saved` checks them;
        unreadable values are skipped)."""
        out: dict[str, Any] = {}
        names = {f.name for f in FIELDS if f.persist}
        for key in self.qsettings.allKeys():
            if not key.startswith(_PREFIX):
                continue
            name = key[len(_PREFIX):]
            if name not in names:
                continue
            try:
                value = json.loads(str(self.qsettings.value(key)))
            except (TypeError, ValueError):
                continue
            if name in ("watch", "spl_offsets") and isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            out[name] = value
        if self.qsettings.value(_VERSION_KEY) is None and out:
            out = _from_version_1(out)
        return out

    def save(self, choices: dict) -> None:
        """Save exactly ``choices`` (field → value): fields not in it are forgotten."""
        for key in self.qsettings.allKeys():
            if key.startswith(_PREFIX) and key[len(_PREFIX):] not in choices:
                self.qsettings.remove(key)
        for name, value in choices.items():
            if field_spec(name).persist:
                self.qsettings.setValue(_PREFIX + name, json.dumps(value))
        self.qsettings.setValue(_VERSION_KEY, _VERSION)
        self.qsettings.sync()

    def value(self, key: str, default: Any = None) -> Any:
        """A window-only value (geometry, view), not a Settings field."""
        return self.qsettings.value("window/" + key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.qsettings.setValue("window/" + key, value)


def _from_version_1(saved: dict) -> dict:
    """Version 1 saved every field: keep only those that differ from their default, and a hop
    only if it is not n_fft/4 (then it was not chosen, it followed n_fft)."""
    out = {k: v for k, v in saved.items() if v != field_spec(k).default or k == "hop"}
    n_fft = out.get("n_fft", field_spec("n_fft").default)
    if isinstance(n_fft, int) and out.get("hop") == max(1, n_fft // 4):
        del out["hop"]
    return out
