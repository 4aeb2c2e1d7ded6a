"""Controls: the side panel (source, analysis, display) and the view bar (views, pause, cursor).

The widgets only say what the user asked for (signals carrying Settings field changes); the
main window hands them to the session and calls :meth:`ControlPanel.set_settings` to show the
settings in force (which also reverts a rejected change). Ranges come from the settings table
(:data:`monitor.settings.FIELDS`).
"""

from __future__ import annotations

from typing import Any, Optional

from PyQt6 import QtCore, QtWidgets

from monitor.gui.flow_layout import FlowLayout

from monitor.settings import (COLORMAPS, N_FFT_MAX, N_FFT_MIN, NORMALIZATIONS, SCALES, WINDOWS,
                              Settings, field_spec, hop_min)

__all__ = ["ControlPanel", "ViewBar", "VIEWS", "AXES", "VALUE_SCALES"]

# What the window shows, one click each. A view choice changes only what it names: the layout
# here, the frequency axis (the `scale` setting) and the value scale (dB or linear power) in
# the two groups beside it; never another setting (the Waveform view used to set scope_ms to
# 1000 ms for good).
VIEWS: dict[str, dict[str, Any]] = {
    "spectrogram": {"label": "Spectrogram", "layout": "all",
                    "tip": "the waterfall, with the spectrum and the waveform under it"},
    "spectrum": {"label": "Spectrum", "layout": "spectrum",
                 "tip": "only the spectrum of the current frame, large"},
    "waveform": {"label": "Waveform", "layout": "scope",
                 "tip": "only the waveform (its span is the 'waveform span' setting)"},
}
#: The frequency axis: values of the `scale` setting, with their button labels and tips.
AXES: dict[str, tuple[str, str]] = {
    "linear": ("Linear", "frequency axis: linear in Hz (harmonics evenly spaced)"),
    "log": ("Log", "frequency axis: logarithmic (octaves evenly spaced)"),
    "mel": ("Mel", "frequency axis: mel bands (pitch as heard; the number of bands is "
                   "'mel bands' in Analysis)"),
}
#: The value scale of the colours: linear power, or power in dB.
VALUE_SCALES: dict[str, tuple[str, str]] = {
    "power": ("Power", "colours: linear power (FS² = a full-scale sine's power); quiet parts "
                       "vanish"),
    "db": ("dB", "colours: power in dB (dBFS) between the dB floor and ceiling"),
}
N_FFTS = [2 ** k for k in range(N_FFT_MIN.bit_length() - 1, N_FFT_MAX.bit_length())]
# Input sample rates offered, Hz; None = the device's default (a file keeps its own rate).
SAMPLERATES = [None, 16000.0, 22050.0, 44100.0, 48000.0, 96000.0]
LATENCIES = ["low", "high"]
CHANNELS_SHOWN = 8  # spin range of channels/channel; a larger command-line value widens it
BLOCKSIZE_SHOWN = 8192  # frames; likewise
VALUE_LABELS = {"db": "dB", "power": "linear power"}



def _combo(items, data=None) -> QtWidgets.QComboBox:
    box = _narrow(QtWidgets.QComboBox())
    for i, text in enumerate(items):
        box.addItem(str(text), items[i] if data is None else data[i])
    return box


