"""Status bar text, display-rate measurement, and the 'input lost' banner."""

from __future__ import annotations

import collections
from typing import Optional

from PyQt6 import QtCore, QtWidgets

__all__ = ["FpsMeter", "format_status", "StatusLine", "InputLostBanner", "NoticeBanner",
           "ElidedLabel"]

PROBLEM_WIDTH_PX = 300  # the status bar's problem text is elided to this (full text: tooltip)
SOURCE_WIDTH_PX = 220


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that never widens its window: it asks for little room, shows as much
    of its text as fits (elided with "…") and keeps the whole text in its tooltip.

    Parameters
    ----------
    text : str
    mode : Qt.TextElideMode
        Where the "…" goes (paths: ElideMiddle, so that the file name stays).
    min_chars : int
        Characters of room asked for at least (the layout may give more).
    """

    def __init__(self, text: str = "", mode=QtCore.Qt.TextElideMode.ElideRight,
                 min_chars: int = 8, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._detail = ""
        self._mode = mode
        self._min_chars = min_chars
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                           QtWidgets.QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        text = text or ""
        if text == self._full and super().text():
            return
        self._full = text
        self._show()

    def text(self) -> str:
        """The whole text (not the elided one shown)."""
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def _elided(self, text: str) -> str:
        width = max(self.contentsRect().width(), 10)
        return self.fontMetrics().elidedText(text, self._mode, width)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        hint = super().minimumSizeHint()
        return QtCore.QSize(self.fontMetrics().averageCharWidth() * self._min_chars,
                            hint.height())

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        hint = super().sizeHint()
        want = self.fontMetrics().horizontalAdvance(self._full) + 8
        return QtCore.QSize(max(self.minimumSizeHint().width(), want), hint.height())

    def set_detail(self, detail: str) -> None:
        """More text for the tooltip (after the whole text when that is elided)."""
        detail = detail or ""
        if detail == self._detail:  # set at every status update (4 Hz): no elide, no tooltip
            return
        self._detail = detail
        self._show()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._show()

    def _show(self) -> None:
        shown = self._elided(self._full)
        tip = [self._full] if shown != self._full else []
        tip += [self._detail] if self._detail else []
        self.setToolTip("\n\n".join(tip))
        if super().text() != shown:
            super().setText(shown)


class FpsMeter:
    """Frames drawn per second over the last ``window`` seconds."""

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._times: collections.deque = collections.deque()

    def tick(self, now: float) -> None:
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()

    def fps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


def format_status(status, fps: float) -> list[str]:
    """The status bar's fields, from a :class:`monitor.pipeline.Status` and the display rate."""
    block = f"block {status.blocksize}" if status.blocksize else "block auto"
    fields = [
        status.source,
        f"{status.samplerate / 1000:g} kHz × {status.channels} ch, {block}",
        f"n_fft {status.n_fft} / hop {status.hop}: {status.ms_per_column:.1f} ms/col, "
        f"{status.hz_per_bin:.1f} Hz/bin",
        f"latency ≈ {status.latency_ms:.0f} ms",
        f"dropped {status.dropped_frames} · overflows {status.overflows}"
        + (f" · underflows {status.underflows}" if status.underflows else "")
        + f" · non-finite {status.nonfinite}"
        + (f" · batches lost {status.dropped_batches}" if status.dropped_batches else "")
        + (f" · restarts {status.worker_restarts}" if status.worker_restarts else ""),
        f"{fps:.0f} fps",
    ]
    return fields


class StatusLine:
    """The status bar's fields and, at its right, the most important problem, each elided to
    its width (never widening the window) with the whole text in its tooltip.

    Parameters
    ----------
    bar : QStatusBar
    accent : str
        Colour of the problem text.
    """

    def __init__(self, bar: QtWidgets.QStatusBar, accent: str) -> None:
        # Elided labels with stretch: a long source name or counter never widens the window
        # (it grew from 1280 to 1414 px for one message, and saved that width).
        self.fields = [ElidedLabel(min_chars=6) for _ in range(6)]
        self.fields[0]._mode = QtCore.Qt.TextElideMode.ElideMiddle
        for i, label in enumerate(self.fields):
            bar.addWidget(label, 3 if i in (0, 2, 4) else 1)
        self.fields[0].setMaximumWidth(SOURCE_WIDTH_PX)
        self.problem = ElidedLabel(min_chars=10)
        self.problem.setStyleSheet(f"color: {accent};")
        self.problem.setMaximumWidth(PROBLEM_WIDTH_PX)
        bar.addPermanentWidget(self.problem, 2)
        bar.setSizeGripEnabled(False)
        self._problem_text: Optional[str] = ""

    def show_status(self, status, fps: float) -> None:
        """Show a :class:`monitor.pipeline.Status`; unchanged labels are not touched."""
        texts = format_status(status, fps)
        for label, text in zip(self.fields, texts):
            if label.text() != text:  # an unchanged label costs no relayout
                label.setText(text)
        self.fields[4].set_detail(drop_counters(status))

    def show_problems(self, top: Optional[str], everything: str) -> None:
        """``top`` in the bar, elided; ``everything`` (one problem a line) in its tooltip."""
        self.problem.set_detail(everything)
        if top == self._problem_text:
            return
        self._problem_text = top
        self.problem.setText(f"⚠ {top}" if top else "")


