"""The float graph as onnxruntime optimises it, kept on disk so that later starts skip onnx,
the rewrite and the optimiser (whose garbage stayed in the process: 64 + 36 MiB of RSS
measured; bench/findings.md).
"""

from __future__ import annotations

import os
import tempfile
from typing import Optional

from monitor.classifier.onnx_graph import float_activation_model, read_quantization
from monitor.classifier.sha256 import sha256

__all__ = ["PREPARED_KEEP", "PREPARED_VERSION", "machine_key", "prepared_model", "prune_prepared"]

PREPARED_VERSION = 2  # bump when float_activation_model changes what it writes (2: any batch)


def machine_key(ort) -> str:
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


def prepared_model(path: str, ort, options, folder: str) -> Optional[tuple[str, bool]]:
    """The float-activation graph of ``path`` as onnxruntime optimises it (all levels), cached
    in ``folder``; returns (its path, whether the graph ends with a sigmoid), or None
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
    key = sha256(f"{PREPARED_VERSION}|{os.path.realpath(path)}|{st.st_size}|"
                 f"{st.st_mtime_ns}|{dst and (dst.st_size, dst.st_mtime_ns)}|"
                 f"{machine_key(ort)}".encode()).hexdigest()[:24]
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
        quantization = read_quantization(path)
        if quantization.quantized_input:
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
        if quantization.ends_with_sigmoid:
            open(sigmoid_flag, "w").close()
        os.replace(tmp.name, target)  # atomic: another process sees all of it or nothing
    except Exception:  # noqa: BLE001 - no cache (read-only home, odd graph): build in memory
        return None
    prune_prepared(folder)
    return target, quantization.ends_with_sigmoid


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
