"""The main window: views, controls and status around one Pipeline, driven by one display timer;
and :func:`run_gui`, the command line's way in."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import signal
import sys
import time
from typing import Any, Optional

from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.gui.controls import VIEWS, ControlPanel, ViewBar
from monitor.gui.meters import LevelMeters
from monitor.gui.scope import ScopeView
from monitor.gui.settings_store import SOURCE_FIELDS, SettingsStore, merge_settings
from monitor.gui.spectrum import SpectrumView
from monitor.gui.status import FpsMeter, InputLostBanner, NoticeBanner, format_status
from monitor.gui.theme import COLORS, apply_theme
from monitor.gui.waterfall import Waterfall
from monitor.pipeline import Pipeline, open_with_fallback
from monitor.settings import ParameterError, Settings

__all__ = ["MainWindow", "run_gui"]

PROG = "spectromon"
STATUS_INTERVAL = 0.25  # s: the status bar changes at 4 Hz, not at the display rate
PROBLEM_WIDTH_PX = 300  # the status bar's problem text is elided to this (full text: tooltip)
SOURCE_WIDTH_PX = 220
SECONDARY_DIVIDER = 2  # spectrum, scope and meters are redrawn every this many display frames


class MainWindow(QtWidgets.QMainWindow):
    """The monitor's window around a running :class:`~monitor.pipeline.Pipeline`.

    Parameters
    ----------
    settings : Settings
    pipeline : Pipeline
        Started or not; the window starts it and stops it when it closes.
    classifier : object, optional
        The classifier fed by the pipeline (shown by ``monitor.gui.classifier_view``).
    store : SettingsStore, optional
        Where settings are saved on change and on close; None: not saved.
    given : dict, optional
        Fields the command line gave for this run only (not saved unless changed here).
    classifier_problem : str, optional
        Why there is no classifier, shown in its panel.
    parent : QWidget, optional
    notice : str, optional
        What the user should know from the start (saved settings that were reset), shown in
        the notice banner with the pipeline's own problem.

    Attributes
    ----------
    waterfall : Waterfall
    spectrum : SpectrumView
    scope : ScopeView
    meters : LevelMeters
    controls : ControlPanel
    view_bar : ViewBar
    banner : InputLostBanner
    frames_seen : int
        Frames drained from the worker (keeps counting while paused).
    """

    def __init__(self, settings: Settings, pipeline: Pipeline, classifier: Any = None,
                 store: Optional[SettingsStore] = None, given: Optional[dict] = None,
                 classifier_problem: Optional[str] = None,
                 parent: Optional[QtWidgets.QWidget] = None,
                 notice: Optional[str] = None) -> None:
        super().__init__(parent)
        apply_theme(QtWidgets.QApplication.instance())
        self.settings = settings
        self.pipeline = pipeline
        self.classifier = classifier
        self.store = store
        self.given = dict(given or {})
        self.paused = False
        self.view = "db"
        self.frames_seen = 0
        self.message: Optional[str] = None  # last error shown in the status bar
        self._fps = FpsMeter()
        self.run_stats = RunStats()  # for SPECTROMON_STATS_FILE (the benchmarks)
        self._last_status = 0.0
        self._closed = False
        self._peak_acc = -math.inf
        self._rms_acc = -math.inf
        self._ticks = 0
        self._problem_shown: Optional[str] = ""
        self._source_error: Optional[str] = None  # the error of a file/generator last noticed
        self._spectrum_due = False
        self.setWindowTitle("spectromon — real-time spectrogram monitor")

        # -- views ----------------------------------------------------------------------------
        params = pipeline.worker.params
        self.waterfall = Waterfall(settings, params)
        self.spectrum = SpectrumView(settings, self.waterfall.rows)
        self.scope = ScopeView(settings)
        self.meters = LevelMeters(settings)
        self.view_bar = ViewBar()
        self.banner = InputLostBanner()
        self.notice = NoticeBanner()
        self.waterfall.cursor_moved.connect(self.view_bar.cursor_label.setText)
        self.view_bar.view_chosen.connect(self.set_view)
        self.view_bar.pause_toggled.connect(self.set_paused)
        self.banner.retry.connect(self.retry_input)
        self.banner.rescan.connect(self.rescan_devices)

        self.classifier_view = self._make_classifier_view(classifier, classifier_problem)
        self.activity_strip = None
        if self.classifier_view is not None and hasattr(self.classifier_view, "activity_strip"):
            try:
                self.activity_strip = self.classifier_view.activity_strip()
            except Exception:  # noqa: BLE001 - a missing strip must not take the window down
                self.activity_strip = None

        upper = QtWidgets.QWidget()
        ul = QtWidgets.QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.setSpacing(0)
        ul.addWidget(self.waterfall, 1)
        if self.activity_strip is not None:
            self.activity_strip.setMaximumHeight(72)
            row = QtWidgets.QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(0)
            row.addWidget(self.activity_strip, 1)
            # The waterfall's colour bar sits right of its plot: leave the same gap so the
            # strip's time axis ends where the waterfall's does.
            row.addSpacing(self.waterfall.color_bar.width())
            ul.addLayout(row)
            # Same axis width on both plots, so that their time axes line up.
            for plot in (self.waterfall.plot, self.activity_strip):
                if hasattr(plot, "getAxis"):
                    plot.getAxis("left").setWidth(64)
        self._upper = upper
        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        lower.addWidget(self.spectrum)
        lower.addWidget(self.scope)
        lower.setSizes([640, 360])
        self._lower = lower
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 200])
        self._split = split
        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(4)
        body.addWidget(split, 1)
        body.addWidget(self.meters)
        central = QtWidgets.QWidget()
        cl = QtWidgets.QVBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 0)
        cl.setSpacing(4)
        cl.addWidget(self.banner)
        cl.addWidget(self.notice)
        cl.addWidget(self.view_bar)
        cl.addLayout(body, 1)
        self.setCentralWidget(central)

        # -- controls dock (and the classifier under it) ---------------------------------------
        self.controls = ControlPanel(settings)
        self.controls.set_devices(_input_devices())
        self.controls.changed.connect(self.change_settings)
        self.controls.source_changed.connect(self.change_source)
        self.controls.value_mode_changed.connect(self.set_value_mode)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.controls)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        dock = QtWidgets.QDockWidget("Controls")
        dock.setObjectName("controlsDock")
        dock.setWidget(scroll)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        dock.setMinimumWidth(250)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.controls_dock = dock
        cdock = QtWidgets.QDockWidget("Sound events")
        cdock.setObjectName("classifierDock")
        cdock.setWidget(self.classifier_panel)
        cdock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                          | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, cdock)
        self.classifier_dock = cdock
        small = self.classifier_view is None
        self.resizeDocks([dock, cdock], [640, 90] if small else [430, 330],
                         QtCore.Qt.Orientation.Vertical)
        # As narrow as the panels allow: the waterfall is what the window is for.
        self.resizeDocks([dock], [300], QtCore.Qt.Orientation.Horizontal)

        # -- status bar -----------------------------------------------------------------------
        self.status_fields = [QtWidgets.QLabel() for _ in range(6)]
        for label in self.status_fields:
            self.statusBar().addWidget(label)
        self.problem_label = QtWidgets.QLabel()
        self.problem_label.setStyleSheet(f"color: {COLORS['accent']};")
        self.problem_label.setMaximumWidth(PROBLEM_WIDTH_PX)
        self.statusBar().addPermanentWidget(self.problem_label)
        self.status_fields[0].setMaximumWidth(SOURCE_WIDTH_PX)

        # -- shortcuts and timer --------------------------------------------------------------
        QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Space), self,
                        activated=self.view_bar.pause_button.toggle)
        QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_F11), self,
                        activated=self.toggle_full_screen)
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.setInterval(max(1, int(round(1000.0 / settings.fps))))

        if store is not None:
            self.set_value_mode(str(store.value("values", "db")), save=False)
            view = store.value("view", None)
            if view in VIEWS and VIEWS[view]["layout"] != "all":
                self._apply_layout(VIEWS[view]["layout"])
        self._sync_view()
        self.pipeline.start()
        self._update_title()
        self._show_problem(self.pipeline.problem)
        self.notice.show_notice("; ".join(t for t in (self.pipeline.problem, notice) if t))
        self.timer.start()

    # -- the display tick -----------------------------------------------------------------------
    def tick(self) -> None:
        """Drain the worker's batches and draw what changed (runs at settings.fps)."""
        now = time.monotonic()
        worker = self.pipeline.worker
        batches = worker.drain()
        for batch in batches:
            self.waterfall.push(batch)
            self.frames_seen += len(batch)
            self._peak_acc = max(self._peak_acc, float(batch.peak_dbfs.max()))
            self._rms_acc = max(self._rms_acc, float(batch.rms_dbfs.max()))
        self._ticks += 1
        if not self.paused:
            self.waterfall.draw()
            self._spectrum_due = self._spectrum_due or bool(batches)
            # The waterfall scrolls at the full display rate; the spectrum, scope and meters
            # change at half of it, which the eye does not tell apart and halves their cost.
            if self._ticks % SECONDARY_DIVIDER == 0:
                history = self.waterfall.history
                if self._spectrum_due and history.latest is not None:
                    self.spectrum.set_rows(self.waterfall.rows)
                    self.spectrum.update_frame(history.latest, now, history.take_recent_max())
                    self._spectrum_due = False
                self.scope.update_scope(worker.scope, self.pipeline.samplerate)
                gain = worker.gain_db if self.settings.normalize != "none" else None
                self.meters.update_levels(self._peak_acc, self._rms_acc, now, worker.clipped,
                                          gain)
                self._peak_acc = self._rms_acc = -math.inf
            if self.classifier_view is not None and hasattr(self.classifier_view, "refresh"):
                t = self.waterfall.display_time
                self.classifier_view.refresh(worker.stream_time if t is None else t)
            self._fps.tick(now)
            self.run_stats.drawn(now, self.waterfall.history.head > 0)
        else:
            # What passed while paused is not held when the display resumes.
            self.waterfall.history.take_recent_max()
        if now - self._last_status >= STATUS_INTERVAL:
            self._last_status = now
            self.update_status()

    def update_status(self) -> None:
        """Refresh the status bar and the input-lost banner (4 times a second)."""
        status = self.pipeline.status()
        fields = format_status(status, self._fps.fps())
        source = self.status_fields[0]
        source.setToolTip(fields[0])
        fields[0] = source.fontMetrics().elidedText(fields[0], QtCore.Qt.TextElideMode.ElideMiddle,
                                                    SOURCE_WIDTH_PX - 12)
        for label, text in zip(self.status_fields, fields):
            if label.text() != text:  # an unchanged label costs no relayout
                label.setText(text)
        source = self.pipeline.source
        problem = self.message or status.problem
        if self.pipeline.input_lost:
            if source.kind == "microphone":
                if not self.banner.isVisible():
                    self.banner.show_problem(status.problem or "input lost", _input_devices())
            else:
                # A file that cannot be read further has no device to choose or retry: no
                # 'input lost' banner, its error where problems are shown.
                problem = source.error
                if source.error != self._source_error:
                    self._source_error = source.error
                    self.notice.show_notice(source.error)
        if self.pipeline.source.finished and not problem:
            problem = "end of file"
        self._show_problem(problem)

    # -- user actions ---------------------------------------------------------------------------
    def change_settings(self, changes: dict) -> bool:
        """Apply analysis/display changes live; on ParameterError show it and revert."""
        if "n_fft" in changes and "hop" not in changes and self.settings.hop > changes["n_fft"]:
            changes = {**changes, "hop": changes["n_fft"] // 4}
        lowered_mels = False
        if "n_mels" not in changes and changes.keys() & {"n_fft", "fmin", "fmax"}:
            # Fewer bins can leave mel filters empty: lower n_mels rather than refuse the
            # n_fft the user asked for on, say, a linear-frequency view.
            try:
                n_mels = dataclasses.replace(self.settings, **changes).usable_n_mels(
                    self.pipeline.samplerate)
            except (TypeError, ValueError):  # unusable values: validation below says why
                n_mels = None
            if n_mels is not None and n_mels != self.settings.n_mels:
                changes = {**changes, "n_mels": n_mels}
                lowered_mels = True
        try:
            new = self.settings.replace(**changes)
            self.pipeline.reconfigure(new)
        except ParameterError as exc:
            self._error(str(exc))
            self.controls.set_settings(self.settings)
            return False
        old_mels = self.settings.n_mels
        self._settings_applied(new)
        if lowered_mels:
            self.notice.show_notice(f"mel bands lowered from {old_mels} to {new.n_mels}: more "
                                    f"would leave mel filters empty at n_fft {new.n_fft}")
        return True

    def change_source(self, changes: dict) -> bool:
        """Open another source (rebuilds the pipeline); on ParameterError keep the old one."""
        try:
            new = self.settings.replace(**changes)
        except ParameterError as exc:
            self._error(str(exc))
            self.controls.set_settings(self.settings)
            return False
        return self._rebuild(new)

    def retry_input(self, device: Any = None) -> bool:
        """After 'input lost': re-read the device list and open ``device`` (None: default)."""
        same = (device == self.settings.device and self.pipeline.source.kind == "microphone"
                and hasattr(self.pipeline, "restart_source"))
        if same:  # the same input: reopen it under the running worker, history kept
            try:
                self.pipeline.restart_source()
            except ParameterError as exc:
                self._error(str(exc))
                self.banner.show_problem(str(exc), _input_devices())
                return False
            self.message = None
            self.banner.hide()
            self.controls.set_devices(_input_devices())
            return True
        self.pipeline.stop()
        try:
            from monitor.sources.microphone import rescan_devices

            rescan_devices()
        except OSError as exc:
            self._error(f"cannot rescan devices: {exc}")
        ok = self._rebuild(dataclasses.replace(self.settings, device=device, input=None,
                                               generator=None), old_running=False)
        if ok:
            self.banner.hide()
            self.controls.set_devices(_input_devices())
        else:
            self.banner.show_problem(self.message or "cannot open the input", _input_devices())
        return ok

    def rescan_devices(self) -> bool:
        """While the input is lost: read the device list again and offer it (a device that
        came back after a failed Retry is listed again). Rescanning stops every stream, so it
        is refused while audio flows. Returns True when the list was read."""
        if not self.pipeline.input_lost:
            return False
        source = self.pipeline.source
        if source.kind == "microphone":
            source.stop()  # the lost stream; a rescan would end it anyway
        try:
            from monitor.sources.microphone import rescan_devices

            rescan_devices()
        except OSError as exc:
            self._error(f"cannot rescan devices: {exc}")
            return False
        devices = _input_devices()
        self.banner.set_devices(devices)
        self.controls.set_devices(devices)
        return True

    def set_paused(self, paused: bool) -> None:
        """Freeze the display; audio keeps being analysed and the history keeps filling."""
        self.paused = bool(paused)
        self.waterfall.set_paused(self.paused)
        if self.view_bar.pause_button.isChecked() != self.paused:
            self.view_bar.pause_button.setChecked(self.paused)

    def set_view(self, key: str) -> None:
        """One of the article's representations (:data:`monitor.gui.controls.VIEWS`)."""
        view = VIEWS[key]
        if view["changes"]:
            self.change_settings(dict(view["changes"]))
        if view["values"]:
            self.set_value_mode(view["values"])
        self._apply_layout(view["layout"])
        self.view = key
        self._sync_view()
        if self.store is not None:
            self.store.set_value("view", key)

    def set_value_mode(self, mode: str, save: bool = True) -> None:
        """Colour the waterfall by 'db' or by linear 'power'."""
        if mode not in ("db", "power"):
            return
        self.waterfall.set_value_mode(mode)
        self.controls.set_value_mode(mode)
        self._sync_view()
        if save and self.store is not None:
            self.store.set_value("values", mode)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # -- internals ------------------------------------------------------------------------------
    def _settings_applied(self, new: Settings) -> None:
        self.settings = new
        if self.message is not None and self.notice.text == self.message:
            self.notice.show_notice(None)
        self.message = None
        self._show_problem(self.pipeline.problem)
        self.waterfall.apply_settings(new)
        self.spectrum.apply_settings(new)
        self.spectrum.set_rows(self.waterfall.rows)
        self.scope.apply_settings(new)
        self.meters.apply_settings(new)
        if self.classifier_view is not None and hasattr(self.classifier_view, "apply_settings"):
            self.classifier_view.apply_settings(new)
        self.timer.setInterval(max(1, int(round(1000.0 / new.fps))))
        self.controls.set_settings(new)
        self._sync_view()
        self._save()

    def _rebuild(self, new: Settings, old_running: bool = True) -> bool:
        consumers = [self.classifier] if self.classifier is not None else []
        notes = []
        try:
            pipeline = Pipeline(new, consumers=consumers, fit_mels=True)
        except ParameterError as exc:
            # The frequency range of a faster source (fmax 20 kHz) must not refuse a file or
            # device at a lower rate: the range goes back to 0 Hz…Nyquist, and says so.
            reset, was = _reset_frequencies(new)
            pipeline = None
            if was:
                try:
                    pipeline = Pipeline(reset, consumers=consumers, fit_mels=True)
                except ParameterError:
                    pipeline = None
                else:
                    notes.append(_reset_note(was, pipeline.samplerate))
            if pipeline is None:
                self._error(str(exc))
                self.controls.set_settings(self.settings)
                return False
        if pipeline.notice:  # n_mels lowered to fit the new rate, a file shorter than a frame
            notes.append(pipeline.notice)
        new = pipeline.settings
        old = self.pipeline
        if old_running:
            old.stop()
        try:
            pipeline.start()
        except ParameterError as exc:
            self._error(str(exc))
            self.controls.set_settings(self.settings)
            if old_running:  # the old source comes back
                try:
                    self.pipeline = Pipeline(old.settings, source=None, consumers=consumers)
                    self.pipeline.start()
                except ParameterError:
                    pass
            return False
        self.pipeline = pipeline
        self._source_error = None
        self.banner.hide()
        self._settings_applied(new)
        self._update_title()
        if getattr(old, "recorder", None) is not None:
            # A recording is of one source; it is complete and closed, not continued.
            notes.append(f"the recording {old.recorder.path} ended when the source "
                         f"changed ({old.recorder.frames} frames)")
        if notes:
            self.notice.show_notice("; ".join(notes))
        return True

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.pipeline.source.description} — spectromon")

    def _apply_layout(self, layout: str) -> None:
        self._upper.setVisible(layout == "all")
        self.spectrum.setVisible(layout in ("all", "spectrum"))
        self.scope.setVisible(layout in ("all", "scope"))
        self._layout = layout

    def _sync_view(self) -> None:
        layout = getattr(self, "_layout", "all")
        for key, view in VIEWS.items():
            if view["layout"] != layout:
                continue
            if layout != "all":
                break
            if (all(getattr(self.settings, k) == v for k, v in view["changes"].items())
                    and view["values"] == self.waterfall.value_mode):
                break
        else:
            key = None
        self.view_bar.set_view(key)

    def _make_classifier_view(self, classifier: Any, problem: Optional[str]):
        self.classifier_panel = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(self.classifier_panel)
        layout.setContentsMargins(0, 0, 0, 0)
        self.classifier_label = None
        view, text = None, None
        if not self.settings.classifier and classifier is None:
            text = "classifier off (--no-classifier)"
        else:
            try:
                from monitor.gui.classifier_view import ClassifierView
            except ImportError as exc:
                text = problem or f"classifier panel not available ({exc})"
            else:
                try:
                    view = ClassifierView(classifier, self.settings, parent=self.classifier_panel,
                                          unavailable=problem)
                except TypeError:  # an older panel without the 'unavailable' argument
                    view = ClassifierView(classifier, self.settings, parent=self.classifier_panel)
        if view is not None:
            layout.addWidget(view)
            if hasattr(view, "settings_changed"):
                view.settings_changed.connect(self.change_settings)
            return view
        label = QtWidgets.QLabel(text or problem or "classifier unavailable")
        label.setWordWrap(True)
        label.setObjectName("panelTitle")
        label.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(label)
        layout.addStretch(1)
        self.classifier_label = label
        return None

    def _error(self, message: str) -> None:
        self.message = message
        self._show_problem(message)
        self.notice.show_notice(message)

    def _show_problem(self, problem: Optional[str]) -> None:
        """The problem in the status bar, shortened to fit; the whole text in its tooltip."""
        if problem == self._problem_shown:
            return
        self._problem_shown = problem
        text = f"⚠ {problem}" if problem else ""
        metrics = self.problem_label.fontMetrics()
        self.problem_label.setText(metrics.elidedText(text, QtCore.Qt.TextElideMode.ElideRight,
                                                      PROBLEM_WIDTH_PX - 8))
        self.problem_label.setToolTip(problem or "")

    def _save(self) -> None:
        if self.store is not None:
            self.store.save(self.settings, self.given)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Stop the timer and the audio, save the settings; never blocks for long."""
        if not self._closed:
            self._closed = True
            self.timer.stop()
            if self.store is not None:
                self._save()
                self.store.set_value("geometry", self.saveGeometry())
                self.store.qsettings.sync()
            self.pipeline.stop()
        super().closeEvent(event)


class RunStats:
    """What a run achieved, written as JSON to ``$SPECTROMON_STATS_FILE`` at exit when that
    variable is set: the benchmarks read display fps, late frames, dropped audio and the time
    of the first drawn column from it. Costs one comparison per drawn frame otherwise."""

    def __init__(self) -> None:
        self.frames = 0  # display frames drawn (not paused)
        self.first: Optional[float] = None  # time.monotonic() of the first and latest frame
        self.last: Optional[float] = None
        self.longest_gap = 0.0  # s, the longest time between two drawn frames
        self.first_column_epoch: Optional[float] = None  # time.time() of the first column drawn

    def drawn(self, now: float, has_columns: bool) -> None:
        if self.last is not None:
            self.longest_gap = max(self.longest_gap, now - self.last)
        else:
            self.first = now
        self.last = now
        self.frames += 1
        if has_columns and self.first_column_epoch is None:
            self.first_column_epoch = time.time()

    def write(self, window: "MainWindow") -> None:
        path = os.environ.get("SPECTROMON_STATS_FILE")
        if not path:
            return
        import json

        status = window.pipeline.status()
        span = (self.last - self.first) if self.frames > 1 else 0.0
        data = {"frames_drawn": self.frames, "seconds": span,
                "fps": (self.frames - 1) / span if span > 0 else 0.0,
                "longest_gap_ms": 1e3 * self.longest_gap,
                "first_column_epoch": self.first_column_epoch,
                "dropped_frames": status.dropped_frames, "overflows": status.overflows,
                "stream_seconds": window.pipeline.worker.stream_time,
                "source": status.source, "samplerate": status.samplerate,
                "classifier": window.classifier is not None}
        try:
            with open(path, "w") as f:
                json.dump(data, f)
        except OSError as exc:
            print(f"{PROG}: cannot write {path}: {exc}", file=sys.stderr)


def _reset_frequencies(settings: Settings, keep=()) -> tuple[Settings, dict]:
    """``settings`` with fmin and fmax back at 0 Hz and Nyquist, except the fields named in
    ``keep`` (those the command line gave); and the old values of the fields reset."""
    default = Settings()
    old = {name: getattr(settings, name) for name in ("fmin", "fmax")
           if name not in keep and getattr(settings, name) != getattr(default, name)}
    return dataclasses.replace(settings, **{k: getattr(default, k) for k in old}), old


def _reset_note(old: dict, samplerate: float, origin: str = "") -> str:
    """The notice for :func:`_reset_frequencies`: what did not fit, and the range now used."""
    fields = " and ".join(f"{name} {value:g} Hz" for name, value in old.items())
    verb = "does" if len(old) == 1 else "do"
    return (f"{origin}{fields} {verb} not fit {samplerate:g} Hz audio: frequency range reset "
            f"to 0 … {samplerate / 2:g} Hz")


def _input_devices() -> list[dict]:
    try:
        from monitor.sources.microphone import list_devices, portaudio_problem

        if portaudio_problem():
            return []
        return list_devices()
    except Exception:  # noqa: BLE001 - no audio system: just no devices to offer
        return []


_QT_NOISE = ("This plugin does not support propagateSizeHints()",
             "This plugin does not support raise()")


def _qt_message(mode, context, message: str) -> None:
    """Qt's messages on stderr as usual, minus the offscreen plugin's harmless notice that
    would otherwise greet every --screenshot run."""
    if message in _QT_NOISE:
        return
    print(message, file=sys.stderr)


def _no_display() -> bool:
    """True when Qt would abort for want of a display (Linux/BSD without X11 or Wayland)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def run_gui(given: dict, ns: argparse.Namespace) -> int:
    """Run the window; returns the exit code.

    ``given`` holds the Settings fields of the command line; they are laid over the saved
    settings. A :class:`ParameterError` from opening the source propagates before any window
    is shown (the command line prints it and exits 2).
    """
    if _no_display():
        print(f"{PROG}: error: no display (DISPLAY/WAYLAND_DISPLAY unset); use --headless, or "
              f"QT_QPA_PLATFORM=offscreen for --screenshot", file=sys.stderr)
        return 2
    QtCore.qInstallMessageHandler(_qt_message)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setApplicationName(PROG)
    app.setOrganizationName(PROG)
    # SIGINT/SIGTERM close the window; one arriving while starting up ends the run as soon as
    # the window exists (and never leaves the audio running).
    stop_requested = {"window": None, "stop": False}

    def on_signal(*_args) -> None:
        stop_requested["stop"] = True
        if stop_requested["window"] is not None:
            stop_requested["window"].close()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run_window(app, given, ns, stop_requested)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        # Qt still talks while it unloads plugins at exit, when Python can no longer run a
        # handler (a crash under QT_DEBUG_PLUGINS): give the messages back to Qt first.
        QtCore.qInstallMessageHandler(None)


