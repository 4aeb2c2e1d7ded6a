"""A PulseAudio virtual microphone for the benchmarks, and the programme played into it.

The same arrangement as the test suite's: a private daemon (own socket, HOME and runtime dir,
so a desktop's sound server is left alone) with a 48 kHz mono null sink ``vsink`` whose
monitor is the default source, one low-latency ``parec`` reader kept on it (so that new
recorders start at once), and ``paplay`` playing a programme into the sink in a loop.
PortAudio reaches it as the ALSA device ``pulse`` through ``PULSE_SERVER``.

Every process is started here and stopped by its PID.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Optional

import numpy as np

SINK = "vsink"
RATE = 48000
SAMPLES = "/work/shared/samples"
START_TIMEOUT = 15.0


def _stop(proc: Optional[subprocess.Popen], timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def programme(path: str, seconds: float = 40.0) -> str:
    """Write a mono 48 kHz 16-bit WAV of real sounds (the shared clips, else resources/*.wav,
    else a generated tone sweep with noise) about ``seconds`` long; return its path."""
    import soundfile as sf
    import soxr

    clips = sorted(glob.glob(os.path.join(SAMPLES, "*.wav")))
    if not clips:
        from monitor.resources import resource_dir

        clips = sorted(str(p) for p in resource_dir().glob("*.wav"))
    parts, total = [], 0
    for clip in clips:
        y, sr = sf.read(clip, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        if sr != RATE:
            y = soxr.resample(y, sr, RATE)
        parts.append(y)
        total += y.size
        if total >= seconds * RATE:
            break
    if not parts:
        t = np.arange(int(seconds * RATE)) / RATE
        rng = np.random.default_rng(0)
        parts = [0.3 * np.sin(2 * np.pi * 200 * 2 ** (t % 10) * t) + 0.02 * rng.standard_normal(t.size)]
    y = np.concatenate(parts).astype(np.float32)
    sf.write(path, np.clip(y, -1, 1), RATE, subtype="PCM_16")
    return path


class VirtualMic:
    """A private PulseAudio daemon with a null sink, playing ``wav`` in a loop while running."""

    TOOLS = ("pulseaudio", "pactl", "paplay", "parec")

    def __init__(self, root: Optional[str] = None) -> None:
        self.root = root or tempfile.mkdtemp(prefix="bench-pulse-")
        self.socket = os.path.join(self.root, "native")
        self.log = os.path.join(self.root, "pulseaudio.log")
        self.env = dict(os.environ, PULSE_SERVER=f"unix:{self.socket}")
        self.daemon: Optional[subprocess.Popen] = None
        self.reader: Optional[subprocess.Popen] = None
        self._player: Optional[subprocess.Popen] = None
        self._looping = threading.Event()
        self._loop_thread: Optional[threading.Thread] = None

    @classmethod
    def problem(cls) -> Optional[str]:
        """Why a virtual microphone cannot run here, or None."""
        missing = [t for t in cls.TOOLS if shutil.which(t) is None]
        if missing:
            return f"PulseAudio tools missing: {', '.join(missing)}"
        return None

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True,
                              timeout=10, check=True).stdout

    def _ok(self) -> bool:
        try:
            self.pactl("info")
            return True
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False

    def start(self) -> "VirtualMic":
        home, runtime = os.path.join(self.root, "home"), os.path.join(self.root, "run")
        os.makedirs(home, exist_ok=True)
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(HOME=home, XDG_RUNTIME_DIR=runtime, XDG_CONFIG_HOME=os.path.join(home, ".config"))
        cmd = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
               "--realtime=no", "--high-priority=no", "--log-target=stderr",
               "-L", f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
               "-L", f"module-null-sink sink_name={SINK} rate={RATE} channels=1 "
                     "sink_properties=device.description=Virtual_microphone"]
        with open(self.log, "ab") as log:
            self.daemon = subprocess.Popen(cmd, env=env, stdout=log, stderr=log,
                                           stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ok():
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("PulseAudio did not start; see " + self.log)
            time.sleep(0.05)
        for args in (("set-default-source", f"{SINK}.monitor"), ("set-sink-volume", SINK, "100%"),
                     ("set-source-volume", f"{SINK}.monitor", "100%")):
            self.pactl(*args)
        self.reader = subprocess.Popen(["parec", f"--device={SINK}.monitor", "--latency-msec=10"],
                                       env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.pactl("list", "short", "source-outputs").strip():
            if time.monotonic() > deadline:
                raise RuntimeError("parec did not attach to the virtual microphone")
            time.sleep(0.05)
        # This process (PortAudio's ALSA 'pulse' plugin) and its children find the daemon here.
        os.environ["PULSE_SERVER"] = self.env["PULSE_SERVER"]
        return self

    def play_loop(self, wav: str) -> None:
        """Play ``wav`` into the sink over and over until :meth:`stop_playing`."""
        self._looping.set()

        def loop() -> None:
            while self._looping.is_set():
                self._player = subprocess.Popen(["paplay", f"--device={SINK}", wav], env=self.env,
                                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
                self._player.wait()

        self._loop_thread = threading.Thread(target=loop, name="paplay-loop", daemon=True)
        self._loop_thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.pactl("list", "short", "sink-inputs").strip():
            if time.monotonic() > deadline:
                raise RuntimeError("paplay did not connect")
            time.sleep(0.05)

    def stop_playing(self) -> None:
        self._looping.clear()
        _stop(self._player)
        if self._loop_thread is not None:
            self._loop_thread.join(5)
        self._loop_thread = None

    def stop(self) -> None:
        self.stop_playing()
        _stop(self.reader)
        _stop(self.daemon)
        self.reader = self.daemon = None
        if os.environ.get("PULSE_SERVER") == self.env["PULSE_SERVER"]:
            os.environ.pop("PULSE_SERVER", None)

    def __enter__(self) -> "VirtualMic":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
