class ParameterError(ValueError):
    """A bad parameter: the message is one line, fit to show the user as it is."""
