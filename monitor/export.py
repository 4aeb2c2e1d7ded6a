"""Exports: the spectrum (and its peak hold) and the measurement log as CSV, the spectrogram as
.npz with its frequency and time axes.

Every output is created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``): an existing file or a
symbolic link at the path is never overwritten or followed; the caller gets a one-line
:class:`~monitor.errors.ParameterError` instead. Default names carry a timestamp
(:func:`default_name`). No Qt here: the window and the headless runner both call it.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Iterable

import numpy as np

from monitor.outputs import write_atomically

__all__ = [
    "LOG_COLUMNS",
    "default_name",
    "measurement_row",
    "write_measurement_log_csv",
    "write_spectrogram_npz",
    "write_spectrum_csv",
]

# The measurement log's columns, in order (keys of MeasurementConsumer.latest()).
LOG_COLUMNS = ("time_s", "fundamental_hz", "level_dbfs", "level_db_spl", "thd_percent", "thd_db",
               "thdn_percent", "thdn_db", "sinad_db", "snr_db", "enob_bits", "noise_dbfs",
               "noise_dbfs_a", "dc_offset", "hum_hz", "hum_dbfs", "laeq_db", "lceq_db", "lzeq_db",
               "lcpeak_db", "clip_events", "dropout_events", "discontinuity_events", "window", "frames_averaged", "n_fft")


def default_name(kind: str, extension: str, when: float | None = None) -> str:
    """``spectromon-KIND-YYYYmmdd-HHMMSS.EXT`` for the local time ``when`` (default now)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    return f"spectromon-{kind}-{stamp}.{extension.lstrip('.')}"


def write_spectrum_csv(path, frequencies_hz: np.ndarray, level_db: np.ndarray,
                       peak_hold_db: np.ndarray | None = None, unit: str = "dBFS") -> None:
    """One row per frequency: ``frequency_hz, level_<unit>[, peak_hold_<unit>]``."""
    f = np.asarray(frequencies_hz, dtype=np.float64)
    columns = [f, np.asarray(level_db, dtype=np.float64)]
    header = ["frequency_hz", f"level_{unit}"]
    if peak_hold_db is not None:
        columns.append(np.asarray(peak_hold_db, dtype=np.float64))
        header.append(f"peak_hold_{unit}")
    if any(c.shape != f.shape for c in columns):
        raise ValueError("spectrum columns differ in length")
    def write(out) -> None:
        w = csv.writer(out)
        w.writerow(header)
        for row in zip(*columns):
            w.writerow([f"{v:.6g}" if np.isfinite(v) else "" for v in row])

    write_atomically(os.fspath(path), write, text=True)


def measurement_row(m: dict) -> dict:
    """The measurement log row (:data:`LOG_COLUMNS`) of one ``MeasurementConsumer.latest()``."""
    levels = m.get("levels") or {}
    row = {k: m.get(k) for k in LOG_COLUMNS}
    for k in ("laeq_db", "lceq_db", "lzeq_db", "lcpeak_db"):
        row[k] = levels.get(k)
    row["clip_events"] = (m.get("clipping") or {}).get("events")
    row["dropout_events"] = (m.get("dropouts") or {}).get("events")
    row["discontinuity_events"] = (m.get("discontinuities") or {}).get("events")
    return row


def write_measurement_log_csv(path, measurements: Iterable[dict]) -> int:
    """One row per measurement (dicts from ``MeasurementConsumer.latest()``); returns rows written.
    Missing figures are empty cells."""
    rows = [{k: ("" if v is None else v) for k, v in measurement_row(m).items()}
            for m in measurements]

    def write(out) -> None:
        w = csv.DictWriter(out, fieldnames=LOG_COLUMNS)
        w.writeheader()
        w.writerows(rows)

    write_atomically(os.fspath(path), write, text=True)
    return len(rows)


def write_spectrogram_npz(path, power_db: np.ndarray, times_s: np.ndarray, frequencies_hz: np.ndarray,
                          **meta) -> None:
    """``power_db`` (time × frequency, dB), ``times_s`` (s, one per row), ``frequencies_hz`` (Hz,
    one per column) and scalar metadata, as an .npz."""
    power_db = np.asarray(power_db, dtype=np.float32)
    times_s, frequencies_hz = np.asarray(times_s, np.float64), np.asarray(frequencies_hz, np.float64)
    if power_db.shape != (times_s.size, frequencies_hz.size):
        raise ValueError(f"spectrogram {power_db.shape} does not match its axes "
                         f"({times_s.size} times × {frequencies_hz.size} frequencies)")
    write_atomically(os.fspath(path), lambda out: np.savez(
        out, power_db=power_db, times_s=times_s, frequencies_hz=frequencies_hz, **meta))
