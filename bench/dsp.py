"""Streaming DSP throughput: the worker's feature path against librosa's offline batch.

A 60 s, 48 kHz mono float32 signal (pink-ish noise with tones, at speech-like levels) is fed
to :class:`monitor.dsp.features.FeatureExtractor` in blocks of 256 and 1024 frames, and the
process CPU time is compared with ``librosa.feature.melspectrogram`` + ``power_to_db`` on the
same signal (``center=False``, same parameters) in the same process. Throughput is seconds of
audio per CPU second ("× real time").

``python -m bench.dsp --profile`` prints a pyinstrument profile of the streaming path instead.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bench.report import Figure, Target

SR = 48000
SECONDS = 60.0
SETTINGS = ((2048, 512, 128), (4096, 256, 256))
BLOCKS = (256, 1024)


def test_signal(seconds: float = SECONDS, sr: int = SR) -> np.ndarray:
    """Noise plus two tones with a slow amplitude envelope: a realistic spread of levels."""
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * sr)) / sr
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t)
    y = 0.05 * rng.standard_normal(t.size) * envelope
    y += 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 3100 * t)
    return y.astype(np.float32)


def extractor(n_fft: int, hop: int, n_mels: int):
    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.settings import Settings

    return FeatureExtractor(AnalysisParams.from_settings(Settings(n_fft=n_fft, hop=hop, n_mels=n_mels), SR))


def stream_cpu(y: np.ndarray, n_fft: int, hop: int, n_mels: int, block: int) -> float:
    """CPU seconds to stream ``y`` through a fresh extractor in blocks of ``block``."""
    fe = extractor(n_fft, hop, n_mels)
    fe.process(y[:n_fft])  # first-call costs (filterbank caches, FFT plan) are not throughput
    fe = extractor(n_fft, hop, n_mels)
    t0 = time.process_time()
    for i in range(0, y.size, block):
        fe.process(y[i:i + block])
    return time.process_time() - t0


def worker_cpu(y: np.ndarray, block: int) -> float:
    """CPU seconds for the worker's whole pass (ring read, finite check, mono, scope, features)
    at the default settings, the ring written and polled once per block."""
    from monitor.ringbuffer import RingBuffer
    from monitor.settings import Settings
    from monitor.worker import AnalysisWorker

    ring = RingBuffer(4 * SR, 1)
    worker = AnalysisWorker(Settings(), ring, SR)
    y2 = y.reshape(-1, 1)
    t0 = time.process_time()
    for i in range(0, y.size, block):
        ring.write(y2[i:i + block])
        worker.poll()
        worker.drain()
    return time.process_time() - t0


def librosa_cpu(y: np.ndarray, n_fft: int, hop: int, n_mels: int) -> float:
    import librosa

    def run(x):
        mel = librosa.feature.melspectrogram(y=x, sr=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                             center=False, power=2.0)
        return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)

    run(y[: 4 * n_fft])  # imports, filterbank cache
    t0 = time.process_time()
    run(y)
    return time.process_time() - t0


def run(quick: bool = False, log=print) -> list[Figure]:
    repeats = 3 if quick else 5
    y = test_signal()
    figures = []
    for n_fft, hop, n_mels in SETTINGS:
        base = [librosa_cpu(y, n_fft, hop, n_mels) for _ in range(repeats)]
        label = f"n_fft {n_fft}, hop {hop}, {n_mels} mels"
        for block in BLOCKS:
            cpu = [stream_cpu(y, n_fft, hop, n_mels, block) for _ in range(repeats)]
            figures.append(Figure(
                "1. Streaming DSP throughput", f"{label}, blocks of {block}: × real time", "× rt",
                [SECONDS / c for c in cpu], "librosa batch", [SECONDS / b for b in base],
                Target(">=", 500.0, "≥ 500× rt") if (n_fft, hop) == (2048, 512) else None))
            figures.append(Figure(
                "1. Streaming DSP throughput", f"{label}, blocks of {block}: CPU time", "s",
                cpu, "librosa batch", base, Target("<=", 1.0, "ratio ≤ 1.0", on="ratio")))
            log(f"  dsp {label} block {block}: {SECONDS / np.median(cpu):.0f}× rt, "
                f"librosa {SECONDS / np.median(base):.0f}× rt")
        if (n_fft, hop) == (2048, 512):
            wk = [worker_cpu(y, 256) for _ in range(repeats)]
            figures.append(Figure(
                "1. Streaming DSP throughput", f"{label}, AnalysisWorker pass (ring, blocks of 256): × real time",
                "× rt", [SECONDS / c for c in wk], "librosa batch", [SECONDS / b for b in base],
                Target(">=", 300.0, "≥ 300× rt"),
                note="the worker's whole pass: ring read, finite check, clip count, mono, scope, features"))
    return figures


def profile(n_fft: int = 2048, hop: int = 512, n_mels: int = 128, block: int = 256) -> None:
    """Print a pyinstrument profile of the streaming path."""
    from pyinstrument import Profiler

    y = test_signal()
    fe = extractor(n_fft, hop, n_mels)
    prof = Profiler(interval=0.0002)
    prof.start()
    for i in range(0, y.size, block):
        fe.process(y[i:i + block])
    prof.stop()
    print(prof.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    if "--profile" in sys.argv:
        args = [int(a) for a in sys.argv[1:] if a.isdigit()]
        profile(*args)
    else:
        from bench.report import render_text

        print(render_text(run(quick="--quick" in sys.argv)))
