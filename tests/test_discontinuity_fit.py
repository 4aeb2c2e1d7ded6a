"""The discontinuity detector's vectorised predictor fit (all the refits of one block at once)
against the straightforward one: each window on its own, lags by np.correlate, Levinson-Durbin
in Python floats."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.dsp.discontinuity import (
    DiscontinuityDetector,
    autocorrelations,
    levinson,
    predictors,
)


def _reference_fit(detector: DiscontinuityDetector, windows: np.ndarray) -> np.ndarray:
    out = []
    for segment in windows:
        w = segment * detector._taper
        r = np.correlate(w, w, "full")[w.size - 1:w.size + detector.order]
        r[0] *= 1.0 + 1e-9
        out.append(levinson(r, detector.order))
    return np.array(out)


class ReferenceDetector(DiscontinuityDetector):
    """The detector with the one-window-at-a-time fit."""

    def _fit(self, segments):
        return _reference_fit(self, segments)


def _windows(fit: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(fit) / 48000.0
    return np.array([
        rng.standard_normal(fit),  # white noise
        np.convolve(rng.standard_normal(fit), [1.0, 0.9, 0.5, -0.2], "same"),  # coloured
        0.5 * np.sin(2 * np.pi * 997.0 * t + 0.3),  # a pure tone: nearly singular
        0.3 * np.sin(2 * np.pi * 5500.0 * t) + 0.1 * np.sin(2 * np.pi * 60.0 * t),
        np.zeros(fit),  # digital silence: no predictor
        np.r_[np.zeros(fit // 2), 1e-3 * rng.standard_normal(fit - fit // 2)],
    ])


def test_autocorrelations_are_the_lag_products():
    w = _windows(1920)
    r = autocorrelations(w, 12)
    ref = np.array([np.correlate(x, x, "full")[x.size - 1:x.size + 12] for x in w])
    assert r.shape == (len(w), 13)
    assert np.allclose(r, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_predictors_equal_levinson_row_by_row():
    rng = np.random.default_rng(2)
    x = np.convolve(rng.standard_normal(8000), [1.0, 0.6, -0.3, 0.2], "same")
    r = np.array([[x[:x.size - i] @ x[i:] for i in range(9)], np.zeros(9)])
    got = predictors(r, 8)
    assert np.allclose(got[0], levinson(r[0], 8), rtol=1e-10, atol=1e-12)
    assert not got[1].any()  # r[0] == 0: zeros, as levinson gives


@pytest.mark.parametrize("fs", [44100, 48000, 96000])
def test_the_vectorised_fit_equals_the_reference(fs):
    det = DiscontinuityDetector(fs)
    w = _windows(det.fit)
    got, ref = det._fit(w), _reference_fit(det, w)
    assert got.shape == ref.shape == (len(w), det.order)
    assert not got[4].any()
    # The tone rows are ill-conditioned (the 1e-9 white-noise correction bounds it): their
    # coefficients agree less closely; their predictions still agree to rounding.
    for row in (0, 1, 5):
        assert np.allclose(got[row], ref[row], rtol=1e-8, atol=1e-10)
    for row in (2, 3):
        x = w[row]
        e_got = x[12:] - np.convolve(x, np.r_[0.0, got[row]], "valid")[:x.size - 12]
        e_ref = x[12:] - np.convolve(x, np.r_[0.0, ref[row]], "valid")[:x.size - 12]
        assert np.max(np.abs(e_got - e_ref)) < 1e-6


@pytest.mark.parametrize("sizes", [(2400,), (480,), (1, 4097, 333)])
def test_the_detector_finds_what_the_reference_finds(sizes):
    fs = 48000
    rng = np.random.default_rng(3)
    t = np.arange(3 * fs) / fs
    x = 0.4 * np.sin(2 * np.pi * 1500.0 * t) + 0.05 * np.sin(2 * np.pi * 210.0 * t)
    x = x + 1e-4 * rng.standard_normal(x.size)
    for cut in (int(1.1 * fs), int(1.7 * fs) + 5, int(2.4 * fs) + 11):  # three removed buffers
        x = np.r_[x[:cut], x[cut + 200:]]
    results = []
    for cls in (DiscontinuityDetector, ReferenceDetector):
        det, events, pos = cls(fs), [], 0
        while pos < x.size:
            n = sizes[pos % len(sizes)]
            det.process(x[pos:pos + n])
            events += det.last_events.tolist()
            pos += n
        results.append((events, det._a.copy()))
    (got, a_got), (ref, a_ref) = results
    assert got == ref and len(got) == 3
    assert np.allclose(a_got, a_ref, rtol=1e-6, atol=1e-8)


def _reference_errors(det: DiscontinuityDetector, ext, base, start, n):
    """The prediction errors one grid segment at a time, by np.convolve (the detector's first
    form): refit at each grid point crossed, nothing before the first fit."""
    p = det.order
    err = np.zeros(n)
    points = np.arange(-(-start // det.hop) * det.hop, start + n, det.hop)
    edges = np.concatenate(([start], points[points > start], [start + n]))
    for u, v in zip(edges[:-1].tolist(), edges[1:].tolist()):
        if u % det.hop == 0 and u >= det._start + det.fit:
            w = ext[u - base - det.fit:u - base]
            det._a = _reference_fit(det, w[None, :])[0]
        lo = max(u, det._start + p)
        if lo >= v or u < det._first_fit:
            continue
        seg = ext[lo - base - p:v - base]
        err[lo - start:v - start] = seg[p:] - np.convolve(seg, np.r_[0.0, det._a], "valid")[:v - lo]
    return err


class _Recording(DiscontinuityDetector):
    def __init__(self, *a, reference=False, **kw):
        self.reference, self.errors = reference, []
        super().__init__(*a, **kw)

    def _errors(self, ext, base, start, n):
        err = _reference_errors(self, ext, base, start, n) if self.reference else super()._errors(ext, base, start, n)
        self.errors.append(err)
        return err


@pytest.mark.parametrize("sizes", [(4800,), (480,), (1, 4097, 333, 20000)])
def test_the_prediction_errors_equal_the_segment_by_segment_convolution(sizes):
    """The errors as every lag of whole grid segments at once (zero-padded past the block)
    equal the per-segment convolution with the reference fit, across a restart."""
    fs = 48000
    rng = np.random.default_rng(4)
    t = np.arange(3 * fs) / fs
    x = 0.4 * np.sin(2 * np.pi * 1500.0 * t) + 0.05 * np.sin(2 * np.pi * 210.0 * t) + 1e-3 * rng.standard_normal(t.size)
    x = np.r_[x[:70000], x[70300:]]  # a removed buffer
    dets = [_Recording(fs), _Recording(fs, reference=True)]
    pos = k = 0
    restarted = False
    while pos < x.size:
        n = sizes[k % len(sizes)]
        if pos >= 100000 and not restarted:  # once: samples skipped
            restarted = True
            for det in dets:
                det.restart()
        for det in dets:
            det.process(x[pos:pos + n])
        pos, k = pos + n, k + 1
    got, ref = np.concatenate(dets[0].errors), np.concatenate(dets[1].errors)
    assert got.shape == ref.shape == (x.size,)
    assert np.count_nonzero(ref) > x.size - 2 * 20000 - 2 * 0.05 * fs  # all but the fills
    # The fits differ by rounding (the tone rows are ill-conditioned): errors to 1e-9 of full scale.
    assert np.max(np.abs(got - ref)) < 1e-9
    assert dets[0].events == dets[1].events >= 1
