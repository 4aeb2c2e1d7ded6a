"""The session: one controller, without Qt, between the user's choices and the running audio.

The window, the headless runner and the network publisher drive a :class:`Session` and present
what it says; none of them opens a source, starts a pipeline or decides a fallback itself.
A session alone

- merges the saved settings with the command line (the command line wins; naming a source on
  it drops the saved source),
- applies the rules that need the source's sample rate (:func:`monitor.rules.fit_settings`:
  hop follows n_fft unless chosen, mel bands lowered to leave none empty, a frequency range
  beyond Nyquist reset) -- written once, at the start and at every later change,
- runs the ordered fallbacks when the input cannot be opened (:meth:`Session.start`),
- changes the source, reconfigures, retries a lost input and rescans the devices,
- starts and stops the pipeline (the only place that does), and
- keeps the one list of problems (:class:`monitor.problems.Problems`) that the status bar,
  the banners and the headless JSON all read.

A value is *strict* when the user gave it in the current request (on the command line at start,
or in the change being applied): a strict value that does not fit is refused with a
:class:`~monitor.errors.ParameterError`. Any other value that does not fit is adapted for this
source and the adaptation is reported; the user's choice is remembered, so it returns when it
fits again (mel bands lowered at n_fft 256 come back at 2048).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Iterable, Optional

from monitor.errors import ParameterError
from monitor.pipeline import Pipeline, Status
from monitor.problems import Problem, Problems
from monitor.resources import resource_path
from monitor.rules import SOURCE_IDENTITY, clean_saved, fit_settings, merge_choices, usable_n_mels
from monitor.settings import SOURCE_FIELDS, Settings, field_spec
from monitor.sources import FileSource, Source, open_source

__all__ = ["Session", "SourceUnavailable", "DEMO_SOURCE_NOTE",
           # the rules and the problem list, for the callers that use them with a session
           "Problem", "Problems", "fit_settings", "clean_saved", "merge_choices", "usable_n_mels"]

RETRY_SECONDS = 2.0  # a lost microphone is reopened this often
DEMO_SOURCE_NOTE = "showing the demo signal"
# Source fields that need the source reopened (the analysed channel is picked by the worker).
REOPEN_FIELDS = tuple(k for k in SOURCE_FIELDS if k != "channel")


class SourceUnavailable(ParameterError):
    """The input could not be opened or started (a fallback may help)."""


def demo_source(settings: Settings) -> Source:
    """The demo recording shipped with the package, looped."""
    return FileSource(str(resource_path("demo.wav")), loop=True, blocksize=settings.blocksize)


# -- the session -----------------------------------------------------------------------------
class Session:
    """The user's choices, the pipeline running them, and what went wrong.

    Parameters
    ----------
    given : dict
        Settings fields given on the command line (strict at start; not saved unless changed).
    saved : dict, optional
        Settings fields saved by an earlier run (cleaned with :func:`clean_saved`).
    record : str, optional
        Record the input to this file.
    consumers : list, optional
        Fed the analysed audio (the classifier); kept across source changes.
    allow_demo : bool
        When no usable input exists and none was named, show the demo recording (the window)
        instead of refusing (the headless runner, and any run that records or publishes).
    auto_retry : bool
        Reopen a lost microphone every :data:`RETRY_SECONDS` in :meth:`poll`.
    source_factory : callable, optional
        ``settings -> Source``; default :func:`monitor.sources.open_source`.

    Attributes
    ----------
    settings : Settings
        In force (after the rules); before :meth:`start`, without the source's rate applied.
    pipeline : Pipeline or None
        The running audio path, once started.
    problems : Problems
    """

    def __init__(self, given: Optional[dict] = None, saved: Optional[dict] = None, *,
                 record: Optional[str] = None, consumers: Optional[list] = None,
                 allow_demo: bool = False, auto_retry: bool = True,
                 source_factory: Optional[Callable[[Settings], Source]] = None) -> None:
        self.problems = Problems()
        self._given = dict(given or {})
        saved, dropped = clean_saved(dict(saved or {}), self._given)
        for line in dropped:
            self.problems.report(f"saved:{line.split()[1]}", f"{line}; --reset-settings "
                                 f"forgets the saved settings", "warning")
        self._saved = saved  # saved, then changed in the window; the command line's in _given
        self._record = record
        self.consumers = list(consumers or [])
        self.allow_demo = allow_demo
        self.auto_retry = auto_retry
        self._open_source = source_factory or open_source
        self.settings, _ = fit_settings(self.choices, strict=self._given)
        self.pipeline: Optional[Pipeline] = None
        self.classifier = None
        self.clips = None  # a monitor.clips.AlertClips: clips saved on alerts (poll drives it)
        self.measurement = None  # the MeasurementFeed, once open_measurement() made it
        self.on_demo = False
        self._next_retry = 0.0
        self._lock = threading.RLock()  # one driver at a time (GUI thread or headless loop)

    # -- the user's choices --------------------------------------------------------------------
    @property
    def choices(self) -> dict:
        """Every field the user chose: saved, overridden by the command line and the window."""
        return merge_choices(self._saved, self._given)

    def saved_choices(self) -> dict:
        """What the window should save: the choices, minus those only the command line gave
        for this run, minus run-only fields."""
        return {k: v for k, v in self._saved.items() if field_spec(k).persist}

    # -- start and stop ------------------------------------------------------------------------
    def start(self) -> Pipeline:
        """Open the input and start the pipeline, trying in order:

        1. the choices as they are (command line over saved);
        2. without the saved source (the default input), if a saved source was in use;
        3. the demo recording, if ``allow_demo`` and the command line named no source.

        Returns the started pipeline. Raises :class:`ParameterError` when the command line's
        own values are wrong (no fallback changes that), or with the first input's error when
        no input works.
        """
        with self._lock:
            if self.pipeline is not None:
                return self.pipeline
            self._check_calibration()  # the worker reads it too (the waterfall's correction)
            attempts: list[tuple[dict, bool]] = [(self.choices, False)]
            if (any(k in SOURCE_FIELDS for k in self._saved)
                    and not any(k in self._given for k in SOURCE_FIELDS)):
                attempts.append(({k: v for k, v in self.choices.items()
                                  if k not in SOURCE_FIELDS}, True))
            first: Optional[SourceUnavailable] = None
            for choices, without_saved in attempts:
                try:
                    self._launch(choices, strict=self._given)
                except SourceUnavailable as exc:
                    first = first or exc
                    continue
                if without_saved:
                    self.problems.report("input", f"saved input unavailable ({first}); using the "
                                         f"default input", "warning")
                    self._saved = {k: v for k, v in self._saved.items() if k not in SOURCE_FIELDS}
                return self.pipeline
            assert first is not None
            named = any(self._given.get(k) is not None for k in SOURCE_IDENTITY)
            if not self.allow_demo or named:
                raise ParameterError(str(first))
            self._launch(self.choices, strict=self._given, demo=True)
            demo = resource_path("demo.wav").name
            self.problems.report("input", f"no usable input ({first}); {DEMO_SOURCE_NOTE} "
                                 f"({demo})", "warning")
            return self.pipeline

    def _launch(self, choices: dict, strict: Iterable[str], demo: bool = False) -> None:
        """Open a source for ``choices``, fit the settings to it, build and start a pipeline."""
        self._activate(*self._prepare(choices, strict, demo), demo=demo)

    def _prepare(self, choices: dict, strict: Iterable[str], demo: bool = False
                 ) -> tuple[Pipeline, dict]:
        """Open a source for ``choices`` and build its pipeline, not started.

        Raises :class:`SourceUnavailable` when the input cannot be opened, and
        :class:`ParameterError` when the values do not fit it (nothing is left open)."""
        pre, _ = fit_settings(choices, strict=strict)
        try:
            source = demo_source(pre) if demo else self._open_source(pre)
        except ParameterError as exc:
            raise SourceUnavailable(str(exc)) from None
        try:
            settings, notes = fit_settings(choices, source.samplerate, source.channels, strict)
            pipeline = Pipeline(settings, source=source, record=self._record,
                                consumers=self.consumers)
        except ParameterError:
            source.stop()
            raise
        return pipeline, notes

    def _activate(self, pipeline: Pipeline, notes: dict, demo: bool) -> None:
        """Start ``pipeline`` (unless offline) and make it the session's."""
        if pipeline.settings.realtime:  # offline (--no-realtime), the caller pulls the file
            try:
                pipeline.start()
            except ParameterError as exc:  # the device refused; nothing was left running
                raise SourceUnavailable(str(exc)) from None
        self._record = None  # a recording is of one source: a later source is not recorded
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.on_demo = demo
        if self.measurement is not None:
            self.measurement.set_input(pipeline.source.description)
        self._report_fit(notes)
        self._report_short_file(pipeline.source, pipeline.settings)

    def stop(self) -> None:
        """Stop the source, let the worker finish, close the recording. Idempotent."""
        with self._lock:
            if self.pipeline is not None:
                self.pipeline.stop()
            if self.measurement is not None:
                self.measurement.stop()  # its thread; the log stays for the exports

    def close(self, recorder_timeout: float = 30.0) -> None:
        """:meth:`stop`, wait for the recording's tail to reach the disk (at most
        ``recorder_timeout`` seconds), then close the classifier this session opened."""
        self.stop()
        if self.pipeline is not None and not self.pipeline.recorder.join(recorder_timeout):
            self.problems.report("recording", f"the recording's writer did not finish within "
                                 f"{recorder_timeout:g} s", "error")
        if self.classifier is not None:
            getattr(self.classifier.model, "cancel", lambda: None)()  # a load never started
            self.classifier.close()
        if self.measurement is not None:
            self.measurement.close()

    # -- the classifier ------------------------------------------------------------------------
    def open_classifier(self, defer: bool = False):
        """Open the classifier the settings ask for (before :meth:`start`) and feed it;
        ``defer``: the packaged model loads when ``classifier.model.start()`` is called
        (:func:`monitor.classifier.open_classifier`; a failure is reported by :meth:`poll`).

        Returns it, or None when it is off or unavailable (then the problem ``'classifier'``
        says why). A saved model, labels file or watch list that no longer works is dropped,
        with a problem saying so; the same from the command line raises ParameterError.
        """
        if not self.settings.classifier:
            return None
        from monitor.classifier import open_classifier

        try:
            classifier, problem = open_classifier(self.settings, defer=defer)
        except ParameterError as exc:
            saved = {"model", "labels", "watch"} & self._saved.keys()
            if not saved:
                raise
            for name in saved:
                del self._saved[name]
            self.settings, _ = fit_settings(self.choices, strict=self._given)
            self.problems.report("saved:classifier", f"saved {', '.join(sorted(saved))} dropped "
                                 f"({exc}); --reset-settings forgets the saved settings", "warning")
            classifier, problem = open_classifier(self.settings, defer=defer)
        if problem:
            self.problems.report("classifier", problem, "warning")
        if classifier is not None:
            self.classifier = classifier
            self.consumers.append(classifier)
        return classifier

    def _deferred_model_failed(self) -> None:
        """A model loaded after start-up (``open_classifier(defer=True)``) that failed: its
        problem is reported as an unavailable model always was, and the classifier stops."""
        problem = getattr(self.classifier.model, "problem", None)
        if problem and self.classifier in self.consumers:
            self.consumers.remove(self.classifier)
            self.classifier.close()
            self.classifier.error = problem  # its view shows it
            self.problems.report("classifier", problem, "warning")

    # -- the measurements ----------------------------------------------------------------------
    def _check_calibration(self) -> None:
        """A saved calibration file that no longer reads is dropped, with a problem saying so;
        the command line's raises ParameterError."""
        if self.settings.calibration is None or self.measurement is not None:
            return  # none, or open_measurement() checked it
        from monitor.calibration import load_calibration

        try:
            load_calibration(self.settings.calibration)
        except ParameterError as exc:
            self._drop_saved_calibration(exc)

    def _drop_saved_calibration(self, exc: ParameterError) -> None:
        """The one rule for a calibration file that does not read: from the command line (or
        not saved) it is refused (``exc`` raised); saved, it is dropped with a warning."""
        if "calibration" in self._given or "calibration" not in self._saved:
            raise exc
        del self._saved["calibration"]
        self.settings, _ = fit_settings(self.choices, strict=self._given)
        self.problems.report("saved:calibration", f"saved calibration dropped ({exc}); "
                             f"--reset-settings forgets the saved settings", "warning")

    def open_measurement(self):
        """Measure the analysed audio (``monitor.measurement_feed``), from now on.

        Returns the :class:`~monitor.measurement_feed.MeasurementFeed`. A saved calibration file
        that no longer reads is dropped with a problem saying so; the same from the command line
        raises ParameterError.
        """
        from monitor.measurement_feed import MeasurementFeed

        if self.measurement is not None:
            return self.measurement
        threaded = self.settings.realtime  # offline, the runner polls it after each block
        try:
            feed = MeasurementFeed(self.settings, threaded)
        except ParameterError as exc:
            self._drop_saved_calibration(exc)
            feed = MeasurementFeed(self.settings, threaded)
        if self.pipeline is not None:  # opened after start: the running worker feeds it too
            feed.set_input(self.pipeline.source.description)
            self.pipeline.worker.consumers.append(feed)
        self.measurement = feed
        self.consumers.append(feed)
        return feed

    # -- changes -------------------------------------------------------------------------------
    def change(self, changes: dict) -> bool:
        """Apply the user's ``changes`` (Settings fields): analysis and display live, source
        fields by opening the new source (the old one stays if the new one fails).

        Returns True when applied; otherwise the reason is the problem ``'change'`` and nothing
        changed.
        """
        with self._lock:
            choices = {**self.choices, **changes}
            if "input" in changes or "generator" in changes or "device" in changes:
                # One source at a time: a file replaces a generator and the other way round.
                for k in SOURCE_IDENTITY:
                    if k not in changes and choices.get(k) is not None:
                        choices[k] = None
            try:
                if self.measurement is not None:  # a bad calibration file refuses the change
                    self.measurement.configure(fit_settings(choices, strict=changes)[0])
                if changes.keys() & set(REOPEN_FIELDS) or self.pipeline is None:
                    self._change_source(choices, changes)
                else:
                    source = self.pipeline.source
                    settings, notes = fit_settings(choices, source.samplerate, source.channels,
                                                   strict=changes)
                    self.pipeline.reconfigure(settings)
                    self.settings = settings
                    self._report_fit(notes)
            except ParameterError as exc:
                self.problems.report("change", str(exc), "error")
                return False
            self._remember(changes, choices)
            self.problems.clear("change")
            return True

    def _remember(self, changes: dict, choices: dict) -> None:
        for k in changes:
            self._given.pop(k, None)
        cleared = {k: choices[k] for k in SOURCE_IDENTITY if k in choices and k not in changes}
        self._saved.update(changes)
        self._saved.update(cleared)

    def _change_source(self, choices: dict, changes: dict) -> None:
        # The new source is opened before the old one stops: a missing file or a bad value
        # leaves the old one running untouched. Only starting the new one needs the old one
        # stopped (the same device cannot be opened twice).
        new, notes = self._prepare(choices, strict=changes)
        old, was_demo = self.pipeline, self.on_demo
        if old is not None:
            old.stop()
            self.pipeline = None
        try:
            self._activate(new, notes, demo=False)
        except ParameterError:
            if old is not None:  # the old source comes back
                try:
                    self._launch(self.choices, strict=(), demo=was_demo)
                except ParameterError as exc:
                    self.pipeline = old
                    self.problems.report("input", f"the previous input did not reopen ({exc})",
                                         "error")
            raise
        self.problems.clear("input", "source")
        recorder = old.recorder if old is not None else None
        if recorder is not None and recorder.path is not None:
            self.problems.report("recording", f"the recording {recorder.path} ended when the "
                                 f"source changed ({recorder.frames} frames)", "info")

    def retry_input(self, device: Any = "same") -> bool:
        """Reopen the input after it was lost: the same device under the running worker
        (history kept), or ``device`` (None: the default input) as a new source.

        Returns True when audio flows again; otherwise the reason is the problem ``'input'``.
        """
        with self._lock:
            pipeline = self.pipeline
            if pipeline is None:
                return False
            same = device == "same" or (device == self.settings.device
                                        and pipeline.source.kind == "microphone")
            if same and pipeline.source.kind == "microphone":
                try:
                    pipeline.restart_source()
                except ParameterError as exc:
                    self.problems.report("input", f"input lost ({exc})", "error")
                    return False
                self.problems.clear("input")
                return True
            if same:
                device = self.settings.device
            try:
                self._rescan()
            except OSError as exc:
                self.problems.report("input", f"cannot rescan devices: {exc}", "error")
                return False
            return self.change({"device": device, "input": None, "generator": None})

    def rescan_devices(self) -> bool:
        """Read the device list again while the input is lost (a rescan stops every stream, so
        it is refused while audio flows). Returns True when the list was read."""
        with self._lock:
            if self.pipeline is not None and not self.pipeline.input_lost:
                return False
            if self.pipeline is not None and self.pipeline.source.kind == "microphone":
                self.pipeline.source.stop()  # the lost stream; a rescan would end it anyway
            try:
                self._rescan()
            except OSError as exc:
                self.problems.report("input", f"cannot rescan devices: {exc}", "error")
                return False
            return True

    @staticmethod
    def input_devices() -> list[dict]:
        """The input devices PortAudio lists now (none without a working audio system)."""
        from monitor.sources.microphone import list_devices, portaudio_problem

        if portaudio_problem():
            return []
        try:
            return list_devices()
        except Exception:  # noqa: BLE001 - PortAudio failing to list: just no devices to offer
            return []

    @staticmethod
    def _rescan() -> None:
        from monitor.sources.microphone import rescan_devices

        rescan_devices()

    # -- upkeep (the presenter's timer or loop calls it) ---------------------------------------
    def poll(self, now: Optional[float] = None) -> None:
        """Notice what changed since the last call: a lost input (reopened every
        :data:`RETRY_SECONDS` when ``auto_retry``), a failed file, the end of a file, a failed
        recording, an analysis thread that died (restarted)."""
        with self._lock:
            pipeline = self.pipeline
            if pipeline is None:
                return
            now = time.monotonic() if now is None else now
            source = pipeline.source
            if pipeline.input_lost:
                if source.kind == "microphone":
                    self.problems.report("input", _lost_text(source.error), "error")
                    if self.auto_retry and now >= self._next_retry:
                        self._next_retry = now + RETRY_SECONDS
                        if self.retry_input():
                            self.problems.report("input", f"input back: {source.description}",
                                                 "info")
                else:
                    self.problems.report("input", source.error, "error")
            elif source.finished:
                self.problems.report("input", "end of file", "info")
            if pipeline.recorder.error:
                self.problems.report("recording", pipeline.recorder.error, "error")
            if self.measurement is not None:
                problem = self.measurement.problem
                if problem:
                    self.problems.report("measurement", problem, "warning")
                else:
                    self.problems.clear("measurement")
            failure = pipeline.worker.restart_if_dead()
            if failure:
                self.problems.report("worker", f"the analysis stopped ({failure}) and was "
                                     f"restarted", "error")
            if self.classifier is not None:
                self._deferred_model_failed()
                failure = self.classifier.restart_if_dead()
                if failure:
                    self.problems.report("classifier", f"the classifier stopped ({failure}) "
                                         f"and was restarted", "error")
                events_csv = self.classifier.events_csv
                if events_csv is not None and events_csv.error:
                    self.problems.report("events_csv", events_csv.error, "error")
            if self.clips is not None:
                self.clips.poll(self)

    def save_preroll(self, directory: Optional[str] = None,
                     continue_recording: bool = False) -> Optional[str]:
        """Save the pre-roll (the last ``settings.preroll`` seconds captured before this call)
        to a new file ``preroll-YYYYmmdd-HHMMSS.wav`` in ``directory`` (default: the clips'
        folder, else the current one), and with ``continue_recording`` go on recording into
        it. Returns its path, or None with the problem ``'preroll'`` saying why not; the file
        is complete within moments (the recorder's thread writes it)."""
        with self._lock:
            if directory is None:
                directory = self.clips.directory if self.clips is not None else os.getcwd()
            if self.pipeline is None:
                self.problems.report("preroll", "cannot save the last seconds: nothing runs",
                                     "error")
                return None
            recorder = self.pipeline.recorder
            try:
                path = recorder.save_preroll(directory, continue_recording=continue_recording)
            except ParameterError as exc:
                self.problems.report("preroll", f"cannot save the last seconds: {exc}", "error")
                return None
            held = min(recorder.ring.written / recorder.samplerate, recorder.preroll_seconds)
            then = "; recording on into it" if continue_recording else ""
            self.problems.report("preroll", f"saved the last {round(held, 1):g} s to {path}"
                                 f"{then}", "info")
            return path

    def set_recording(self, on: bool, directory: Optional[str] = None) -> Optional[str]:
        """Start recording the input as captured to a new ``recording-YYYYmmdd-HHMMSS.wav`` in
        ``directory`` (default: the clips' folder, else the current one), or stop it. Returns
        the file's path, or None with the problem ``'recording'`` saying why not."""
        with self._lock:
            if self.pipeline is None:
                return None
            recorder = self.pipeline.recorder
            if not on:
                path = recorder.stop_recording()
                if path is not None:
                    self.problems.report("recording", f"recording closed: {path}", "info")
                return path
            if directory is None:
                directory = self.clips.directory if self.clips is not None else os.getcwd()
            path = os.path.join(directory, time.strftime("recording-%Y%m%d-%H%M%S.wav"))
            try:
                recorder.start_recording(path)
            except ParameterError as exc:
                self.problems.report("recording", f"cannot record: {exc}", "error")
                return None
            self.problems.report("recording", f"recording to {path}", "info")
            return path

    @property
    def input_lost(self) -> bool:
        return self.pipeline is not None and self.pipeline.input_lost

    def status(self) -> Status:
        """The pipeline's status, with the session's most important problem."""
        status = self.pipeline.status()
        if self.classifier is not None:
            status.classifier_dropped_seconds = self.classifier.dropped_seconds
            status.classifier_restarts = self.classifier.restarts
        top = self.problems.top()
        status.problem = top.text if top is not None else None
        status.problems = [p.as_dict() for p in self.problems.items()]
        return status

    # -- reports ---------------------------------------------------------------------------------
    def _report_fit(self, notes: dict) -> None:
        self.problems.clear(*(f"fit:{k}" for k in ("hop", "range", "n_mels", "channel")
                              if k not in notes))
        for key, text in notes.items():
            self.problems.report(f"fit:{key}", text, "info")

    def _report_short_file(self, source: Source, settings: Settings) -> None:
        if isinstance(source, FileSource) and source.frames < settings.n_fft:
            self.problems.report("source", f"{source.description} is shorter than one frame "
                                 f"({source.frames} < n_fft {settings.n_fft} samples): no "
                                 f"spectrogram columns", "warning")
        else:
            self.problems.clear("source")


def _lost_text(error: Optional[str]) -> str:
    error = error or "input lost"
    return error if error.startswith("input lost") else f"input lost ({error})"

