"""``--list-devices`` marks the default input (real PortAudio on the virtual microphone)."""

from __future__ import annotations

import subprocess

import pytest

from conftest import main_cmd


@pytest.mark.pulse
def test_list_devices_marks_the_default_input(pulse_mic):
    import sounddevice as sd

    default = sd.query_devices(kind="input")["index"]
    proc = subprocess.run(main_cmd("--list-devices"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    marked = [line for line in proc.stdout.splitlines() if "[default input]" in line]
    assert len(marked) == 1, proc.stdout
    assert marked[0].startswith("*") and int(marked[0][1:].split()[0]) == default
