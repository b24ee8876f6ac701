"""An index of a run's PROV-JSON document: the run, its steps, what each step used and generated,
and who ran it. The RO-Crate and the graph exports read documents through it.

Any document shaped as PROV-JSON can be indexed (see `shape`): the steps are the activities typed
`wfprov:ProcessRun` (every activity but the run when none is), entries that are not what they
should be are skipped, and a relation naming an undeclared element is ignored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from yprov_workflows.shape import records

Attrs = Mapping[str, Any]
RUN_TYPE = "wfprov:WorkflowRun"
STEP_TYPE = "wfprov:ProcessRun"


@dataclass(frozen=True)
class Link:
    """One end of a used/generated relation: the entity and the role it played."""

    entity: str
    role: str | None
    argument: str | None = None


@dataclass
class RunIndex:
    """What the exports need to know about a document, looked up once."""

    run_id: str | None
    run: Attrs
    steps: dict[str, Attrs]
    entities: dict[str, Attrs]
    agents: dict[str, Attrs]
    used: dict[str, list[Link]] = field(default_factory=lambda: defaultdict(list))
    generated: dict[str, list[Link]] = field(default_factory=lambda: defaultdict(list))
    generator: dict[str, str] = field(default_factory=dict)
    informed_by: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    members: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    associations: dict[str, list[tuple[str | None, str | None, str | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """activity -> (agent, plan, role) of each association."""

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> RunIndex:
        activities = dict(_elements(document, "activity"))
        run_id = next((k for k, a in activities.items() if has_type(a, RUN_TYPE)), None)
        steps = {k: a for k, a in activities.items() if has_type(a, STEP_TYPE)}
        if not steps:
            steps = {k: a for k, a in activities.items() if k != run_id}
        index = cls(
            run_id=run_id,
            run=activities.get(run_id, {}) if run_id else {},
            steps=steps,
            entities=dict(_elements(document, "entity")),
            agents=dict(_elements(document, "agent")),
        )
        index._link(document)
        return index

    def _link(self, document: Mapping[str, Any]) -> None:
        for attrs in records(document, "used"):
            step, entity = attrs.get("prov:activity"), attrs.get("prov:entity")
            if step in self.steps and entity in self.entities:
                self.used[step].append(_link(entity, attrs))
        for attrs in records(document, "wasGeneratedBy"):
            step, entity = attrs.get("prov:activity"), attrs.get("prov:entity")
            if step in self.steps and entity in self.entities:
                self.generated[step].append(_link(entity, attrs))
                self.generator.setdefault(entity, step)
        self._link_others(document)

    def _link_others(self, document: Mapping[str, Any]) -> None:
        for attrs in records(document, "wasInformedBy"):
            informed, informant = attrs.get("prov:informed"), attrs.get("prov:informant")
            if informed in self.steps and informant in self.steps:
                self.informed_by[informed].append(informant)
        for attrs in records(document, "hadMember"):
            collection = attrs.get("prov:collection")
            if isinstance(collection, str):
                self.members[collection] += _strings(attrs.get("prov:entity"))
        for attrs in records(document, "wasAssociatedWith"):
            activity = attrs.get("prov:activity")
            if isinstance(activity, str):
                self.associations[activity].append(
                    (text(attrs.get("prov:agent")), text(attrs.get("prov:plan")), _role(attrs))
                )

    def step_name(self, step: str) -> str:
        """The rule or task of a step (`ywf:step_name`), else its label or identifier."""
        attrs = self.steps.get(step, {})
        return text(attrs.get("ywf:step_name")) or text(attrs.get("prov:label")) or step

    def agent(self, activity: str, role: str) -> str | None:
        """The agent associated with `activity` in `role` (`ywf:engine`, `ywf:user`, ...)."""
        found = (a for a, _, r in self.associations.get(activity, ()) if r == role and a)
        return next((a for a in found if a in self.agents), None)

    def plan(self, activity: str) -> str | None:
        """The plan of `activity`'s association with the engine (the workflow, a rule's code)."""
        found = (p for _, p, r in self.associations.get(activity, ()) if p and r == "ywf:engine")
        return next((p for p in found if p in self.entities), None)

    def by_name(self) -> dict[str, list[str]]:
        """Step identifiers per rule or task, each list oldest first, names in order of their
        first step."""
        ordered = sorted(self.steps, key=lambda s: (str(self.steps[s].get("prov:startTime")), s))
        groups: dict[str, list[str]] = {}
        for step in ordered:
            groups.setdefault(self.step_name(step), []).append(step)
        return groups


def _elements(document: Mapping[str, Any], kind: str) -> Iterator[tuple[str, Attrs]]:
    found = document.get(kind)
    if not isinstance(found, Mapping):
        return
    for ident, content in found.items():
        attrs = content[0] if isinstance(content, list) and content else content
        if isinstance(attrs, Mapping):
            yield ident, attrs


def has_type(attrs: Attrs, kind: str) -> bool:
    """Whether an element's `prov:type` is `kind` or a list holding it."""
    found = attrs.get("prov:type")
    return found == kind or (isinstance(found, list) and kind in found)


def _link(entity: str, attrs: Attrs) -> Link:
    return Link(entity, _role(attrs), text(attrs.get("ywf:argument")))


def _role(attrs: Attrs) -> str | None:
    return text(attrs.get("prov:role"))


def text(value: Any) -> str | None:
    """`value` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
