"""The window fits every screen: it opens at a size that fits, nothing is outside it at
1024×600, a long message never widens it. Screenshots of each view at two sizes go to
test-output/ for a person to look at."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PyQt6 import QtCore, QtWidgets  # noqa: E402

from gui_helpers import ExceptionRecorder, save_screenshot  # noqa: E402
from monitor.gui.main_window import MainWindow  # noqa: E402
from monitor.gui.screen_fit import FRAME_MARGIN, fitted_geometry  # noqa: E402
from monitor.session import Session  # noqa: E402
from monitor.settings_store import SettingsStore  # noqa: E402

WAIT_MS = 20000
SIZES = [(1024, 600), (1920, 1080)]


@pytest.fixture
def window(qtbot, tmp_path):
    """The window with every panel: the real classifier on, a generator as input."""
    session = Session({"generator": "tones:300,1000,5000@-20"})
    assert session.open_classifier() is not None, session.problems.get("classifier")
    w = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    session.close()


def outside(window: QtWidgets.QWidget) -> list[str]:
    """Visible widgets that reach outside the window's rectangle (px, window coordinates)."""
    bounds = window.rect()
    bad = []
    for w in window.findChildren(QtWidgets.QWidget):
        if not w.isVisible() or w.isWindow() or w.width() <= 0 or w.height() <= 0:
            continue
        # A widget inside a scroll area may be taller than the area: what counts is the part
        # shown, which the viewport clips.
        clip = w.visibleRegion().boundingRect()
        if clip.isEmpty():
            continue
        top_left = w.mapTo(window, clip.topLeft())
        rect = QtCore.QRect(top_left, clip.size())
        if not bounds.contains(rect):
            bad.append(f"{type(w).__name__} {w.objectName()!r} at {rect} outside {bounds}")
    return bad


def test_fitted_geometry_fits_small_screens_and_keeps_big_ones():
    small = fitted_geometry(QtCore.QRect(0, 0, 1024, 700))
    assert small.width() <= 1024 - FRAME_MARGIN.width()
    assert small.height() <= 700 - FRAME_MARGIN.height()
    assert QtCore.QRect(0, 0, 1024, 700).contains(small)
    big = fitted_geometry(QtCore.QRect(0, 0, 1920, 1080))
    assert (big.width(), big.height()) == (1280, 800)
    # A geometry saved on a larger screen is shrunk and moved onto this one.
    restored = fitted_geometry(QtCore.QRect(0, 0, 1024, 600),
                               current=QtCore.QRect(900, 500, 1414, 800))
    assert QtCore.QRect(0, 0, 1024, 600).contains(restored)


def test_window_opens_inside_the_screen(window, qtbot):
    """fit_to_screen on the screen Qt reports (offscreen: 800×600; Xvfb: its own)."""
    from monitor.gui.screen_fit import fit_to_screen

    available = window.screen().availableGeometry()
    fit_to_screen(window)
    qtbot.wait(100)
    assert window.width() <= available.width() and window.height() <= available.height()
    assert available.contains(window.geometry()), (window.geometry(), available)
    assert outside(window) == []


@pytest.mark.parametrize("size", SIZES)
def test_nothing_is_outside_the_window(window, qtbot, size):
    with ExceptionRecorder() as rec:
        window.resize(*size)
        qtbot.waitUntil(lambda: window.waterfall.history.head > 20, timeout=WAIT_MS)
        qtbot.wait(100)
        assert (window.width(), window.height()) == size, window.minimumSizeHint()
        assert outside(window) == []
    rec.check()


def test_long_messages_never_widen_the_window(window, qtbot):
    window.resize(1024, 600)
    qtbot.wait(50)
    long_text = "272 events written to " + "/a/very/long/folder/name" * 12 + "/events.csv"
    window.session.problems.report("test", long_text, "warning")
    window.update_status()
    window.classifier_view.export_status.setText(long_text)
    window.controls.file_label.setText(long_text)
    window.controls.file_label.setVisible(True)
    window.view_bar.cursor_label.setText(long_text)
    qtbot.wait(100)
    assert (window.width(), window.height()) == (1024, 600)
    assert window.minimumSizeHint().width() <= 1024
    assert outside(window) == []
    assert long_text in window.problem_label.toolTip()
    window.session.problems.clear("test")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", ["spectrogram", "spectrum", "waveform"])
def test_screenshot_each_view(window, qtbot, size, view):
    """Not a check of pixels: pictures for a person (test-output/view-*.png)."""
    window.resize(*size)
    window.set_view(view)
    qtbot.waitUntil(lambda: window.waterfall.history.head > 100, timeout=WAIT_MS)
    qtbot.wait(300)
    path = save_screenshot(window, f"view-{view}-{size[0]}x{size[1]}")
    assert path.stat().st_size > 1000
    window.set_view("spectrogram")
