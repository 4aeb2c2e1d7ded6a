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
