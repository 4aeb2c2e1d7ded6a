"""Kill the audio server mid-stream: the monitor says 'input lost', stops at once, recovers.

The PulseAudio daemon is killed by its PID (SIGKILL, as a crash would); the virtual microphone
fixture restarts it for the recovery step and for every later test.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

from monitor.pipeline import Pipeline
from monitor.settings import ParameterError, Settings
from conftest import RATE, main_cmd, rescan_portaudio, wait_until, write_tone

pytestmark = pytest.mark.pulse

# The window variant below runs in this process, off screen (like every in-process GUI test).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

SETTINGS = Settings(device="pulse", samplerate=RATE, channels=1, classifier=False)


def _stop_in_thread(pipeline: Pipeline, timeout: float = 10.0) -> bool:
    """Call pipeline.stop() on another thread; True if it returned within ``timeout``."""
    t = threading.Thread(target=pipeline.stop, name="stop", daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive()


def test_server_killed_mid_stream_then_recovered(pulse_mic, tmp_path):
    pipeline = Pipeline(SETTINGS)
    pipeline.start()
    try:
        wait_until(lambda: pipeline.worker.frames_in >= RATE // 4, 10, "audio to flow")
        assert not pipeline.input_lost

        pulse_mic.kill()

        wait_until(lambda: pipeline.input_lost, 10, "the loss to be noticed")
        # Reported by PortAudio's finished callback, or by the stall watchdog if that is late.
        assert pipeline.source.error.startswith("input lost")
        assert pipeline.status().problem.startswith("input lost")
        assert not pipeline.source.active
        # The worker is alive and answers; nothing more arrives.
        assert pipeline.worker._thread.is_alive()
    finally:
        assert _stop_in_thread(pipeline), "stop() hung after the server died"

    # While the server is away, opening the device is refused with one clear line.
    rescan_portaudio()
    with pytest.raises(ParameterError) as refused:
        Pipeline(SETTINGS)
    assert "\n" not in str(refused.value) and "pulse" in str(refused.value)

    # Retry once the server is back: a new pipeline on the same device gets the tone.
    pulse_mic.start()
    rescan_portaudio()
    tone = write_tone(tmp_path / "tone.wav", 1000.0, -12.0, 1.0)
    pipeline = Pipeline(SETTINGS)
    pipeline.start()
    try:
        wait_until(lambda: pipeline.ring.written > 0, 10, "audio after the restart")
        pulse_mic.play(tone)
        target = pipeline.ring.written + RATE // 4
        wait_until(lambda: pipeline.worker.frames_in >= target, 10, "the tone to be analysed")
        assert not pipeline.input_lost
    finally:
        assert _stop_in_thread(pipeline)
    batches = pipeline.worker.drain()
    rms = np.concatenate([b.rms_dbfs for b in batches])
    peak_hz = np.concatenate([b.peak_hz for b in batches])
    loud = rms > -20
    assert loud.sum() >= 20, f"the tone did not arrive after recovery (max {rms.max():.1f} dBFS)"
    assert np.median(peak_hz[loud]) == pytest.approx(1000.0, abs=RATE / SETTINGS.n_fft)


def test_same_pipeline_reopens_its_input(pulse_mic, tmp_path):
    """The retry path of the window and the headless runner: Pipeline.restart_source() keeps
    the ring, the worker and its history, and replaces only the lost source."""
    pipeline = Pipeline(SETTINGS)
    pipeline.start()
    try:
        wait_until(lambda: pipeline.worker.frames_in >= RATE // 4, 10, "audio to flow")
        worker = pipeline.worker
        pulse_mic.kill()
        wait_until(lambda: pipeline.input_lost, 10, "the loss to be noticed")
        with pytest.raises(ParameterError):
            pipeline.restart_source()  # the server is still away
        assert pipeline.input_lost

        pulse_mic.start()
        pipeline.restart_source()
        assert not pipeline.input_lost and pipeline.status().problem is None
        assert pipeline.worker is worker
        before = worker.frames_in
        pulse_mic.play(write_tone(tmp_path / "tone.wav", 440.0, -12.0, 1.0))
        target = pipeline.ring.written + RATE // 4
        wait_until(lambda: worker.frames_in >= target, 10, "the tone to be analysed")
        assert worker.frames_in > before
    finally:
        assert _stop_in_thread(pipeline)
    batches = worker.drain()
    loud = np.concatenate([b.peak_hz[b.rms_dbfs > -20] for b in batches])
    assert loud.size >= 20, "the tone did not arrive after the input was reopened"
    assert np.median(loud) == pytest.approx(440.0, abs=RATE / SETTINGS.n_fft)


def test_headless_reports_loss_and_recovers(pulse_mic, tmp_path):
    """``main.py --headless`` on the virtual mic: the server dies, the JSON lines say
    'input lost', the run goes on, and when the server is back the tone is heard again."""
    tone = write_tone(tmp_path / "tone.wav", 1000.0, -12.0, 30.0)
    errors = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen(
        main_cmd("--headless", "--device", "pulse", "--samplerate", str(RATE), "--channels", "1",
                 "--interval", "0.25", "--duration", "120", "--no-classifier"),
        stdout=subprocess.PIPE, stderr=errors, text=True, stdin=subprocess.DEVNULL)
    lines: "queue.Queue[dict]" = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(json.loads(s)) for s in proc.stdout],
                              daemon=True)
    reader.start()

    def next_line_where(condition, what: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"timed out after {timeout:g} s waiting for a line with {what}",
                            pytrace=False)
            if condition(line):
                return line

    def hears_tone(d: dict) -> bool:
        return d["peak_hz"] is not None and abs(d["peak_hz"] - 1000) <= RATE / 2048 \
            and "problem" not in d

    try:
        with pulse_mic.playing(tone):
            next_line_where(hears_tone, "the tone")
        pulse_mic.kill()
        lost = next_line_where(lambda d: "problem" in d, "a problem")
        assert lost["problem"].startswith("input lost")
        assert proc.poll() is None, "the run ended when the input was lost"
        pulse_mic.start()
        with pulse_mic.playing(tone):
            next_line_where(hears_tone, "the tone after the server came back")
    finally:
        proc.send_signal(signal.SIGINT)  # as Ctrl+C: a clean stop with exit code 0
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the headless run did not stop on SIGINT")
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    assert proc.returncode == 0, stderr
    assert "input back" in stderr


def test_window_shows_input_lost_and_retries(pulse_mic, qtbot, tmp_path):
    """The window: 'Input lost' banner with Retry; the window keeps answering; Retry while the
    server is away keeps the banner; Retry once it is back brings the audio back."""
    from PyQt6 import QtCore

    from monitor.gui.main_window import MainWindow
    from monitor.session import Session

    session = Session({f: getattr(SETTINGS, f) for f in ("device", "samplerate", "channels",
                                                          "classifier")},
                      auto_retry=False)  # the Retry button is what is tested here
    window = MainWindow(session)  # no settings store: nothing persisted
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.frames_seen > 0, timeout=10_000)
    assert not window.banner.isVisible()

    pulse_mic.kill()
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    assert "input lost" in window.banner.label.text().lower()
    # Still responsive: the space bar pauses and resumes the display.
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert window.paused
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not window.paused

    combo = window.banner.devices
    pulse = next(i for i in range(combo.count()) if combo.itemText(i).endswith(": pulse"))
    combo.setCurrentIndex(pulse)  # listed from before the loss
    qtbot.mouseClick(window.banner.button, QtCore.Qt.MouseButton.LeftButton)
    assert window.banner.isVisible(), "Retry succeeded while the server was down"
    assert window.pipeline.input_lost or window.session.problems.get("input").severity == "error"

    pulse_mic.start()
    # The failed Retry re-read the device list while the server was away, so 'pulse' is not
    # offered now; the default input (ALSA 'default', routed to PulseAudio) is.
    combo.setCurrentIndex(combo.findData(None))
    seen = window.frames_seen
    qtbot.mouseClick(window.banner.button, QtCore.Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible()
    assert not window.pipeline.input_lost
    qtbot.waitUntil(lambda: window.frames_seen > seen + 10, timeout=10_000)
    window.close()
    assert window.wait_stopped(30)


def test_frozen_server_counts_as_lost_then_recovers(pulse_mic, tmp_path):
    """A server that stops answering without dying (SIGSTOP) is never reported by PortAudio:
    the stall watchdog calls the input lost, and restart_source() brings it back."""
    pipeline = Pipeline(SETTINGS)
    pipeline.start()
    try:
        wait_until(lambda: pipeline.worker.frames_in >= RATE // 4, 10, "audio to flow")
        assert not pipeline.input_lost
        os.kill(pulse_mic.daemon.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: pipeline.input_lost, 15, "the stall to be noticed")
            assert "no audio" in pipeline.source.error
        finally:
            os.kill(pulse_mic.daemon.pid, signal.SIGCONT)
        pipeline.restart_source()
        before = pipeline.ring.written
        wait_until(lambda: pipeline.ring.written > before + RATE // 4, 15, "audio after the restart")
        assert not pipeline.input_lost
    finally:
        assert _stop_in_thread(pipeline), "stop() hung"


def test_recording_keeps_time_across_a_lost_input(pulse_mic, tmp_path):
    """While the input is lost the recording gets silence for the outage (listed in .gaps.csv
    as 'input lost'), so that what is recorded after the reconnect stays at its wall-clock time."""
    import soundfile as sf

    path = tmp_path / "rec.wav"
    pipeline = Pipeline(SETTINGS, record=str(path))
    pipeline.start()
    try:
        wait_until(lambda: pipeline.ring.written >= RATE // 2, 10, "audio to flow")
        before_kill = time.monotonic()
        pulse_mic.kill()
        after_kill = time.monotonic()
        wait_until(lambda: pipeline.input_lost, 10, "the loss to be noticed")
        pulse_mic.start()
        before_restart = time.monotonic()
        pipeline.restart_source()
        after_restart = time.monotonic()
        target = pipeline.ring.written + RATE // 2
        wait_until(lambda: pipeline.ring.written >= target, 15, "audio after the restart")
    finally:
        assert _stop_in_thread(pipeline)
    assert pipeline.recorder.join(30)
    rec = pipeline.recorder
    assert rec.input_gaps == 1 and rec.gaps == 0
    outage = rec.input_gap_frames / RATE
    # The estimate may be early by the audio in flight when the server died (its latency) and
    # late by one block: generous bounds around the outage the test itself saw.
    assert before_restart - after_kill - 0.25 <= outage <= after_restart - before_kill + 0.5
    rows = (tmp_path / "rec.wav.gaps.csv").read_text().splitlines()
    assert rows[0].split(",")[-1] == "reason" and len(rows) == 2
    file_frame, frames = (int(v) for v in rows[1].split(",")[:2])
    assert rows[1].endswith(",input lost") and frames == rec.input_gap_frames
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    assert np.all(audio[file_frame:file_frame + frames] == 0)
    assert audio.shape[0] >= file_frame + frames + RATE // 4  # and the audio after it is kept
