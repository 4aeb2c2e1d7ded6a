"""The analysis worker: drains the ring buffer and computes features off the GUI thread."""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time
from typing import Optional, Protocol

import numpy as np

from monitor.calibration import MicCalibration, load_calibration
from monitor.channel_monitor import ChannelTap
from monitor.dsp.clipping import ClipCounter
from monitor.dsp.features import AnalysisParams, FeatureBatch, FeatureExtractor
from monitor.dsp.levels import Normalizer, limit_samples, mix_to_mono
from monitor.ringbuffer import RingBuffer
from monitor.threads import NamedThread, Restartable
from monitor.settings import Settings

__all__ = ["AnalysisWorker", "AudioConsumer"]


class AudioConsumer(Protocol):
    """Something else fed the mono mix as captured (before normalisation), e.g. the classifier.
    ``feed`` must be cheap."""

    def feed(self, mono: np.ndarray, samplerate: float, stream_time: float) -> None: ...


class AnalysisWorker(Restartable):
    """Turns the ring buffer's audio into :class:`FeatureBatch` es on its own thread.

    Each pass takes everything new from the ring, replaces non-finite samples by 0 (counting
    them), counts clipped samples, mixes to mono or picks one channel, normalises, and computes
    every frame it completes at once. Batches go to a deque that one consumer (the GUI timer or the
    headless loop) drains with :meth:`drain`.

    Settings change live through :meth:`configure`; the worker picks them up at its next pass
    and starts a new STFT history only when the analysis parameters changed.

    The microphone calibration file of ``settings.calibration`` is read by :meth:`configure`
    (and the constructor), on the caller's thread, so a file that does not read raises
    ParameterError there. Its correction goes into every power spectrum as a power gain per
    FFT bin (interpolated on log frequency, :meth:`MicCalibration.power_gain`): power dB, mel dB
    and the peak frequency are mic-corrected dBFS, and the batches' ``params.calibration`` names
    the file. The SPL offset is not added (the waterfall's dB range is dBFS). The consumers
    (the classifier, the measurements) get the audio uncorrected.

    Parameters
    ----------
    settings : Settings
    ring : RingBuffer
    samplerate : float
        Hz, of the audio in the ring.
    consumers : list of AudioConsumer
        Also fed the mono mix as captured (before normalisation).

    Recording is not done here: the recorder taps the source itself
    (:class:`monitor.recorder.Recorder`), so a slow analysis never costs a recorded sample.
    """

    POLL_SECONDS = 0.005  # shortest sleep between passes
    MAX_WAIT_SECONDS = 1 / 30  # longest: the scope and settings changes stay this fresh
    MAX_BATCHES = 4096
    IDLE_SECONDS = 0.25  # between passes while nothing is drawn (set_idle)

    def __init__(self, settings: Settings, ring: RingBuffer, samplerate: float,
                 consumers: Optional[list] = None) -> None:
        self.ring = ring
        self.samplerate = float(samplerate)
        self.consumers = list(consumers or [])
        self.batches: collections.deque = collections.deque(maxlen=self.MAX_BATCHES)
        self.frames_in = 0  # frames taken from the ring
        self.nonfinite = 0  # NaN/Inf samples replaced by 0
        self._clips = ClipCounter()  # runs at the device's real rails (before normalisation)
        self.channels = ChannelTap(samplerate)  # every channel's last second (meters, delay)
        self.dropped_batches = 0  # batches lost because nobody drained them in time
        self.scope = np.zeros(0, dtype=np.float32)  # latest scope_ms of mono audio (atomic swap)
        self.gain_db = 0.0
        self.clamped = 0  # mono samples beyond ±SAMPLE_LIMIT (+96 dBFS), clamped for analysis
        self._pending: Optional[Settings] = None
        self._pending_lock = threading.Lock()
        self._requested = settings
        self._settings = settings
        self._extractor: Optional[FeatureExtractor] = None
        self._normalizer: Optional[Normalizer] = None
        self._mic: Optional[MicCalibration] = None
        self._requested_mic = self._pending_mic = self._read_mic(settings.calibration)
        self._apply(settings, self._requested_mic)
        self._stop = threading.Event()
        self._wake = threading.Event()  # ends an idle wait early (set_idle(False), stop())
        self._idle = False
        self._idle_seconds = self.IDLE_SECONDS
        self._consumers_idle = False  # the consumers were told set_idle(True)
        self._thread: Optional[threading.Thread] = None

    # -- control (any thread) -------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Use ``settings`` from the next pass on (safe from any thread). Raises ParameterError
        (nothing changed) when a new calibration file cannot be read."""
        mic = (self._requested_mic if settings.calibration == self._requested.calibration
               else self._read_mic(settings.calibration))
        with self._pending_lock:
            self._pending, self._pending_mic = settings, mic
            self._requested, self._requested_mic = settings, mic

    @staticmethod
    def _read_mic(path: Optional[str]) -> Optional[MicCalibration]:
        return None if path is None else load_calibration(path)

    @property
    def calibration(self) -> Optional[MicCalibration]:
        """The microphone calibration in the powers now, or None."""
        return self._mic

    @property
    def settings(self) -> Settings:
        """The settings last asked for (applied at the next pass)."""
        return self._requested

    @property
    def clipped(self) -> int:
        """Clipped samples so far (see :mod:`monitor.dsp.clipping`)."""
        return self._clips.count

    @property
    def clipped_per_channel(self):
        """Clipped samples so far in each channel (channel 1 first)."""
        return self._clips.per_channel

    @property
    def params(self) -> AnalysisParams:
        return self._extractor.params

    @property
    def stream_time(self) -> float:
        """Seconds of audio analysed so far."""
        return self.frames_in / self.samplerate

    def start(self) -> None:
        self._stop.clear()
        self._wake.clear()
        self._spawn()

    def _spawn(self) -> None:
        self._thread = NamedThread(target=self._run, name="analysis-worker", daemon=True)
        self._thread.start()

    def set_idle(self, idle: bool, seconds: Optional[float] = None, consumers: bool = False) -> None:
        """Pass every ``seconds`` (default :data:`IDLE_SECONDS`) instead of at every frame
        while nothing is drawn (the window paused or minimised); any thread, cheap enough to
        call every tick.

        Everything is still analysed, every batch made and every consumer fed (events, levels,
        pre-roll and recording do not depend on it), in fewer, larger passes: a pass costs
        about as much CPU for 12 blocks as for 2 (the first touch of the code and data after a
        sleep dominates), so the worker's thread costs ~80 % less (30 → 5.7 ms of CPU per s of
        audio at issue 12's settings, 1024-frame blocks, 21 ms vs 256 ms between passes). The
        batches, the classifier's and the measurements' audio come up to IDLE_SECONDS later.
        Back to False, the sleeping worker passes at once. ``consumers``: also tell the
        consumers that have a ``set_idle(bool)`` (the measure thread then passes about once
        a second, with the same results), when nothing shows theirs either (minimised; not
        paused, where the Measurements dock still shows, nor headless, whose lines print it).
        """
        was, self._idle = self._idle, bool(idle)
        self._idle_seconds = self.IDLE_SECONDS if seconds is None else float(seconds)
        if was and not self._idle:
            self._wake.set()
        quiet = self._idle and bool(consumers)
        if quiet != self._consumers_idle:
            self._consumers_idle = quiet
            for consumer in self.consumers:
                if hasattr(consumer, "set_idle"):
                    consumer.set_idle(quiet)

    @property
    def idle(self) -> bool:
        """True while the worker passes every IDLE_SECONDS (:meth:`set_idle`)."""
        return self._idle

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def drain(self) -> list[FeatureBatch]:
        """Take every batch computed since the last call (one consumer only)."""
        out = []
        while self.batches:
            out.append(self.batches.popleft())
        return out

    # -- worker thread --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.poll()
                if self._idle:
                    self._wake.wait(self._idle_seconds)
                    self._wake.clear()
                else:
                    # A plain sleep, not an Event's wait: a wake costs this thread ~50 µs of
                    # CPU against ~90 µs through the Event's condition (~40 wakes a second at
                    # issue 12's settings); stop() waits at most MAX_WAIT_SECONDS longer.
                    time.sleep(self._wait_seconds())
            self.poll()  # what arrived before stop() is analysed too
        except Exception as exc:  # noqa: BLE001 - reported and restarted by the session
            self.failure = f"{type(exc).__name__}: {exc}"

    def _wait_seconds(self) -> float:
        """How long to sleep before the next pass: until the audio that completes the next
        frame should be in the ring, within [POLL_SECONDS, MAX_WAIT_SECONDS].

        Sleeping to the next frame instead of every POLL_SECONDS cuts the passes from one per
        audio block (~190 a second) to about one per hop (47 a second at hop 1024), without
        touching the audio callback; the column still appears within POLL_SECONDS of its
        last sample's arrival.
        """
        missing = self._extractor.stft.samples_until_frame() - self.ring.available
        return min(max(missing / self.samplerate, self.POLL_SECONDS), self.MAX_WAIT_SECONDS)

    def poll(self) -> int:
        """One pass: process everything in the ring now. Returns frames processed."""
        if self.ring.available <= 0:  # nothing new (~1 poll in 4 live): no read, no array
            return 0
        block = self.ring.read()
        if block.shape[0]:
            self.process(block)
        return block.shape[0]

    def process(self, block: np.ndarray) -> Optional[FeatureBatch]:
        """Analyse ``block`` (frames × channels float32) synchronously; also used offline."""
        if self._pending is not None:
            with self._pending_lock:  # held for a swap only; never taken by the audio callback
                settings, self._pending, mic = self._pending, None, self._pending_mic
            self._apply(settings, mic)
        # Two reductions serve the finite check (NaN propagates through min/max, inf shows),
        # the clip counter's and the sample limit's quiet-block tests (~25 µs a pass less).
        extremes = _extremes(block)
        if not (math.isfinite(extremes[0]) and math.isfinite(extremes[1])):
            finite = np.isfinite(block)
            self.nonfinite += int(block.size - np.count_nonzero(finite))
            block = np.where(finite, block, np.float32(0.0))
            extremes = _extremes(block)
        self._clips.process(block, extremes)
        self.channels.process(block)
        channel = self._settings.channel
        if channel is not None and channel <= block.shape[1]:
            mono = np.ascontiguousarray(block[:, channel - 1])
        else:
            mono = mix_to_mono(block)  # in float64: ±3e38 in two channels is not Inf
        # Finite samples beyond +96 dBFS would overflow the power spectrum: clamped, counted.
        # (a channel or the mean of channels lies within the block's extremes)
        mono, clamped = limit_samples(mono, extremes)
        self.clamped += clamped
        # The classifier hears the mono mix as captured: normalisation is for what the user
        # sees, and YAMNet's scores depend on level (noise boosted +40 dB reads as something).
        heard = (mono if channel is None or block.shape[1] == 1
                 else limit_samples(mix_to_mono(block), extremes)[0])
        analysed = mono  # the chosen channel (or the mix), before normalisation
        mono = self._normalizer.process(mono)
        self.gain_db = self._normalizer.gain_db
        self.frames_in += block.shape[0]
        self._update_scope(mono)
        for consumer in self.consumers:
            # The measurements follow the channel chosen for analysis (`follows_channel`).
            consumer.feed(analysed if getattr(consumer, "follows_channel", False) else heard,
                          self.samplerate, self.stream_time)
        batch = self._extractor.process(mono)
        if len(batch):
            if len(self.batches) == self.batches.maxlen:
                self.dropped_batches += 1  # the deque drops its oldest: count it
            self.batches.append(batch)
            return batch
        return None

    def _update_scope(self, mono: np.ndarray) -> None:
        n = max(1, int(self._settings.scope_ms * 1e-3 * self.samplerate))
        if mono.size >= n:
            self.scope = mono[-n:].copy()
        else:
            self.scope = np.concatenate((self.scope, mono))[-n:]

    def _apply(self, settings: Settings, mic: Optional[MicCalibration]) -> None:
        params = AnalysisParams.from_settings(settings, self.samplerate)
        if mic is not None:
            params = dataclasses.replace(params, calibration=mic.source)
        old = self._settings
        if self._extractor is None or self._extractor.params != params or mic is not self._mic:
            gain = None if mic is None else mic.power_gain(params.fft_freqs).astype(np.float32)
            extractor = FeatureExtractor(params, gain)
            if self._extractor is not None:
                extractor.stft.seek(self.frames_in)  # frame k stays at sample k * hop
            self._extractor = extractor
        if (self._normalizer is None or old.normalize != settings.normalize
                or old.target_dbfs() != settings.target_dbfs()):
            self._normalizer = Normalizer(settings.normalize, settings.target_dbfs(), self.samplerate)
        self._settings, self._mic = settings, mic


def _extremes(block: np.ndarray) -> tuple[float, float]:
    """(min, max) of every sample of ``block``; NaN if any sample is NaN; (0, 0) if empty."""
    if block.size == 0:
        return 0.0, 0.0
    return float(np.minimum.reduce(block, axis=None)), float(np.maximum.reduce(block, axis=None))
