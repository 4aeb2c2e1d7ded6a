"""The messages a node publishes over MQTT: encode and decode, versioned and validated.

Every payload carries a version. A decoder given anything else than a well-formed payload of a
version it knows raises :class:`Malformed` (the subscriber counts it and goes on); it never
raises anything else, whatever the bytes.

Columns (``PREFIX/NODE/columns``) are binary, little-endian::

    offset size  field
    0      4     magic b"SPMC"
    4      1     version (1)
    5      1     flags: bit 0 = body is zlib-compressed; bit 1 = each column is delta-coded
                 along the mel bands (band 0 as is, then band k minus band k-1, modulo 256)
    6      2     n_mels (uint16)
    8      2     n_cols (uint16)
    10     2     reserved (0)
    12     4     run (uint32): random per node start; a new run = the node restarted
    16     8     first_frame (uint64): stream-wide index of column 0
    24     8     samplerate (float64, Hz)
    32     4     hop (uint32, samples): column k starts at (first_frame + k) * hop / samplerate s
    36     4     db_floor (float32, dB)
    40     4     db_ceil (float32, dB)
    44     ...   body: n_cols x n_mels uint8, row-major (one column after the other, lowest mel
                 band first); q = round(255 * (dB - floor) / (ceil - floor)) clipped to 0..255,
                 so dB = floor + q * (ceil - floor) / 255

Audio (``PREFIX/NODE/audio``, only with ``--publish-audio``) is binary too: magic b"SPMA",
version, 3 reserved bytes, run (uint32), first_sample (uint64), samplerate (float64), then
int16 mono samples (full scale 32767).

Every other message is a UTF-8 JSON object with ``"v": 1``; see :func:`decode_json`.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

__all__ = ["VERSION", "Malformed", "Columns", "AudioBlock", "quantise", "dequantise",
           "encode_columns", "decode_columns", "encode_audio", "decode_audio", "encode_json",
           "decode_json", "KINDS", "MAX_PAYLOAD"]

VERSION = 1
#: The JSON kinds (topic suffix -> required fields and their types).
KINDS: dict[str, dict[str, tuple]] = {
    "status": {"node": (str,), "online": (bool,)},
    "levels": {"t": (int, float), "rms_dbfs": (int, float, type(None)),
               "peak_dbfs": (int, float, type(None)), "peak_hz": (int, float, type(None))},
    "labels": {"t": (int, float), "top": (list,)},
    "event": {"state": (str,), "label": (str,), "start": (int, float), "peak": (int, float)},
}
MAX_PAYLOAD = 4 * 1024 * 1024  # bytes; anything larger is refused unread (a decompression bomb)
_COLUMNS = struct.Struct("<4sBBHHHIQdIff")
_AUDIO = struct.Struct("<4sB3xIQd")
_COL_MAGIC, _AUDIO_MAGIC = b"SPMC", b"SPMA"
_ZLIB, _BAND_DELTA = 1, 2


class Malformed(ValueError):
    """A payload that is not a valid message of a known version (one line saying why)."""


@dataclass(frozen=True)
class Columns:
    """A batch of quantised mel columns of one node.

    Attributes
    ----------
    run : int
        Identifies one start of the node.
    first_frame : int
        Stream-wide index of column 0.
    samplerate : float
        Hz.
    hop : int
        Samples between columns.
    db_floor, db_ceil : float
        dB of code 0 and of code 255.
    codes : ndarray
        ``(n_cols, n_mels)`` uint8.
    """

    run: int
    first_frame: int
    samplerate: float
    hop: int
    db_floor: float
    db_ceil: float
    codes: np.ndarray

    @property
    def n_cols(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_mels(self) -> int:
        return int(self.codes.shape[1])

    @property
    def step_db(self) -> float:
        """One quantisation step, dB."""
        return (self.db_ceil - self.db_floor) / 255.0

    @property
    def mel_db(self) -> np.ndarray:
        """The columns in dB (float32), values of the codes' centres."""
        return dequantise(self.codes, self.db_floor, self.db_ceil)

    @property
    def times(self) -> np.ndarray:
        """Start time of each column, seconds of the node's stream."""
        return (self.first_frame + np.arange(self.n_cols)) * (self.hop / self.samplerate)

    @property
    def end_frame(self) -> int:
        return self.first_frame + self.n_cols


