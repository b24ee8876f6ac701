"""Turn arbitrary engine values into typed, JSON-safe, secret-free attribute values.

Integers, floats and booleans stay numbers; everything else becomes a string. Paths, lists, dicts
and other containers are written as JSON strings; structured objects (dataclasses, pydantic
models, attrs classes, named tuples) as the JSON of their fields. Values whose names look secret
are redacted (see `redaction`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

from yprov_workflows.redaction import REDACTED, Redactor, looks_secret
from yprov_workflows.structured import fields_of

Value = str | int | float | bool

MAX_TEXT = 4096


def to_value(value: Any, *, max_text: int = MAX_TEXT) -> Value:
    """Convert one value to an int, float, bool or bounded string."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else _to_text(value)
    return text if len(text) <= max_text else text[:max_text] + "...[truncated]"


def _to_text(value: Any) -> str:
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    try:
        return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    fields = fields_of(value)  # a dataclass, pydantic model, ...: its fields, not its repr
    if fields is not None:
        return {k: _jsonable(v) for k, v in fields.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def typed_mapping(values: Mapping[str, Any], redactor: Redactor) -> dict[str, Value]:
    """Typed values by name; values of secret-looking names are hidden at any depth (and
    remembered by `redactor`, which scrubs them from every other text)."""
    return {str(name): to_value(redactor.hide(str(name), value)) for name, value in values.items()}


__all__ = ["MAX_TEXT", "REDACTED", "Value", "looks_secret", "to_value", "typed_mapping"]
