"""The one list of problems of a session: each with a key, a severity and a time.

The session reports into it; the status bar, the banners and the headless JSON read it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

__all__ = ["Problem", "Problems", "SEVERITIES"]

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Problem:
    """Something the user should know.

    Attributes
    ----------
    key : str
        What it is about ('input', 'recording', 'classifier', 'worker', 'change', 'fit:n_mels',
        ...); a new problem with the same key replaces the old one.
    text : str
        One line.
    severity : {'info', 'warning', 'error'}
        'error': something the user asked for does not work; 'warning': it works differently
        than asked (a fallback); 'info': an adaptation or an event worth a line.
    time : float
        Wall-clock time it was reported (``time.time()``).
    """

    key: str
    text: str
    severity: str
    time: float

    def as_dict(self) -> dict:
        return {"key": self.key, "text": self.text, "severity": self.severity,
                "time": round(self.time, 3)}


class Problems:
    """The session's one list of problems, newest per key.

    Written by the session (any thread that drives it) and read by the presenters; a reader gets
    a snapshot. :attr:`version` changes with every change, so presenters redraw only then.
    """

    def __init__(self) -> None:
        self._items: dict[str, Problem] = {}
        self._lock = threading.Lock()
        self.version = 0

    def report(self, key: str, text: str, severity: str = "warning") -> None:
        """Add or replace the problem ``key`` (no change if the same text is already there)."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        with self._lock:
            old = self._items.get(key)
            if old is not None and old.text == text and old.severity == severity:
                return
            self._items[key] = Problem(key, text, severity, time.time())
            self.version += 1

    def clear(self, *keys: str, prefix: Optional[str] = None) -> None:
        """Remove the problems ``keys`` (and every key starting with ``prefix``)."""
        with self._lock:
            doomed = [k for k in self._items if k in keys or (prefix and k.startswith(prefix))]
            for k in doomed:
                del self._items[k]
            if doomed:
                self.version += 1

    def get(self, key: str) -> Optional[Problem]:
        return self._items.get(key)

    def items(self) -> list[Problem]:
        """All problems, most severe first, then newest first."""
        with self._lock:
            items = list(self._items.values())
        return sorted(items, key=lambda p: (-SEVERITIES.index(p.severity), -p.time))

    def top(self, min_severity: str = "warning") -> Optional[Problem]:
        """The most severe, newest problem of at least ``min_severity``, or None."""
        floor = SEVERITIES.index(min_severity)
        for p in self.items():
            if SEVERITIES.index(p.severity) >= floor:
                return p
        return None

    def __len__(self) -> int:
        return len(self._items)
