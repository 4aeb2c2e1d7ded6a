"""Oscilloscope: the last ``scope_ms`` milliseconds of the analysed mono audio."""

from __future__ import annotations

from typing import Optional

import numpy as np
from PyQt6 import QtWidgets

from monitor.gui.on_screen import drawn_on_screen
from monitor.gui.plot_canvas import PlotCanvas, Trace, linear_ticks
from monitor.settings import Settings

__all__ = ["ScopeView"]

Y_PADDING = 0.02  # of the ±1 full-scale range, above and below


class ScopeView(PlotCanvas):
    """Waveform of the worker's scope buffer (a numpy array the worker swaps atomically).

    A :class:`~monitor.gui.plot_canvas.PlotCanvas`: ``curve`` is its trace (x in ms before the
    newest sample, y in full scale), :meth:`view_range` its ranges.
    """

    def __init__(self, settings: Settings, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__("waveform", linear_ticks(40), linear_ticks(24), parent)
        self.settings = settings
        self._last: Optional[np.ndarray] = None
        self._x: Optional[np.ndarray] = None
        self._step: Optional[tuple] = None
        self._y: Optional[np.ndarray] = None  # the envelope's kept y (the curve's)
        self.set_label("bottom", "time (ms)")
        pad = 2.0 * Y_PADDING
        self.set_y_range(-1.0 - pad, 1.0 + pad)
        self.curve = self.add_trace(Trace("ok"))
        self.apply_settings(settings)

    def set_ui_scale(self, scale: float) -> None:
        """Line width and fonts at UI ``scale``, the colours in force."""
        self.curve.setPen("ok", max(1.0, round(float(scale) * 2) / 2))
        super().set_ui_scale(scale)

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.set_x_range(-settings.scope_ms, 0)

    def update_scope(self, samples: np.ndarray, samplerate: float) -> bool:
        """Draw ``samples`` (the newest last) if they are a new array; return True if drawn."""
        if samples is self._last or samples.size == 0 or not drawn_on_screen(self):
            return False
        self._last = samples
        # Beyond ~2 points per pixel, draw the min and max of each group of samples: the
        # envelope looks the same as every sample drawn, at a fraction of the polygon.
        pixels = max(100, int(self.plot_rect().width()))
        step = max(1, int(samples.size // (2 * pixels)))
        n = samples.size // step
        if step > 1:
            groups = samples[samples.size - n * step:].reshape(n, step)
            # Into a kept array, by the ufuncs themselves (min()/max() go through numpy's
            # Python wrappers and make two temporaries): the same values.
            y = self._y if self._y is not None and self._y.size == 2 * n else \
                np.empty(2 * n, dtype=np.float32)
            self._y = y
            np.minimum.reduce(groups, axis=1, out=y[0::2])
            np.maximum.reduce(groups, axis=1, out=y[1::2])
        else:
            y = samples
        key = (y.size, step, samplerate, samples.size)
        if self._step != key:
            pos = np.repeat(np.arange(n) * step, 2) if step > 1 else np.arange(samples.size)
            self._x = (pos - (samples.size - 1)) * (1e3 / samplerate)
            self._step = key
        self.curve.setData(self._x, y)
        self.update_plot()
        return True
