"""Colour maps for the waterfall: 256-entry uint8 lookup tables (pyqtgraph's tables, read from
its data files by :mod:`monitor.colour_tables` without importing pyqtgraph)."""

from __future__ import annotations

import numpy as np

from monitor.colour_tables import colour_table
from monitor.settings import COLORMAPS

__all__ = ["lookup_table", "COLORMAPS"]


def lookup_table(name: str) -> np.ndarray:
    """The colour map ``name`` as a read-only (256, 3) uint8 RGB table, index 0 = the dB floor.

    The table is 256 entries: a uint8 image indexes it directly (no per-pixel float pass).
    """
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}")
    return colour_table(name)