@dataclass(frozen=True)
class AudioBlock:
    run: int
    first_sample: int
    samplerate: float
    samples: np.ndarray  # (n,) float32 in [-1, 1]


def quantise(mel_db: np.ndarray, db_floor: float, db_ceil: float) -> np.ndarray:
    """dB -> uint8 codes over ``db_floor .. db_ceil`` (clipped; NaN -> 0)."""
    scaled = (np.asarray(mel_db, np.float64) - db_floor) * (255.0 / (db_ceil - db_floor))
    return np.clip(np.nan_to_num(np.rint(scaled), nan=0.0), 0, 255).astype(np.uint8)


def dequantise(codes: np.ndarray, db_floor: float, db_ceil: float) -> np.ndarray:
    """uint8 codes -> dB (float32)."""
    return (db_floor + codes.astype(np.float64) * ((db_ceil - db_floor) / 255.0)).astype(np.float32)


def encode_columns(mel_db: np.ndarray, first_frame: int, samplerate: float, hop: int,
                   db_floor: float, db_ceil: float, run: int, compress: bool = True) -> bytes:
    """One columns payload from ``mel_db`` ``(n_cols, n_mels)`` dB."""
    codes = quantise(mel_db, db_floor, db_ceil)
    n_cols, n_mels = codes.shape
    body, flags = codes.tobytes(), 0
    if compress:
        # Measured at the defaults (48 kHz, hop 512, 128 mels, 0.2 s batches) on pink noise
        # at -30 dBFS: 9.1 kB/s compressed as is, 8.0 kB/s delta-coded along the bands (the
        # smaller is sent); white noise ~7.7 kB/s either way; a steady tone < 1 kB/s.
        delta = np.diff(codes, axis=1, prepend=np.zeros((n_cols, 1), np.uint8))
        for candidate, f in ((zlib.compress(body, 6), _ZLIB),
                             (zlib.compress(delta.tobytes(), 6), _ZLIB | _BAND_DELTA)):
            if len(candidate) < len(body):
                body, flags = candidate, f
    header = _COLUMNS.pack(_COL_MAGIC, VERSION, flags, n_mels, n_cols, 0, run & 0xFFFFFFFF,
                           first_frame, float(samplerate), hop, db_floor, db_ceil)
    return header + body


def decode_columns(payload: bytes) -> Columns:
    """Parse a columns payload; raises :class:`Malformed`."""
    if not isinstance(payload, (bytes, bytearray)) or len(payload) < _COLUMNS.size:
        raise Malformed("columns: shorter than the header")
    (magic, version, flags, n_mels, n_cols, _, run, first, rate, hop, floor,
     ceil) = _COLUMNS.unpack_from(payload)
    if magic != _COL_MAGIC:
        raise Malformed("columns: not a columns payload")
    if version != VERSION:
        raise Malformed(f"columns: unknown version {version}")
    if not (n_mels and n_cols and hop and math.isfinite(rate) and 0 < rate <= 1e7
            and math.isfinite(floor) and math.isfinite(ceil) and ceil > floor):
        raise Malformed("columns: header values out of range")
    body = bytes(payload[_COLUMNS.size:])
    size = n_mels * n_cols
    if flags & _ZLIB:
        try:
            d = zlib.decompressobj()
            body = d.decompress(body, size + 1)
            if not d.eof:
                raise Malformed("columns: truncated compressed body")
            if d.unused_data:
                raise Malformed("columns: bytes after the compressed body")
        except zlib.error as exc:
            raise Malformed(f"columns: bad compressed body ({exc})") from None
    if len(body) != size:
        raise Malformed(f"columns: body of {len(body)} bytes, expected {size}")
    codes = np.frombuffer(body, np.uint8).reshape(n_cols, n_mels)
    if flags & _BAND_DELTA:
        codes = np.cumsum(codes, axis=1, dtype=np.uint8)  # modulo 256, as it was coded
    return Columns(run, first, rate, hop, float(floor), float(ceil), codes)


