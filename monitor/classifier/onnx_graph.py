"""The ONNX graph of a YAMNet-kind model: checked before it is loaded, its quantisation read,
rewritten to float activations.

The packaged graph takes uint8 log-mel patches and returns uint8 logits; the quantisation
parameters are read from the graph itself (:func:`read_quantization`).
:func:`float_activation_model` rewrites the graph to float activations (the int8 weights are
kept, dequantised), which gives scores on a fine scale instead of 0.76-logit steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from monitor.errors import ParameterError
from monitor.inputs import check_input_file, format_bytes
from monitor.outputs import show_path

__all__ = ["GraphQuantization", "MAX_MODEL_BYTES", "check_model_file", "float_activation_model",
           "read_quantization"]

MAX_MODEL_BYTES = 500_000_000  # the .onnx file and its external data, together


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


@dataclass(frozen=True)
class GraphQuantization:
    """How a graph's input and output are quantised (None: float), and whether its output is
    already a probability."""

    in_scale: Optional[float] = None
    in_zp: Optional[float] = None
    out_scale: Optional[float] = None
    out_zp: Optional[float] = None
    ends_with_sigmoid: bool = False

    @property
    def quantized_input(self) -> bool:
        """True when the graph takes uint8 patches (a QDQ graph)."""
        return self.in_scale is not None


def read_quantization(path: str) -> GraphQuantization:
    """Read the input/output quantisation of the graph at ``path`` (its weights are not loaded).

    Raises
    ------
    ParameterError
        The graph has no inputs or outputs, or its external data is missing, outside its
        folder or too large.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path, load_external_data=False)
    graph = model.graph
    if not graph.input or not graph.output:
        raise ParameterError(f"cannot load model {show_path(path)}: the graph has no "
                             f"{'inputs' if not graph.input else 'outputs'} (not an ONNX "
                             f"model of the YAMNet kind)")
    _check_external_data(path, graph)
    small = {i.name: i for i in graph.initializer if not i.external_data}

    def value(name):
        return float(numpy_helper.to_array(small[name]))

    inp = graph.input[0].name
    out = graph.output[0].name
    found = {"ends_with_sigmoid": any(n.op_type == "Sigmoid" and out in n.output
                                      for n in graph.node)}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] == inp:
            found.update(in_scale=value(node.input[1]), in_zp=value(node.input[2]))
        if node.op_type == "QuantizeLinear" and node.output[0] == out:
            found.update(out_scale=value(node.input[1]), out_zp=value(node.input[2]),
                         ends_with_sigmoid=False)
    return GraphQuantization(**found)


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
