"""The devices panel: every input with its host API, channels, default rate and the rates it
accepts (probed with ``sounddevice.check_input_settings``), a Rescan button, and Use, which
switches device, rate and channels through the session.

A rescan re-initialises PortAudio, which stops every open stream: the session refuses it while
audio flows (it is for after "input lost"); a lost input of the same device is reopened by
the session's upkeep by itself (``Session.poll``, ``auto_retry``).
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6 import QtCore, QtWidgets

__all__ = ["DevicesView", "probe_rates"]

COLUMNS = ("#", "name", "host API", "channels", "default rate", "rates accepted")


def probe_rates(index: int, channels: int) -> list[int]:
    """The common rates (Hz) PortAudio accepts for input ``index`` with ``channels`` channels."""
    from monitor.sources.microphone import COMMON_RATES, _sd

    sd = _sd()
    ok = []
    for rate in COMMON_RATES:
        try:
            sd.check_input_settings(device=index, channels=channels, samplerate=rate)
        except Exception:  # noqa: BLE001, S112 - PortAudio says no in several ways; no means no
            continue
        ok.append(int(rate))
    return ok


class DevicesView(QtWidgets.QWidget):
    """Table of inputs; Rescan and Use go to the session.

    Parameters
    ----------
    session : Session
    on_change : callable, optional
        ``changes -> bool`` used for Use (the window's change_settings, so the window redraws);
        default ``session.change``.
    """

    changed = QtCore.pyqtSignal()

    def __init__(self, session, on_change: Callable[[dict], bool] | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.on_change = on_change or session.change
        self.devices: list[dict] = []
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.rate_box = QtWidgets.QComboBox()
        self.channels_box = QtWidgets.QSpinBox()
        self.channels_box.setRange(1, 64)
        self.rescan_button = QtWidgets.QPushButton("Rescan")
        self.rescan_button.setToolTip("Read the device list again. PortAudio has no hot-plug "
                                      "notice and a rescan stops every open stream, so it is "
                                      "offered while the input is lost (a lost input comes back "
                                      "by itself when the same device returns)")
        self.use_button = QtWidgets.QPushButton("Use")
        self.use_button.setToolTip("Switch to the selected input at the chosen rate and channels")
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("rate"))
        row.addWidget(self.rate_box)
        row.addWidget(QtWidgets.QLabel("channels"))
        row.addWidget(self.channels_box)
        row.addWidget(self.use_button)
        row.addWidget(self.rescan_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.table.itemSelectionChanged.connect(self._selected)
        self.rescan_button.clicked.connect(self.rescan)
        self.use_button.clicked.connect(self.use_selected)
        self.fill()

    def fill(self) -> None:
        """List the inputs the session sees now. Rates are probed when a row is selected (each
        probe asks PortAudio 11 times; all devices at once would slow the window's start)."""
        self.devices = [{**d, "rates": None} for d in self.session.input_devices()]
        self.table.setRowCount(len(self.devices))
        for r, d in enumerate(self.devices):
            cells = (str(d["index"]), d["name"], d["hostapi"], str(d["channels"]),
                     f"{d['samplerate']:g} Hz", "select to probe")
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def probe(self, row: int) -> list[int]:
        """The rates device ``row`` accepts (probed once per listing, at up to 2 channels)."""
        d = self.devices[row]
        if d["rates"] is None:
            d["rates"] = probe_rates(d["index"], min(d["channels"], 2))
            text = ", ".join(f"{x / 1000:g}k" for x in d["rates"]) or "none of the common rates"
            self.table.setItem(row, len(COLUMNS) - 1, QtWidgets.QTableWidgetItem(text))
        return d["rates"]

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        self.probe(rows[0].row())
        d = self.selected()
        self.rate_box.clear()
        self.rate_box.addItem("default", None)
        for rate in d["rates"]:
            self.rate_box.addItem(f"{rate} Hz", float(rate))
        self.channels_box.setRange(1, max(1, int(d["channels"])))
        self.channels_box.setValue(min(2, int(d["channels"])))

    def selected(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self.devices[rows[0].row()] if rows else None

    def use_selected(self) -> bool:
        """Switch the session to the selected input (rate, channels as chosen)."""
        d = self.selected()
        if d is None:
            return False
        ok = self.on_change({"device": d["name"], "samplerate": self.rate_box.currentData(),
                             "channels": self.channels_box.value(), "input": None, "generator": None})
        problem = self.session.problems.get("change")
        self.message.setText(f"using {d['name']}" if ok else (problem.text if problem else "refused"))
        self.changed.emit()
        return ok

    def rescan(self) -> bool:
        """Rescan through the session (refused while audio flows), then list again."""
        ok = self.session.rescan_devices()
        self.message.setText("device list read again" if ok else
                             "rescan is refused while audio flows: it would stop the stream")
        if ok:
            self.fill()
        return ok
