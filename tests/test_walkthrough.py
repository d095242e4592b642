"""docs/walkthrough.py runs end to end: corpus -> train -> publish -> promote -> verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_walkthrough_runs_and_its_model_separates_the_toy_classes(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "docs" / "walkthrough.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [line for line in result.stdout.splitlines() if line[:2] in {"1.", "2.", "3.", "4.", "5."}]
    assert [line[:2] for line in steps] == ["1.", "2.", "3.", "4.", "5."]
    store = tmp_path / "model_store"
    active = json.loads((store / "active.json").read_text())["version"]
    assert steps[3].endswith(active)
    metrics = json.loads((store / active / "metrics.json").read_text())
    assert metrics["test"]["eer"] <= 0.2            # the toy classes are easy: a working pipeline separates them
    assert "Likely synthetic" in steps[4] or "Uncertain" in steps[4]   # a synthetic test clip is not called genuine
