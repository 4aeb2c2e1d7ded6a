"""Source → ring buffer → analysis worker (→ classifier, recorder): the running audio path.

A :class:`Pipeline` runs the settings it is given on the source it is given. Which source,
which settings and what to do when they fail is the session's business (``monitor.session``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from monitor.errors import ParameterError
from monitor.recorder import Recorder
from monitor.ringbuffer import RingBuffer
from monitor.settings import Settings
from monitor.sources import Source, open_source
from monitor.sources.file import FileSource
from monitor.worker import AnalysisWorker

__all__ = ["Pipeline", "Status"]

RING_SECONDS = 4.0
STALL_SECONDS = 2.0  # a live input silent (no callbacks) this long counts as lost
FIRST_AUDIO_SECONDS = 6.0  # ... but a new stream may take ~2 s to deliver its first block


@dataclass
class Status:
    """What the status bar and the headless output report."""

    source: str
    samplerate: float
    channels: int
    blocksize: int
    n_fft: int
    hop: int
    ms_per_column: float
    hz_per_bin: float
    latency_ms: float
    dropped_frames: int
    overflows: int
    underflows: int
    nonfinite: int
    clipped: int
    gain_db: float
    clamped: int = 0
    dropped_batches: int = 0
    worker_restarts: int = 0
    classifier_dropped_seconds: float = 0.0
    classifier_restarts: int = 0
    recording: dict = field(default_factory=dict)
    problem: Optional[str] = None
    problems: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


class Pipeline:
    """The running audio path, started and stopped by the session. No Qt.

    Parameters
    ----------
    settings : Settings
    source : Source, optional
        Use this source instead of the one the settings name.
    record : str, optional
        Path to record the incoming audio to.
    consumers : list, optional
        Extra :class:`~monitor.worker.AudioConsumer` s (the classifier).
    """

    def __init__(self, settings: Settings, source: Optional[Source] = None,
                 record: Optional[str] = None, consumers: Optional[list] = None) -> None:
        self.source = source if source is not None else open_source(settings)
        try:
            if settings.channel is not None and settings.channel > self.source.channels:
                raise ParameterError(f"channel {settings.channel} is beyond the "
                                     f"{self.source.channels} channel(s) of {self.source.description}")
            # Always there: it keeps the pre-roll; it records to a file only when `record` is given.
            self.recorder = Recorder(self.source.samplerate, self.source.channels, path=record,
                                     preroll_seconds=settings.preroll)
        except ParameterError:
            self.source.stop()
            raise
        self.settings = settings
        # Room for RING_SECONDS of backlog plus the largest blocks in flight (the reader keeps
        # one block's distance from the writer).
        capacity = int(RING_SECONDS * self.source.samplerate) + 4 * max(self.source.blocksize, 1024)
        self.ring = RingBuffer(capacity, self.source.channels)
        self.worker = AnalysisWorker(settings, self.ring, self.source.samplerate, consumers)
        self._started = False
        self._last_written = -1
        self._last_progress = 0.0

    @property
    def samplerate(self) -> float:
        return self.source.samplerate

    def start(self) -> None:
        """Start the worker, then the source (once). Raises ParameterError if the device refuses."""
        if self._started:
            return
        self.worker.start()
        self.recorder.attach(self.source)
        self.recorder.start()
        try:
            self.source.start(self.ring)
        except ParameterError:
            self.worker.stop()
            self.recorder.discard()  # nothing recorded: leave no empty file behind
            raise
        self._started = True
        self._last_written, self._last_progress = self.ring.written, time.monotonic()

    def stop(self) -> None:
        """Stop the source, let the worker finish what arrived, close the recording.
        Idempotent."""
        self.source.stop()
        self.recorder.stop()  # ≤ 0.5 s; the file closes when its writer ends (recorder.join)
        self.worker.stop()
        if isinstance(self.source, FileSource):
            self.source.close()
        self._started = False

    def reconfigure(self, settings: Settings) -> None:
        """Apply new analysis/display settings live (already fitted to this source). Raises
        ParameterError (nothing changed) when a new calibration file cannot be read."""
        self.worker.configure(settings)
        self.settings = settings

    def restart_source(self) -> None:
        """Reopen the same input after it was lost (audio server restarted, device replugged).

        The ring, worker, history and recording carry on; only the source is replaced. Raises
        :class:`ParameterError` while the input is still unavailable, or if it comes back at
        another rate or channel count (then a new Pipeline is needed).
        """
        old = self.source
        old.stop()
        if old.kind == "microphone":
            from monitor.sources.microphone import abandoned_streams, rescan_devices

            if abandoned_streams():
                # Re-initialising PortAudio would block on the stuck stream.
                raise ParameterError("the audio system stopped answering; restart the program")
            rescan_devices()  # PortAudio's device list is fixed until re-initialised
        new = open_source(self.settings)
        if new.samplerate != old.samplerate or new.channels != old.channels:
            new.stop()
            raise ParameterError(f"{new.description} came back at {new.samplerate:g} Hz × "
                                 f"{new.channels} ch instead of {old.samplerate:g} Hz × {old.channels} ch")
        for tap in old.taps:  # the recorder goes on with the new source
            new.add_tap(tap)
        if old.kind == "microphone":
            self.recorder.insert_silence(self._frames_missed(old.samplerate))
        new.start(self.ring)
        self.source = new
        self._last_written, self._last_progress = self.ring.written, time.monotonic()

    def _frames_missed(self, samplerate: float) -> int:
        """Frames the lost input would have delivered up to now (its outage), estimated from
        the last time :meth:`_check_stall` saw audio arrive, plus what arrived after that at the
        nominal rate: within about one block and the stream's latency, with no drift between
        the device's clock and this one beyond a poll period."""
        lost_at = self._last_progress + (self.ring.written - self._last_written) / samplerate
        return max(0, round((time.monotonic() - lost_at) * samplerate))

    @property
    def input_lost(self) -> bool:
        """True when the source failed, or a live input stopped delivering audio."""
        self._check_stall()
        return self.source.error is not None

    def _check_stall(self) -> None:
        # PortAudio does not always report a dead server (the finished callback never comes
        # when the client library is stuck), so a stream that stops calling back is lost too.
        if self.source.kind != "microphone" or not self._started:
            return
        now = time.monotonic()
        if self.ring.written != self._last_written:
            self._last_written, self._last_progress = self.ring.written, now
        elif self.source.error:
            return
        elif now - self._last_progress > (STALL_SECONDS if self._last_written > 0
                                          else FIRST_AUDIO_SECONDS):
            self.source.error = f"input lost (no audio for {now - self._last_progress:.0f} s)"

    def status(self) -> Status:
        params = self.worker.params
        sr = self.source.samplerate
        backlog = self.ring.available
        # A column is drawn after its whole frame is in, processed within a poll period.
        latency = (self.source.latency + (self.source.blocksize or 256) / sr + params.n_fft / sr
                   + backlog / sr + self.worker.POLL_SECONDS)
        return Status(
            source=self.source.description, samplerate=sr, channels=self.source.channels,
            blocksize=self.source.blocksize, n_fft=params.n_fft, hop=params.hop,
            ms_per_column=1e3 * params.seconds_per_frame, hz_per_bin=params.hz_per_bin,
            latency_ms=1e3 * latency, dropped_frames=self.ring.dropped,
            overflows=self.source.overflows, underflows=self.source.underflows, nonfinite=self.worker.nonfinite,
            clipped=self.worker.clipped, gain_db=self.worker.gain_db,
            clamped=self.worker.clamped,
            dropped_batches=self.worker.dropped_batches, worker_restarts=self.worker.restarts,
            recording=self.recorder.status(),
            problem=self.source.error or self.recorder.error)
