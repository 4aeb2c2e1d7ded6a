"""Periodic snapshots: a PNG of the live waterfall every period, with or without a display.

The picture is what the window's waterfall shows: the display rows
(:class:`monitor.dsp.frequency_rows.FrequencyRows`), ``merge`` frames per column by their
maximum, the history's length and the dB range mapped to 256 colours, computed here the way
:class:`monitor.gui.waterfall_history.WaterfallHistory` does (this module sits below the window
in the layers, so it cannot import it; tests/test_long_sessions.py checks both are the same),
and the window's own colour tables (:mod:`monitor.colour_tables`: no Qt, no pyqtgraph). It is
written by a minimal PNG encoder (zlib, no Qt, no display). One pixel per column and per row;
the highest frequency at the top, the newest column at the right.

Files are named ``snapshot-<run start, UTC YYYYmmddTHHMMSS>-t<stream seconds, 7 digits>s.png``
in the snapshot directory and created exclusively (never overwritten). Periods count in stream
time (for a live input the same as the wall clock; for a file processed faster than real time,
every period of the file).
"""

from __future__ import annotations

import math
import os
import re
import struct
import time
import zlib
from typing import Optional

import numpy as np

from monitor.colour_tables import colour_table
from monitor.dsp.features import FeatureBatch
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.errors import ParameterError
from monitor.outputs import write_bytes

__all__ = ["Picture", "Snapshotter", "colour_table", "parse_period", "png_bytes"]

MAX_COLUMNS = 2048  # as WaterfallHistory.MAX_COLUMNS




class Picture:
    """The waterfall's picture without a window: a ring of columns (dBFS) of ``history`` s.

    Parameters
    ----------
    params : AnalysisParams
    scale : {'linear', 'log', 'mel'}
    history : float
        Seconds shown.
    db_floor, db_ceil : float
        dB at colour index 0 and 255.
    """

    def __init__(self, params, scale: str, history: float, db_floor: float,
                 db_ceil: float) -> None:
        self.params = params
        self.rows = FrequencyRows(params, scale)
        frames = history / params.seconds_per_frame
        self.merge = max(1, int(math.ceil(frames / MAX_COLUMNS)))
        width = int(math.ceil(frames / self.merge))
        self.width = max(4, (width + 3) // 4 * 4)
        self.db_floor, self.db_ceil = float(db_floor), float(db_ceil)
        self.db = np.full((self.width, self.rows.n_rows), -np.inf, np.float32)
        self.head = 0
        self._pending = np.zeros((0, self.rows.n_rows), np.float32)

    def push(self, batch: FeatureBatch) -> None:
        rows = np.concatenate((self._pending, self.rows.rows(batch)))
        k = rows.shape[0] // self.merge
        self._pending = rows[k * self.merge:]
        cols = rows[:k * self.merge].reshape(k, self.merge, rows.shape[1]).max(axis=1)[-self.width:]
        self.db[(self.head + np.arange(len(cols))) % self.width] = cols
        self.head += len(cols)

    def codes(self) -> np.ndarray:
        """(n_rows, width) uint8 colour indices, oldest column first, row 0 = lowest."""
        order = (self.head + np.arange(self.width)) % self.width
        x = (self.db[order].T - self.db_floor) * (255.0 / (self.db_ceil - self.db_floor))
        np.clip(x, 0.0, 255.0, out=x)
        return (x + 0.5).astype(np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode ``rgb`` ((height, width, 3) uint8, row 0 at the top) as a PNG file's bytes."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = np.zeros((h, 1 + 3 * w), np.uint8)  # filter byte 0 (None) before each scan line
    raw[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}


def parse_period(text: str) -> float:
    """``'10m'``, ``'1s'``, ``'2h'``, ``'90'`` (seconds) → seconds; ParameterError otherwise."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise ParameterError(f"--snapshot-every must be a period such as 10m, 30s or 1h, "
                             f"got {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


class Snapshotter:
    """Keeps a waterfall history of its own and writes it as a PNG at every period.

    Parameters
    ----------
    directory : str
        An existing writable folder.
    period : float
        Seconds of stream between snapshots.
    settings : Settings
        scale, history, db_floor, db_ceil, colormap of the picture.
    problems : Problems, optional
        Write errors are reported there (key ``snapshot``).

    Attributes
    ----------
    written : list of str
        Paths written so far.
    """

    def __init__(self, directory: str, period: float, settings, problems=None) -> None:
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
            raise ParameterError(f"--snapshot-dir: {directory} is not a writable folder")
        self.directory = directory
        self.period = float(period)
        self.settings = settings
        self.problems = problems
        self.written: list[str] = []
        self.failed = 0
        self._history = None
        self._next = self.period
        self._stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())

    def add(self, batch: FeatureBatch) -> Optional[str]:
        """Take a batch; write a snapshot when it passes a period boundary (returns its path)."""
        if not len(batch):
            return None
        h = self._history
        if h is None or h.params != batch.params:
            s = self.settings
            h = self._history = Picture(batch.params, s.scale, s.history, s.db_floor, s.db_ceil)
        # A frame belongs to the picture of a period once its whole window is in: a batch that
        # spans a boundary (offline runs analyse seconds at once) is cut there, so that each
        # snapshot shows the audio up to its own time and not beyond.
        ends = batch.frame_times + batch.params.n_fft / batch.params.samplerate
        n, done, path = len(batch), 0, None
        while True:
            cut = max(done, int(np.searchsorted(ends, self._next, side="right")))
            if cut >= n:
                if done < n:
                    h.push(batch.frames(done, n))
                break
            h.push(batch.frames(done, cut))  # the frames up to the boundary, then its picture
            done = cut
            path = self._write(self._next)
            self._next += self.period
        while ends[-1] >= self._next:
            path = self._write(self._next)
            self._next += self.period
        return path

    def image(self) -> Optional[np.ndarray]:
        """The picture now: (n_rows, width, 3) uint8, top row = highest frequency."""
        if self._history is None:
            return None
        return colour_table(self.settings.colormap)[self._history.codes()[::-1]]

    def _write(self, t: float) -> Optional[str]:
        path = os.path.join(self.directory, f"snapshot-{self._stamp}-t{int(round(t)):07d}s.png")
        try:  # whole or not at all, never over a name or through a link (monitor.outputs)
            write_bytes(path, png_bytes(self.image()))
        except ParameterError as exc:
            self.failed += 1
            if self.problems is not None:
                self.problems.report("snapshot", f"snapshot not written: {exc} "
                                     f"({self.failed} missed)", "warning")
            return None
        self.written.append(path)
        return path
