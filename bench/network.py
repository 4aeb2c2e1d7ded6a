"""MQTT: CPU of a headless node with publishing on against off, its bandwidth, and the CPU of
the ``--subscribe`` window showing 16 nodes.

``python -m bench.network [--quick]`` runs it alone (a local Mosquitto on 127.0.0.1 is started
and stopped here); :func:`run` is the ``make bench`` hook.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from bench.app import REPO, WARMUP, measure
from bench.report import Figure, Target

__all__ = ["run", "LocalBroker", "node_cmd"]

SECTION = "8. Network (MQTT, local Mosquitto)"
SOURCE = "pink@-30"  # broadband: the columns compress least (a tone compresses to ~1 kB/s)


class LocalBroker:
    """A Mosquitto on 127.0.0.1 on a free port, anonymous, for the duration of a ``with``."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="bench-mqtt-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.config = os.path.join(self.root, "mosquitto.conf")
        with open(self.config, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc = None

    def url(self, prefix: str) -> str:
        return f"mqtt://127.0.0.1:{self.port}/{prefix}"

    def __enter__(self) -> "LocalBroker":
        if shutil.which("mosquitto") is None:
            raise RuntimeError("no mosquitto (apt-get install mosquitto)")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.config], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return self
            except OSError:
                time.sleep(0.05)  # polling the port with a deadline
        self.__exit__()
        raise RuntimeError("mosquitto did not start listening")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


def node_cmd(seconds: float, url: str | None = None) -> list[str]:
    cmd = [sys.executable, os.path.join(REPO, "main.py"), "--headless", "--generator", SOURCE,
           "--duration", f"{seconds:g}", "--interval", "1"]
    return cmd + (["--publish", url, "--node", "bench"] if url else [])


class ByteCounter:
    """Counts what a subscriber to ``PREFIX/#`` receives: payload + topic + 4 bytes of MQTT
    header per message (fixed header 2, topic length 2; QoS 0 has no packet id)."""

    def __init__(self, port: int, prefix: str) -> None:
        import paho.mqtt.client as mqtt

        self.bytes = 0
        self.messages = 0
        self.by_kind: dict[str, int] = {}
        self.first = self.last = None
        self.start_after = time.monotonic() + WARMUP
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"{prefix}/#")
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        now = time.monotonic()
        if now < self.start_after or msg.retain:
            return
        with self._lock:
            self.first = self.first or now
            self.last = now
            size = len(msg.payload) + len(msg.topic) + 4
            self.bytes += size
            self.messages += 1
            kind = msg.topic.rsplit("/", 1)[-1]
            self.by_kind[kind] = self.by_kind.get(kind, 0) + size

    def rate(self) -> float:
        """Bytes per second over the counted span."""
        with self._lock:
            span = (self.last or 0) - (self.first or 0)
            return self.bytes / span if span > 0 else float("nan")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _fleet(port: int, prefix: str, nodes: int, stop: threading.Event) -> None:
    """Publish ``nodes`` nodes' real payloads at their real rate (0.2 s batches of 19 columns
    of pink noise at the defaults), from one thread."""
    import paho.mqtt.client as mqtt

    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.network import payloads
    from monitor.settings import Settings

    params = AnalysisParams.from_settings(Settings(), 48000.0)
    rng = np.random.default_rng(0)
    white = rng.standard_normal(48000 * 4)
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.arange(1, white.size // 2 + 2)))
    mel = FeatureExtractor(params).process((0.05 * pink / pink.std()).astype(np.float32)).mel_db
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    settings = {"samplerate": 48000.0, "n_fft": 2048, "hop": 512, "n_mels": 128, "fmin": 0.0,
                "fmax": 24000.0, "db_floor": -100.0, "db_ceil": 0.0}
    freqs = [round(float(f), 2) for f in params.mel_freqs]
    for k in range(nodes):
        client.publish(f"{prefix}/node{k:02d}/status", payloads.encode_json("status", {
            "node": f"node{k:02d}", "online": True, "run": k, "settings": settings,
            "mel_freqs": freqs, "problems": []}), qos=1, retain=True)
    frame, t_next = 0, time.monotonic()
    while not stop.is_set():
        rows = np.arange(frame, frame + 19) % mel.shape[0]
        for k in range(nodes):
            client.publish(f"{prefix}/node{k:02d}/columns", payloads.encode_columns(
                mel[rows], frame, 48000.0, 512, -100.0, 0.0, k))
            client.publish(f"{prefix}/node{k:02d}/levels", payloads.encode_json("levels", {
                "t": frame * 512 / 48000, "rms_dbfs": -30.0, "peak_dbfs": -20.0,
                "peak_hz": 100.0}))
        frame += 19
        t_next += 19 * 512 / 48000
        stop.wait(max(0.0, t_next - time.monotonic()))  # the batches' stream-time pace
    client.loop_stop()
    client.disconnect()


def _cpu(r) -> float:
    return statistics.fmean(r.cpu) if r.cpu else float("nan")


def run(quick: bool = False, log=print) -> list[Figure]:
    seconds = 15.0 if quick else 40.0
    repeats = 1 if quick else 2
    off, on, rates = [], [], []
    with LocalBroker() as broker:
        for i in range(repeats):  # alternated: drifts of the machine's load hit both alike
            log(f"  network: node without --publish, run {i + 1}/{repeats}, {seconds:g} s")
            off.append(measure(node_cmd(seconds), seconds))
            log(f"    cpu {_cpu(off[-1]):.1f} %")
            log(f"  network: node with --publish, run {i + 1}/{repeats}")
            counter = ByteCounter(broker.port, "bench")
            on.append(measure(node_cmd(seconds, broker.url("bench")), seconds))
            counter.close()
            rates.append(counter.rate() / 1000)
            log(f"    cpu {_cpu(on[-1]):.1f} %, {rates[-1]:.2f} kB/s")
        log(f"  network: --subscribe window (offscreen) with 16 nodes, {seconds:g} s")
        stop = threading.Event()
        fleet = threading.Thread(target=_fleet, args=(broker.port, "fleet", 16, stop), daemon=True)
        fleet.start()
        window = measure([sys.executable, os.path.join(REPO, "main.py"), "--subscribe",
                          broker.url("fleet"), "--duration", f"{seconds:g}"], seconds)
        stop.set()
        fleet.join(10)
    for r in off + on + [window]:
        if r.returncode != 0:
            raise RuntimeError(f"a run failed ({r.returncode}): {r.stderr.strip()[-300:]}")
    note = (f"{repeats} run(s) of {seconds:g} s, --generator {SOURCE}, default settings "
            f"(48 kHz, n_fft 2048, hop 512, 128 mels, classifier on); CPU sampled every 1 s "
            f"from {WARMUP:g} s after launch")
    return [
        Figure(SECTION, "headless node CPU, publishing", "% of one core", [_cpu(r) for r in on],
               "not publishing", [_cpu(r) for r in off],
               Target("<=", 1.25, "≤ 1.25 × off", "ratio"),
               note=note),
        Figure(SECTION, "bandwidth per node (payload + topic + MQTT header)", "kB/s", rates,
               target=Target("<=", 10.0, "< 10 kB/s"),
               note="columns zlib-compressed uint8; pink noise is near the worst case"),
        Figure(SECTION, "--subscribe window CPU, 16 nodes", "% of one core", [_cpu(window)],
               note="offscreen; 16 synthetic nodes of real payloads at the default rate"),
    ]


if __name__ == "__main__":
    import argparse

    from bench.report import render_text

    p = argparse.ArgumentParser(prog="python -m bench.network")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(render_text(run(quick=args.quick)))
