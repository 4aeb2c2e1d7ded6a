"""The window and the headless runner drive the same session: the same saved settings and the
same command line give the same settings in force and the same problems (real subprocesses,
real files, the window offscreen)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from monitor.settings_store import SettingsStore

REPO = Path(__file__).resolve().parent.parent


def _problems(stderr: str) -> set[str]:
    return {line.removeprefix("spectromon: ") for line in stderr.splitlines()
            if line.startswith("spectromon: ")}


def test_window_and_headless_agree(tmp_path):
    config = tmp_path / "config"
    store = SettingsStore(path=str(config / "spectromon" / "spectromon.ini"))
    # Saved in an earlier session at 48 kHz: none of these fit a 16 kHz file at n_fft 256.
    store.save({"n_fft": 256, "fmin": 50.0, "fmax": 20000.0, "colormap": "magma",
                "threshold": 5})  # and one value no version accepts
    wav = tmp_path / "tone16k.wav"
    t = np.arange(16000 * 3) / 16000
    sf.write(wav, (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 16000)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(XDG_CONFIG_HOME=str(config), QT_QPA_PLATFORM="offscreen",
               SPECTROMON_STATS_FILE=str(tmp_path / "stats.json"))
    common = [sys.executable, str(REPO / "main.py"), "--input", str(wav), "--loop",
              "--no-classifier", "--duration", "1.5"]
    # Headless first: the window saves what it cleaned (the bad threshold is then gone).
    headless = subprocess.run([*common, "--headless", "--save-features",
                               str(tmp_path / "f.npz")], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
    assert headless.returncode == 0, headless.stderr

    window = subprocess.run([*common, "--screenshot", str(tmp_path / "w.png")], env=env,
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert window.returncode == 0, window.stderr
    shown = json.loads((tmp_path / "stats.json").read_text())["settings"]
    saved = np.load(tmp_path / "f.npz")
    for name in ("n_fft", "hop", "n_mels", "fmin"):
        assert shown[name] == saved[name].item(), name
    assert shown["n_fft"] == 256 and shown["hop"] == 64 and shown["n_mels"] < 128
    assert shown["fmin"] == 0.0 and shown["fmax"] is None and saved["fmax"].item() == 8000.0
    assert shown["colormap"] == "magma" and shown["threshold"] == 0.1
    problems = _problems(window.stderr)
    assert problems == _problems(headless.stderr)
    assert any("threshold" in p and "--reset-settings" in p for p in problems)
    assert any("fmax 20000 Hz" in p and "0 … 8000 Hz" in p for p in problems)
    assert any("n_mels lowered from 128" in p for p in problems)
