"""The canvases' polygons (monitor.gui.polygon_memory): numpy writes the QPolygonF's points in
place, as pyqtgraph's helpers of the same names did."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from PyQt6 import QtCore  # noqa: E402

from monitor.gui.polygon_memory import create_qpolygonf, ndarray_from_qpolygonf  # noqa: E402


def test_writes_reach_the_polygon_and_back():
    poly = create_qpolygonf(5)
    assert len(poly) == 5
    memory = ndarray_from_qpolygonf(poly)
    assert memory.shape == (5, 2) and memory.dtype == np.float64 and memory.flags.writeable
    memory[:, 0] = np.arange(5) + 0.5
    memory[:, 1] = [3.0, -1.0, 2.5, 0.0, 1e6]
    assert [(p.x(), p.y()) for p in poly] == [(0.5, 3.0), (1.5, -1.0), (2.5, 2.5), (3.5, 0.0),
                                              (4.5, 1e6)]
    poly.replace(2, QtCore.QPointF(9.0, 8.0))  # and the polygon's own writes reach the array
    np.testing.assert_array_equal(memory[2], [9.0, 8.0])


def test_the_same_as_pyqtgraphs():
    fn = pytest.importorskip("pyqtgraph.functions")
    ours, theirs = create_qpolygonf(300), fn.create_qpolygonf(300)
    a, b = ndarray_from_qpolygonf(ours), fn.ndarray_from_qpolygonf(theirs)
    xy = np.random.default_rng(1).normal(size=(300, 2))
    a[:], b[:] = xy, xy
    assert ours == theirs


def test_an_empty_polygon():
    poly = create_qpolygonf(0)
    assert len(poly) == 0 and ndarray_from_qpolygonf(poly).shape == (0, 2)
