"""The classifier's panel: top-5 bars, watch-list alert, event log, watch editor, settings,
and the activity strip drawn under the waterfall.

All of it reads the classifier's immutable snapshot on the GUI thread and does real work only
when a new patch result arrived (every 0.48 s); the 60 Hz :meth:`ClassifierView.refresh` is
otherwise a couple of attribute reads and, for the strip, one scroll; the alert banner is looked
at again only when a new result came or its hold time ran out.
"""

from __future__ import annotations

import time
import os
from typing import Optional

import numpy as np
from PyQt6 import QtCore, QtWidgets

from monitor.errors import ParameterError
from monitor.gui.activity_strip import ActivityStrip, DANGER as _DANGER, STRIP_ROWS
from monitor.settings import AGGREGATIONS, Settings

__all__ = ["ClassifierView", "TopBars", "classifier_panel"]

N_BARS = 5
MAX_LOG_ROWS = 200  # newest events shown; the CSV export has them all
ALERT_HOLD_SECONDS = 5.0  # the banner stays this long (stream time) after an alert fired
# The event log's columns: title, and a text as wide as the column needs (the label column
# grows to the longest label shown).
LOG_COLUMNS = (("time", "00:00:00"), ("label", "Speech"), ("peak", "0.00"),
               ("duration (s)", "000.00 …"), ("clip", "clip"), ("stream t", "000:00.00"))
LABEL_CHARS_MAX = 40  # labels longer than this are elided in the log (whole in the tooltip)

_ACCENT = "#f0a030"
_DIM = "#8a919c"


def _fmt_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60.0)
    return f"{int(m)}:{s:05.2f}"


class TopBars(QtWidgets.QWidget):
    """``n`` horizontal bars (label and score), reused in place: only texts and values change."""

    def __init__(self, n: int = N_BARS, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.bars: list[QtWidgets.QProgressBar] = []
        for _ in range(n):
            bar = QtWidgets.QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)
            bar.setTextVisible(True)
            bar.setFormat("")
            bar.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
            bar.setFixedHeight(20)
            layout.addWidget(bar)
            self.bars.append(bar)
        self.restyle()
        self._shown: list = []

    def restyle(self, scale: float = 1.0) -> None:
        """Colours of the theme in force (monitor.gui.theme.COLORS), height at UI ``scale``."""
        from monitor.gui.theme import COLORS

        chunk = "#7a5418" if COLORS["base"] != "#ffffff" else "#f2c27a"
        for bar in self.bars:
            bar.setFixedHeight(int(round(20 * scale)))
            bar.setStyleSheet(
                f"QProgressBar {{ border: 1px solid {COLORS['grid']}; border-radius: 3px;"
                f" padding-left: 4px; background: {COLORS['base']}; color: {COLORS['text']}; }}"
                f"QProgressBar::chunk {{ background: {chunk}; border-radius: 2px; }}")

    def set_items(self, items: list) -> None:
        """Show ``[[label, score], ...]`` (at most ``n``); empty rows for the rest."""
        items = list(items)[: len(self.bars)]
        if items == self._shown:
            return
        self._shown = items
        # QProgressBar.setValue repaints at once (QWidget.repaint), and a repaint of a child
        # widget flushes the whole window's backing store: 5 bars made 5 extra flushes each
        # half second (python -m bench.gui_paint). With updates off they wait for one update.
        self.setUpdatesEnabled(False)
        try:
            self._set_bars(items)
        finally:
            self.setUpdatesEnabled(True)

    def _set_bars(self, items: list) -> None:
        for i, bar in enumerate(self.bars):
            if i < len(items):
                label, score = items[i]
                text = f"{label}   {score:.2f}"
                value = int(round(1000 * float(score)))
            else:
                text, value = "", 0
            if bar.format() != text:
                bar.setFormat(text)
            if bar.value() != value:
                bar.setValue(value)

    def items(self) -> list:
        return list(self._shown)


