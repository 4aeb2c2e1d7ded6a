"""Write the incoming audio to a file while monitoring, losing nothing on exit or crash."""

from __future__ import annotations

import os
import time

import numpy as np
import soundfile as sf

from monitor.settings import ParameterError

__all__ = ["Recorder"]


class Recorder:
    """Append blocks to an audio file; the header is brought up to date every second.

    WAV files are written as RF64-capable 32-bit float (the samples exactly as captured);
    other extensions use libsndfile's default for the format (FLAC: 24-bit). An existing file
    is never overwritten.

    Parameters
    ----------
    path : str
    samplerate : float
        Hz.
    channels : int
    """

    FLUSH_SECONDS = 1.0

    def __init__(self, path: str, samplerate: float, channels: int) -> None:
        if os.path.exists(path):
            raise ParameterError(f"will not overwrite {path}: it exists (choose another name)")
        ext = os.path.splitext(path)[1].lower()
        kwargs = {"subtype": "FLOAT"} if ext == ".wav" else {}
        try:
            self._file = sf.SoundFile(path, "w", samplerate=int(round(samplerate)),
                                      channels=channels, **kwargs)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
            raise ParameterError(f"cannot record to {path}: {exc}") from None
        self.path = path
        self.frames = 0
        self._last_flush = time.monotonic()

    def write(self, block: np.ndarray) -> None:
        """Append frames × channels float32."""
        self._file.write(block)
        self.frames += block.shape[0]
        now = time.monotonic()
        if now - self._last_flush >= self.FLUSH_SECONDS:
            self._file.flush()  # rewrites the header: the file is valid if we are killed
            self._last_flush = now

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
