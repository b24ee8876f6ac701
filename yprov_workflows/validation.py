"""Check that a PROV-JSON document is valid in the sense of the design note.

Four checks run on every document, and each problem found is one line prefixed by its check:

* ``schema:`` the W3C PROV-JSON schema (with its known defects fixed, see the ``$comment`` of
  ``schemas/prov-json.schema.json``), checked by fastjsonschema, which stops at the first error;
* ``roundtrip:`` prov reads the document with its future-rejection warnings as errors, writes it
  back, and the record counts per record type match;
* ``unification:`` prov's ``unified()`` merges the records that share an identifier;
* ``structure:`` our own checks: relation endpoints are declared, an activity starts before it
  ends, uses and generations fall inside their activity's interval, an entity is generated at
  most once, and the used/generated graph has no cycle.

Identifiers are compared as written; two prefixes bound to one IRI are not unified here.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

import fastjsonschema
from prov.model import ProvDocument, ProvFutureRejectionWarning

from yprov_workflows.errors import DocumentError
from yprov_workflows.shape import json_kind, shape_problem

MAX_PROBLEMS = 50
"""At most this many problems are listed; a last line counts the rest."""

_ELEMENT_TYPES = ("entity", "activity", "agent")
_ANY = frozenset(_ELEMENT_TYPES)
_ENTITY = frozenset({"entity"})
_ACTIVITY = frozenset({"activity"})
_AGENT = frozenset({"agent"})

_ENDPOINT_KINDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "prov:entity": _ENTITY,
        "prov:activity": _ACTIVITY,
        "prov:agent": _AGENT,
        "prov:informed": _ACTIVITY,
        "prov:informant": _ACTIVITY,
        "prov:trigger": _ENTITY,
        "prov:starter": _ACTIVITY,
        "prov:ender": _ACTIVITY,
        "prov:plan": _ENTITY,
        "prov:delegate": _AGENT,
        "prov:responsible": _AGENT,
        "prov:generatedEntity": _ENTITY,
        "prov:usedEntity": _ENTITY,
        "prov:influencer": _ANY,
        "prov:influencee": _ANY,
        "prov:generalEntity": _ENTITY,
        "prov:specificEntity": _ENTITY,
        "prov:alternate1": _ENTITY,
        "prov:alternate2": _ENTITY,
        "prov:collection": _ENTITY,
    }
)
"""Attributes naming an element, and the kinds of element each may name."""

_TIME_BOUNDED = ("used", "wasGeneratedBy")
_LINEAGE_EDGES = (("used", "entity", "activity"), ("wasGeneratedBy", "activity", "entity"))
"""Record type, and the kinds at the tail and head of the edge it makes: the used entity
precedes the activity, the activity precedes the entity it generated."""

Attributes = Mapping[str, Any]
Interval = tuple[datetime | None, datetime | None]
Node = tuple[str, str]


@dataclass(frozen=True)
class ValidationReport:
    """What the checks found: an empty ``problems`` means the document is valid."""

    problems: tuple[str, ...]
    """One line each, prefixed by the check: ``schema:``, ``roundtrip:``, ``unification:``,
    ``structure:``."""

    @property
    def ok(self) -> bool:
        """True when no check found a problem."""
        return not self.problems


def validate(document: Mapping[str, Any]) -> ValidationReport:
    """Run all checks on a parsed PROV-JSON object and report every problem found."""
    problems = [*_schema_problems(document)]
    roundtrip_problems, prov_document = _roundtrip(document)
    problems += roundtrip_problems
    if prov_document is not None:
        problems += _unification_problems(prov_document)
    problems += _structure_problems(document)
    return ValidationReport(_capped(problems))


def validate_file(path: str | os.PathLike[str]) -> ValidationReport:
    """Read a PROV-JSON file and validate it.

    Raises:
        DocumentError: The path is missing, not a file, unreadable, not JSON, or its top level
            is not a JSON object.
    """
    return validate(load_document(path))


def _capped(problems: list[str]) -> tuple[str, ...]:
    if len(problems) <= MAX_PROBLEMS:
        return tuple(problems)
    rest = len(problems) - MAX_PROBLEMS
    return (*problems[:MAX_PROBLEMS], f"... and {rest} more")


# Reading a file


def load_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a PROV-JSON file into a dict; DocumentError (one line) when it cannot be read."""
    path = Path(path)
    data = _parse_json(path, _read_text(path))
    if not isinstance(data, dict):
        raise DocumentError(
            f"{path} holds JSON {json_kind(data)} at the top level; "
            "a PROV-JSON document is a JSON object"
        )
    return data


