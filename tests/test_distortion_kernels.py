"""The distortion measurement's DTFT kernels (a coarse and a fine table multiplied) against the
direct complex exponential, and the line powers they give against a known tone."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.dsp.distortion import _grid_power, _line_power, _phasors
from monitor.dsp.power_spectrum import power_spectrum


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 4096, 8192, 16384])
def test_phasors_equal_the_direct_exponential(n):
    f = np.array([0.0, 50.02, 997.3, 12345.6, 23999.0])
    direct = np.exp(-2j * np.pi * np.outer(np.arange(n), f) / 48000.0)
    got = _phasors(f, n, 48000.0)
    assert got.shape == (n, f.size)
    # Both round the phase of up to 2 pi 24 kHz 16384 / 48 kHz = 5e4 rad: a few 1e-12.
    assert np.max(np.abs(got - direct)) < 2e-11


def test_line_and_grid_power_read_a_tone():
    fs, n_fft = 48000.0, 8192
    t = np.arange(20480) / fs
    x = 0.5 * np.sin(2 * np.pi * 997.3 * t) + 0.01 * np.sin(2 * np.pi * 60.0 * t)
    ps = power_spectrum(x, fs, n_fft, 4)
    assert _line_power(ps, [997.3])[0] == pytest.approx(0.125, rel=1e-4)  # A^2 / 2
    grid = _grid_power(ps, 59.7, 0.03, 21)
    assert int(np.argmax(grid)) == 10 and grid[10] == pytest.approx(5e-5, rel=1e-2)
    assert np.allclose(grid, _line_power(ps, 59.7 + 0.03 * np.arange(21)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("n_fft", [1000, 4096, 6000, 8192, 16384])
def test_folded_line_power_equals_the_full_kernel_and_the_direct_sum(n_fft):
    """``_line_power`` sums the frames against the fine table, then the coarse one, without the
    n_fft x k kernel: the same sum as the kernel's product in another order."""
    from monitor.dsp.distortion import _coherent_power

    fs = 48000.0
    rng = np.random.default_rng(0)
    t = np.arange(40000) / fs
    x = 0.5 * np.sin(2 * np.pi * 997.3 * t) + 0.01 * np.sin(2 * np.pi * 60 * t) + 1e-3 * rng.standard_normal(t.size)
    ps = power_spectrum(x, fs, n_fft, 4)
    f = np.array([49.9, 50.0, 60.0, 997.3, 997.31, 5000.3, 23999.0])
    got = _line_power(ps, f)
    kernel = _coherent_power(ps, _phasors(f, n_fft, fs))
    # The direct sum with the phase reduced to one turn first (f t mod fs: exact in floats).
    direct = np.exp(-2j * np.pi * (np.mod(np.outer(np.arange(n_fft), f), fs) / fs))
    re, im = ps.segments @ direct.real, ps.segments @ direct.imag
    exact = 2.0 * np.mean(re * re + im * im, axis=0) / ps.window.sum() ** 2
    assert np.max(np.abs(got - kernel) / exact) < 1e-12
    assert np.max(np.abs(got - exact) / exact) < 5e-11  # the tables' phase rounding, as before
    for k in range(f.size):  # one line alone reads what it reads among others
        assert _line_power(ps, f[k:k + 1])[0] == pytest.approx(got[k], rel=1e-12)
