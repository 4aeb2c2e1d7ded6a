"""A QPolygonF whose points numpy writes in place: the curves' polygons without a copy.

The same two helpers as ``pyqtgraph.functions`` (``create_qpolygonf``,
``ndarray_from_qpolygonf``), here so that the canvases need no pyqtgraph: importing it cost
~0.17 s of the window's start (bench/findings.md, "pyqtgraph off the first picture").
"""

from __future__ import annotations

import numpy as np
from PyQt6 import QtGui, sip

__all__ = ["create_qpolygonf", "ndarray_from_qpolygonf"]


def create_qpolygonf(size: int) -> QtGui.QPolygonF:
    """A polygon of ``size`` points (their coordinates unset: write them through
    :func:`ndarray_from_qpolygonf`)."""
    poly = QtGui.QPolygonF()
    poly.resize(int(size))  # PyQt6 >= 6.3.1
    return poly


def ndarray_from_qpolygonf(poly: QtGui.QPolygonF) -> np.ndarray:
    """The points of ``poly`` as a writable (n, 2) float64 array (x, y) sharing its memory.

    Valid while ``poly`` lives and is not resized.
    """
    n = len(poly)
    if n == 0:
        return np.zeros((0, 2), np.float64)
    # QPointF is two qreal (double) values: n points are 16 n bytes, x then y.
    memory = sip.voidptr(poly.data(), n * 2 * 8, True)
    return np.frombuffer(memory, dtype=np.float64).reshape((-1, 2))
