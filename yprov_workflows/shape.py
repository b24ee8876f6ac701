"""The shape of a PROV-JSON document: which keys it has and what each must hold.

A document of this shape may still be invalid PROV (see `validation`), but a reader such as
`yprov show` can walk it without surprises: every record-type key maps identifiers to objects of
attributes (or to non-empty arrays of them), whatever the attribute values are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

RECORD_TYPES = frozenset(
    {
        "entity",
        "activity",
        "agent",
        "wasGeneratedBy",
        "used",
        "wasInformedBy",
        "wasStartedBy",
        "wasEndedBy",
        "wasInvalidatedBy",
        "wasDerivedFrom",
        "wasAttributedTo",
        "wasAssociatedWith",
        "actedOnBehalfOf",
        "wasInfluencedBy",
        "specializationOf",
        "alternateOf",
        "hadMember",
    }
)
"""The PROV-JSON keys that map identifiers to records."""

_JSON_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    ((int, float), "number"),
    (str, "string"),
    ((list, tuple), "array"),
    (Mapping, "object"),
)
_SHOWN = 60
"""Identifiers longer than this are cut in messages, so a message stays one readable line."""


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type: object, array, string, number, boolean or null."""
    if value is None:
        return "null"
    return next((kind for cls, kind in _JSON_KINDS if isinstance(value, cls)), type(value).__name__)


def _found(value: Any) -> str:
    kind = json_kind(value)
    return "null" if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def shape_problem(document: Mapping[str, Any]) -> str | None:
    """The first way a parsed JSON object is not shaped as PROV-JSON, as a phrase; None if none."""
    for key, value in document.items():
        problem = _bundles_problem(value) if key == "bundle" else _entry_problem(key, value)
        if problem:
            return problem
    return None


def records(container: Mapping[str, Any], rec_type: str) -> Iterator[Mapping[str, Any]]:
    """The attributes of every record of one type; anything not shaped as records is skipped."""
    by_identifier = container.get(rec_type)
    if not isinstance(by_identifier, Mapping):
        return
    for content in by_identifier.values():
        for attributes in content if isinstance(content, list) else [content]:
            if isinstance(attributes, Mapping):
                yield attributes


def _entry_problem(key: str, value: Any) -> str | None:
    if key == "prefix":
        return _prefix_problem(value)
    if key in RECORD_TYPES:
        return _record_map_problem(key, value)
    if key == "bundle":
        return "'bundle' inside a bundle: bundles cannot nest"
    return (
        f"{_shown(key)} is not a PROV-JSON key (expected 'prefix', 'bundle' or a record type "
        "such as 'entity' or 'used')"
    )


def _prefix_problem(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        found = _found(value)
        return f"'prefix' must be an object mapping prefixes to namespace IRIs, found {found}"
    for prefix, iri in value.items():
        if not isinstance(iri, str):
            found = f"{_found(iri)} for {_shown(prefix)}"
            return f"'prefix' must map prefixes to IRI strings, found {found}"
    return None


def _record_map_problem(rec_type: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return (
            f"{rec_type!r} must be an object mapping identifiers to records, found {_found(value)}"
        )
    for identifier, content in value.items():
        found = _record_problem(content)
        if found:
            return (
                f"{rec_type!r} must map identifiers to objects of attributes (or arrays of them), "
                f"found {found} for {_shown(identifier)}"
            )
    return None


def _record_problem(content: Any) -> str | None:
    """What is wrong with one identifier's records: one object, or a non-empty array of them."""
    if isinstance(content, Mapping):
        return None
    if not isinstance(content, list):
        return _found(content)
    if not content:
        return "an empty array"
    kinds = [_found(item) for item in content if not isinstance(item, Mapping)]
    return f"an array holding {kinds[0]}" if kinds else None


def _bundles_problem(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"'bundle' must be an object mapping identifiers to bundles, found {_found(value)}"
    for identifier, bundle in value.items():
        if not isinstance(bundle, Mapping):
            return f"bundle {_shown(identifier)} must be an object, found {_found(bundle)}"
        problem = next(filter(None, (_entry_problem(k, v) for k, v in bundle.items())), None)
        if problem:
            return f"in bundle {_shown(identifier)}: {problem}"
    return None


def _shown(name: str) -> str:
    shown = repr(name)
    return shown if len(shown) <= _SHOWN else f"{shown[: _SHOWN - 4]}...{shown[-1]}"
