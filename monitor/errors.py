"""The one exception the user can cause (like ``librosa.util.exceptions``)."""

__all__ = ["ParameterError"]


class ParameterError(ValueError):
    """A bad parameter: the message is one line, fit to show the user as it is."""
