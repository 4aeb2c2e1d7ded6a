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
from monitor.gui.instrument_panels import InstrumentPanels
from monitor.gui.menus import about_text, build_menus, shortcuts_text
from monitor.gui.meters import LevelMeters
from monitor.gui.projector import PROJECTOR_SCALE, ProjectorBar
from monitor.gui.overview import LiveOverview
from monitor.gui.run_stats import RunStats
from monitor.gui.save_last import add_save_last
from monitor.gui.scope import ScopeView
from monitor.gui.shutdown import stop_in_background
from monitor.gui.spectrum import SpectrumView
from monitor.gui.status import FpsMeter, InputLostBanner, NoticeBanner, StatusLine
from monitor.gui.theme import COLORS, apply_theme, restyle_plots
from monitor.gui.waterfall import Waterfall
from monitor.session import Session
from monitor.settings import Settings
from monitor.settings_store import SettingsStore

__all__ = ["MainWindow"]

STATUS_INTERVAL = 0.25  # s: the status bar changes at 4 Hz, not at the display rate
SECONDARY_DIVIDER = 2  # spectrum, scope and meters are redrawn every this many display frames
IDLE_INTERVAL = 0.25  # s: the display timer while paused or minimised (drain, status; no drawing)
HIDDEN_INTERVAL = 1.0  # s: the timer and the worker's passes while nothing of the window shows
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
    actions : dict
        The menu actions by name (monitor.gui.menus).

    Signals
    -------
    record_requested(bool)
        File ▸ Record toggled: True once a recording started, False when it stopped.
    """

    record_requested = QtCore.pyqtSignal(bool)

    def __init__(self, session: Session, store: Optional[SettingsStore] = None,
                 parent: Optional[QtWidgets.QWidget] = None, outputs=None) -> None:
        super().__init__(parent)
        self.session = session
        self.outputs = outputs  # RunOutputs (--session, --snapshot-every, --level-log) or None
        session.start()
        settings = session.settings
        apply_theme(QtWidgets.QApplication.instance(), settings.theme, settings.ui_scale)
        self.projector = False
        self._look = (None, None, None)
        self.store = store
        self.paused = False
        self.view = "spectrogram"
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
        self._peak_hz: Optional[float] = None  # Hz, the newest frame's (monitor.dsp)
        self._pipeline = session.pipeline
        self._layout = "all"
        self.setWindowTitle("spectromon — real-time spectrogram monitor")
        from monitor.resources import resource_path

        icon = resource_path("spectromon.svg")
        if icon.is_file():
            self.setWindowIcon(QtGui.QIcon(str(icon)))

        # -- views ----------------------------------------------------------------------------
        params = session.pipeline.worker.params
        self.waterfall = Waterfall(settings, params)
        self.overview = LiveOverview(self, outputs.session_dir if outputs is not None else None)
        self.spectrum = SpectrumView(settings, self.waterfall.rows)
        self.scope = ScopeView(settings)
        self.meters = LevelMeters(settings)
        self.view_bar = ViewBar()
        self.projector_bar = ProjectorBar()
        self.banner = InputLostBanner()
        self.notice = NoticeBanner()
        self.waterfall.cursor_moved.connect(self.view_bar.cursor_label.setText)
        self.spectrum.cursor_moved.connect(self.view_bar.cursor_label.setText)
        self.waterfall.picture_note.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.view_bar.view_chosen.connect(self.set_view)
        self.view_bar.axis_chosen.connect(self.set_axis)
        self.view_bar.values_chosen.connect(self.set_value_mode)
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
        # The strip goes under the waterfall (time on x) or, --vertical, right of it.
        ul = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.TopToBottom, upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.setSpacing(0)
        ul.addWidget(self.waterfall, 1)
        self._upper_layout = ul
        if self.activity_strip is not None:
            row = QtWidgets.QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(0)
            row.addWidget(self.activity_strip, 1)
            # The waterfall's colour bar sits right of its plot: leave the same gap so the
            # strip's time axis ends where the waterfall's does.
            self._strip_gap = QtWidgets.QSpacerItem(self.waterfall.color_bar.width(), 0)
            row.addItem(self._strip_gap)
            ul.addLayout(row)
            # Same axis width on both, so that their time axes line up.
            self.waterfall.plot.set_axis_width(64)
            self.activity_strip.set_left_margin(64)
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
        cl.addWidget(self.projector_bar)
        cl.addLayout(body, 1)
        self.setCentralWidget(central)

        # -- controls dock (and the classifier under it) ---------------------------------------
        self.controls = ControlPanel(settings)
        self.controls.set_devices(self.session.input_devices())
        self.controls.changed.connect(self.change_settings)
        self.controls.source_changed.connect(self.change_source)
        self.controls.value_mode_changed.connect(self.set_value_mode)
        self.controls.spectrum_range_changed.connect(self.set_spectrum_range)
        if self.classifier_view is not None:
            box = self.classifier_view.take_settings_panel()
            if box is not None:
                self.controls.add_tab(box, "Classifier")
        self.controls_dock = dock = self._dock("Controls", "controlsDock", self.controls)
        dock.setMinimumWidth(250)
        # In a scroll area: on a short screen the panel scrolls instead of pushing the window
        # taller than the screen.
        events_scroll = QtWidgets.QScrollArea()
        events_scroll.setWidgetResizable(True)
        events_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        events_scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        events_scroll.setWidget(self.classifier_panel)
        self.classifier_dock = cdock = self._dock("Sound events", "classifierDock", events_scroll)
        small = self.classifier_view is None
        self.resizeDocks([dock, cdock], [640, 90] if small else [330, 430],
                         QtCore.Qt.Orientation.Vertical)
        # As narrow as the panels allow: the waterfall is what the window is for.
        self.resizeDocks([dock], [300], QtCore.Qt.Orientation.Horizontal)
        self.instruments = InstrumentPanels(self)  # measurements, bands, channels, devices, export

        # -- status bar -----------------------------------------------------------------------
        self.status_line = StatusLine(self.statusBar(), COLORS["accent"])
        self.status_fields = self.status_line.fields
        self.problem_label = self.status_line.problem

        # -- menus (and their shortcuts: Space, F10, F11, Ctrl+Q, F1 …) ------------------------
        self.actions = build_menus(self)
        self.save_last_button = add_save_last(self)  # and Ctrl+Shift+S, and the clip switch
        self.view_bar.add_button(self.save_last_button)  # wrapping with the view buttons
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.setInterval(max(1, int(round(1000.0 / settings.fps))))

        if store is not None:
            self.set_value_mode(str(store.value("values", "db")), save=False)
            combo = self.controls.spectrum_range_combo
            i = combo.findData(store.value("spectrum_range", "auto"))
            if i >= 0:
                combo.setCurrentIndex(i)
            view = store.value("view", None)
            if view in VIEWS:
                self.view = view
                self._apply_layout(VIEWS[view]["layout"])
        self._sync_view()
        self._update_title()
        self._present_problems()
        self._place_strip(force=True)
        self._apply_look()
        # Once laid out, the waterfall's axis has its real height: line the strip up with it.
        QtCore.QTimer.singleShot(0, lambda: self._place_strip(force=True))
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
            self._rms_acc = max(self._rms_acc, float(self.instruments.meter_rms(batch).max()))
            if len(batch):
                self._peak_hz = float(batch.peak_hz[-1])
        self._ticks += 1
        hidden = self._pace()
        self.overview.tick(batches, now, draw=not hidden)  # minimised: taken in, not drawn
        if not self.paused and not hidden:
            self._spectrum_due = self._spectrum_due or bool(batches)
            # The waterfall scrolls at the full display rate; the spectrum, scope and meters
            # change at half of it, which the eye does not tell apart and halves their cost.
            # The pyqtgraph plots first: their scenes queue their repaint, and the plain
            # widgets' update() after them posts the window's one update request behind it, so
            # that one flush takes every paint of the tick (python -m bench.gui_paint).
            if self._ticks % SECONDARY_DIVIDER == 0:
                history = self.waterfall.history
                if self._spectrum_due and history.latest is not None:
                    self.spectrum.set_rows(self.waterfall.rows)
                    self.instruments.draw_spectrum(history, now, self._peak_hz)  # weighted
                    self._spectrum_due = False
                self.scope.update_scope(worker.scope, self.pipeline.samplerate)
                self.instruments.tick(now)
                gain = worker.gain_db if self.settings.normalize != "none" else None
                self.meters.update_levels(self._peak_acc, self._rms_acc, now, worker.clipped,
                                          gain)
                self._peak_acc = self._rms_acc = -math.inf
            self.waterfall.draw()
            if self.classifier_view is not None:
                t = self.waterfall.display_time
                self.classifier_view.refresh(worker.stream_time if t is None else t)
            self._fps.tick(now)
            self.run_stats.drawn(now, self.waterfall.history.head > 0)
        else:
            # What passed while paused (or minimised) is not held when the display resumes.
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
        self.instruments.refresh(time.monotonic())
        self._present_problems()
        if self.projector:
            self._show_projector_values()

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
        self._pace()
        if self.view_bar.pause_button.isChecked() != self.paused:
            self.view_bar.pause_button.setChecked(self.paused)

    def set_view(self, key: str) -> None:
        """Show the layout ``key`` of :data:`monitor.gui.controls.VIEWS`; changes nothing else
        (no setting, no value scale)."""
        self._apply_layout(VIEWS[key]["layout"])
        self.view = key
        self._sync_view()
        if self.store is not None:
            self.store.set_value("view", key)

    def set_spectrum_range(self, mode: str) -> None:
        """The spectrum's own level range (a key of monitor.gui.spectrum.RANGES), kept."""
        self.spectrum.set_range_mode(mode)
        if self.store is not None:
            self.store.set_value("spectrum_range", mode)

    def set_axis(self, scale: str) -> None:
        """The frequency axis: 'linear', 'log' or 'mel' (the `scale` setting)."""
        if scale != self.settings.scale:
            self.change_settings({"scale": scale})
        self._sync_view()

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

    def set_light_theme(self, on: bool) -> None:
        """View ▸ Light theme (the `theme` setting)."""
        theme = "light" if on else "dark"
        if theme != self.settings.theme:
            self.change_settings({"theme": theme})

    def set_projector_mode(self, on: bool) -> None:
        """View ▸ Projector mode (F10): side panels, spectrum and scope, menu and status bar
        hidden; the waterfall, its labels and a large level/peak/labels banner enlarged."""
        self.projector = bool(on)
        for widget in (self.controls_dock, self.classifier_dock, self._lower,
                       self.statusBar(), self.menuBar()):
            widget.setVisible(not self.projector)
        if not self.projector and self._layout != "all":
            self._apply_layout(self._layout)
        self.projector_bar.setVisible(self.projector)
        if self.actions["projector"].isChecked() != self.projector:
            self.actions["projector"].setChecked(self.projector)
        self._apply_look()
        if self.projector:
            self._show_projector_values()

    def _show_projector_values(self) -> None:
        from monitor.gui.spectrum import note_name

        state = self.meters.state
        peak = self.spectrum.peak
        labels = self.classifier.top(3) if self.classifier is not None else []
        self.projector_bar.show_values(state.peak, state.rms, peak,
                                       note_name(peak[0]) if peak else "", labels)

    def _apply_look(self) -> None:
        """Theme and UI scale (times the projector's enlargement) on every view."""
        s = self.settings
        scale = float(s.ui_scale) * (PROJECTOR_SCALE if self.projector else 1.0)
        look = (s.theme, float(s.ui_scale), scale)
        if look == self._look:
            return
        self._look = look
        apply_theme(QtWidgets.QApplication.instance(), s.theme, s.ui_scale)
        restyle_plots(self, scale)
        self.waterfall.set_ui_scale(scale)
        self.spectrum.set_ui_scale(scale)
        self.scope.set_ui_scale(scale)
        self.overview.strip.set_ui_scale(scale)
        self.projector_bar.set_scale(float(s.ui_scale))
        if self.activity_strip is not None:
            self.activity_strip.set_scale(scale)
            self.activity_strip.set_left_margin(int(64 * scale))
            self.activity_strip.set_background(COLORS["plot"])
        self.status_line.problem.setStyleSheet(f"color: {COLORS['accent']};")
        if self.classifier_view is not None and self.classifier is not None:
            self.classifier_view.bars.restyle(float(s.ui_scale))
        if "light" in self.actions:
            self.actions["light"].setChecked(s.theme == "light")
        self.meters.update()

    def toggle_record(self, on: bool) -> None:
        """File ▸ Record: the session starts or stops a recording of the input as captured;
        the menu entry shows what really happens."""
        path = self.session.set_recording(bool(on))
        action = self.actions["record"]
        blocked = action.blockSignals(True)
        action.setChecked(bool(on) and path is not None)
        action.blockSignals(blocked)
        self.record_requested.emit(bool(on) and path is not None)
        self._present_problems()

    def open_file(self) -> None:
        """File ▸ Open: choose an audio file to analyse (as the Controls' button does)."""
        self.controls._choose_file()

    def export_events(self) -> None:
        """File ▸ Export the event log as CSV."""
        if self.classifier_view is not None:
            self.classifier_view._export_clicked()

    def save_screenshot(self, path: Optional[str] = None) -> bool:
        """File ▸ Save a screenshot of the window (PNG)."""
        if path is None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save a screenshot", "spectromon.png", "PNG images (*.png)")
            if not path:
                return False
        from monitor.errors import ParameterError
        from monitor.gui.screenshot import save_screenshot

        try:
            save_screenshot(self, path, option="screenshot")
        except ParameterError as exc:
            self.statusBar().showMessage(str(exc), 8000)
            return False
        self.statusBar().showMessage(f"screenshot saved to {path}", 5000)
        return True

    def show_shortcuts(self) -> None:
        """Help ▸ Keyboard shortcuts (F1 or ?)."""
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText("<pre>" + shortcuts_text(self.actions) + "</pre>")
        box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        box.open()
        self._dialog = box

    def show_about(self) -> None:
        """Help ▸ About: what this is and the versions it runs on."""
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("About spectromon")
        box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        box.setText(about_text())
        box.open()
        self._dialog = box

    # -- presenting the session -----------------------------------------------------------------
    def _settings_applied(self) -> None:
        new = self.settings
        self.waterfall.apply_settings(new)
        self._place_strip()
        self._apply_look()
        self.overview.apply_settings(new)
        self.spectrum.apply_settings(new)
        self.spectrum.set_rows(self.waterfall.rows)
        self.scope.apply_settings(new)
        self.meters.apply_settings(new)
        self.instruments.apply_settings(new)
        if self.classifier_view is not None:
            self.classifier_view.apply_settings(new)
        self._pace()
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

    def _place_strip(self, force: bool = False) -> None:
        """The activity strip under the waterfall, or right of it when the waterfall is
        vertical (its time axis then runs up the side)."""
        strip = self.activity_strip
        if strip is None:
            return
        strip.span_source = lambda: self.waterfall.time_span  # both map time to one scale
        vertical = self.settings.orientation == "vertical"
        if (strip.orientation == "vertical") == vertical and not force:
            return
        Direction = QtWidgets.QBoxLayout.Direction
        self._upper_layout.setDirection(Direction.LeftToRight if vertical
                                        else Direction.TopToBottom)
        self._strip_gap.changeSize(0 if vertical else self.waterfall.color_bar.width(), 0)
        strip.set_orientation("vertical" if vertical else "horizontal",
                              axis_px=self.waterfall.canvas.bottom_height() if vertical else 0)
        self._upper_layout.invalidate()

    def _dock(self, title: str, name: str, widget: QtWidgets.QWidget,
              scroll: bool = False) -> QtWidgets.QDockWidget:
        """A right-hand dock holding ``widget``; with ``scroll`` the widget scrolls in it, so
        its size never makes the window larger than the screen."""
        if scroll:
            area = QtWidgets.QScrollArea()
            area.setWidgetResizable(True)
            area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
            area.setWidget(widget)
            widget = area
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
        self.view_bar.set_view(self.view, self.settings.scale, self.waterfall.value_mode)

    def _save(self) -> None:
        if self.store is not None:
            self.store.save(self.session.saved_choices())

    def _hidden(self) -> bool:
        """True while none of the window can be seen: minimised, or no longer exposed after it
        was (a window just shown is not exposed yet, and is not slowed down for that)."""
        if self.isMinimized():
            return True
        # The wrapper is kept referenced: then sip finds it again instead of making a new one
        # at each call (0.09 ms a tick in the window, 0.3 µs kept; python -m bench.gui_paint).
        self._handle = handle = self.windowHandle()
        if handle is None or not self.isVisible():
            return False
        exposed = handle.isExposed()
        self._was_exposed = getattr(self, "_was_exposed", False) or exposed
        return self._was_exposed and not exposed

    def _pace(self) -> bool:
        """The display timer at ``settings.fps``, or at :data:`IDLE_INTERVAL` while paused
        (:data:`HIDDEN_INTERVAL` while hidden: nothing shows the status either); the batches
        are still drained into the history. Returns whether the window is hidden."""
        hidden = self._hidden()
        idle = self.paused or hidden
        pause = HIDDEN_INTERVAL if hidden else IDLE_INTERVAL  # paused: the status line shows
        feed = self.session.measurement  # its thread idles too while no panel shows its output
        quiet = hidden or (self.paused and feed is not None and not feed.analysing)
        if self.pipeline is not None:  # nothing drawn: the worker passes at that pace too
            self.pipeline.worker.set_idle(idle, pause, consumers=quiet)
        ms = int(pause * 1000) if idle else max(1, int(round(1000.0 / self.settings.fps)))
        if self.timer.interval() != ms:
            self.timer.setInterval(ms)
        return hidden

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 - Qt API
        if (event.type() == QtCore.QEvent.Type.WindowStateChange and hasattr(self, "timer")
                and not self._closed):
            self._pace()  # restored: the display rate again at once
        super().changeEvent(event)

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

