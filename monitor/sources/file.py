"""Audio files through libsndfile (WAV, FLAC, OGG, MP3, AIFF, ...)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import struct
import sys
import tempfile
import threading
from typing import Iterator, Optional

import numpy as np

from monitor.errors import ParameterError
from monitor.inputs import check_input_file
from monitor.outputs import show_path
from monitor.sources.base import PacedSource, check_stream_format

sf = None  # soundfile, imported by the first FileSource: a microphone start never needs it


def _soundfile():
    global sf
    if sf is None:
        import soundfile

        sf = soundfile
    return sf

__all__ = ["FileSource", "quiet_decoder"]

# A file that ends this much before the length its header declares is damaged (not the
# decoder's own rounding: MP3 and Vorbis files written by libsndfile decode to exactly their
# declared length).
SHORT_TOLERANCE_FRAMES = 4096
_SNDFILE_PREFIX = re.compile(r"^Error opening .*?: ", re.S)
# libmpg123 writes its own notes to stderr ("Note: Illegal Audio-MPEG-Header ...",
# "[src/libmpg123/parse.c:...] error: ...", "Warning: Xing stream size off ...").
_DECODER_CHATTER = re.compile(rb"^(Note: |Warning: |Error: |\[src/libmpg123|.*libmpg123)")


class _StderrFilter:
    """Runs a block with file descriptor 2 redirected to a temporary file, then writes back
    every line that is not decoder chatter. Other threads' messages are kept (a little late)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tmp: Optional[int] = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._tmp is None:
                fd, name = tempfile.mkstemp(prefix="spectromon-stderr-")
                os.unlink(name)
                self._tmp = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)  # never fd 0-2 itself
                os.close(fd)
            try:
                sys.stderr.flush()
            except (OSError, ValueError, AttributeError):
                pass
            try:
                writable = fcntl.fcntl(2, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY
                saved = os.dup(2) if writable else -1
            except OSError:
                saved = -1
            if saved < 0:
                # No stderr (closed by a daemon; fd 2 may even be reused by a file opened for
                # reading, such as the audio file itself): leave fd 2 alone.
                yield
                return
            os.dup2(self._tmp, 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                self._pass_on()

    def _pass_on(self) -> None:
        size = os.fstat(self._tmp).st_size
        if not size:
            return
        os.lseek(self._tmp, 0, os.SEEK_SET)
        data = os.read(self._tmp, size)
        os.ftruncate(self._tmp, 0)
        os.lseek(self._tmp, 0, os.SEEK_SET)
        kept = b"".join(line for line in data.splitlines(keepends=True)
                        if not _DECODER_CHATTER.match(line))
        if kept:
            try:
                os.write(2, kept)
            except OSError:
                pass


quiet_decoder = _StderrFilter()


def _ogg_declared_frames(path: str, samplerate: float, subtype: str) -> Optional[int]:
    """Frames an Ogg file declares: the granule position of its last page (Vorbis: samples;
    Opus: 48 kHz samples). None if not found."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read()
    except OSError:
        return None
    i = tail.rfind(b"OggS")
    if i < 0 or i + 14 > len(tail):
        return None
    granule = struct.unpack("<q", tail[i + 6:i + 14])[0]
    if granule <= 0:
        return None
    return int(granule * samplerate / 48000.0) if subtype == "OPUS" else granule


def _open_reason(exc: Exception) -> str:
    text = _SNDFILE_PREFIX.sub("", str(exc)).strip().splitlines()
    reason = text[0].rstrip(".") if text else type(exc).__name__
    if "not a regular file" in reason or "does not exist" in reason:
        # libsndfile's words when MP3 decoding fails at open: the file does exist (checked).
        return "not an audio file that can be decoded (damaged, or not audio)"
    if "Format not recognised" in reason:
        return "not an audio format that can be read (format not recognised)"
    return reason[:1].lower() + reason[1:]


class FileSource(PacedSource):
    """Play a file into the ring in real time (optionally looped), or read it block by block.

    The file is opened and checked at construction, so a missing, unreadable, corrupt or
    empty file, a folder, a FIFO, a device, or a header declaring a rate or channel count
    beyond :func:`~monitor.sources.base.check_stream_format` 's bounds is a
    :class:`ParameterError` before anything is allocated or started.

    While playing, a file that ends before the length it declares (damaged, cut short, or
    emptied while looping) sets :attr:`error`; it never just ends silently.

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
        check_input_file(path, "cannot read")
        shown = show_path(path)
        _soundfile()
        try:
            with quiet_decoder():
                self._file = sf.SoundFile(path)
        except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as exc:
            raise ParameterError(f"cannot read {shown}: {_open_reason(exc)}") from None
        try:
            check_stream_format(self._file.samplerate, self._file.channels, blocksize,
                                f"file {shown}")
            if self._file.frames <= 0:
                raise ParameterError(f"cannot read {shown}: the file holds no audio")
        except ParameterError:
            self._file.close()
            raise
        super().__init__(self._file.samplerate, self._file.channels, blocksize)
        self.path = path
        self.loop = loop
        self.frames = self._file.frames
        self.duration = self.frames / self.samplerate
        self.description = f"file {show_path(os.path.basename(path))}" + (" (loop)" if loop else "")
        self._mpeg = self._file.format == "MP3" or self._file.subtype.startswith("MPEG")
        declared = None
        if self._file.format == "OGG":
            declared = _ogg_declared_frames(path, self.samplerate, self._file.subtype)
        self.declared_frames = max(self.frames, declared or 0)
        self._pass_frames = 0  # frames read since the file's start, this pass
        self._ending: Optional[str] = None  # an error to report once the last frames are out

    def _read(self, n: int) -> np.ndarray:
        if self._mpeg:
            with quiet_decoder():
                return self._file.read(n, dtype="float32", always_2d=True)
        return self._file.read(n, dtype="float32", always_2d=True)

    def _short(self) -> Optional[str]:
        """Why this pass ended early, or None if the file was read to its declared end."""
        got, want = self._pass_frames, self.declared_frames
        if got >= want - SHORT_TOLERANCE_FRAMES:
            return None
        shown = show_path(self.path)
        if got == 0:
            return f"{shown} holds no audio any more (emptied or replaced while playing)"
        return (f"{shown} ended after {got / self.samplerate:.2f} s of the "
                f"{want / self.samplerate:.2f} s it declares: the file is damaged or was cut short")

    def render(self, n: int) -> np.ndarray:
        empty = np.zeros((0, self.channels), dtype=np.float32)
        if self._ending is not None:
            self.error = self._ending
            return empty
        try:
            block = self._read(n)
            self._pass_frames += block.shape[0]
            if block.shape[0] < n:
                self._ending = self._short()
                if self._ending is None and self.loop:
                    self._file.seek(0)
                    self._pass_frames = 0
                    rest = self._read(n - block.shape[0])
                    self._pass_frames += rest.shape[0]
                    if rest.shape[0] == 0:
                        self._ending = self._short()
                    block = np.concatenate((block, rest))
        except (sf.LibsndfileError, RuntimeError) as exc:
            # A file damaged after its header decodes up to the damage; say so, keep what came.
            self.error = (f"cannot read {show_path(self.path)} beyond "
                          f"{self._pass_frames / self.samplerate:.2f} s: the file is damaged "
                          f"({_open_reason(exc)})")
            return empty
        if block.shape[0] == 0 and self._ending is not None:
            self.error = self._ending
        return block

    def close(self) -> None:
        """Close the file."""
        self.stop()
        self._file.close()
