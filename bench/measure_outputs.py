"""Everything the measure thread publishes for a set of test signals, as JSON, to compare two
checkouts exactly (a change meant to be faster must publish the same numbers).

    python -m bench.measure_outputs OUT.json            (run in each checkout)
    python -m bench.measure_outputs --compare A.json B.json

Signals: the benchmark programme, a tone with hum, DC, a lost buffer, a dropout and a clip, an
FM tone with a splice, noise, a clipped 16-bit sine, and silence; each fed in odd blocks (480,
1024, 333, 4800 samples) and polled every 7 blocks, with the figures on and off, and a 1 s
Leq period. Dumped: every log row, ``latest()`` (without ``problem``), every detector event
with its stream time.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def _signals(fs: int = 48000) -> dict:
    from bench.thread_cpu import _signal

    rng = np.random.default_rng(1)
    tt = np.arange(6 * fs) / fs
    x = (0.5 * np.sin(2 * np.pi * 997.3 * tt) + 0.005 * np.sin(2 * np.pi * 2 * 997.3 * tt)
         + 0.002 * np.sin(2 * np.pi * 50.01 * tt) + 0.001 * np.sin(2 * np.pi * 150.03 * tt)
         + 1e-4 * rng.standard_normal(tt.size) + 0.003).astype(np.float32)
    x = np.concatenate((x[:100000], x[100480:]))  # a lost buffer
    x[150000:150040] = 0.0  # a dropout
    x[200000:200010] = 1.0  # a clip
    y = (0.3 * np.sin(2 * np.pi * 3000 * tt + 0.5 * np.sin(2 * np.pi * 3 * tt))).astype(np.float32)
    y = np.concatenate((y[:120000], y[120000 - 300:]))  # a repeated stretch
    q = np.round(0.9 * np.sin(2 * np.pi * 1000 * tt[:4 * fs]) * 32767) / 32768
    return {"programme": _signal(12), "tone_hum": x, "fm": y,
            "noise": (0.1 * rng.standard_normal(5 * fs)).astype(np.float32),
            "int16": np.clip(q * 1.2, -1, 32767 / 32768).astype(np.float32),
            "silence": np.zeros(3 * fs, np.float32)}


def dump(path: str, fs: int = 48000) -> None:
    from monitor.measurement import MeasurementConsumer

    out = {}
    for name, s in _signals(fs).items():
        for analysing in (True, False):
            c = MeasurementConsumer(fs, leq_period=1.0)
            c.analysing = analysing
            blocks, i, k = (480, 1024, 333, 4800), 0, 0
            while i < s.size:
                b = blocks[k % 4]
                k += 1
                c.feed(s[i:i + b], fs, (i + b) / fs)
                i += b
                if k % 7 == 0:
                    c.poll()
            while c.poll():
                pass
            c.poll()
            latest = c.latest()
            latest.pop("problem", None)
            events, _ = c.events.after(0)
            out[f"{name}/{analysing}"] = {"log": list(c.log), "latest": latest, "events": [list(e) for e in events]}
    with open(path, "w") as f:
        json.dump(out, f, indent=0, sort_keys=True, default=repr)


def differences(a, b, path: str = "") -> list:
    """(path, a, b) wherever the two dumps differ (exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (u, v) in enumerate(zip(a, b)) for d in differences(u, v, f"{path}[{i}]")]
    return [] if a == b else [(path, a, b)]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--compare"] and len(argv) == 3:
        with open(argv[1]) as f, open(argv[2]) as g:
            diff = differences(json.load(f), json.load(g))
        for d in diff[:40]:
            print(d)
        print(f"{len(diff)} differences")
        return 1 if diff else 0
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    dump(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
