"""Run the command-line interface in-process, and child interpreters that import the repository."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from detector.cli import main

REPO = Path(__file__).resolve().parent.parent


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child interpreter that imports the repository's packages and tests/ helpers.

    Pytest puts both on ``sys.path`` (pyproject's ``pythonpath``); a child gets them through PYTHONPATH.
    """
    paths = [str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), **extra}


def run_cli(*args: str, store: Path) -> tuple[int, str, str]:
    """``python -m detector --store STORE ARGS...``: returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(["--store", str(store), *args])
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()
