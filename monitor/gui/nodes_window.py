"""The window of ``--subscribe``: one live mini waterfall per node, one merged event log.

It only draws :class:`~monitor.network.subscriber.NodesModel` (fed by paho's thread): a timer
redraws what changed since the last tick. Each node is drawn with its own rows and dB scale
(its columns say them), and its own stream time: nodes' clocks need not agree. A node whose
last will arrived is greyed with "offline since ..." (our clock). Clicking a node shows it
large with its status (settings, problems, counters); Back or Escape returns to the grid.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.gui.colormaps import lookup_table
from monitor.gui.theme import COLORS, apply_theme
from monitor.network.broker import Broker
from monitor.network.subscriber import NodeState, NodesModel, Subscriber

__all__ = ["NodesWindow", "NodeTile", "run_nodes_window"]

PROG = "spectromon"
TICK_MS = 100
TILE_SIZE = QtCore.QSize(300, 170)


def _clock(t: Optional[float]) -> str:
    return "?" if t is None else time.strftime("%H:%M:%S", time.localtime(t))


def _top_text(node: NodeState) -> str:
    if not node.top:
        return "—"
    label, score = node.top[0]
    return f"{label} {score:.2f}"


def _level_text(node: NodeState) -> str:
    rms = (node.level or {}).get("rms_dbfs")
    return "— dBFS" if rms is None else f"{rms:.1f} dBFS"


class _Waterfall(pg.PlotWidget):
    """Columns of one node: x its stream seconds, y its mel bands (Hz ticks from its status)."""

    def __init__(self, axes: bool) -> None:
        super().__init__()
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setBackground(COLORS["plot"])
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setLookupTable(lookup_table("inferno"))
        self.addItem(self.image)
        for side in ("left", "bottom"):
            self.showAxis(side, axes)
        self._ticks_for: Optional[tuple] = None

    def draw(self, node: NodeState) -> None:
        codes = node.image()
        if codes.shape[0] == 0 or node.n_mels == 0:
            self.image.clear()
            return
        self.image.setImage(codes, levels=(0, 255), autoLevels=False)
        spc = node.seconds_per_column or 1.0
        t1 = node.stream_time
        self.image.setRect(QtCore.QRectF(t1 - codes.shape[0] * spc, 0, codes.shape[0] * spc,
                                         node.n_mels))
        self.setXRange(t1 - codes.shape[0] * spc, t1, padding=0)
        self.setYRange(0, node.n_mels, padding=0)
        freqs = node.mel_freqs
        key = (node.n_mels, None if freqs is None else float(freqs[-1]))
        if freqs is not None and key != self._ticks_for:
            self._ticks_for = key
            picks = np.unique(np.linspace(0, len(freqs) - 1, 6).astype(int))
            ticks = [(k + 0.5, f"{freqs[k] / 1000:.1f}k" if freqs[k] >= 1000 else f"{freqs[k]:.0f}")
                     for k in picks]
            self.getAxis("left").setTicks([ticks])


class NodeTile(QtWidgets.QFrame):
    """One node in the grid: name, its stream time, mini waterfall, top label and level."""

    clicked = QtCore.pyqtSignal(str)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setMinimumSize(TILE_SIZE)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.title = QtWidgets.QLabel(name)
        self.title.setStyleSheet("font-weight: bold;")
        self.clock = QtWidgets.QLabel("")
        self.clock.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        self.waterfall = _Waterfall(axes=False)
        # Clicks go to the tile, not to the plot.
        self.waterfall.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label = QtWidgets.QLabel("—")
        self.level = QtWidgets.QLabel("")
        self.level.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        self.state = QtWidgets.QLabel("")
        self.state.setStyleSheet(f"color: {COLORS['danger']};")
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.clock)
        foot = QtWidgets.QHBoxLayout()
        foot.addWidget(self.label, 1)
        foot.addWidget(self.level)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(self.waterfall, 1)
        layout.addLayout(foot)
        layout.addWidget(self.state)
        self._drawn: Optional[tuple] = None

    def draw(self, node: NodeState) -> None:
        key = (node.columns, node.online, node.offline_since, id(node.status), str(node.top),
               str(node.level))
        if key == self._drawn:
            return
        self._drawn = key
        self.waterfall.draw(node)
        self.clock.setText(f"t {node.stream_time:.1f} s")
        self.label.setText(_top_text(node))
        self.level.setText(_level_text(node))
        offline = not node.online
        self.waterfall.image.setOpacity(0.3 if offline else 1.0)
        for w in (self.title, self.clock, self.label, self.level):
            w.setEnabled(not offline)
        problems = [p for p in (node.status or {}).get("problems", [])
                    if isinstance(p, dict) and p.get("severity") in ("warning", "error")]
        if offline:
            self.state.setText(f"offline since {_clock(node.offline_since)}")
        elif problems:
            self.state.setText(str(problems[0].get("text", ""))[:80])
        else:
            self.state.setText("")

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit(self.name)
        super().mousePressEvent(event)


class NodesWindow(QtWidgets.QMainWindow):
    """The grid of nodes, the large view of one, and the merged event log.

    Parameters
    ----------
    model : NodesModel
    subscriber : Subscriber, optional
        Its connection state is shown in the status bar.
    title : str
    """

    def __init__(self, model: NodesModel, subscriber: Optional[Subscriber] = None,
                 title: str = "") -> None:
        super().__init__()
        self.model, self.subscriber = model, subscriber
        self.setWindowTitle(f"{PROG} — nodes {title}".strip())
        self.tiles: dict[str, NodeTile] = {}
        self.selected: Optional[str] = None
        self._version = -1
        self._events_shown = 0

        self.grid = QtWidgets.QGridLayout()
        self.grid.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        grid_host = QtWidgets.QWidget()
        grid_host.setLayout(self.grid)
        self.empty = QtWidgets.QLabel(f"waiting for nodes under {model.prefix}/ …")
        self.grid.addWidget(self.empty, 0, 0)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)

        self.big = _Waterfall(axes=True)
        self.big_title = QtWidgets.QLabel("")
        self.big_title.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.status_text = QtWidgets.QPlainTextEdit()
        self.status_text.setReadOnly(True)
        self.status_text.setMaximumWidth(380)
        back = QtWidgets.QPushButton("Back to all nodes")
        back.clicked.connect(self.show_grid)
        QtGui.QShortcut(QtGui.QKeySequence("Escape"), self, activated=self.show_grid)
        detail = QtWidgets.QWidget()
        dl = QtWidgets.QGridLayout(detail)
        dl.addWidget(self.big_title, 0, 0)
        dl.addWidget(back, 0, 1, QtCore.Qt.AlignmentFlag.AlignRight)
        dl.addWidget(self.big, 1, 0)
        dl.addWidget(self.status_text, 1, 1)
        dl.setColumnStretch(0, 1)

        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(scroll)
        self.pages.addWidget(detail)
        self.log = QtWidgets.QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("events of every node, newest last (node's stream time)")
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.pages)
        split.addWidget(self.log)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        self.setCentralWidget(split)
        self.counts = QtWidgets.QLabel("")
        self.statusBar().addPermanentWidget(self.counts)

        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(TICK_MS)

    # -- drawing -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw what changed (the timer calls it)."""
        with self.model.lock:
            version = self.model.version
            if version != self._version:
                self._version = version
                for name, node in sorted(self.model.nodes.items()):
                    self._tile(name).draw(node)
                if self.selected in self.model.nodes:
                    self._draw_detail(self.model.nodes[self.selected])
                events = list(self.model.events)
            else:
                events = None
            counts = dict(self.model.counts)
            total = self.model.events_total
            nodes = list(self.model.nodes.values())
            counts["online"] = sum(1 for n in nodes if n.online)
            counts["nodes"] = len(nodes)
            counts["missing"] = sum(n.missing_frames for n in nodes)
        if events is not None:
            self._append_events(events, total)
        self._draw_counts(counts)

    def _tile(self, name: str) -> NodeTile:
        tile = self.tiles.get(name)
        if tile is None:
            if not self.tiles:
                self.empty.hide()
            tile = self.tiles[name] = NodeTile(name)
            tile.clicked.connect(self.show_node)
            self._relayout()
        return tile

    def _relayout(self) -> None:
        columns = max(1, int(math.ceil(math.sqrt(len(self.tiles)))))
        for i, name in enumerate(sorted(self.tiles)):
            self.grid.addWidget(self.tiles[name], i // columns, i % columns)

    def _append_events(self, events: list[dict], total: int) -> None:
        # The model's log is bounded: of the ``total`` events ever, show those not yet shown.
        fresh = min(total - self._events_shown, len(events))
        new = events[len(events) - fresh:] if fresh > 0 else []
        for e in new:
            dur = e.get("duration")
            self.log.appendPlainText(
                f"{_clock(e.get('received'))}  {e['node']:<16} t={e['start']:9.2f} s  "
                f"{e['state']:<5}  {e['label']}  peak {e['peak']:.2f}"
                + (f"  {dur:.2f} s" if e["state"] == "close" and dur is not None else ""))
        self._events_shown = total

    def _draw_counts(self, counts: dict) -> None:
        parts = [f"{counts['online']}/{counts['nodes']} nodes online"]
        if self.subscriber is not None:
            c = self.subscriber.counters()
            parts.append("broker connected" if c["connected"] else "broker unreachable, retrying")
            if c["reconnects"]:
                parts.append(f"{c['reconnects']} reconnects, {c['disconnected_s']:.0f} s without")
        parts.append(f"missing columns {counts['missing']}")
        parts.append(f"malformed {counts['malformed']}, duplicates {counts['duplicates']}")
        self.counts.setText(" · ".join(parts))

    def _draw_detail(self, node: NodeState) -> None:
        self.big.draw(node)
        state = "online" if node.online else f"offline since {_clock(node.offline_since)}"
        self.big_title.setText(f"{node.name} — {state} — t {node.stream_time:.1f} s — "
                               f"{_top_text(node)} — {_level_text(node)}")
        status = dict(node.status or {})
        status.pop("mel_freqs", None)
        status["received"] = {"columns": node.columns, "missing_frames": node.missing_frames,
                              "duplicates": node.duplicates, "restarts": node.restarts,
                              "clock_offset_s": node.clock_offset}
        text = json.dumps(status, indent=1, sort_keys=True)
        if text != self.status_text.toPlainText():
            self.status_text.setPlainText(text)

    # -- navigation ----------------------------------------------------------------------------
    def show_node(self, name: str) -> None:
        """Show ``name`` large with its status."""
        self.selected = name
        self.pages.setCurrentIndex(1)
        self._version = -1
        self.refresh()

    def show_grid(self) -> None:
        self.selected = None
        self.pages.setCurrentIndex(0)


def run_nodes_window(broker: Broker, ns: argparse.Namespace) -> int:
    """``--subscribe URL`` with a window; returns the exit code (``--duration`` and
    ``--screenshot`` work as for the main window)."""
    from monitor.gui.app import _no_display, _qt_message

    if _no_display():
        print(f"{PROG}: error: no display (DISPLAY/WAYLAND_DISPLAY unset); use --headless",
              file=sys.stderr)
        return 2
    QtCore.qInstallMessageHandler(_qt_message)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setApplicationName(PROG)
    apply_theme(app)
    model = NodesModel(broker.prefix)
    sub = Subscriber(broker, model)
    sub.start()
    window = NodesWindow(model, sub, broker.url)
    window.resize(1280, 800)
    result = {"code": 0}
    screenshot, duration = getattr(ns, "screenshot", None), getattr(ns, "duration", None)

    def finish() -> None:
        window.refresh()
        if screenshot and not window.grab().save(screenshot):
            print(f"{PROG}: error: cannot write the screenshot {screenshot!r}", file=sys.stderr)
            result["code"] = 2
        window.close()

    if duration is not None:
        QtCore.QTimer.singleShot(int(duration * 1000), finish)
    previous = {s: signal.signal(s, lambda *_: window.close())
                for s in (signal.SIGINT, signal.SIGTERM)}
    wake = QtCore.QTimer()  # lets Python run signal handlers
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        window.show()
        app.exec()
    finally:
        wake.stop()
        sub.close()
        for s, h in previous.items():
            signal.signal(s, h)
        QtCore.qInstallMessageHandler(None)
    return result["code"]
