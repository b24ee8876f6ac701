"""A run's graph as a compact in-memory index, built once from the PROV-JSON dict.

No `prov.model` objects: plain dicts, the steps and entities at once, and each other table (the
adjacency of `used`, `wasGeneratedBy`, `wasInformedBy`, `wasStartedBy` and `hadMember`, files by
path and by sha256, step labels) in one pass over its record type the first time a query asks for
it. A 10,000-step document (90,000 records): 0.05 s at once, a query of the whole graph 0.2-0.4 s
in all (benchmarks/bench_query.py). Any document shaped as PROV-JSON is indexed without
surprises: records that are not what they should be are skipped, values of the wrong type count
as absent.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from yprov_workflows.gc_pause import paused_gc

Attrs = Mapping[str, Any]
Pairs = dict[str, list[tuple[str, str]]]
"""Node -> (other node, role) pairs."""

RUN_TYPE = "wfprov:WorkflowRun"
STEP_TYPE = "wfprov:ProcessRun"
FAILED = ("failed", "crashed")
UNFINISHED = ("cancelled", "incomplete")


@dataclass(frozen=True)
class Step:
    """One step attempt: its identity, status and times (POSIX seconds; None when absent)."""

    id: str
    name: str
    key: str
    attempt: int
    status: str
    start: float | None
    end: float | None
    attrs: Attrs = field(repr=False, compare=False)

    @property
    def duration_s(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(self.end - self.start, 0.0)

    def figure(self, name: str) -> float | None:
        """A usage figure (`ywf:<name>`) as a float; None when absent or not a number."""
        return number(self.attrs.get(f"ywf:{name}"))


@dataclass(frozen=True)
class RunGraph:
    """The index of one run's document. Build it with `RunGraph.from_document`: the steps and
    entities at once, each adjacency and lookup table the first time it is asked for."""

    document: Mapping[str, Any] = field(repr=False)
    run_id: str | None
    run: Attrs = field(repr=False)
    run_activity: str | None
    steps: dict[str, Step] = field(repr=False)
    entities: dict[str, Attrs] = field(repr=False)
    _labels: dict[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> RunGraph:
        """Index a parsed PROV-JSON document (any document shaped as PROV-JSON)."""
        with paused_gc():
            activities = _merged(document, "activity")
            types = {a: types_of(attrs) for a, attrs in activities.items()}
            run_activity = next((a for a, t in types.items() if RUN_TYPE in t), None)
            run = activities.get(run_activity, {}) if run_activity else {}
            return cls(
                document=document,
                run_id=text(run.get("ywf:run_id")),
                run=run,
                run_activity=run_activity,
                steps={a: _step(a, at) for a, at in activities.items() if STEP_TYPE in types[a]},
                entities=_merged(document, "entity"),
            )

    @cached_property
    def used(self) -> Pairs:
        """Activity -> (entity, role) it used."""
        return _pairs(self.document, "used", "prov:activity", "prov:entity")

    @cached_property
    def users(self) -> Pairs:
        """Entity -> (activity, role) that used it."""
        return _pairs(self.document, "used", "prov:entity", "prov:activity")

    @cached_property
    def generated(self) -> Pairs:
        """Activity -> (entity, role) it generated."""
        return _pairs(self.document, "wasGeneratedBy", "prov:activity", "prov:entity")

    @cached_property
    def generators(self) -> Pairs:
        """Entity -> (activity, role) that generated it."""
        return _pairs(self.document, "wasGeneratedBy", "prov:entity", "prov:activity")

    @cached_property
    def informants(self) -> dict[str, list[str]]:
        return _links(self.document, "wasInformedBy", "prov:informed", "prov:informant")

    @cached_property
    def informed(self) -> dict[str, list[str]]:
        return _links(self.document, "wasInformedBy", "prov:informant", "prov:informed")

    @cached_property
    def starters(self) -> dict[str, str]:
        found = _links(self.document, "wasStartedBy", "prov:activity", "prov:starter")
        return {activity: starters[0] for activity, starters in found.items()}

    @cached_property
    def started(self) -> dict[str, list[str]]:
        return _links(self.document, "wasStartedBy", "prov:starter", "prov:activity")

    @cached_property
    def members(self) -> dict[str, list[str]]:
        return _links(self.document, "hadMember", "prov:collection", "prov:entity")

    @cached_property
    def by_path(self) -> dict[str, list[str]]:
        return _index(self.entities, "ywf:path")

    @cached_property
    def by_sha256(self) -> dict[str, list[str]]:
        return _index(self.entities, "ywf:sha256")

    @cached_property
    def labels(self) -> dict[str, str]:
        """Step -> its label (see `step_labels`)."""
        return step_labels(self.steps, self.used, self.entities)

    @cached_property
    def attempts(self) -> dict[str, list[str]]:
        """Job key -> its attempts' step ids, by attempt."""
        return _attempts(self.steps)

    @cached_property
    def kinds(self) -> dict[str, str]:
        """Entity -> its kind: file, parameter, value, metric or entity (see `entity_kind`)."""
        return {e: entity_kind(attrs) for e, attrs in self.entities.items()}

    @cached_property
    def engine(self) -> tuple[str | None, str | None]:
        """The engine's name and version (the agent the run is associated with as engine)."""
        return _engine(self.document, self.run_activity)

    def step_ids(self, name: str) -> list[str]:
        return [s.id for s in self.steps.values() if s.name == name]

    def label(self, node: str) -> str:
        """A short readable name: a step's label (`train[lr=0.5]`), a file's path, a
        parameter's `name=value`, else the node's `prov:label` or identifier."""
        found = self.labels.get(node) or self._labels.get(node)
        if found is None:
            found = self._labels[node] = self._entity_label(node)
        return found

    def _entity_label(self, node: str) -> str:
        attrs = self.entities.get(node, {})
        kind = self.kinds.get(node)
        if kind == "parameter":
            return f"{text(attrs.get('prov:label')) or node}={shown(attrs.get('prov:value'))}"
        if kind == "value":  # a step's result: named after the step
            steps = [s for s, _ in self.generators.get(node, ()) if s in self.labels]
            if steps:
                return f"result of {self.labels[steps[0]]}"
        return text(attrs.get("ywf:path")) or text(attrs.get("prov:label")) or node

    def params(self, step: str, role: str = "ywf:parameter") -> dict[str, Any]:
        """A step's parameters (or hyper-parameters) by name."""
        found: dict[str, Any] = {}
        for entity, used_role in self.used.get(step, ()):
            attrs = self.entities.get(entity)
            if used_role == role and attrs is not None:
                found[text(attrs.get("prov:label")) or entity] = attrs.get("prov:value")
        return found

    def predecessors(self, step: str) -> Iterator[str]:
        """Steps this one waited for: the generators of what it used, the steps it was informed
        by, and its own earlier attempt."""
        for entity, _ in self.used.get(step, ()):
            for generator, _ in self.generators.get(entity, ()):
                if generator in self.steps and generator != step:
                    yield generator
        yield from (i for i in self.informants.get(step, ()) if i in self.steps)
        earlier = self._earlier_attempt(step)
        if earlier is not None:
            yield earlier

    def _earlier_attempt(self, step: str) -> str | None:
        this = self.steps[step]
        earlier = [
            s for s in self.attempts.get(this.key, ()) if self.steps[s].attempt < this.attempt
        ]
        return earlier[-1] if earlier else None

    def final_attempts(self) -> list[Step]:
        """The last attempt of every step (by job key), in order of start."""
        last = [self.steps[ids[-1]] for ids in self.attempts.values()]
        return sorted(last, key=lambda s: (s.start is None, s.start or 0.0, s.id))


