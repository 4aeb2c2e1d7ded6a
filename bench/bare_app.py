"""The baseline for the whole-app figures: a bare pyqtgraph waterfall on the microphone.

What one would write in an afternoon: a sounddevice input stream whose callback queues the
blocks, a 60 Hz QTimer that computes the new STFT columns with numpy (n_fft 2048, hop 512,
Hann, dB), shifts a float image and hands it to one ImageItem with fixed levels. No spectrum,
scope, meters, classifier or status bar. It writes the same statistics JSON as the product
(``SPECTROMON_STATS_FILE``) so the two are measured the same way.

Usage: ``python -m bench.bare_app --device pulse --samplerate 48000 --duration 60``
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import time

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default=None)
    p.add_argument("--samplerate", type=float, default=48000.0)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--fps", type=float, default=60.0)
    args = p.parse_args(argv)

    import pyqtgraph as pg
    import sounddevice as sd
    from PyQt6 import QtCore, QtWidgets

    n_fft, hop, columns = 2048, 512, 1024
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    blocks: queue.Queue = queue.Queue()
    status = {"overflows": 0}

    def callback(indata, frames, t, flags):
        if flags.input_overflow:
            status["overflows"] += 1
        blocks.put(indata[:, 0].copy())

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    plot = pg.PlotWidget()
    item = pg.ImageItem(axisOrder="row-major")
    item.setLookupTable(pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256))
    plot.addItem(item)
    plot.resize(1280, 800)
    image = np.full((n_fft // 2 + 1, columns), -100.0, dtype=np.float32)
    pending = np.zeros(0, dtype=np.float32)
    stats = {"frames_drawn": 0, "first": None, "last": None, "longest_gap": 0.0,
             "first_column_epoch": None, "stream_frames": 0}

    def tick():
        nonlocal pending, image
        new = []
        while True:
            try:
                new.append(blocks.get_nowait())
            except queue.Empty:
                break
        if new:
            stats["stream_frames"] += sum(b.size for b in new)
            pending = np.concatenate([pending] + new)
            n = 0 if pending.size < n_fft else (pending.size - n_fft) // hop + 1
            if n:
                frames = np.lib.stride_tricks.sliding_window_view(pending, n_fft)[::hop][:n]
                spec = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
                db = 10 * np.log10(np.maximum(spec, 1e-10)).T.astype(np.float32)
                pending = pending[n * hop:]
                k = min(n, columns)
                image = np.roll(image, -k, axis=1)
                image[:, -k:] = db[:, -k:]
                item.setImage(image, autoLevels=False, levels=(-100, 0))
                if stats["first_column_epoch"] is None:
                    stats["first_column_epoch"] = time.time()
        now = time.monotonic()
        if stats["last"] is not None:
            stats["longest_gap"] = max(stats["longest_gap"], now - stats["last"])
        else:
            stats["first"] = now
        stats["last"] = now
        stats["frames_drawn"] += 1

    device = args.device
    stream = sd.InputStream(device=device, samplerate=args.samplerate, channels=1,
                            dtype="float32", callback=callback, latency="low")
    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(max(1, int(round(1000 / args.fps))))
    QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
    stream.start()
    plot.show()
    app.exec()
    stream.stop()
    stream.close()
    path = os.environ.get("SPECTROMON_STATS_FILE")
    if path:
        span = (stats["last"] - stats["first"]) if stats["frames_drawn"] > 1 else 0.0
        with open(path, "w") as f:
            json.dump({"frames_drawn": stats["frames_drawn"], "seconds": span,
                       "fps": (stats["frames_drawn"] - 1) / span if span > 0 else 0.0,
                       "longest_gap_ms": 1e3 * stats["longest_gap"],
                       "first_column_epoch": stats["first_column_epoch"],
                       "dropped_frames": 0, "overflows": status["overflows"],
                       "stream_seconds": stats["stream_frames"] / args.samplerate}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
