"""Exceptions raised by the AutoML engine (the engine is standalone: no other augurdb imports)."""


class AutoMLError(ValueError):
    """A user-facing problem with the data, the target or the options, with a clear message."""
