"""Package contracts: one setting for the model store, and the import direction between packages.

``detector`` imports nothing from ``webapp``, ``train`` or ``app_pages``; ``train``
imports nothing from ``webapp`` or ``app_pages``; ``webapp`` and ``app_pages`` use
only the TensorFlow-free train modules and never load TensorFlow or Keras.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from detector import paths

REPO = Path(__file__).resolve().parent.parent
# The train modules the app process may import: TensorFlow-free by contract (pyproject.toml, import-linter).
TF_FREE_TRAIN = {"train.config", "train.schema", "train.events", "train.corpus.vocoders"}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a source file imports (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def offending(package: str, allowed: Callable[[str], bool]) -> dict[str, list[str]]:
    """Files of ``package`` importing a module ``allowed`` refuses, with those modules."""
    bad = {}
    for path in sorted((REPO / package).rglob("*.py")):
        wrong = sorted(m for m in imported_modules(path) if not allowed(m))
        if wrong:
            bad[str(path.relative_to(REPO))] = wrong
    return bad


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_repository_root_is_defined_once_and_right():
    assert (paths.REPO_ROOT / "pyproject.toml").is_file()
    assert paths.REPO_MODEL_STORE == REPO / "model_store"


def test_training_writes_where_the_app_serves_from(tmp_path):
    """``DETECTOR_MODEL_STORE`` moves the trainer's default store too (it once kept writing to the repository)."""
    probe = ("import json\nfrom detector.paths import model_store\nfrom detector.registry import DEFAULT_STORE\n"
             "from train.config import DEFAULT_STORE as TRAIN_STORE\nfrom train.fit import build_parser\n"
             "print(json.dumps([str(model_store()), str(DEFAULT_STORE), str(TRAIN_STORE),"
             " build_parser().parse_args(['--corpus', 'c']).out]))")
    env = {**os.environ, "DETECTOR_MODEL_STORE": str(tmp_path / "elsewhere")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [str(tmp_path / "elsewhere")] * 4


@pytest.mark.parametrize(("package", "forbidden"), [("detector", {"webapp", "train", "app_pages"}),
                                                    ("train", {"webapp", "app_pages"})])
def test_lower_packages_never_import_higher_ones(package, forbidden):
    assert offending(package, lambda m: _top(m) not in forbidden) == {}


@pytest.mark.parametrize("package", ["webapp", "app_pages"])
def test_the_app_uses_only_tensorflow_free_train_modules(package):
    def allowed(module: str) -> bool:
        if _top(module) in ("tensorflow", "keras", "tf_keras", "keras_tuner"):
            return False
        # "from train.config import X" records train.config and train.config.X: judge the module.
        return _top(module) != "train" or any(module == m or module.startswith(m + ".") for m in TF_FREE_TRAIN)

    assert offending(package, allowed) == {}


def test_the_job_supervisor_and_its_views_load_no_tensorflow():
    probe = ("import sys\nimport webapp.jobs, webapp.job_view, webapp.job_records, webapp.job_commands, "
             "webapp.data_root, train.events, train.schema, train.config\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=120).stdout
    assert out.strip().splitlines()[-1] == "[]"
