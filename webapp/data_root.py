"""Dataset folders the admin page may use, confined to one configured data root.

The root is ``DETECTOR_DATA_ROOT`` (default ``data/`` in the repository). Every
path the page receives is resolved (symlinks included) and refused unless it is
the root or inside it, so a typed ``../../etc`` or a symlink pointing elsewhere
cannot make the server read arbitrary folders. No TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from detector import paths
from detector.paths import DATA_ROOT_ENV
from train.schema import MANIFEST_FILE

ENV_VAR = DATA_ROOT_ENV
CORPUS_SIZES = ("small", "default", "full")   # as in train.corpus (plan.SIZES); not imported to keep the app light
MANIFEST = MANIFEST_FILE
# Folder names the corpus adapters read as labels (train.corpus.adapters._REAL/_FAKE).
GENUINE_DIRS = {"real", "genuine", "bona-fide", "bonafide", "bona_fide", "human"}
SYNTHETIC_DIRS = {"fake", "spoof", "spoofed", "synthetic", "deepfake"}


class DataPathError(ValueError):
    """A dataset path outside the data root, or not a usable folder."""


def data_root() -> Path:
    """The configured data root, resolved (it need not exist yet)."""
    return paths.data_root()


def resolve_inside(path: str | Path, root: str | Path | None = None, must_exist: bool = True) -> Path:
    """Resolve ``path`` (relative paths are taken relative to the root) and refuse escapes.

    Parameters
    ----------
    path : str or Path
        What the user typed or picked.
    root : path, optional
        Defaults to :func:`data_root`.
    must_exist : bool
        Also require an existing directory.

    Raises
    ------
    DataPathError
        The resolved path is outside the resolved root, or missing.
    """
    base = Path(root).expanduser().resolve() if root is not None else data_root()
    text = str(path).strip()
    if not text or "\x00" in text:
        raise DataPathError("Enter a folder inside the data root.")
    candidate = Path(text).expanduser()
    # resolve() follows every symlink, so the containment check sees the real target.
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if resolved != base and base not in resolved.parents:
        raise DataPathError(f"{text!r} is outside the data root {base}; only folders inside it can be used.")
    if must_exist and not resolved.is_dir():
        raise DataPathError(f"{resolved} is not an existing folder.")
    return resolved


def builtin_corpus_dir(size: str, root: str | Path | None = None) -> Path:
    """Where the built-in corpus of ``size`` lives (``corpus`` for default, ``corpus-<size>`` otherwise).

    Mirrors the defaults of ``python -m train.corpus build`` so a corpus built on
    the command line is found by the page and vice versa.
    """
    if size not in CORPUS_SIZES:
        raise ValueError(f"size must be one of {CORPUS_SIZES}")
    base = Path(root).resolve() if root is not None else data_root()
    return base / ("corpus" if size == "default" else f"corpus-{size}")


def has_manifest(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def _shallow(folder: Path, depth: int = 2) -> list[Path]:
    """Entries up to ``depth`` levels down (bounded, so a huge dataset is not walked on every page run)."""
    found, frontier = [], [folder]
    for _ in range(depth):
        next_level = []
        for current in frontier:
            try:
                children = sorted(current.iterdir())[:500]
            except OSError:
                continue
            found.extend(children)
            next_level.extend(c for c in children if c.is_dir())
        frontier = next_level
    return found


def _mentions_keys(path: Path) -> bool:
    try:
        with open(path, errors="replace") as handle:
            head = [handle.readline() for _ in range(5)]
    except OSError:
        return False
    return any(re.search(r"\b(bonafide|spoof)\b", line) for line in head)


def detect_layout(folder: Path) -> str | None:
    """A guess at a dataset's layout for display; the corpus adapters make the real decision.

    Returns ``manifest``, ``In-the-Wild (meta.csv)``, ``ASVspoof protocol``,
    ``real/fake folders`` or ``None``; the same order of checks as
    :func:`train.corpus.adapters.manifest_from_dataset`.
    """
    if has_manifest(folder):
        return "manifest"
    if (folder / "meta.csv").is_file():
        return "In-the-Wild (meta.csv)"
    entries = _shallow(folder)
    if any(e.suffix.lower() == ".txt" and e.is_file() and _mentions_keys(e) for e in entries):
        return "ASVspoof protocol"
    names = {e.name.lower() for e in entries if e.is_dir()}
    if names & GENUINE_DIRS and names & SYNTHETIC_DIRS:
        return "real/fake folders"
    return None


@dataclass(frozen=True)
class DatasetFolder:
    """A candidate dataset folder under the root."""

    path: Path
    relative: str
    layout: str | None


def list_datasets(root: str | Path | None = None, depth: int = 2) -> list[DatasetFolder]:
    """Folders up to ``depth`` levels under the root that look like datasets, sorted by name.

    Symlinked folders that point outside the root are skipped for the same reason
    :func:`resolve_inside` refuses them.
    """
    base = Path(root).resolve() if root is not None else data_root()
    if not base.is_dir():
        return []
    found: list[DatasetFolder] = []
    frontier = [base]
    for _ in range(depth):
        next_level = []
        for folder in frontier:
            try:
                children = sorted(c for c in folder.iterdir() if c.is_dir() and not c.name.startswith("."))
            except OSError:
                continue
            for child in children:
                try:
                    real = resolve_inside(child, base)
                except DataPathError:
                    continue
                layout = detect_layout(real)
                if layout:
                    found.append(DatasetFolder(real, str(child.relative_to(base)), layout))
                else:
                    next_level.append(child)  # only descend into folders that are not datasets themselves
        frontier = next_level
    return sorted(found, key=lambda d: d.relative)