def types_of(attrs: Attrs) -> tuple[str, ...]:
    kind = attrs.get("prov:type")
    if isinstance(kind, str):
        return (kind,)
    if isinstance(kind, list):
        return tuple(k for k in kind if isinstance(k, str))
    return ()


_KINDS = (
    ("ywf:File", "file"),
    ("ywf:Directory", "file"),
    ("ywf:Parameter", "parameter"),
    ("provml:HyperParameter", "parameter"),
    ("ywf:Value", "value"),
    ("provml:Metric", "metric"),
)


def entity_kind(attrs: Attrs) -> str:
    """file (a file or directory version), parameter, value (a step's result), metric (a
    series a step logged), or entity (anything else)."""
    kind = attrs.get("prov:type")
    if isinstance(kind, str):
        return next((name for t, name in _KINDS if t == kind), "entity")
    kinds = types_of(attrs)
    return next((name for t, name in _KINDS if t in kinds), "entity")


def number(value: Any) -> float | None:
    """A finite JSON number as a float; None for anything else (a boolean is not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def seconds(value: Any) -> float | None:
    """An ISO 8601 time as POSIX seconds; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def shown(value: Any, width: int = 40) -> str:
    """A value in one short line."""
    if isinstance(value, float) and math.isfinite(value):
        result = f"{value:.6g}"
    else:
        result = value if isinstance(value, str) else repr(value)
    result = " ".join(result.split())
    return result if len(result) <= width else result[: width - 3] + "..."


def records(document: Mapping[str, Any], kind: str) -> Iterator[tuple[str, Attrs]]:
    """(identifier, attributes) of every record of one type; a list is one record each."""
    bucket = document.get(kind)
    if not isinstance(bucket, Mapping):
        return
    for ident, content in bucket.items():
        for attrs in content if isinstance(content, list) else (content,):
            if type(attrs) is dict or isinstance(attrs, Mapping):  # a dict is checked fast
                yield str(ident), attrs


