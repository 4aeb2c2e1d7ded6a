"""Live measurements of the analysed audio on their own thread: an AudioConsumer of the worker.

``feed`` (called by the analysis worker) only copies into a preallocated ring. The thread
``measure`` checks every new sample for clipping and dropouts, integrates LAeq/LCeq/LZeq and
LCpeak, and every ``interval`` seconds of audio measures the tone, distortion, noise, DC, hum
and fractional-octave bands of the most recent audio (see ``monitor.dsp.distortion`` for the
method). :meth:`MeasurementConsumer.latest` gives the result as a dict ready for JSON.
"""

from __future__ import annotations

import collections
import copy
import math
import threading

import numpy as np

from monitor.detector_events import DetectorEvents
from monitor.dsp.clipping import ClipCounter
from monitor.dsp.correction_filter import CorrectionFIR, StreamingFIR, design_correction
from monitor.dsp.detectors import DropoutDetector
from monitor.dsp.discontinuity import DiscontinuityDetector
from monitor.dsp.distortion import WINDOW_NAME, measure_distortion
from monitor.dsp.octave import band_levels
from monitor.dsp.power_spectrum import HANN, dc_offset, power_spectrum
from monitor.dsp.weighting import LevelIntegrator
from monitor.threads import NamedThread

__all__ = ["LOG_ROWS", "MeasurementConsumer"]

LOG_ROWS = 100_000  # measurements kept for the log export (14 h at one per 0.5 s; ~30 MB)
MAX_LAG_SECONDS = 10.0  # s the measure thread may fall behind before samples go unchecked


def _num(x, digits: int = 2):
    """``x`` rounded to ``digits`` decimals, or None when missing or not finite."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


def _sig(x, figures: int = 4):
    """``x`` to ``figures`` significant figures (for % and ratios spanning decades), or None."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{float(x):.{figures}g}")


_FIRS: collections.OrderedDict = collections.OrderedDict()  # (id, rate) → (calibration, FIR)
_FIRS_LOCK = threading.Lock()


def _correction_fir(calibration, samplerate: float) -> CorrectionFIR:
    """The time-domain correction FIR of ``calibration`` at ``samplerate`` Hz, designed once per
    file and rate (20-150 ms: a new consumer for the same file reuses it)."""
    key = (id(calibration), float(samplerate))
    with _FIRS_LOCK:
        hit = _FIRS.get(key)
        if hit is not None and hit[0] is calibration:
            return hit[1]
    fir = design_correction(calibration.correction_db, samplerate, check_hz=calibration.frequencies_hz)
    with _FIRS_LOCK:
        _FIRS[key] = (calibration, fir)  # the calibration held: its id is not reused meanwhile
        while len(_FIRS) > 4:
            _FIRS.popitem(last=False)
    return fir


