"""The instrument docks build their contents when first shown (monitor.gui.instrument_panels):
nothing behind the Controls' tab at start-up, the panel once its tab is picked, drawn from the
measurements made meanwhile (their feed never depended on the widgets)."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PyQt6 import QtWidgets

from monitor.gui.channel_meters import ChannelMeters
from monitor.gui.devices_view import DevicesView
from monitor.gui.main_window import MainWindow
from monitor.gui.measurements_view import MeasurementsView
from monitor.gui.octave_view import OctaveView
from monitor.session import Session

WAIT_MS = 20000
KINDS = {"measurements": MeasurementsView, "octave": OctaveView, "channels": ChannelMeters,
         "devices": DevicesView}


@pytest.fixture
def window(qtbot):
    session = Session({"classifier": False, "generator": "sine:1000@-6"})
    session.start()
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    session.close()


def test_docks_behind_the_controls_are_not_built_until_shown(window, qtbot):
    panels = window.instruments
    assert panels._built == {}  # shown, but behind the Controls' tab: placeholders only
    for i, (key, kind) in enumerate(KINDS.items()):
        panels.docks[i].raise_()
        qtbot.waitUntil(lambda: key in panels._built, timeout=WAIT_MS)
        widget = panels._built[key]
        assert isinstance(widget, kind)
        assert panels.docks[i].widget().widget() is widget  # in the dock's scroll area
        qtbot.waitUntil(widget.isVisible, timeout=WAIT_MS)
    window.controls_dock.raise_()
    assert set(panels._built) == set(KINDS)


def test_octave_bands_built_late_show_the_bands_measured_before(window, qtbot):
    panels = window.instruments
    feed = window.session.measurement
    panels.docks[0].raise_()  # the Measurements tab: the figures (bands too) are computed
    qtbot.waitUntil(lambda: panels.refresh(0.0) is None and feed.updates > 0, timeout=WAIT_MS)
    assert "octave" not in panels._built
    octave = panels.octave  # asked for: built now, with the latest bands
    assert octave.loudest_band_hz() == 1000.0
    assert octave.levels.max() == pytest.approx(-6.0, abs=0.1)


def test_measurements_label_when_the_feed_is_unavailable(qtbot):
    session = Session({"classifier": False, "generator": "sine:1000@-6"})
    session.start()
    w = MainWindow(session)
    qtbot.addWidget(w)
    try:
        w.instruments.feed = None
        w.instruments._built.clear()
        label = w.instruments.measurements
        assert isinstance(label, QtWidgets.QLabel) and "unavailable" in label.text()
    finally:
        w.close()
        session.close()
