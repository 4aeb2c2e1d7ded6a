"""Render cost: CPU ms per drawn waterfall frame, offscreen, painting included.

Each frame adds 4 new columns and draws; then ``processEvents()`` lets Qt paint the shown
widget (the paint events are counted, so a frame that was never painted cannot pass as
cheap). Two history sizes: 1024 columns × 512 rows (log scale, the default) and 1920 × 1025
(linear scale, every bin of n_fft 2048), each for

- the product: :class:`monitor.gui.waterfall.Waterfall` (colour indices and RGB32 pixels in
  a ring stored twice, the visible slice drawn without a copy, scrolling by transform), and
- the naive path: a float32 array shifted by 4 columns and ``setImage`` with auto-levels,
  the same colour table, in an equally sized pyqtgraph plot.

Both paths include the frame → display-row mapping (the same :class:`FrequencyRows`).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from bench.report import Figure, Target  # noqa: E402

SR = 48000
N_FFT, HOP = 2048, 512
COLUMNS_PER_FRAME = 4
FRAMES = 300
WARMUP = 30
SIZES = ((1024, "log"), (1920, "linear"))  # (columns, scale); rows follow from the scale
MARGIN = (70, 45)  # pixels of axes around the image, so the image is drawn about 1:1


def _app():
    from PyQt6 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])


def _batches(n: int):
    """``n`` feature batches of COLUMNS_PER_FRAME frames each, from a realistic signal."""
    from bench.dsp import extractor, test_signal

    fe = extractor(N_FFT, HOP, 128)
    y = test_signal(seconds=(n * COLUMNS_PER_FRAME * HOP + N_FFT) / SR + 0.1)
    fe.process(y[:N_FFT - HOP])  # the rest then yields exactly one frame per hop
    out, pos = [], N_FFT - HOP
    for _ in range(n):
        out.append(fe.process(y[pos:pos + COLUMNS_PER_FRAME * HOP]))
        pos += COLUMNS_PER_FRAME * HOP
    assert all(len(b) == COLUMNS_PER_FRAME for b in out)
    return fe.params, out


def _settings(columns: int, scale: str):
    from monitor.settings import Settings

    # Just under `columns` frames of history, so that the ring is exactly `columns` wide.
    return Settings(n_fft=N_FFT, hop=HOP, scale=scale, history=(columns - 0.5) * HOP / SR)


class _PaintCounter:
    """Counts paint events reaching a widget."""

    def __init__(self, widget) -> None:
        from PyQt6 import QtCore

        class Filter(QtCore.QObject):
            count = 0

            def eventFilter(self, obj, event):  # noqa: N802 - Qt name
                if event.type() == QtCore.QEvent.Type.Paint:
                    Filter.count += 1
                return False

        self._filter = Filter()
        widget.installEventFilter(self._filter)

    @property
    def count(self) -> int:
        return type(self._filter).count


def _show(widget, w: int, h: int) -> None:
    app = _app()
    widget.resize(w + MARGIN[0], h + MARGIN[1])
    widget.show()
    deadline = time.monotonic() + 5
    while not widget.isVisible() and time.monotonic() < deadline:
        app.processEvents()
    for _ in range(5):
        app.processEvents()


def product_ms(columns: int, scale: str, batches) -> tuple[float, int, tuple]:
    """CPU ms per frame of the product's waterfall; also paints counted and the image shape."""
    from monitor.gui.waterfall import Waterfall

    app = _app()
    wf = Waterfall(_settings(columns, scale), batches[0].params)
    shape = wf.history.image.shape[0], wf.history.width
    _show(wf, shape[1], shape[0])
    counter = _PaintCounter(wf.plot.viewport())

    def frame(batch):
        wf.push(batch)
        wf.draw(wf.history.latest_time)
        app.processEvents()

    ms, painted = _time_frames(frame, batches, counter, wf, app)
    return ms, painted, shape


def _time_frames(frame, batches, counter, widget, app) -> tuple[float, int]:
    """CPU ms per frame over FRAMES frames after WARMUP, and the paint events they caused;
    closes ``widget`` afterwards."""
    for b in batches[:WARMUP]:
        frame(b)
    painted0 = counter.count
    t0 = time.process_time()
    for b in batches[WARMUP:WARMUP + FRAMES]:
        frame(b)
    cpu = time.process_time() - t0
    painted = counter.count - painted0
    widget.close()
    widget.deleteLater()
    app.processEvents()
    return 1e3 * cpu / FRAMES, painted


def naive_ms(columns: int, scale: str, batches) -> tuple[float, int]:
    """CPU ms per frame of the naive path: shift a float array, setImage with auto-levels."""
    import pyqtgraph as pg

    from monitor.gui.colormaps import lookup_table
    from monitor.dsp.frequency_rows import FrequencyRows

    app = _app()
    rows = FrequencyRows(batches[0].params, scale)
    img = np.full((rows.n_rows, columns), -100.0, dtype=np.float32)
    plot = pg.PlotWidget()
    item = pg.ImageItem(axisOrder="row-major")
    item.setLookupTable(lookup_table("inferno"))
    plot.addItem(item)
    _show(plot, columns, rows.n_rows)
    counter = _PaintCounter(plot.viewport())

    def frame(batch):
        new = rows.rows(batch).T  # (n_rows, 4)
        k = new.shape[1]
        img[:, :-k] = img[:, k:]
        img[:, -k:] = new
        item.setImage(img)  # autoLevels defaults to True
        app.processEvents()

    return _time_frames(frame, batches, counter, plot, app)


def run(quick: bool = False, log=print) -> list[Figure]:
    repeats = 3 if quick else 5
    _app()
    params, batches = _batches(WARMUP + FRAMES)
    figures = []
    for columns, scale in SIZES:
        ours, base, paints = [], [], []
        shape = None
        for _ in range(repeats):  # interleaved, so drifts in machine load hit all alike
            ms, painted, shape = product_ms(columns, scale, batches)
            ours.append(ms)
            paints.append(painted)
            ms_naive, painted_naive = naive_ms(columns, scale, batches)
            base.append(ms_naive)
            paints.append(painted_naive)
        target = Target("<=", 3.0, "≤ 3 ms") if columns == 1024 else None
        figures.append(Figure(
            "2. Render cost (offscreen, 4 new columns per frame, painting included)",
            f"waterfall {shape[1]}×{shape[0]} ({scale} scale): CPU per frame", "ms", ours,
            "naive float shift + setImage auto-levels", base, target,
            note=f"{FRAMES} frames per run; paint events per run ≥ {min(paints)} "
                 f"(one per frame expected)"))
        log(f"  render {shape[1]}×{shape[0]}: product {np.median(ours):.2f} ms, "
            f"naive {np.median(base):.2f} ms, paints ≥ {min(paints)}")
    return figures


if __name__ == "__main__":
    from bench.report import render_text

    print(render_text(run(quick="--quick" in sys.argv)))
