"""Periodic snapshots: a PNG of the live waterfall every period, with or without a display.

The picture is rendered from the display rows with the waterfall's own colour map
(:func:`monitor.gui.colormaps.lookup_table`) and its own history logic
(:class:`monitor.gui.waterfall.WaterfallHistory`), so it is what the window shows, and written
by a minimal PNG encoder (zlib, no Qt, no display). One pixel per column and per row; the
highest frequency at the top, the newest column at the right.

Files are named ``snapshot-<run start, UTC YYYYmmddTHHMMSS>-t<stream seconds, 7 digits>s.png``
in the snapshot directory and created exclusively (never overwritten). Periods count in stream
time (for a live input the same as the wall clock; for a file processed faster than real time,
every period of the file).
"""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from typing import Optional

import numpy as np

from monitor.dsp.features import FeatureBatch
from monitor.errors import ParameterError

__all__ = ["Snapshotter", "parse_period", "png_bytes"]


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
        from monitor.gui.waterfall import WaterfallHistory

        h = self._history
        if h is None or h.params != batch.params:
            s = self.settings
            h = self._history = WaterfallHistory(batch.params, s.scale, s.history, s.db_floor,
                                                 s.db_ceil)
        h.push(batch)
        end = float(batch.frame_times[-1] + batch.params.n_fft / batch.params.samplerate)
        path = None
        while end >= self._next:
            path = self._write(self._next)
            self._next += self.period
        return path

    def image(self) -> Optional[np.ndarray]:
        """The picture now: (n_rows, width, 3) uint8, top row = highest frequency."""
        from monitor.gui.colormaps import lookup_table

        if self._history is None:
            return None
        return lookup_table(self.settings.colormap)[self._history.visible()[::-1]]

    def _write(self, t: float) -> Optional[str]:
        path = os.path.join(self.directory, f"snapshot-{self._stamp}-t{int(round(t)):07d}s.png")
        try:
            data = png_bytes(self.image())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except OSError as exc:
            self.failed += 1
            if self.problems is not None:
                self.problems.report("snapshot", f"cannot write snapshot {path}: "
                                     f"{exc.strerror or exc} ({self.failed} missed)", "warning")
            return None
        self.written.append(path)
        return path
