"""Microphone calibration files and the dB SPL offset from a sound calibrator.

A calibration file (REW / miniDSP UMIK / Dayton style) is text with one ``frequency dB [phase]``
line per point: frequency in Hz, the microphone's response deviation in dB (what the mic reads
too high), phase in degrees (kept, not used). Lines starting with ``*``, ``;``, ``#`` or ``//``
are comments; a quoted first line such as ``"Sens Factor =-1.378dB, AGain =18dB, SERNO: 7023270"``
is a UMIK header whose Sens Factor is kept (it is the unit's sensitivity relative to the model's
nominal one; this module does not turn it into an SPL offset: use the calibrator). Values may be
separated by spaces, tabs, commas or semicolons.

The correction applied to a measured spectrum is minus the response, interpolated linearly in dB
over log10(frequency) and held at the end values outside the file's range (as REW does).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np

from monitor.errors import ParameterError

__all__ = [
    "MAX_BYTES",
    "MicCalibration",
    "format_calibration",
    "load_calibration",
    "parse_calibration",
    "spl_offset_db",
]

MAX_BYTES = 1 << 20  # 1 MiB: a UMIK file is ~10 kB; anything far larger is not a calibration file
_COMMENT = ("*", ";", "#", "//")
_SENS = re.compile(r"sens\s*factor\s*=\s*([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*db", re.IGNORECASE)
_SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class MicCalibration:
    """A microphone's frequency response from a calibration file.

    Attributes
    ----------
    frequencies_hz : ndarray
        Strictly increasing, > 0, Hz.
    response_db : ndarray
        The microphone's deviation at each frequency, dB (the correction is its negative).
    phase_deg : ndarray or None
        Phase column, degrees, when every line has one.
    sens_factor_db : float or None
        UMIK "Sens Factor", dB, when the header has one.
    source : str
        Where it came from (file name), for the UI ("calibration: umik-7023270.txt").
    """

    frequencies_hz: np.ndarray
    response_db: np.ndarray
    phase_deg: np.ndarray | None = None
    sens_factor_db: float | None = None
    source: str = "<text>"

    def response_at(self, frequencies) -> np.ndarray:
        """Microphone response (dB) at ``frequencies`` (Hz), interpolated on a log axis.

        Held at the first/last value outside the file's range; 0 Hz gets the first value.
        """
        f = np.asarray(frequencies, dtype=np.float64)
        log_f = np.log10(np.maximum(f, self.frequencies_hz[0]))
        return np.interp(log_f, np.log10(self.frequencies_hz), self.response_db)

    def correction_db(self, frequencies) -> np.ndarray:
        """dB to add to a level measured at ``frequencies`` (Hz): minus the response."""
        return -self.response_at(frequencies)

    def power_gain(self, frequencies) -> np.ndarray:
        """Linear power gain per frequency (Hz) that corrects a power spectrum."""
        return 10.0 ** (self.correction_db(frequencies) / 10.0)


def _fail(source: str, line: int, message: str) -> ParameterError:
    return ParameterError(f"calibration file {source}, line {line}: {message}")


def parse_calibration(text: str, source: str = "<text>") -> MicCalibration:
    """Parse calibration-file ``text``; raise ParameterError (one line) for anything wrong."""
    rows, sens = [], None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(_COMMENT) or line.startswith('"'):
            match = _SENS.search(line)
            if match and sens is None:
                sens = float(match.group(1))
            continue
        fields = [f for f in _SPLIT.split(line) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            values = []
        if len(values) not in (2, 3):
            raise _fail(source, number, f"expected 'frequency dB [phase]', got {line[:60]!r}")
        if not all(math.isfinite(v) for v in values):
            raise _fail(source, number, f"non-finite number in {line[:60]!r}")
        if values[0] <= 0:
            raise _fail(source, number, f"frequency must be above 0 Hz, got {values[0]:g}")
        if rows and values[0] <= rows[-1][1][0]:
            what = "duplicate" if values[0] == rows[-1][1][0] else "unsorted"
            raise _fail(source, number, f"{what} frequency {values[0]:g} Hz after {rows[-1][1][0]:g} Hz "
                                        "(frequencies must increase)")
        rows.append((number, values))
    if not rows:
        raise ParameterError(f"calibration file {source}: no 'frequency dB' lines")
    freqs = np.array([v[0] for _, v in rows])
    response = np.array([v[1] for _, v in rows])
    phase = np.array([v[2] for _, v in rows]) if all(len(v) == 3 for _, v in rows) else None
    return MicCalibration(freqs, response, phase, sens, source)


def load_calibration(path) -> MicCalibration:
    """Read and parse the calibration file at ``path`` (refused when larger than 1 MiB)."""
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ParameterError(f"calibration file {path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise ParameterError(f"calibration file {name}: larger than 1 MiB, not a calibration file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")  # some vendors' files come from Windows tools
        except UnicodeDecodeError:
            raise ParameterError(f"calibration file {name}: not a text file") from None
    if "\x00" in text:
        raise ParameterError(f"calibration file {name}: not a text file")
    return parse_calibration(text, name)


def format_calibration(cal: MicCalibration) -> str:
    """Calibration-file text for ``cal`` (parses back to the same values)."""
    lines = []
    if cal.sens_factor_db is not None:
        lines.append(f'"Sens Factor ={cal.sens_factor_db!r}dB"')
    lines.append("* frequency_hz response_db" + (" phase_deg" if cal.phase_deg is not None else ""))
    for i, (f, db) in enumerate(zip(cal.frequencies_hz, cal.response_db)):
        row = f"{float(f)!r}\t{float(db)!r}"
        if cal.phase_deg is not None:
            row += f"\t{float(cal.phase_deg[i])!r}"
        lines.append(row)
    return "\n".join(lines) + "\n"


def spl_offset_db(measured_dbfs: float, calibrator_db: float = 94.0, frequency_hz: float | None = None,
                  calibrator_hz: float = 1000.0) -> float:
    """The offset (dB) that turns dBFS into dB SPL, from a sound calibrator's reading.

    While a calibrator plays ``calibrator_db`` dB SPL (94 dB = 1 Pa, or 114 dB) at
    ``calibrator_hz``, the tone reads ``measured_dbfs`` (AES17: full-scale sine = 0 dBFS). Then
    ``dB SPL = dBFS + offset`` for every level on that scale (tone levels, Leq, band levels).

    Parameters
    ----------
    measured_dbfs : float
        The calibrator tone's level, dBFS.
    calibrator_db : float
        dB SPL the calibrator produces.
    frequency_hz : float or None
        Frequency of the tone measured, Hz; when given it must be within 2 % of ``calibrator_hz``.
    calibrator_hz : float
        The calibrator's frequency, Hz.
    """
    if measured_dbfs is None or not math.isfinite(measured_dbfs) or measured_dbfs < -120.0:
        raise ParameterError("calibrate: no calibrator tone found (play the calibrator on the microphone)")
    if measured_dbfs > 3.02:
        raise ParameterError(f"calibrate: {measured_dbfs:.1f} dBFS is above full scale; lower the input gain")
    if not math.isfinite(calibrator_db) or not 60.0 <= calibrator_db <= 150.0:
        raise ParameterError(f"calibrate: calibrator level must be 60-150 dB SPL, got {calibrator_db:g}")
    if frequency_hz is not None and abs(frequency_hz - calibrator_hz) > 0.02 * calibrator_hz:
        raise ParameterError(f"calibrate: the strongest tone is at {frequency_hz:.1f} Hz, "
                             f"not the calibrator's {calibrator_hz:g} Hz")
    return float(calibrator_db - measured_dbfs)
