"""JSON text by orjson, with the standard library's encoder for what orjson refuses.

Why: each step's journal line is encoded in the process that runs the workflow (a Prefect flow's
process, next to the engine's own threads), and the document at the run's end before the flow
returns. orjson encodes a step record in about 6 us where `json` takes 40 (issue 12). Prefect
requires orjson, so its users have it already.

What orjson refuses (integers beyond 64 bits, strings with lone surrogates, keys that are not
strings, types it does not know) is encoded by `json` as before, with the same result as before.
Where the two agree to differ: orjson writes non-ASCII characters as UTF-8 (`json` escaped them
in the journal), and NaN and infinities as null (the journal refused them; the values that reach
records are made finite or text first, `values.to_value`). Both texts parse to the same values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import orjson


def encoded(value: Any, fallback: Callable[[Any], str], newline: bool = False) -> bytes:
    """`value` as UTF-8 JSON text (no spaces); `fallback(value)` (ASCII text) where orjson
    refuses it. `newline`: one appended."""
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE if newline else 0)
    except orjson.JSONEncodeError:
        text = fallback(value)
        return (text + "\n" if newline else text).encode()


def ascii_text(value: Any) -> str:
    """The standard library's text of a document's part, every non-ASCII character escaped
    (a lone surrogate in a name stays writable)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def string_forms(text: str) -> tuple[bytes, ...]:
    """The ways a string's characters can appear inside a JSON string written by `encoded`:
    as orjson writes them, and as `json` does with every non-ASCII character escaped."""
    forms = {json.dumps(text)[1:-1].encode()}
    with suppress(orjson.JSONEncodeError):  # a lone surrogate: only `json` writes it
        forms.add(orjson.dumps(text)[1:-1])
    return tuple(forms)
