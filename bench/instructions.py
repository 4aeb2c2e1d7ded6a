"""Instructions per frame of the streaming DSP path, counted by valgrind (load-independent).

On a machine shared with other work, process CPU time of the same code moves by 2× from run
to run; the number of instructions executed does not (two runs agree within ~±20k per frame,
the spread of Python's start-up). Each figure is one run with the loop minus one run with the
same set-up and no loop, under ``valgrind --tool=cachegrind --cache-sim=no`` with ``PYTHONHASHSEED=0``.

``python -m bench.instructions [SECONDS]`` prints, for 2048/512/128 mels at 48 kHz in blocks of
256 (the signal of :mod:`bench.dsp`): instructions per frame of
:meth:`~monitor.dsp.features.FeatureExtractor.process` and of the worker's whole pass
(:meth:`~monitor.worker.AnalysisWorker.poll`, ring write included). Needs valgrind (apt).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_FFT, HOP, N_MELS, BLOCK, SR = 2048, 512, 128, 256, 48000


def _loop(mode: str, seconds: float, run: bool) -> None:
    """Set up ``mode`` ('features' or 'worker') and, if ``run``, stream ``seconds`` through it."""
    from bench.dsp import extractor, test_signal

    y = test_signal(seconds)
    n = y.size if run else 0
    if mode == "features":
        fe = extractor(N_FFT, HOP, N_MELS)
        for i in range(0, n, BLOCK):
            fe.process(y[i:i + BLOCK])
        return
    from monitor.ringbuffer import RingBuffer
    from monitor.settings import Settings
    from monitor.worker import AnalysisWorker

    ring = RingBuffer(4 * SR, 1)
    worker = AnalysisWorker(Settings(n_fft=N_FFT, hop=HOP, n_mels=N_MELS), ring, SR)
    y2 = y.reshape(-1, 1)
    for i in range(0, n, BLOCK):
        ring.write(y2[i:i + BLOCK])
        worker.poll()
        worker.drain()


def count(mode: str, seconds: float, run: bool) -> int:
    """Instructions of one ``python -m bench.instructions --loop MODE SECONDS RUN`` process."""
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           sys.executable, "-m", "bench.instructions", "--loop", mode, str(seconds), str(int(run))]
    # OpenBLAS's idle threads spin: their instructions depend on scheduling, not on the code.
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=REPO, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True).stderr
    return int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", ""))


def main(seconds: float = 10.0) -> int:
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is not installed (apt-get install valgrind)")
        return 2
    frames = (int(seconds * SR) - N_FFT) // HOP + 1
    for mode in ("features", "worker"):
        per_frame = (count(mode, seconds, True) - count(mode, seconds, False)) / frames
        print(f"{mode}: {per_frame / 1000:.0f}k instructions per frame "
              f"(n_fft {N_FFT}, hop {HOP}, {N_MELS} mels, blocks of {BLOCK})")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--loop"]:
        _loop(sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1")
    else:
        sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
