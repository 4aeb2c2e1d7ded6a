"""The measurement panel: tone, distortion, noise, DC, hum, Leq and the live detectors, read from
the session's :class:`~monitor.measurement_feed.MeasurementFeed`.

Each figure's tooltip states its window and method; the same sentences are in the README's
"Measurements" section (a test checks that they agree).
"""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from monitor.gui.controls import _combo, _field_spin
from monitor.measurement_feed import CALIBRATOR_LEVELS
from monitor.settings import BAND_FRACTIONS, WEIGHTING_CHOICES, Settings, field_spec

__all__ = ["FIGURES", "METHODS", "MeasurementSettings", "MeasurementsView", "format_measurement"]

_WINDOW = ("Welch average of the last N frames (measurement n_fft, 50 % overlap, N = averages), "
           "7-term Blackman-Harris window (ENBW 2.63 bins), power scaled so that the window's "
           "noise bandwidth is accounted for.")
#: How each figure is measured (tooltips and README).
METHODS = {
    "fundamental": "Fundamental: the strongest bin, refined by Gaussian (log-parabolic) "
                   "interpolation, then by maximising the frames' DTFT power at continuous frequency.",
    "level": "Level: RMS integration over the fundamental's main lobe (+-7 bins), noise under it "
             "subtracted; dBFS on the AES17 scale (a full-scale sine reads 0 dBFS), dB SPL = dBFS "
             "+ the calibration offset.",
    "thd": "THD: sqrt(sum of harmonic powers 2..N / fundamental power), each harmonic integrated "
           "over its main lobe with the local noise density subtracted.",
    "thdn": "THD+N: sqrt(everything in the band except the fundamental's lobe / fundamental "
            "power); band 20 Hz-20 kHz (clipped to Nyquist).",
    "sinad": "SINAD: (signal + noise + distortion) / (noise + distortion) in the same band.",
    "snr": "SNR: fundamental power / noise power in the band, harmonic lobes replaced by the "
           "local noise density.",
    "enob": "ENOB (IEEE 1241): (10 log10(0.5 / NAD) - 1.76) / 6.02 with NAD the full-band noise "
            "and distortion referred to full scale.",
    "noise": "Noise floor: the band's power with every line replaced by the noise density under "
             "it, flat and A-weighted (IEC 61672-1 curve applied per bin).",
    "dc": "DC: each frame's window-weighted mean, averaged over the frames, in full-scale "
          "units and dB re full scale; the DC warning lights at -40 dB or more.",
    "hum": "Hum: coherent power of the lines at k x 50 or k x 60 Hz (whichever is stronger, "
           "found within 0.5 %), k = 1..6, each counted 10 dB above the noise.",
    "leq": "Leq: time-domain A/C/Z weighting filters (IEC 61672-1 poles, bilinear transform), "
           "energy averaged over the Leq period; LCpeak is the largest C-weighted |sample|.",
    "detectors": "Clipping: runs of 2 or more samples at a rail (int16 +32767/32768 or -1) or "
                 "any sample beyond full scale; dropouts: 32 or more exact zeros inside signal.",
    "discontinuities": "Discontinuities: a sample whose linear-prediction error (order 12, fitted to "
                       "the 40 ms before) is over 12 times its RMS of the 50 ms before, and at least "
                       "-60 dBFS, with the error back under 3 times that RMS 10 ms after; a lost, "
                       "repeated or spliced buffer. Sharp attacks in music can fire it.",
}
#: Rows of the panel: (key in the table, label, method key).
FIGURES = (
    ("fundamental", "fundamental", "fundamental"),
    ("level", "level", "level"),
    ("thd", "THD", "thd"),
    ("thdn", "THD+N", "thdn"),
    ("sinad", "SINAD", "sinad"),
    ("snr", "SNR", "snr"),
    ("enob", "ENOB", "enob"),
    ("noise", "noise floor", "noise"),
    ("noise_a", "noise floor (A)", "noise"),
    ("dc", "DC", "dc"),
    ("hum", "hum", "hum"),
    ("laeq", "LAeq", "leq"),
    ("lceq", "LCeq", "leq"),
    ("lzeq", "LZeq", "leq"),
    ("lcpeak", "LCpeak", "leq"),
    ("clipping", "clipping", "detectors"),
    ("dropouts", "dropouts", "detectors"),
    ("discontinuities", "discontinuities", "discontinuities"),
    ("dc_warnings", "DC warnings", "dc"),
)
_DASH = "—"


def _f(v, fmt: str, unit: str = "") -> str:
    return _DASH if v is None else f"{v:{fmt}}{unit}"