def load_prov_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Like `load_document`, and DocumentError unless the object is shaped as PROV-JSON.

    A reader that walks the records (`yprov show`) needs the shape, not full validity.
    """
    document = load_document(path)
    problem = shape_problem(document)
    if problem:
        raise DocumentError(f"{path} is not a PROV-JSON document: {problem}; give one")
    return document


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise DocumentError(f"{path} nests JSON too deeply to be read; is it PROV-JSON?") from exc
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path} is not valid JSON ({exc}); give a PROV-JSON document") from exc
    except ValueError as exc:  # Python reads integers of at most 4300 digits
        raise DocumentError(f"{path} holds a number of too many digits; is it PROV-JSON?") from exc


def _read_text(path: Path) -> str:
    if not path.exists():
        raise DocumentError(f"{path} does not exist; check the path of the PROV-JSON document")
    if not path.is_file():
        raise DocumentError(f"{path} is not a file; give the path of a PROV-JSON document")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path} cannot be read: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# Check 1: JSON schema


@functools.cache
def _schema_validator() -> Callable[[Any], Any]:
    resource = files("yprov_workflows") / "schemas" / "prov-json.schema.json"
    schema = json.loads(resource.read_text(encoding="utf-8"))
    return fastjsonschema.compile(schema)


def _schema_problems(document: Mapping[str, Any]) -> list[str]:
    try:
        _schema_validator()(document)
    except fastjsonschema.JsonSchemaException as exc:
        return [f"schema: {_one_line(exc)}"]
    return []


# Checks 2 and 3: prov reads, writes and unifies the document


def _roundtrip(document: Mapping[str, Any]) -> tuple[list[str], ProvDocument | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ProvFutureRejectionWarning)
            prov_document = ProvDocument.deserialize(content=json.dumps(document), format="json")
            written = json.loads(prov_document.serialize(format="json") or "{}")
    except Exception as exc:
        return [f"roundtrip: {type(exc).__name__}: {_one_line(exc)}"], None
    return _count_problems(_record_counts(document), _record_counts(written)), prov_document


def _record_counts(container: Mapping[str, Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for rec_type, records in container.items():
        if rec_type == "bundle" and isinstance(records, Mapping):
            counts["bundle"] += len(records)
            for bundle in records.values():
                counts += _record_counts(bundle) if isinstance(bundle, Mapping) else Counter()
        elif rec_type != "prefix":
            counts[rec_type] += sum(_weight(rec_type, attrs) for _, attrs in _records(records))
    return counts


def _weight(rec_type: str, attributes: Attributes) -> int:
    """How many prov records one PROV-JSON record makes: one per member of a hadMember."""
    members = attributes.get("prov:entity")
    if rec_type == "hadMember" and isinstance(members, list):
        return len(members)
    return 1


def _count_problems(read: Counter[str], written: Counter[str]) -> list[str]:
    return [
        f"roundtrip: {rec_type}: {read[rec_type]} records read, {written[rec_type]} written"
        for rec_type in sorted(read.keys() | written.keys())
        if read[rec_type] != written[rec_type]
    ]


def _unification_problems(prov_document: ProvDocument) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ProvFutureRejectionWarning)
            prov_document.unified()
    except Exception as exc:
        return [f"unification: {type(exc).__name__}: {_one_line(exc)}"]
    return []


# Check 4: structure, on the JSON itself


@dataclass(frozen=True)
class _Scope:
    """The elements a container declares, falling back to the enclosing document's."""

    where: str
    kinds: Mapping[str, frozenset[str]]
    intervals: Mapping[str, Interval]
    parent: _Scope | None = None

    def kinds_of(self, identifier: str) -> frozenset[str]:
        own = self.kinds.get(identifier, frozenset())
        return own | self.parent.kinds_of(identifier) if self.parent else own

    def interval(self, identifier: str) -> Interval | None:
        own = self.intervals.get(identifier)
        if own is None and self.parent is not None:
            return self.parent.interval(identifier)
        return own


