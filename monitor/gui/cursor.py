"""The cursor readout of a plot: what lies under the mouse, as one line of text."""

from __future__ import annotations

from typing import Callable, Optional

from PyQt6 import QtCore

__all__ = ["CursorReadout"]


class CursorReadout(QtCore.QObject):
    """Calls ``emit(readout(x, y) or "")`` as the mouse moves over ``plot`` (a pyqtgraph
    PlotWidget; x and y in the view's coordinates) and ``emit("")`` when it leaves."""

    def __init__(self, plot, readout: Callable[[float, float], Optional[str]],
                 emit: Callable[[str], None]) -> None:
        super().__init__(plot)
        self._plot, self._readout, self._emit = plot, readout, emit
        plot.scene().sigMouseMoved.connect(self._moved)
        plot.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QtCore.QEvent.Type.Leave:
            self._emit("")
        return False

    def _moved(self, pos) -> None:
        vb = self._plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            self._emit("")
            return
        p = vb.mapSceneToView(pos)
        self._emit(self._readout(p.x(), p.y()) or "")
