"""N display ticks of the waterfall alone, for an instruction count (load-independent).

    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        python -m bench.waterfall_ticks N [--strip]

Issue 12's settings (n_fft 4096, hop 1024, mel, 10 s) in a 1000×480 widget, offscreen, a
swept tone: 200 batches first, then N ticks at 60 per second of stream time, a batch every
third tick (as the worker's 47 batches/s), each tick ``draw`` then ``processEvents`` (the
paint and the flush). Instructions per tick = (count at N − count at 0) / N, with
``PYTHONHASHSEED=0``; the difference also holds the N/3 batches' feature extraction, alike in
any two checkouts compared. ``--strip``: with the classifier's activity strip under it (five
classes, 40 patches of scores), placed at each tick as the window's timer does.
"""

from __future__ import annotations

import os
import sys



def waterfall_with_strip(wf, strip, vertical: bool = False):
    """``wf`` over ``strip`` (the activity strip, following the waterfall's span) in one
    1000-px-wide widget, as the window stacks them; returns (that widget, strip)."""
    from PyQt6 import QtWidgets

    top = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(top)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    strip.span_source = lambda: wf.time_span
    layout.addWidget(wf, 1)
    layout.addWidget(strip)
    if vertical:
        strip.set_orientation("vertical", axis_px=0)
    top.resize(1000, 480 + strip.height())
    return top, strip

def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with_strip = "--strip" in argv
    argv = [a for a in argv if a != "--strip"]
    n = int(argv[0]) if argv else 240
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6 import QtWidgets

    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.gui.theme import apply_theme
    from monitor.gui.waterfall import Waterfall
    from monitor.settings import Settings
    from monitor.sources import GeneratorSource

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    settings = Settings(n_fft=4096, hop=1024, scale="mel", history=10.0)
    params = AnalysisParams.from_settings(settings, 48000)
    wf = Waterfall(settings, params)
    strip = None
    if with_strip:
        import numpy as np

        from monitor.gui.activity_strip import ActivityStrip

        top, strip = waterfall_with_strip(wf, ActivityStrip(settings.history))
        top.show()
    else:
        wf.resize(1000, 480)
        wf.show()
    ex, gen = FeatureExtractor(params), GeneratorSource("sweep:200-8000:3", 48000)
    batches = [ex.process(gen.render(2048)[:, 0]) for _ in range(200 + n // 3 + 1)]
    for b in batches[:200]:
        wf.push(b)
    wf.draw(wf.latest_time)
    if strip is not None:
        starts = wf.latest_time - 0.975 - 0.48 * np.arange(40)[::-1]
        scores = np.random.default_rng(0).random((40, 5)).astype(np.float32)
        strip.set_data(("Speech", "Music", "Dog", "Siren", "Vehicle"), starts, scores,
                       np.full(5, 0.3, np.float32), np.zeros(5, bool))
        strip.place(wf.latest_time)
    for _ in range(5):
        app.processEvents()
    t = wf.latest_time - 0.05
    for i in range(n):
        if i % 3 == 0:
            wf.push(batches[200 + i // 3])
        t += 1.0 / 60
        wf.draw(t)
        if strip is not None:
            strip.place(wf.display_time)
        app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
