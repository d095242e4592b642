"""The package layout holds: contracts from pyproject.toml, and no import circle in detector, train or webapp."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

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


@pytest.mark.parametrize("package", ["detector", "train", "webapp"])
def test_every_module_is_free_of_circles(package: str) -> None:
    # Lazy (function-level) imports count: a circle hidden in a function still ties the modules together.
    graph = grimp.build_graph("detector", "train", "webapp", cache_dir=None, exclude_type_checking_imports=True)
    for module in sorted(m for m in graph.modules if m == package or m.startswith(f"{package}.")):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == module.rpartition(".")[0] and _is_face(imported):
                continue   # importing a package whose __init__ only hands names on is no dependency
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            assert chain is None, f"{module} and {imported} import each other (via {' -> '.join(chain)})"


def _is_face(package: str) -> bool:
    """Whether ``package``'s ``__init__.py`` defines nothing (only a docstring and imports)."""
    import ast

    init = REPO.joinpath(*package.split("."), "__init__.py")
    if not init.is_file():
        return False
    body = ast.parse(init.read_text(encoding="utf-8")).body
    return all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)) for node in body)


def test_the_makefile_builds_the_encoder_the_code_ships() -> None:
    import re

    from detector.encoder.runtime import SHIPPED_BLOCKS

    blocks = re.search(r"^ENCODER_BLOCKS \?= (\d+)$", (REPO / "Makefile").read_text(), re.M)
    assert blocks and int(blocks.group(1)) == SHIPPED_BLOCKS
