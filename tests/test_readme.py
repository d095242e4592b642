"""What README.md says about the code is checked against the code, so the README cannot drift from it.

The figures it quotes from the active model's report are checked where those figures live
(tests/test_shipped_model.py, tests/test_model_facts.py); this file checks its statements about
modules, registries and files.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from tiers import HEAVY, REPO

from detector.frontends import ENCODER_FRONT_ENDS, FRONT_ENDS

README = REPO / "README.md"
MAX_LINES = 220   # issue 30: the README is read top to bottom, so it stays short


def readme_text() -> str:
    """The README with its line breaks folded into spaces, so a sentence can be matched whole."""
    return " ".join(README.read_text(encoding="utf-8").split())


def quoted_after(pattern: str) -> list[str]:
    """The `backquoted` names in the one stretch of the README that ``pattern``'s first group matches."""
    found = re.findall(pattern, readme_text())
    assert len(found) == 1, f"the README should say this once: {pattern}"
    return re.findall(r"`([^`]+)`", found[0])


def top_level_imports(path: Path) -> set[str]:
    """Modules ``path`` imports when it is imported: every import outside a function body."""
    names: set[str] = set()
    pending: list[ast.AST] = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue   # runs only when called
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        pending.extend(ast.iter_child_nodes(node))
    return names


def all_imports(path: Path) -> set[str]:
    """Modules ``path`` imports anywhere, function bodies included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def is_under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def test_the_readme_is_at_most_220_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_the_front_ends_named_are_the_registries():
    cnn = quoted_after(r"one module per feature type: the CNN's (.+?) and the encoder's ")
    encoder = quoted_after(r" and the encoder's (`[a-z]+`(?:, `[a-z]+`)*);")
    assert cnn == list(FRONT_ENDS)   # in the selectors' order
    assert encoder == list(ENCODER_FRONT_ENDS)


def test_the_train_modules_said_to_import_tensorflow_are_exactly_those_that_do():
    named = quoted_after(r"TensorFlow or Keras is imported at module top only by (.+?)\. ")
    said = {REPO / "train" / name for name in named}
    importing = {path for path in (REPO / "train").rglob("*.py")
                 if any(is_under(name, HEAVY["tensorflow"]) for name in top_level_imports(path))}
    assert said == importing, sorted(str(p.relative_to(REPO)) for p in importing)


def test_the_app_process_reaches_only_the_train_modules_named():
    named = quoted_after(r"the app process reaches only the TensorFlow-free parts of `train` \((.+?)\)\.")
    app_files = [REPO / "app.py", *(REPO / "webapp").rglob("*.py"), *(REPO / "app_pages").rglob("*.py")]
    reached = {name for path in app_files for name in all_imports(path) if is_under(name, ("train",))}
    assert set(named) == reached


def test_the_five_packages_drawn_are_the_import_linter_roots():
    drawn = re.search(r"```\n(app_pages .+)\n```", README.read_text(encoding="utf-8")).group(1)
    packages = set(re.findall(r"[a-z_]+", drawn)) - {"any", "of", "them", "it", "measures"}
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert packages == set(config["tool"]["importlinter"]["root_packages"])


def test_every_shipped_version_holds_the_files_the_readme_lists():
    common = quoted_after(r"each version folder holds (.+?); a CNN version adds")
    cnn_extra = quoted_after(r"a CNN version adds (.+?)\. An \*encoder version\*")
    encoder_extra = quoted_after(r"An \*encoder version\* \((`encoder\.json`), feature")
    optional = quoted_after(r"crossed with channel classes may also hold (`[^`]+`)")
    store = REPO / "model_store"
    versions = [p for p in store.iterdir() if p.is_dir() and (p / "model.tflite").is_file()]
    assert len(versions) >= 4
    for folder in versions:
        held = {p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()}
        extra = encoder_extra if (folder / "encoder.json").is_file() else cnn_extra
        assert set(common) <= held, folder.name
        assert held - set(common) <= set(extra) | set(optional), folder.name
        assert "train_config.json" in held or extra == encoder_extra, folder.name   # every CNN has its config
