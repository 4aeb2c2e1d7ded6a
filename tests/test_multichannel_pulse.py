"""Two channels through a real PulseAudio null sink: a known delay and a polarity flip between
channel 1 and channel 2 are found by the headless runner's --measure."""

from __future__ import annotations

import json
import subprocess
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

from conftest import RATE, PulseServer, main_cmd

pulse = pytest.mark.pulse
SINK2 = "vsink2"
DELAY = 24  # samples channel 2 lags channel 1 (0.5 ms at 48 kHz)


@pytest.fixture
def stereo_mic(pulse_mic: PulseServer) -> Iterator[PulseServer]:
    """A second null sink, 2 channels at 48 kHz, whose monitor is the default source meanwhile."""
    module = pulse_mic.pactl("load-module", "module-null-sink", f"sink_name={SINK2}",
                             f"rate={RATE}", "channels=2", "channel_map=front-left,front-right",
                             "sink_properties=device.description=Virtual_stereo").strip()
    try:
        pulse_mic.pactl("set-default-source", f"{SINK2}.monitor")
        for args in (("set-sink-volume", SINK2, "100%"), ("set-source-volume", f"{SINK2}.monitor", "100%")):
            pulse_mic.pactl(*args)
        yield pulse_mic
    finally:
        pulse_mic.pactl("set-default-source", "vsink.monitor")
        pulse_mic.pactl("unload-module", module)


def _stereo_noise(path, seconds=20.0):
    rng = np.random.default_rng(7)
    n = int(seconds * RATE)
    x = 0.1 * rng.standard_normal(n + DELAY)
    left = x[DELAY:]
    right = -0.5 * x[:n]  # right[t] = -0.5 * left[t - DELAY]: later, inverted, 6 dB lower
    sf.write(str(path), np.stack([left, right], axis=1), RATE, subtype="FLOAT")
    return path


@pulse
def test_delay_and_polarity_between_two_channels(stereo_mic, tmp_path):
    wav = _stereo_noise(tmp_path / "stereo.wav")
    proc = subprocess.Popen(["paplay", f"--device={SINK2}", str(wav)], env=stereo_mic.env,
                            stdin=subprocess.DEVNULL)
    stereo_mic.players.append(proc)
    try:
        run = subprocess.run(main_cmd("--headless", "--device", "pulse", "--samplerate", str(RATE),
                                      "--channels", "2", "--measure", "--no-classifier",
                                      "--duration", "5", "--interval", "0.5"),
                             capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    finally:
        proc.terminate()
        proc.wait(10)
        stereo_mic.players.remove(proc)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    found = [line["measure"]["channels"] for line in lines
             if line["measure"]["channels"].get("compare", {}).get("confidence", 0) > 0.9]
    assert found, [line["measure"]["channels"] for line in lines]
    last = found[-1]
    assert last["count"] == 2
    c = last["compare"]
    assert c["channels"] == [1, 2]
    assert c["lag_samples"] == pytest.approx(DELAY, abs=0.1)
    assert c["polarity"] == -1
    assert c["level_difference_db"] == pytest.approx(-6.02, abs=0.2)
