"""The workflow-level graph of a run: steps, the files and values that flow between them, and
its pictures: DOT, SVG (through Graphviz's `dot`) and one self-contained HTML page (`html`).

Nodes are steps (one per attempt), files (one per version) and values (a Prefect task's result);
edges are `used` (file -> step), `generated` (step -> file) and `informed` (step -> step, a wait
without data). Parameters, logs and metric series are not nodes: a step lists them among its
attributes. Every node belongs to a group: a step to its rule or task, a file or value to the rule
or task that generated it (or, for the run's inputs, the first that used it). A picture of many
steps draws the groups instead of their members (`collapsed`), so 10,000 steps stay readable.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from yprov_workflows.errors import YProvError
from yprov_workflows.export.index import Link, RunIndex, has_type, text

Attrs = Mapping[str, Any]
USED_DATA = {None, "ywf:input", "ywf:upstream", "ywf:artifact", "ywf:model"}
MADE_DATA = {None, "ywf:output", "ywf:result", "ywf:artifact", "ywf:model"}
"""Roles of the relations that are edges; the others are listed on the step."""
STATUS_ORDER = ("failed", "crashed", "incomplete", "cancelled", "cached", "completed")
"""Worst first: a group shows its worst member's status."""
COLOURS = {
    "completed": "#b7e1b0",
    "cached": "#b5d6f0",
    "failed": "#f4a3a3",
    "crashed": "#e07b7b",
    "incomplete": "#f7cf8e",
    "cancelled": "#d0d0d0",
}
FILE_COLOUR = "#ffffff"
AUTO_COLLAPSE = 200
"""A DOT or SVG picture of more steps than this draws their groups (unless all steps are asked)."""
DOT_HINT = (
    "an SVG picture needs Graphviz's `dot` (apt-get install graphviz, brew install graphviz, "
    "conda install graphviz); write FILE.dot or FILE.html instead"
)


@dataclass(frozen=True)
class Node:
    """A step, a file or a value, with the group it belongs to and its attributes."""

    id: str
    kind: str
    label: str
    group: str
    status: str | None
    attrs: Attrs


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str


@dataclass
class Group:
    """The nodes of one rule or task (`kind` "step"), or the files and values it generated."""

    id: str
    kind: str
    label: str
    members: list[str] = field(default_factory=list)


@dataclass
class WorkflowGraph:
    """Steps, files and values of a run, the edges between them and their groups."""

    run: Attrs
    nodes: dict[str, Node]
    edges: list[Edge]
    groups: dict[str, Group]

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> WorkflowGraph:
        return _Builder(RunIndex.of(document)).build()


class _Builder:
    def __init__(self, index: RunIndex) -> None:
        self.index = index
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.groups: dict[str, Group] = {}

    def build(self) -> WorkflowGraph:
        named = self.index.by_name()
        for name, steps in named.items():
            for step in steps:
                self._step(step, name)
        for name, steps in named.items():  # generations first: a file is grouped with its maker
            for step in steps:
                self._generated(step, name)
        for name, steps in named.items():
            for step in steps:
                self._used(step, name)
        return WorkflowGraph(self.index.run, self.nodes, self.edges, self.groups)

    def _step(self, step: str, name: str) -> None:
        attrs = self.index.steps[step]
        label, status = step_label(attrs, name), text(attrs.get("ywf:status"))
        self._add(Node(step, "step", label, f"step/{name}", status, self._step_attrs(step)), name)

    def _step_attrs(self, step: str) -> dict[str, Any]:
        """The step's own attributes, and what it used or generated that is not drawn."""
        found: dict[str, Any] = {"id": step, **self.index.steps[step]}
        for link in self.index.used[step]:
            if link.role not in USED_DATA:
                found.setdefault(_listed(link.role), {})[self._name(link.entity)] = self._value(
                    link.entity
                )
        for link in self.index.generated[step]:
            if link.role not in MADE_DATA:
                found.setdefault(_listed(link.role), []).append(self._name(link.entity))
        return found

    def _generated(self, step: str, name: str) -> None:
        for link in self.index.generated[step]:
            if link.role in MADE_DATA:
                self._data(link, f"data/{name}", f"from {name}")
                self.edges.append(Edge(step, link.entity, "generated"))

    def _used(self, step: str, name: str) -> None:
        for link in self.index.used[step]:
            if link.role in USED_DATA:
                self._data(link, f"inputs/{name}", f"inputs of {name}")
                self.edges.append(Edge(link.entity, step, "used"))
        for informant in dict.fromkeys(self.index.informed_by[step]):
            self.edges.append(Edge(informant, step, "informed"))

    def _data(self, link: Link, group: str, group_label: str) -> None:
        if link.entity in self.nodes:
            return
        attrs = self.index.entities[link.entity]
        kind = "value" if has_type(attrs, "ywf:Value") else "file"
        node = Node(link.entity, kind, self._name(link.entity), group, None, attrs)
        self._add(node, group_label)

    def _add(self, node: Node, group_label: str) -> None:
        self.nodes[node.id] = node
        group = self.groups.get(node.group)
        if group is None:
            kind = "step" if node.kind == "step" else "data"
            group = self.groups[node.group] = Group(node.group, kind, group_label)
        group.members.append(node.id)

    def _name(self, entity: str) -> str:
        attrs = self.index.entities.get(entity, {})
        return text(attrs.get("ywf:path")) or text(attrs.get("prov:label")) or entity

    def _value(self, entity: str) -> Any:
        return self.index.entities.get(entity, {}).get("prov:value")


