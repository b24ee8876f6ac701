"""Check that a record read back from a journal has the types its fields declare.

A journal line may be changed by hand or on disk and still be valid JSON with a valid checksum
(a record written by a buggy or newer writer): a field of the wrong type must make the line
damaged, not crash the assembly or give an invalid document. One checker per type is compiled
from the dataclass annotations on first use (about a microsecond per field afterwards).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

Check = Callable[[Any], bool]
_CHECKS: dict[Any, Check] = {}


def wrong_field(record: Any) -> str | None:
    """The first field of `record` (a dataclass) whose value does not match its declared type."""
    for name, check in _fields(type(record)):
        if not check(getattr(record, name)):
            return name
    return None


_FIELDS: dict[type, list[tuple[str, Check]]] = {}


def _fields(cls: type) -> list[tuple[str, Check]]:
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = [(f.name, checker(hints[f.name])) for f in dataclasses.fields(cls)]
    return _FIELDS[cls]


def checker(hint: Any) -> Check:
    """The check of values of type `hint` (compiled once, then cached)."""
    found = _CHECKS.get(hint)
    if found is None:
        _CHECKS[hint] = lambda value: _CHECKS[hint](value)  # a record may contain its own type
        found = _CHECKS[hint] = _compile(hint)
    return found


def _compile(hint: Any) -> Check:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [checker(a) for a in args]
        return lambda value: any(part(value) for part in parts)
    if origin is Literal:
        allowed = frozenset(args)
        return lambda value: type(value) is str and value in allowed
    if origin is tuple:
        return _tuple(args)
    if origin is dict:
        item = checker(args[1])
        return lambda value: (
            type(value) is dict and all(type(k) is str and item(v) for k, v in value.items())
        )
    return _SCALARS.get(hint) or _class(hint)


def _tuple(args: tuple[Any, ...]) -> Check:
    if len(args) == 2 and args[1] is Ellipsis:
        item = checker(args[0])
        return lambda value: type(value) is tuple and all(map(item, value))
    items = [checker(a) for a in args]
    return lambda value: (
        type(value) is tuple
        and len(value) == len(items)
        and all(check(v) for check, v in zip(items, value, strict=True))
    )


def _class(hint: Any) -> Check:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = _fields(hint)
        return lambda value: (
            isinstance(value, hint) and all(check(getattr(value, name)) for name, check in fields)
        )
    return lambda value: isinstance(value, hint)


_SCALARS: dict[Any, Check] = {
    type(None): lambda value: value is None,
    str: lambda value: type(value) is str,
    bool: lambda value: type(value) is bool,
    int: lambda value: type(value) is int,
    float: lambda value: type(value) is int or (type(value) is float and math.isfinite(value)),
    datetime: lambda value: isinstance(value, datetime) and value.tzinfo is not None,
}
