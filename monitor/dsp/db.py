"""Power to decibels."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["AMIN", "power_to_db", "amplitude_to_dbfs"]

AMIN = 1e-10  # power floor: -100 dB
_DB_PER_NEPER_POWER = 10.0 / math.log(10.0)  # 10·log10(x) = ln(x) · this


def power_to_db(power: np.ndarray, amin: float = AMIN, out: np.ndarray | None = None) -> np.ndarray:
    """``10 · log10(max(power, amin))``, dB relative to 1.0 (a full-scale power).

    float32 is computed as ``ln(x) · 10/ln(10)``: numpy's float32 ``log`` is vectorised
    (AVX2/AVX-512) and ``log10`` is not (1153 values: 3.8 against 9.5 µs here). Against float64
    ``log10`` the result differs by at most 1.3e-5 dB (float32 ``log10``: 9e-6 dB). The floor
    stays exactly ``10 · log10(amin)``: powers are floored a little below ``amin`` (whose
    rounded logarithm may land just above the floor) and the dB values clamped at the floor.
    """
    if (power if out is None else out).dtype != np.float32:
        floored = np.maximum(power, amin, out=out)
        np.log10(floored, out=floored)
        floored *= 10.0
        return floored
    floored = np.maximum(power, 0.999 * amin, out=out)
    np.log(floored, out=floored)
    floored *= _DB_PER_NEPER_POWER
    np.maximum(floored, 10.0 * math.log10(amin), out=floored)
    return floored


def amplitude_to_dbfs(amplitude: np.ndarray, amin: float = 1e-5) -> np.ndarray:
    """``20 · log10(max(|a|, amin))``: an amplitude in dB relative to full scale (dBFS)."""
    return 20.0 * np.log10(np.maximum(np.abs(amplitude), amin))