def step_label(attrs: Attrs, name: str) -> str:
    """A step as people tell it apart: its rule and wildcards (`train lr=0.5`), or its task run's
    name (`train-afd`), and the attempt when it is not the first."""
    wildcards = [f"{k[9:]}={v}" for k, v in attrs.items() if k.startswith("wildcard:")]
    label = " ".join([name, *wildcards]) if wildcards else text(attrs.get("ywf:task_run_name"))
    attempt = attrs.get("ywf:attempt")
    again = f" (attempt {attempt})" if isinstance(attempt, int) and attempt > 1 else ""
    return f"{label or name}{again}"


def _listed(role: str | None) -> str:
    """The attribute under which a step lists what it used or generated in `role`."""
    name = (role or "other").split(":", 1)[-1]
    return {"parameter": "parameters", "hyperparameter": "hyperparameters"}.get(name, f"{name}s")


def group_status(graph: WorkflowGraph, group: Group) -> str | None:
    """The worst status among a group's steps (None for files and values)."""
    found = {graph.nodes[m].status for m in group.members}
    return next((s for s in STATUS_ORDER if s in found), None)


# DOT and SVG


def dot_text(graph: WorkflowGraph, all_steps: bool | None = None) -> str:
    """The graph in Graphviz DOT; groups drawn instead of their members when the run has more
    than AUTO_COLLAPSE steps (`all_steps` None), or always (False), or never (True)."""
    steps = sum(1 for n in graph.nodes.values() if n.kind == "step")
    collapse = steps > AUTO_COLLAPSE if all_steps is None else not all_steps
    nodes, edges = _collapsed(graph) if collapse else _expanded(graph)
    lines = ["digraph workflow {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    lines += [f"  {_quote(ident)} [{attrs}];" for ident, attrs in nodes]
    lines += [f"  {_quote(a)} -> {_quote(b)}{_edge_style(kind)};" for a, b, kind in edges]
    return "\n".join([*lines, "}", ""])


def _expanded(graph: WorkflowGraph) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    nodes = [(n.id, _node_attrs(n.kind, n.label, n.status, n.id)) for n in graph.nodes.values()]
    return nodes, [(e.source, e.target, e.kind) for e in graph.edges]


def _collapsed(graph: WorkflowGraph) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    nodes = [
        (g.id, _node_attrs(g.kind, _group_label(graph, g), group_status(graph, g), g.id))
        for g in graph.groups.values()
    ]
    group_of = {n.id: n.group for n in graph.nodes.values()}
    edges = {(group_of[e.source], group_of[e.target], e.kind) for e in graph.edges}
    return nodes, sorted((a, b, k) for a, b, k in edges if a != b)


def _group_label(graph: WorkflowGraph, group: Group) -> str:
    count = len(group.members)
    if group.kind == "step":
        return f"{group.label} x{count}" if count > 1 else group.label
    return f"{count} files {group.label}" if count > 1 else graph.nodes[group.members[0]].label


def _node_attrs(kind: str, label: str, status: str | None, ident: str) -> str:
    tooltip = f"{ident} ({status})" if status else ident
    if kind == "step":
        colour = COLOURS.get(status or "", "#eeeeee")
        shape = f'shape=box, style="rounded,filled", fillcolor="{colour}"'
    else:
        shape = f'shape=note, style=filled, fillcolor="{FILE_COLOUR}"'
    return f"label={_quote(label)}, tooltip={_quote(tooltip)}, {shape}"


def _edge_style(kind: str) -> str:
    return " [style=dashed]" if kind == "informed" else ""


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def svg_bytes(dot: str, timeout: float = 300) -> bytes:
    """The SVG Graphviz draws for `dot`; YProvError with an install hint without Graphviz."""
    program = shutil.which("dot")
    if program is None:
        raise YProvError(DOT_HINT)
    try:
        result = subprocess.run(
            [program, "-Tsvg"], input=dot.encode(), capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise YProvError(f"Graphviz took over {timeout:.0f} s; write FILE.html instead") from exc
    if result.returncode != 0:
        problem = " ".join(result.stderr.decode(errors="replace").split())[:300]
        raise YProvError(f"Graphviz failed (exit status {result.returncode}): {problem}")
    return result.stdout
