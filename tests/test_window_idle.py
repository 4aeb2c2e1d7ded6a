"""What the window draws when nothing needs drawing: paused, minimised, a dock behind a tab.

Paints are counted with an event filter on the real views (Qt offscreen, a real generator
source); nothing here times anything.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PyQt6 import QtCore

from monitor.gui.main_window import HIDDEN_INTERVAL, IDLE_INTERVAL, MainWindow
from monitor.session import Session

WAIT_MS = 20000


class PaintCounter(QtCore.QObject):
    """Counts paint events of the widgets it is installed on, by widget."""

    def __init__(self, widgets: dict) -> None:
        super().__init__()
        self.counts = {name: 0 for name in widgets}
        self._names = {id(w): name for name, w in widgets.items()}
        for w in widgets.values():
            w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QtCore.QEvent.Type.Paint:
            self.counts[self._names[id(obj)]] += 1
        return False

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.counts, 0)


@pytest.fixture
def window(qtbot):
    session = Session({"classifier": False, "generator": "sine:1000@-6", "fps": 60})
    session.start()
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.resize(1200, 760)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    session.close()


def _views(w) -> dict:
    return {"waterfall": w.waterfall.plot.viewport(), "spectrum": w.spectrum,
            "scope": w.scope, "meters": w.meters}


def _ticks(qtbot, w, n: int) -> None:
    start = w._ticks
    qtbot.waitUntil(lambda: w._ticks >= start + n, timeout=WAIT_MS)


def test_paused_window_ticks_slowly_and_paints_no_view(qtbot, window):
    counter = PaintCounter(_views(window))
    qtbot.waitUntil(lambda: window.waterfall.draws > 5 and counter.counts["spectrum"] > 0,
                    timeout=WAIT_MS)
    fast = window.timer.interval()
    assert fast == round(1000 / 60)
    window.set_paused(True)
    assert window.timer.interval() == round(1000 * IDLE_INTERVAL)
    assert window.pipeline.worker.idle  # the analysis passes at the idle pace too
    feed = window.session.measurement
    qtbot.waitUntil(lambda: feed.consumer is not None, timeout=WAIT_MS)
    # No panel shows the measure thread's output (the docks behind the Controls' tab): it
    # passes less often too; with the Measurements dock in front it keeps its pace.
    _ticks(qtbot, window, 1)
    assert not feed.analysing and feed.consumer.idle
    window.instruments.docks[0].raise_()
    qtbot.waitUntil(lambda: feed.analysing and not feed.consumer.idle, timeout=WAIT_MS)
    window.controls_dock.raise_()
    qtbot.waitUntil(lambda: feed.consumer.idle, timeout=WAIT_MS)
    _ticks(qtbot, window, 2)  # the frozen picture is drawn once
    counter.reset()
    seen, draws = window.frames_seen, window.waterfall.draws
    _ticks(qtbot, window, 3)
    assert window.frames_seen > seen  # still analysed and drained into the history
    assert window.waterfall.draws == draws
    assert counter.counts == dict.fromkeys(counter.counts, 0)
    window.set_paused(False)
    assert window.timer.interval() == fast
    assert not window.pipeline.worker.idle
    qtbot.waitUntil(lambda: counter.counts["waterfall"] > 0 and counter.counts["spectrum"] > 0,
                    timeout=WAIT_MS)


def test_minimised_window_draws_nothing_and_resumes_when_restored(qtbot, window):
    qtbot.waitUntil(lambda: window.waterfall.draws > 5, timeout=WAIT_MS)
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized, timeout=WAIT_MS)
    _ticks(qtbot, window, 1)
    assert window.timer.interval() == round(1000 * HIDDEN_INTERVAL)
    assert window.pipeline.worker.idle
    feed = window.session.measurement
    if feed is not None:  # nothing shows the measure thread's counts: it passes less often
        qtbot.waitUntil(lambda: feed.consumer is not None, timeout=WAIT_MS)
        assert feed.consumer.idle
    seen, draws = window.frames_seen, window.waterfall.draws
    _ticks(qtbot, window, 3)
    assert window.frames_seen > seen
    assert window.waterfall.draws == draws
    window.showNormal()
    qtbot.waitUntil(lambda: not window.isMinimized(), timeout=WAIT_MS)
    assert window.timer.interval() == round(1000 / 60)
    assert not window.pipeline.worker.idle
    qtbot.waitUntil(lambda: window.waterfall.draws > draws, timeout=WAIT_MS)


def test_minimised_window_does_not_paint_the_overview_and_draws_it_when_restored(qtbot):
    """The session overview keeps taking the audio in while minimised (nothing of it drawn),
    and shows all of it at the first tick after the window is restored."""
    session = Session({"classifier": False, "generator": "sine:1000@-6", "fps": 60, "history": 1.0})
    session.start()
    w = MainWindow(session)
    qtbot.addWidget(w)
    try:
        w.resize(1200, 760)
        w.show()
        qtbot.waitExposed(w)
        canvas = w.overview.strip.canvas
        counter = PaintCounter({"overview": canvas})
        # The overview is drawn once the session outgrows the waterfall's 1 s.
        qtbot.waitUntil(lambda: counter.counts["overview"] > 0, timeout=WAIT_MS)
        w.showMinimized()
        qtbot.waitUntil(w.isMinimized, timeout=WAIT_MS)
        _ticks(qtbot, w, 1)
        counter.reset()
        seen, taken = w.frames_seen, w.overview.strip.ltsa.frames
        _ticks(qtbot, w, 3)
        assert w.frames_seen > seen  # the batches still come in
        assert w.overview.strip.ltsa.frames > taken  # and into the overview
        assert counter.counts["overview"] == 0
        w.showNormal()
        qtbot.waitUntil(lambda: not w.isMinimized(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: counter.counts["overview"] > 0, timeout=WAIT_MS)
    finally:
        w.close()
        session.close()


def test_status_detail_tooltip_follows_changes_only(qtbot):
    """The status fields' tooltips (set at every status update) change when their detail or
    text does, and an unchanged detail leaves the label as it was."""
    from monitor.gui.status import ElidedLabel

    label = ElidedLabel("a long status text that does not fit in the room it has")
    qtbot.addWidget(label)
    label.resize(60, 20)
    label.set_detail("frames dropped: 0")
    tip = label.toolTip()
    assert "a long status text" in tip and "frames dropped: 0" in tip  # elided: whole text too
    label.setToolTip("marker")
    label.set_detail("frames dropped: 0")  # unchanged: nothing recomputed
    assert label.toolTip() == "marker"
    label.set_detail("frames dropped: 3")
    assert "frames dropped: 3" in label.toolTip() and "a long status text" in label.toolTip()
    label.setText("short")
    label.resize(400, 20)
    label.set_detail("")
    assert label.toolTip() == ""
