"""Describe arbitrary Python values (task arguments and results) at a bounded cost.

A value becomes a `ValueRecord`: its type name, a size (length, or bytes for text and binary),
a typed preview (the value itself for scalars, a short text otherwise) and a sha256 digest when
computing one is cheap: scalars, text and bytes up to 1 MiB, and containers and structured objects
(dataclasses, pydantic models, attrs classes, named tuples: by their fields) made of those, nested
to any depth, up to 100 items in all. A 200,000-element list costs a `len()` and a type check,
never a `repr`, pickle or hash of it.

Secrets: the values of secret-looking keys inside a previewed mapping are hidden (and the digest is
that of the hidden form), a text shaped like a well-known credential is never previewed, and
`preview=False` keeps only the type, size and digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from typing import Any

from yprov_workflows.records import ValueRecord
from yprov_workflows.redaction import REDACTED, Redactor, looks_like_token
from yprov_workflows.structured import fields_of, plain_tree
from yprov_workflows.values import Value, to_value

MAX_DIGEST_BYTES = 1 << 20
MAX_DIGEST_ITEMS = 100
PREVIEW_CHARS = 200


def describe(value: Any, redactor: Redactor | None = None, preview: bool = True) -> ValueRecord:
    """Type, size, preview and (when cheap) digest of `value`; no preview when `preview` is off."""
    record = _describe(value, redactor)
    if preview or record.preview is None:
        return record
    return dataclasses.replace(record, preview=None)


def _describe(value: Any, redactor: Redactor | None) -> ValueRecord:
    kind = _type_name(value)
    if isinstance(value, bool | int | float) or value is None:
        return ValueRecord(kind, to_value(value), None, _digest(_scalar_json(value)))
    if isinstance(value, str | bytes | bytearray):
        return _describe_text(kind, value)
    if isinstance(value, os.PathLike):
        path = str(os.fspath(value))
        return ValueRecord(kind, path, None, _digest(path))
    fields = fields_of(value)  # a dataclass, pydantic model, ...: described as its fields
    size = _length(value) if fields is None else len(fields)
    if size is None or size > MAX_DIGEST_ITEMS:
        return ValueRecord(kind, _summary(kind, size), size, None)
    tree = plain_tree(value, MAX_DIGEST_ITEMS)
    if tree is None:
        if redactor is not None:
            redactor.hide_inside(value)  # remembers the secrets inside, to scrub them elsewhere
        return ValueRecord(kind, _summary(kind, size), size, None)
    shown = redactor.hide_inside(tree) if redactor is not None else tree
    text = json.dumps(shown, sort_keys=True)
    return ValueRecord(kind, _preview(text), size, _digest(text))


def _scalar_json(value: bool | int | float | None) -> str:
    """`json.dumps(value)` (whose text the digest is of) without making an encoder for it: the
    same text, as `json` writes scalars (`int.__repr__`, `float.__repr__`, NaN and Infinity)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _describe_text(kind: str, value: str | bytes | bytearray) -> ValueRecord:
    data = (
        value.encode("utf-8", "surrogatepass")
        if isinstance(value, str)
        else bytes(value[: MAX_DIGEST_BYTES + 1])
    )
    digest = _digest(data) if len(value) <= MAX_DIGEST_BYTES else None
    preview = _preview(value) if isinstance(value, str) else f"<{len(value)} bytes>"
    return ValueRecord(kind, preview, len(value), digest)


def _length(value: Any) -> int | None:
    if isinstance(value, list | tuple | dict | set | frozenset):
        return len(value)
    try:
        return len(value) if hasattr(value, "__len__") else None
    except Exception:
        return None


def _summary(kind: str, size: int | None) -> str:
    return f"<{kind} of {size} items>" if size is not None else f"<{kind}>"


def _preview(text: str) -> str:
    if looks_like_token(text):
        return REDACTED
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "..."


def _type_name(value: Any) -> str:
    cls = type(value)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _digest(data: str | bytes) -> str:
    return hashlib.sha256(
        data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    ).hexdigest()


def typed_preview(record: ValueRecord) -> Value:
    """The value to show as a parameter: the preview, or the type name when there is none."""
    return record.preview if record.preview is not None else f"<{record.type}>"
