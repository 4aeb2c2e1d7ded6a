"""The nodes window of ``--subscribe``, offscreen: real Qt, the real model fed real payloads."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt6 import QtCore  # noqa: E402

from conftest import main_cmd, wait_until  # noqa: E402
from monitor.dsp.mel import mel_frequencies  # noqa: E402
from monitor.gui.nodes_window import NodesWindow  # noqa: E402
from monitor.network import payloads  # noqa: E402
from monitor.network.subscriber import NodesModel  # noqa: E402
from mqtt_broker import mqtt_broker  # noqa: E402,F401


def _status(name: str, n_mels: int, rate: float, run: int) -> bytes:
    freqs = mel_frequencies(n_mels + 2, 0.0, rate / 2)[1:-1]
    settings = {"samplerate": rate, "n_fft": 2048, "hop": 512, "n_mels": n_mels, "fmin": 0.0,
                "fmax": rate / 2, "db_floor": -100.0, "db_ceil": 0.0}
    return payloads.encode_json("status", {"node": name, "online": True, "run": run,
                                           "settings": settings,
                                           "mel_freqs": [round(f, 2) for f in freqs],
                                           "problems": []})


def _feed(model: NodesModel, name: str, n_mels: int, rate: float, band: int, run: int) -> None:
    model.handle(f"site/{name}/status", _status(name, n_mels, rate, run))
    for i in range(5):
        mel = np.full((19, n_mels), -90.0)
        mel[:, band] = -10.0
        model.handle(f"site/{name}/columns",
                     payloads.encode_columns(mel, 19 * i, rate, 512, -100, 0, run))
    model.handle(f"site/{name}/levels", payloads.encode_json(
        "levels", {"t": 0.0, "rms_dbfs": -23.0, "peak_dbfs": -20.0, "peak_hz": 1000.0}))
    model.handle(f"site/{name}/labels", payloads.encode_json(
        "labels", {"t": 1.0, "top": [["Beep, bleep", 0.9]]}))


def test_grid_of_nodes_with_their_own_settings_offline_and_the_large_view(qtbot):
    model = NodesModel("site")
    window = NodesWindow(model)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    _feed(model, "hall", 128, 48000.0, 40, run=1)
    _feed(model, "yard", 64, 16000.0, 10, run=2)
    model.handle("site/yard/event", payloads.encode_json(
        "event", {"state": "open", "label": "Bird", "start": 0.5, "peak": 0.7}))
    window.refresh()
    assert sorted(window.tiles) == ["hall", "yard"]
    for name, n_mels in (("hall", 128), ("yard", 64)):
        image = window.tiles[name].waterfall.image.image
        assert image.shape == (95, n_mels)  # its own rows, 5 batches of 19 columns
        assert int(np.argmax(image.mean(axis=0))) == (40 if name == "hall" else 10)
        assert window.tiles[name].label.text() == "Beep, bleep 0.90"
        assert window.tiles[name].level.text() == "-23.0 dBFS"
    assert "Bird" in window.log.toPlainText() and "yard" in window.log.toPlainText()
    # Its last will greys the tile.
    model.handle("site/hall/status", payloads.encode_json(
        "status", {"node": "hall", "online": False, "run": 1, "reason": "connection lost"}))
    window.refresh()
    assert window.tiles["hall"].state.text().startswith("offline since")
    assert window.tiles["hall"].waterfall.image.opacity() < 1
    assert window.tiles["yard"].state.text() == ""
    # Garbage changes nothing drawn and is counted in the status bar.
    model.handle("site/yard/columns", b"garbage")
    window.refresh()
    assert "malformed 1" in window.counts.text()
    # A click shows the node large with its status.
    qtbot.mouseClick(window.tiles["yard"], QtCore.Qt.MouseButton.LeftButton)
    assert window.pages.currentIndex() == 1 and window.selected == "yard"
    assert '"n_mels": 64' in window.status_text.toPlainText()
    assert window.big.image.image.shape == (95, 64)
    window.show_grid()
    assert window.pages.currentIndex() == 0


@pytest.mark.mqtt
def test_subscribe_window_shows_a_live_node(mqtt_broker, tmp_path):
    url = mqtt_broker.url("site")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    node = subprocess.Popen(main_cmd("--headless", "--generator", "sine:1000@-50", "--publish",
                                     url, "--node", "n1", "--no-classifier", "--duration", "30"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    shot = tmp_path / "nodes.png"
    try:
        win = subprocess.run(main_cmd("--subscribe", url, "--duration", "5", "--screenshot",
                                      str(shot)), capture_output=True, text=True, env=env,
                             timeout=90)
    finally:
        node.terminate()
        node.communicate(timeout=60)
    assert win.returncode == 0, win.stderr
    assert shot.stat().st_size > 1000
    wait_until(lambda: node.returncode is not None, 1, "the node to end")
