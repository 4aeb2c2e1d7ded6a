"""Colour maps for the waterfall: 256-entry uint8 lookup tables from pyqtgraph's tables."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyqtgraph as pg

from monitor.settings import COLORMAPS

__all__ = ["lookup_table", "COLORMAPS"]


@lru_cache(maxsize=None)
def _table(name: str) -> np.ndarray:
    if name == "grayscale":
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp, ramp, ramp], axis=1)
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}")
    # viridis, inferno, magma and plasma ship with pyqtgraph (CC0 data from matplotlib).
    lut = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(lut, dtype=np.uint8)


def lookup_table(name: str) -> np.ndarray:
    """The colour map ``name`` as a (256, 3) uint8 RGB table, index 0 = the dB floor.

    The table is 256 entries so that pyqtgraph draws uint8 images as Indexed8 QImages
    without a per-pixel float pass.
    """
    table = _table(name)
    table.flags.writeable = False
    return table
