"""Offline analysis: ``main.py --input F --no-realtime --headless --save-features`` against librosa.

A 10-minute 48 kHz mono WAV (the DSP benchmark's synthetic signal, repeated) is analysed at
n_fft 2048, hop 512, 128 mels, classifier off, by the product (a subprocess) and by a librosa
script computing the same mel dB and power dB (``center=False``) and saving them with
``np.save``, also a subprocess. Both are timed as whole processes (wall clock and CPU, imports
included), alternated, so that the ratio holds on a loaded machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.report import Figure, Target

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = 48000
SECTION = "8. Offline analysis (10 min 48 kHz file, n_fft 2048, hop 512, 128 mels, classifier off)"

LIBROSA_SCRIPT = r"""
import sys, numpy as np, soundfile as sf, librosa
path, out = sys.argv[1], sys.argv[2]
y, sr = sf.read(path, dtype="float32")
S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512, center=False)) ** 2
mel = librosa.feature.melspectrogram(S=S, sr=sr, n_mels=128)
np.savez(out, mel_db=librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T.astype(np.float32),
         power_db=librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None).T.astype(np.float32))
"""


def make_file(path: str, minutes: float = 10.0) -> str:
    import soundfile as sf

    from bench.dsp import test_signal

    y = test_signal(60.0, SR)
    with sf.SoundFile(path, "w", SR, 1, subtype="FLOAT") as f:
        for _ in range(int(minutes)):
            f.write(y)
    return path


def timed(cmd: list[str], pycache: str | None = None) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run of ``cmd``; with ``pycache``, Python reads
    (and writes) bytecode there even if PYTHONDONTWRITEBYTECODE is set."""
    env = dict(os.environ, PYTHONPATH=REPO)
    if pycache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    before = os.times()
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.monotonic() - t0
    after = os.times()
    return wall, (after.children_user - before.children_user
                  + after.children_system - before.children_system)


def run(quick: bool = False, log=print) -> list[Figure]:
    repeats = 1 if quick else 3
    work = tempfile.mkdtemp(prefix="bench-offline-")
    wav = make_file(os.path.join(work, "ten-minutes.wav"), 2.0 if quick else 10.0)
    script = os.path.join(work, "librosa_features.py")
    with open(script, "w") as f:
        f.write(LIBROSA_SCRIPT)
    product = [sys.executable, os.path.join(REPO, "main.py"), "--input", wav, "--no-realtime",
               "--headless", "--interval", "1", "--n-fft", "2048", "--hop", "512", "--n-mels", "128",
               "--no-classifier", "--save-features", os.path.join(work, "features.npz")]
    base = [sys.executable, script, wav, os.path.join(work, "librosa.npz")]
    # An installed package has its bytecode compiled at install time, as the baseline's
    # librosa and numpy have; a worktree run with PYTHONDONTWRITEBYTECODE=1 would compile
    # monitor's ~80 modules in every timed run instead.
    pycache = os.path.join(work, "pycache")
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "monitor")],
                   check=True, env=dict(os.environ, PYTHONPYCACHEPREFIX=pycache))
    ours, theirs = [], []
    for i in range(repeats):
        for out in ("features.npz", "librosa.npz"):  # the product will not overwrite a file
            if os.path.exists(os.path.join(work, out)):
                os.remove(os.path.join(work, out))
        ours.append(timed(product, pycache))
        theirs.append(timed(base))
        log(f"  offline run {i + 1}/{repeats}: product {ours[-1][0]:.1f} s wall "
            f"({ours[-1][1]:.1f} s CPU), librosa {theirs[-1][0]:.1f} s wall ({theirs[-1][1]:.1f} s CPU)")
    shutil.rmtree(work, ignore_errors=True)
    note = (f"{repeats} alternated run(s); whole processes, interpreter and imports included; "
            f"the baseline reads the file with soundfile, librosa.stft + melspectrogram + "
            f"power_to_db, np.savez")
    return [
        Figure(SECTION, "whole process, wall clock", "s", [w for w, _ in ours],
               "librosa script", [w for w, _ in theirs], Target("<=", 0.5, "≤ 0.5× librosa", on="ratio"),
               note=note),
        Figure(SECTION, "whole process, CPU time", "s", [c for _, c in ours],
               "librosa script", [c for _, c in theirs]),
    ]


if __name__ == "__main__":
    from bench.report import render_text

    print(render_text(run(quick="--quick" in sys.argv)))