def format_measurement(m: dict) -> dict[str, str]:
    """The panel's text for each row of :data:`FIGURES`, from ``MeasurementFeed.latest()``."""
    spl = m.get("spl_offset_db") is not None
    level_unit = " dB SPL" if spl else " dBFS"
    lv = m.get("levels") or {}
    suffix = "_spl" if spl else ""
    thd = (_DASH if m.get("thd_percent") is None else
           f"{m['thd_percent']:.4g} % ({_f(m.get('thd_db'), '.1f', ' dB')})")
    thdn = (_DASH if m.get("thdn_percent") is None else
            f"{m['thdn_percent']:.4g} % ({_f(m.get('thdn_db'), '.1f', ' dB')})")
    hum = _DASH
    if m.get("hum_hz") is not None:
        hum = f"{m['hum_hz']:.1f} Hz, {_f(m.get('hum_dbfs'), '.1f', ' dBFS')}"
        lines = [h for h in m.get("hum_harmonics_dbfs") or [] if h is not None]
        if len(lines) > 1:
            hum += f" ({len(lines)} lines)"
    clip, drop = m.get("clipping") or {}, m.get("dropouts") or {}
    return {
        "fundamental": _f(m.get("fundamental_hz"), ".3f", " Hz"),
        "level": _f(m.get("level_db_spl" if spl else "level_dbfs"), ".2f", level_unit),
        "thd": thd, "thdn": thdn,
        "sinad": _f(m.get("sinad_db"), ".1f", " dB"),
        "snr": _f(m.get("snr_db"), ".1f", " dB"),
        "enob": _f(m.get("enob_bits"), ".2f", " bits"),
        "noise": _f(m.get("noise_db_spl" if spl else "noise_dbfs"), ".1f", level_unit),
        "noise_a": _f(m.get("noise_db_spl_a" if spl else "noise_dbfs_a"), ".1f",
                      " dB(A) SPL" if spl else " dBFS(A)"),
        "dc": _DASH if m.get("dc_offset") is None else f"{m['dc_offset']:+.2e} FS ({_f(m.get('dc_dbfs'), '.1f', ' dB')})"
              + ("  ⚠" if m.get("dc_warning") else ""),
        "hum": hum,
        "laeq": _f(lv.get("laeq_db" + suffix), ".1f", " dB"),
        "lceq": _f(lv.get("lceq_db" + suffix), ".1f", " dB"),
        "lzeq": _f(lv.get("lzeq_db" + suffix), ".1f", " dB"),
        "lcpeak": _f(lv.get("lcpeak_db" + suffix), ".1f", " dB"),
        "clipping": f"{clip.get('events', 0)} events, {clip.get('samples', 0)} samples",
        "dropouts": f"{drop.get('events', 0)} events, {drop.get('samples', 0)} samples",
        "discontinuities": _discontinuities(m.get("discontinuities") or {}),
        "dc_warnings": str(m.get("dc_warnings", 0)),
    }


def _discontinuities(d: dict) -> str:
    """'3 events, last at 12.35 s' (stream time of the newest)."""
    last = d.get("last_time_s")
    return f"{d.get('events', 0)} events" + ("" if last is None else f", last at {last:.2f} s")