class MeasurementConsumer:
    """Measures what the worker feeds it; fits ``monitor.worker.AudioConsumer``.

    Feed it the analysed channel before normalisation: levels, clipping and DC are about the
    signal as it arrived.

    Parameters
    ----------
    samplerate : float
        Hz of the audio that will be fed.
    n_fft : int
        Samples per analysis frame.
    averages : int
        Frames averaged per measurement (50 % overlap): each measurement covers the last
        ``n_fft * (averages + 1) / 2`` samples (20480 by default: 0.43 s at 48 kHz).
    interval : float
        Seconds of audio between measurements.
    n_harmonics, band
        As in ``measure_distortion``; band in Hz.
    band_fraction : int
        1/b-octave bands reported (1, 3, 6, 12 or 24).
    calibration : MicCalibration or None
        Microphone response corrected in the spectrum (levels, THD, bands) per FFT bin, and in
        LAeq/LCeq/LZeq and LCpeak by a linear-phase FIR designed from the file
        (``monitor.dsp.correction_filter``; its delay is taken out, so the levels lag the
        input by ``(taps - 1) / 2`` samples, 85 ms at 48 kHz and 8191 taps). A new file starts
        a new Leq period.
    spl_offset_db : float or None
        dB added to dBFS figures for dB SPL (``monitor.calibration.spl_offset_db``).
    dropout_min_samples : int
        Exact zeros in a row inside signal that count as a dropout.
    dc_warn_dbfs : float
        |DC| at or above this (dB re full scale) raises the DC warning.
    leq_period : float or None
        Seconds after which the Leq / LCpeak period restarts (the finished period's figures
        stay in ``levels["last_period"]``, each exactly ``leq_period`` seconds of samples long);
        None: one period since the start.
    events : DetectorEvents or None
        Where the stream times (s) of the detectors' events go (the feed keeps one across
        consumers); None: a new one (:attr:`events`).
    """

    def __init__(self, samplerate: float, n_fft: int = 8192, averages: int = 4, interval: float = 0.5,
                 n_harmonics: int = 10, band: tuple | None = (20.0, 20000.0), band_fraction: int = 3,
                 calibration=None, spl_offset_db: float | None = None, dropout_min_samples: int = 32,
                 dc_warn_dbfs: float = -40.0, leq_period: float | None = None,
                 events: DetectorEvents | None = None) -> None:
        self.samplerate = float(samplerate)
        self.n_fft, self.averages = int(n_fft), int(averages)
        self.span = self.n_fft * (self.averages + 1) // 2
        self.interval_samples = max(1, int(round(interval * self.samplerate)))
        self.n_harmonics, self.band, self.band_fraction = int(n_harmonics), band, int(band_fraction)
        self.dc_warn = 10.0 ** (dc_warn_dbfs / 20.0)
        # Room for the analysis span plus MAX_LAG_SECONDS: the thread may lag that long before
        # samples go unchecked (then counted in samples_missed). 2 s was too short: on a
        # machine at load 16 (2 cores) the thread went unscheduled for 3 s. 1.9 MB at 48 kHz.
        lag = max(4 * self.interval_samples, int(MAX_LAG_SECONDS * self.samplerate))
        self._ring = np.zeros(self.span + lag, dtype=np.float32)
        self._lock = threading.Lock()  # held only to copy in (feed) and out (the thread)
        self._written = 0  # samples ever fed
        self._stream_time = 0.0
        self._seen = 0  # samples the detectors have looked at
        self._more = False  # the last pass stopped before the newest sample (idle)
        self._measured_at: int | None = None
        self.feeds = 0
        self._feeds_passed = 0  # feeds up to the end of the last pass (published as "feeds")
        self.dropped_feeds = 0  # feeds refused (wrong sample rate or shape)
        self.samples_missed = 0  # samples overwritten before the detectors saw them
        self.updates = 0
        # False: only the detectors and the levels run (every sample), no tone, distortion,
        # noise or band figures. The window sets it while no panel shows them: they were a
        # third of this thread's CPU (33 of 90 ms per second of 48 kHz audio, cProfile).
        self.analysing = True
        self.dc_warnings = 0
        self._failure: str | None = None
        self._refused: tuple | None = None
        self._reset_levels = False
        self._clips = ClipCounter(2)
        self._dropouts = DropoutDetector(dropout_min_samples)
        self._discontinuities = DiscontinuityDetector(self.samplerate)
        self.events = DetectorEvents() if events is None else events
        # Stream time of consumer sample i: origin + i / samplerate, the origin of the segment
        # holding i (a new one when the worker's stream time jumps: a new source).
        self._segments: collections.deque = collections.deque(maxlen=64)
        self._checked = 0  # samples the detectors have looked at (fewer than _seen if missed)
        self._levels = LevelIntegrator(self.samplerate)
        self._mic_filter: StreamingFIR | None = None  # the time-domain mic correction in use
        self._calibration = (None, None, None, None)
        self.leq_period = None if leq_period is None else float(leq_period)
        self._last_period: dict | None = None
        self._dc_warning = False
        self._latest: dict = {}
        # Every measurement made, without the band and harmonic lists, for the log export.
        self.log: collections.deque = collections.deque(maxlen=LOG_ROWS)
        self._updated = threading.Condition()
        self._stop = threading.Event()
        self._wake = threading.Event()  # ends the thread's wait early (stop, back from idle)
        # While idle the thread passes every IDLE_POLL_SECONDS and a pass ends at each feed end
        # where a measurement falls due (set_idle): (consumer sample index, stream time, feeds
        # so far) at the end of each feed not yet passed over.
        self.idle = False
        self._feed_ends: collections.deque = collections.deque(maxlen=4096)
        self._thread: threading.Thread | None = None
        self.set_calibration(calibration, spl_offset_db)

    # -- the worker's thread --------------------------------------------------------------------
    def feed(self, mono: np.ndarray, samplerate: float, stream_time: float) -> None:
        """Copy ``mono`` (1-D float, full scale +-1) into the ring; nothing else."""
        if samplerate != self.samplerate or mono.ndim != 1:
            self.dropped_feeds += 1
            self._refused = (samplerate, mono.shape)
            return
        n, size = mono.shape[0], self._ring.size
        with self._lock:
            if n >= size:  # only the newest ring-full fits; poll() counts the rest as missed
                start = (self._written + n - size) % size
                self._ring[start:] = mono[n - size:n - start]
                self._ring[:start] = mono[n - start:]
            else:
                start = self._written % size
                first = min(n, size - start)
                self._ring[start:start + first] = mono[:first]
                self._ring[:n - first] = mono[first:]
            origin = stream_time - (self._written + n) / self.samplerate  # time of sample 0
            if not self._segments or abs(origin - self._segments[-1][1]) > 0.5 / self.samplerate:
                self._segments.append((self._written, origin))
            self._written += n
            self._stream_time = stream_time
            self.feeds += 1
            self._feed_ends.append((self._written, stream_time, self.feeds))

    # -- control --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the ``measure`` thread."""
        self._stop.clear()
        self._wake.clear()
        self._thread = NamedThread(target=self._run, name="measure", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last pass over what was fed; the levels then take in the
        microphone correction's last ``delay`` samples too (the input after the end as zero),
        so they cover every sample fed."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                return  # still measuring: it keeps its samples
            self._thread = None
        mic_filter = self._mic_filter
        if mic_filter is not None and mic_filter.samples_in:
            self._integrate(mic_filter.flush())
            self._publish_counts()

    @property
    def problem(self) -> str | None:
        """What is wrong, one line for the user, or None."""
        problems = []
        if self._failure:
            problems.append(self._failure)
        if self._refused is not None:
            rate, shape = self._refused
            problems.append(f"{self.dropped_feeds} blocks not measured: fed {rate:g} Hz audio of shape {shape}, "
                            f"measuring {self.samplerate:g} Hz mono")
        if self.samples_missed:
            problems.append(f"measurement fell behind: {self.samples_missed} samples not checked")
        return "; ".join(problems) or None

    def set_calibration(self, calibration=None, spl_offset_db: float | None = None) -> None:
        """Use microphone ``calibration`` (MicCalibration or None) and ``spl_offset_db`` (dB or
        None) from the next measurement on (safe from any thread)."""
        old, old_gain, _, old_fir = self._calibration
        if calibration is old:  # a new SPL offset only: keep the designs
            gain, fir = old_gain, old_fir
        elif calibration is None:
            gain = fir = None
        else:
            gain = calibration.power_gain(np.fft.rfftfreq(self.n_fft, 1.0 / self.samplerate))
            fir = _correction_fir(calibration, self.samplerate)
        # One swap: read whole by the thread.
        self._calibration = (calibration, gain, spl_offset_db, fir)

    @property
    def calibration(self):
        return self._calibration[0]

    @property
    def spl_offset_db(self) -> float | None:
        return self._calibration[2]

    @property
    def correction_fir(self) -> CorrectionFIR | None:
        """The time-domain microphone correction of the levels, or None."""
        return self._calibration[3]

    def latest(self) -> dict:
        """The last measurement and the detector counts: finite numbers or None, JSON-ready.

        Before the first measurement only the counts (and ``levels``) are there.
        """
        with self._updated:
            return copy.deepcopy(self._latest) if self._latest else self._counts()

    def wait_for_update(self, after: int, timeout: float) -> bool:
        """Block until more than ``after`` measurements were made (or ``timeout`` s pass)."""
        with self._updated:
            return self._updated.wait_for(lambda: self.updates > after, timeout)

    def set_idle(self, idle: bool) -> None:
        """Pass every :data:`IDLE_POLL_SECONDS` instead of :data:`POLL_SECONDS` while nothing
        is drawn (the worker's ``set_idle`` passes it on; any thread). The results are those of
        a thread that passed at the end of every feed: each idle pass stops at the feeds where
        a measurement falls due, so the log rows, the counts in them, the events and their
        stream times are the same; only ``latest()`` changes less often. Back to False, the
        waiting thread passes at once."""
        self.idle = bool(idle)
        if not self.idle:
            self._wake.set()

    def reset_levels(self) -> None:
        """Start a new Leq / LCpeak period (from the thread's next pass)."""
        self._reset_levels = True

    # -- the measure thread ---------------------------------------------------------------------
    POLL_SECONDS = 0.1  # between passes of the measure thread
    IDLE_POLL_SECONDS = 1.0  # between passes while idle (set_idle): the counts are not on screen

    def _run(self) -> None:
        # Every 0.1 s, not 0.05: each pass has a fixed cost in the detectors and the level
        # filters (some 30 numpy calls each), so the detectors-and-levels thread costs 28 %
        # less (43 -> 31 ms of CPU per s of audio in-process); counts and levels still
        # refresh faster than the Measurements panel's 4 Hz, and events keep their stream times.
        while True:
            self._wake.wait(self.IDLE_POLL_SECONDS if self.idle else self.POLL_SECONDS)
            self._wake.clear()
            stopping = self._stop.is_set()
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - say it in latest()/problem, keep going
                self._failure = f"measurement thread error: {exc!r}"
            if stopping:
                return

    def poll(self) -> bool:
        """One pass: check the new samples, measure when an interval is due. True if measured.

        While :attr:`idle`, the pass is cut at every feed end where a measurement falls due,
        as if the thread had passed there (see :meth:`set_idle`)."""
        measured = self._pass()
        while self._more:
            measured = self._pass() or measured
        return measured

    def _due_at(self, end: int) -> bool:
        return end >= self.n_fft and (self._measured_at is None
                                      or end - self._measured_at >= self.interval_samples)

    def _split(self, written: int, size: int) -> tuple | None:
        """While idle: the first feed end (index, stream time, feeds) before ``written`` where a
        measurement falls due and whose span is still in the ring; None: pass to ``written``.
        The caller holds the lock."""
        ends = self._feed_ends
        if not self.idle:
            ends.clear()
            return None
        while ends and ends[0][0] <= self._seen:
            ends.popleft()
        for end in ends:
            if end[0] >= written:
                break
            if self._due_at(end[0]) and end[0] - self.span >= written - size:
                return end
        return None

    def _pass(self) -> bool:
        with self._lock:
            written, stream_time, feeds = self._written, self._stream_time, self.feeds
            size = self._ring.size
            missed = max(0, written - self._seen - size)
            first = max(self._seen, written - size, 0)
            split = None if missed else self._split(written, size)
            self._more = split is not None
            if split is not None:
                written, stream_time, feeds = split
            self._feeds_passed = feeds
            interval = self._due_at(written)
            # Copy only the new samples, and the analysis span only when it is measured (it
            # was copied whole, 20480 samples by fancy indexing, at every poll).
            new = self._copy(first, written, np.float64)
            span = self._copy(written - min(written, self.span), written) if interval else None
            segments = list(self._segments)
        self.samples_missed += missed
        self._seen = written
        fir = self._calibration[3]
        if fir is not (None if self._mic_filter is None else self._mic_filter.fir):
            # Another microphone correction: a new Leq period, measured with it throughout.
            self._mic_filter = None if fir is None else StreamingFIR(fir)
            self._reset_levels = True
        if self._reset_levels:
            self._reset_levels = False
            self._levels.reset()
        self._clips.process(new)
        self._dropouts.process(new)
        if missed:
            self._discontinuities.restart()  # skipped samples would read as a splice
        self._discontinuities.process(new)
        self._stamp_events(first - self._checked, segments)
        self._checked += new.size
        self._integrate(new if self._mic_filter is None else self._mic_filter.process(new))
        due = interval and self.analysing
        if interval:
            self._measured_at = written
            if due:
                self._publish(self._measure(span, stream_time))
            else:  # the DC warning is a detector: it runs without the figures too
                self._check_dc(dc_offset(span, self.n_fft, self.averages), stream_time)
                self._publish_counts()
        elif missed or new.size:
            self._publish_counts()
        return due

    def _copy(self, lo: int, hi: int, dtype=np.float32) -> np.ndarray:
        """A copy of the ring's samples ``lo .. hi`` (consumer sample indices, at most a
        ring-full, all written) as ``dtype`` (converted in the one copy); the caller holds
        the lock."""
        size = self._ring.size
        a, b = lo % size, hi % size
        if hi - lo == 0:
            return self._ring[:0].astype(dtype)
        if a < b:
            return self._ring[a:b].astype(dtype)
        return np.concatenate((self._ring[a:], self._ring[:b]), dtype=dtype)

    def _stamp_events(self, shift: int, segments: list) -> None:
        """Record the stream times of the events the detectors counted in the last block;
        ``shift`` turns a detector's sample index into this consumer's (samples missed)."""
        for kind, detector in (("clipping", self._clips), ("dropout", self._dropouts),
                               ("discontinuity", self._discontinuities)):
            if detector.last_events.size:
                self.events.add(kind, [self._time_of(int(i) + shift, segments) for i in detector.last_events])

    def _time_of(self, index: int, segments: list) -> float:
        """Stream time (s) of consumer sample ``index``."""
        origin = segments[0][1] if segments else 0.0
        for start, o in segments:
            if start > index:
                break
            origin = o
        return origin + index / self.samplerate

    def _integrate(self, new: np.ndarray) -> None:
        """Leq and LCpeak of ``new``; a period ends exactly at its last sample."""
        if self.leq_period is None:
            self._levels.process(new)
            return
        period = max(1, round(self.leq_period * self.samplerate))
        while new.size:
            room = period - self._levels.samples
            self._levels.process(new[:room])
            new = new[room:]
            if self._levels.samples >= period:
                finished = self._levels_dict()
                finished.pop("last_period", None)
                self._last_period = finished
                self._levels.reset()

    def _check_dc(self, dc: float | None, stream_time: float) -> bool:
        """The DC warning for an offset of ``dc`` (full scale = 1) measured at ``stream_time``
        (s): counted and time-stamped when it begins. Returns whether it is on."""
        warning = dc is not None and abs(dc) >= self.dc_warn
        if warning and not self._dc_warning:
            self.dc_warnings += 1
            self.events.add("dc", [stream_time])
        self._dc_warning = warning
        return warning

    def _measure(self, x: np.ndarray, stream_time: float) -> dict:
        calibration, gain, spl_offset, fir = self._calibration
        try:
            r = measure_distortion(x, self.samplerate, self.n_fft, self.averages, self.n_harmonics,
                                   self.band, power_gain=gain)
            ps = power_spectrum(x, self.samplerate, self.n_fft, self.averages, coefficients=HANN)
            power = ps.power if gain is None else ps.power * gain
            bands = band_levels(power, self.samplerate, self.n_fft, self.band_fraction)
        except Exception as exc:  # noqa: BLE001 - say it in the result, keep measuring
            self._failure = f"measurement failed: {exc}"
            return {}
        self._failure = None
        warning = self._check_dc(r.dc_offset, stream_time)
        out = {
            "time_s": _num(stream_time, 3), "samplerate_hz": self.samplerate, "n_fft": self.n_fft,
            "frames_averaged": r.frames, "window": WINDOW_NAME, "band_hz": [_num(b, 1) for b in r.band_hz],
            "fundamental_hz": _num(r.fundamental_hz, 3), "level_dbfs": _num(r.level_dbfs),
            "thd_percent": _sig(r.thd_percent), "thd_db": _num(r.thd_db),
            "thdn_percent": _sig(r.thdn_percent), "thdn_db": _num(r.thdn_db),
            "sinad_db": _num(r.sinad_db), "snr_db": _num(r.snr_db), "enob_bits": _num(r.enob_bits),
            "harmonics_dbfs": [_num(h) for h in r.harmonics_dbfs],
            "noise_dbfs": _num(r.noise_dbfs), "noise_dbfs_a": _num(r.noise_dbfs_a),
            "dc_offset": _sig(r.dc_offset), "dc_dbfs": _num(r.dc_dbfs), "dc_warning": warning,
            "hum_hz": _num(r.hum_hz, 2), "hum_dbfs": _num(r.hum_dbfs),
            "hum_harmonics_dbfs": [_num(h) for h in r.hum_harmonics_dbfs],
            "bands": {"fraction": bands.fraction, "nominal_hz": [_sig(f, 3) for f in bands.nominal_hz],
                      "level_dbfs": [_num(v) for v in bands.level_dbfs]},
            "calibration": None if calibration is None else calibration.source,
        }
        if fir is not None:  # how the levels' time-domain correction was made
            out["calibration_fir"] = {"taps": fir.n_taps, "delay_ms": _num(1e3 * fir.delay_s, 3),
                                      "max_error_db": _num(fir.max_error_db, 3), "from_hz": fir.f_lo}
        if spl_offset is not None:
            out["spl_offset_db"] = _num(spl_offset)
            for key in ("level_dbfs", "noise_dbfs", "noise_dbfs_a"):
                value = out[key]
                out[key.replace("dbfs", "db_spl")] = None if value is None else _num(value + spl_offset)
        return out

    def _levels_dict(self) -> dict:
        lv = self._levels
        out = {"period_s": _num(lv.duration_s, 3), "laeq_db": _num(lv.leq_db("A")),
               "lceq_db": _num(lv.leq_db("C")), "lzeq_db": _num(lv.leq_db("Z")), "lcpeak_db": _num(lv.lcpeak_db())}
        offset = self.spl_offset_db
        if offset is not None:
            out.update({f"{k}_spl": None if v is None else _num(v + offset)
                        for k, v in list(out.items()) if k != "period_s"})
        if self.leq_period is not None:
            out["last_period"] = self._last_period
        return out

    def _counts(self) -> dict:
        return {"clipping": {"events": self._clips.events, "samples": self._clips.samples},
                "dropouts": {"events": self._dropouts.events, "samples": self._dropouts.samples},
                "discontinuities": {"events": self._discontinuities.events,
                                    "last_time_s": _num(self.events.last["discontinuity"], 4)},
                "detector_events": self.events.summary(),
                "dc_warnings": self.dc_warnings, "feeds": self._feeds_passed, "dropped_feeds": self.dropped_feeds,
                "samples_missed": self.samples_missed, "levels": self._levels_dict(), "problem": self.problem}

    def _publish(self, measurement: dict) -> None:
        with self._updated:
            self._latest = {**measurement, **self._counts()}
            if measurement:
                self.log.append({k: v for k, v in self._latest.items()
                                 if k not in ("bands", "harmonics_dbfs", "hum_harmonics_dbfs")})
            self.updates += 1
            self._updated.notify_all()

    def _publish_counts(self) -> None:
        with self._updated:
            self._latest = {**self._latest, **self._counts()}
