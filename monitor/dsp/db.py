"""Power to decibels."""

from __future__ import annotations

import numpy as np

__all__ = ["AMIN", "power_to_db", "amplitude_to_dbfs"]

AMIN = 1e-10  # power floor: -100 dB


def power_to_db(power: np.ndarray, amin: float = AMIN, out: np.ndarray | None = None) -> np.ndarray:
    """``10 · log10(max(power, amin))``, dB relative to 1.0 (a full-scale power)."""
    floored = np.maximum(power, amin, out=out)
    np.log10(floored, out=floored)
    floored *= 10.0
    return floored


def amplitude_to_dbfs(amplitude: np.ndarray, amin: float = 1e-5) -> np.ndarray:
    """``20 · log10(max(|a|, amin))``: an amplitude in dB relative to full scale (dBFS)."""
    return 20.0 * np.log10(np.maximum(np.abs(amplitude), amin))
