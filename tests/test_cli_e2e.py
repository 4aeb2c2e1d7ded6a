"""End to end through the command line: ``python main.py`` in a subprocess, capturing from the
PulseAudio virtual microphone while it plays a known tone."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, RATE, main_cmd, write_tone

pulse = pytest.mark.pulse

BIN_HZ = RATE / 2048  # default n_fft
RUN_TIMEOUT = 60  # seconds; a hang fails the test instead of blocking the suite


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(main_cmd(*args), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def _usage_error(proc: subprocess.CompletedProcess) -> str:
    """Assert exit code 2 with one clear line on stderr (ALSA/PortAudio chatter aside)."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("spectromon:")]
    assert len(ours) == 1, proc.stderr
    return ours[0]


@pytest.fixture
def tone(tmp_path):
    """A 1 kHz tone at -12 dBFS peak, long enough to outlast any run below."""
    return write_tone(tmp_path / "tone1k.wav", 1000.0, -12.0, 20.0)


def _json_lines(stdout: str) -> list[dict]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines, "no JSON lines printed"
    return lines


@pulse
def test_headless_sees_the_tone(pulse_mic, tone):
    with pulse_mic.playing(tone):
        proc = _run("--headless", "--device", "pulse", "--samplerate", str(RATE),
                    "--duration", "3", "--no-classifier")
    assert proc.returncode == 0, proc.stderr
    lines = _json_lines(proc.stdout)
    heard = [d for d in lines if d["frames"] > 0]
    assert len(heard) >= 3, lines
    for d in heard:
        assert d["peak_hz"] == pytest.approx(1000.0, abs=BIN_HZ), d
        assert d["rms_dbfs"] == pytest.approx(-15.0, abs=1.5), d
    # The last line is the end of the run: not before --duration (how long after it depends
    # on the scheduler of a loaded machine, so only "not before" is asserted).
    assert lines[-1]["t"] >= 3.0
    assert all(d["dropped_frames"] == 0 for d in lines)
    assert all("top" not in d for d in lines)


@pulse
def test_headless_with_classifier(pulse_mic, tone):
    import monitor.classifier

    if not hasattr(monitor.classifier, "open_classifier"):
        pytest.skip("the classifier is not built yet (monitor.classifier.open_classifier)")
    with pulse_mic.playing(tone):
        proc = _run("--headless", "--device", "pulse", "--samplerate", str(RATE),
                    "--duration", "3")
    assert proc.returncode == 0, proc.stderr
    lines = _json_lines(proc.stdout)
    assert all("top" in d for d in lines), lines
    assert any(d["peak_hz"] is not None and abs(d["peak_hz"] - 1000) <= BIN_HZ for d in lines)
    # YAMNet needs ~1 s of audio for its first scores; by the end it has labels for the beep.
    labels = json.dumps(lines[-1]["top"]).lower()
    assert any(word in labels for word in ("beep", "sine", "tone")), lines[-1]["top"]


@pulse
def test_list_devices_shows_pulse(pulse_mic):
    proc = _run("--list-devices")
    assert proc.returncode == 0, proc.stderr
    names = [line.split("(")[0].split(None, 1)[1].strip() for line in proc.stdout.splitlines()]
    assert "pulse" in names, proc.stdout


@pulse
def test_unknown_device_is_one_line(pulse_mic):
    line = _usage_error(_run("--headless", "--device", "nonexistent", "--duration", "1",
                             "--no-classifier"))
    assert "nonexistent" in line and "pulse" in line  # names the inputs there are


@pulse
def test_refused_samplerate_lists_accepted_rates(pulse_mic):
    # The ALSA pulse plugin resamples, so it accepts any rate up to PulseAudio's limit of
    # 384 kHz (12345 Hz opens fine); 500 kHz passes our own range check and is refused there.
    line = _usage_error(_run("--headless", "--device", "pulse", "--samplerate", "500000",
                             "--duration", "1", "--no-classifier"))
    assert "500000" in line
    assert "48000" in line.split("accepts")[-1], line


@pulse
def test_too_many_channels_is_one_line(pulse_mic):
    line = _usage_error(_run("--headless", "--device", "pulse", "--channels", "64",
                             "--duration", "1", "--no-classifier"))
    assert "channel" in line


@pulse
def test_record_writes_the_tone_and_never_overwrites(pulse_mic, tone, tmp_path):
    out = tmp_path / "rec.wav"
    with pulse_mic.playing(tone):
        proc = _run("--headless", "--device", "pulse", "--samplerate", str(RATE), "--channels",
                    "1", "--duration", "3", "--no-classifier", "--record", str(out))
    assert proc.returncode == 0, proc.stderr
    audio, sr = sf.read(str(out), dtype="float32", always_2d=True)
    assert sr == RATE and audio.shape[1] == 1
    assert audio.shape[0] >= 2 * RATE, f"only {audio.shape[0] / RATE:.2f} s recorded"
    x = audio[:, 0]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    peak_hz = np.argmax(spectrum) * RATE / x.size
    assert peak_hz == pytest.approx(1000.0, abs=2.0)
    assert np.max(np.abs(x)) == pytest.approx(10 ** (-12 / 20), rel=0.12)

    before = out.read_bytes()
    line = _usage_error(_run("--headless", "--device", "pulse", "--duration", "1",
                             "--no-classifier", "--record", str(out)))
    assert "overwrite" in line
    assert out.read_bytes() == before


def test_readme_lists_every_option():
    """README.md's option table is made from the parser (scripts/cli-table.py README.md);
    an option added later must reach it too."""
    from monitor.cli import build_parser

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- cli-table -->")[1].split("<!-- /cli-table -->")[0]
    options = [o for a in build_parser()._actions for o in a.option_strings
               if o.startswith("--") and o != "--help"]
    missing = [o for o in options if f"`{o}" not in table]
    assert not missing, f"not in README.md (run scripts/cli-table.py README.md): {missing}"
