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
    for name, plain, check in _fields(type(record)):
        value = getattr(record, name)
        if type(value) not in plain and not check(value):
            return name
    return None


_FIELDS: dict[type, list[tuple[str, frozenset[type], Check]]] = {}


def _fields(cls: type) -> list[tuple[str, frozenset[type], Check]]:
    """Each field's name, the types that pass its check at a look (`plain_types`) and its
    check."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = [
            (f.name, plain_types(hints[f.name]), checker(hints[f.name]))
            for f in dataclasses.fields(cls)
        ]
    return _FIELDS[cls]


def plain_types(hint: Any) -> frozenset[type]:
    """The types whose every value is of type `hint` (`str | None`: str and NoneType; a float
    must be finite, so `float` has only int)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return frozenset().union(*map(plain_types, typing.get_args(hint)))
    if hint is float:
        return frozenset({int})
    return frozenset({hint}) if hint in _PLAIN else frozenset()


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
        return _union(args)
    if origin is Literal:
        allowed = frozenset(args)
        return lambda value: type(value) is str and value in allowed
    if origin is tuple:
        return _tuple(args)
    if origin is dict:
        item, plain = checker(args[1]), plain_types(args[1])
        return lambda value: (
            type(value) is dict
            and ({*map(type, value.values())} <= plain or all(map(item, value.values())))
            and {*map(type, value)} <= _STR_ONLY
        )
    return _SCALARS.get(hint) or _class(hint)


def _tuple(args: tuple[Any, ...]) -> Check:
    if len(args) == 2 and args[1] is Ellipsis:
        item, plain = checker(args[0]), plain_types(args[0])
        return lambda value: (
            type(value) is tuple and ({*map(type, value)} <= plain or all(map(item, value)))
        )
    items = [checker(a) for a in args]
    return lambda value: (
        type(value) is tuple
        and len(value) == len(items)
        and all(check(v) for check, v in zip(items, value, strict=True))
    )


def _union(args: tuple[Any, ...]) -> Check:
    """One look at the value's type for the plain scalars of a union (`str | None`, `Value`),
    the other members' checks only when that fails (a record is read in tens of them)."""
    plain = frozenset().union(*map(plain_types, args))
    finite = float in args
    rest = [checker(a) for a in args if a not in _PLAIN and a is not float]
    if finite:
        rest.insert(0, lambda value: type(value) is float and math.isfinite(value))
    if not rest:
        return lambda value: type(value) in plain
    if len(rest) == 1:
        other = rest[0]
        return lambda value: type(value) in plain or other(value)
    return lambda value: type(value) in plain or any(part(value) for part in rest)


def _class(hint: Any) -> Check:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = _fields(hint)

        def check(value: Any) -> bool:
            if not isinstance(value, hint):
                return False
            for name, plain, field_check in fields:
                field = getattr(value, name)
                if type(field) not in plain and not field_check(field):
                    return False
            return True

        return check
    return lambda value: isinstance(value, hint)


_PLAIN = (type(None), str, bool, int)  # checked by exact type (a bool is no int here)
_STR_ONLY = frozenset({str})


_SCALARS: dict[Any, Check] = {
    type(None): lambda value: value is None,
    str: lambda value: type(value) is str,
    bool: lambda value: type(value) is bool,
    int: lambda value: type(value) is int,
    float: lambda value: type(value) is int or (type(value) is float and math.isfinite(value)),
    datetime: lambda value: isinstance(value, datetime) and value.tzinfo is not None,
}