def _structure_problems(document: Mapping[str, Any]) -> list[str]:
    top = _scope(document, "", None)
    bundles = document.get("bundle")
    problems = _container_problems(document, top)
    if isinstance(bundles, Mapping):
        for bundle_id, bundle in _mappings(bundles.items()):
            scope = _scope(bundle, f" in bundle {bundle_id!r}", top)
            problems += _container_problems(bundle, scope)
    return problems


def _mappings(items: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    return ((key, value) for key, value in items if isinstance(value, Mapping))


def _scope(container: Mapping[str, Any], where: str, parent: _Scope | None) -> _Scope:
    kinds: dict[str, frozenset[str]] = {}
    for kind in _ELEMENT_TYPES:
        for identifier, _ in _records(container.get(kind)):
            kinds[identifier] = kinds.get(identifier, frozenset()) | {kind}
    bundles = container.get("bundle")
    for identifier in bundles if isinstance(bundles, Mapping) else ():
        kinds[identifier] = kinds.get(identifier, frozenset()) | _ENTITY
    return _Scope(where, kinds, _intervals(container), parent)


def _records(records: Any) -> Iterator[tuple[str, Attributes]]:
    """Each (identifier, attributes) of a record-type map, whose values are objects or lists."""
    if not isinstance(records, Mapping):
        return
    for identifier, content in records.items():
        instances = content if isinstance(content, list) else [content]
        for attributes in instances:
            if isinstance(attributes, Mapping):
                yield identifier, attributes


def _intervals(container: Mapping[str, Any]) -> dict[str, Interval]:
    """Each activity's start and end; of several records of one activity, the first given."""
    intervals: dict[str, Interval] = {}
    for identifier, attributes in _records(container.get("activity")):
        start, end = intervals.get(identifier, (None, None))
        start = start or _aware_time(attributes.get("prov:startTime"))
        intervals[identifier] = (start, end or _aware_time(attributes.get("prov:endTime")))
    return intervals


def _aware_time(value: Any) -> datetime | None:
    """The time an ISO 8601 string gives, or None if it is not one with a timezone.

    The schema check reports such values; here they are skipped.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _container_problems(container: Mapping[str, Any], scope: _Scope) -> list[str]:
    return [
        *_endpoint_problems(container, scope),
        *_interval_problems(scope),
        *_timing_problems(container, scope),
        *_generation_problems(container, scope),
        *_cycle_problems(container, scope),
    ]


def _relations(container: Mapping[str, Any]) -> Iterator[tuple[str, str, Attributes]]:
    for rec_type, records in container.items():
        if rec_type not in ("prefix", "bundle", *_ELEMENT_TYPES):
            for identifier, attributes in _records(records):
                yield rec_type, identifier, attributes


def _endpoint_problems(container: Mapping[str, Any], scope: _Scope) -> Iterator[str]:
    for rec_type, identifier, attributes in _relations(container):
        for attribute, value in attributes.items():
            allowed = _ENDPOINT_KINDS.get(attribute, frozenset())
            for target in _names(value) if allowed else ():
                if allowed.isdisjoint(scope.kinds_of(target)):
                    yield (
                        f"structure: {rec_type} {identifier!r}{scope.where}: {attribute} "
                        f"{target!r} is not a declared {' or '.join(sorted(allowed))}"
                    )


def _names(value: Any) -> list[str]:
    """The identifiers an endpoint names: one, or a list (the members of a hadMember)."""
    values = value if isinstance(value, list) else [value]
    return [name for name in values if isinstance(name, str)]


def _interval_problems(scope: _Scope) -> Iterator[str]:
    for identifier, (start, end) in scope.intervals.items():
        if start is not None and end is not None and start > end:
            yield (
                f"structure: activity {identifier!r}{scope.where} ends "
                f"({end.isoformat()}) before it starts ({start.isoformat()})"
            )


def _timing_problems(container: Mapping[str, Any], scope: _Scope) -> Iterator[str]:
    for rec_type in _TIME_BOUNDED:
        for identifier, attributes in _records(container.get(rec_type)):
            problem = _timing_problem(attributes, scope)
            if problem:
                yield f"structure: {rec_type} {identifier!r}{scope.where}: {problem}"


def _timing_problem(attributes: Attributes, scope: _Scope) -> str | None:
    time = _aware_time(attributes.get("prov:time"))
    activity = attributes.get("prov:activity")
    interval = scope.interval(activity) if isinstance(activity, str) else None
    if time is None or interval is None:
        return None
    start, end = interval
    if start is not None and time < start:
        return f"time {time.isoformat()} is before activity {activity!r} starts"
    if end is not None and time > end:
        return f"time {time.isoformat()} is after activity {activity!r} ends"
    return None


def _generation_problems(container: Mapping[str, Any], scope: _Scope) -> Iterator[str]:
    generated: Counter[str] = Counter()
    for _, attributes in _records(container.get("wasGeneratedBy")):
        entity = attributes.get("prov:entity")
        if isinstance(entity, str):
            generated[entity] += 1
    for entity, count in generated.items():
        if count > 1:
            yield f"structure: entity {entity!r}{scope.where} is generated {count} times"


# The cycle check: edges entity -> activity for a usage, activity -> entity for a generation


def _cycle_problems(container: Mapping[str, Any], scope: _Scope) -> Iterator[str]:
    cycle = _find_cycle(_lineage_graph(container))
    if cycle:
        shown = " -> ".join(name for _, name in cycle[:6])
        more = " -> ..." if len(cycle) > 6 else ""
        yield (
            f"structure: the used/generated graph{scope.where} has a cycle of "
            f"{len(cycle) - 1} edges: {shown}{more}"
        )


def _lineage_graph(container: Mapping[str, Any]) -> dict[Node, list[Node]]:
    graph: dict[Node, list[Node]] = {}
    for rec_type, source, target in _LINEAGE_EDGES:
        for _, attributes in _records(container.get(rec_type)):
            tail, head = attributes.get(f"prov:{source}"), attributes.get(f"prov:{target}")
            if isinstance(tail, str) and isinstance(head, str):
                graph.setdefault((source, tail), []).append((target, head))
    return graph


def _find_cycle(graph: Mapping[Node, list[Node]]) -> list[Node]:
    """One cycle, as its nodes with the first repeated at the end; empty if there is none.

    Iterative depth-first search: a node is on the path while its successors are explored.
    """
    done: set[Node] = set()
    for root in graph:
        if root not in done:
            cycle = _cycle_from(root, graph, done)
            if cycle:
                return cycle
    return []


def _cycle_from(root: Node, graph: Mapping[Node, list[Node]], done: set[Node]) -> list[Node]:
    path: list[Node] = [root]
    on_path: dict[Node, int] = {root: 0}
    pending: list[Iterator[Node]] = [iter(graph.get(root, ()))]
    while pending:
        successor = next(pending[-1], None)
        if successor is None:
            finished = path.pop()
            del on_path[finished]
            done.add(finished)
            pending.pop()
        elif successor in on_path:
            return [*path[on_path[successor] :], successor]
        elif successor not in done:
            on_path[successor] = len(path)
            path.append(successor)
            pending.append(iter(graph.get(successor, ())))
    return []
