"""The one error type raised for bad input anywhere in the detector core."""

from __future__ import annotations


class AudioError(ValueError):
    """Input audio that cannot be judged.

    Parameters
    ----------
    message : str
        One human sentence that a user can act on (shown as-is in the UI and CLI).
    code : str
        A short stable machine code (``"empty"``, ``"not_audio"``, ...) for tests and JSON.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ModelError(RuntimeError):
    """A model version that is missing, incomplete or corrupt."""
