"""Keep serving the last good model while the active pointer changes underneath.

The app holds one ``ModelService``; each request calls :meth:`get`, which reloads
only when ``active.json`` names a different version. A version that fails to load
leaves the previous detector in place and records why, so a bad promotion or a
corrupt file never takes the app down.
"""

from __future__ import annotations

import threading
from pathlib import Path

from detector.errors import ModelError
from detector.inference import Detector
from detector.registry import ModelRegistry


class ModelService:
    """Thread-safe holder of the currently served :class:`Detector`."""

    def __init__(self, store: str | Path | None = None) -> None:
        self.registry = ModelRegistry(store)
        self._detector: Detector | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def get(self) -> Detector:
        """The detector for the active version, or the last good one if that fails to load.

        Raises
        ------
        ModelError
            Only when no model has ever loaded successfully.
        """
        with self._lock:
            try:
                wanted = self.registry.active_name()
            except ModelError as exc:
                wanted = None
                self.last_error = str(exc)
            if wanted is not None and (self._detector is None or self._detector.name != wanted):
                try:
                    self._detector = Detector(self.registry.load(wanted))
                    self.last_error = None
                except ModelError as exc:
                    self.last_error = str(exc)
            elif wanted is not None:
                self.last_error = None
            elif self.last_error is None:
                self.last_error = f"No active model in {self.registry.root}."
            if self._detector is None:
                raise ModelError(self.last_error or "No model could be loaded.")
            return self._detector
