"""Reclaiming the pages of onnxruntime's library that only loading used
(monitor.classifier.library_pages): the real library, the real model."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from monitor.classifier import library_pages


def test_only_read_only_mappings_of_the_named_file_are_taken():
    import onnxruntime  # noqa: F401 - its library mapped in this process

    spans = library_pages._mappings("onnxruntime")
    if not sys.platform.startswith("linux"):
        assert spans == []
        return
    assert spans and all(end > start for start, end in spans)
    with open("/proc/self/maps") as f:
        rows = {int(line.split()[0].split("-")[0], 16): line.split() for line in f}
    for start, _ in spans:
        perms, path = rows[start][1], rows[start][5]
        assert "w" not in perms and "onnxruntime" in path.rsplit("/", 1)[-1]
    assert library_pages._mappings("no-such-library-name") == []


def test_scores_are_unchanged_after_the_pages_go_back(model):
    rng = np.random.default_rng(3)
    patches = rng.uniform(-12.0, 4.0, (3, 96, 64)).astype(np.float32)
    before = model.scores_batch(patches)
    advised = library_pages.release_library_pages("onnxruntime")
    if sys.platform.startswith("linux"):
        assert advised > 0
    after = model.scores_batch(patches)  # the code it runs is faulted back in
    assert np.array_equal(before, after)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's madvise")
def test_nothing_matched_advises_nothing():
    assert library_pages.release_library_pages("no-such-library-name") == 0
