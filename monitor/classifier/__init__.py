"""Live sound-event classifier: YAMNet (AudioSet, 521 classes) on the monitored audio.

:func:`open_classifier` builds a running :class:`SoundEventClassifier` from the settings, or
says in one line why there is none (the model is optional at run time).
"""

from __future__ import annotations

import os
from typing import Optional

from monitor.classifier.aggregation import Alert, Event
from monitor.classifier.model import (DISTRIBUTION, INSTALL_COMMAND, ModelUnavailable, YamnetModel,
                                      check_model_file, find_packaged_model, load_labels)
from monitor.classifier.stream import PatchResult, Snapshot, SoundEventClassifier
from monitor.outputs import show_path
from monitor.settings import ParameterError, Settings

__all__ = ["open_classifier", "load_model", "unavailable_text", "SoundEventClassifier", "Classifier",
           "PatchResult", "Snapshot", "Event", "Alert", "INSTALL_COMMAND", "PRECISION"]

Classifier = SoundEventClassifier

# Float activations: finer scores than the int8 graph's 0.76-logit output steps, for ~1 ms more
# per 0.48 s patch (measured: int8 0.54 ms, float 1.54 ms, one thread), i.e. 0.3 % of a core.
PRECISION = "float"


def load_model(settings: Settings, distribution: str = DISTRIBUTION,
               precision: str = PRECISION, threads: int = 1) -> YamnetModel:
    """The model the settings name (``--model``/``--labels``) or the packaged YAMNet.

    Raises
    ------
    ParameterError
        A model or labels path given by the user is missing or unusable.
    ModelUnavailable
        The packaged model is not installed or damaged; or onnxruntime is missing.
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelUnavailable("onnxruntime is not installed") from None
    if settings.model or settings.labels:
        if not settings.model:
            raise ParameterError("--labels needs --model PATH.onnx")
        path = settings.model
        check_model_file(path)  # before anything reads it: type and size
        labels_path = settings.labels
        if labels_path is None:
            labels_path = find_packaged_model(distribution).labels_path  # YAMNet's 521 names
        labels = load_labels(labels_path)
        try:
            return YamnetModel(path, labels, precision=precision, threads=threads)
        except ParameterError:
            raise
        except Exception as exc:  # noqa: BLE001 - onnx/onnxruntime parse errors of a bad file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ParameterError(f"cannot load model {show_path(path)}: {first}") from None
    packaged = find_packaged_model(distribution)
    try:
        return YamnetModel(packaged.onnx_path, load_labels(packaged.labels_path),
                           precision=precision, threads=threads)
    except Exception as exc:  # noqa: BLE001 - a damaged cache: say where, keep the app running
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelUnavailable(f"cannot load {packaged.onnx_path} ({first}); delete "
                               f"{os.path.dirname(packaged.onnx_path)} to unpack it again") from None


def unavailable_text(exc: BaseException) -> str:
    """The one-line problem for a model that cannot be used (``ModelUnavailable``)."""
    command = "pip install onnxruntime" if "onnxruntime" in str(exc) else INSTALL_COMMAND
    return f"classifier unavailable: {exc}; install with: {command}"


def open_classifier(settings: Settings, distribution: str = DISTRIBUTION, defer: bool = False
                    ) -> tuple[Optional[SoundEventClassifier], Optional[str]]:
    """Start the classifier the settings describe.

    Parameters
    ----------
    settings : Settings
    distribution : str
        The installed distribution that ships the model (tests point it elsewhere).
    defer : bool
        The packaged model (no ``--model``/``--labels``) is loaded later, when
        ``classifier.model.start()`` is called (the window does once its first picture is
        drawn): a :class:`~monitor.classifier.deferred_model.DeferredModel`, whose
        ``problem`` says why, should it fail to load. A model the user named is loaded now.

    Returns
    -------
    (classifier, None), or (None, "classifier unavailable: <why>; install with: <command>")
        when the packaged model cannot be used; everything else keeps working without it.

    Raises
    ------
    ParameterError
        For a bad ``--model``/``--labels`` path or an unknown watched label (exit code 2).
    """
    try:
        if defer and not (settings.model or settings.labels):
            model = _deferred_packaged_model(settings, distribution)
        else:
            model = load_model(settings, distribution)
    except ModelUnavailable as exc:
        return None, unavailable_text(exc)
    return SoundEventClassifier(model, settings), None


def _deferred_packaged_model(settings: Settings, distribution: str):
    """The packaged model as a DeferredModel: what can be checked without onnxruntime (it is
    installed, the model is unpacked, its labels read) is checked now."""
    import importlib.util

    from monitor.classifier.deferred_model import DeferredModel

    if importlib.util.find_spec("onnxruntime") is None:
        raise ModelUnavailable("onnxruntime is not installed")
    packaged = find_packaged_model(distribution)
    try:
        labels = load_labels(packaged.labels_path)
    except ParameterError as exc:
        raise ModelUnavailable(str(exc)) from None
    return DeferredModel(lambda: load_model(settings, distribution), labels, unavailable_text)
