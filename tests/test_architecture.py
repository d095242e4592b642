"""The package layout holds: contracts from pyproject.toml, and no import circle in the trainer."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parent.parent
# The training steps: each may import the ones before it in this list, never a later one.
TRAIN_STEPS = ("train.dataset", "train.heldout", "train.evaluate", "train.publish", "train.fit", "train.tune",
               "train.screen", "train.evaluate.__main__")


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "broken" not in result.stdout.split("Contracts:")[-1].split("\n")[0].replace("0 broken", "")


def test_no_import_circle_between_training_steps() -> None:
    graph = grimp.build_graph("train", "detector", cache_dir=None)
    for earlier, later in itertools.combinations(TRAIN_STEPS, 2):
        chain = graph.find_shortest_chain(importer=earlier, imported=later)
        assert chain is None, f"{earlier} imports {later} (through {' -> '.join(chain)}): an import circle"


def test_every_train_module_is_free_of_circles() -> None:
    graph = grimp.build_graph("train", cache_dir=None)
    for module in sorted(m for m in graph.modules if m.startswith("train.")):
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            assert chain is None, f"{module} and {imported} import each other (via {' -> '.join(chain)})"
