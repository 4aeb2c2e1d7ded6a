"""A light curve item for plots whose ranges are fixed (the spectrum, the scope)."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6 import QtCore

__all__ = ["FixedRangeCurve", "drawn_on_screen"]


class FixedRangeCurve(pg.PlotCurveItem):
    """A :class:`pyqtgraph.PlotCurveItem` that reports fixed data bounds.

    The stock item recomputes its bounds (``nanmin``/``nanmax`` over the data) every time Qt
    asks for its bounding rectangle after a ``setData``; in the window that was 0.17 ms per
    update of each curve, for plots whose view range never follows the data. Here the bounds
    are what :meth:`set_bounds` was given. Antialiasing off and ``connect='all'``.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("antialias", False)
        kwargs.setdefault("connect", "all")
        super().__init__(*args, **kwargs)
        self._bounds = ((0.0, 1.0), (0.0, 1.0))

    def set_bounds(self, x: tuple, y: tuple) -> None:
        """The data's extent: ``x = (min, max)``, ``y = (min, max)`` in data coordinates."""
        self._bounds = ((float(x[0]), float(x[1])), (float(y[0]), float(y[1])))
        self.prepareGeometryChange()
        self.invalidateBounds()

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 - pyqtgraph API
        return self._bounds[ax]


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
