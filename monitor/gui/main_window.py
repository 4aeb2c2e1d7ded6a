"""The main window: it lays out the views, controls and status around one
:class:`~monitor.session.Session` and draws them on one display timer. It decides nothing:
every change goes to the session, and what the session says (settings, problems) is shown."""

from __future__ import annotations

import math
import time
from typing import Any, Optional

from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.gui.classifier_view import classifier_panel
from monitor.gui.controls import VIEWS, ControlPanel, ViewBar
from monitor.gui.meters import LevelMeters
from monitor.gui.overview import LiveOverview
from monitor.gui.run_stats import RunStats
from monitor.gui.save_last import add_save_last
from monitor.gui.scope import ScopeView
from monitor.gui.shutdown import stop_in_background
from monitor.gui.spectrum import SpectrumView
from monitor.gui.status import FpsMeter, InputLostBanner, NoticeBanner, StatusLine
from monitor.gui.theme import COLORS, apply_theme
from monitor.gui.waterfall import Waterfall
from monitor.session import Session
from monitor.settings import Settings
from monitor.settings_store import SettingsStore

__all__ = ["MainWindow"]

STATUS_INTERVAL = 0.25  # s: the status bar changes at 4 Hz, not at the display rate
SECONDARY_DIVIDER = 2  # spectrum, scope and meters are redrawn every this many display frames
# Problems shown in the notice banner (the input-lost banner and the status bar show the rest).
_QUIET = ("end of file",)


