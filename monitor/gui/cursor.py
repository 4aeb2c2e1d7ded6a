"""The cursor readout of a plot: what lies under the mouse, as one line of text."""

from __future__ import annotations

from typing import Callable, Optional

from PyQt6 import QtCore

__all__ = ["CursorReadout", "WidgetCursorReadout"]


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


class WidgetCursorReadout(QtCore.QObject):
    """The same readout for a plain QWidget plot (:class:`monitor.gui.plot_canvas.PlotCanvas`):
    calls ``emit(readout(x, y) or "")`` as the mouse moves over ``widget``, with ``(x, y) =
    to_view(pos)`` in the plot's coordinates (None outside its plot area: ``emit("")``), and
    ``emit("")`` when the mouse leaves."""

    def __init__(self, widget, to_view: Callable, readout: Callable[[float, float], Optional[str]],
                 emit: Callable[[str], None]) -> None:
        super().__init__(widget)
        self._to_view, self._readout, self._emit = to_view, readout, emit
        widget.setMouseTracking(True)
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind == QtCore.QEvent.Type.Leave:
            self._emit("")
        elif kind == QtCore.QEvent.Type.MouseMove:
            view = self._to_view(event.position())
            self._emit("" if view is None else (self._readout(*view) or ""))
        return False
