"""Every channel the input delivers: the last second of audio per channel, for per-channel
meters and the delay/polarity between two channels.

The analysis worker calls :meth:`ChannelTap.process` with each multichannel block (one copy
into a preallocated ring: 1 s × 32 channels × 4 bytes = 6 MB at 48 kHz); the window and the
headless runner read levels and delays from it (:meth:`ChannelTap.levels`,
:func:`channel_report`), each read copying the span it needs under a lock held only for the copy.
"""

from __future__ import annotations

import threading

import numpy as np

from monitor.dsp.channel_delay import channel_delay, level_difference_db
from monitor.dsp.weighting import weighting_power_gain

__all__ = ["DELAY_SECONDS", "METER_SECONDS", "ChannelTap", "channel_report"]

METER_SECONDS = 0.1  # span of a meter reading (the window reads at 30 Hz: no gap)
DELAY_SECONDS = 0.5  # span of a delay estimate (24000 samples at 48 kHz)
_FLOOR_DBFS = -200.0


class ChannelTap:
    """The last ``seconds`` of every channel.

    Parameters
    ----------
    samplerate : float
        Hz.
    seconds : float
        Audio kept.
    """

    def __init__(self, samplerate: float, seconds: float = 1.0) -> None:
        self.samplerate = float(samplerate)
        self.size = max(1, round(seconds * self.samplerate))
        self._ring: np.ndarray | None = None
        self._written = 0
        self._lock = threading.Lock()

    @property
    def channels(self) -> int:
        ring = self._ring
        return 0 if ring is None else ring.shape[1]

    def process(self, block: np.ndarray) -> None:
        """Keep ``block`` (frames × channels float32, finite)."""
        n, channels = block.shape
        with self._lock:
            if self._ring is None or self._ring.shape[1] != channels:
                self._ring = np.zeros((self.size, channels), np.float32)
                self._written = 0
            if n >= self.size:
                block, n0 = block[n - self.size:], n
                n = self.size
            else:
                n0 = n
            start = self._written % self.size
            first = min(n, self.size - start)
            self._ring[start:start + first] = block[:first]
            if first < n:  # wrapped (an empty slice assignment costs ~5k instructions a pass)
                self._ring[:n - first] = block[first:]
            self._written += n0

    def recent(self, seconds: float) -> np.ndarray:
        """A copy of the last ``seconds`` (or all there is): frames × channels."""
        with self._lock:
            if self._ring is None:
                return np.zeros((0, 0), np.float32)
            n = min(round(seconds * self.samplerate), self.size, self._written)
            index = np.arange(self._written - n, self._written) % self.size
            return self._ring[index]

    def levels(self, seconds: float = METER_SECONDS, weighting: str = "Z") -> tuple[np.ndarray, np.ndarray]:
        """Per channel (channel 1 first): peak and RMS over the last ``seconds``, dBFS
        (AES17: a full-scale sine reads 0 dB RMS, +3.01 dB peak).

        With ``weighting`` 'A' or 'C' the RMS is weighted (IEC 61672-1 curve applied per FFT bin
        of the Hann-windowed span, Parseval; the peak stays the sample peak). Done here, at
        reading time, and not by an IIR per channel in the worker: 32 channels of the weighting
        filter would cost ~20 % of a core, an FFT per reading ~3 ms at 15 readings a second.
        """
        x = self.recent(seconds).astype(np.float64)
        if not x.size:
            return np.zeros(0), np.zeros(0)
        with np.errstate(divide="ignore"):
            peak = 20 * np.log10(np.abs(x).max(axis=0)) + 3.0103
            if weighting == "Z" or x.shape[0] < 64:
                ms = np.mean(x * x, axis=0)
            else:
                ms = _weighted_mean_square(x, self.samplerate, weighting)
            rms = 10 * np.log10(ms / 0.5)
        return np.maximum(peak, _FLOOR_DBFS), np.maximum(rms, _FLOOR_DBFS)


def _weighted_mean_square(x: np.ndarray, samplerate: float, weighting: str) -> np.ndarray:
    """Mean square of each column of ``x`` after frequency weighting, through Parseval on the
    Hann-windowed span: sum_t (w x)^2 / sum_t w^2 with each bin's power times the curve's gain."""
    n = x.shape[0]
    w = np.hanning(n + 2)[1:-1]  # periodic-free Hann without its zero end points
    spectrum = np.fft.rfft((x - x.mean(axis=0)) * w[:, None], axis=0)
    gain = weighting_power_gain(weighting, np.fft.rfftfreq(n, 1.0 / samplerate))
    count = np.full(gain.shape, 2.0)
    count[0] = 1.0
    if n % 2 == 0:
        count[-1] = 1.0
    power = (count * gain)[:, None] * np.abs(spectrum) ** 2
    return power.sum(axis=0) / n / np.sum(w * w)


def channel_report(tap: ChannelTap, reference: int = 1, other: int = 2,
                   clipped: np.ndarray | None = None) -> dict:
    """Per-channel levels, and level difference, delay and polarity of channel ``other``
    against ``reference`` (numbered from 1), JSON-ready."""
    peak, rms = tap.levels(DELAY_SECONDS)
    out = {"count": int(peak.size), "rms_dbfs": [round(float(v), 2) for v in rms],
           "peak_dbfs": [round(float(v), 2) for v in peak]}
    if clipped is not None and len(clipped) == peak.size:
        out["clipped_samples"] = [int(c) for c in clipped]
    if peak.size >= max(reference, other) and reference != other:
        x = tap.recent(DELAY_SECONDS)
        a, b = x[:, reference - 1], x[:, other - 1]
        delay = channel_delay(a, b, tap.samplerate)
        diff = level_difference_db(a, b)
        out["compare"] = {"channels": [reference, other],
                          "level_difference_db": None if diff is None else round(diff, 2),
                          **(delay.as_dict() if delay is not None else {"lag_samples": None})}
    return out
