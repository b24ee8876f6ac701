"""Turn arbitrary engine values into typed, JSON-safe, secret-free attribute values.

Integers, floats and booleans stay numbers; everything else becomes a string. Paths, lists, dicts
and other containers are written as JSON strings. Values whose names look secret are redacted.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from typing import Any

Value = str | int | float | bool

REDACTED = "[redacted]"
SECRET_WORDS = frozenset({"token", "password", "passwd", "pwd", "secret", "key", "credential"})
# Run-together names such as "apikey" or "accesstoken".
SECRET_SUFFIXES = (
    "token",
    "password",
    "secret",
    "credential",
    "credentials",
    "apikey",
    "accesskey",
)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
MAX_TEXT = 4096


def looks_secret(name: str) -> bool:
    """True when a parameter or variable name suggests it holds a secret."""
    words = [w.lower() for w in _WORD_SPLIT.split(name) if w]
    return any(w.rstrip("s") in SECRET_WORDS or w.endswith(SECRET_SUFFIXES) for w in words)


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
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def typed_mapping(values: Mapping[str, Any], *, redact: bool = True) -> dict[str, Value]:
    """Typed values by name, with secret-looking names redacted."""
    return {
        str(name): REDACTED if redact and looks_secret(str(name)) else to_value(value)
        for name, value in values.items()
    }
