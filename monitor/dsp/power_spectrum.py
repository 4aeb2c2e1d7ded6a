"""Averaged one-sided power spectra (Welch), scaled so that bins sum to mean-square power.

Used by the measurements (distortion, octave bands). Only numpy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["BH7", "PowerSpectrum", "cosine_window", "enbw_bins", "frame_starts", "power_spectrum"]

# 7-term Blackman-Harris (Albrecht 2001, "A family of cosine-sum windows for high-resolution
# measurements"): highest side lobe about -180 dB, main lobe +-7 bins, ENBW 2.63 bins. At
# -180 dB the leakage of a full-scale tone is far below a 24-bit noise floor, so harmonics
# and noise can be integrated right next to the fundamental.
BH7 = (0.27105140069342, 0.43329793923448, 0.21812299954311, 0.06592544638803,
       0.01081174209837, 0.00077658482522, 0.00001388721735)
HANN = (0.5, 0.5)


def cosine_window(coefficients: tuple, n: int) -> np.ndarray:
    """Periodic (DFT-even) cosine-sum window ``sum_k (-1)^k a_k cos(2 pi k t / n)``, ``n`` samples."""
    phase = 2.0 * np.pi * np.arange(n) / n
    w = np.zeros(n)
    for k, a in enumerate(coefficients):
        w += (-1) ** k * a * np.cos(k * phase)
    return w


@functools.lru_cache(maxsize=8)
def _shared_window(coefficients: tuple, n: int) -> np.ndarray:
    """:func:`cosine_window`, made once per (coefficients, n) and read-only: the measure
    thread asks for the same two 8192-point windows at each of its 2 measurements a second
    (7 cosines of 8192 points each time)."""
    w = cosine_window(coefficients, n)
    w.flags.writeable = False
    return w


def enbw_bins(window: np.ndarray) -> float:
    """Equivalent noise bandwidth of ``window``, in bins: ``N sum(w^2) / sum(w)^2``."""
    return float(window.size * np.dot(window, window) / window.sum() ** 2)


def frame_starts(n_samples: int, n_fft: int, frames: int | None = None) -> np.ndarray:
    """Start indices of the last ``frames`` frames at 50 % overlap ending at ``n_samples``.

    ``frames=None`` takes as many as fit. Raises ValueError when not one frame fits.
    """
    hop = n_fft // 2
    fit = 1 + (n_samples - n_fft) // hop if n_samples >= n_fft else 0
    if fit < 1:
        raise ValueError(f"need at least n_fft = {n_fft} samples, got {n_samples}")
    count = fit if frames is None else min(fit, int(frames))
    last = n_samples - n_fft
    return last - hop * np.arange(count)[::-1]


@dataclass(frozen=True)
class PowerSpectrum:
    """An averaged one-sided power spectrum.

    Attributes
    ----------
    power : ndarray
        Mean-square power per bin (full-scale amplitude 1 = power 1): summing the bins of a
        tone's main lobe gives its mean square (A^2/2), summing white noise gives its variance.
    frequencies : ndarray
        Bin centres, Hz.
    samplerate : float
        Hz.
    n_fft : int
        Samples per frame.
    frames : int
        Frames averaged (50 % overlap).
    enbw : float
        Window's equivalent noise bandwidth, bins.
    spectra : ndarray
        The complex rfft of each windowed frame (frames x bins), for sub-bin work.
    window : ndarray
        The window used.
    segments : ndarray
        The mean-removed, windowed frames (frames x n_fft).
    dc : float
        DC offset: the frames' window-weighted mean, averaged (full scale = 1).
    """

    power: np.ndarray
    frequencies: np.ndarray
    samplerate: float
    n_fft: int
    frames: int
    enbw: float
    spectra: np.ndarray
    window: np.ndarray
    segments: np.ndarray
    dc: float

    @property
    def bin_hz(self) -> float:
        """Bin spacing, Hz."""
        return self.samplerate / self.n_fft


def _frames(x: np.ndarray, starts: np.ndarray, n_fft: int) -> np.ndarray:
    """The frames of ``x`` at ``starts``, (frames, n_fft): whole rows of a strided view (a
    gather of every sample by an index array cost ~10 instructions a sample)."""
    return np.lib.stride_tricks.sliding_window_view(x, int(n_fft))[starts]


def dc_offset(x: np.ndarray, n_fft: int = 8192, frames: int | None = None,
              coefficients: tuple = BH7) -> float:
    """DC offset of ``x`` (full scale = 1) as :func:`power_spectrum` measures it (its ``dc``):
    the window-weighted mean of the same frames, averaged, without the spectrum."""
    x = np.asarray(x, dtype=np.float64)
    starts = frame_starts(x.size, n_fft, frames)
    window = _shared_window(tuple(coefficients), int(n_fft))
    return float((_frames(x, starts, n_fft) @ window).mean() / window.sum())


def power_spectrum(x: np.ndarray, samplerate: float, n_fft: int = 8192, frames: int | None = None,
                   coefficients: tuple = BH7, remove_mean: bool = True) -> PowerSpectrum:
    """Welch-average the last ``frames`` frames of ``x`` (50 % overlap).

    Parameters
    ----------
    x : ndarray
        Mono samples, full scale +-1.
    samplerate : float
        Hz.
    n_fft : int
        Samples per frame.
    frames : int or None
        Frames to average (the last ones); None = all that fit.
    coefficients : tuple
        Cosine-sum window coefficients (default 7-term Blackman-Harris).
    remove_mean : bool
        Subtract each frame's (window-weighted) mean first, so that DC leaks into no bin (DC
        is measured in the time domain instead).
    """
    x = np.asarray(x, dtype=np.float64)
    starts = frame_starts(x.size, n_fft, frames)
    segments = _frames(x, starts, n_fft)
    window = _shared_window(tuple(coefficients), int(n_fft))
    # The window-weighted mean, not the plain one: a tone over a non-integer number of
    # periods shifts the plain mean (by ~A / (pi * cycles), -54 dB for 170 cycles), and
    # subtracting that would add a window-shaped line at DC. The weighted mean is what
    # the DC bin sees, and the window's -180 dB side lobes keep the tone out of it.
    means = segments @ window / window.sum()
    if remove_mean:
        segments = segments - means[:, None]
    segments = segments * window
    spectra = np.fft.rfft(segments, axis=1)
    # |X|^2 / (N sum w^2) is power per bin for noise; x2 folds the negative frequencies in.
    power = np.mean(np.abs(spectra) ** 2, axis=0) / (n_fft * np.dot(window, window))
    power[1:] *= 2.0
    if n_fft % 2 == 0:
        power[-1] /= 2.0  # the Nyquist bin has no negative twin
    frequencies = np.arange(power.size) * samplerate / n_fft
    return PowerSpectrum(power, frequencies, float(samplerate), int(n_fft), int(starts.size),
                         enbw_bins(window), spectra, window, segments, float(means.mean()))