def _open_pipeline(settings: Settings, given: dict, record: Optional[str],
                   consumers: list) -> tuple[Pipeline, Settings, list[str]]:
    """Open and start the pipeline of the merged settings.

    Saved values must not lock the user out, only command-line values may refuse to start:
    saved fmin/fmax that do not fit the source's rate go back to 0 Hz … Nyquist, saved n_mels is
    lowered to leave no empty mel filter, and a saved source that is gone (a deleted file, an
    unplugged device) gives way to the default input.

    Returns
    -------
    pipeline : Pipeline
        Started.
    settings : Settings
        What it runs with.
    notes : list of str
        What was changed from the saved settings, for the user.

    Raises
    ------
    ParameterError
        The first error, when no fallback helps (the command line's own values are wrong).
    """
    fit_mels = "n_mels" not in given
    default = Settings()
    reset, was = _reset_frequencies(settings, keep=given)
    source_saved = not any(k in given for k in SOURCE_FIELDS) and any(
        getattr(settings, k) != getattr(default, k) for k in SOURCE_FIELDS)
    to_default_input = {k: getattr(default, k) for k in SOURCE_FIELDS}
    attempts: list[tuple[Settings, list]] = [(settings, [])]
    if was:
        attempts.append((reset, ["range"]))
    if source_saved:
        attempts += [(dataclasses.replace(s, **to_default_input), notes + ["source"])
                     for s, notes in list(attempts)]
    first: Optional[ParameterError] = None
    for attempt, changed in attempts:
        try:
            pipeline = open_with_fallback(attempt, record=record, consumers=consumers,
                                          fit_mels=fit_mels)
            pipeline.start()
        except ParameterError as exc:
            first = first or exc
            continue
        notes = []
        if "source" in changed:
            notes.append(f"saved source unavailable ({first}); using the default input")
        if "range" in changed:
            notes.append(_reset_note(was, pipeline.samplerate, origin="saved "))
        if pipeline.notice:
            notes.append(pipeline.notice)
        return pipeline, pipeline.settings, notes
    assert first is not None
    raise first


