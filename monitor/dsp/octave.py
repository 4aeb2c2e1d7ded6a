"""Fractional-octave band levels (1/1 to 1/24 octave, IEC 61260-1 / ANSI S1.11 base-10) from an
FFT power spectrum, with band edges honoured exactly.

Mid-band frequencies are base 10: ``G = 10^(3/10)``, ``fm = 1000 G^(n/b)`` for odd ``b`` and
``1000 G^((2n+1)/(2b))`` for even ``b``; edges ``fm G^(-+1/(2b))``. Each FFT bin ``k`` is taken
to hold its power spread evenly over ``[(k - 1/2) df, (k + 1/2) df]``; a band gets the part of
every bin inside its edges (the cumulative power, linearly interpolated at the edges), so a
bin straddling an edge is split by fraction and the bands sum to the total exactly.
Bands narrower than a few bins are still computed but hold the smeared power of the bins they
cut (``bins`` says how many bins wide each band is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FRACTIONS", "OctaveBands", "band_centres", "band_edges", "band_levels", "nominal_frequency"]

FRACTIONS = (1, 3, 6, 12, 24)
G = 10.0 ** 0.3  # base-10 octave ratio
_R10 = np.array([1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0, 10.0])
FULL_SCALE_SINE_POWER = 0.5


def _check_fraction(fraction: int) -> int:
    if fraction not in FRACTIONS:
        raise ValueError(f"band fraction must be one of 1, 3, 6, 12, 24 (1/b octave), got {fraction!r}")
    return int(fraction)


def band_centres(fraction: int, fmin: float = 20.0, fmax: float = 20000.0) -> np.ndarray:
    """Exact mid-band frequencies (Hz) of the 1/``fraction``-octave bands holding fmin..fmax."""
    b = _check_fraction(fraction)
    lo = b * np.log(fmin / 1000.0) / np.log(G) - 0.5 - 1e-9
    hi = b * np.log(fmax / 1000.0) / np.log(G) + 0.5 + 1e-9
    if b % 2:  # exponent n / b
        n = np.arange(np.ceil(lo), np.floor(hi) + 1)
        return 1000.0 * G ** (n / b)
    n = np.arange(np.ceil(lo - 0.5), np.floor(hi - 0.5) + 1)  # exponent (2n + 1) / (2b)
    return 1000.0 * G ** ((2 * n + 1) / (2 * b))


def band_edges(centres: np.ndarray, fraction: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper band edges (Hz) of 1/``fraction``-octave bands at ``centres`` (Hz)."""
    b = _check_fraction(fraction)
    half = G ** (1.0 / (2 * b))
    return centres / half, centres * half


def nominal_frequency(exact: np.ndarray, fraction: int) -> np.ndarray:
    """Nominal mid-band frequencies (Hz) for labels.

    Octave and one-third-octave bands: the R10 preferred numbers (31.5, 63, 125 ... 16000) as in
    IEC 61260-1; finer bands: the exact frequency to three significant figures.
    """
    exact = np.asarray(exact, dtype=np.float64)
    decade = 10.0 ** np.floor(np.log10(exact))
    if _check_fraction(fraction) in (1, 3):
        mantissa = exact / decade
        nearest = _R10[np.argmin(np.abs(np.log(mantissa[:, None] / _R10[None, :])), axis=1)]
        return nearest * decade
    return np.round(exact / decade, 2) * decade


@dataclass(frozen=True)
class OctaveBands:
    """Band levels.

    Attributes
    ----------
    fraction : int
        b of the 1/b-octave bands.
    centres_hz, lower_hz, upper_hz, nominal_hz : ndarray
        Exact mid-band frequency, band edges and label frequency, Hz.
    power : ndarray
        Mean-square power in each band (full-scale sine = 0.5).
    level_dbfs : ndarray
        ``10 log10(power / 0.5)``, dBFS (AES17), -inf for an empty band.
    bins : ndarray
        Band width in FFT bins.
    """

    fraction: int
    centres_hz: np.ndarray
    lower_hz: np.ndarray
    upper_hz: np.ndarray
    nominal_hz: np.ndarray
    power: np.ndarray
    level_dbfs: np.ndarray
    bins: np.ndarray


def band_levels(power: np.ndarray, samplerate: float, n_fft: int, fraction: int = 3,
                fmin: float = 20.0, fmax: float = 20000.0) -> OctaveBands:
    """Band levels from a one-sided power spectrum ``power`` (mean square per rfft bin).

    Parameters
    ----------
    power : ndarray
        ``n_fft // 2 + 1`` bins, e.g. ``power_spectrum(...).power``.
    samplerate : float
        Hz.
    n_fft : int
        FFT length of ``power``.
    fraction : {1, 3, 6, 12, 24}
        1/b-octave bands.
    fmin, fmax : float
        Hz; bands holding these frequencies are the first and last, and a band whose upper edge
        is above Nyquist is left out.
    """
    df = samplerate / n_fft
    centres = band_centres(fraction, fmin, fmax)
    lower, upper = band_edges(centres, fraction)
    keep = upper <= samplerate / 2.0
    centres, lower, upper = centres[keep], lower[keep], upper[keep]
    boundaries = (np.arange(power.size + 1) - 0.5) * df
    cumulative = np.concatenate(([0.0], np.cumsum(power, dtype=np.float64)))
    band_power = np.interp(upper, boundaries, cumulative) - np.interp(lower, boundaries, cumulative)
    with np.errstate(divide="ignore"):
        level = 10.0 * np.log10(band_power / FULL_SCALE_SINE_POWER)
    return OctaveBands(int(fraction), centres, lower, upper, nominal_frequency(centres, fraction),
                       band_power, level, (upper - lower) / df)
