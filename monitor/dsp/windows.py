"""Analysis windows for the STFT (periodic, as used for spectral analysis)."""

from __future__ import annotations

import numpy as np

__all__ = ["get_window", "WINDOWS"]

WINDOWS = ("hann", "hamming", "blackmanharris", "rectangular")

# Blackman-Harris 4-term, minimum 92 dB side lobes (Harris 1978).
_BH4 = (0.35875, 0.48829, 0.14128, 0.01168)


def get_window(name: str, n: int) -> np.ndarray:
    """Return a periodic window of ``n`` samples as float64.

    Periodic (DFT-even) windows are what ``scipy.signal.get_window(name, n, fftbins=True)``
    and librosa use; they make overlapping Hann windows at hop n/4 sum to a constant.

    Parameters
    ----------
    name : {'hann', 'hamming', 'blackmanharris', 'rectangular'}
    n : int
        Window length, samples.
    """
    if name not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {name!r}")
    phase = 2.0 * np.pi * np.arange(n) / n
    if name == "hann":
        return 0.5 - 0.5 * np.cos(phase)
    if name == "hamming":
        return 0.54 - 0.46 * np.cos(phase)
    if name == "blackmanharris":
        a0, a1, a2, a3 = _BH4
        return a0 - a1 * np.cos(phase) + a2 * np.cos(2 * phase) - a3 * np.cos(3 * phase)
    return np.ones(n)
