"""The pixels the display tick leaves on screen, for comparing two checkouts byte for byte.

    python -m bench.pixel_check OUT_DIR [--ticks 240] [--every 20] [--vertical] [--late] [--hashes]
    python -m bench.pixel_check --compare DIR_A DIR_B

Drives, offscreen and with deterministic input (no threads, no clock), what the window's tick
drives: the waterfall with the activity strip under it (a swept tone; five classes of scores;
detector marks coming and leaving), and the spectrum, scope and level meters (pink noise), as
``bench.waterfall_ticks --strip`` and ``bench.plot_paint`` do. Every ``--every`` ticks it saves
what the backing store holds (``QScreen.grabWindow``: the result of the scrolls and partial
repaints, not a fresh paint) and a fresh ``grab()`` of each top-level widget. Run it from one
tree with ``PYTHONPATH=OTHER_TREE`` to grab the other's pictures, then ``--compare``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _grab(app, widgets: dict, out: str, tick: int, hashes: bool = False) -> None:
    import hashlib

    import numpy as np

    for name, w in widgets.items():
        for how, img in (("store", app.primaryScreen().grabWindow(int(w.winId())).toImage()),
                         ("fresh", w.grab().toImage())):
            img = img.convertToFormat(img.Format.Format_RGB32)
            ptr = img.constBits()
            ptr.setsize(img.sizeInBytes())
            arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine()).copy()
            if hashes:  # every tick: a digest per picture, not the pixels
                with open(os.path.join(out, "hashes.txt"), "a") as f:
                    f.write(f"{name}-{how}-{tick:04d} {hashlib.sha1(arr.tobytes()).hexdigest()}\n")
            else:
                np.save(os.path.join(out, f"{name}-{how}-{tick:04d}.npy"), arr)


def run(out: str, ticks: int, every: int, vertical: bool, late: bool = False,
        hashes: bool = False) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no BLAS threads spinning in a count
    import numpy as np
    from PyQt6 import QtCore, QtWidgets

    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.dsp.frequency_rows import FrequencyRows
    from monitor.gui import meters, scope, spectrum
    from monitor.gui.activity_strip import ActivityStrip
    from monitor.gui.theme import apply_theme
    from monitor.gui.waterfall import Waterfall
    from monitor.settings import Settings
    from monitor.sources import GeneratorSource

    os.makedirs(out, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    settings = Settings(n_fft=4096, hop=1024, scale="mel", history=10.0)
    params = AnalysisParams.from_settings(settings, 48000)

    # The waterfall and the strip, as bench.waterfall_ticks --strip.
    from bench.waterfall_ticks import waterfall_with_strip

    wf = Waterfall(settings, params)
    top, strip = waterfall_with_strip(wf, ActivityStrip(settings.history), vertical)
    top.show()
    ex, gen = FeatureExtractor(params), GeneratorSource("sweep:200-8000:3", 48000)
    batches = [ex.process(gen.render(2048)[:, 0]) for _ in range(200 + ticks // 3 + 1)]
    for b in batches[:200]:
        wf.push(b)
    wf.draw(wf.latest_time)
    rng = np.random.default_rng(0)
    names = ("Speech", "Music", "Dog", "Siren", "Vehicle")
    patches = 15 if late else 40
    starts = wf.latest_time - 0.975 - 0.48 * np.arange(patches)[::-1]
    strip.set_data(names, starts, rng.random((patches, 5)).astype(np.float32),
                   np.full(5, 0.3, np.float32), np.zeros(5, bool))
    strip.place(wf.latest_time)

    # The spectrum, scope and meters, as bench.plot_paint.
    rows = FrequencyRows(params, "mel")
    plots = QtWidgets.QWidget()
    views = {"spectrum": spectrum.SpectrumView(settings, rows),
             "scope": scope.ScopeView(settings), "meters": meters.LevelMeters(settings)}
    for (name, view), (x, size) in zip(views.items(), ((0, (495, 181)), (500, (279, 181)),
                                                       (790, (104, 655)))):
        view.setParent(plots)
        view.setGeometry(QtCore.QRect(QtCore.QPoint(x, 0), QtCore.QSize(*size)))
    plots.resize(900, 660)
    plots.show()
    pink = GeneratorSource("pink@-20", 48000)
    ex2 = FeatureExtractor(params)
    hop = params.hop
    audio = pink.render(hop * (ticks + 8) + params.n_fft)[:, 0]
    db = rows.rows(ex2.process(audio))
    scope_n = int(48000 * settings.scope_ms / 1000)
    for _ in range(5):
        app.processEvents()

    widgets = {"waterfall": top, "plots": plots}
    t = wf.latest_time - 0.05
    cpu = time.thread_time()
    for i in range(ticks):
        if i % 3 == 0:
            wf.push(batches[200 + i // 3])
        if i % 50 == 10:  # a detector mark now and then, so that marks come and leave
            wf.detector_marks.add([(wf.latest_time - 0.2, ("clipping", "dropout")[i % 2])])
        if i % 60 == 30:  # new scores: the strip's cells change
            starts = starts + 0.48
            strip.set_data(names, starts, rng.random((patches, 5)).astype(np.float32),
                           np.full(5, 0.3, np.float32), np.zeros(5, bool))
        t += 1.0 / 60
        wf.draw(t)
        strip.place(wf.display_time)
        if i % 2 == 0:  # the window's SECONDARY_DIVIDER
            now = i / 60.0
            # As the window: the newest frame, the maximum since the last update, the peak Hz.
            frame = db[(i // 2) % len(db)]
            views["spectrum"].update_frame(frame.copy(), now,
                                           np.maximum(frame, db[(i // 2 + 1) % len(db)]),
                                           200.0 + 10.0 * (i % 300))
            end = (i // 2 + 1) * hop + params.n_fft
            views["scope"].update_scope(np.array(audio[max(0, end - scope_n):end]), 48000.0)
            chunk = audio[end - hop:end]
            peak = 20 * np.log10(max(float(np.abs(chunk).max()), 1e-10))
            rms = 20 * np.log10(max(float(np.sqrt(np.mean(chunk ** 2))), 1e-10))
            views["meters"].update_levels(peak, rms, now, 0, None)
        app.processEvents()
        if (i + 1) % every == 0:
            _grab(app, widgets, out, i + 1, hashes)
    if every > ticks:  # no grab: the loop's GUI-thread CPU time is the ticks' own
        print(f"{ticks} ticks: {1e3 * (time.thread_time() - cpu) / max(ticks, 1):.3f} ms CPU "
              f"a tick (this thread; load {os.getloadavg()[0]:.1f})")
    return 0


def compare(a: str, b: str) -> int:
    import numpy as np

    if os.path.exists(os.path.join(a, "hashes.txt")):
        x, y = (open(os.path.join(d, "hashes.txt")).read().split("\n") for d in (a, b))
        bad = [p.split()[0] for p, q in zip(x, y) if p != q]
        print(f"{len(x) - 1} pictures (digests), {len(bad)} differ: {' '.join(bad[:10])}")
        return 1 if bad or len(x) != len(y) else 0
    names = sorted(f for f in os.listdir(a) if f.endswith(".npy"))
    differ = 0
    for name in names:
        x, y = np.load(os.path.join(a, name)), np.load(os.path.join(b, name))
        n = int(np.count_nonzero(x != y)) if x.shape == y.shape else x.size
        differ += n
        if n:
            print(f"{name}: {n} bytes differ")
    print(f"{len(names)} pictures, {differ} bytes differ")
    return 1 if differ else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pixel_check")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--ticks", type=int, default=240)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--vertical", action="store_true")
    ap.add_argument("--late", action="store_true",
                    help="15 patches only: the cells reach the strip's names during the run")
    ap.add_argument("--hashes", action="store_true",
                    help="a SHA-1 per picture in OUT/hashes.txt (for --every 1)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"))
    ns = ap.parse_args(argv)
    if ns.compare:
        return compare(*ns.compare)
    return run(ns.out, ns.ticks, ns.every, ns.vertical, ns.late, ns.hashes)


if __name__ == "__main__":
    sys.exit(main())
