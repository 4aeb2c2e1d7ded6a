"""Microphone / line input through PortAudio (python-sounddevice).

Callback rules, in one place: the audio callback runs on PortAudio's thread with hard
deadlines. It only copies the block into the preallocated ring buffers (the analysis ring and
any taps, e.g. the recorder's: :meth:`Source._deliver`) and counts status flags:
no buffer allocation, no locks, no logging, no Qt, no numpy work beyond the copy. Everything
else happens in the analysis worker.

The stream is a ``RawInputStream``: its callback gets PortAudio's buffer as a cffi buffer, copied
into the rings by memoryview slice assignment (:meth:`RingBuffer.write_bytes`). The numpy
``InputStream`` wraps every block in a new ndarray first, and the two numpy copies cost more
again: the callback thread 0.216 → 0.168 ms a callback at 1024 frames through the pulse plugin,
of which PortAudio, ALSA, cffi and sounddevice's wrapper with an empty callback are 0.150
(``python -m bench.callback_cost``).
"""

from __future__ import annotations

import math
import threading
from typing import Any, Optional, Union

from monitor.ringbuffer import RingBuffer
from monitor.errors import ParameterError
from monitor.sources.base import Source, check_stream_format
from monitor.threads import set_os_thread_name

__all__ = ["MicrophoneSource", "auto_blocksize", "portaudio_problem", "list_devices", "resolve_device",
           "rescan_devices", "abandoned_streams", "COMMON_RATES"]

COMMON_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
INSTALL_HINT = "install PortAudio: sudo apt-get install libportaudio2 (Debian/Ubuntu)"
STOP_TIMEOUT = 2.0  # seconds a stream may take to stop before it is abandoned

# Streams whose stop() never returned: when the audio server dies, libpulse and the ALSA pulse
# plugin can deadlock inside the client (seen here about once in twenty server kills). They
# are left to their thread; the process must then exit without PortAudio's atexit teardown,
# which would block on them too. Module state because it describes the process, not a source.
_abandoned: list = []


def abandoned_streams() -> int:
    """How many input streams failed to stop and were abandoned (0 in normal operation)."""
    return len(_abandoned)


def _sd():
    import sounddevice  # imported late: without libportaudio2 the import raises OSError

    return sounddevice


def portaudio_problem() -> Optional[str]:
    """None when PortAudio is usable, else one line saying why (with the install hint)."""
    try:
        _sd()
    except OSError as exc:
        return f"PortAudio is not available ({exc}); {INSTALL_HINT}"
    return None


def rescan_devices() -> None:
    """Re-read the device list. PortAudio fixes it at initialisation; this stops every stream."""
    if _abandoned:
        # Pa_Terminate would block on the stuck stream forever.
        raise OSError("the audio system stopped answering; restart the program")
    sd = _sd()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[dict[str, Any]]:
    """Input devices: index, name, host API, max input channels, default rate (Hz)."""
    sd = _sd()
    apis = sd.query_hostapis()
    out = []
    for dev in sd.query_devices():
        if dev["max_input_channels"] > 0:
            out.append({"index": dev["index"], "name": dev["name"],
                        "hostapi": apis[dev["hostapi"]]["name"],
                        "channels": dev["max_input_channels"],
                        "samplerate": dev["default_samplerate"]})
    return out


def resolve_device(device: Union[int, str, None]) -> dict[str, Any]:
    """The input device for an index, a name substring, or None (the default input).

    Raises :class:`ParameterError` naming the available inputs when there is no match.
    """
    sd = _sd()
    try:
        info = sd.query_devices(device, "input")
    except (ValueError, sd.PortAudioError) as exc:
        names = ", ".join(f"{d['index']}: {d['name']}" for d in list_devices()) or "none"
        what = "no default input device" if device is None else f"unknown input device {device!r}"
        raise ParameterError(f"{what} ({exc}); inputs: {names}") from None
    return dict(info)


AUTO_BLOCK_SECONDS = 0.01  # the automatic block: the power of two of frames nearest 10 ms
AUTO_BLOCK_MAX_SECONDS = 0.025  # ... raised toward a longer analysis hop, up to this


def auto_blocksize(samplerate: float, hop: int | None = None) -> int:
    """Frames per callback when the user leaves it automatic: the power of two nearest to
    :data:`AUTO_BLOCK_SECONDS` (512 at 44.1 and 48 kHz, 128 at 16 kHz, 1024 at 96 kHz), or,
    when the analysis ``hop`` (samples) is longer, the largest power of two within the hop
    and :data:`AUTO_BLOCK_MAX_SECONDS` (at 48 kHz and hop 1024: 1024).

    A column needs a hop of new samples, so a block of up to a hop adds at most one block of
    latency and wakes the callback, the worker and the GIL half as often at hop 1024: the
    callback thread's CPU is per callback (0.18 ms at 512 and at 1024 frames through the
    pulse plugin: 1.7 % of a core at 512, 0.9 % at 1024; ``python -m bench.callback_cost``).

    The block is chosen when the stream opens; a live hop change (``Session.change``) keeps
    it, on purpose: reopening the stream would leave a gap in the audio (and the recording)
    for a saving of at most ~0.6 % of a core (hop 512 → 1024 with 512-frame blocks), and a
    block longer than a shorter new hop costs at most one block of latency. The next open (a
    device change, a restart, a lost input coming back) follows the hop again.
    """
    base = int(2 ** round(math.log2(max(1.0, samplerate * AUTO_BLOCK_SECONDS))))
    if hop is None:
        return base
    longest = min(int(hop), int(samplerate * AUTO_BLOCK_MAX_SECONDS))
    return max(base, 1 << (max(1, longest).bit_length() - 1))


