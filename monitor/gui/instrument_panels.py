"""The window's instrument part: the measurement, octave-band, channel and devices docks, the
Export menu, Calibrate, and the weighting and microphone correction of the spectrum.

:class:`InstrumentPanels` is built by the main window with one line and called from its timer;
it decides nothing itself: changes go through the window to the session.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import numpy as np
from PyQt6 import QtCore, QtWidgets

from monitor.channel_monitor import channel_report
from monitor.dsp.levels import WeightedRMS
from monitor.dsp.weighting import weighting_db
from monitor.errors import ParameterError
from monitor.outputs import write_bytes
from monitor.export import (
    default_name,
    write_measurement_log_csv,
    write_spectrogram_npz,
    write_spectrum_csv,
)
from monitor.gui.channel_meters import ChannelMeters
from monitor.gui.on_screen import drawn_on_screen
from monitor.gui.devices_view import DevicesView
from monitor.gui.measurements_view import MeasurementsView
from monitor.gui.theme import restyle_plots
from monitor.measurement_feed import with_offset

if TYPE_CHECKING:  # imported when the dock is first shown: it is a pyqtgraph plot
    from monitor.gui.octave_view import OctaveView

__all__ = ["InstrumentPanels", "spectrum_offsets_db"]

COMPARE_SECONDS = 0.25  # s between two channel comparisons (each looks at the last 0.5 s)


def spectrum_offsets_db(row_hz: np.ndarray, weighting: str, calibration=None) -> np.ndarray:
    """dB added to each spectrum row at ``row_hz`` (Hz): the A/C/Z weighting (IEC 61672-1) plus
    the microphone correction of ``calibration`` (MicCalibration or None)."""
    f = np.maximum(np.asarray(row_hz, dtype=np.float64), 1e-3)  # 0 Hz: A/C are -inf there
    out = np.zeros(f.shape) if weighting == "Z" else np.maximum(weighting_db(weighting, f), -200.0)
    if calibration is not None:
        out = out + calibration.correction_db(f)
    return out.astype(np.float32)


class InstrumentPanels:
    """The instrument docks of ``window`` (a MainWindow) and their upkeep."""

    def __init__(self, window) -> None:
        self.window = window
        session = window.session
        self.feed = session.measurement
        if self.feed is None:
            try:
                self.feed = session.open_measurement()
            except ParameterError as exc:  # the command line's calibration file: said, not fatal here
                session.problems.report("calibration", str(exc), "error")
                self.feed = None
        # Each dock's contents is built when its tab is first shown (or a caller asks for it):
        # behind the Controls' tab at start-up, the four cost 0.22 s of the window's 1.2 s
        # constructor (cProfile). The feed runs without them (session.measurement).
        self._built: dict = {}
        self._areas: dict = {}
        docks = []
        for key, title, name in (("measurements", "Measurements", "measurementsDock"),
                                 ("octave", "Octave bands", "octaveDock"),
                                 ("channels", "Channels", "channelsDock"),
                                 ("devices", "Devices", "devicesDock")):
            dock = window._dock(title, name, QtWidgets.QWidget(), scroll=True)
            self._areas[key] = dock.widget()
            dock.visibilityChanged.connect(lambda shown, k=key: shown and self._content(k))
            docks.append(dock)
        # Tabs beside the Controls, which stay in front: the window's layout is unchanged until
        # the user picks a tab (stacked, they squeezed the Controls to nothing at 1280 × 800).
        for dock in docks:
            window.tabifyDockWidget(window.controls_dock, dock)
        window.controls_dock.raise_()
        self.docks = docks
        self.export_menu = menu = QtWidgets.QMenu("&Export", window)  # placed by the menus
        for text, slot in (("Spectrum (CSV)…", self.export_spectrum),
                           ("Measurement log (CSV)…", self.export_log),
                           ("Spectrogram (NPZ)…", self.export_spectrogram),
                           ("Spectrogram (PNG)…", self.export_png)):
            menu.addAction(text, lambda s=slot: s())
        self._offsets_key = None
        self._weighted: WeightedRMS | None = None  # the meter's weighted RMS, for one analysis
        self._offsets = np.zeros(0, np.float32)
        self._octave_version = -1
        self._report: dict = {}  # the last channel comparison (channel_report) and its time
        self._report_time = -1e9

    # -- the docks' contents, built on first use -----------------------------------------------
    @property
    def measurements(self) -> QtWidgets.QWidget:
        """The Measurements dock's panel (a MeasurementsView, or a label when unavailable)."""
        return self._content("measurements")

    @property
    def octave(self) -> OctaveView:
        return self._content("octave")

    @property
    def channels(self) -> ChannelMeters:
        return self._content("channels")

    @property
    def devices(self) -> DevicesView:
        return self._content("devices")

    def _content(self, key: str) -> QtWidgets.QWidget:
        widget = self._built.get(key)
        if widget is None:
            widget = self._built[key] = self._build(key)
            look = self.window._look[2]
            if look is not None:
                restyle_plots(widget, look)  # the UI scale in force (the colours are already)
            self._areas[key].setWidget(widget)  # the placeholder goes
        return widget

    def _build(self, key: str) -> QtWidgets.QWidget:
        window, settings = self.window, self.window.settings
        if key == "octave":
            from monitor.gui.octave_view import OctaveView  # pyqtgraph: off the first picture

            self._octave_version = -1
            view = OctaveView(settings.peak_hold)
            if self.feed is not None and self.feed.updates:  # the bands so far, at once
                self._octave_version = self.feed.updates
                view.update_bands(self.feed.latest().get("bands"), time.monotonic(),
                                  self.feed.spl_offset)
            return view
        if key == "channels":
            return ChannelMeters(settings.peak_hold)
        if key == "devices":
            return DevicesView(window.session, window.change_settings)
        if self.feed is None:
            return QtWidgets.QLabel("measurements unavailable (see the problems)")
        view = MeasurementsView(self.feed, settings)
        view.calibrate_requested.connect(self.calibrate)
        view.export_log_requested.connect(lambda: self.export_log())
        view.settings_changed.connect(window.change_settings)
        return view

    # -- drawing ----------------------------------------------------------------------------------
    def row_offsets(self, rows) -> np.ndarray:
        """The spectrum's per-row dB offsets for ``rows``: the weighting. The microphone file is
        in the rows already (the worker corrects every power spectrum: ``params.calibration``)."""
        mic = getattr(rows.params, "calibration", None)
        key = (id(rows), rows.n_rows, self.window.settings.weighting, mic)
        if key != self._offsets_key:
            self._offsets_key = key
            self._offsets = spectrum_offsets_db(rows.row_hz, self.window.settings.weighting)
            unit = "dBFS" if self.window.settings.weighting == "Z" else f"dB({self.window.settings.weighting})FS"
            spectrum = self.window.spectrum
            spectrum.set_level_units(unit + (", mic-corrected" if mic else ""))
            spectrum.setToolTip(f"levels in {unit}" + (f", mic-corrected: {mic}" if mic else
                                                   ", no microphone calibration file"))
        return self._offsets

    def meter_rms(self, batch) -> np.ndarray:
        """The RMS (dBFS) of each frame of ``batch`` the level meter shows: the frame RMS, or
        with A or C weighting the weighted RMS from the frame's power spectrum."""
        weighting = self.window.settings.weighting
        if weighting == "Z" or not len(batch):
            return batch.rms_dbfs
        p = batch.params
        key = (p.n_fft, p.samplerate, p.window, weighting)
        if self._weighted is None or self._weighted.key != key:
            self._weighted = WeightedRMS(*key)
        return self._weighted.dbfs(batch.power_db)

    def draw_spectrum(self, history, now: float, peak_hz=None) -> None:
        """The spectrum's newest frame and peak hold, weighted and mic-corrected; ``peak_hz``
        the newest frame's peak frequency (Hz) for its title."""
        offsets = self.row_offsets(self.window.waterfall.rows)
        latest, recent = history.latest, history.take_recent_max()
        if offsets.shape != latest.shape:
            offsets = 0.0
        self.window.spectrum.update_frame(latest + offsets, now,
                                          None if recent is None else recent + offsets, peak_hz)

    def tick(self, now: float) -> None:
        """The waterfall's detector marks, then the channel meters (the display timer's secondary
        rate), while they are on screen.

        The comparison (a 32768-point cross-correlation of 0.5 s) is computed at most every
        :data:`COMPARE_SECONDS`: at 30 Hz it cost 7.6 ms a tick, 17 % of a core, behind a tab.
        """
        if self.feed is not None:
            self.window.waterfall.detector_marks.take(self.feed.events)  # marks of new events
        channels = self._built.get("channels")
        if channels is None or not drawn_on_screen(channels):
            return  # behind the Controls' tab or minimised: nothing read, nothing drawn
        pipeline = self.window.pipeline
        worker = pipeline.worker
        peak, rms = worker.channels.levels(weighting=self.window.settings.weighting)
        if not peak.size:
            return
        s = self.window.settings
        report = self._report
        if peak.size < 2:
            report = {}
        elif now - self._report_time >= COMPARE_SECONDS or not report:
            report = channel_report(worker.channels, s.reference_channel, s.compare_channel)
            self._report, self._report_time = report, now
        channels.show_report(report, peak, rms, worker.clipped_per_channel, now,
                                  self.window.settings.weighting)

    def refresh(self, now: float) -> None:
        """The measurement panel and the octave bars (4 Hz)."""
        if self.feed is None:
            return
        # The figures are computed only while a panel shows them (the detectors, their marks
        # and the levels always run); hidden behind the Controls' tab they cost 3 % of a core.
        measurements, octave = self._built.get("measurements"), self._built.get("octave")
        self.feed.analysing = any(w is not None and drawn_on_screen(w) for w in (measurements, octave))
        if measurements is not None:
            measurements.refresh()
        if octave is not None and self.feed.updates != self._octave_version:
            self._octave_version = self.feed.updates
            octave.update_bands(self.feed.latest().get("bands"), now, self.feed.spl_offset)

    def apply_settings(self, settings) -> None:
        if "octave" in self._built:
            self._built["octave"].set_hold(settings.peak_hold)
        if self.feed is not None and "measurements" in self._built:
            self._built["measurements"].settings_form.set_settings(settings)

    # -- actions ----------------------------------------------------------------------------------
    def calibrate(self, calibrator_db: float) -> bool:
        """Set this input's SPL offset from the calibrator tone playing now (saved per input)."""
        problems = self.window.session.problems
        try:
            offset = self.feed.calibrate(calibrator_db)
        except ParameterError as exc:
            problems.report("calibrate", str(exc), "error")
            self.window._present_problems()
            return False
        key = self.window.pipeline.source.description
        ok = self.window.change_settings({"spl_offsets": with_offset(self.window.settings.spl_offsets, key, offset)})
        if ok:
            problems.report("calibrate", f"calibrated {key}: SPL offset {offset:+.2f} dB "
                            f"({calibrator_db:g} dB SPL at 1 kHz)", "info")
        self.window._present_problems()
        return ok

    def _path(self, path: str | None, kind: str, ext: str, title: str) -> str | None:
        if path is not None:
            return path
        chosen, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.window, title, os.path.join(os.getcwd(), default_name(kind, ext)), f"*.{ext}")
        return chosen or None

    def _write(self, what: str, path: str | None, write) -> str | None:
        if path is None:
            return None
        try:
            write(path)
        except ParameterError as exc:
            self.window.session.problems.report("export", str(exc), "error")
            self.window._present_problems()
            return None
        self.window.session.problems.report("export", f"{what} written to {path}", "info")
        self.window._present_problems()
        return path

    def export_spectrum(self, path: str | None = None) -> str | None:
        """The spectrum on screen (weighted and corrected as shown) and its peak hold, CSV."""
        history = self.window.waterfall.history
        if history.latest is None:
            return None
        rows = self.window.waterfall.rows
        offsets = self.row_offsets(rows)
        held = self.window.spectrum.peak_hold.values
        unit = "dBFS" if self.window.settings.weighting == "Z" else f"dB{self.window.settings.weighting}FS"
        return self._write("spectrum", self._path(path, "spectrum", "csv", "Export spectrum"),
                           lambda p: write_spectrum_csv(p, rows.row_hz, history.latest + offsets,
                                                        None if held is None or held.shape != offsets.shape else held,
                                                        unit=unit))

    def export_log(self, path: str | None = None) -> str | None:
        """Every measurement so far, CSV."""
        if self.feed is None:
            return None
        rows = self.feed.log()
        if not rows:  # the figures run while their tab is shown: say so, write no empty file
            self.window.session.problems.report(
                "export", "no measurements to export yet: they are made while the Measurements "
                "or Octave bands tab is shown", "warning")
            self.window._present_problems()
            return None
        return self._write("measurement log", self._path(path, "measurements", "csv", "Export measurement log"),
                           lambda p: write_measurement_log_csv(p, rows))

    def export_spectrogram(self, path: str | None = None) -> str | None:
        """The waterfall's history (dB per row and column) with its frequency and time axes, .npz."""
        h = self.window.waterfall.history
        n = min(h.head, h.width)
        if not n:
            return None
        j = np.arange(h.head - n, h.head)

        def write(p):
            write_spectrogram_npz(p, h.db[:, j % h.width].T, h.column_end_time(j), h.rows.row_hz,
                                  scale=h.scale, samplerate=h.params.samplerate, n_fft=h.params.n_fft,
                                  hop=h.params.hop, frames_per_column=h.merge,
                                  calibration=h.params.calibration or "")  # mic file in the dB
        return self._write("spectrogram", self._path(path, "spectrogram", "npz", "Export spectrogram"), write)

    def export_png(self, path: str | None = None) -> str | None:
        """The waterfall as drawn, with its axes, PNG."""
        def write(p):
            buffer = QtCore.QBuffer()
            buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
            self.window.waterfall.grab().toImage().save(buffer, "PNG")
            write_bytes(p, bytes(buffer.data()))
        return self._write("spectrogram picture", self._path(path, "spectrogram", "png", "Export picture"), write)

