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
        self._served_for: str | None = None   # the pointer's version the detector was chosen for
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def get(self) -> Detector:
        """The detector for the active version, or the best fallback when that cannot serve.

        The fallback is the newest good version in the pointer's history (see
        :meth:`ModelRegistry.serving_version`), else the last detector that loaded;
        :attr:`last_error` then says why, in a sentence without server paths.
        Versions are checked again only when the pointer names another version.

        Raises
        ------
        ModelError
            Only when nothing can be served.
        """
        with self._lock:
            try:
                wanted = self.registry.active_name()
            except ModelError as exc:   # a corrupt pointer: keep serving, check again once it is readable
                wanted = self._served_for = None
                self.last_error = str(exc)
            if wanted is not None and wanted != self._served_for:
                self._served_for = wanted
                try:
                    version, self.last_error = self.registry.serving_version()
                    if self._detector is None or self._detector.name != version.name:
                        self._detector = Detector(version)
                except ModelError as exc:
                    self.last_error = str(exc)
            elif wanted is None:
                self._served_for = None
                self.last_error = self.last_error or "No active model in the model store."
            if self._detector is None:
                raise ModelError(self.last_error or "No model could be loaded.")
            return self._detector