def _run_window(app: QtWidgets.QApplication, given: dict, ns: argparse.Namespace,
                stop_requested: dict) -> int:
    store = SettingsStore()
    if getattr(ns, "reset_settings", False):
        store.clear()
    saved = store.load()
    settings, saved_problem = merge_settings(saved, given)
    if saved_problem:
        print(f"{PROG}: {saved_problem}", file=sys.stderr)

    classifier, classifier_problem = None, None
    if settings.classifier:
        from monitor.classifier import open_classifier

        classifier, classifier_problem = open_classifier(settings)
        if classifier_problem:
            print(f"{PROG}: {classifier_problem}", file=sys.stderr)
    consumers = [classifier] if classifier is not None else []
    record = getattr(ns, "record", None)
    try:
        pipeline, settings, notes = _open_pipeline(settings, given, record, consumers)
    except BaseException:
        if classifier is not None and hasattr(classifier, "close"):
            classifier.close()
        raise
    for note in notes:
        print(f"{PROG}: {note}", file=sys.stderr)
    if pipeline.problem:
        print(f"{PROG}: {pipeline.problem}", file=sys.stderr)

    window = MainWindow(settings, pipeline, classifier=classifier, store=store, given=given,
                        classifier_problem=classifier_problem, notice="; ".join(notes))
    screenshot = getattr(ns, "screenshot", None)
    duration = getattr(ns, "duration", None)
    geometry = store.value("geometry", None)
    if screenshot or not (isinstance(geometry, QtCore.QByteArray)
                          and window.restoreGeometry(geometry)):
        window.resize(1280, 800)
    result = {"code": 0}

    def finish() -> None:
        if screenshot:
            if not window.grab().save(screenshot):
                print(f"{PROG}: error: cannot write the screenshot {screenshot!r}",
                      file=sys.stderr)
                result["code"] = 2
        window.close()

    if duration is not None:
        QtCore.QTimer.singleShot(int(duration * 1000), finish)
    # Python runs signal handlers only between bytecodes: a timer gives it the chance.
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    stop_requested["window"] = window
    try:
        if not stop_requested["stop"]:
            window.show()
            # Without a window manager (a bare X server, a kiosk) nothing gives the new window
            # the keyboard focus, and Space/F11 would do nothing.
            window.raise_()
            window.activateWindow()
            app.exec()
    finally:
        wake.stop()
        stop_requested["window"] = None
        window.run_stats.write(window)
        window.close()
        if classifier is not None and hasattr(classifier, "close"):
            classifier.close()
    return result["code"]