class MainWindow(QtWidgets.QMainWindow):
    """The monitor's window around a :class:`~monitor.session.Session`.

    Parameters
    ----------
    session : Session
        Started here if it is not yet (:meth:`Session.start` is idempotent); stopped when the
        window closes.
    store : SettingsStore, optional
        Where the session's saved choices are written on change and on close; None: not saved.
    parent : QWidget, optional

    Attributes
    ----------
    waterfall, spectrum, scope, meters, controls, view_bar, banner, notice
        The views.
    frames_seen : int
        Frames drained from the worker (keeps counting while paused).
    """

    def __init__(self, session: Session, store: Optional[SettingsStore] = None,
                 parent: Optional[QtWidgets.QWidget] = None, outputs=None) -> None:
        super().__init__(parent)
        apply_theme(QtWidgets.QApplication.instance())
        self.session = session
        self.outputs = outputs  # RunOutputs (--session, --snapshot-every, --level-log) or None
        session.start()
        settings = session.settings
        self.store = store
        self.paused = False
        self.view = "db"
        self.frames_seen = 0
        self._fps = FpsMeter()
        self.run_stats = RunStats()  # for SPECTROMON_STATS_FILE (the benchmarks)
        self._last_status = 0.0
        self._closed = False
        self._peak_acc = -math.inf
        self._rms_acc = -math.inf
        self._ticks = 0
        self._problems_version = -1
        self._spectrum_due = False
        self._pipeline = session.pipeline
        self._layout = "all"
        self.setWindowTitle("spectromon — real-time spectrogram monitor")

        # -- views ----------------------------------------------------------------------------
        params = session.pipeline.worker.params
        self.waterfall = Waterfall(settings, params)
        self.overview = LiveOverview(self, outputs.session_dir if outputs is not None else None)
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

        problem = session.problems.get("classifier")
        self.classifier_panel, self.classifier_view, self.classifier_label = classifier_panel(
            session.classifier, settings, problem.text if problem is not None else None)
        self.activity_strip = None
        if self.classifier_view is not None:
            self.classifier_view.settings_changed.connect(self.change_settings)
            self.activity_strip = self.classifier_view.activity_strip()
            self.overview.connect_event_log(self.classifier_view.table)

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
                plot.getAxis("left").setWidth(64)
        ul.addWidget(self.overview.strip)
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
        self.controls.set_devices(self.session.input_devices())
        self.controls.changed.connect(self.change_settings)
        self.controls.source_changed.connect(self.change_source)
        self.controls.value_mode_changed.connect(self.set_value_mode)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.controls)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.controls_dock = dock = self._dock("Controls", "controlsDock", scroll)
        dock.setMinimumWidth(250)
        self.classifier_dock = cdock = self._dock("Sound events", "classifierDock",
                                                  self.classifier_panel)
        small = self.classifier_view is None
        self.resizeDocks([dock, cdock], [640, 90] if small else [430, 330],
                         QtCore.Qt.Orientation.Vertical)
        # As narrow as the panels allow: the waterfall is what the window is for.
        self.resizeDocks([dock], [300], QtCore.Qt.Orientation.Horizontal)

        # -- status bar -----------------------------------------------------------------------
        self.status_line = StatusLine(self.statusBar(), COLORS["accent"])
        self.status_fields = self.status_line.fields
        self.problem_label = self.status_line.problem

        # -- shortcuts and timer --------------------------------------------------------------
        QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Space), self,
                        activated=self.view_bar.pause_button.toggle)
        QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_F11), self,
                        activated=self.toggle_full_screen)
        self.save_last_button = add_save_last(self)  # and Ctrl+Shift+S, and the clip switch
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
        self._update_title()
        self._present_problems()
        self.timer.start()

    @property
    def settings(self) -> Settings:
        """The settings in force (the session's)."""
        return self.session.settings

    @property
    def pipeline(self):
        """The running pipeline (the session's)."""
        return self.session.pipeline

    @property
    def classifier(self):
        return self.session.classifier

    # -- the display tick -----------------------------------------------------------------------
    def tick(self) -> None:
        """Drain the worker's batches and draw what changed (runs at settings.fps)."""
        now = time.monotonic()
        worker = self.pipeline.worker
        batches = worker.drain()
        for batch in batches:
            self.waterfall.push(batch)
            if self.outputs is not None:
                self.outputs.add(batch)
            self.frames_seen += len(batch)
            self._peak_acc = max(self._peak_acc, float(batch.peak_dbfs.max()))
            self._rms_acc = max(self._rms_acc, float(batch.rms_dbfs.max()))
        self._ticks += 1
        self.overview.tick(batches, now)
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
            if self.classifier_view is not None:
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
        """Let the session notice what changed, then show its status and problems (4 Hz)."""
        self.session.poll()
        if self.pipeline is not self._pipeline:  # the session reopened the input
            self._pipeline_replaced()
        self.status_line.show_status(self.session.status(), self._fps.fps())
        self._present_problems()

    # -- user actions: each goes to the session -------------------------------------------------
    def change_settings(self, changes: dict) -> bool:
        """Apply settings changes through the session; on refusal show why and revert."""
        ok = self.session.change(changes)
        if self.pipeline is not self._pipeline:
            self._pipeline_replaced()
        else:
            self._settings_applied()
        return ok

    change_source = change_settings  # the Controls' source signal: the session reopens it

    def retry_input(self, device: Any = None) -> bool:
        """After 'input lost': reopen ``device`` (None: the default input)."""
        ok = self.session.retry_input(device)
        if self.pipeline is not self._pipeline:
            self._pipeline_replaced()
        self.controls.set_devices(self.session.input_devices())
        self._present_problems()
        return ok

    def rescan_devices(self) -> bool:
        """While the input is lost: read the device list again and offer it."""
        ok = self.session.rescan_devices()
        if ok:
            devices = self.session.input_devices()
            self.banner.set_devices(devices)
            self.controls.set_devices(devices)
        self._present_problems()
        return ok

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

    # -- presenting the session -----------------------------------------------------------------
    def _settings_applied(self) -> None:
        new = self.settings
        self.waterfall.apply_settings(new)
        self.overview.apply_settings(new)
        self.spectrum.apply_settings(new)
        self.spectrum.set_rows(self.waterfall.rows)
        self.scope.apply_settings(new)
        self.meters.apply_settings(new)
        if self.classifier_view is not None:
            self.classifier_view.apply_settings(new)
        self.timer.setInterval(max(1, int(round(1000.0 / new.fps))))
        self.controls.set_settings(new)
        self._sync_view()
        self._save()
        self._present_problems()

    def _pipeline_replaced(self) -> None:
        self._pipeline = self.pipeline
        self._settings_applied()
        self._update_title()

    def _present_problems(self) -> None:
        """Status bar, input-lost banner and notice banner, from the session's problem list."""
        problems = self.session.problems
        if problems.version == self._problems_version:
            return
        self._problems_version = problems.version
        items = problems.items()
        top = problems.top("warning")
        self.status_line.show_problems(top.text if top is not None else None,
                                       "\n".join(f"{p.severity}: {p.text}" for p in items))
        lost = problems.get("input")
        on_mic = self.pipeline.source.kind == "microphone"
        if lost is not None and lost.severity == "error" and on_mic:
            self.banner.show_problem(lost.text, self.session.input_devices())
        else:
            self.banner.hide()
        shown = [p.text for p in items if p.text not in _QUIET
                 and not (p.key == "input" and p.severity == "error" and on_mic)]
        self.notice.show_notice("; ".join(shown))

    def _dock(self, title: str, name: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

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

    def _save(self) -> None:
        if self.store is not None:
            self.store.save(self.session.saved_choices())

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Stop the timer and the audio, save the settings; never blocks for long."""
        if not self._closed:
            self._closed = True
            self.timer.stop()
            if self.store is not None:
                self._save()
                self.store.set_value("geometry", self.saveGeometry())
                self.store.qsettings.sync()
            self._stopping = stop_in_background(self.session)  # the GUI thread never waits
        super().closeEvent(event)

    def wait_stopped(self, timeout: Optional[float] = None) -> bool:
        """After :meth:`close`: wait until the audio has stopped; True when it has."""
        thread = getattr(self, "_stopping", None)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

