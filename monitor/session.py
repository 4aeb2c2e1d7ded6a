"""The session: one controller, without Qt, between the user's choices and the running audio.

The window, the headless runner and the network publisher drive a :class:`Session` and present
what it says; none of them opens a source, starts a pipeline or decides a fallback itself.
A session alone

- merges the saved settings with the command line (the command line wins; naming a source on
  it drops the saved source),
- applies the rules that need the source's sample rate (:func:`fit_settings`: hop follows
  n_fft unless chosen, mel bands lowered to leave none empty, a frequency range beyond Nyquist
  reset) -- written once, for the start and for every later change,
- runs the ordered fallbacks when the input cannot be opened (:meth:`Session.start`),
- changes the source, reconfigures, retries a lost input and rescans the devices,
- starts and stops the pipeline (the only place that does), and
- keeps the one list of :class:`Problem` s that the status bar, the banners and the headless
  JSON all read.

A value is *strict* when the user gave it in the current request (on the command line at start,
or in the change being applied): a strict value that does not fit is refused with a
:class:`~monitor.errors.ParameterError`. Any other value that does not fit is adapted for this
source and the adaptation is reported; the user's choice is remembered, so it returns when it
fits again (mel bands lowered at n_fft 256 come back at 2048).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from monitor.dsp.mel import empty_filters
from monitor.errors import ParameterError
from monitor.pipeline import Pipeline, Status
from monitor.resources import resource_path
from monitor.settings import FIELDS, SOURCE_FIELDS, Settings, field_spec, hop_min
from monitor.sources import FileSource, Source, open_source

__all__ = ["Session", "Problem", "Problems", "SourceUnavailable", "fit_settings", "clean_saved", "merge_choices",
           "DEMO_SOURCE_NOTE"]

RETRY_SECONDS = 2.0  # a lost microphone is reopened this often
SEVERITIES = ("info", "warning", "error")
DEMO_SOURCE_NOTE = "showing the demo signal"
# Fields that name the source: giving any of them on the command line replaces the saved source.
SOURCE_IDENTITY = ("device", "input", "generator")
# Source fields that need the source reopened (the analysed channel is picked by the worker).
REOPEN_FIELDS = tuple(k for k in SOURCE_FIELDS if k != "channel")


class SourceUnavailable(ParameterError):
    """The input could not be opened or started (a fallback may help)."""


# -- problems --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """Something the user should know.

    Attributes
    ----------
    key : str
        What it is about ('input', 'recording', 'classifier', 'worker', 'change', 'fit:n_mels',
        ...); a new problem with the same key replaces the old one.
    text : str
        One line.
    severity : {'info', 'warning', 'error'}
        'error': something the user asked for does not work; 'warning': it works differently
        than asked (a fallback); 'info': an adaptation or an event worth a line.
    time : float
        Wall-clock time it was reported (``time.time()``).
    """

    key: str
    text: str
    severity: str
    time: float

    def as_dict(self) -> dict:
        return {"key": self.key, "text": self.text, "severity": self.severity,
                "time": round(self.time, 3)}


class Problems:
    """The session's one list of problems, newest per key.

    Written by the session (any thread that drives it) and read by the presenters; a reader gets
    a snapshot. :attr:`version` changes with every change, so presenters redraw only then.
    """

    def __init__(self) -> None:
        self._items: dict[str, Problem] = {}
        self._lock = threading.Lock()
        self.version = 0

    def report(self, key: str, text: str, severity: str = "warning") -> None:
        """Add or replace the problem ``key`` (no change if the same text is already there)."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        with self._lock:
            old = self._items.get(key)
            if old is not None and old.text == text and old.severity == severity:
                return
            self._items[key] = Problem(key, text, severity, time.time())
            self.version += 1

    def clear(self, *keys: str, prefix: Optional[str] = None) -> None:
        """Remove the problems ``keys`` (and every key starting with ``prefix``)."""
        with self._lock:
            doomed = [k for k in self._items if k in keys or (prefix and k.startswith(prefix))]
            for k in doomed:
                del self._items[k]
            if doomed:
                self.version += 1

    def get(self, key: str) -> Optional[Problem]:
        return self._items.get(key)

    def items(self) -> list[Problem]:
        """All problems, most severe first, then newest first."""
        with self._lock:
            items = list(self._items.values())
        return sorted(items, key=lambda p: (-SEVERITIES.index(p.severity), -p.time))

    def top(self, min_severity: str = "warning") -> Optional[Problem]:
        """The most severe, newest problem of at least ``min_severity``, or None."""
        floor = SEVERITIES.index(min_severity)
        for p in self.items():
            if SEVERITIES.index(p.severity) >= floor:
                return p
        return None

    def __len__(self) -> int:
        return len(self._items)


