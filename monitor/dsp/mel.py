"""Mel scale and triangular mel filterbank (Slaney or HTK), matching ``librosa.filters.mel``."""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["hz_to_mel", "mel_to_hz", "mel_frequencies", "mel_filterbank", "empty_filters"]

# Slaney's Auditory Toolbox: linear below 1 kHz (3 mels per 200/3 Hz... i.e. 15 mels at 1 kHz),
# logarithmic above with 27 mels per factor 6.4.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz, htk: bool = False) -> np.ndarray:
    """Convert frequencies (Hz) to mels (Slaney by default, or HTK)."""
    hz = np.asanyarray(hz, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    mels = hz / _F_SP
    log_region = hz >= _MIN_LOG_HZ
    safe = np.where(log_region, hz, _MIN_LOG_HZ)
    return np.where(log_region, _MIN_LOG_MEL + np.log(safe / _MIN_LOG_HZ) / _LOGSTEP, mels)


def mel_to_hz(mels, htk: bool = False) -> np.ndarray:
    """Convert mels to frequencies (Hz); the inverse of :func:`hz_to_mel`."""
    mels = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    log_region = mels >= _MIN_LOG_MEL
    return np.where(log_region, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels - _MIN_LOG_MEL)), _F_SP * mels)


def mel_frequencies(n_mels: int, fmin: float, fmax: float, htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies (Hz) evenly spaced on the mel scale from ``fmin`` to ``fmax``."""
    mels = np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels)
    return mel_to_hz(mels, htk)


def mel_filterbank(samplerate: float, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: Optional[float] = None, htk: bool = False,
                   norm: Optional[str] = "slaney") -> np.ndarray:
    """Triangular mel filterbank, shape ``(n_mels, n_fft // 2 + 1)``, float64.

    Row ``i`` rises from centre frequency ``i - 1`` to ``i`` and falls to ``i + 1`` of
    ``n_mels + 2`` mel-spaced points. With ``norm='slaney'`` each triangle has unit area
    (in Hz), so a white spectrum gives a flat mel spectrum.

    Parameters
    ----------
    samplerate : float
        Hz.
    n_fft : int
        FFT size, samples.
    n_mels : int
        Number of bands.
    fmin, fmax : float
        Band edges, Hz; ``fmax=None`` is Nyquist.
    htk : bool
        HTK mel formula instead of Slaney's.
    norm : {'slaney', None}
        Area normalisation.
    """
    if fmax is None:
        fmax = samplerate / 2.0
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / samplerate)
    edges = mel_frequencies(n_mels + 2, fmin, fmax, htk)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


def empty_filters(samplerate: float, n_fft: int, n_mels: int, fmin: float, fmax: float,
                  htk: bool = False) -> int:
    """How many mel filters catch no FFT bin at all (0 means the filterbank is usable)."""
    weights = mel_filterbank(samplerate, n_fft, n_mels, fmin, fmax, htk, norm=None)
    return int(np.count_nonzero(weights.max(axis=1) <= 0))