class MicrophoneSource(Source):
    """Live input from a PortAudio device.

    Parameters
    ----------
    device : int, str or None
        Device index, name substring, or None for the default input.
    samplerate : float, optional
        Hz; default: the device's default rate.
    channels : int, optional
        Channels to open; default: up to 2 of the device's.
    blocksize : int
        Frames per callback; 0: :func:`auto_blocksize` (about 10 ms, or up to the hop).
    latency : 'low', 'high' or float
        PortAudio's suggested latency.
    hop : int, optional
        The analysis hop (samples) the automatic block may follow (:func:`auto_blocksize`).
    """

    kind = "microphone"

    def __init__(self, device: Union[int, str, None] = None, samplerate: Optional[float] = None,
                 channels: Optional[int] = None, blocksize: int = 0,
                 latency: Union[str, float] = "low", hop: Optional[int] = None) -> None:
        super().__init__()
        sd = _sd()
        info = resolve_device(device)
        self.device_index = info["index"]
        self.device_name = info["name"]
        self.samplerate = float(samplerate or info["default_samplerate"])
        self.channels = int(channels or min(2, info["max_input_channels"]))
        if self.channels > info["max_input_channels"]:
            raise ParameterError(f"device {self.device_name!r} has {info['max_input_channels']} "
                                 f"input channel(s), {self.channels} asked")
        check_stream_format(self.samplerate, self.channels, blocksize,
                            f"device {self.device_name!r}")  # before the ring is sized
        try:
            sd.check_input_settings(self.device_index, channels=self.channels,
                                    samplerate=self.samplerate, dtype="float32")
        except (ValueError, sd.PortAudioError) as exc:
            ok = [r for r in COMMON_RATES if self._rate_ok(r)]
            raise ParameterError(f"device {self.device_name!r} refuses {self.samplerate:g} Hz × "
                                 f"{self.channels} ch ({exc}); rates it accepts: "
                                 f"{', '.join(str(r) for r in ok) or 'none found'}") from None
        # "Automatic" is ~10 ms blocks, not PortAudio's choice: through ALSA's pulse device
        # PortAudio picked ~100 frames (300 Python callbacks a second), and the callback and
        # libpulse threads cost 5.5 % of a core; 512-frame blocks cost 1.8 % (bench/findings.md)
        # for at most 8.6 ms more latency at 48 kHz.
        self.blocksize = blocksize or auto_blocksize(self.samplerate, hop)
        self.latency_setting = latency
        self.description = f"input {self.device_name}"
        self._stream = None
        self._stopping = False
        self._named = False  # PortAudio's callback thread gets its OS name on the first call

    def _rate_ok(self, rate: float) -> bool:
        sd = _sd()
        try:
            sd.check_input_settings(self.device_index, channels=self.channels, samplerate=rate,
                                    dtype="float32")
        except (ValueError, sd.PortAudioError):
            return False
        return True

    def start(self, ring: RingBuffer) -> None:
        """Open and start the stream. Raises :class:`ParameterError` if the device refuses."""
        sd = _sd()
        self._ring = ring
        self._stopping = False
        self._named = False
        self.error = None
        try:
            self._stream = sd.RawInputStream(
                device=self.device_index, samplerate=self.samplerate, channels=self.channels,
                dtype="float32", blocksize=self.blocksize, latency=self.latency_setting,
                callback=self._callback, finished_callback=self._finished)
            self._stream.start()
        except (ValueError, sd.PortAudioError) as exc:
            self._stream = None
            raise ParameterError(f"cannot open input {self.device_name!r}: {exc}") from None

    def _callback(self, indata, frames, time, status) -> None:  # PortAudio thread
        """``indata``: PortAudio's buffer, bytes-like (``frames`` × channels float32)."""
        if not self._named:  # once per stream: one prctl call, so that the bench can split CPU
            self._named = set_os_thread_name("audio-callback")
        if status:
            if status.input_overflow:
                self.overflows += 1
            if status.input_underflow:
                self.underflows += 1
        self._deliver_bytes(indata)

    def _finished(self) -> None:  # PortAudio thread, once the stream ends for any reason
        if not self._stopping:
            self.error = "input lost"

    def stop(self) -> None:
        """Stop and close the stream; returns within :data:`STOP_TIMEOUT` seconds even when the
        audio server died in a way that leaves the client library stuck."""
        self._stopping = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        closer = threading.Thread(target=_close_quietly, args=(stream,), name="close-input",
                                  daemon=True)
        closer.start()
        closer.join(STOP_TIMEOUT)
        if closer.is_alive():
            _abandoned.append(stream)
            self.error = ("input lost: the audio system stopped answering (restart the program "
                          "to use this device again)")

    @property
    def active(self) -> bool:
        return self._stream is not None and self._stream.active and self.error is None

    @property
    def latency(self) -> float:
        return float(self._stream.latency) if self._stream is not None else 0.0


def _close_quietly(stream) -> None:
    try:
        stream.stop(ignore_errors=True)
        stream.close(ignore_errors=True)
    except Exception:  # noqa: BLE001 - a dead server must not stop us from closing
        pass