class MeasurementSettings(QtWidgets.QWidget):
    """What the user chooses for the measurements, one widget per settings row; emits
    ``changed(dict)`` with the fields changed (the window hands them to the session)."""

    changed = QtCore.pyqtSignal(dict)

    def __init__(self, settings: Settings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.weighting = _combo(WEIGHTING_CHOICES)
        self.bands = _combo([f"1/{b}" for b in BAND_FRACTIONS], list(BAND_FRACTIONS))
        self.harmonics = _field_spin("harmonics", 1)
        self.averages = _field_spin("measure_averages", 1)
        self.reference = _field_spin("reference_channel", 1)
        self.compare = _field_spin("compare_channel", 1)
        self.calibration = QtWidgets.QPushButton("none")
        self.calibration.setToolTip(field_spec("calibration").help + "; click to choose, "
                                    "right-click to turn off")
        self.calibration.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        for name, widget in (("weighting", self.weighting), ("band_fraction", self.bands),
                             ("harmonics", self.harmonics), ("measure_averages", self.averages),
                             ("reference_channel", self.reference), ("compare_channel", self.compare),
                             ("calibration", self.calibration)):
            widget.setToolTip(widget.toolTip() or field_spec(name).help)
            form.addRow(field_spec(name).label, widget)
        self.set_settings(settings)
        self.weighting.currentIndexChanged.connect(
            lambda _i: self.changed.emit({"weighting": self.weighting.currentData()}))
        self.bands.currentIndexChanged.connect(
            lambda _i: self.changed.emit({"band_fraction": self.bands.currentData()}))
        for name, box in (("harmonics", self.harmonics), ("measure_averages", self.averages),
                          ("reference_channel", self.reference), ("compare_channel", self.compare)):
            box.valueChanged.connect(lambda v, n=name: self.changed.emit({n: int(v)}))
        self.calibration.clicked.connect(self._choose_calibration)
        self.calibration.customContextMenuRequested.connect(
            lambda _pos: self.changed.emit({"calibration": None}))

    def set_settings(self, settings: Settings) -> None:
        """Show ``settings`` without emitting."""
        widgets = (self.weighting, self.bands, self.harmonics, self.averages, self.reference,
                   self.compare)
        for w in widgets:
            w.blockSignals(True)
        self.weighting.setCurrentIndex(self.weighting.findData(settings.weighting))
        self.bands.setCurrentIndex(self.bands.findData(settings.band_fraction))
        self.harmonics.setValue(settings.harmonics)
        self.averages.setValue(settings.measure_averages)
        self.reference.setValue(settings.reference_channel)
        self.compare.setValue(settings.compare_channel)
        for w in widgets:
            w.blockSignals(False)
        name = settings.calibration
        self.calibration.setText("none" if name is None else name.rsplit("/", 1)[-1])

    def _choose_calibration(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Microphone calibration file", "",
                                                        "calibration files (*.txt *.cal *.frd);;all files (*)")
        if path:
            self.changed.emit({"calibration": path})


class MeasurementsView(QtWidgets.QWidget):
    """The figures, the calibration in use and the Calibrate / Reset Leq / Export buttons.

    Signals
    -------
    calibrate_requested(float)
        dB SPL of the calibrator the user says is playing (94 or 114).
    export_log_requested()
    """

    calibrate_requested = QtCore.pyqtSignal(float)
    export_log_requested = QtCore.pyqtSignal()
    settings_changed = QtCore.pyqtSignal(dict)

    def __init__(self, feed, settings: Settings | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self._version = -1
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.settings_form = MeasurementSettings(settings or Settings())
        self.settings_form.changed.connect(self.settings_changed.emit)
        outer.addWidget(self.settings_form)
        grid = QtWidgets.QGridLayout()
        outer.addLayout(grid, 1)
        grid.setContentsMargins(0, 6, 0, 0)
        grid.setVerticalSpacing(2)
        self.values: dict[str, QtWidgets.QLabel] = {}
        for row, (key, label, method) in enumerate(FIGURES):
            name = QtWidgets.QLabel(label)
            value = QtWidgets.QLabel(_DASH)
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            tip = f"{METHODS[method]}\n{_WINDOW}" if method not in ("leq", "detectors", "dc", "discontinuities") else METHODS[method]
            name.setToolTip(tip)
            value.setToolTip(tip)
            grid.addWidget(name, row, 0)
            grid.addWidget(value, row, 1)
            self.values[key] = value
        row = len(FIGURES)
        self.window_label = QtWidgets.QLabel("")
        self.window_label.setWordWrap(True)
        self.window_label.setToolTip(_WINDOW)
        grid.addWidget(self.window_label, row, 0, 1, 2)
        self.calibration_label = QtWidgets.QLabel("calibration: none")
        self.calibration_label.setWordWrap(True)
        grid.addWidget(self.calibration_label, row + 1, 0, 1, 2)
        buttons = QtWidgets.QHBoxLayout()
        self.calibrate_buttons = []
        for level in CALIBRATOR_LEVELS:
            b = QtWidgets.QPushButton(f"Calibrate {level:g} dB")
            b.setToolTip(f"While a {level:g} dB SPL 1 kHz calibrator plays on the microphone: set this "
                         f"input's SPL offset so that the tone reads {level:g} dB SPL (saved per input)")
            b.clicked.connect(lambda _=False, v=level: self.calibrate_requested.emit(v))
            buttons.addWidget(b)
            self.calibrate_buttons.append(b)
        grid.addLayout(buttons, row + 2, 0, 1, 2)
        more = QtWidgets.QHBoxLayout()
        self.reset_button = QtWidgets.QPushButton("Restart Leq")
        self.reset_button.setToolTip("Start a new Leq / LCpeak period now")
        self.reset_button.clicked.connect(self._reset_levels)
        self.export_button = QtWidgets.QPushButton("Export log…")
        self.export_button.setToolTip("Write every measurement so far as CSV")
        self.export_button.clicked.connect(self.export_log_requested.emit)
        more.addWidget(self.reset_button)
        more.addWidget(self.export_button)
        grid.addLayout(more, row + 3, 0, 1, 2)
        grid.setRowStretch(row + 4, 1)

    def _reset_levels(self) -> None:
        consumer = self.feed.consumer
        if consumer is not None:
            consumer.reset_levels()

    def refresh(self) -> bool:
        """Show the latest measurement if there is a new one; returns True when redrawn."""
        m = self.feed.latest()
        version = (self.feed.updates, m.get("feeds"))
        if version == self._version:
            return False
        self._version = version
        for key, text in format_measurement(m).items():
            self.values[key].setText(text)
        if m.get("n_fft"):
            self.window_label.setText(f"{m['window']}, n_fft {m['n_fft']}, {m['frames_averaged']} "
                                      f"frames averaged, band {m['band_hz'][0]:g}-{m['band_hz'][1]:g} Hz")
        cal = self.feed.calibration
        offset = self.feed.spl_offset
        text = f"calibration file: {cal.source if cal is not None else 'none'}"
        text += f"; SPL offset {offset:+.2f} dB" if offset is not None else "; levels in dBFS (not calibrated)"
        self.calibration_label.setText(text)
        return True
