"""The session's measurements: a :class:`~monitor.measurement.MeasurementConsumer` kept in step
with the settings and the source.

The session creates one :class:`MeasurementFeed` (``Session.open_measurement``) and keeps it
among its consumers across source changes. The analysis worker feeds it the mono mix as
captured (before normalisation); the first block at a new sample rate (another source) builds a
new consumer for that rate, and a change of a measurement setting rebuilds it at the next block.
The dB SPL offset is the command line's ``--spl-offset`` or, failing that, the one the Calibrate
action saved for this input (``spl_offsets``, keyed by the input's description).
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

from monitor.calibration import MicCalibration, load_calibration, spl_offset_db
from monitor.detector_events import DetectorEvents
from monitor.measurement import LOG_ROWS, MeasurementConsumer
from monitor.settings import Settings

__all__ = ["CALIBRATOR_LEVELS", "MeasurementFeed", "with_offset"]

CALIBRATOR_LEVELS = (94.0, 114.0)  # dB SPL of the usual 1 kHz sound calibrators
_REBUILD = ("measure_n_fft", "measure_averages", "harmonics", "band_fraction", "leq_period")


def with_offset(offsets: tuple, key: str, value: float) -> tuple:
    """``offsets`` ((input, dB) pairs) with ``key``'s offset set to ``value`` dB."""
    kept = tuple((k, v) for k, v in offsets if k != key)
    return kept + ((key, round(float(value), 3)),)


