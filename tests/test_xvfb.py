"""The GUI under a real X server (Xvfb) through Qt's xcb platform plugin, in subprocesses.

The in-process GUI tests run offscreen; these make sure the program also works where users run
it: on X11, with the xcb plugin and its system libraries really loaded.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, main_cmd

pytestmark = pytest.mark.xvfb

RUN_TIMEOUT = 90  # seconds; a hang fails the test instead of blocking the suite
HAVE_WINDOW = (REPO / "monitor" / "gui" / "main_window.py").is_file()


def _luminance(path: Path) -> np.ndarray:
    """A PNG as a 2-D float array of luminance 0..255 (rows top to bottom), read with Qt."""
    from PyQt6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable image"
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    data = np.frombuffer(image.constBits().asstring(stride * h), np.uint8)
    rgb = data.reshape(h, stride)[:, : 3 * w].reshape(h, w, 3).astype(np.float64)
    return rgb @ np.array([0.299, 0.587, 0.114])


def test_qt_uses_xcb_on_xvfb(xvfb):
    """Qt's xcb plugin loads (all its libxcb-* libraries are there) and sees the screen."""
    probe = textwrap.dedent("""
        from PyQt6.QtWidgets import QApplication, QLabel
        app = QApplication([])
        label = QLabel("probe")
        label.show()
        app.processEvents()
        size = app.primaryScreen().size()
        print(app.platformName(), size.width(), size.height())
    """)
    proc = subprocess.run([sys.executable, "-c", probe], env=xvfb.env(), capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["xcb", "1280", "1024"], proc.stdout + proc.stderr


def _screenshot(xvfb, out: Path, tone_hz: float) -> str:
    """Run the monitor on a generator tone under Xvfb and save its window; return stderr."""
    proc = subprocess.run(
        main_cmd("--generator", f"sine:{tone_hz:g}", "--screenshot", str(out), "--duration", "3",
                 "--no-classifier", "--scale", "log", "--history", "5", "--reset-settings"),
        env=xvfb.env(QT_DEBUG_PLUGINS="1", XDG_CONFIG_HOME=str(out.parent / "config")),
        capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.is_file(), "no screenshot written"
    return proc.stderr


@pytest.mark.skipif(not HAVE_WINDOW, reason="monitor/gui/main_window.py is not built yet")
def test_window_on_xvfb_shows_the_tone_row(xvfb, tmp_path):
    low, high = tmp_path / "1k.png", tmp_path / "4k.png"
    stderr = _screenshot(xvfb, low, 1000)
    _screenshot(xvfb, high, 4000)

    # The xcb plugin was really the one loaded, not offscreen or minimal.
    loaded = re.findall(r'platforms/libq(\w+)\.so" loaded library', stderr)
    assert loaded == ["xcb"], stderr[-2000:]

    a, b = _luminance(low), _luminance(high)
    assert a.shape == b.shape
    assert a.std() > 5, "the screenshot is blank"
    # A steady tone draws one bright horizontal line across the waterfall; the two runs differ
    # mainly there. Count, per row, the pixels much brighter in one shot than in the other.
    brighter_low = np.sum(a - b > 60, axis=1)
    brighter_high = np.sum(b - a > 60, axis=1)
    y_low, y_high = int(np.argmax(brighter_low)), int(np.argmax(brighter_high))
    # The tone lasts most of the 5 s history: a line hundreds of pixels long (text and other
    # small differences between the shots are far shorter).
    assert brighter_low[y_low] > 150, "no bright row for the 1 kHz tone"
    assert brighter_high[y_high] > 150, "no bright row for the 4 kHz tone"
    # Horizontal waterfall, log frequency upwards: the 1 kHz row is well below the 4 kHz row
    # (two octaves apart: about a fifth of the 20 Hz-24 kHz axis).
    assert y_low - y_high > 30, (y_low, y_high)


# Another X client grabs the root window, as `import -window root` would: what the X server
# really shows, not what the program renders into a pixmap of its own.
ROOT_GRABBER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from PyQt6.QtGui import QGuiApplication, QImage
    app = QGuiApplication([])
    out, timeout = sys.argv[1], float(sys.argv[2])
    deadline = time.monotonic() + timeout
    while True:
        image = app.primaryScreen().grabWindow(0).toImage()
        gray_image = image.convertToFormat(QImage.Format.Format_Grayscale8)
        h, w, stride = gray_image.height(), gray_image.width(), gray_image.bytesPerLine()
        gray = np.frombuffer(gray_image.constBits().asstring(stride * h), np.uint8)
        gray = gray.reshape(h, stride)[:, :w]
        longest = int((gray > 200).sum(axis=1).max())
        if longest >= 150 or time.monotonic() > deadline:
            image.save(out)
            print(longest)
            sys.exit(0 if longest >= 150 else 1)
        time.sleep(0.2)  # polling interval while waiting for the window to draw
""")


@pytest.mark.skipif(not HAVE_WINDOW, reason="monitor/gui/main_window.py is not built yet")
def test_root_window_grab_shows_the_tone(xvfb, tmp_path):
    app = subprocess.Popen(
        main_cmd("--generator", "sine:1000", "--duration", "20", "--no-classifier",
                 "--history", "5", "--reset-settings"),
        env=xvfb.env(XDG_CONFIG_HOME=str(tmp_path / "config")), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        grab = subprocess.run([sys.executable, "-c", ROOT_GRABBER, str(tmp_path / "root.png"),
                               "18"], env=xvfb.env(), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
        assert app.poll() is None, app.stderr.read()
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
    assert grab.returncode == 0, (
        f"no bright tone row on the X server's screen (longest bright run "
        f"{grab.stdout.strip()} px): {grab.stderr[-1000:]}")
    lum = _luminance(tmp_path / "root.png")
    assert lum.shape == (1024, 1280)


@pytest.mark.skipif(not (REPO / "tests" / "test_gui.py").is_file(), reason="no GUI tests yet")
@pytest.mark.timeout(900)  # the suites it runs take 2-3 minutes on two shared cores
def test_gui_tests_pass_on_xvfb(xvfb, tmp_path):
    """The whole in-process GUI suite (every control, every view, the banner, persistence)
    once more, on the real X server through xcb instead of offscreen (tests/conftest.py makes
    pytest-qt use xcb, checks it does, and focuses new windows as a window manager would)."""
    env = xvfb.env(SPECTROMON_TEST_QT_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"))
    # The window tests too (tests/test_window_*.py: extremes, fit, panels, menus, history).
    window_tests = sorted(str(p) for p in (REPO / "tests").glob("test_window_*.py"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO),
         str(REPO / "tests" / "test_gui.py"), *window_tests],
        env={**env, "SPECTROMON_TEST_OUTPUT": str(tmp_path / "screenshots")},
        cwd=str(REPO), capture_output=True, text=True, timeout=900)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "skipped" not in summary and "passed" in summary, summary
