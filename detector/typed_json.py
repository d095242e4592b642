"""Dataclasses from parsed JSON, by their type hints: nested dataclasses, ``X | None``, ``dict[str, X]``, ``list[X]``.

What :mod:`detector.model_report` loads ``metrics.json`` with. A key the dataclass
does not declare and a missing required field are errors, never a silent default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any


def _build(kind: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as an instance of the annotated type ``kind``."""
    if value is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return _build(next(a for a in args if a is not type(None)), value)
    if dataclasses.is_dataclass(kind):
        return from_dict(kind, value)
    if origin is dict:
        return {str(k): _build(args[1], v) for k, v in value.items()}
    if origin is list:
        return [_build(args[0], v) for v in value]
    if kind is float:
        return float(value)
    if kind is int:
        return int(value)
    return value


def from_dict(kind: type, data: dict[str, Any]) -> Any:
    """A dataclass ``kind`` from a dict.

    Raises
    ------
    ValueError
        ``data`` is not a dict, has a key ``kind`` does not declare (a renamed field
        fails loudly instead of reading as missing), or lacks a required field.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{kind.__name__} needs an object, got {type(data).__name__}")
    hints = typing.get_type_hints(kind)
    known = {f.name for f in dataclasses.fields(kind) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{kind.__name__} has no field(s) {unknown}")
    try:
        return kind(**{name: _build(hints[name], value) for name, value in data.items()})
    except TypeError as exc:
        raise ValueError(f"{kind.__name__}: {exc}") from exc
