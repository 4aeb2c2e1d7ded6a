"""'Save the last 30 s' (SIGUSR1 headless, the window's button) through the PulseAudio virtual
microphone, checked sample by sample with a 16-bit counter; and the window's close, which never
waits on the GUI thread and keeps the recording's tail."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import soundfile as sf
from PyQt6 import QtCore

from conftest import RATE, main_cmd, wait_until
from monitor.clips import AlertClips
from monitor.gui.main_window import MainWindow
from monitor.session import Session
from monitor.settings_store import SettingsStore

PREROLL = 30  # s, the default
PLAYED = PREROLL + 2  # s of counter played


def counter(n: int) -> np.ndarray:
    """int16 samples 1, 2, ... wrapping at the int16 range: each one tells its place."""
    k = (np.arange(n, dtype=np.int64) + 1) % 65536
    return np.where(k >= 32768, k - 65536, k).astype(np.int16)


def write_played(path) -> np.ndarray:
    played = counter(PLAYED * RATE)
    # PulseAudio drops the first milliseconds of a new stream into the null sink: let it drop
    # silence (see test_recorder).
    sf.write(str(path), np.concatenate((np.zeros(RATE // 2, np.int16), played)), RATE,
             subtype="PCM_16")
    return played


def assert_last_30_s(path, played: np.ndarray) -> None:
    """The file is exactly the last 30 s captured: the counter's last samples, contiguous and
    ending with its very last one, then the silence captured after it."""
    got = np.round(sf.read(str(path), dtype="float32", always_2d=True)[0][:, 0] * 32768)
    got = got.astype(np.int64)
    assert got.size == PREROLL * RATE, f"{got.size / RATE:g} s saved"
    nonzero = np.flatnonzero(got)
    assert nonzero.size, "no counter sample saved"
    # Where the counter ends depends on how long after it the save came (6.4 s once at a load
    # of 5): not bounded here. That its very last sample is there, contiguous, with only
    # silence after it, is what the two lines below check.
    last = int(nonzero[-1])
    np.testing.assert_array_equal(got[:last + 1], played[-(last + 1):].astype(np.int64))
    assert not got[last + 1:].any()


def _readline(stream, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


@pytest.mark.pulse
def test_sigusr1_saves_exactly_the_last_30_s_played(pulse_mic, tmp_path):
    played = write_played(tmp_path / "counter.wav")
    proc = subprocess.Popen(main_cmd("--headless", "--device", "pulse", "--samplerate",
                                     str(RATE), "--channels", "1", "--no-classifier",
                                     "--interval", "0.25", "--save-clips", str(tmp_path)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        assert _readline(proc.stdout, 30), proc.stderr.read()  # running: the handler is set
        pulse_mic.play(tmp_path / "counter.wav")  # returns once all of it was played
        for _ in range(6):  # 1.5 s of output lines: the capture latency's tail is in
            assert _readline(proc.stdout, 10)
        proc.send_signal(signal.SIGUSR1)
        deadline, path = time.monotonic() + 20, None
        while path is None and time.monotonic() < deadline:
            line = _readline(proc.stderr, 1)
            found = re.search(r"saved the last 30 s to (\S+\.wav)", line)
            path = found.group(1) if found else None
        assert path, "no line on stderr named the file"
        assert os.path.dirname(path) == str(tmp_path)
        assert os.path.basename(path).startswith("preroll-")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert_last_30_s(path, played)


@pytest.mark.pulse
def test_window_button_saves_exactly_the_last_30_s_played(pulse_mic, qtbot, tmp_path):
    played = write_played(tmp_path / "counter.wav")
    session = Session({"device": "pulse", "samplerate": RATE, "channels": 1,
                       "classifier": False})
    session.clips = AlertClips(str(tmp_path), enabled=False)  # as --save-clips DIR does
    session.start()
    window = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.save_last_button.text().endswith("Save last 30 s")
        recorder = session.pipeline.recorder
        wait_until(lambda: recorder.ring.written > 0, 10, "the first audio callback")
        pulse_mic.play(tmp_path / "counter.wav")
        target = recorder.ring.written + RATE // 2  # the capture latency's tail
        qtbot.waitUntil(lambda: recorder.position >= target, timeout=10_000)
        qtbot.mouseClick(window.save_last_button, QtCore.Qt.MouseButton.LeftButton)
        problem = session.problems.get("preroll")
        assert problem is not None and problem.severity == "info", problem
        path = problem.text.split(" to ", 1)[1]
        assert os.path.dirname(path) == str(tmp_path)
        assert recorder.wait_saved(path, 10)
    finally:
        window.close()
        session.close()
    assert_last_30_s(path, played)


def test_shortcut_saves_the_preroll(qtbot, tmp_path):
    session = Session({"generator": "sine:1000", "classifier": False, "preroll": 2.0})
    session.start()
    window = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    window.show()
    session.clips.directory = str(tmp_path)
    try:
        qtbot.waitUntil(lambda: session.pipeline.recorder.position > 2 * 48000, timeout=10_000)
        window.activateWindow()
        qtbot.keyClick(window, QtCore.Qt.Key.Key_S, QtCore.Qt.KeyboardModifier.ControlModifier
                       | QtCore.Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: session.problems.get("preroll") is not None, timeout=5000)
        path = session.problems.get("preroll").text.split(" to ", 1)[1]
        assert session.pipeline.recorder.wait_saved(path, 10)
    finally:
        window.close()
        session.close()
    assert sf.info(path).frames == 2 * 48000


def test_closing_never_waits_on_the_gui_thread_and_keeps_the_tail(qtbot, tmp_path, monkeypatch):
    out = tmp_path / "rec.wav"
    session = Session({"generator": "sine:1000", "classifier": False}, record=str(out))
    session.start()
    window = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    window.show()
    recorder = session.pipeline.recorder
    qtbot.waitUntil(lambda: recorder.frames > 48000, timeout=10_000)
    gui = threading.current_thread()
    joins = []
    real_join = threading.Thread.join

    def join(self, timeout=None):  # instrumented: who waits for whom
        joins.append((threading.current_thread().name, self.name, timeout))
        return real_join(self, timeout)

    monkeypatch.setattr(threading.Thread, "join", join)
    t0 = time.perf_counter()
    window.close()
    took = time.perf_counter() - t0
    on_gui = [j for j in joins if j[0] == gui.name]
    assert not on_gui, f"the GUI thread waited in close(): {on_gui} ({took:.3f} s)"
    print(f"close() returned in {took * 1e3:.1f} ms")
    assert window.wait_stopped(30)
    assert any(j[1] == "recorder" for j in joins), "the recorder was never stopped"
    session.close()  # after the event loop: waits for the recording's tail
    captured = recorder.ring.written
    y = sf.read(str(out), dtype="float32", always_2d=True)[0]
    assert y.shape[0] == captured > 48000  # every frame captured, the tail included
    assert np.abs(y[-4800:]).max() > 0.5  # the tone up to the end, not silence


def test_watch_list_switch_turns_clips_on_and_off(qtbot, tmp_path):
    session = Session({"generator": "sine:1000"})
    if session.open_classifier() is None:
        pytest.skip(session.problems.get("classifier").text)
    session.start()
    window = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    try:
        check = window.classifier_view.clips_check
        assert not check.isChecked() and not session.clips.enabled  # no --save-clips
        check.setChecked(True)
        assert session.clips.enabled
        check.setChecked(False)
        assert not session.clips.enabled
        assert window.classifier_view.table.horizontalHeaderItem(4).text() == "clip"
    finally:
        window.close()
        session.close()


def test_session_preroll_can_go_on_as_the_recording(tmp_path):
    session = Session({"generator": "sine:1000", "classifier": False, "preroll": 1.0})
    session.start()
    try:
        recorder = session.pipeline.recorder
        wait_until(lambda: recorder.position > 48000, 10, "a second of audio")
        path = session.save_preroll(str(tmp_path), continue_recording=True)
        assert path and recorder.recording and recorder.path == path
        assert session.problems.get("preroll").text.endswith("recording on into it")
        assert session.save_preroll(str(tmp_path), continue_recording=True) is None
        assert "already recording" in session.problems.get("preroll").text
        wait_until(lambda: recorder.frames > 2 * 48000, 10, "the recording to go on")
    finally:
        session.close()
    assert sf.info(path).frames > 2 * 48000  # a second of pre-roll, then the live audio
