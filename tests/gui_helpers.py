"""Shared pieces of the window tests: an exception recorder for Qt slots and timers, and a
folder for screenshots a person can look at."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Screenshots of the window tests land here (ignored by git) so that a person can look.
SCREENSHOTS = Path(os.environ.get("SPECTROMON_TEST_OUTPUT", REPO / "test-output"))


class ExceptionRecorder:
    """Records every exception Python hands to ``sys.excepthook``: PyQt6 routes there what a
    slot, a timer's ``timeout`` handler or a virtual method raises, which the event loop would
    otherwise print and forget (723 tracebacks in 25 s went unnoticed that way)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._previous = None

    def __enter__(self) -> "ExceptionRecorder":
        self._previous = sys.excepthook

        def hook(kind, value, tb):
            self.seen.append("".join(traceback.format_exception(kind, value, tb)))

        sys.excepthook = hook
        return self

    def __exit__(self, *exc) -> None:
        sys.excepthook = self._previous

    def check(self) -> None:
        assert not self.seen, f"{len(self.seen)} exception(s) from Qt slots/timers:\n" + \
            self.seen[0]


def save_screenshot(widget, name: str) -> Path:
    """Grab ``widget`` into ``test-output/NAME.png``; returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), path
    return path