class MeasurementFeed:
    """An AudioConsumer that measures whatever source the session runs: the channel chosen for
    analysis (``--channel``), or the mono mix, before normalisation (``follows_channel``).

    Parameters
    ----------
    settings : Settings
        Its measurement fields are used (``measure_n_fft``, ``measure_averages``, ``harmonics``,
        ``band_fraction``, ``leq_period``, ``calibration``, ``spl_offset``, ``spl_offsets``).
    threaded : bool
        Measure on the consumer's own thread (live sources). False for an offline run
        (``--no-realtime``): the runner calls :meth:`poll` after each block, so every sample
        is checked and the measurements fall at the same stream times on every run.

    Raises
    ------
    ParameterError
        The calibration file cannot be read or parsed (one line).
    """

    def __init__(self, settings: Settings, threaded: bool = True) -> None:
        self._settings = settings
        self.threaded = bool(threaded)
        self.follows_channel = True  # the worker feeds it the analysed channel, not the mix
        self._mic: MicCalibration | None = self._load(settings.calibration)
        self.input_key: str | None = None
        self.consumer: MeasurementConsumer | None = None
        self._rebuild = False
        self._lock = threading.Lock()  # consumer swaps (worker thread) against close()
        self._closed = False
        self._built = threading.Event()  # set once a consumer exists
        self._last: dict = {}  # the stopped consumer's last measurement
        self._old_log: collections.deque = collections.deque(maxlen=LOG_ROWS)  # of earlier consumers
        self._analysing = True
        self._idle = False
        self.events = DetectorEvents()  # every consumer's detector events (monitor.detector_events)

    @staticmethod
    def _load(path: str | None) -> MicCalibration | None:
        return None if path is None else load_calibration(path)

    # -- the worker's thread --------------------------------------------------------------------
    def feed(self, mono: np.ndarray, samplerate: float, stream_time: float) -> None:
        """Forward ``mono`` to the consumer, building one for ``samplerate`` (Hz) if needed."""
        consumer = self.consumer
        if consumer is None or consumer.samplerate != samplerate or self._rebuild:
            consumer = self._new_consumer(samplerate)
            if consumer is None:
                return
        consumer.feed(mono, samplerate, stream_time)

    def _new_consumer(self, samplerate: float) -> MeasurementConsumer | None:
        s = self._settings
        with self._lock:
            if self._closed:
                return None
            self._rebuild = False
            old, self.consumer = self.consumer, None
            if old is not None:
                old.stop()
                self._old_log.extend(old.log)
            consumer = MeasurementConsumer(samplerate, n_fft=s.measure_n_fft, averages=s.measure_averages,
                                           n_harmonics=s.harmonics, band_fraction=s.band_fraction,
                                           calibration=self._mic, spl_offset_db=self.spl_offset,
                                           leq_period=s.leq_period, events=self.events)
            consumer.analysing = self._analysing
            consumer.set_idle(self._idle)
            if self.threaded:
                consumer.start()
            self.consumer = consumer
            self._built.set()
        return consumer

    # -- control (the session's thread) -----------------------------------------------------------
    @property
    def analysing(self) -> bool:
        """Whether the tone, distortion, noise and band figures are computed (the detectors and
        the levels always are); see :attr:`MeasurementConsumer.analysing`."""
        return self._analysing

    @analysing.setter
    def analysing(self, on: bool) -> None:
        self._analysing = bool(on)
        consumer = self.consumer
        if consumer is not None:
            consumer.analysing = self._analysing

    def set_idle(self, idle: bool) -> None:
        """The measure thread passes less often while nothing is drawn, with the same results
        (:meth:`MeasurementConsumer.set_idle`); the worker calls it (any thread)."""
        self._idle = bool(idle)
        consumer = self.consumer
        if consumer is not None:
            consumer.set_idle(self._idle)

    @property
    def spl_offset(self) -> float | None:
        """dB added to dBFS for dB SPL, or None (not calibrated)."""
        s = self._settings
        if s.spl_offset is not None:
            return float(s.spl_offset)
        return dict(s.spl_offsets).get(self.input_key) if self.input_key else None

    @property
    def calibration(self) -> MicCalibration | None:
        return self._mic

    def set_input(self, key: str) -> None:
        """The input now measured (its description): picks its saved SPL offset."""
        self.input_key = key
        self._update_calibration()

    def configure(self, settings: Settings) -> None:
        """Use ``settings``' measurement fields; raises ParameterError (nothing changed) when a
        new calibration file cannot be read."""
        old = self._settings
        mic = self._mic if settings.calibration == old.calibration else self._load(settings.calibration)
        self._settings, self._mic = settings, mic
        if any(getattr(settings, k) != getattr(old, k) for k in _REBUILD):
            self._rebuild = True
        self._update_calibration()

    def _update_calibration(self) -> None:
        consumer = self.consumer
        if consumer is not None:
            consumer.set_calibration(self._mic, self.spl_offset)

    def calibrate(self, calibrator_db: float = 94.0) -> float:
        """The SPL offset (dB) that makes the tone playing now read ``calibrator_db`` dB SPL
        (a 1 kHz calibrator). Raises ParameterError when no fitting tone is measured."""
        m = self.latest()
        return spl_offset_db(m.get("level_dbfs"), calibrator_db, m.get("fundamental_hz"))

    def latest(self) -> dict:
        """The consumer's latest measurement (``{}`` before the first block; after :meth:`stop`,
        the last one made)."""
        consumer = self.consumer
        return self._last if consumer is None else consumer.latest()

    def poll(self) -> None:
        """Offline (``threaded=False``): check what was fed and measure what is due, here."""
        consumer = self.consumer
        if consumer is not None and not self.threaded:
            while consumer.poll():
                pass

    def log(self) -> list[dict]:
        """Every measurement made so far, oldest first (for the log export)."""
        consumer = self.consumer
        return list(self._old_log) + (list(consumer.log) if consumer is not None else [])

    def wait_for_update(self, after: int, timeout: float) -> bool:
        """Block until the consumer made more than ``after`` measurements (or ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        if not self._built.wait(timeout):
            return False
        consumer = self.consumer
        return consumer is not None and consumer.wait_for_update(after, max(0.0, deadline - time.monotonic()))

    @property
    def updates(self) -> int:
        consumer = self.consumer
        return 0 if consumer is None else consumer.updates

    @property
    def problem(self) -> str | None:
        consumer = self.consumer
        return None if consumer is None else consumer.problem

    def stop(self) -> None:
        """Stop the measure thread after a last pass (the audio stopped); the log is kept, and
        audio fed later starts a new consumer."""
        with self._lock:
            consumer, self.consumer = self.consumer, None
            self._built.clear()
            if consumer is not None:
                consumer.stop()
                self._old_log.extend(consumer.log)
                self._last = consumer.latest()

    def close(self) -> None:
        """:meth:`stop`, for good."""
        with self._lock:
            self._closed = True
        self.stop()

