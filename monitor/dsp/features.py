"""The worker's feature path: streaming STFT → power dB, mel dB, levels, peak frequency."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from monitor.dsp.db import power_to_db
from monitor.dsp.levels import frame_squares, peak_frequency_db
from monitor.dsp.mel import MelProjection, mel_filterbank, mel_frequencies
from monitor.dsp.stft import StreamingSTFT

__all__ = ["AnalysisParams", "FeatureBatch", "FeatureExtractor"]


@dataclass(frozen=True)
class AnalysisParams:
    """What the frames of a batch were computed with; a change means a new history."""

    samplerate: float
    n_fft: int
    hop: int
    window: str
    n_mels: int
    fmin: float
    fmax: float
    htk: bool
    mel_norm: object
    calibration: str | None = None  # name of the mic calibration file in the powers, or None

    @classmethod
    def from_settings(cls, settings, samplerate: float) -> "AnalysisParams":
        """From any object with the fields ``n_fft, hop, window, n_mels, fmin, fmax, htk,
        mel_norm`` (``fmax`` None: Nyquist), such as the app's ``Settings``; ``samplerate`` Hz."""
        fmax = samplerate / 2 if settings.fmax is None else float(settings.fmax)
        return cls(float(samplerate), settings.n_fft, settings.hop, settings.window, settings.n_mels,
                   float(settings.fmin), fmax, settings.htk, settings.mel_norm)

    @property
    def fft_freqs(self) -> np.ndarray:
        """Centre frequency of each FFT bin, Hz."""
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.samplerate)

    @property
    def mel_freqs(self) -> np.ndarray:
        """Centre frequency of each mel band, Hz."""
        return mel_frequencies(self.n_mels + 2, self.fmin, self.fmax, self.htk)[1:-1]

    def mel_weights(self) -> np.ndarray:
        """The mel filterbank of these parameters, ``(n_mels, n_fft // 2 + 1)`` float64,
        read-only; one matrix while any caller holds it (the worker and the display rows
        take what they need from it and let it go)."""
        return _mel_weights(self)

    @property
    def seconds_per_frame(self) -> float:
        """Time between columns, seconds."""
        return self.hop / self.samplerate

    @property
    def hz_per_bin(self) -> float:
        """Frequency resolution, Hz."""
        return self.samplerate / self.n_fft


# Shared while someone holds them, not kept: the worker's projection and the display rows take
# what they need from the dense float64 matrix at once (2.1 MiB at n_fft 4096, 128 mels; an
# lru_cache of 8 kept up to 8 of them, 8.4 MiB each at n_fft 16384).
_MEL_WEIGHTS: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()


def _mel_weights(params: AnalysisParams) -> np.ndarray:
    weights = _MEL_WEIGHTS.get(params)
    if weights is None:
        weights = mel_filterbank(params.samplerate, params.n_fft, params.n_mels, params.fmin,
                                 params.fmax, params.htk, params.mel_norm)
        weights.setflags(write=False)
        _MEL_WEIGHTS[params] = weights
    return weights


@dataclass
class FeatureBatch:
    """Features of ``n`` consecutive frames.

    ``first_frame`` is the stream-wide index of row 0; frame ``k`` starts at sample
    ``k * hop`` (time ``k * hop / samplerate`` seconds).
    """

    params: AnalysisParams
    first_frame: int
    power_db: np.ndarray  # (n, n_fft//2 + 1) float32, dB
    mel_db: np.ndarray  # (n, n_mels) float32, dB
    peak_dbfs: np.ndarray  # (n,) float32
    rms_dbfs: np.ndarray  # (n,) float32
    peak_hz: np.ndarray  # (n,) float32

    def __len__(self) -> int:
        return int(self.power_db.shape[0])

    @property
    def frame_times(self) -> np.ndarray:
        """Start time of each frame, seconds of stream."""
        k = np.arange(self.first_frame, self.first_frame + len(self))
        return k * (self.params.hop / self.params.samplerate)

    def frames(self, start: int, stop: int) -> "FeatureBatch":
        """Frames ``start:stop`` of this batch (views, no copy)."""
        start, stop, _ = slice(start, stop).indices(len(self))
        return FeatureBatch(self.params, self.first_frame + start, self.power_db[start:stop],
                            self.mel_db[start:stop], self.peak_dbfs[start:stop],
                            self.rms_dbfs[start:stop], self.peak_hz[start:stop])