def drop_counters(status) -> str:
    """Every counter of lost or repaired data, one a line (the drop field's tooltip)."""
    return "\n".join([
        f"audio frames dropped by the ring buffer: {status.dropped_frames}",
        f"input overflows / underflows reported: {status.overflows} / {status.underflows}",
        f"non-finite samples replaced by 0: {status.nonfinite}",
        f"samples beyond +96 dBFS clamped: {status.clamped}",
        f"samples at full scale: {status.clipped}",
        f"analysis batches dropped (not drawn in time): {status.dropped_batches}",
        f"analysis restarts: {status.worker_restarts}",
        f"audio the classifier skipped (it fell behind): {status.classifier_dropped_seconds:.1f} s",
        f"classifier restarts: {status.classifier_restarts}",
        f"recording gaps filled with silence: {status.recording.get('record_gaps', 0)} "
        f"({status.recording.get('record_gap_seconds', 0):.1f} s)",
        f"input outages filled with silence in the recording: "
        f"{status.recording.get('record_input_gaps', 0)} "
        f"({status.recording.get('record_input_gap_seconds', 0):.1f} s)",
    ])


class InputLostBanner(QtWidgets.QFrame):
    """A red banner: 'input lost', the reason, a device chooser, Rescan and Retry buttons.

    Signals
    -------
    retry(object)
        The device chosen: None for the default input, else a PortAudio device index.
    rescan()
        The user asks for the device list to be read again (an audio server came back, a
        device was plugged in); the owner rescans and calls :meth:`set_devices`.
    """

    retry = QtCore.pyqtSignal(object)
    rescan = QtCore.pyqtSignal()

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputLost")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        self.label = QtWidgets.QLabel("<b>Input lost</b>")
        self.label.setWordWrap(True)
        self.devices = QtWidgets.QComboBox()
        self.devices.setMinimumWidth(200)
        self.rescan_button = QtWidgets.QPushButton("Rescan")
        self.rescan_button.setToolTip("read the list of input devices again (the audio system "
                                      "restarted, a device was plugged in)")
        self.rescan_button.clicked.connect(self.rescan.emit)
        self.button = QtWidgets.QPushButton("Retry")
        self.button.clicked.connect(lambda: self.retry.emit(self.devices.currentData()))
        layout.addWidget(self.label, 1)
        layout.addWidget(QtWidgets.QLabel("device:"))
        layout.addWidget(self.devices)
        layout.addWidget(self.rescan_button)
        layout.addWidget(self.button)
        self.hide()

    def show_problem(self, message: str, devices: list[dict]) -> None:
        """Show the banner with ``message`` and the current input devices."""
        detail = message
        if detail.lower().startswith("input lost"):  # not "Input lost — input lost"
            detail = detail[len("input lost"):].strip(" :()")
        self.label.setText(f"<b>Input lost</b> — {detail}" if detail else "<b>Input lost</b>")
        self.set_devices(devices)
        self.show()

    def set_devices(self, devices: list[dict]) -> None:
        """Offer ``devices`` (dicts with 'index' and 'name'), keeping the choice if listed."""
        current = self.devices.currentData()
        self.devices.clear()
        self.devices.addItem("default input", None)
        for d in devices:
            self.devices.addItem(f"{d['index']}: {d['name']}", d["index"])
        i = self.devices.findData(current)
        self.devices.setCurrentIndex(max(i, 0))


class NoticeBanner(QtWidgets.QFrame):
    """An amber banner for what the user should know now (the demo signal is shown instead of
    the microphone, a setting was refused): the whole message, wrapped, with a close button."""

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(10, 3, 4, 3)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setToolTip("dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self._dismissed: set[str] = set()
        self.text = ""
        self.hide()

    def show_notice(self, text: Optional[str]) -> None:
        """Show ``text`` (None or empty: hide), unless the user dismissed that very text."""
        self.text = text or ""
        if not text or text in self._dismissed:
            self.hide()
            return
        self.label.setText(f"⚠  {text}")
        self.show()

    def dismiss(self) -> None:
        self._dismissed.add(self.text)
        self.hide()
