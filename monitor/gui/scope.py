"""Oscilloscope: the last ``scope_ms`` milliseconds of the analysed mono audio."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from monitor.gui.curves import FixedRangeCurve, drawn_on_screen
from monitor.gui.theme import COLORS, cache_static_items, fixed_plot
from monitor.settings import Settings

__all__ = ["ScopeView"]


class ScopeView(QtWidgets.QWidget):
    """Waveform of the worker's scope buffer (a numpy array the worker swaps atomically)."""

    def __init__(self, settings: Settings, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._last: Optional[np.ndarray] = None
        self._x: Optional[np.ndarray] = None
        self._step: Optional[tuple] = None
        self.plot = fixed_plot("waveform")
        self.plot.setLabel("bottom", "time", units="ms")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setYRange(-1.0, 1.0, padding=0.02)
        self.curve = FixedRangeCurve(pen=pg.mkPen(COLORS["ok"], width=1))
        self.plot.addItem(self.curve)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        cache_static_items(self.plot)
        self.apply_settings(settings)

    def set_ui_scale(self, scale: float) -> None:
        """Line widths at UI ``scale`` (and the title's size)."""
        self.ui_scale = float(scale)
        width = max(1.0, round(float(scale) * 2) / 2)
        self.curve.setPen(pg.mkPen(COLORS["ok"], width=width))

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.plot.setXRange(-settings.scope_ms, 0, padding=0)
        # Samples are within ±1 full scale (normalised audio may overshoot; the view clips).
        self.curve.set_bounds((-settings.scope_ms, 0.0), (-1.0, 1.0))

    def update_scope(self, samples: np.ndarray, samplerate: float) -> bool:
        """Draw ``samples`` (the newest last) if they are a new array; return True if drawn."""
        if samples is self._last or samples.size == 0 or not drawn_on_screen(self):
            return False
        self._last = samples
        # Beyond ~2 points per pixel, draw the min and max of each group of samples: the
        # envelope looks the same as every sample drawn, at a fraction of the path.
        pixels = max(100, self.plot.getPlotItem().getViewBox().width())
        step = max(1, int(samples.size // (2 * pixels)))
        n = samples.size // step
        if step > 1:
            groups = samples[samples.size - n * step:].reshape(n, step)
            y = np.empty(2 * n, dtype=np.float32)
            y[0::2] = groups.min(axis=1)
            y[1::2] = groups.max(axis=1)
        else:
            y = samples
        key = (y.size, step, samplerate, samples.size)
        if self._step != key:
            pos = np.repeat(np.arange(n) * step, 2) if step > 1 else np.arange(samples.size)
            self._x = (pos - (samples.size - 1)) * (1e3 / samplerate)
            self._step = key
        self.curve.setData(self._x, y, skipFiniteCheck=True)
        return True
