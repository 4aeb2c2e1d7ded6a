"""A pyqtgraph axis with readable Hz/kHz tick labels on a row coordinate (linear, log or mel
rows), placed by :mod:`monitor.gui.axis_ticks` as the canvases' axes are. For pyqtgraph plots
only (built when first shown): the window's own views paint their axes from
:mod:`monitor.gui.axis_ticks` and never import this module."""

from __future__ import annotations

from typing import Optional

import pyqtgraph as pg

from monitor.dsp.frequency_rows import FrequencyRows
from monitor.gui.axis_ticks import (
    LABEL_SPACING_PX,
    format_hz,
    frequency_rows_ticks,
    frequency_tick_labels,
)

__all__ = ["FrequencyAxis", "format_hz"]


class FrequencyAxis(pg.AxisItem):
    """An AxisItem whose data coordinate is a display row of :class:`FrequencyRows` and whose
    ticks are placed at round frequencies (1-2-5 steps on log and mel scales).

    Without rows it behaves like a plain AxisItem (used for the time axis of a vertical
    waterfall, which swaps the axes).
    """

    MIN_SPACING_PX = LABEL_SPACING_PX

    def __init__(self, orientation: str, rows: Optional[FrequencyRows] = None, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.rows = rows

    def set_rows(self, rows: Optional[FrequencyRows]) -> None:
        """Use ``rows`` (None: plain numbers) and redraw."""
        self.rows = rows
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph API
        if self.rows is None:
            return super().tickValues(minVal, maxVal, size)
        ys = frequency_rows_ticks(self.rows, minVal, maxVal, size,
                                  self.MIN_SPACING_PX.get(self.orientation, 30))
        return [(1.0, list(ys))] if len(ys) else []

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if self.rows is None:
            return super().tickStrings(values, scale, spacing)
        return frequency_tick_labels(self.rows, values)
