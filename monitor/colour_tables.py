"""Colour maps as 256-entry uint8 RGB lookup tables, read from pyqtgraph's data files without
importing pyqtgraph.

viridis, inferno, magma and plasma are matplotlib's maps (CC0), shipped by pyqtgraph as
``pyqtgraph/colors/maps/NAME.csv`` (one ``r,g,b`` line of floats 0-1 a stop, ``;`` comments).
The files are found with :func:`importlib.util.find_spec`, which locates the package without
running its ``__init__``: importing pyqtgraph cost ~0.17 s of the window's start and its memory,
for four tables (bench/findings.md, "pyqtgraph off the first picture"). The tables are computed
the way ``pyqtgraph.colormap.get(name).getLookupTable(0, 1, 256, alpha=False)`` computes them
(stops rounded to bytes, linear interpolation, truncated to uint8), and tested against it.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache

import numpy as np

__all__ = ["colour_table", "maps_directory", "TABLE_SIZE"]

TABLE_SIZE = 256


def maps_directory() -> str:
    """The folder of pyqtgraph's colour map files (pyqtgraph itself is not imported)."""
    spec = importlib.util.find_spec("pyqtgraph")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("pyqtgraph is not installed: its colour map files are needed")
    return os.path.join(list(spec.submodule_search_locations)[0], "colors", "maps")


def _stops(path: str) -> np.ndarray:
    """(n, 3) uint8 colour stops of a pyqtgraph ``.csv`` colour map file."""
    stops = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            comp = line.split(";", 1)[0].split(",")
            if len(comp) < 3:
                continue
            # As pyqtgraph reads them: each component rounded to a byte.
            stops.append([int(255 * float(c) + 0.5) for c in comp[:3]])
    if len(stops) < 2:
        raise ValueError(f"{path}: not a colour map")
    return np.array(stops, dtype=np.uint8)


@lru_cache(maxsize=None)
def _table(name: str) -> np.ndarray:
    if name == "grayscale":
        ramp = np.arange(TABLE_SIZE, dtype=np.uint8)
        table = np.stack([ramp, ramp, ramp], axis=1)
    else:
        if not name or os.path.basename(name) != name or name.startswith("."):
            raise ValueError(f"unknown colour map {name!r}")
        path = os.path.join(maps_directory(), name + ".csv")
        if not os.path.isfile(path):
            raise ValueError(f"unknown colour map {name!r}")
        stops = _stops(path)
        pos = np.linspace(0.0, 1.0, len(stops))
        x = np.linspace(0.0, 1.0, TABLE_SIZE)
        table = np.empty((TABLE_SIZE, 3), np.uint8)
        for i in range(3):  # the float result truncated into bytes, as pyqtgraph's map()
            table[:, i] = np.interp(x, pos, stops[:, i].astype(np.float64))
    table.flags.writeable = False
    return table


def colour_table(name: str) -> np.ndarray:
    """The colour map ``name`` as a read-only (256, 3) uint8 RGB table, index 0 = the dB floor.

    Parameters
    ----------
    name : str
        ``'grayscale'`` or one of pyqtgraph's map files (viridis, inferno, magma, plasma, ...).

    Raises
    ------
    ValueError
        For a name with no map file.
    """
    return _table(name)
