"""Offline training corpus: genuine speech vs many synthesis families.

``python -m train.corpus build --size small|default|full --out DIR`` builds it;
:func:`build` is the same from Python, :func:`train.corpus.adapters.manifest_from_dataset`
turns a user's dataset into the same manifest. Held-out folds live in :mod:`train.heldout`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

__all__ = ["build", "read_manifest", "manifest_from_dataset", "run_audit"]


def build(out_dir: str | Path, size: str = "default", progress: Callable[[int, int, str], None] | None = None,
          **kwargs) -> dict:
    """Build or resume a corpus; see :func:`train.corpus.builder.build`."""
    from train.corpus.builder import build as _build

    return _build(out_dir, size, progress=progress, **kwargs)




def read_manifest(path):
    """Read a corpus ``manifest.csv`` as stored; see :func:`train.schema.read_manifest_table`."""
    from train.schema import read_manifest_table as _read

    return _read(path)


def manifest_from_dataset(path, **kwargs):
    """Manifest of a user's dataset; see :func:`train.corpus.adapters.manifest_from_dataset`."""
    from train.corpus.adapters import manifest_from_dataset as _adapt

    return _adapt(path, **kwargs)


def run_audit(corpus_dir, manifest=None, workers: int = 2) -> dict:
    """Shortcut audit of a built corpus; see :func:`train.corpus.audit.run_audit`."""
    from train.corpus.audit import run_audit as _audit

    return _audit(corpus_dir, manifest, workers)
