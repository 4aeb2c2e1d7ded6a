"""Projector (demo) mode's banner: the level, the peak frequency and the sounds heard, in
letters legible from the back of a room."""

from __future__ import annotations

import math
from typing import Optional

from PyQt6 import QtWidgets

__all__ = ["ProjectorBar", "PROJECTOR_SCALE"]

PROJECTOR_SCALE = 1.6  # projector mode multiplies the UI scale of the plots by this
POINT_SIZE = 20.0  # pt of the banner's text at UI scale 1


class ProjectorBar(QtWidgets.QFrame):
    """Three large readouts above the waterfall: level (peak and RMS, dBFS), peak frequency
    with its note, and the top sound labels. Hidden unless projector mode is on."""

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("projectorBar")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(24)
        self.level = QtWidgets.QLabel("")
        self.peak = QtWidgets.QLabel("")
        self.labels = QtWidgets.QLabel("")
        self.labels.setObjectName("projectorLabels")
        for label in (self.level, self.peak, self.labels):
            label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                QtWidgets.QSizePolicy.Policy.Preferred)
        layout.addWidget(self.level, 3)
        layout.addWidget(self.peak, 3)
        layout.addWidget(self.labels, 4)
        self.set_scale(1.0)
        self.hide()

    def set_scale(self, scale: float) -> None:
        font = self.font()
        font.setPointSizeF(POINT_SIZE * scale)
        font.setBold(True)
        for label in (self.level, self.peak, self.labels):
            label.setFont(font)

    def show_values(self, peak_dbfs: float, rms_dbfs: float,
                    peak: Optional[tuple[float, float]], note: str, labels: list) -> None:
        """Levels (dBFS), the spectrum's peak ((Hz, dBFS) or None) and its note, and the top
        labels ([(name, score)])."""
        def db(x: float) -> str:
            return f"{x:.1f}" if math.isfinite(x) else "−∞"

        self._set(self.level, f"{db(peak_dbfs)} dBFS peak   {db(rms_dbfs)} RMS")
        if peak is None:
            self._set(self.peak, "")
        else:
            hz = peak[0]
            text = f"{hz:.0f} Hz" if hz < 1000 else f"{hz / 1000:.2f} kHz"
            self._set(self.peak, f"{text}  {note}")
        self._set(self.labels, "   ".join(name.split(",")[0] for name, _ in labels[:3]))

    @staticmethod
    def _set(label: QtWidgets.QLabel, text: str) -> None:
        if label.text() != text:
            label.setText(text)
