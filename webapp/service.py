"""Keep serving the last good model while the active pointer changes underneath.

The app holds one ``ModelService``; each request calls :meth:`get`, which reloads
only when ``active.json`` names a different version. A version that fails to load
leaves the previous detector in place and records why, so a bad promotion or a
corrupt file never takes the app down.
"""

from __future__ import annotations

import threading
from pathlib import Path

from detector import trust
from detector.errors import ModelError
from detector.inference import Detector
from detector.registry import POINTER_FILE, ModelRegistry


class ModelService:
    """Thread-safe holder of the currently served :class:`Detector`."""

    def __init__(self, store: str | Path | None = None) -> None:
        self.registry = ModelRegistry(store)
        self._detector: Detector | None = None
        self._pointer_text: str | None = None   # active.json as it was when the detector was chosen
        self._chosen = False
        self._lock = threading.Lock()
        # When what is served is not simply the active version: one sentence saying what happened and
        # what is served instead (no server paths). None when the active version serves.
        self.last_error: str | None = None

    def _read_pointer(self) -> str | None:
        try:
            return (self.registry.root / POINTER_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def get(self) -> Detector:
        """The detector for the active version, or the best fallback when that cannot serve.

        The fallback is the one :func:`detector.trust.serving_version` picks (the newest good
        version in the history, or in the store when the pointer is corrupt), else the last
        detector that loaded; :attr:`last_error` then says what happened and what serves.
        Versions are checked again only when ``active.json`` changes.

        Raises
        ------
        ModelError
            Only when nothing can be served.
        """
        with self._lock:
            text = self._read_pointer()
            if self._chosen and text == self._pointer_text:
                return self._served()
            self._pointer_text, self._chosen = text, True
            if self._detector is not None:
                try:
                    self.registry.active_name()
                except ModelError as exc:   # keep what serves rather than switch to a version nobody promoted
                    self.last_error = f"{exc} Still serving {self._detector.name}, the version served before."
                    return self._detector
            try:
                version, self.last_error = trust.serving_version(self.registry)
            except ModelError as exc:
                if self._detector is None:
                    self.last_error = str(exc)
                else:
                    self.last_error = f"{exc} Still serving {self._detector.name}, the version loaded before."
                return self._served()
            if self._detector is None or self._detector.name != version.name \
                    or self._detector.version.path != version.path:
                self._detector = Detector(version)
            return self._detector

    def _served(self) -> Detector:
        if self._detector is None:
            raise ModelError(self.last_error or "No model could be loaded.")
        return self._detector
