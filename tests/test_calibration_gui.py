"""The window says which microphone file corrects what it shows, offscreen on a real source:
the spectrum's axis and tooltip, the colour bar's unit and tooltip, the cursor readout; the
spectrum draws the worker's corrected rows without correcting them again."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np
import pytest

from monitor.gui.main_window import MainWindow
from monitor.session import Session
from monitor.settings_store import SettingsStore

WAIT_MS = 20000


@pytest.fixture
def window(qtbot, tmp_path):
    session = Session({"classifier": False, "generator": "sine:1000@-6", "scale": "linear"})
    session.start()
    w = MainWindow(session, store=SettingsStore(path=str(tmp_path / "spectromon.ini")))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.close()
    session.close()


def _level_at_1k(qtbot, window, calibration):
    """The spectrum's drawn value at the 1 kHz row, once frames of ``calibration`` arrived."""
    qtbot.waitUntil(lambda: window.waterfall.history.params.calibration == calibration
                    and window.waterfall.history.latest is not None
                    and window.spectrum._values is not None, timeout=WAIT_MS)
    window.spectrum._values = None
    qtbot.waitUntil(lambda: window.spectrum._values is not None, timeout=WAIT_MS)  # drawn again
    rows = window.waterfall.rows
    k = int(np.argmin(np.abs(rows.row_hz - 1000.0)))
    return float(window.spectrum._values[k])


def test_the_views_say_the_file_and_the_spectrum_is_corrected_once(qtbot, window, tmp_path):
    before = _level_at_1k(qtbot, window, None)
    assert "mic" not in window.spectrum.level_units
    window.waterfall.color_bar.repaint()
    assert window.waterfall.color_bar.unit == "dBFS"
    mic = tmp_path / "mic.txt"
    mic.write_text("20 0\n1000 2.0\n20000 0\n")  # reads 2 dB high at 1 kHz
    assert window.change_settings({"calibration": str(mic)})
    after = _level_at_1k(qtbot, window, "mic.txt")
    assert after - before == pytest.approx(-2.0, abs=0.05)  # once, by the worker: not -4
    assert "mic-corrected" in window.spectrum.level_units
    assert "mic-corrected: mic.txt" in window.spectrum.toolTip()
    assert "mic-corrected: mic.txt" in window.waterfall.color_bar.toolTip()
    window.waterfall.color_bar.repaint()
    assert window.waterfall.color_bar.unit == "dBFS mic"
    # The panel's label follows at its own refresh (4 Hz), not with the waterfall.
    qtbot.waitUntil(lambda: "calibration file: mic.txt"
                    in window.instruments.measurements.calibration_label.text(), timeout=20000)
    # Off again: the views say so.
    assert window.change_settings({"calibration": None})
    assert _level_at_1k(qtbot, window, None) == pytest.approx(before, abs=0.05)
    assert "no microphone calibration file" in window.spectrum.toolTip()
    assert "mic-corrected" not in window.waterfall.color_bar.toolTip()