def _narrow(box: QtWidgets.QComboBox) -> QtWidgets.QComboBox:
    """A combo box as narrow as ten characters: a long device or file name is elided in it
    instead of pushing the panel (and the window) wider."""
    box.setSizeAdjustPolicy(
        QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(10)
    return box


def _tab(*groups: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """A tab's page: ``groups`` stacked, in a scroll area (a short screen scrolls the page,
    it never pushes the window taller)."""
    page = QtWidgets.QWidget()
    v = QtWidgets.QVBoxLayout(page)
    v.setContentsMargins(4, 4, 4, 4)
    v.setSpacing(8)
    for g in groups:
        v.addWidget(g)
    v.addStretch(1)
    scroll = QtWidgets.QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(page)
    return scroll


def _spin(lo: float, hi: float, step: float, decimals: int = 0, suffix: str = "") \
        -> QtWidgets.QAbstractSpinBox:
    box = QtWidgets.QSpinBox() if decimals == 0 else QtWidgets.QDoubleSpinBox()
    if decimals:
        box.setDecimals(decimals)
    box.setRange(int(lo) if decimals == 0 else lo, int(hi) if decimals == 0 else hi)
    box.setSingleStep(int(step) if decimals == 0 else step)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)  # apply on Enter / focus out / arrows, not per keystroke
    box.setAccelerated(True)
    return box


def _field_spin(name: str, step: float, decimals: int = 0, suffix: str = "") \
        -> QtWidgets.QAbstractSpinBox:
    """A spin box over the range of setting ``name`` in the settings table."""
    f = field_spec(name)
    box = _spin(f.lo, f.hi, step, decimals, suffix)
    box.setToolTip(f.help)
    return box


class ControlPanel(QtWidgets.QWidget):
    """All live settings as widgets.

    Signals
    -------
    changed(dict)
        Analysis/display fields to change, e.g. ``{'n_fft': 4096}``.
    source_changed(dict)
        Source fields to change (the pipeline is rebuilt), e.g. ``{'generator': 'pink'}``.
    value_mode_changed(str)
        'db' or 'power'.
    """

    changed = QtCore.pyqtSignal(dict)
    source_changed = QtCore.pyqtSignal(dict)
    value_mode_changed = QtCore.pyqtSignal(str)
    spectrum_range_changed = QtCore.pyqtSignal(str)

    def __init__(self, settings: Settings, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        from monitor.gui.status import ElidedLabel

        self.settings = settings
        self._updating = False
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.setSpacing(0)
        # Grouped in tabs (25 rows in one column showed 8 at 1280×800).
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setUsesScrollButtons(True)
        outer.addWidget(self.tabs)

        # -- source ---------------------------------------------------------------------------
        src = QtWidgets.QGroupBox("Source")
        form = QtWidgets.QFormLayout(src)
        self.source_combo = _narrow(QtWidgets.QComboBox())
        self.source_combo.setToolTip("default input, an input device, a generator, or a file")
        self.generator_edit = QtWidgets.QLineEdit()
        self.generator_edit.setPlaceholderText("sine:1000, sweep:20-20000:10, pink …")
        self.generator_edit.setToolTip("generator spec; Enter applies: sine:FREQ[@DB], "
                                       "sweep:F0-F1:SECONDS[@DB], tones:F1,F2[@DB], white, pink, "
                                       "silence")
        self.file_button = QtWidgets.QPushButton("Open file…")
        self.loop_check = QtWidgets.QCheckBox("loop")
        file_row = QtWidgets.QHBoxLayout()
        file_row.addWidget(self.file_button, 1)
        file_row.addWidget(self.loop_check)
        # The path elided in the middle (the file name stays), whole in the tooltip.
        self.file_label = ElidedLabel(mode=QtCore.Qt.TextElideMode.ElideMiddle)
        self.file_label.setObjectName("panelTitle")
        form.addRow("input", self.source_combo)
        form.addRow("generator", self.generator_edit)
        form.addRow(file_row)
        form.addRow(self.file_label)
        # Options of the opened input: each change reopens the source (rebuilds the pipeline).
        options_title = QtWidgets.QLabel("input options")
        options_title.setObjectName("panelTitle")
        options_title.setToolTip("how the input is opened; a change reopens it")
        self.samplerate_combo = _combo(["device default"] + [f"{r:g} Hz" for r in SAMPLERATES[1:]],
                                       SAMPLERATES)
        self.samplerate_combo.setToolTip("input sample rate; device default = the device's own "
                                         "(a file always plays at its own rate, a generator "
                                         "at 48 kHz by default)")
        self.channels_spin = _spin(0, CHANNELS_SHOWN, 1)
        self.channels_spin.setSpecialValueText("default")
        self.channels_spin.setToolTip("channels to open; default = up to 2 the device has")
        self.channel_spin = _spin(0, CHANNELS_SHOWN, 1)
        self.channel_spin.setSpecialValueText("mono mix")
        self.channel_spin.setToolTip("the channel analysed (1-based), or the mix of all")
        self.blocksize_spin = _spin(0, BLOCKSIZE_SHOWN, 64, suffix=" smp")
        self.blocksize_spin.setSpecialValueText("auto")
        self.blocksize_spin.setToolTip("frames per audio callback; auto = about 10 ms (512 frames at 48 kHz), up to the hop (≤ 25 ms)")
        self.latency_combo = _combo(LATENCIES)
        self.latency_combo.setToolTip("PortAudio's suggested input latency")
        form.addRow(options_title)
        form.addRow("sample rate", self.samplerate_combo)
        form.addRow("channels", self.channels_spin)
        form.addRow("analyse", self.channel_spin)
        form.addRow("block size", self.blocksize_spin)
        form.addRow("latency", self.latency_combo)
        src.setTitle("")
        self.tabs.addTab(_tab(src), "Source")

        # -- analysis -------------------------------------------------------------------------
        an = QtWidgets.QGroupBox("Analysis")
        form = QtWidgets.QFormLayout(an)
        self.n_fft_combo = _combo(N_FFTS)
        self.n_fft_combo.setToolTip("FFT/window length: longer = finer frequency, coarser time")
        self.hop_spin = _field_spin("hop", 64, suffix=" smp")
        self.hop_spin.setToolTip("samples between columns")
        self.window_combo = _combo(WINDOWS)
        self.n_mels_spin = _field_spin("n_mels", 8)
        self.n_mels_spin.setToolTip("mel bands (mel scale)")
        self.fmin_spin = _field_spin("fmin", 10, decimals=1, suffix=" Hz")
        self.fmax_spin = _spin(0, field_spec("fmax").hi, 100, decimals=1, suffix=" Hz")  # 0: Nyquist
        self.fmax_spin.setSpecialValueText("Nyquist")
        self.normalize_combo = _combo(NORMALIZATIONS)
        self.normalize_combo.setToolTip("normalise the input (before analysis) to a peak or RMS "
                                        "target; the gain shows under the meters")
        self.target_spin = _field_spin("normalize_target", 1, decimals=1, suffix=" dBFS")
        self.target_spin.setToolTip("normalisation target (default -1 dBFS peak, -20 dBFS RMS)")
        self.htk_check = QtWidgets.QCheckBox("HTK mel")
        self.htk_check.setToolTip("mel scale by the HTK formula instead of Slaney's")
        form.addRow("n_fft", self.n_fft_combo)
        form.addRow("hop", self.hop_spin)
        form.addRow("window", self.window_combo)
        form.addRow("mel bands", self.n_mels_spin)
        form.addRow("", self.htk_check)
        form.addRow("f min", self.fmin_spin)
        form.addRow("f max", self.fmax_spin)
        form.addRow("normalise", self.normalize_combo)
        form.addRow("target", self.target_spin)
        an.setTitle("")
        self.tabs.addTab(_tab(an), "Analysis")

        # -- display --------------------------------------------------------------------------
        disp = QtWidgets.QGroupBox("Display")
        form = QtWidgets.QFormLayout(disp)
        self.scale_combo = _combo(SCALES)
        self.value_combo = _combo(list(VALUE_LABELS.values()), list(VALUE_LABELS))
        self.db_floor_spin = _field_spin("db_floor", 5, decimals=1, suffix=" dB")
        self.db_ceil_spin = _field_spin("db_ceil", 5, decimals=1, suffix=" dB")
        self.colormap_combo = _combo(COLORMAPS)
        self.history_spin = _field_spin("history", 1, decimals=1, suffix=" s")
        self.orientation_combo = _combo(["horizontal", "vertical"])
        self.scope_spin = _field_spin("scope_ms", 10, suffix=" ms")
        self.scope_spin.setToolTip("span of the waveform view")
        self.fps_spin = _field_spin("fps", 5, suffix=" fps")
        self.fps_spin.setToolTip("display refresh rate (the analysis does not depend on it)")
        form.addRow("frequency", self.scale_combo)
        form.addRow("values", self.value_combo)
        self.scale_combo.setToolTip("frequency axis (also the Frequency buttons above the "
                                    "waterfall)")
        self.value_combo.setToolTip("value scale of the colours (also the Values buttons)")
        form.addRow("dB floor", self.db_floor_spin)
        form.addRow("dB ceiling", self.db_ceil_spin)
        form.addRow("colours", self.colormap_combo)
        form.addRow("history", self.history_spin)
        form.addRow("orientation", self.orientation_combo)
        form.addRow("waveform span", self.scope_spin)
        form.addRow("refresh", self.fps_spin)
        from monitor.gui.spectrum import RANGES

        self.spectrum_range_combo = _combo(list(RANGES))
        self.spectrum_range_combo.setToolTip("level range of the spectrum: auto follows the "
                                             "signal; independent of the dB floor/ceiling")
        self.spectrum_range_combo.currentIndexChanged.connect(
            lambda _i: self.spectrum_range_changed.emit(self.spectrum_range_combo.currentData()))
        form.addRow("spectrum range", self.spectrum_range_combo)
        self.theme_combo = _combo(list(field_spec("theme").choices))
        self.theme_combo.setToolTip(field_spec("theme").help)
        self.ui_scale_spin = _field_spin("ui_scale", 0.25, decimals=2, suffix=" ×")
        form.addRow("theme", self.theme_combo)
        form.addRow("UI scale", self.ui_scale_spin)
        self.display_form = form  # more display rows (theme, UI scale) are added to it
        disp.setTitle("")
        self.tabs.addTab(_tab(disp), "Display")

        self._connect()
        self.set_settings(settings)

    def add_tab(self, widget: QtWidgets.QWidget, title: str) -> None:
        """Another group of settings (the classifier's) as a tab of its own."""
        self.tabs.addTab(_tab(widget), title)

    # -- wiring ---------------------------------------------------------------------------------
    def _connect(self) -> None:
        def on_combo(box: QtWidgets.QComboBox, field: str) -> None:
            box.currentIndexChanged.connect(lambda _i: self._emit({field: box.currentData()}))

        def on_spin(box, field: str, convert=lambda v: v) -> None:
            box.valueChanged.connect(lambda v: self._emit({field: convert(v)}))

        on_combo(self.n_fft_combo, "n_fft")
        on_spin(self.hop_spin, "hop", int)
        on_combo(self.window_combo, "window")
        on_spin(self.n_mels_spin, "n_mels", int)
        on_spin(self.fmin_spin, "fmin", float)
        on_spin(self.fmax_spin, "fmax", lambda v: None if v <= 0 else float(v))
        on_combo(self.normalize_combo, "normalize")
        on_combo(self.scale_combo, "scale")
        on_spin(self.db_floor_spin, "db_floor", float)
        on_spin(self.db_ceil_spin, "db_ceil", float)
        on_combo(self.colormap_combo, "colormap")
        on_spin(self.history_spin, "history", float)
        on_combo(self.orientation_combo, "orientation")
        on_spin(self.scope_spin, "scope_ms", float)
        on_spin(self.fps_spin, "fps", float)
        on_spin(self.target_spin, "normalize_target", float)
        on_combo(self.theme_combo, "theme")
        on_spin(self.ui_scale_spin, "ui_scale", float)
        self.htk_check.toggled.connect(lambda on: self._emit({"htk": bool(on)}))

        def on_source_combo(box: QtWidgets.QComboBox, field: str) -> None:
            box.currentIndexChanged.connect(
                lambda _i: self._emit_source({field: box.currentData()}))

        def on_source_spin(box, field: str, convert) -> None:
            box.valueChanged.connect(lambda v: self._emit_source({field: convert(v)}))

        on_source_combo(self.samplerate_combo, "samplerate")
        on_source_spin(self.channels_spin, "channels", lambda v: int(v) or None)
        on_source_spin(self.channel_spin, "channel", lambda v: int(v) or None)
        on_source_spin(self.blocksize_spin, "blocksize", int)
        on_source_combo(self.latency_combo, "latency")
        self.value_combo.currentIndexChanged.connect(
            lambda _i: None if self._updating else self.value_mode_changed.emit(
                self.value_combo.currentData()))
        self.source_combo.activated.connect(self._source_chosen)
        self.generator_edit.returnPressed.connect(
            lambda: self._emit_source({"generator": self.generator_edit.text().strip(),
                                       "input": None, "device": None}))
        self.file_button.clicked.connect(self._choose_file)
        self.loop_check.toggled.connect(
            lambda on: self._emit_source({"loop": bool(on)}) if self.settings.input else None)

    def _emit(self, changes: dict) -> None:
        if not self._updating:
            self.changed.emit(changes)

    def _emit_source(self, changes: dict) -> None:
        if not self._updating:
            self.source_changed.emit(changes)

    def _source_chosen(self, _index: int) -> None:
        kind, device = self.source_combo.currentData()
        if kind == "default":
            self._emit_source({"device": None, "input": None, "generator": None})
        elif kind == "device":
            self._emit_source({"device": device, "input": None, "generator": None})
        elif kind == "generator":
            spec = self.generator_edit.text().strip() or "sweep:100-8000:5"
            self._emit_source({"generator": spec, "input": None, "device": None})
        elif kind == "file":
            if not self._choose_file():
                self.set_settings(self.settings)

    def _choose_file(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Analyse an audio file", "",
            "Audio files (*.wav *.flac *.ogg *.mp3 *.aiff *.aif *.au *.caf);;All files (*)")
        if not path:
            return False
        self._emit_source({"input": path, "generator": None, "device": None,
                           "loop": self.loop_check.isChecked()})
        return True

    # -- showing settings -----------------------------------------------------------------------
    def set_devices(self, devices: list[dict]) -> None:
        """The input devices to offer (from monitor.sources.microphone.list_devices)."""
        self._devices = devices
        self.set_settings(self.settings)

    def set_value_mode(self, mode: str) -> None:
        self._updating = True
        try:
            self.value_combo.setCurrentIndex(max(0, self.value_combo.findData(mode)))
        finally:
            self._updating = False

    def set_settings(self, settings: Settings) -> None:
        """Show ``settings`` without emitting anything."""
        self.settings = settings
        self._updating = True
        try:
            self._fill_sources(settings)
            _select(self.n_fft_combo, settings.n_fft)
            self.hop_spin.setRange(hop_min(settings.n_fft), settings.n_fft)
            self.hop_spin.setValue(settings.hop)
            _select(self.window_combo, settings.window)
            self.n_mels_spin.setValue(settings.n_mels)
            self.fmin_spin.setValue(settings.fmin)
            self.fmax_spin.setValue(settings.fmax or 0.0)
            self.htk_check.setChecked(settings.htk)
            _select(self.normalize_combo, settings.normalize)
            # None shows the effective default of the chosen normalisation.
            self.target_spin.setValue(settings.target_dbfs())
            self.target_spin.setEnabled(settings.normalize != "none")
            _select(self.scale_combo, settings.scale)
            self.db_floor_spin.setValue(settings.db_floor)
            self.db_ceil_spin.setValue(settings.db_ceil)
            _select(self.colormap_combo, settings.colormap)
            self.history_spin.setValue(settings.history)
            _select(self.orientation_combo, settings.orientation)
            self.scope_spin.setValue(int(round(settings.scope_ms)))
            self.fps_spin.setValue(int(round(settings.fps)))
            _select(self.theme_combo, getattr(settings, "theme", "dark"))
            self.ui_scale_spin.setValue(float(getattr(settings, "ui_scale", 1.0)))
            _select_or_add(self.samplerate_combo, settings.samplerate,
                           f"{settings.samplerate or 0:g} Hz", len(SAMPLERATES))
            for box, value, shown in ((self.channels_spin, settings.channels, CHANNELS_SHOWN),
                                      (self.channel_spin, settings.channel, CHANNELS_SHOWN),
                                      (self.blocksize_spin, settings.blocksize, BLOCKSIZE_SHOWN)):
                box.setMaximum(max(shown, value or 0))  # a command-line value is shown as is
                box.setValue(value or 0)
            _select_or_add(self.latency_combo, settings.latency, f"{settings.latency:g} s"
                           if not isinstance(settings.latency, str) else settings.latency,
                           len(LATENCIES))
            self.loop_check.setChecked(settings.loop)
            if settings.generator:
                self.generator_edit.setText(settings.generator)
            self.file_label.setText(settings.input or "")
            self.file_label.setVisible(bool(settings.input))
        finally:
            self._updating = False

    def _fill_sources(self, settings: Settings) -> None:
        box = self.source_combo
        box.clear()
        box.addItem("default input", ("default", None))
        for d in getattr(self, "_devices", []):
            box.addItem(f"{d['index']}: {d['name']}", ("device", d["index"]))
        box.addItem("generator", ("generator", None))
        box.addItem("file…", ("file", None))
        if settings.input:
            box.setItemText(box.count() - 1, "file: " + settings.input.rsplit("/", 1)[-1])
            key = ("file", None)
        elif settings.generator:
            key = ("generator", None)
        elif settings.device is not None:
            key = ("device", settings.device)
            if box.findData(key) < 0:
                box.insertItem(1, f"device {settings.device}", key)
        else:
            key = ("default", None)
        box.setCurrentIndex(max(0, box.findData(key)))


def _select(box: QtWidgets.QComboBox, value: Any) -> None:
    i = box.findData(value)
    if i >= 0:
        box.setCurrentIndex(i)


def _select_or_add(box: QtWidgets.QComboBox, value: Any, text: str, offered: int) -> None:
    """Select ``value``, first adding it as ``text`` when it is not among the ``offered``
    first items (a value the command line gave, such as 32000 Hz or a latency in seconds);
    a value added for earlier settings goes."""
    while box.count() > offered:
        box.removeItem(box.count() - 1)
    if box.findData(value) < 0:
        box.addItem(text, value)
    _select(box, value)


class ViewBar(QtWidgets.QWidget):
    """A row above the waterfall: what is shown (layout), the frequency axis, the value scale,
    pause, and the cursor readout.

    Signals
    -------
    view_chosen(str)
        A key of :data:`VIEWS` (the layout).
    axis_chosen(str)
        A key of :data:`AXES` (the `scale` setting).
    values_chosen(str)
        A key of :data:`VALUE_SCALES`.
    pause_toggled(bool)
    """

    view_chosen = QtCore.pyqtSignal(str)
    axis_chosen = QtCore.pyqtSignal(str)
    values_chosen = QtCore.pyqtSignal(str)
    pause_toggled = QtCore.pyqtSignal(bool)

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        from monitor.gui.status import ElidedLabel

        outer = QtWidgets.QHBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 2)
        outer.setSpacing(6)
        flow = FlowLayout(spacing=10)
        self.flow = flow
        outer.addLayout(flow, 8)  # two rows at 1024 px (4: three rows)
        self.buttons: dict[str, QtWidgets.QToolButton] = {}
        self.axis_buttons: dict[str, QtWidgets.QToolButton] = {}
        self.value_buttons: dict[str, QtWidgets.QToolButton] = {}
        groups = (("Show", VIEWS, self.buttons, self.view_chosen),
                  ("Frequency", AXES, self.axis_buttons, self.axis_chosen),
                  ("Values", VALUE_SCALES, self.value_buttons, self.values_chosen))
        self._groups = []
        for title_text, items, buttons, signal in groups:
            box = QtWidgets.QWidget()
            layout = QtWidgets.QHBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.setSpacing(3)
            title = QtWidgets.QLabel(title_text)
            title.setObjectName("panelTitle")
            layout.addWidget(title)
            group = QtWidgets.QButtonGroup(self)
            group.setExclusive(True)
            for key, item in items.items():
                label, tip = (item["label"], item["tip"]) if isinstance(item, dict) else item
                b = QtWidgets.QToolButton()
                b.setText(label)
                b.setToolTip(tip)
                b.setCheckable(True)
                b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
                b.clicked.connect(lambda _c=False, k=key, s=signal: s.emit(k))
                group.addButton(b)
                buttons[key] = b
                layout.addWidget(b)
            self._groups.append(group)
            flow.addWidget(box)
        self.pause_button = QtWidgets.QToolButton()
        self.pause_button.setText("❚❚ Pause")
        self.pause_button.setToolTip("freeze the display (space); audio keeps being analysed")
        self.pause_button.setCheckable(True)
        self.pause_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.pause_button.toggled.connect(self._paused)
        flow.addWidget(self.pause_button)
        # The readout changes with every mouse move: elided in the room left, never widening.
        self.cursor_label = ElidedLabel(min_chars=4)
        self.cursor_label.setObjectName("cursorReadout")
        self.cursor_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                       | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.cursor_label.setMaximumWidth(self.cursor_label.fontMetrics().averageCharWidth() * 40)
        outer.addWidget(self.cursor_label, 1)

    def add_button(self, widget: QtWidgets.QWidget) -> None:
        """Another button among the view bar's, before Pause (it wraps with them)."""
        outer = self.layout()
        outer.removeWidget(widget)
        self.flow.insertWidget(self.flow.count() - 1, widget)

    def _paused(self, on: bool) -> None:
        self.pause_button.setText("▶ Resume" if on else "❚❚ Pause")
        self.pause_toggled.emit(on)

    def set_view(self, key: Optional[str], axis: Optional[str] = None,
                 values: Optional[str] = None) -> None:
        """Check the buttons of layout ``key``, frequency ``axis`` and value scale ``values``
        (None: leave that group as it is)."""
        for chosen, buttons in ((key, self.buttons), (axis, self.axis_buttons),
                                (values, self.value_buttons)):
            if chosen is None:
                continue
            for k, b in buttons.items():
                if b.isChecked() != (k == chosen):
                    b.setChecked(k == chosen)
        # The axis means nothing to the waveform, the value scale nothing to either (the
        # spectrum is always in dB): greyed, not hidden, so the row does not jump.
        if key is not None:
            for b in self.axis_buttons.values():
                b.setEnabled(key != "waveform")
            for b in self.value_buttons.values():
                b.setEnabled(key == "spectrogram")
