"""The audio files the recorder writes: which formats, created exclusively, and kept readable
if the process is killed.

Formats, and what survives a crash
----------------------------------
``.wav`` is written as 32-bit float, the samples exactly as captured (NaN and Inf included),
every channel, in RF64, which libsndfile writes as a plain WAV under 4 GB and switches to RF64
beyond. The header is rewritten and the file synced every
:data:`monitor.recorder.SYNC_SECONDS`, so a kill -9 loses at most the last second and leaves a
file soundfile reads.

``.flac`` is refused for anything written live (a recording, a pre-roll that continues, a
clip): libsndfile writes a FLAC file's stream header only when it closes the file, so after a
kill -9 ``soundfile.read`` fails on it ("array is too big": the header says the length is
unknown). A pre-roll saved in one go may be ``.flac`` (24-bit, clipped at full scale; NaN and
Inf cannot be stored in integer samples). Every other extension is refused: libsndfile's Ogg
writer, for one, leaves an unreadable file when it is not closed.

Files are created exclusively (:func:`reserve`): an existing file, or a symbolic link in its
place, is never written through.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from monitor.errors import ParameterError
from monitor.outputs import mount_point, open_exclusive

__all__ = ["AudioFile", "RecordingError", "reserve", "reserve_unique", "file_format",
           "describe_write_error"]

# libsndfile commands (sndfile.h) that soundfile does not name.
_SFC_SET_CLIPPING = 0x10C0
_SFC_UPDATE_HEADER_NOW = 0x1060
_SFC_RF64_AUTO_DOWNGRADE = 0x1210
_SF_TRUE = 1

_LIVE_FORMAT = {"format": "RF64", "subtype": "FLOAT"}
_FORMATS = {".wav": _LIVE_FORMAT, ".flac": {"format": "FLAC", "subtype": "PCM_24"}}


def _create_exclusive(path: str) -> int:
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0))
    return os.open(path, flags, 0o644)


def reserve(path: str) -> int:
    """Create ``path`` exclusively and return its file descriptor: the app's one exclusive
    create (:func:`monitor.outputs.open_exclusive`: never overwrites, never follows a link).
    Raises ParameterError (one line) when the name is taken or cannot be created."""
    return open_exclusive(path)


def reserve_unique(folder: str, stem: str, ext: str) -> tuple[str, int]:
    """Reserve ``folder/stem.ext``, or ``stem-2.ext``, ``stem-3.ext``... if taken."""
    for i in range(1, 1000):
        path = os.path.join(folder, f"{stem}{'' if i == 1 else f'-{i}'}{ext}")
        try:
            return path, _create_exclusive(path)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ParameterError(f"cannot write {path}: {exc.strerror or exc}") from None
    raise ParameterError(f"cannot write {os.path.join(folder, stem + ext)}: 999 names taken")


def file_format(path: str, live: bool = True) -> dict:
    """soundfile's ``format`` and ``subtype`` for ``path``; ParameterError if it cannot be
    kept safe (see the module docstring)."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".flac" and live:
        raise ParameterError(
            f"cannot record live to {path}: libsndfile writes a FLAC header only when the file "
            "is closed, so a crash would leave it unreadable; record to .wav (32-bit float) "
            "and convert it afterwards")
    if ext not in _FORMATS:
        allowed = ".wav (32-bit float)" + ("" if live else " or .flac (24-bit)")
        raise ParameterError(f"cannot record to {path}: use {allowed}; "
                             f"{ext or 'no extension'} cannot be kept readable after a crash")
    return _FORMATS[ext]


def describe_write_error(path: str, detail: str) -> str:
    """Why writing ``path`` failed, in a few words: a full disk is named by its mount point
    (the caller names the file)."""
    folder = os.path.dirname(os.path.abspath(path))
    disk = mount_point(folder)
    try:
        st = os.statvfs(folder)
        free = st.f_bavail * st.f_frsize
    except OSError:
        free = None
    if "No space left" in detail or (free is not None and free < 65536):
        return f"the disk {disk} is full"
    if "File too large" in detail:
        return f"the file reached the largest size allowed on {disk} ({detail})"
    return f"cannot write to {disk}: {detail}"


class RecordingError(OSError):
    """A write failed; the message says what happened, in one line."""


class AudioFile:
    """One output file, created exclusively, written frame block by frame block.

    Parameters
    ----------
    path : str
    samplerate : float
        Hz.
    channels : int
    live : bool
        Written over time (so it must survive a crash): only ``.wav``.
    fd : int, optional
        A descriptor already reserved for ``path``.
    """

    def __init__(self, path: str, samplerate: float, channels: int, live: bool = True,
                 fd: Optional[int] = None) -> None:
        import soundfile as sf  # here: a start that records nothing never needs it

        fmt = file_format(path, live)
        if fd is None:
            fd = reserve(path)
        try:
            self._file = sf.SoundFile(fd, "w", samplerate=int(round(samplerate)),
                                      channels=channels, closefd=True, **fmt)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
            os.close(fd)
            os.remove(path)
            raise ParameterError(f"cannot record to {path}: {exc}") from None
        self.live = fmt is _LIVE_FORMAT
        if self.live:
            self._command(_SFC_RF64_AUTO_DOWNGRADE, _SF_TRUE)
        else:
            self._command(_SFC_SET_CLIPPING, _SF_TRUE)  # else libsndfile wraps beyond ±1
        self.path = path
        self.samplerate = float(samplerate)
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        """Append frames × channels float32; RecordingError (the file stays valid) on failure."""
        try:
            self._file.write(block)
        except Exception as exc:  # noqa: BLE001 - libsndfile's "System error" and asserts
            raise RecordingError(describe_write_error(self.path, self._detail(exc))) from None
        self.frames += block.shape[0]

    def sync(self) -> None:
        """Rewrite the header for the frames written so far, then push them to the disk."""
        if not self.live:
            return
        self._command(_SFC_UPDATE_HEADER_NOW, 0)
        try:
            self._file.flush()  # fsync
        except Exception as exc:  # noqa: BLE001
            raise RecordingError(describe_write_error(self.path, self._detail(exc))) from None

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def _detail(self, exc: Exception) -> str:
        # soundfile names the error class only ("System error."); libsndfile keeps errno's text.
        import soundfile as sf

        try:
            text = sf._ffi.string(sf._snd.sf_strerror(self._file._file)).decode(errors="replace")
        except Exception:  # noqa: BLE001
            text = ""
        text = text.replace("System error : ", "").rstrip(".")
        return text or str(exc) or type(exc).__name__

    def _command(self, command: int, value: int) -> None:
        import soundfile as sf

        sf._snd.sf_command(self._file._file, command, sf._ffi.NULL, value)
