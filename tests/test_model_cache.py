"""The classifier's prepared-model cache (monitor.classifier.prepared_graph): the
float graph as onnxruntime optimised it, saved once and loaded without onnx afterwards."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import unavailable
from monitor.classifier import model as M
from monitor.classifier.prepared_graph import prune_prepared

RUN_TIMEOUT = 120


@pytest.fixture(scope="module")
def packaged():
    try:
        return M.find_packaged_model()
    except M.ModelUnavailable as exc:
        unavailable(f"YAMNet model unavailable ({exc}): {M.INSTALL_COMMAND}")


def _patches(n: int = 4) -> list:
    rng = np.random.default_rng(7)
    return [rng.uniform(-12.0, 4.0, (96, 64)).astype(np.float32) for _ in range(n)]


def test_prepared_model_scores_equal_the_graph_built_in_memory(packaged, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    labels = M.load_labels(packaged.labels_path)
    cached = M.YamnetModel(packaged.onnx_path, labels)
    files = os.listdir(tmp_path / "spectromon" / "prepared")
    assert [f for f in files if f.endswith(".onnx")], files
    assert not [f for f in files if f.endswith(".tmp")], files
    again = M.YamnetModel(packaged.onnx_path, labels)  # now loaded from the cache
    monkeypatch.setattr(M, "prepared_model", lambda *args: None)
    built = M.YamnetModel(packaged.onnx_path, labels)
    assert cached.precision == again.precision == built.precision == "float"
    for patch in _patches():
        np.testing.assert_array_equal(again.scores(patch), built.scores(patch))
        np.testing.assert_array_equal(cached.scores(patch), built.scores(patch))


def test_cached_model_loads_without_onnx(packaged, tmp_path):
    code = ("import sys; from monitor.classifier import model as M; p = M.find_packaged_model(); "
            "M.YamnetModel(p.onnx_path, M.load_labels(p.labels_path)); print('onnx' in sys.modules)")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    run = [sys.executable, "-c", code]
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert first.stdout.split() == ["True"]  # built: onnx rewrote the graph
    assert second.stdout.split() == ["False"]  # cached: onnx never imported


def test_unwritable_cache_falls_back_to_the_graph_in_memory(packaged, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    model = M.YamnetModel(packaged.onnx_path, M.load_labels(packaged.labels_path))
    assert model.precision == "float"
    assert model.scores(_patches(1)[0]).shape == (521,)


def test_old_prepared_graphs_are_pruned_keeping_the_most_recently_used(tmp_path):
    folder = tmp_path / "prepared"
    folder.mkdir()
    for i in range(6):
        graph = folder / f"g{i}.onnx"
        graph.write_bytes(b"x")
        (folder / f"g{i}.onnx.sigmoid").write_bytes(b"")
        os.utime(graph, (1000 + i, 1000 + i))  # g5 the most recently used
    os.utime(folder / "g0.onnx", (5000, 5000))  # g0 used again lately
    removed = prune_prepared(str(folder), keep=3)
    assert sorted(os.path.basename(p) for p in removed) == ["g1.onnx", "g2.onnx", "g3.onnx"]
    assert sorted(os.listdir(folder)) == ["g0.onnx", "g0.onnx.sigmoid", "g4.onnx",
                                          "g4.onnx.sigmoid", "g5.onnx", "g5.onnx.sigmoid"]
    assert prune_prepared(str(tmp_path / "missing")) == []
