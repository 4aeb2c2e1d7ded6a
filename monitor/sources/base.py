"""The small interface every source implements, and a base for sources paced by a clock."""

from __future__ import annotations

import threading
import time
from typing import Optional

import numpy as np

from monitor.errors import ParameterError
from monitor.ringbuffer import RingBuffer
from monitor.threads import NamedThread

__all__ = ["Source", "PacedSource", "check_stream_format", "MIN_RATE", "MAX_RATE", "MAX_CHANNELS",
           "MAX_BLOCK", "MAX_SAMPLES_PER_SECOND"]

# Bounds on what a source may deliver, checked before anything is allocated for it (a header
# that lies - 100 MHz × 64 channels in a 6 MB file - once asked the ring buffer for 95 GiB).
MIN_RATE, MAX_RATE = 1000.0, 768000.0  # Hz
MAX_CHANNELS = 64
MAX_BLOCK = 65536  # frames per block
# The ring holds 4 s: 6.144 M samples/s (768 kHz × 8 ch, 96 kHz × 64 ch) is 98 MB of float32.
MAX_SAMPLES_PER_SECOND = 768000 * 8


def check_stream_format(samplerate: float, channels: int, blocksize: int = 0,
                        what: str = "the input") -> None:
    """Refuse a rate, channel count or block size outside the bounds, naming the bound.

    Parameters
    ----------
    samplerate : float
        Hz.
    channels : int
    blocksize : int
        Frames per block (0: chosen later, bounded then).
    what : str
        Whose format it is, for the message ("file x.wav").

    Raises
    ------
    ParameterError
    """
    if not (np.isfinite(samplerate) and MIN_RATE <= samplerate <= MAX_RATE):
        raise ParameterError(f"{what} has a sample rate of {samplerate:.10g} Hz; it must be "
                             f"from {MIN_RATE:g} to {MAX_RATE:g} Hz")
    if not (1 <= channels <= MAX_CHANNELS):
        raise ParameterError(f"{what} has {channels} channels; at most {MAX_CHANNELS} are "
                             f"supported")
    if not (0 <= blocksize <= MAX_BLOCK):
        raise ParameterError(f"{what}: a block of {blocksize} frames is more than the "
                             f"{MAX_BLOCK} supported")
    rate = samplerate * channels
    if rate > MAX_SAMPLES_PER_SECOND:
        raise ParameterError(f"{what} has {samplerate:.10g} Hz × {channels} channels = "
                             f"{rate / 1e6:.1f} M samples/s; at most "
                             f"{MAX_SAMPLES_PER_SECOND / 1e6:.3g} M samples/s are supported "
                             f"(e.g. 96 kHz × 64 or 768 kHz × 8 channels)")


class Source:
    """Audio that flows into a :class:`~monitor.ringbuffer.RingBuffer`.

    Attributes
    ----------
    kind : str
        'microphone', 'file' or 'generator'.
    description : str
        One line for the status bar.
    samplerate : float
        Hz.
    channels : int
        Channels per frame written to the ring.
    blocksize : int
        Frames per block written (0: variable, chosen by the audio system).
    error : str or None
        Set (never raised) when the source failed while running, e.g. 'input lost'.
    finished : bool
        True when a non-looping file has been played to its end.
    """

    kind = "source"
    description = ""
    samplerate: float = 0.0
    channels: int = 1
    blocksize: int = 0
    overflows = 0
    underflows = 0

    def __init__(self) -> None:
        self.error: Optional[str] = None
        self.finished = False
        self._ring: Optional[RingBuffer] = None
        self._taps: tuple = ()  # replaced whole (atomic under the GIL), never mutated

    def start(self, ring: RingBuffer) -> None:
        """Start writing into ``ring`` (frames × :attr:`channels`)."""
        raise NotImplementedError

    # -- taps: more rings fed the same blocks (the recorder's) --------------------------------
    def add_tap(self, ring: RingBuffer) -> None:
        """Also copy every block into ``ring``, before the analysis ring; safe while running.

        A tap sees exactly what the source captured (raw samples, all channels), however far
        behind the analysis is.
        """
        if ring.channels != self.channels:
            raise ValueError(f"tap has {ring.channels} channel(s), the source {self.channels}")
        self._taps = self._taps + (ring,)

    def remove_tap(self, ring: RingBuffer) -> None:
        """Stop copying into ``ring`` (from the next block on)."""
        self._taps = tuple(t for t in self._taps if t is not ring)

    @property
    def taps(self) -> tuple:
        """The rings fed besides the analysis ring (give them to a replacement source)."""
        return self._taps

    def _deliver(self, block: np.ndarray) -> None:
        """The one delivery path of every source: copy ``block`` into each tap and the ring.

        Real-time safe (called from the audio callback): only copies, no allocation of
        buffers, no lock, no logging.
        """
        for tap in self._taps:
            tap.write(block)
        self._ring.write(block)

    def _deliver_bytes(self, data) -> None:
        """:meth:`_deliver` for a bytes-like block of whole float32 frames (``len`` in bytes),
        e.g. PortAudio's raw input buffer: the same copies, without a numpy array."""
        for tap in self._taps:
            tap.write_bytes(data)
        self._ring.write_bytes(data)

    def stop(self) -> None:
        """Stop writing; returns promptly and may be called more than once."""
        raise NotImplementedError

    @property
    def latency(self) -> float:
        """Input latency of the source itself, seconds."""
        return 0.0

    @property
    def active(self) -> bool:
        """True while audio is flowing."""
        return False


class PacedSource(Source):
    """A source that renders its own blocks and writes them at the pace of the wall clock.

    Subclasses implement :meth:`render`. The pacing thread sleeps to absolute deadlines
    (``start + frames / samplerate``), so timing errors do not accumulate.
    """

    default_blocksize = 512

    def __init__(self, samplerate: float, channels: int, blocksize: int = 0) -> None:
        super().__init__()
        self.samplerate = float(samplerate)
        self.channels = channels
        self.blocksize = blocksize or self.default_blocksize
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()

    def render(self, n: int) -> np.ndarray:
        """Return the next ``n`` frames, shape (≤ n, channels) float32; fewer at the end."""
        raise NotImplementedError

    def start(self, ring: RingBuffer) -> None:
        self._ring = ring
        self._stop.clear()
        self._thread = NamedThread(target=self._run, name=f"{self.kind}-source",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self.finished

    def _run(self) -> None:
        start = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            block = self.render(self.blocksize)
            if block.shape[0] == 0:
                self.finished = True
                return
            # Wait until the block's last sample "has been recorded", as a sound card would.
            sent += block.shape[0]
            delay = start + sent / self.samplerate - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            self._deliver(block)
