"""Write the incoming audio to a file while monitoring, losing nothing on exit or crash."""

from __future__ import annotations

import os
import time

import numpy as np
import soundfile as sf

from monitor.errors import ParameterError

__all__ = ["Recorder"]


# libsndfile commands (sndfile.h) that soundfile does not name.
_SFC_UPDATE_HEADER_NOW = 0x1060
_SFC_RF64_AUTO_DOWNGRADE = 0x1210
_SF_TRUE = 1


class Recorder:
    """Append blocks to an audio file; the header is rewritten every second.

    ``.wav`` is written as 32-bit float (the samples exactly as captured) in RF64, which
    libsndfile writes as a plain WAV while the file is under 4 GB and switches to RF64 beyond
    (a day of 48 kHz mono is 16 GB). Other extensions use libsndfile's default for the format
    (FLAC: 24-bit). Since the header is rewritten every second, a crash or a kill loses at
    most the last second. An existing file is never overwritten.

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
        kwargs = {"subtype": "FLOAT", "format": "RF64"} if ext == ".wav" else {}
        try:
            self._file = sf.SoundFile(path, "w", samplerate=int(round(samplerate)),
                                      channels=channels, **kwargs)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
            raise ParameterError(f"cannot record to {path}: {exc}") from None
        if ext == ".wav":
            self._command(_SFC_RF64_AUTO_DOWNGRADE, _SF_TRUE)
        self.path = path
        self.frames = 0
        self._last_flush = time.monotonic()

    def write(self, block: np.ndarray) -> None:
        """Append frames × channels float32."""
        self._file.write(block)
        self.frames += block.shape[0]
        now = time.monotonic()
        if now - self._last_flush >= self.FLUSH_SECONDS:
            self.sync()
            self._last_flush = now

    def sync(self) -> None:
        """Rewrite the header for the frames written so far and push them to the disk."""
        self._file.flush()
        self._command(_SFC_UPDATE_HEADER_NOW, 0)

    def _command(self, command: int, value: int) -> None:
        sf._snd.sf_command(self._file._file, command, sf._ffi.NULL, value)

    def discard(self) -> None:
        """Close, and delete the file if nothing was recorded into it."""
        self.close()
        if self.frames == 0:
            try:
                os.remove(self.path)
            except OSError:
                pass

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
