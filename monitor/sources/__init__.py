"""Audio sources (microphone, file, generator), all writing into one ring buffer. No Qt here."""

from __future__ import annotations

from monitor.settings import Settings
from monitor.sources.base import PacedSource, Source
from monitor.sources.file import FileSource
from monitor.sources.generator import GeneratorSource

__all__ = ["Source", "PacedSource", "FileSource", "GeneratorSource", "open_source"]


def open_source(settings: Settings) -> Source:
    """Make the source the settings ask for: file, generator, or microphone (the default).

    Raises :class:`~monitor.settings.ParameterError` for a bad file, spec or device.
    """
    if settings.input:
        return FileSource(settings.input, loop=settings.loop, blocksize=settings.blocksize)
    if settings.generator:
        return GeneratorSource(settings.generator, settings.samplerate or 48000.0,
                               blocksize=settings.blocksize)
    from monitor.sources.microphone import MicrophoneSource

    return MicrophoneSource(settings.device, settings.samplerate, settings.channels,
                            settings.blocksize, settings.latency, hop=settings.hop)
