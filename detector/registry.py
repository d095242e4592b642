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
        <version>/tuned_blocks.npz  only in fine-tuned encoder versions: their own blocks
        encoders/whisper-base-N.tflite  shared speech encoders (not versions: no features.json)
        encoders/tuned-<version>.tflite  a fine-tuned version's own encoder, built by `make encoder`

Every write goes through :func:`detector.files.atomic_write_text`, so a reader sees the
old pointer or the new one, never half of either. This module only reads, lists and
writes; whether a version may serve is :mod:`detector.trust`'s decision.
"""

from __future__ import annotations

import json
import os
import re
import shutil
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
from detector.files import atomic_write_text
from detector.model_report import ModelReport
from detector.paths import model_store

POINTER_FILE = "active.json"
# Shown to users too: no server path, and the repair that really works (promote rewrites the pointer).
CORRUPT_POINTER = ("The active-model pointer (active.json) is corrupt or unreadable; promote a version to repair "
                   "it (on the Admin page, or `python -m detector promote <version>`).")
REQUIRED_FILES = ("model.tflite", "features.json", "calibration.json")   # encoder versions add encoder.json
NO_ACTIVE = "No active model in the model store. Train one (python -m train.fit) and promote it."
MAX_NAME_CHARS = 80
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,%d}" % (MAX_NAME_CHARS - 1))
MAX_POINTER_CHARS = 64 * 1024
MAX_HISTORY = 20
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
    except ValueError as exc:   # never an empty report: it would switch the feature-code check off
        raise ModelError(f"Model version {name!r} has an unreadable report ({model_report.FILE_NAME}: {exc}), so "
                         "nothing shows which feature code it was trained with; it is refused. Restore the file "
                         "or publish the version again.") from exc
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
    """List, load and delete model versions in a store folder, and read and write its pointer.

    Whether a version may serve (its probe and integrity record) is decided one layer up,
    in :mod:`detector.trust`, which promotes, rolls back and picks what serves.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else model_store()

    # Reading ------------------------------------------------------------------
    def versions(self) -> list[str]:
        """Names of complete versions (all required files present, a valid name), oldest first."""
        return [p.name for p in self._complete_folders() if valid_version_name(p.name)]

    def stray_folders(self) -> list[str]:
        """Complete version folders whose names are not valid version names: never loaded, listed to say so."""
        return [p.name for p in self._complete_folders() if not valid_version_name(p.name)]

    def _complete_folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted((p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
                       and all((p / f).is_file() for f in REQUIRED_FILES)), key=lambda p: p.name)

    def pointer(self) -> dict[str, Any]:
        """The pointer as ``{"version": str | None, "history": [str, ...]}``, validated.

        Raises
        ------
        ModelError
            When ``active.json`` is unreadable or has the wrong shape (empty, binary, deeply
            nested, names that are not version names); the sentence names the repair.
        """
        pointer = self.root / POINTER_FILE
        if not pointer.exists():
            return {"version": None, "history": []}
        try:
            text = pointer.read_text(encoding="utf-8")
            # A pointer is a few hundred bytes; anything far larger is not one (and deep nesting overflows json).
            data = json.loads(text) if len(text) <= MAX_POINTER_CHARS else None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ModelError(CORRUPT_POINTER) from exc
        if not _valid_pointer(data):
            raise ModelError(CORRUPT_POINTER)
        return {"version": data.get("version"), "history": list(data.get("history", []))}

    def active_name(self) -> str | None:
        return self.pointer()["version"]

    def load(self, name: str) -> ModelVersion:
        """Load and validate one version; raise :class:`ModelError` with a clear reason."""
        if not isinstance(name, str) or not valid_version_name(name):
            raise ModelError(f"{name!r} is not a model version name: names use letters, digits, '.', '_' and '-' "
                             f"only (at most {MAX_NAME_CHARS} characters).")
        return load_folder(self.root / name)

    def active(self) -> ModelVersion:
        """The active version, loaded but not checked (:func:`detector.trust.serving_version` checks)."""
        name = self.active_name()
        if name is None:
            raise ModelError(NO_ACTIVE)
        return self.load(name)

    # Changing -----------------------------------------------------------------
    def delete(self, name: str) -> None:
        """Remove a version that is not active."""
        if name == ENCODERS_FOLDER:
            raise ModelError(f"{ENCODERS_FOLDER}/ is not a model version: it holds the shared speech encoder that "
                             "encoder versions read, and deleting it would break them.")
        target = self.root / name
        if not valid_version_name(name) or not target.is_dir():
            raise ModelError(f"Model version {name!r} does not exist.")
        pointer = self.pointer()
        if name == pointer["version"]:
            raise ModelError("The active model cannot be deleted; promote another version first.")
        # Rename first so a reader never sees a half-deleted version folder.
        trash = self.root / f".deleted-{name}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
        if name in pointer["history"]:
            self.write_pointer(pointer["version"], [v for v in pointer["history"] if v != name])

    def write_pointer(self, name: str | None, history: list[str]) -> None:
        """Replace ``active.json`` atomically (the caller has checked ``name``)."""
        payload = {"version": name, "history": history[:MAX_HISTORY]}
        atomic_write_text(self.root / POINTER_FILE, json.dumps(payload, indent=2) + "\n")


def valid_version_name(name: str) -> bool:
    """Whether ``name`` may name a version: letters, digits, '.', '_' and '-', not starting with '.'.

    Names show in the sidebar, the report and the CSV; a safe alphabet means no Markdown,
    no path separators and no right-to-left overrides can ride in one.
    """
    return bool(_NAME.fullmatch(name))


def _valid_pointer(data: Any) -> bool:
    """Whether ``data`` has the pointer's shape: a version name (or null) and a list of names."""
    if not isinstance(data, dict):
        return False
    version, history = data.get("version"), data.get("history", [])
    names = [version] if version is not None else []
    if not isinstance(history, list):
        return False
    names += history
    return all(isinstance(n, str) and valid_version_name(n) for n in names)
