"""Fractional-octave band levels as bars (1/1 … 1/24 octave, base-10 centres) with peak hold,
from the measurement's ``bands`` (``monitor.dsp.octave.band_levels``: FFT bins summed with the
band edges honoured exactly, partial bins split)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from monitor.gui.axes import format_hz
from monitor.gui.spectrum import PeakHold
from monitor.gui.theme import COLORS, fixed_plot

__all__ = ["OctaveView"]

FLOOR_DB = -140.0  # bars start here; an empty band (None) is drawn at it


class OctaveView(QtWidgets.QWidget):
    """Bars of band level (dBFS or dB SPL) and a held-peak mark per band.

    Parameters
    ----------
    hold : float
        Seconds a peak stays held.
    """

    def __init__(self, hold: float = 2.0, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = fixed_plot("octave bands")
        self.plot.setLabel("left", "band level", units="dBFS")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.peak_hold = PeakHold(hold)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, y0=FLOOR_DB, brush=COLORS["trace"])
        self.hold_marks = pg.ScatterPlotItem(symbol="_", size=14, pen=pg.mkPen(COLORS["hold"], width=2))
        self.plot.addItem(self.bars)
        self.plot.addItem(self.hold_marks)
        self.nominal_hz: tuple = ()
        self.levels = np.zeros(0)
        self.held = np.zeros(0)
        self.fraction: int | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.setToolTip("fractional-octave band levels (IEC 61260-1 base-10 centres) from the "
                        "measurement's Hann-windowed Welch spectrum, band edges honoured exactly; "
                        "the marks hold each band's peak")

    def set_hold(self, seconds: float) -> None:
        self.peak_hold.hold = seconds

    def update_bands(self, bands: dict | None, now: float, spl_offset: float | None = None) -> bool:
        """Draw ``bands`` (the measurement's ``{"fraction", "nominal_hz", "level_dbfs"}``) at wall
        time ``now`` (s); ``spl_offset`` dB turns them into dB SPL. Returns True when drawn."""
        if not bands or not bands.get("nominal_hz"):
            return False
        nominal = tuple(bands["nominal_hz"])
        offset = 0.0 if spl_offset is None else float(spl_offset)
        levels = np.array([FLOOR_DB if v is None else max(FLOOR_DB, v + offset)
                           for v in bands["level_dbfs"]], dtype=np.float64)
        if nominal != self.nominal_hz:
            self.nominal_hz, self.fraction = nominal, bands.get("fraction")
            self.peak_hold.reset()
            self._set_ticks()
            self.plot.setXRange(-0.5, len(nominal) - 0.5, padding=0)
        self.plot.setLabel("left", "band level", units="dB SPL" if spl_offset is not None else "dBFS")
        self.levels = levels
        self.held = self.peak_hold.update(levels, now)
        x = np.arange(levels.size, dtype=np.float64)
        self.bars.setOpts(x=x, height=levels - FLOOR_DB, y0=FLOOR_DB, width=0.8)
        self.hold_marks.setData(x=x, y=self.held)
        top = float(np.max(self.held)) if self.held.size else 0.0
        self.plot.setYRange(max(FLOOR_DB, top - 80), top + 6, padding=0)
        return True

    def loudest_band_hz(self) -> float | None:
        """Nominal centre (Hz) of the band with the highest level now, or None."""
        if not self.levels.size:
            return None
        return float(self.nominal_hz[int(np.argmax(self.levels))])

    def _set_ticks(self) -> None:
        step = max(1, -(-len(self.nominal_hz) // 8))  # about 8 labels: more overlap at 400 px
        ticks = [(i, format_hz(f)) for i, f in enumerate(self.nominal_hz) if i % step == 0]
        self.plot.getAxis("bottom").setTicks([ticks])
