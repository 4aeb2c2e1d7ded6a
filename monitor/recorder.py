"""Write the incoming audio to a file while monitoring, losing nothing on exit or crash."""

from __future__ import annotations

import errno
import os
import time

import numpy as np
import soundfile as sf

from monitor.errors import ParameterError
from monitor.outputs import open_exclusive, os_error_message, remove_if_ours, show_path

__all__ = ["Recorder", "RECORD_FORMATS", "RECORD_EXTENSIONS", "check_record_path"]


# libsndfile commands (sndfile.h) that soundfile does not name.
_SFC_UPDATE_HEADER_NOW = 0x1060
_SFC_RF64_AUTO_DOWNGRADE = 0x1210
_SF_TRUE = 1

# Extension → (libsndfile format, subtype or None for its default, header rewritten each
# second). Only formats whose file stays readable when the program is killed mid-recording
# (tested: a copy taken while recording reads back): a header format whose header is
# rewritten, or a stream format (Ogg, MP3) left to its pages. Rewriting an Ogg "header"
# corrupts the file, so it is never done. FLAC is left out: libsndfile cannot read a FLAC file
# whose writer was killed (its length is written at the end), so a recording would be lost.
RECORD_FORMATS = {
    ".wav": ("RF64", "FLOAT", True),
    ".w64": ("W64", "FLOAT", True),
    ".aif": ("AIFF", "FLOAT", True),
    ".aiff": ("AIFF", "FLOAT", True),
    ".caf": ("CAF", "FLOAT", True),
    ".au": ("AU", "FLOAT", True),
    ".ogg": ("OGG", "VORBIS", False),
    ".oga": ("OGG", "VORBIS", False),
    ".mp3": ("MP3", "MPEG_LAYER_III", False),
}
RECORD_EXTENSIONS = tuple(RECORD_FORMATS)


def check_record_path(path: str, option: str = "--record") -> str:
    """The pre-flight check of a recording name (see :func:`monitor.outputs.check_output_path`),
    which also refuses a format that would not survive a crash (``.flac``, with the reason)."""
    from monitor.outputs import check_output_path

    if os.path.splitext(path)[1].lower() == ".flac":
        raise ParameterError(f"{option}: {show_path(path)}: FLAC is not recorded, since a FLAC file "
                             f"cut short by a crash cannot be read back; record .wav and convert")
    return check_output_path(path, option, RECORD_EXTENSIONS)


class Recorder:
    """Append blocks to a new audio file; for header formats the header is rewritten every
    second.

    ``.wav`` is written as 32-bit float (the samples exactly as captured) in RF64, which
    libsndfile writes as a plain WAV while the file is under 4 GB and switches to RF64 beyond
    (a day of 48 kHz mono is 16 GB). The file is created exclusively (an existing name, a
    link, a FIFO is refused: see :mod:`monitor.outputs`). Since the header is rewritten every
    second, a crash or a kill loses at most the last second; Ogg and MP3 lose at most the
    encoder's last page. A write that fails (disk full) raises :class:`ParameterError` naming
    the disk, after the header is brought up to date, so the file holds what was written.

    Parameters
    ----------
    path : str
        Ending in one of :data:`RECORD_EXTENSIONS`.
    samplerate : float
        Hz.
    channels : int
    """

    FLUSH_SECONDS = 1.0

    def __init__(self, path: str, samplerate: float, channels: int,
                 option: str = "--record") -> None:
        check_record_path(path, option)
        fmt, subtype, self._update_header = RECORD_FORMATS[os.path.splitext(path)[1].lower()]
        fd = open_exclusive(path, option, RECORD_EXTENSIONS)
        try:
            self._file = sf.SoundFile(fd, "w", samplerate=int(round(samplerate)),
                                      channels=channels, format=fmt, subtype=subtype,
                                      closefd=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
            remove_if_ours(path, fd)
            try:
                os.close(fd)
            except OSError:
                pass
            raise ParameterError(f"{option}: cannot record to {show_path(path)}: {exc}") from None
        if fmt == "RF64":
            self._command(_SFC_RF64_AUTO_DOWNGRADE, _SF_TRUE)
        self.path = path
        self.option = option
        self.frames = 0
        self._last_flush = time.monotonic()

    def write(self, block: np.ndarray) -> None:
        """Append frames × channels float32. Raises :class:`ParameterError` if the disk refuses."""
        try:
            written = self._file.write(block)
        except Exception as exc:  # noqa: BLE001 - soundfile asserts on a short write
            written = None
            failure = exc
        else:
            failure = None
        if failure is not None or (written is not None and written != block.shape[0]):
            self._stop_after_failure(failure)
        self.frames += block.shape[0]
        now = time.monotonic()
        if now - self._last_flush >= self.FLUSH_SECONDS:
            self.sync()
            self._last_flush = now

    def _stop_after_failure(self, exc) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            st = os.statvfs(folder)
            full = st.f_bavail * st.f_frsize < 1 << 20
        except OSError:
            full = False
        if full:
            message = os_error_message(OSError(errno.ENOSPC, "full"), self.path, self.option)
        else:
            message = f"{self.option}: cannot write {show_path(self.path)}: {exc or 'short write'}"
        try:
            self.sync()  # the header matches what reached the disk
        except Exception:  # noqa: BLE001 - the first failure is the one reported
            pass
        raise ParameterError(message)

    def sync(self) -> None:
        """Rewrite the header for the frames written so far and push them to the disk."""
        self._file.flush()
        if self._update_header:
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
