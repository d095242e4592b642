"""Which tier a test belongs to, derived from what it loads (``tests/conftest.py`` applies the markers).

A test is marked with every heavy thing it reaches: ``tensorflow`` (it loads
TensorFlow, so it may train), ``app`` (Streamlit's AppTest runs a page script),
``jobs`` (the job manager starts training subprocesses) and ``corpus`` (the corpus
builder). "Reaches" is read from the source, not from a list kept by hand: the
imports at the top of the test module and of the helper modules and packages it
imports (followed transitively, top level only: what importing them really
loads), plus every import inside the test function and inside each fixture it
uses. ``make test-fast`` deselects all of them; ``make test`` runs everything.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from pathlib import Path
from typing import Any, Iterable

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
FIRST_PARTY = ("detector", "webapp", "train", "app_pages", "bench", "docs")
# Marker -> modules whose loading puts a test in it (a module or any submodule of it).
HEAVY = {
    "tensorflow": ("tensorflow", "keras", "keras_tuner"),
    "app": ("streamlit.testing",),
    "jobs": ("webapp.jobs", "train.job_runner"),
    "corpus": ("train.corpus.builder",),
}
MARKERS = tuple(HEAVY)


def _file_of(name: str) -> Path | None:
    """The source file of a first-party module or a helper module in ``tests/``, else ``None``."""
    parts = name.split(".")
    if parts[0] in FIRST_PARTY:
        base = REPO.joinpath(*parts)
    elif len(parts) == 1 and (TESTS / f"{name}.py").is_file():
        base = TESTS / name
    else:
        return None
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(nodes: Iterable[ast.AST]) -> set[str]:
    """Module names the import statements among ``nodes`` load (``from a import b`` may load ``a.b``)."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names
                         if _file_of(f"{node.module}.{alias.name}") is not None)
    return names


def _top_level(tree: ast.Module) -> list[ast.AST]:
    """Statements that run on import: the module body and its if/try blocks, not function or class bodies."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


@functools.cache
def _direct(name: str) -> frozenset[str]:
    """``name``'s parent packages and the modules its own top level imports (nothing for a third-party name)."""
    parts = name.split(".")
    direct = {".".join(parts[:i]) for i in range(1, len(parts))}
    path = _file_of(name)
    if path is not None:
        direct |= _imported_names(_top_level(ast.parse(path.read_text(encoding="utf-8"))))
    return frozenset(direct)


@functools.cache
def loads(name: str) -> frozenset[str]:
    """Every module that importing ``name`` loads, followed through first-party code (import cycles included)."""
    loaded, pending = {name}, [name]
    while pending:
        for imported in _direct(pending.pop()):
            if imported not in loaded:
                loaded.add(imported)
                pending.append(imported)
    return frozenset(loaded)


@functools.cache
def _body_names(function: Any) -> frozenset[str]:
    """The modules a test or fixture function imports when it runs."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return frozenset()
    return frozenset(_imported_names(ast.walk(tree)))


@functools.cache
def _called_loads(name: str) -> frozenset[str]:
    """What a test may load by calling into module ``name`` it imported: imports inside its functions too."""
    path = _file_of(name)
    if path is None or path.parent == TESTS:
        return loads(name)
    inner = _imported_names(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    return loads(name).union(*(loads(imported) for imported in inner))


def markers_for(item: Any) -> list[str]:
    """The heavy markers of one collected pytest item (a test function).

    Followed: the test module's imports and everything they load on import, the
    imports inside the test and its fixtures, and the imports inside the functions of
    the first-party modules the test itself names (it calls them; a deeper call's
    lazy import is not followed).
    """
    module = Path(item.module.__file__)
    named = set(_direct(module.stem)) if module.parent == TESTS else set()
    named |= _body_names(getattr(item.obj, "__func__", item.obj))
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        for definition in definitions:
            named |= _body_names(definition.func)
    loaded = set(loads(module.stem)) if module.parent == TESTS else set()
    loaded = loaded.union(*(_called_loads(name) for name in named))
    return [marker for marker, roots in HEAVY.items()
            if any(name == root or name.startswith(root + ".") for name in loaded for root in roots)]
