"""Display rows of a frequency scale: where each row of the waterfall and spectrum lies in Hz,
and how a frame's spectrum becomes those rows.

Three scales share one continuous mapping ``hz_at(y)`` from a row coordinate ``y`` (row ``r``
covers ``[r, r + 1)``, its centre is ``r + 0.5``) to Hz:

- ``linear``: the FFT bins between fmin and fmax, one row per bin; above
  :attr:`FrequencyRows.LINEAR_MAX_ROWS` bins, groups of bins merged by their maximum.
- ``log``: :attr:`FrequencyRows.LOG_ROWS` rows, geometrically spaced. A row wider than a bin
  takes the maximum of its bins (narrow peaks never fall between rows); a row narrower than a
  bin interpolates between the two nearest bins.
- ``mel``: one row per mel band of the worker's filterbank (``FeatureBatch.mel_db``).

Levels are shown in dB relative to a full-scale sine (dBFS): the window's coherent gain
(and, for mel bands, each filter's peak weight) is taken out, so a 0 dBFS sine reads 0 dB
whatever n_fft, window or mel normalisation are. The mel weights are the worker's own
(:meth:`AnalysisParams.mel_weights`, built once).
"""

from __future__ import annotations

import math

import numpy as np

from monitor.dsp.features import AnalysisParams, FeatureBatch
from monitor.dsp.mel import hz_to_mel, mel_to_hz
from monitor.dsp.windows import get_window

__all__ = ["FrequencyRows", "window_gain_db"]


def window_gain_db(window: str, n_fft: int) -> float:
    """Power (dB) of a 0 dBFS sine in its peak bin: ``20·log10(sum(w) / 2)``."""
    return float(20.0 * np.log10(np.sum(get_window(window, n_fft)) / 2.0))


class FrequencyRows:
    """The rows of one frequency scale for one set of analysis parameters.

    Parameters
    ----------
    params : AnalysisParams
        What the frames are computed with (sample rate, n_fft, mel bands, fmin/fmax in Hz).
    scale : {'linear', 'log', 'mel'}

    Attributes
    ----------
    n_rows : int
        Rows of the image.
    row_hz : ndarray
        Centre frequency of each row, Hz (increasing).
    """

    LOG_ROWS = 512
    LINEAR_MAX_ROWS = 1025
    LOG_LOWEST_HZ = 20.0  # lower edge of a log axis when fmin is 0 Hz

    def __init__(self, params: AnalysisParams, scale: str) -> None:
        if scale not in ("linear", "log", "mel"):
            raise ValueError(f"unknown frequency scale {scale!r}")
        self.params = params
        self.scale = scale
        self.fmin = float(params.fmin)
        self.fmax = float(params.fmax)
        self._df = params.samplerate / params.n_fft
        n_bins = params.n_fft // 2 + 1
        gain = window_gain_db(params.window, params.n_fft)
        if scale == "mel":
            self.n_rows = params.n_mels
            self._m0 = float(hz_to_mel(self.fmin, params.htk))
            self._dm = (float(hz_to_mel(self.fmax, params.htk)) - self._m0) / (params.n_mels + 1)
            # Each band's peak weight (area normalisation) is taken out so a sine at a band
            # centre reads its level, like on the linear and log scales.
            fb = params.mel_weights()
            peak = np.maximum(fb.max(axis=1), 1e-30)
            self._offset = (-gain - 10.0 * np.log10(peak)).astype(np.float32)
        else:
            if scale == "linear":
                self._b0 = min(int(math.ceil(self.fmin / self._df - 1e-9)), n_bins - 1)
                b1 = min(int(math.floor(self.fmax / self._df + 1e-9)), n_bins - 1)
                n = max(1, b1 - self._b0 + 1)
                self._group = int(math.ceil(n / self.LINEAR_MAX_ROWS))
                self.n_rows = int(math.ceil(n / self._group))
            else:
                self._lo = self.fmin if self.fmin > 0 else min(self.LOG_LOWEST_HZ, self.fmax / 10)
                self._ratio = self.fmax / self._lo
                self.n_rows = self.LOG_ROWS
            self._offset = np.float32(-gain)
            self._plan_bins(n_bins)
        self.row_hz = self.hz_at(np.arange(self.n_rows) + 0.5)

    @property
    def offset_db(self) -> np.ndarray:
        """What :meth:`rows` adds to the frames' dB to make dBFS: per row (mel) or one value."""
        return np.asarray(self._offset)

    # -- the continuous mapping -----------------------------------------------------------------
    def hz_at(self, y) -> np.ndarray:
        """Frequency (Hz) at row coordinate ``y`` (row ``r`` spans ``[r, r + 1)``)."""
        y = np.asarray(y, dtype=np.float64)
        if self.scale == "linear":
            return (self._b0 + y * self._group - 0.5) * self._df
        if self.scale == "log":
            return self._lo * self._ratio ** (y / self.n_rows)
        return mel_to_hz(self._m0 + (y + 0.5) * self._dm, self.params.htk)

    def y_at(self, hz) -> np.ndarray:
        """Row coordinate of frequency ``hz`` (Hz); the inverse of :meth:`hz_at`."""
        hz = np.asarray(hz, dtype=np.float64)
        if self.scale == "linear":
            return (hz / self._df + 0.5 - self._b0) / self._group
        if self.scale == "log":
            return self.n_rows * np.log(np.maximum(hz, 1e-9) / self._lo) / np.log(self._ratio)
        return (hz_to_mel(hz, self.params.htk) - self._m0) / self._dm - 0.5

    def row_of(self, hz: float) -> int:
        """The row containing frequency ``hz``."""
        return int(np.clip(np.floor(self.y_at(hz)), 0, self.n_rows - 1))

    # -- frames → rows --------------------------------------------------------------------------
    def _plan_bins(self, n_bins: int) -> None:
        """Precompute, once per settings, which bins each row takes (max) or interpolates."""
        edges = self.hz_at(np.arange(self.n_rows + 1)) / self._df
        lo = np.clip(np.ceil(edges[:-1] - 1e-9), 0, n_bins - 1).astype(np.intp)
        hi = np.clip(np.ceil(edges[1:] - 1e-9), 0, n_bins).astype(np.intp)
        self._starts = lo
        self._stop = max(int(hi[-1]), int(lo[-1]) + 1)
        self._has_bins = hi > lo  # rows holding at least one bin centre
        centre = np.clip(self.hz_at(np.arange(self.n_rows) + 0.5) / self._df, 0, n_bins - 1)
        self._i0 = np.clip(np.floor(centre), 0, max(n_bins - 2, 0)).astype(np.intp)
        self._w = (centre - self._i0).astype(np.float32)
        if n_bins == 1:
            self._w[:] = 0.0
        self._all_bins = bool(self._has_bins.all())

    def rows(self, batch: FeatureBatch) -> np.ndarray:
        """The rows of every frame of ``batch``: (frames, n_rows) float32, dBFS."""
        if self.scale == "mel":
            return batch.mel_db + self._offset
        db = batch.power_db
        if self.scale == "linear" and self._group == 1:
            out = db[:, self._b0:self._b0 + self.n_rows] + self._offset
            return np.ascontiguousarray(out, dtype=np.float32)
        out = np.maximum.reduceat(db[:, :self._stop], self._starts, axis=1)
        if not self._all_bins:
            i1 = np.minimum(self._i0 + 1, db.shape[1] - 1)
            interp = db[:, self._i0] * (1.0 - self._w) + db[:, i1] * self._w
            out = np.where(self._has_bins, out, interp)
        out += self._offset
        return out.astype(np.float32, copy=False)
