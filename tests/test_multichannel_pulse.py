"""Two channels through a real PulseAudio null sink: a known delay and a polarity flip between
channel 1 and channel 2 are found by the headless runner's --measure."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import numpy as np
import pytest
import soundfile as sf
from conftest import RATE, PulseServer, main_cmd

pulse = pytest.mark.pulse
SINK2 = "vsink2"
DELAY = 24  # samples channel 2 lags channel 1 (0.5 ms at 48 kHz)
# The channel orders the ALSA pulse plugin asks for (its ALSA map): given to the sink and to
# paplay too, every channel arrives where it was played, with no remixing.
MAPS = {2: "front-left,front-right",
        8: "front-left,front-right,rear-left,rear-right,front-center,lfe,side-left,side-right"}


@pytest.fixture(params=[2, 8], ids=["2ch", "8ch"])
def stereo_mic(pulse_mic: PulseServer, request) -> Iterator[PulseServer]:
    """A second null sink of 2 (or 8) channels at 48 kHz, whose monitor is the default source
    meanwhile."""
    module = pulse_mic.pactl("load-module", "module-null-sink", f"sink_name={SINK2}",
                             f"rate={RATE}", f"channels={request.param}",
                             f"channel_map={MAPS[request.param]}",
                             "sink_properties=device.description=Virtual_multichannel").strip()
    pulse_mic.channels = request.param
    try:
        pulse_mic.pactl("set-default-source", f"{SINK2}.monitor")
        for args in (("set-sink-volume", SINK2, "100%"), ("set-source-volume", f"{SINK2}.monitor", "100%")):
            pulse_mic.pactl(*args)
        yield pulse_mic
    finally:
        pulse_mic.pactl("set-default-source", "vsink.monitor")
        pulse_mic.pactl("unload-module", module)


def _noise_channels(path, channels, seconds=20.0):
    """Channel 1 noise; the last channel the same, DELAY samples later, inverted, 6 dB lower;
    channels between hold quiet unrelated noise."""
    rng = np.random.default_rng(7)
    n = int(seconds * RATE)
    x = 0.1 * rng.standard_normal(n + DELAY)
    out = 0.001 * rng.standard_normal((n, channels))
    out[:, 0] = x[DELAY:]
    out[:, -1] = -0.5 * x[:n]  # last[t] = -0.5 * first[t - DELAY]
    sf.write(str(path), out, RATE, subtype="FLOAT")
    return path


@pulse
def test_delay_and_polarity_between_two_channels(stereo_mic, tmp_path):
    channels = stereo_mic.channels
    wav = _noise_channels(tmp_path / "noise.wav", channels)
    proc = subprocess.Popen(["paplay", f"--device={SINK2}", f"--channel-map={MAPS[channels]}", str(wav)],
                            env=stereo_mic.env,
                            stdin=subprocess.DEVNULL)
    stereo_mic.players.append(proc)
    try:
        run = subprocess.run(main_cmd("--headless", "--device", "pulse", "--samplerate", str(RATE),
                                      "--channels", str(channels), "--compare-channel", str(channels),
                                      "--measure", "--no-classifier",
                                      "--duration", "5", "--interval", "0.5"),
                             capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
                             check=False)
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
    assert last["count"] == channels
    c = last["compare"]
    assert c["channels"] == [1, channels]
    assert all(v < -50 for v in last["rms_dbfs"][1:-1])  # the quiet ones stay apart
    assert c["lag_samples"] == pytest.approx(DELAY, abs=0.1)
    assert c["polarity"] == -1
    assert c["level_difference_db"] == pytest.approx(-6.02, abs=0.2)
