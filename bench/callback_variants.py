"""The audio callback thread's CPU per callback for a few ways of writing the callback.

    python -m bench.callback_variants [--seconds 8] [--repeats 3] [--block 1024]
                                      [--variants numpy2,raw2,numpy-empty,raw-empty,app]

Through a private PulseAudio virtual microphone playing the benchmark programme (as
:mod:`bench.callback_cost`), 48 kHz mono, one stream per variant, alternated:

- ``numpy2``: ``sounddevice.InputStream``, the block copied into two rings with numpy
  (``RingBuffer.write``: the recorder's tap and the analysis ring, as before this pass);
- ``raw2``: ``RawInputStream``, the cffi buffer copied into two rings by memoryview
  (``RingBuffer.write_bytes``, as :class:`~monitor.sources.microphone.MicrophoneSource` now);
- ``numpy-empty`` / ``raw-empty``: the same streams with a callback that does nothing (what
  PortAudio, ALSA's pulse plugin, cffi and sounddevice's wrapper cost by themselves);
- ``app``: the real MicrophoneSource with a recorder-sized tap.

The figure is the CPU time of the OS thread named ``audio-callback`` from
``/proc/self/task/TID/schedstat`` (ns), per callback, after 2 s of warm-up; also how many times
the thread ran per callback.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _thread(name: str):
    """(CPU seconds, times run) of this process's thread called ``name``, or None."""
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                fields = f.read().split()
            return int(fields[0]) / 1e9, int(fields[2])
        except OSError:
            continue
    return None


def run(variant: str, seconds: float, block: int) -> tuple[float, float, float]:
    """(ms CPU per callback, thread runs per callback, callbacks per s) of one variant."""
    import sounddevice as sd  # after the virtual mic set PULSE_SERVER

    from monitor.ringbuffer import RingBuffer
    from monitor.sources.microphone import MicrophoneSource
    from monitor.threads import set_os_thread_name

    ring, tap = RingBuffer(48000 * 4, 1), RingBuffer(48000 * 40, 1)
    calls = [0]
    if variant == "app":
        src = MicrophoneSource("pulse", 48000, 1, blocksize=block)
        src.add_tap(tap)
        src.start(ring)
        stop = src.stop
        count = lambda: ring.written // block  # noqa: E731
    else:
        named = [False]
        raw = variant.startswith("raw")
        empty = variant.endswith("empty")

        def callback(indata, frames, t, status):
            if not named[0]:
                named[0] = set_os_thread_name("audio-callback")
            calls[0] += 1
            if empty:
                return
            if status:
                pass
            if raw:
                tap.write_bytes(indata)
                ring.write_bytes(indata)
            else:
                tap.write(indata)
                ring.write(indata)

        cls = sd.RawInputStream if raw else sd.InputStream
        stream = cls(device="pulse", samplerate=48000, channels=1, dtype="float32",
                     blocksize=block, latency="low", callback=callback)
        stream.start()

        def stop():
            stream.stop()
            stream.close()
        count = lambda: calls[0]  # noqa: E731
    try:
        end = time.monotonic() + 2.0
        while time.monotonic() < end or _thread("audio-callback") is None:
            ring.read(), tap.read()
            time.sleep(0.02)  # pacing this reader, not synchronising
        (cpu0, runs0), n0, t0 = _thread("audio-callback"), count(), time.monotonic()
        while time.monotonic() < t0 + seconds:
            ring.read(), tap.read()
            time.sleep(0.02)
        cpu1, runs1 = _thread("audio-callback")
        n, wall = count() - n0, time.monotonic() - t0
    finally:
        stop()
    n = max(n, 1)
    return 1e3 * (cpu1 - cpu0) / n, (runs1 - runs0) / n, n / wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.callback_variants")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--block", type=int, default=1024)
    ap.add_argument("--variants", default="numpy2,raw2,numpy-empty,raw-empty,app")
    ns = ap.parse_args(argv)
    from bench.audio import VirtualMic, programme

    variants = ns.variants.split(",")
    results: dict = {v: [] for v in variants}
    with VirtualMic() as vm:
        vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
        for _ in range(ns.repeats):
            for v in variants:
                ms, runs, rate = run(v, ns.seconds, ns.block)
                results[v].append(ms)
                print(f"{v}: {ms:.3f} ms CPU per callback, thread ran {runs:.2f} times each, "
                      f"{rate:.1f} callbacks/s", flush=True)
    for v, r in results.items():
        print(f"== {v}: median {statistics.median(r):.3f} ms per callback "
              f"({', '.join(f'{x:.3f}' for x in r)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
