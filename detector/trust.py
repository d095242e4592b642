"""Which model version may serve: checked before it is promoted, served or rolled back to.

The registry (:mod:`detector.registry`) only reads and writes the store. This module sits
one layer above inference and decides: a version is trusted when it loads, its model
scores a fixed probe input (:mod:`detector.model_probe`) and it matches its integrity
record (:func:`detector.integrity.verify`). Promotion, rollback, start-up and the
listings all ask :func:`check`; :func:`serving_version` falls back, with a true sentence,
when the pointer names something that cannot serve.

Example
-------
>>> from detector.registry import ModelRegistry
>>> from detector import trust
>>> version, notice = trust.serving_version(ModelRegistry("model_store"))   # doctest: +SKIP
"""

from __future__ import annotations

from detector.errors import ModelError
from detector.integrity import verify
from detector.model_probe import probe_version
from detector.registry import NO_ACTIVE, ModelRegistry, ModelVersion


def check(registry: ModelRegistry, name: str) -> ModelVersion:
    """Load ``name``, score a probe input and verify its record.

    Raises
    ------
    ModelError
        When the version is incomplete, misconfigured, its model cannot serve, or its files or
        reference scores differ from those recorded when it was sealed.
    """
    version = registry.load(name)
    probe_version(version)   # first: a model that cannot even load gets the plainer sentence
    verify(version)
    return version


def promote(registry: ModelRegistry, name: str) -> None:
    """Make ``name`` active; the previous active version goes on the rollback history.

    The version must pass :func:`check`. An unreadable pointer is rewritten (that is the
    repair its error message names); its history cannot be read and is lost.
    """
    check(registry, name)   # refuse to point at something that cannot be served
    try:
        pointer = registry.pointer()
    except ModelError:
        pointer = {"version": None, "history": []}
    history = [v for v in pointer["history"] if v != name]
    if pointer["version"] and pointer["version"] != name:
        history.insert(0, pointer["version"])
    registry.write_pointer(name, history)


def rollback(registry: ModelRegistry) -> str:
    """Re-activate the most recent previous version that passes :func:`check`; return its name.

    An unreadable pointer has no history to go back through: it is rewritten to the newest
    version in the store that passes, which is what the app already serves in that case.

    Raises
    ------
    ModelError
        When no earlier version passes its checks.
    """
    try:
        pointer = registry.pointer()
    except ModelError:
        newest = _newest_passing(registry, exclude=())
        if newest is None:
            raise
        registry.write_pointer(newest.name, [])
        return newest.name
    history = pointer["history"]
    earlier = _first_passing(registry, history)
    if earlier is not None:
        registry.write_pointer(earlier.name, history[history.index(earlier.name) + 1:])
        return earlier.name
    raise ModelError("There is no earlier model version that passes its checks to roll back to.")


def serving_version(registry: ModelRegistry) -> tuple[ModelVersion, str | None]:
    """The version to serve and, when it is not the active one, a sentence saying what happened.

    A broken or missing active version falls back to the newest version in its history that
    passes :func:`check`, then to the newest in the store that passes; an unreadable pointer
    goes straight to the store. So one bad promotion or a damaged pointer never leaves users
    with nothing while a good version exists.

    Raises
    ------
    ModelError
        When no version in the store passes :func:`check`; the sentence says why the active
        one failed.
    """
    try:
        pointer = registry.pointer()
    except ModelError as exc:
        problem, history = exc, []
    else:
        if pointer["version"] is None:
            problem, history = ModelError(NO_ACTIVE), pointer["history"]
        else:
            try:
                return check(registry, pointer["version"]), None
            except ModelError as exc:
                problem, history = exc, pointer["history"]
    version = _first_passing(registry, history)
    if version is not None:
        return version, (f"{problem} Serving {version.name} instead, the newest good version in the history; "
                         "`python -m detector rollback` (or Roll back on the Admin page) makes it active.")
    version = _newest_passing(registry, exclude=history)
    if version is None:
        raise problem
    return version, (f"{problem} Serving {version.name} instead, the newest version in the store that passes its "
                     "checks; promoting a version makes the choice explicit.")


def _first_passing(registry: ModelRegistry, names: list[str]) -> ModelVersion | None:
    """The first of ``names`` that passes :func:`check`, checked in order; ``None`` when none does."""
    for name in names:
        try:
            return check(registry, name)
        except ModelError:
            continue
    return None


def _newest_passing(registry: ModelRegistry, exclude: tuple[str, ...] | list[str]) -> ModelVersion | None:
    """The newest version in the store, outside ``exclude``, that passes :func:`check`."""
    return _first_passing(registry, [name for name in reversed(registry.versions()) if name not in exclude])
