"""The repository root and the standard folders, defined once for every package.

Each folder has a default inside the repository and, where an admin may move it,
an environment variable. Functions read the environment at call time so tests
and admins can point a running process elsewhere; the ``DEFAULT_*`` constants
are the import-time values for command-line defaults.
No imports beyond the standard library: every package may use this module.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL_STORE_ENV = "DETECTOR_MODEL_STORE"   # where versions are trained into and served from
JOBS_ROOT_ENV = "DETECTOR_JOBS_ROOT"       # the admin page's background job folders
DATA_ROOT_ENV = "DETECTOR_DATA_ROOT"       # the only folder the admin page may read datasets from

REPO_MODEL_STORE = REPO_ROOT / "model_store"
RUNS_DIR = REPO_ROOT / "runs"
FEATURE_CACHE_DIR = REPO_ROOT / ".cache" / "features"
CORPUS_CACHE_DIR = REPO_ROOT / ".cache" / "corpus"
ASSETS_DIR = REPO_ROOT / "assets"


def _from_env(name: str, default: Path) -> Path:
    """``$name`` (``~`` expanded) when set and not empty, else ``default``."""
    configured = os.environ.get(name)
    return Path(configured).expanduser() if configured else default


def model_store() -> Path:
    """``DETECTOR_MODEL_STORE`` or ``model_store/`` in the repository.

    The trainer writes here and the app serves from here: one setting, so a
    model trained from a terminal lands where the app looks for it.
    """
    return _from_env(MODEL_STORE_ENV, REPO_MODEL_STORE)


def jobs_root() -> Path:
    """``DETECTOR_JOBS_ROOT`` or ``jobs/`` in the repository (git-ignored), resolved."""
    return _from_env(JOBS_ROOT_ENV, REPO_ROOT / "jobs").resolve()


def data_root() -> Path:
    """``DETECTOR_DATA_ROOT`` or ``data/`` in the repository, resolved (it need not exist yet)."""
    return _from_env(DATA_ROOT_ENV, REPO_ROOT / "data").resolve()
