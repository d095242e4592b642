"""Versioned model store with one atomic pointer to the active version.

Layout::

    model_store/
        active.json            {"version": "...", "history": ["older", ...]}
        <version>/model.tflite  the served model (LiteRT)
        <version>/features.json the FeatureConfig used in training
        <version>/calibration.json
        <version>/metrics.json, card.md, model.keras (optional)
        <version>/integrity.json  file hashes and reference scores (detector.integrity)
        <version>/encoder.json    only in encoder versions: the shared encoder they run on
                                  (detector.encoder.record); model.tflite is then the head
        encoders/whisper-base-N.tflite  shared speech encoders (not versions: no features.json)

Every write goes to a temporary file in the same folder followed by ``os.replace``,
so a reader sees the old pointer or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector import model_report
from detector.calibration import Calibration
from detector.config import FeatureConfig
from detector.encoder.record import EncoderRecord, version_record
from detector.encoder.runtime import ENCODERS_FOLDER
from detector.errors import ModelError
from detector.features import feature_code
from detector.integrity import verify
from detector.model_probe import probe_version
from detector.model_report import ModelReport
from detector.paths import model_store

POINTER_FILE = "active.json"
# Shown to users too: no server path, and the repair that really works (promote rewrites the pointer).
CORRUPT_POINTER = ("The active-model pointer (active.json) is corrupt or unreadable; promote a version to repair "
                   "it (on the Admin page, or `python -m detector promote <version>`).")
REQUIRED_FILES = ("model.tflite", "features.json", "calibration.json")   # encoder versions add encoder.json
DEFAULT_STORE = model_store()   # the import-time value, for command-line defaults; instances ask again


@dataclass
class ModelVersion:
    """One model version on disk, validated."""

    name: str
    path: Path
    features: FeatureConfig
    calibration: Calibration
    report: ModelReport = field(default_factory=ModelReport)   # metrics.json, typed
    encoder: EncoderRecord | None = None   # encoder.json: set for encoder versions, whose model.tflite is the head

    @property
    def tflite_path(self) -> Path:
        return self.path / "model.tflite"

    @property
    def card(self) -> str:
        card = self.path / "card.md"
        return card.read_text(encoding="utf-8") if card.exists() else "No model card was saved with this version."

    @property
    def created(self) -> str:
        return self.report.created or ""

    @property
    def test_eer(self) -> float | None:
        return self.report.test.eer if self.report.test else None


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers never observe a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def load_folder(path: str | Path) -> ModelVersion:
    """Load and validate the version in ``path`` (any folder, e.g. one still being published).

    Raises
    ------
    ModelError
        With a clear reason when a file is missing, unreadable or inconsistent.
    """
    path = Path(path)
    name = path.name
    if not path.is_dir():
        raise ModelError(f"Model version {name!r} does not exist in the model store.")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(f"Model version {name!r} is incomplete: missing {', '.join(missing)}.")
    try:
        features = FeatureConfig.load(path / "features.json")
        calibration = Calibration.from_dict(json.loads((path / "calibration.json").read_text()))
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelError(f"Model version {name!r} has an unreadable configuration: {exc}") from exc
    try:
        report = model_report.load(path)
    except ValueError:
        report = ModelReport()   # an unreadable report costs the figures, not the model
    if (path / "model.tflite").stat().st_size == 0:
        raise ModelError(f"Model version {name!r} has an empty model.tflite.")
    encoder = version_record(path, features.feature)   # checks the shared encoder file too
    # Versions saved before the record existed carry none and are trusted as they are.
    saved_code, current_code = report.feature_code, feature_code(features)
    if saved_code is not None and saved_code != current_code:
        raise ModelError(f"Model version {name!r} was trained with feature code {saved_code}, but this server "
                         f"computes {current_code}: its verdicts would be wrong. Retrain it with "
                         "`python -m train.fit`, or serve it with the release it was trained with.")
    return ModelVersion(name=name, path=path, features=features, calibration=calibration, report=report,
                        encoder=encoder)


class ModelRegistry:
    """List, load, promote, roll back and delete model versions in a store folder."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else model_store()

    # Reading ------------------------------------------------------------------
    def versions(self) -> list[str]:
        """Names of complete versions (all required files present), oldest first."""
        if not self.root.is_dir():
            return []
        names = [p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
                 and all((p / f).is_file() for f in REQUIRED_FILES)]
        return sorted(names)

    def _pointer(self) -> dict[str, Any]:
        """The pointer as ``{"version": str | None, "history": [str, ...]}``, validated.

        Raises
        ------
        ModelError
            When ``active.json`` is unreadable or has the wrong shape; the sentence
            names the repair (promoting a version rewrites the pointer).
        """
        pointer = self.root / POINTER_FILE
        if not pointer.exists():
            return {"version": None, "history": []}
        try:
            data = json.loads(pointer.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(CORRUPT_POINTER) from exc
        if not _valid_pointer(data):
            raise ModelError(CORRUPT_POINTER)
        return {"version": data.get("version"), "history": list(data.get("history", []))}

    def active_name(self) -> str | None:
        return self._pointer()["version"]

    def load(self, name: str) -> ModelVersion:
        """Load and validate one version; raise :class:`ModelError` with a clear reason."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ModelError(f"Invalid model version name {name!r}.")
        return load_folder(self.root / name)

    def active(self) -> ModelVersion:
        name = self.active_name()
        if name is None:
            raise ModelError("No active model in the model store. Train one (python -m train.fit) and promote it.")
        return self.load(name)

    # Changing -----------------------------------------------------------------
    def check(self, name: str) -> ModelVersion:
        """Load ``name``, score a probe input and verify its record: what promotion, start-up and listings trust.

        Raises
        ------
        ModelError
            When the version is incomplete, misconfigured, its model cannot serve, or its files or
            reference scores differ from those recorded when it was published
            (:func:`detector.integrity.verify`).
        """
        version = self.load(name)
        probe_version(version)   # first: a model that cannot even load gets the plainer sentence
        verify(version)
        return version

    def promote(self, name: str) -> None:
        """Make ``name`` active; the previous active version goes on the rollback history.

        The version must pass :meth:`check`. A corrupt pointer is rewritten (that is
        the repair its error message names); its unreadable history is lost.
        """
        self.check(name)  # refuse to point at something that cannot be served
        try:
            pointer = self._pointer()
        except ModelError:
            pointer = {"version": None, "history": []}
        history = [v for v in pointer["history"] if v != name]
        if pointer["version"] and pointer["version"] != name:
            history.insert(0, pointer["version"])
        self._write_pointer(name, history)

    def serving_version(self) -> tuple[ModelVersion, str | None]:
        """The version to serve and, when it is not the active one, a sentence saying what happened.

        A broken active version falls back to the newest version in its history that
        passes :meth:`check`, so one bad promotion does not leave users with nothing. A
        corrupt pointer has no readable history: the newest version in the store that
        passes :meth:`check` serves instead, and the sentence says so.

        Raises
        ------
        ModelError
            When nothing that could be served passes :meth:`check`.
        """
        try:
            pointer = self._pointer()
        except ModelError as exc:
            for candidate in reversed(self.versions()):
                try:
                    version = self.check(candidate)
                except ModelError:
                    continue
                return version, (f"{exc} Serving {candidate} instead, the newest version in the store that "
                                 "passes its checks.")
            raise
        active = pointer["version"]
        if active is None:
            raise ModelError("No active model in the model store. Train one (python -m train.fit) and promote it.")
        try:
            return self.check(active), None
        except ModelError as exc:
            problem = exc
        for candidate in pointer["history"]:
            try:
                version = self.check(candidate)
            except ModelError:
                continue
            return version, (f"{problem} Serving {candidate} instead, the newest good version in the history; "
                             "`python -m detector rollback` (or Roll back on the Admin page) makes it active.")
        raise problem

    def rollback(self) -> str:
        """Re-activate the most recent previous version that still serves; return its name."""
        pointer = self._pointer()
        for index, candidate in enumerate(pointer["history"]):
            try:
                self.check(candidate)
            except ModelError:
                continue
            self._write_pointer(candidate, pointer["history"][index + 1:])
            return candidate
        raise ModelError("There is no earlier model version to roll back to.")

    def delete(self, name: str) -> None:
        """Remove a version that is not active."""
        if name == self.active_name():
            raise ModelError("The active model cannot be deleted; promote another version first.")
        target = self.root / name
        if not name or name.startswith(".") or "/" in name or not target.is_dir():
            raise ModelError(f"Model version {name!r} does not exist.")
        if name == ENCODERS_FOLDER:
            raise ModelError(f"{ENCODERS_FOLDER}/ is not a model version: it holds the shared speech encoder that "
                             "encoder versions read, and deleting it would break them.")
        # Rename first so a reader never sees a half-deleted version folder.
        trash = self.root / f".deleted-{name}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
        pointer = self._pointer()
        if name in pointer["history"]:
            self._write_pointer(pointer["version"], [v for v in pointer["history"] if v != name])

    def _write_pointer(self, name: str | None, history: list[str]) -> None:
        payload = {"version": name, "history": history[:20]}
        atomic_write_text(self.root / POINTER_FILE, json.dumps(payload, indent=2) + "\n")


def _valid_pointer(data: Any) -> bool:
    """Whether ``data`` has the pointer's shape: a version name (or null) and a list of names."""
    if not isinstance(data, dict):
        return False
    version, history = data.get("version"), data.get("history", [])
    names = [version] if version is not None else []
    if not isinstance(history, list):
        return False
    names += history
    return all(isinstance(n, str) and n and "/" not in n and "\\" not in n and not n.startswith(".") for n in names)