class FeatureExtractor:
    """Turns mono blocks of any size into :class:`FeatureBatch` es.

    The frames completed by one block are computed together, in chunks of
    ``stft.scratch_rows`` frames (kept buffers that stay in the cache): one 2-D ``rfft`` and
    one sparse mel projection per chunk, one dB pass over power and mel of the whole batch.
    """

    def __init__(self, params: AnalysisParams, power_gain: np.ndarray | None = None) -> None:
        self.params = params
        # Power gain per rfft bin (float32, n_fft//2 + 1: a mic calibration, see
        # monitor.worker), multiplied into every power spectrum before mel and dB; None: off.
        self.power_gain = power_gain
        self.stft = StreamingSTFT(params.n_fft, params.hop, params.window, np.float64)
        # float32 mel weights: the products are sums of positive terms, so float32 keeps
        # ~1e-7 relative precision (1e-6 dB) at half the memory traffic of float64.
        self._mel = MelProjection(params.mel_weights())
        self._none: FeatureBatch | None = None  # the kept empty batch (see _empty)

    def process(self, mono: np.ndarray) -> FeatureBatch:
        """Consume ``mono`` (1-D float32 samples) and return the frames it completes (maybe 0)."""
        stft = self.stft
        first = stft.frame_index
        frames = stft.frames(mono)
        n = frames.shape[0]
        if n == 0:
            # Most live blocks are shorter than a hop: skip the whole (costly) empty pipeline.
            empty = self._none
            return empty if empty is not None and empty.first_frame == first else self._empty(first)
        n_bins, n_mels = stft.n_bins, self.params.n_mels
        # Power and mel rows share one allocation, so that one floor/log/scale pass turns
        # both into dB (3 ufunc calls instead of 6 per batch); each part stays C-contiguous.
        # The frames' peak² and mean square (2 × n) share it too: the same pass gives their
        # dBFS (the 1e-10 power floor is the -100 dBFS amplitude floor), instead of a Python
        # log10 per value (offline, 112k calls: 1.3 s of a 10-minute file's 26 s, cProfile).
        values = np.empty(n * (n_bins + n_mels + 2), np.float32)
        power = values[:n * n_bins].reshape(n, n_bins)
        mel = values[n * n_bins:n * (n_bins + n_mels)].reshape(n, n_mels)
        squares = values[n * (n_bins + n_mels):].reshape(2, n)
        chunk = stft.scratch_rows
        if n <= chunk:  # live: one frame or a few, no loop and no slices
            self._rows(frames, power, mel, squares)
        else:
            # Offline batches (2 s) go through in chunks whose temporaries stay in the cache
            # and in kept buffers; results are per row, so identical however the frames are
            # chunked.
            for a in range(0, n, chunk):
                b = min(n, a + chunk)
                self._rows(frames[a:b], power[a:b], mel[a:b], squares[:, a:b])
        # In place: the powers are not needed once in dB.
        power_to_db(values, out=values)
        # From the dB rows: the parabola's vertex is the same on any log scale (no 2nd log).
        peak_hz = peak_frequency_db(power, self.params.samplerate, self.params.n_fft)
        return FeatureBatch(self.params, first, power, mel, squares[0], squares[1], peak_hz)

    def _rows(self, frames: np.ndarray, power: np.ndarray, mel: np.ndarray,
              squares: np.ndarray) -> None:
        """Power, mel energy, peak² and mean square of ``frames`` (at most ``scratch_rows``)
        into the batch's rows, before the dB pass."""
        self.stft.power(frames, out=power)
        if self.power_gain is not None:  # the mic calibration: before mel, peak and dB
            power *= self.power_gain
        self._mel(power, out=mel)
        frame_squares(frames, out=squares)

    def _empty(self, first: int) -> FeatureBatch:
        # Half the live blocks (256 < hop 512) complete no frame: the read-only empty arrays
        # are made once, and the batch again only when its first frame moved.
        cached = self._none
        if cached is None:
            none = np.zeros(0, np.float32)
            power = np.zeros((0, self.stft.n_bins), np.float32)
            mel = np.zeros((0, self.params.n_mels), np.float32)
            for a in (none, power, mel):
                a.flags.writeable = False
            cached = self._none = FeatureBatch(self.params, first, power, mel, none, none, none)
        elif cached.first_frame != first:
            cached = self._none = cached.frames(0, 0)
            cached.first_frame = first
        return cached
