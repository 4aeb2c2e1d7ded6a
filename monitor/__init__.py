"""Real-time spectrogram monitor: live sound as an image, and what it hears."""

__version__ = "0.1.0"