# -- the rules -------------------------------------------------------------------------------
def usable_n_mels(settings: Settings, samplerate: float) -> Optional[int]:
    """The largest n_mels up to ``settings.n_mels`` whose mel filters all catch an FFT bin at
    ``samplerate`` (Hz), or None when even one band would be empty."""
    fmax = settings.fmax_for(samplerate)

    def ok(n: int) -> bool:
        return empty_filters(samplerate, settings.n_fft, n, settings.fmin, fmax, settings.htk) == 0

    if ok(settings.n_mels):
        return settings.n_mels
    if not ok(1):
        return None
    lo, hi = 1, settings.n_mels  # ok(lo), not ok(hi): bisect the largest usable count
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def fit_settings(choices: dict, samplerate: Optional[float] = None,
                 channels: Optional[int] = None, strict: Iterable[str] = ()
                 ) -> tuple[Settings, dict[str, str]]:
    """The settings in force for the user's ``choices`` on a source of ``samplerate`` Hz and
    ``channels`` channels. The one place of the rules that depend on the source.

    - **hop** follows n_fft (n_fft/4, 75 % overlap) unless the user chose one; a chosen hop
      that no longer fits n_fft is replaced by n_fft/4 for as long as it does not fit.
    - **frequency range**: fmin/fmax beyond the source's Nyquist frequency go back to
      0 Hz … Nyquist.
    - **mel bands** are lowered until no mel filter is empty.
    - **channel**: a channel beyond the source's goes back to the mono mix.

    Parameters
    ----------
    choices : dict
        Settings fields the user chose (saved, on the command line, in the window); the
        others take their defaults.
    samplerate : float, optional
        Hz, of the open source; None checks only what does not depend on it.
    channels : int, optional
        Channels of the open source.
    strict : iterable of str
        Fields given in this very request: refused instead of adapted.

    Returns
    -------
    settings : Settings
    notes : dict
        ``{rule: one line}`` for each adaptation made (``'hop'``, ``'range'``, ``'n_mels'``,
        ``'channel'``).

    Raises
    ------
    ParameterError
        A strict value that does not fit, or a value no rule can adapt.
    """
    strict = frozenset(strict)
    values = dict(choices)
    notes: dict[str, str] = {}
    n_fft = values.get("n_fft", field_spec("n_fft").default)
    auto_hop = max(1, n_fft // 4) if isinstance(n_fft, int) else None
    hop = values.get("hop")
    if hop is None:
        values["hop"] = auto_hop
    elif ("hop" not in strict and isinstance(n_fft, int) and isinstance(hop, int)
          and not hop_min(n_fft) <= hop <= n_fft):
        values["hop"] = auto_hop
        notes["hop"] = f"hop {hop} does not fit n_fft {n_fft}: using {auto_hop} (n_fft/4)"
    settings = Settings(**values).validate()
    if samplerate is None:
        return settings, notes

    nyquist = samplerate / 2
    fmax = settings.fmax_for(samplerate)
    if fmax > nyquist + 1e-9 or settings.fmin >= fmax:
        chosen = {k: getattr(settings, k) for k in ("fmin", "fmax")
                  if k in choices and choices[k] != field_spec(k).default}
        if strict & chosen.keys() or not chosen:
            if settings.fmax is not None and settings.fmax > nyquist + 1e-9:
                raise ParameterError(f"fmax {settings.fmax:g} Hz is above the Nyquist frequency "
                                     f"{nyquist:g} Hz of {samplerate:g} Hz audio")
            raise ParameterError(f"fmin ({settings.fmin:g} Hz) must be below fmax ({fmax:g} Hz) "
                                 f"for {samplerate:g} Hz audio")
        settings = dataclasses.replace(settings, fmin=0.0, fmax=None)
        what = " and ".join(f"{k} {v:g} Hz" for k, v in chosen.items())
        notes["range"] = (f"{what} {'does' if len(chosen) == 1 else 'do'} not fit {samplerate:g} Hz "
                          f"audio: frequency range reset to 0 … {nyquist:g} Hz")

    usable = usable_n_mels(settings, samplerate)
    if usable != settings.n_mels:
        if "n_mels" in strict or usable is None:
            fmax = settings.fmax_for(samplerate)
            raise ParameterError(
                f"n_mels {settings.n_mels} is too many for n_fft {settings.n_fft} between "
                f"{settings.fmin:g} and {fmax:g} Hz: mel filters would be empty (use fewer "
                f"mels or a larger n_fft)")
        notes["n_mels"] = (f"n_mels lowered from {settings.n_mels} to {usable}: more would leave "
                           f"mel filters empty at n_fft {settings.n_fft} (back when they fit)")
        settings = dataclasses.replace(settings, n_mels=usable)

    if channels is not None and settings.channel is not None and settings.channel > channels:
        if "channel" in strict:
            raise ParameterError(f"channel {settings.channel} is beyond the {channels} "
                                 f"channel(s) of the input")
        notes["channel"] = (f"channel {settings.channel} is beyond the input's {channels}: "
                            f"analysing the mono mix")
        settings = dataclasses.replace(settings, channel=None)
    return settings, notes


def clean_saved(saved: dict) -> tuple[dict, list[str]]:
    """The saved fields that are valid, and one line for each one dropped.

    A bad saved value (a threshold of 5, an fps of 1e308, a field that no longer exists) is
    dropped alone: every other saved preference is kept.
    """
    kept: dict = {}
    dropped: list[str] = []
    names = {f.name for f in FIELDS if f.persist}
    for name, value in saved.items():
        if name not in names:
            continue  # an old or a run-only field: not a preference
        try:
            field_spec(name).check(value)
        except ParameterError as exc:
            dropped.append(f"saved {name} dropped ({exc})")
            continue
        kept[name] = value
    # Rules between fields (fmin < fmax, floor < ceiling, ...): drop one saved value at a time.
    while kept:
        try:
            fit_settings(kept)
            break
        except ParameterError as exc:
            for name in list(kept):
                trial = {k: v for k, v in kept.items() if k != name}
                try:
                    fit_settings(trial)
                except ParameterError:
                    continue
                dropped.append(f"saved {name} dropped ({exc})")
                kept = trial
                break
            else:
                dropped.append(f"saved settings dropped ({exc})")
                kept = {}
    return kept, dropped


def merge_choices(saved: dict, given: dict) -> dict:
    """The command line's fields over the saved ones. Naming a source on the command line
    (device, file or generator) drops every saved source field: the saved device's rate or
    channel must not apply to another input."""
    if any(k in given for k in SOURCE_IDENTITY):
        saved = {k: v for k, v in saved.items() if k not in SOURCE_FIELDS}
    return {**saved, **given}


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
        saved, dropped = clean_saved(dict(saved or {}))
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
            self.classifier.close()
        if self.measurement is not None:
            self.measurement.close()

    # -- the classifier ------------------------------------------------------------------------
    def open_classifier(self):
        """Open the classifier the settings ask for (before :meth:`start`) and feed it.

        Returns it, or None when it is off or unavailable (then the problem ``'classifier'``
        says why). A saved model, labels file or watch list that no longer works is dropped,
        with a problem saying so; the same from the command line raises ParameterError.
        """
        if not self.settings.classifier:
            return None
        from monitor.classifier import open_classifier

        try:
            classifier, problem = open_classifier(self.settings)
        except ParameterError as exc:
            saved = {"model", "labels", "watch"} & self._saved.keys()
            if not saved:
                raise
            for name in saved:
                del self._saved[name]
            self.settings, _ = fit_settings(self.choices, strict=self._given)
            self.problems.report("saved:classifier", f"saved {', '.join(sorted(saved))} dropped "
                                 f"({exc}); --reset-settings forgets the saved settings", "warning")
            classifier, problem = open_classifier(self.settings)
        if problem:
            self.problems.report("classifier", problem, "warning")
        if classifier is not None:
            self.classifier = classifier
            self.consumers.append(classifier)
        return classifier

    # -- the measurements ----------------------------------------------------------------------
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
            if "calibration" in self._given or "calibration" not in self._saved:
                raise
            del self._saved["calibration"]
            self.settings, _ = fit_settings(self.choices, strict=self._given)
            self.problems.report("saved:calibration", f"saved calibration dropped ({exc}); "
                                 f"--reset-settings forgets the saved settings", "warning")
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
                failure = self.classifier.restart_if_dead()
                if failure:
                    self.problems.report("classifier", f"the classifier stopped ({failure}) "
                                         f"and was restarted", "error")

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

