"""The fields of structured objects: dataclasses, pydantic models, attrs classes, named tuples.

A configuration passed as one object (`train(cfg)`, a flow parameter typed by a pydantic model, a
Snakemake param holding a dataclass) is recorded by its fields, like a dict: its values show, and
fields whose names look secret are hidden as a dict's keys are (its `repr` would show them all).
No library is imported: each kind is known by what its classes carry.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping
from typing import Any


def fields_of(value: Any) -> dict[str, Any] | None:
    """The fields of a dataclass instance, pydantic (v2) model, attrs instance or named tuple, by
    name; None for anything else."""
    cls: type = type(value)
    try:
        names = _field_names(cls)
    except TypeError:  # a class that cannot be a cache key
        return None
    if names is None:
        return None
    if isinstance(value, tuple):
        return dict(zip(names, value, strict=False))
    return {name: getattr(value, name, None) for name in names}


@functools.lru_cache(maxsize=1024)
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a structured class, None for another: found once per class (a check
    of every item of a long list of numbers must cost next to nothing)."""
    if issubclass(cls, tuple):
        names = getattr(cls, "_fields", None)
        return names if isinstance(names, tuple) else None
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    model_fields = getattr(cls, "__pydantic_fields__", None)
    if isinstance(model_fields, dict):
        return tuple(model_fields)
    attributes = getattr(cls, "__attrs_attrs__", None)
    if attributes is not None:
        return tuple(a.name for a in attributes)
    return None


class _NotPlain(Exception):
    """The value holds more than `budget` items, or something that is not plain data."""


def plain_tree(value: Any, budget: int, max_depth: int = 20) -> Any | None:
    """`value` as JSON data (dicts with scalar keys, lists, scalars; structured objects by their
    fields, sets sorted, paths as text) when it is made of at most `budget` items and of nothing
    else; None otherwise. The walk stops at the first item over the budget: its cost is bounded."""
    count = 0

    def walk(item: Any, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > budget or depth > max_depth:
            raise _NotPlain
        if item is None or isinstance(item, bool | int | float | str):
            return item
        if isinstance(item, os.PathLike):
            path = os.fspath(item)
            if isinstance(path, str):
                return path
            raise _NotPlain
        fields = fields_of(item)
        if fields is not None:
            return {k: walk(v, depth + 1) for k, v in fields.items()}
        if not isinstance(item, Mapping | list | tuple | set | frozenset):
            raise _NotPlain
        if count + len(item) > budget:  # before looking at the items: bounded cost
            raise _NotPlain
        if isinstance(item, Mapping):
            return {_key(k): walk(v, depth + 1) for k, v in item.items()}
        if isinstance(item, set | frozenset):
            return [walk(v, depth + 1) for v in sorted(item, key=repr)]
        return [walk(v, depth + 1) for v in item]

    try:
        return walk(value, 0)
    except (_NotPlain, RecursionError):
        return None


def _key(key: Any) -> str:
    """A mapping key as JSON names it (`1`, `true`, `null`): text only, so keys sort."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise _NotPlain
