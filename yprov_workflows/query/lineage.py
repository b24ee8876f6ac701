"""`lineage`: where a file or step came from (upstream), or everything derived from it
(downstream), across the whole run.

Upstream of a file: the step that generated it, what that step used (files, parameters, results
of other steps), the steps it was informed or started by, and so on. Downstream of a file: the
steps that used it, what they generated, the steps they informed or started, and so on. Depth
counts steps: the target is at depth 0, a step one hop away at depth 1, and what a step used
(upstream) or generated (downstream) is at that step's depth.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from yprov_workflows.errors import YProvError
from yprov_workflows.gc_pause import paused_gc
from yprov_workflows.query.graph import RunGraph, text

Direction = Literal["up", "down"]
MIN_PREFIX = 6
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class Node:
    """A step or entity of the lineage. `kind`: step, file, parameter, value, metric or entity.
    `details`: a step's status and attempt; a file's path and sha256; a parameter's value."""

    id: str
    kind: str
    label: str
    depth: int
    details: dict[str, Any] = field(default_factory=dict)


class Edge(NamedTuple):
    """One relation of the lineage, as the document has it: `used` (step, entity),
    `wasGeneratedBy` (entity, step), `wasInformedBy` (informed, informant), `wasStartedBy`
    (step, starter). (A named tuple: a lineage may hold a hundred thousand of them.)"""

    source: str
    target: str
    relation: str
    role: str = ""


@dataclass(frozen=True)
class Lineage:
    """The targets (the nodes TARGET named) and every node reached from them, nearest first."""

    query: str
    direction: Direction
    depth: int | None
    targets: tuple[str, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]


def lineage(
    graph: RunGraph, target: str, direction: Direction = "up", depth: int | None = None
) -> Lineage:
    """The lineage of TARGET (see `find_target`) in one direction, at most `depth` steps away.

    Raises:
        YProvError: TARGET names nothing in the run, or `depth` is negative.
    """
    if depth is not None and depth < 0:
        raise YProvError(f"--depth must be 0 or more, not {depth}")
    roots = find_target(graph, target)
    with paused_gc():
        walk = _Walk(graph, direction, depth)
        for root in roots:
            walk.visit(root, 0)
        walk.run()
        nodes = sorted(walk.depths, key=lambda n: (walk.depths[n], walk.order[n]))
        return Lineage(
            query=target,
            direction=direction,
            depth=depth,
            targets=tuple(roots),
            nodes=tuple(node(graph, n, walk.depths[n]) for n in nodes),
            edges=tuple(Edge._make(e) for e in walk.edges),
        )


class _Walk:
    """Breadth-first, each node once at its smallest depth; edges as tuples until the end."""

    def __init__(self, graph: RunGraph, direction: Direction, limit: int | None) -> None:
        self.graph, self.up, self.limit = graph, direction == "up", limit
        self.depths: dict[str, int] = {}
        self.order: dict[str, int] = {}
        self.edges: list[tuple[str, str, str, str]] = []
        self.queue: deque[str] = deque()

    def visit(self, ident: str, depth: int) -> None:
        if ident in self.depths or (self.limit is not None and depth > self.limit):
            return
        self.depths[ident] = depth
        self.order[ident] = len(self.order)
        self.queue.append(ident)

    def _link(self, edge: tuple[str, str, str, str], other: str, depth: int) -> None:
        if self.limit is None or depth <= self.limit:
            self.edges.append(edge)
            if other not in self.depths:
                self.depths[other] = depth
                self.order[other] = len(self.order)
                self.queue.append(other)

    def run(self) -> None:
        steps = self.graph.steps
        while self.queue:
            ident = self.queue.popleft()
            depth = self.depths[ident]
            if ident not in steps:
                self._from_entity(ident, depth + 1)
            elif self.up:
                self._up_from_step(ident, depth)
            else:
                self._down_from_step(ident, depth)

    def _from_entity(self, entity: str, depth: int) -> None:
        g = self.graph
        if self.up:
            for step, role in g.generators.get(entity, ()):
                if step in g.steps:
                    self._link((entity, step, "wasGeneratedBy", role), step, depth)
        else:
            for step, role in g.users.get(entity, ()):
                if step in g.steps:
                    self._link((step, entity, "used", role), step, depth)

    def _up_from_step(self, step: str, depth: int) -> None:
        g = self.graph
        for entity, role in g.used.get(step, ()):
            self._link((step, entity, "used", role), entity, depth)
        for other in g.informants.get(step, ()):
            self._link((step, other, "wasInformedBy", ""), other, depth + 1)
        starter = g.starters.get(step)
        if starter is not None and starter in g.steps:
            self._link((step, starter, "wasStartedBy", ""), starter, depth + 1)

    def _down_from_step(self, step: str, depth: int) -> None:
        g = self.graph
        for entity, role in g.generated.get(step, ()):
            self._link((entity, step, "wasGeneratedBy", role), entity, depth)
        for other in g.informed.get(step, ()):
            self._link((other, step, "wasInformedBy", ""), other, depth + 1)
        for other in g.started.get(step, ()):
            self._link((other, step, "wasStartedBy", ""), other, depth + 1)


