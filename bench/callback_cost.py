"""The audio callback thread's CPU per callback and per second, at a few block sizes.

    python -m bench.callback_cost [--seconds 10] [--blocks 512,1024]

A private PulseAudio virtual microphone (``bench.audio.VirtualMic``) plays the benchmark
programme; a :class:`~monitor.sources.microphone.MicrophoneSource` at 48 kHz mono reads it
through PortAudio into a ring that this thread empties. The figure is the CPU time of the OS
thread named ``audio-callback`` (``/proc/self/task/TID/stat``: PortAudio's callback thread,
so cffi, sounddevice's wrapper, the GIL and ALSA's pulse plugin are in it, not only our
copy), per callback and per second, after 2 s of warm-up; block sizes alternate twice.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def _thread_cpu(name: str) -> float | None:
    """CPU seconds of this process's thread called ``name``, or None: from
    ``/proc/self/task/TID/schedstat`` (ns) where the kernel has it, else ``stat`` (ticks of
    10 ms: ~15 % resolution on 10 s of a 1 % thread)."""
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            try:
                with open(f"/proc/self/task/{tid}/schedstat") as f:
                    return int(f.read().split()[0]) / 1e9
            except OSError:
                pass
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            continue
    return None


class CountingRing:
    """The ring with a count of writes (one per callback), for either write path."""

    def __init__(self, ring) -> None:
        self.ring, self.writes = ring, 0
        self.channels = ring.channels

    def write(self, data) -> None:
        self.writes += 1
        self.ring.write(data)

    def write_bytes(self, data) -> None:
        self.writes += 1
        self.ring.write_bytes(data)


def run(blocksize: int, seconds: float) -> tuple[float, float]:
    """(ms CPU per callback, % of a core) of the callback thread at ``blocksize`` frames."""
    from monitor.ringbuffer import RingBuffer
    from monitor.sources.microphone import MicrophoneSource

    src = MicrophoneSource("pulse", 48000, 1, blocksize=blocksize)
    ring = CountingRing(RingBuffer(48000 * 4, 1))
    src.start(ring)
    try:
        end = time.monotonic() + 2.0
        while time.monotonic() < end or _thread_cpu("audio-callback") is None:
            ring.ring.read()
            time.sleep(0.02)
        cpu0, n0, t0 = _thread_cpu("audio-callback"), ring.writes, time.monotonic()
        while time.monotonic() < t0 + seconds:
            ring.ring.read()
            time.sleep(0.02)
        cpu, n, wall = _thread_cpu("audio-callback") - cpu0, ring.writes - n0, time.monotonic() - t0
    finally:
        src.stop()
    return 1e3 * cpu / max(n, 1), 100.0 * cpu / wall, n / wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.callback_cost")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--blocks", default="512,1024")
    ns = ap.parse_args(argv)
    from bench.audio import VirtualMic, programme

    blocks = [int(b) for b in ns.blocks.split(",")]
    results: dict = {b: [] for b in blocks}
    with VirtualMic() as vm:
        vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
        for _ in range(2):
            for b in blocks:
                per_call, percent, rate = run(b, ns.seconds)
                results[b].append((per_call, percent))
                print(f"block {b}: {rate:.1f} callbacks/s, {per_call:.3f} ms CPU each, "
                      f"{percent:.2f} % of a core", flush=True)
    for b, rs in results.items():
        print(f"== block {b}: median {statistics.median(r[0] for r in rs):.3f} ms per callback, "
              f"{statistics.median(r[1] for r in rs):.2f} % of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
