"""Soak (``make soak``): the app for 25 minutes on the virtual microphone.

Same arrangement as the whole-app figures (:mod:`bench.app`), one long run: dropped audio
frames at the end, RSS every 10 s (the series is printed and kept in BENCHMARKS.md), CPU.
Memory counts as flat when it grows by at most 5 MB from :data:`FILLED` to the end, and the
least-squares slope from :data:`FILLED` (or the second half, if later) to the end is under
0.5 MB per minute.
"""

from __future__ import annotations

import statistics
import sys

import numpy as np

from bench.app import WARMUP, measure, p95, product_cmd
from bench.report import Figure, Target

SECONDS = 1500.0
RSS_EVERY = 10.0
# s after launch when every history is full, so that what grows after is a leak: the waterfall,
# the classifier's patches and the event log fill in ~35 s at 10 s of history; the overview's
# LTSA fills its levels for keep_bins level-0 bins (monitor.gui.overview.drawable_bins: the
# bench's 1216-px screen) of 64 frames at hop 512 / 48 kHz: 1216 × 0.683 s = 830 s, to ~9 MiB
# at the default 512 rows (bench/findings.md, "memory flat over hours").
FILLED = 900.0
SECTION = "7. Soak (25 min on the virtual microphone)"


def run(quick: bool = False, log=print, seconds: float = SECONDS) -> tuple[list[Figure], str]:
    """Figures and a Markdown table of the RSS series."""
    if quick:
        seconds = 60.0
    log(f"  soak: {seconds:g} s")
    r = measure(product_cmd(seconds), seconds, rss_every=RSS_EVERY, log=log)
    if r.returncode != 0 or not r.stats:
        tail = " | ".join(r.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"the app exited with {r.returncode} ({tail})")
    series = [(t, b / 2 ** 20) for t, b in r.rss]
    after = [(t, m) for t, m in series if t >= WARMUP]
    # From FILLED s on: until then RSS rises by design while the histories fill.
    start = FILLED if seconds >= FILLED + 300 else seconds / 2  # --quick: shorter than the fill
    filled = [(t, m) for t, m in after if t >= start] or after
    growth = after[-1][1] - filled[0][1]
    half = [(t, m) for t, m in after if t >= max(start, seconds / 2)]
    slope = float(np.polyfit([t / 60 for t, _ in half], [m for _, m in half], 1)[0]) if len(half) > 2 else 0.0
    note = f"one run of {seconds:g} s, source {r.stats.get('source')}"
    figs = [
        Figure(SECTION, "dropped audio frames at the end", "frames", [r.stats.get("dropped_frames", 0)],
               target=Target("<=", 0, "0"), note=note),
        Figure(SECTION, f"RSS growth, {start:g} s → end", "MiB", [growth], target=Target("<=", 5.0, "≤ 5 MB")),
        Figure(SECTION, f"RSS slope, {max(start, seconds / 2):g} s → end", "MiB/min", [slope],
               target=Target("<=", 0.5, "≤ 0.5 MB/min (flat)")),
        Figure(SECTION, "process CPU, mean", "% of one core", [statistics.fmean(r.cpu)]),
        Figure(SECTION, "process CPU, p95 of 1 s samples", "% of one core", [p95(r.cpu)]),
        Figure(SECTION, "display rate achieved", "fps", [r.stats.get("fps", 0.0)]),
        Figure(SECTION, "longest gap between drawn frames", "ms", [r.stats.get("longest_gap_ms", 0.0)]),
    ]
    rows = ["| t (s) | RSS (MiB) |", "|---|---|"] + [f"| {t:.0f} | {m:.1f} |" for t, m in series]
    return figs, "RSS every 10 s:\n\n" + "\n".join(rows)


if __name__ == "__main__":
    import os

    from bench.audio import VirtualMic, programme
    from bench.report import render_text

    with VirtualMic() as vm:
        vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
        figs, table = run(quick="--quick" in sys.argv)
        print(render_text(figs))
        print(table)
