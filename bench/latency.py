"""Latency: from a sample entering the ring buffer to its column in the displayed image.

A click source (a :class:`~monitor.sources.base.PacedSource`: full-scale single-sample clicks
in silence, every ~0.25 s at jittered positions, 256-frame blocks, paced by the wall clock)
writes into a ring that timestamps every write (``time.monotonic()`` right after the samples
are in). The real :class:`~monitor.worker.AnalysisWorker` thread analyses them; a display
loop at 60 fps does what the main window's tick does (drain, push, draw) and lets Qt paint
the offscreen :class:`~monitor.gui.waterfall.Waterfall` (``processEvents``). After each
paint the new columns of ``displayed_image()`` are searched for clicks (any row above
-90 dB on an otherwise silent picture); a click's latency is paint time − ring-write time
of the block that held it.

Three times are reported per click: its batch drained by the display loop (the analysis
part alone, the same-run baseline), its column in the displayed image (the target), and its
column scrolled into view (the smooth scrolling clock reaching the column's end time).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from bench.report import Figure, Target  # noqa: E402

SR = 48000
BLOCK = 256
FPS = 60.0
CLICK_EVERY = 0.25  # s
THRESHOLD_DB = -90.0


def _classes():
    from monitor.ringbuffer import RingBuffer
    from monitor.sources.base import PacedSource

    class TimedRing(RingBuffer):
        """A ring that notes when each block became readable."""

        def __init__(self, *args) -> None:
            super().__init__(*args)
            self.log: list = []  # (first sample index, frames, monotonic time)

        def write(self, data):
            start = self.written
            super().write(data)
            self.log.append((start, data.shape[0], time.monotonic()))

    class ClickSource(PacedSource):
        """Silence with full-scale one-sample clicks at known sample indices."""

        kind = "generator"
        description = "clicks"

        def __init__(self, seconds: float, seed: int = 0) -> None:
            super().__init__(SR, 1, BLOCK)
            rng = np.random.default_rng(seed)
            period = int(CLICK_EVERY * SR)
            starts = np.arange(period, int(seconds * SR) - period, period)
            self.clicks = starts + rng.integers(0, period // 2, starts.size)
            self.position = 0

        def render(self, n: int) -> np.ndarray:
            out = np.zeros((n, 1), dtype=np.float32)
            inside = self.clicks[(self.clicks >= self.position) & (self.clicks < self.position + n)]
            out[inside - self.position, 0] = 1.0
            self.position += n
            return out

    return TimedRing, ClickSource


def measure(seconds: float) -> dict:
    """One run; returns latencies (s) per detected click for 'drained', 'image', 'visible'."""
    from PyQt6 import QtWidgets

    from monitor.gui.waterfall import Waterfall
    from monitor.settings import Settings
    from monitor.worker import AnalysisWorker

    TimedRing, ClickSource = _classes()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    settings = Settings(fps=FPS)
    ring = TimedRing(int(4 * SR), 1)
    worker = AnalysisWorker(settings, ring, SR)
    source = ClickSource(seconds)
    wf = Waterfall(settings, worker.params)
    wf.resize(1280, 400)
    wf.show()
    for _ in range(10):
        app.processEvents()
    h = wf.history
    p = worker.params
    code_threshold = int(np.ceil((THRESHOLD_DB - settings.db_floor) * 255.0
                                 / (settings.db_ceil - settings.db_floor)))
    ring_time: dict = {}
    drained_at: dict = {}
    image_at: dict = {}
    visible_at: dict = {}
    pending_visible: dict = {}  # click → column end time (stream s)
    log_pos = 0

    def write_time(s: int):
        nonlocal log_pos
        log = ring.log
        while log_pos < len(log):
            start, n, t = log[log_pos]
            for c in source.clicks[(source.clicks >= start) & (source.clicks < start + n)]:
                ring_time[int(c)] = t
            log_pos += 1
        return ring_time.get(s)

    worker.start()
    source.start(ring)
    period = 1.0 / FPS
    next_tick = time.monotonic()
    end = next_tick + seconds
    head_before = 0
    try:
        while time.monotonic() < end:
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the display timer's period
            next_tick += period
            batches = worker.drain()
            now = time.monotonic()
            for batch in batches:
                wf.push(batch)
                for k in range(batch.first_frame, batch.first_frame + len(batch)):
                    for c in source.clicks[(source.clicks >= k * p.hop)
                                           & (source.clicks < k * p.hop + p.n_fft)]:
                        drained_at.setdefault(int(c), now)
            wf.draw()
            app.processEvents()  # Qt paints the moved/updated image now
            painted = time.monotonic()
            write_time(-1)
            new = min(h.head - head_before, h.width)
            if new > 0:
                image = wf.displayed_image()
                hits = np.flatnonzero(image[:, image.shape[1] - new:].max(axis=0) >= code_threshold)
                for i in hits:
                    j = h.head - new + int(i)
                    k0 = (h.first_frame or 0) + j * h.merge
                    k1 = k0 + h.merge - 1
                    lo, hi = k0 * p.hop, k1 * p.hop + p.n_fft
                    for c in source.clicks[(source.clicks >= lo) & (source.clicks < hi)]:
                        c = int(c)
                        if c not in image_at:
                            image_at[c] = painted
                            pending_visible[c] = float(h.column_end_time(j))
            head_before = h.head
            shown = wf.display_time
            if shown is not None:
                for c, t_end in list(pending_visible.items()):
                    if shown >= t_end - 1e-9:
                        visible_at[c] = painted
                        del pending_visible[c]
    finally:
        source.stop()
        worker.stop()
        wf.close()
        wf.deleteLater()
        app.processEvents()
    write_time(-1)
    out = {}
    for name, times in (("drained", drained_at), ("image", image_at), ("visible", visible_at)):
        out[name] = [times[c] - ring_time[c] for c in times if c in ring_time]
    out["clicks"] = int(np.count_nonzero(source.clicks < source.position))
    return out


def run(quick: bool = False, log=print) -> list[Figure]:
    seconds = 10.0 if quick else 30.0
    repeats = 1 if quick else 3
    from monitor.settings import Settings

    s = Settings()
    limit = s.n_fft / SR + 1.0 / FPS + BLOCK / SR
    runs = [measure(seconds) for _ in range(repeats)]
    for r in runs:
        log(f"  latency: {r['clicks']} clicks, {len(r['image'])} seen in the image, "
            f"p50 {1e3 * np.median(r['image']):.1f} ms, p99 {1e3 * np.percentile(r['image'], 99):.1f} ms")
    section = "4. Latency (ring write → column in the painted image; clicks, 60 fps, 256-frame blocks)"

    def pct(name, q):
        return [1e3 * float(np.percentile(r[name], q)) for r in runs if r[name]]

    note = (f"{repeats} run(s) of {seconds:g} s, {sum(len(r['image']) for r in runs)} clicks "
            f"detected of {sum(r['clicks'] for r in runs)}; target = n_fft/sr "
            f"{1e3 * s.n_fft / SR:.1f} ms + one display frame {1e3 / FPS:.1f} ms + one block "
            f"{1e3 * BLOCK / SR:.1f} ms = {1e3 * limit:.1f} ms; baseline: the same click's batch "
            f"drained by the display loop (analysis only)")
    return [
        Figure(section, "p50, column in the displayed image", "ms", pct("image", 50),
               "batch drained", pct("drained", 50), note=note),
        Figure(section, "p99, column in the displayed image", "ms", pct("image", 99),
               "batch drained", pct("drained", 99), Target("<=", 1e3 * limit, f"≤ {1e3 * limit:.1f} ms")),
        Figure(section, "p50, column scrolled into view", "ms", pct("visible", 50),
               "batch drained", pct("drained", 50),
               note="the smooth scrolling clock trails the newest column slightly; this is when "
                    "the column's right edge reached the right edge of the plot"),
        Figure(section, "p99, column scrolled into view", "ms", pct("visible", 99),
               "batch drained", pct("drained", 99)),
    ]


if __name__ == "__main__":
    from bench.report import render_text

    print(render_text(run(quick="--quick" in sys.argv)))
