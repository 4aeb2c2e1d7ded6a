"""The headless runner's exports (``--export-spectrum``, ``--export-log``,
``--export-spectrogram``), written at the end of the run through :mod:`monitor.export`.

The spectrum is the last frame's power spectrum and, as its peak hold, each bin's maximum over
the run; the spectrogram is the last ``history`` seconds (what the window would show).
"""

from __future__ import annotations

import argparse
import collections

import numpy as np

from monitor.dsp.features import FeatureBatch
from monitor.export import (
    write_measurement_log_csv,
    write_spectrogram_npz,
    write_spectrum_csv,
)

__all__ = ["EXPORT_OPTIONS", "HeadlessExports"]

EXPORT_OPTIONS = ("export_spectrum", "export_log", "export_spectrogram")


class HeadlessExports:
    """Keeps what the exports asked for on ``ns`` need, batch by batch.

    Parameters
    ----------
    ns : argparse.Namespace
        The run options.
    history : float
        Seconds of spectrogram kept for ``--export-spectrogram``.
    """

    def __init__(self, ns: argparse.Namespace, history: float) -> None:
        self.paths = {k: getattr(ns, k, None) for k in EXPORT_OPTIONS}
        self.history = float(history)
        self.latest: np.ndarray | None = None
        self.held: np.ndarray | None = None
        self.params = None
        self._batches: collections.deque = collections.deque()
        self._frames = 0
        self.inner = None  # another store fed the same batches (--save-features)

    @property
    def wanted(self) -> bool:
        return any(self.paths.values())

    def tee(self, store):
        """Itself, also feeding ``store`` (or None); what the run loops take as their store."""
        self.inner = store
        return self if self.wanted else store

    def add(self, batch: FeatureBatch) -> None:
        if self.inner is not None:
            self.inner.add(batch)
        if not len(batch):
            return
        if self.params is not None and batch.params != self.params:
            self.latest = self.held = None  # another frequency grid: start over
            self._batches.clear()
            self._frames = 0
        self.params = batch.params
        self.latest = batch.power_db[-1].copy()
        top = batch.power_db.max(axis=0)
        self.held = top if self.held is None else np.maximum(self.held, top)
        if self.paths["export_spectrogram"]:
            self._batches.append(batch)
            self._frames += len(batch)
            keep = int(np.ceil(self.history / batch.params.seconds_per_frame))
            while self._batches and self._frames - len(self._batches[0]) >= keep:
                self._frames -= len(self._batches.popleft())

    def write(self, measurement=None) -> list[str]:
        """Write every export asked for; returns the paths written. Raises ParameterError."""
        written = []
        path = self.paths["export_spectrum"]
        if path and self.latest is not None:
            write_spectrum_csv(path, self.params.fft_freqs, self.latest, self.held, unit="dB")
            written.append(path)
        path = self.paths["export_log"]
        if path:
            write_measurement_log_csv(path, measurement.log() if measurement is not None else [])
            written.append(path)
        path = self.paths["export_spectrogram"]
        if path and self._batches:
            power = np.concatenate([b.power_db for b in self._batches])
            times = np.concatenate([b.frame_times for b in self._batches])
            keep = int(np.ceil(self.history / self.params.seconds_per_frame))
            write_spectrogram_npz(path, power[-keep:], times[-keep:], self.params.fft_freqs,
                                  samplerate=self.params.samplerate, n_fft=self.params.n_fft,
                                  hop=self.params.hop, window=str(self.params.window),
                                  calibration=self.params.calibration or "")  # mic file in the dB
            written.append(path)
        return written
