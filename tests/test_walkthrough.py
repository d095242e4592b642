"""docs/walkthrough.py runs end to end: corpus -> train -> publish -> promote -> verdict."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from detector import model_report

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_walkthrough_runs_and_its_model_separates_the_toy_classes(tmp_path: Path, capsys) -> None:
    # In this process: TensorFlow is already loaded by the training tests, so only the walkthrough's own work counts.
    walkthrough = runpy.run_path(str(REPO / "docs" / "walkthrough.py"), run_name="walkthrough")
    walkthrough["main"](tmp_path)
    steps = [line for line in capsys.readouterr().out.splitlines() if line[:2] in {"1.", "2.", "3.", "4.", "5."}]
    assert [line[:2] for line in steps] == ["1.", "2.", "3.", "4.", "5."]
    store = tmp_path / "model_store"
    active = json.loads((store / "active.json").read_text())["version"]
    assert steps[3].endswith(active)
    assert model_report.load(store / active).test.eer <= 0.2   # the toy classes are easy: a working pipeline
    # separates them
    assert "Likely synthetic" in steps[4] or "Uncertain" in steps[4]   # a synthetic test clip is not called genuine
