"""The waterfall's colour tables (monitor.colour_tables, read from pyqtgraph's map files without
importing pyqtgraph) are pyqtgraph's own lookup tables, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.colour_tables import colour_table
from monitor.settings import COLORMAPS


@pytest.mark.parametrize("name", [n for n in COLORMAPS if n != "grayscale"])
def test_tables_are_pyqtgraphs(name):
    pg = pytest.importorskip("pyqtgraph")
    want = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    got = colour_table(name)
    assert got.shape == (256, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.asarray(want, dtype=np.uint8))
    assert not got.flags.writeable  # one cached table, shared by every view


def test_grayscale_and_the_ends_of_a_map():
    gray = colour_table("grayscale")
    np.testing.assert_array_equal(gray[:, 0], np.arange(256))
    np.testing.assert_array_equal(gray[:, 0], gray[:, 2])
    inferno = colour_table("inferno")
    assert tuple(inferno[0]) == (0, 0, 4) and tuple(inferno[-1]) == (252, 255, 164)


@pytest.mark.parametrize("name", ["nope", "../viridis", ".hidden", ""])
def test_unknown_maps_are_refused(name):
    with pytest.raises(ValueError):
        colour_table(name)


def test_the_window_uses_the_same_tables():
    from monitor.gui.colormaps import lookup_table

    for name in COLORMAPS:
        assert lookup_table(name) is colour_table(name)
    with pytest.raises(ValueError):
        lookup_table("CET-L1")  # a map file, not one of the settings' choices
