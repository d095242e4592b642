"""Run the command-line interface in-process and capture what it prints."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from detector.cli import main


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