def node(graph: RunGraph, ident: str, depth: int) -> Node:
    """The lineage node of a step or entity."""
    step = graph.steps.get(ident)
    if step is not None:
        details = {"name": step.name, "status": step.status, "attempt": step.attempt}
        return Node(ident, "step", graph.labels.get(ident, ident), depth, details)
    attrs = graph.entities.get(ident, {})
    details = {name: attrs[key] for key, name in _DETAILS if key in attrs}
    return Node(ident, graph.kinds.get(ident, "entity"), graph.label(ident), depth, details)


_DETAILS = (
    ("ywf:path", "path"),
    ("ywf:sha256", "sha256"),
    ("prov:value", "value"),
    ("ywf:digest", "digest"),
)


def find_target(graph: RunGraph, target: str) -> list[str]:
    """The nodes TARGET names, tried in this order: a step's or entity's identifier; a file's
    path as recorded (or the same path written another way, absolute paths within the run's
    workdir included); a step's name, label (`train[lr=0.5]`) or job key; a sha256 or a prefix
    of at least 6 hex digits.

    Raises:
        YProvError: it names nothing, or a sha256 prefix fits files of different content.
    """
    for finder in (_by_identifier, _by_path, _by_step, _by_sha256):
        found = finder(graph, target)
        if found:
            return found
    raise YProvError(
        f"{target!r} is not a file path, sha256 (or a prefix of {MIN_PREFIX}+ hex digits), step "
        f"name or identifier of run {graph.run_id or '?'}; `yprov show` lists its steps"
    )


def _by_identifier(graph: RunGraph, target: str) -> list[str]:
    return [target] if target in graph.steps or target in graph.entities else []


def _by_path(graph: RunGraph, target: str) -> list[str]:
    for candidate in dict.fromkeys(_path_forms(graph, target)):
        found = [e for e in graph.by_path.get(candidate, ()) if graph.kinds[e] == "file"]
        if found:
            return found
    return []


def _path_forms(graph: RunGraph, target: str) -> Iterator[str]:
    yield target
    yield os.path.normpath(target)
    workdir = text(graph.run.get("ywf:workdir"))
    if workdir and os.path.isabs(target):
        relative = os.path.relpath(target, workdir)
        if not relative.startswith(".."):
            yield relative


def _by_step(graph: RunGraph, target: str) -> list[str]:
    for matches in (
        lambda s: s.name == target,
        lambda s: graph.labels.get(s.id) == target,
        lambda s: s.key == target,
    ):
        found = [s.id for s in graph.steps.values() if matches(s)]
        if found:
            return found
    return []


def _by_sha256(graph: RunGraph, target: str) -> list[str]:
    prefix = target.lower().removeprefix("sha256:")
    if len(prefix) < MIN_PREFIX or not _HEX.fullmatch(prefix):
        return []
    digests = [d for d in graph.by_sha256 if d.startswith(prefix)]
    if len(digests) > 1:
        raise YProvError(
            f"sha256 prefix {prefix!r} fits {len(digests)} different contents in run "
            f"{graph.run_id or '?'}; give more digits"
        )
    return list(graph.by_sha256[digests[0]]) if digests else []
