"""The packaged model, loaded on a thread of its own after the window is on screen.

Importing onnxruntime and making the session took 0.38 s of the window's 1.98 s start-up
(cProfile, bench/findings.md). :class:`DeferredModel` stands in for a
:class:`~monitor.classifier.model.YamnetModel` from the start: its labels are known at once
(the class map is read in ~1 ms), so the classifier and its view are built as before; the
weights are loaded when :meth:`start` is called, and :meth:`scores` (on the classifier's
thread) waits for them. The audio the classifier is fed meanwhile waits in its queue, so
events start once the model is ready and nothing is skipped.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

import numpy as np

from monitor.threads import NamedThread

__all__ = ["DeferredModel", "ModelNotLoaded"]


class ModelNotLoaded(RuntimeError):
    """The deferred model failed to load (its :attr:`DeferredModel.problem` says why)."""


class DeferredModel:
    """A model whose loading is deferred to a thread started by :meth:`start`.

    Parameters
    ----------
    load : callable
        Returns the loaded model (a YamnetModel); raises ``ModelUnavailable`` or
        ``ParameterError`` when it cannot.
    labels : sequence of str
        The class names, in output order (the model's ``labels`` once loaded).
    describe : callable
        Turns the exception ``load`` raised into the one-line problem shown to the user.
    """

    def __init__(self, load: Callable, labels, describe: Callable[[BaseException], str]) -> None:
        self.labels = tuple(labels)
        self._load = load
        self._describe = describe
        self.model = None  # the loaded model
        self.problem: Optional[str] = None  # why it could not be loaded
        self.ready = threading.Event()  # set once loaded or failed
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._cancelled = False

    @property
    def loading(self) -> bool:
        """True until the model is loaded or has failed."""
        return not self.ready.is_set()

    def start(self) -> None:
        """Start loading on a thread named ``model-load`` (again: nothing)."""
        with self._lock:
            if self._thread is None and not self._cancelled:
                self._thread = NamedThread(target=self._run, name="model-load", daemon=True)
                self._thread.start()

    def load_now(self) -> None:
        """Load on the calling thread (if :meth:`start` was not called) and wait until done."""
        with self._lock:
            run_here = self._thread is None and not self._cancelled
            if run_here:
                self._thread = threading.current_thread()
        if run_here:
            self._run()
        self.ready.wait()

    def _run(self) -> None:
        try:
            self.model = self._load()
        except Exception as exc:  # noqa: BLE001 - said as the classifier's problem, not raised
            self.problem = self._describe(exc)
        finally:
            self.ready.set()

    def cancel(self) -> None:
        """Give up a load not yet started: whoever waits in :meth:`scores` is released (with
        :class:`ModelNotLoaded`). Called when the classifier closes."""
        with self._lock:
            if self._thread is None:
                self._cancelled = True
                self.ready.set()

    def _loaded(self):
        # The classifier's thread waits here from its first patch until the window starts the
        # load (after its first picture): starting it here would put it back on the start-up.
        self.ready.wait()
        if self.model is None:
            raise ModelNotLoaded(self.problem or "the model was not loaded (closed first)")
        return self.model

    # -- the YamnetModel interface the classifier uses ------------------------------------------
    def scores(self, patch: np.ndarray) -> np.ndarray:
        """Class probabilities (n_classes,) of one log-mel patch; waits for the model."""
        return self._loaded().scores(patch)

    def scores_batch(self, patches: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of ``n`` log-mel patches; waits for the model."""
        return self._loaded().scores_batch(patches)

    def logits(self, patch: np.ndarray) -> np.ndarray:
        """Logits (n_classes,) of one log-mel patch; waits for the model."""
        return self._loaded().logits(patch)

    def __getattr__(self, name: str):
        # Anything else a YamnetModel has (path, precision, session, input_dtype): from the
        # loaded model, waiting for it.
        if name.startswith("_") or name in ("model", "problem", "ready", "labels"):
            raise AttributeError(name)
        return getattr(self._loaded(), name)
