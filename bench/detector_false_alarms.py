"""``python -m bench.detector_false_alarms [WAV ...]``: the discontinuity detector on real clips.

For each clip (default: resources/demo.wav and the shared samples in /work/shared/samples, when
present) prints the events found in the clip as it is (false alarms: the clips hold no lost
buffers that we know of, so every event is a transient the detector takes for a break) and how
many of 8 lost buffers (64..512 samples removed at random places, seeded) are found within 3
samples, then the totals and the detector's CPU time per second of 48 kHz audio in the
measurement thread's 50 ms blocks. The README's "Detectors" section quotes these numbers.
"""

from __future__ import annotations

import glob
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from monitor.dsp.discontinuity import DiscontinuityDetector

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [str(ROOT / "resources" / "demo.wav")] + sorted(glob.glob("/work/shared/samples/*.wav"))


def events(x: np.ndarray, fs: float, block: int = 2400) -> list[int]:
    det = DiscontinuityDetector(fs)
    out = []
    for i in range(0, x.size, block):
        det.process(x[i:i + block])
        out += det.last_events.tolist()
    return out


def main(paths: list[str]) -> None:
    rng = np.random.default_rng(0)
    total_s = total_false = found = tried = 0
    for path in paths:
        a, fs = sf.read(path, dtype="float32", always_2d=True)
        x = a.mean(axis=1).astype(np.float64)  # the mono mix, as the worker analyses it
        false = len(events(x, fs))
        hits = 0
        for _ in range(8):
            s = int(rng.integers(int(0.2 * fs), x.size - 2000))
            n = int(rng.integers(64, 513))
            hits += any(abs(p - s) <= 3 for p in events(np.concatenate((x[:s], x[s + n:])), fs))
        seconds = x.size / fs
        total_s, total_false, found, tried = total_s + seconds, total_false + false, found + hits, tried + 8
        print(f"{Path(path).name:32s} {fs:6d} Hz {seconds:6.1f} s  events {false:3d} "
              f"({false / seconds:.2f}/s)  lost buffers found {hits}/8")
    if total_s:
        print(f"{'all':32s} {'':9s} {total_s:6.1f} s  events {total_false:3d} "
              f"({total_false / total_s:.2f}/s)  lost buffers found {found}/{tried}")
    fs = 48000
    tone = 0.5 * np.sin(2 * np.pi * 997.0 * np.arange(20 * fs) / fs)
    t0 = time.process_time()
    events(tone, fs)
    print(f"CPU: {(time.process_time() - t0) / 20 * 1000:.1f} ms per second of 48 kHz audio")


if __name__ == "__main__":
    main(sys.argv[1:] or [p for p in DEFAULT if Path(p).is_file()])