def _pairs(document: Mapping[str, Any], kind: str, tail: str, head: str) -> Pairs:
    """Tail -> (head, role) of every relation of one type."""
    found: Pairs = {}
    for attrs in _relations(document, kind):
        a, b, role = attrs.get(tail), attrs.get(head), attrs.get("prov:role")
        if type(a) is str and type(b) is str:
            pair = (b, role if type(role) is str else "")
            if a in found:
                found[a].append(pair)
            else:
                found[a] = [pair]
    return found


def _links(document: Mapping[str, Any], kind: str, tail: str, head: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for attrs in _relations(document, kind):
        a, b = attrs.get(tail), attrs.get(head)
        if isinstance(a, str) and isinstance(b, str):
            found.setdefault(a, []).append(b)
    return found


def _engine(document: Mapping[str, Any], run: str | None) -> tuple[str | None, str | None]:
    agents = _merged(document, "agent")
    for attrs in _relations(document, "wasAssociatedWith"):
        agent = attrs.get("prov:agent")
        if attrs.get("prov:activity") == run and attrs.get("prov:role") == "ywf:engine":
            found = agents.get(agent, {}) if isinstance(agent, str) else {}
            return text(found.get("prov:label")), _version(found.get("ywf:version"))
    return None, None


def _relations(document: Mapping[str, Any], kind: str) -> Iterator[Attrs]:
    """The attributes of every record of one relation type (a list is one record each)."""
    bucket = document.get(kind)
    if not isinstance(bucket, Mapping):
        return
    for content in bucket.values():
        if type(content) is dict or isinstance(content, Mapping):  # a dict is checked fast
            yield content
        elif isinstance(content, list):
            yield from (c for c in content if isinstance(c, Mapping))


def _attempts(steps: dict[str, Step]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for step in sorted(steps.values(), key=lambda s: (s.attempt, s.id)):
        found.setdefault(step.key, []).append(step.id)
    return found


def _version(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _merged(document: Mapping[str, Any], kind: str) -> dict[str, Attrs]:
    """Identifier -> attributes; several records of one identifier are merged."""
    found: dict[str, Attrs] = {}
    for ident, attrs in records(document, kind):
        found[ident] = {**found[ident], **attrs} if ident in found else attrs
    return found


def _index(entities: dict[str, Attrs], key: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for ident, attrs in entities.items():
        value = attrs.get(key)
        if isinstance(value, str):
            found.setdefault(value, []).append(ident)
    return found


def _step(ident: str, attrs: Attrs) -> Step:
    name = text(attrs.get("ywf:step_name")) or text(attrs.get("prov:label")) or ident
    attempt = attrs.get("ywf:attempt")
    return Step(
        id=ident,
        name=name,
        key=text(attrs.get("ywf:job_key")) or ident,
        attempt=attempt if type(attempt) is int else 1,
        status=text(attrs.get("ywf:status")) or "unknown",
        start=seconds(attrs.get("prov:startTime")),
        end=seconds(attrs.get("prov:endTime")),
        attrs=attrs,
    )


def wildcards(attrs: Attrs) -> dict[str, str]:
    """A step's wildcards (`wildcard:<name>` attributes); the first letter is checked first, as
    most keys are `ywf:` and `prov:` ones (10,000 steps of 40 attributes: 20 ms, not 60)."""
    return {k[9:]: shown(attrs[k]) for k in attrs if k[:1] == "w" and k.startswith("wildcard:")}


def step_labels(steps: dict[str, Step], used: Pairs, entities: dict[str, Attrs]) -> dict[str, str]:
    """A readable label per step: its name and wildcards (`train[lr=0.5]`); steps of one name
    that these do not tell apart (Prefect tasks) also show the parameters whose values differ
    between them (`train(lr=0.5)`)."""
    base = {}
    for ident, step in steps.items():
        found = wildcards(step.attrs)
        inner = ",".join(f"{k}={v}" for k, v in sorted(found.items()))
        base[ident] = f"{step.name}[{inner}]" if inner else step.name
    groups: dict[str, list[str]] = {}
    for ident, label in base.items():
        groups.setdefault(label, []).append(ident)
    for label, members in groups.items():
        if len({steps[m].key for m in members}) > 1:
            _tell_apart(label, members, used, entities, base)
    return base


def _tell_apart(
    label: str, members: list[str], used: Pairs, entities: dict[str, Attrs], out: dict[str, str]
) -> None:
    params = {m: _param_texts(m, used, entities) for m in members}
    names = sorted({name for values in params.values() for name in values})
    varying = [n for n in names if len({values.get(n) for values in params.values()}) > 1]
    for member in members if varying else ():
        shown_params = ",".join(f"{n}={params[member].get(n, '-')}" for n in varying)
        out[member] = f"{label}({shown_params})"


def _param_texts(step: str, used: Pairs, entities: dict[str, Attrs]) -> dict[str, str]:
    found = {}
    for entity, role in used.get(step, ()):
        attrs = entities.get(entity)
        if role == "ywf:parameter" and attrs is not None:
            found[text(attrs.get("prov:label")) or entity] = shown(attrs.get("prov:value"), 20)
    return found