def encode_audio(samples: np.ndarray, first_sample: int, samplerate: float, run: int) -> bytes:
    """One audio payload from float samples in [-1, 1] (int16 on the wire)."""
    pcm = np.clip(np.rint(np.asarray(samples, np.float64) * 32767), -32768, 32767).astype("<i2")
    return _AUDIO.pack(_AUDIO_MAGIC, VERSION, run & 0xFFFFFFFF, first_sample,
                       float(samplerate)) + pcm.tobytes()


def decode_audio(payload: bytes) -> AudioBlock:
    """Parse an audio payload; raises :class:`Malformed`."""
    if not isinstance(payload, (bytes, bytearray)) or len(payload) < _AUDIO.size:
        raise Malformed("audio: shorter than the header")
    magic, version, run, first, rate = _AUDIO.unpack_from(payload)
    if magic != _AUDIO_MAGIC or version != VERSION:
        raise Malformed("audio: not an audio payload of version 1")
    body = bytes(payload[_AUDIO.size:])
    if len(body) % 2 or not (math.isfinite(rate) and 0 < rate <= 1e7):
        raise Malformed("audio: bad body or rate")
    samples = np.frombuffer(body, "<i2").astype(np.float32) / 32767.0
    return AudioBlock(run, first, rate, samples)


def encode_json(kind: str, fields: dict) -> bytes:
    """A JSON message of ``kind`` (one of :data:`KINDS`), with the version added."""
    return json.dumps({"v": VERSION, **fields}, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def decode_json(kind: str, payload: bytes) -> dict:
    """Parse a JSON message of ``kind``; raises :class:`Malformed`.

    Checked: UTF-8 JSON object, ``v`` == 1, the fields of :data:`KINDS` present with their
    types, every number finite.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise Malformed(f"unknown message kind {kind!r}")
    try:
        obj = json.loads(bytes(payload).decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError) as exc:
        raise Malformed(f"{kind}: not JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise Malformed(f"{kind}: not a JSON object")
    if obj.get("v") != VERSION or isinstance(obj.get("v"), bool):
        raise Malformed(f"{kind}: unknown version {obj.get('v')!r}")
    for name, types in spec.items():
        value = obj.get(name, _MISSING)
        if value is _MISSING or not isinstance(value, types) or (
                isinstance(value, bool) and bool not in types):
            raise Malformed(f"{kind}: field {name!r} missing or of the wrong type")
        if isinstance(value, float) and not math.isfinite(value):
            raise Malformed(f"{kind}: field {name!r} is not finite")
    if kind == "labels" and not all(_is_label(x) for x in obj["top"]):
        raise Malformed("labels: top must be [[label, score], ...]")
    if kind == "event" and obj["state"] not in ("open", "close"):
        raise Malformed("event: state must be open or close")
    return obj


_MISSING = object()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_label(x: Any) -> bool:
    return (isinstance(x, list) and len(x) == 2 and isinstance(x[0], str)
            and isinstance(x[1], (int, float)) and not isinstance(x[1], bool))


def status_settings(status: dict) -> Optional[dict]:
    """The ``settings`` object of a status message, when it has a usable one."""
    s = status.get("settings")
    if not isinstance(s, dict):
        return None
    for name in ("samplerate", "n_fft", "hop", "n_mels", "fmin", "fmax", "db_floor", "db_ceil"):
        if not isinstance(s.get(name), (int, float)) or isinstance(s.get(name), bool):
            return None
    return s
