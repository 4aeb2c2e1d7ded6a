"""Whether drawing a widget would be seen: views skip their drawing (never their state) when not."""

from __future__ import annotations

from PyQt6 import QtCore

__all__ = ["drawn_on_screen"]


def drawn_on_screen(widget) -> bool:
    """False when drawing ``widget`` is wasted: hidden (its dock or layout), in a dock behind
    another dock's tab (Qt moves those outside the window, still "visible") or the window
    minimised. Its state should still be updated; only the drawing is skipped."""
    if not widget.isVisible():
        return False
    top = widget.window()
    if top.isMinimized():
        return False
    # Not visibleRegion(): that excludes what opaque children cover (a plot inside its view).
    return QtCore.QRect(widget.mapTo(top, QtCore.QPoint(0, 0)), widget.size()).intersects(top.rect())
