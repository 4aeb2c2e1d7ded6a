"""Audio files through libsndfile (WAV, FLAC, OGG, MP3, AIFF, ...)."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from monitor.errors import ParameterError
from monitor.sources.base import PacedSource

__all__ = ["FileSource"]


class FileSource(PacedSource):
    """Play a file into the ring in real time (optionally looped), or read it block by block.

    The file is opened and checked at construction, so a missing, unreadable, corrupt or
    empty file is a :class:`ParameterError` before anything starts.

    Parameters
    ----------
    path : str
    loop : bool
        Start again at the end instead of finishing.
    blocksize : int
        Frames per block.
    """

    kind = "file"

    def __init__(self, path: str, loop: bool = False, blocksize: int = 0) -> None:
        if not os.path.isfile(path):
            raise ParameterError(f"cannot read {path}: no such file")
        try:
            self._file = sf.SoundFile(path)
        except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as exc:
            raise ParameterError(f"cannot read {path}: {exc}") from None
        if self._file.frames == 0:
            self._file.close()
            raise ParameterError(f"cannot read {path}: the file holds no audio")
        super().__init__(self._file.samplerate, self._file.channels, blocksize)
        self.path = path
        self.loop = loop
        self.frames = self._file.frames
        self.duration = self.frames / self.samplerate
        self.description = f"file {os.path.basename(path)}" + (" (loop)" if loop else "")

    def render(self, n: int) -> np.ndarray:
        try:
            block = self._file.read(n, dtype="float32", always_2d=True)
            if block.shape[0] < n and self.loop:
                self._file.seek(0)
                rest = self._file.read(n - block.shape[0], dtype="float32", always_2d=True)
                block = np.concatenate((block, rest))
        except (sf.LibsndfileError, RuntimeError) as exc:
            # A file truncated after its header decodes up to the damage; say so, keep what came.
            self.error = f"cannot read {self.path} further: {exc}"
            return np.zeros((0, self.channels), dtype=np.float32)
        return block

    def close(self) -> None:
        """Close the file."""
        self.stop()
        self._file.close()