class ClassifierView(QtWidgets.QWidget):
    """The classifier panel.

    Parameters
    ----------
    classifier : SoundEventClassifier or None
        None: the panel shows why (``unavailable``) and the install command.
    settings : Settings
    unavailable : str, optional
        The reason :func:`monitor.classifier.open_classifier` gave.
    parent : QWidget, optional

    Signals
    -------
    settings_changed(dict)
        Classifier fields the user changed here (``watch``, ``threshold``, ``aggregate``,
        ``smooth_patches``, ``specific_first``), for the main window to merge into its settings
        and persist. They are already applied to the classifier.
    """

    settings_changed = QtCore.pyqtSignal(dict)

    def __init__(self, classifier, settings: Settings, parent: Optional[QtWidgets.QWidget] = None,
                 unavailable: Optional[str] = None) -> None:
        super().__init__(parent)
        self.classifier = classifier
        self.settings = settings
        self.updates = 0  # times new results were drawn (for tests and the benchmark)
        self._seq = -1
        self._stream_time = 0.0
        self._alert_due: Optional[float] = None  # stream time (s) the banner must be looked at
        self._strip = ActivityStrip(settings.history)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        title = QtWidgets.QLabel("Sound events (YAMNet)")
        title.setObjectName("panelTitle")
        layout.addWidget(title)
        if classifier is None:
            from monitor.classifier import INSTALL_COMMAND

            reason = unavailable or f"classifier unavailable; install with: {INSTALL_COMMAND}"
            if "install with" not in reason:
                reason += f"; install with: {INSTALL_COMMAND}"
            self.message = QtWidgets.QLabel(reason)
            self.message.setWordWrap(True)
            self.message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            self.message.setStyleSheet(f"color: {_DIM};")
            layout.addWidget(self.message)
            layout.addStretch(1)
            return
        self.message = None
        self.alert = QtWidgets.QLabel("")
        self.alert.setObjectName("classifierAlert")
        self.alert.setStyleSheet(f"QLabel#classifierAlert {{ background: #5a1512; color: white;"
                                 f" border: 1px solid {_DANGER}; border-radius: 4px; padding: 4px;"
                                 f" font-weight: bold; }}")
        self.alert.setVisible(False)
        layout.addWidget(self.alert)
        self.error_label = QtWidgets.QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {_DANGER};")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        # A model loaded after start-up (monitor.classifier.deferred_model) says so meanwhile.
        self.loading_label = None
        if getattr(classifier.model, "loading", False):
            self.loading_label = QtWidgets.QLabel("loading the model…")
            self.loading_label.setStyleSheet(f"color: {_DIM};")
            layout.addWidget(self.loading_label)
        self.bars = TopBars(N_BARS)
        layout.addWidget(self.bars)
        # The settings and the watch list: in this panel, unless the window takes them into its
        # Controls tabs (take_settings_panel), which leaves this panel the results alone.
        self.settings_box = QtWidgets.QWidget()
        sv = QtWidgets.QVBoxLayout(self.settings_box)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.addWidget(self._settings_row())
        sv.addWidget(self._watch_editor())
        layout.addWidget(self.settings_box)
        layout.addWidget(self._event_log(), 1)
        self.apply_settings(settings)

    # -- construction ---------------------------------------------------------------------------
    def _settings_row(self) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        # Two rows, so the panel does not force the dock (and so squeeze the waterfall) wide.
        grid = QtWidgets.QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.threshold_spin = QtWidgets.QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setToolTip("labels scoring under this are hidden")
        self.aggregate_combo = QtWidgets.QComboBox()
        self.aggregate_combo.addItems(list(AGGREGATIONS))
        self.aggregate_combo.setToolTip("smoothing of the per-patch scores")
        self.smooth_spin = QtWidgets.QSpinBox()
        self.smooth_spin.setRange(1, 100)
        self.smooth_spin.setToolTip("patches smoothed over (0.48 s each)")
        self.specific_check = QtWidgets.QCheckBox("specific first")
        self.specific_check.setToolTip("Bark before Dog before Animal")
        cells = (("threshold", self.threshold_spin, 0, 0), ("smooth", self.aggregate_combo, 0, 2),
                 ("over", self.smooth_spin, 1, 0))
        for label, w, r, c in cells:
            grid.addWidget(QtWidgets.QLabel(label), r, c)
            grid.addWidget(w, r, c + 1)
        grid.addWidget(self.specific_check, 1, 2, 1, 2)
        grid.setColumnStretch(4, 1)
        self.threshold_spin.valueChanged.connect(lambda v: self._change(threshold=round(v, 4)))
        self.aggregate_combo.currentTextChanged.connect(lambda t: self._change(aggregate=t))
        self.smooth_spin.valueChanged.connect(lambda v: self._change(smooth_patches=int(v)))
        self.specific_check.toggled.connect(lambda b: self._change(specific_first=bool(b)))
        return box

    def _watch_editor(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Watch list")
        grid = QtWidgets.QGridLayout(box)
        self.watch_edit = QtWidgets.QLineEdit()
        self.watch_edit.setPlaceholderText("label, e.g. Dog, Siren, Glass, Baby cry…")
        completer = QtWidgets.QCompleter(list(self.classifier.labels), self)
        completer.setCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(QtCore.Qt.MatchFlag.MatchContains)
        self.watch_edit.setCompleter(completer)
        self.watch_threshold = QtWidgets.QDoubleSpinBox()
        self.watch_threshold.setRange(0.01, 1.0)
        self.watch_threshold.setSingleStep(0.05)
        self.watch_threshold.setValue(0.3)
        self.watch_add = QtWidgets.QPushButton("Add")
        self.watch_list = QtWidgets.QListWidget()
        self.watch_list.setMaximumHeight(70)
        self.watch_remove = QtWidgets.QPushButton("Remove")
        self.watch_error = QtWidgets.QLabel("")
        self.watch_error.setStyleSheet(f"color: {_DANGER};")
        grid.addWidget(self.watch_edit, 0, 0)
        grid.addWidget(self.watch_threshold, 0, 1)
        grid.addWidget(self.watch_add, 0, 2)
        grid.addWidget(self.watch_list, 1, 0, 1, 2)
        grid.addWidget(self.watch_remove, 1, 2, QtCore.Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.watch_error, 2, 0, 1, 3)
        # --save-clips: the session's AlertClips follows this switch (monitor.gui.save_last).
        self.clips_check = QtWidgets.QCheckBox("save a clip of each alert")
        self.clips_check.setToolTip("pre-roll + until a few seconds after the event, one WAV "
                                    "file per alert (--save-clips DIR, --clip-after SECONDS)")
        grid.addWidget(self.clips_check, 3, 0, 1, 3)
        self.watch_add.clicked.connect(self._add_watch)
        self.watch_edit.returnPressed.connect(self._add_watch)
        self.watch_edit.textEdited.connect(lambda _t: self.watch_error.setText(""))
        # With the completer open, the popup has the mouse: a click on Add only closed it and
        # added nothing (and the next label typed became "DogVacuum"). Take that click as Add.
        completer.popup().installEventFilter(self)
        completer.popup().setObjectName("completerPopup")
        self.watch_remove.clicked.connect(self._remove_watch)
        return box

    def _event_log(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Event log")
        v = QtWidgets.QVBoxLayout(box)
        self.table = QtWidgets.QTableWidget(0, len(LOG_COLUMNS))
        self.table.setHorizontalHeaderLabels([title for title, _ in LOG_COLUMNS])
        self.table.horizontalHeaderItem(0).setToolTip("wall-clock time the event began")
        self.table.horizontalHeaderItem(5).setToolTip("stream time the event began (seconds of "
                                                      "audio since the source started)")
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        # Widths measured from sample texts, and the label column from the labels shown, only
        # when a longer one arrives: ResizeToContents re-measures a whole column on every cell
        # change, which cost a second per update with a few hundred events (soak run).
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        for column, (title, sample) in enumerate(LOG_COLUMNS):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, max(metrics.horizontalAdvance(sample),
                                                  metrics.horizontalAdvance(title)) + 16)
        header.setStretchLastSection(True)
        self._label_width = self.table.columnWidth(1)
        self._rows_shown: list = []  # (texts, tooltip) of each row as last set
        self._label_px: dict = {}  # label → its column width, px
        self._walls: dict = {}  # (start, label) → wall-clock time first seen, s since epoch
        v.addWidget(self.table)
        row = QtWidgets.QHBoxLayout()
        from monitor.gui.status import ElidedLabel

        self.export_status = ElidedLabel(mode=QtCore.Qt.TextElideMode.ElideMiddle)
        self.export_status.setStyleSheet(f"color: {_DIM};")
        self.export_button = QtWidgets.QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._export_clicked)
        row.addWidget(self.export_status, 1)
        row.addWidget(self.export_button)
        v.addLayout(row)
        return box

    # -- public API -----------------------------------------------------------------------------
    def take_settings_panel(self) -> Optional[QtWidgets.QWidget]:
        """The classifier's settings and watch list, out of this panel, for the window to place
        (None when the classifier is unavailable)."""
        if self.classifier is None:
            return None
        self.layout().removeWidget(self.settings_box)
        self.settings_box.setParent(None)
        return self.settings_box

    def activity_strip(self) -> ActivityStrip:
        """The strip to place under the waterfall (one widget, created with the view)."""
        return self._strip

    def apply_settings(self, settings: Settings) -> None:
        """Take new settings (from the main window): controls, classifier and strip follow."""
        self.settings = settings
        self._strip.set_history(settings.history)
        if self.classifier is None:
            return
        try:
            self.classifier.apply_settings(settings)
        except ParameterError as exc:
            self.watch_error.setText(str(exc))
        for w, value, setter in ((self.threshold_spin, settings.threshold, "setValue"),
                                 (self.aggregate_combo, settings.aggregate, "setCurrentText"),
                                 (self.smooth_spin, settings.smooth_patches, "setValue"),
                                 (self.specific_check, settings.specific_first, "setChecked")):
            blocked = w.blockSignals(True)
            getattr(w, setter)(value)
            w.blockSignals(blocked)
        self._fill_watch_list()
        self._seq = -1  # redraw with the new threshold/ordering at the next refresh

    def refresh(self, stream_time: float) -> None:
        """Called by the main window's timer (60 Hz) with the displayed stream time (s)."""
        self._stream_time = float(stream_time)
        if self.classifier is None:
            return
        if self.loading_label is not None and not self.classifier.model.loading:
            self.loading_label.setVisible(False)
            self.loading_label = None
        snap = self.classifier.snapshot
        changed = snap.seq != self._seq
        if changed:
            self._seq = snap.seq
            self._update(snap)
            self.updates += 1
        # The banner changes with a new result, or when a shown alert's hold runs out.
        if changed or (self._alert_due is not None and self._stream_time > self._alert_due):
            self._update_alert(snap)
        self._strip.place(self._stream_time)
        if self.classifier.error and self.error_label.isHidden():
            self.error_label.setText(self.classifier.error)
            self.error_label.setVisible(True)

    def export_csv(self, path: str) -> bool:
        """Write the event log to ``path``; the outcome is shown beside the button."""
        try:
            self.classifier.write_events_csv(path)
        except ParameterError as exc:
            self.export_status.setText(str(exc))
            return False
        self.export_status.setText(f"{len(self.classifier.events)} events written to {path}")
        return True

    def strip_labels(self) -> tuple:
        """The classes the strip shows: the watched labels, else the current top labels."""
        watch = [label for label, _ in self.settings.watch]
        if watch:
            names = {n.lower(): n for n in self.classifier.labels}
            return tuple(names.get(w.lower(), w) for w in watch)[:STRIP_ROWS]
        return tuple(label for label, _ in self.bars.items())[:STRIP_ROWS]

    def activity(self, labels: tuple, since: float) -> tuple:
        """Each patch's own scores of ``labels`` (NaN for a label the model lacks), patches
        ending after stream time ``since``: (starts (n,), scores (n, len(labels)))."""
        starts, _ends, scores = self.classifier.activity(labels, since, smoothed=False)
        return starts, scores

    # -- internals ------------------------------------------------------------------------------
    def _change(self, **changes) -> None:
        try:
            new = self.settings.replace(**changes)
            self.classifier.apply_settings(new)
        except ParameterError as exc:
            self.watch_error.setText(str(exc))
            return
        self.watch_error.setText("")
        self.settings = new
        self._seq = -1
        self.settings_changed.emit(changes)

    def _add_watch(self) -> None:
        text = self.watch_edit.text().strip()
        if not text:
            return
        names = {n.lower(): n for n in self.classifier.labels}
        label = names.get(text.lower())
        if label is None:
            self.watch_error.setText(f"unknown label: {text!r} (pick one from the list)")
            return
        watch = tuple((l, t) for l, t in self.settings.watch if l.lower() != label.lower())
        self._change(watch=watch + ((label, round(self.watch_threshold.value(), 3)),))
        self._fill_watch_list()
        self.watch_edit.clear()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if (event.type() == QtCore.QEvent.Type.MouseButtonPress and obj.isWidgetType()
                and not obj.rect().contains(event.position().toPoint())):
            over = self.watch_add.rect().contains(
                self.watch_add.mapFromGlobal(event.globalPosition().toPoint()))
            if over and self.watch_add.isVisible():
                obj.hide()
                QtCore.QTimer.singleShot(0, self._add_watch)
                return True
        return False

    def _remove_watch(self) -> None:
        row = self.watch_list.currentRow()
        if row < 0 or row >= len(self.settings.watch):
            return
        watch = tuple(w for i, w in enumerate(self.settings.watch) if i != row)
        self._change(watch=watch)
        self._fill_watch_list()

    def _fill_watch_list(self) -> None:
        self.watch_list.clear()
        for label, threshold in self.settings.watch:
            self.watch_list.addItem(f"{label}  ≥ {float(threshold):.2f}")

    def _export_clicked(self) -> None:
        # Never overwritten (the CSV is created exclusively): no question whose answer is ignored.
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export event log", "events.csv", "CSV files (*.csv)",
            options=QtWidgets.QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.export_csv(path)

    def _update(self, snap) -> None:
        self.bars.set_items(self.classifier.top(N_BARS))
        self._update_log(snap.events)
        self._update_strip()

    def _update_log(self, events: tuple) -> None:
        shown = list(reversed(events[-MAX_LOG_ROWS:]))  # newest first
        if self.table.rowCount() != len(shown):
            self.table.setRowCount(len(shown))
            del self._rows_shown[len(shown):]
        widest = self._label_width
        metrics = self.table.fontMetrics()
        for r, ev in enumerate(shown):
            label = ev.label if len(ev.label) <= LABEL_CHARS_MAX else \
                ev.label[:LABEL_CHARS_MAX - 1] + "…"
            cells = (self._wall_text(ev), label, f"{ev.peak:.2f}",
                     f"{ev.duration:.2f}" + (" …" if ev.open else ""),
                     os.path.basename(ev.clip) if getattr(ev, "clip", None) else "",
                     _fmt_time(ev.start))
            # A row that shows the same texts is not read back from its items (six to twelve
            # Qt calls a row, twice a second, for rows that mostly did not change).
            if r < len(self._rows_shown) and self._rows_shown[r] == (cells, ev.label):
                continue
            if r < len(self._rows_shown):
                self._rows_shown[r] = (cells, ev.label)
            else:
                self._rows_shown.append((cells, ev.label))
            width = self._label_px.get(label)
            if width is None:
                width = self._label_px[label] = metrics.horizontalAdvance(label) + 16
                if len(self._label_px) > 4 * MAX_LOG_ROWS:
                    self._label_px.clear()
            widest = max(widest, width)
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QtWidgets.QTableWidgetItem(text)
                    self.table.setItem(r, c, item)
                elif item.text() != text:
                    item.setText(text)
                if c == 1 and item.toolTip() != ev.label:
                    item.setToolTip(ev.label)
        if widest > self._label_width:  # whole labels: the column grows, never shrinks
            self._label_width = widest
            self.table.setColumnWidth(1, widest)

    def _wall_text(self, ev) -> str:
        """Wall-clock time of an event's start, HH:MM:SS: the event's own when it has one,
        else the time it was first seen less how long ago (in stream time) it began."""
        wall = getattr(ev, "wall_start", None) or getattr(ev, "wall", None)
        if wall is None:
            key = (ev.start, ev.label)
            wall = self._walls.get(key)
            if wall is None:
                wall = time.time() - max(0.0, self._stream_time - ev.start)
                self._walls[key] = wall
                if len(self._walls) > 4 * MAX_LOG_ROWS:
                    for k in list(self._walls)[:len(self._walls) - 2 * MAX_LOG_ROWS]:
                        del self._walls[k]
        return time.strftime("%H:%M:%S", time.localtime(wall))

    def _update_alert(self, snap) -> None:
        alerts = snap.alerts
        latest = alerts[-1] if alerts else None
        active = snap.active_watch
        # An alert's time is its patch's start; the patch itself lasts ~1 s.
        recent = latest is not None and self._stream_time - latest.time <= ALERT_HOLD_SECONDS + 1.0
        self._alert_due = latest.time + ALERT_HOLD_SECONDS + 1.0 if recent else None
        show = bool(active) or recent
        if show:
            if active:
                names = sorted(active)
                text = "⚠ " + ", ".join(names) + " detected"
            else:
                text = f"⚠ {latest.label} ({latest.score:.2f}) at {_fmt_time(latest.time)}"
            if self.alert.text() != text:
                self.alert.setText(text)
        if self.alert.isHidden() == show:
            self.alert.setVisible(show)

    def _update_strip(self) -> None:
        labels = self.strip_labels()
        since = self._stream_time - self.settings.history - 1.0
        starts, scores = self.activity(labels, since=since)
        watch = {l.lower(): t for l, t in self.settings.watch}
        thresholds = np.array([watch.get(l.lower(), self.settings.threshold) for l in labels],
                              np.float32)
        watched = np.array([l.lower() in watch for l in labels], bool)
        self._strip.set_data(labels, starts, scores, thresholds, watched)
        self._strip.place(self._stream_time)


def classifier_panel(classifier, settings: Settings, problem: Optional[str] = None
                     ) -> tuple[QtWidgets.QWidget, Optional[ClassifierView],
                                Optional[QtWidgets.QLabel]]:
    """The "Sound events" dock's content: the :class:`ClassifierView` when the classifier is on
    (with ``problem`` shown in it when the model is unavailable), else a label saying why not.

    Returns (panel, view or None, label or None).
    """
    panel = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    if settings.classifier or classifier is not None:
        view = ClassifierView(classifier, settings, parent=panel, unavailable=problem)
        layout.addWidget(view)
        return panel, view, None
    label = QtWidgets.QLabel("classifier off (--no-classifier)")
    label.setWordWrap(True)
    label.setObjectName("panelTitle")
    label.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(label)
    layout.addStretch(1)
    return panel, None, label
