"""The `ro-crate-metadata.json` of a run: a Workflow Run RO-Crate following the Provenance Run
Crate profile 0.5 (https://w3id.org/ro/wfrun/provenance/0.5), built from the run's document.

The mapping (docs/exports.md has it as a table): the workflow file is the main entity
(`File`, `SoftwareSourceCode`, `ComputationalWorkflow`, `HowTo`); each rule or task is a tool
(`SoftwareApplication`), a `HowToStep` and a `ControlAction` whose object is its attempts; each
attempt is a `CreateAction` with object (inputs, parameters), result (outputs), times, status,
error and `resourceUsage` (`PropertyValue`s with a `propertyID` and a QUDT `unitCode`); the
engine's run is an `OrganizeAction` whose result is the run's `CreateAction`; the engine,
yprov-workflows and the user are `SoftwareApplication`s and a `Person`; the PROV document is a
`File` of the crate, the result of yprov-workflows' `CreateAction`.

The data files themselves are not copied: their entities have local identifiers, which RO-Crate
allows for data that is not in the payload.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from yprov_workflows import vocabulary as V
from yprov_workflows.export.index import Link, RunIndex, has_type, text

Entity = dict[str, Any]
CONTEXT = [
    "https://w3id.org/ro/crate/1.1/context",
    "https://w3id.org/ro/terms/workflow-run/context",
]
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": ("Process Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/workflow/0.5": ("Workflow Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/provenance/0.5": ("Provenance Run Crate", "0.5"),
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": ("Workflow RO-Crate", "1.0"),
}
SCHEMA = "http://schema.org/"
COMPLETED, FAILED = f"{SCHEMA}CompletedActionStatus", f"{SCHEMA}FailedActionStatus"
QUDT = "http://qudt.org/vocab/unit/"
UNITS = (("_bytes", "BYTE"), ("_s", "SEC"), ("_j", "J"), ("_w", "W"), ("_pct", "PERCENT"))
"""Usage figures by the end of their name (docs/usage.md), and their QUDT unit."""
COUNTS = ("processes",)
LANGUAGES = {
    "snakemake": {
        "@id": "https://w3id.org/workflowhub/workflow-ro-crate#snakemake",
        "name": "Snakemake",
        "identifier": {"@id": "https://doi.org/10.1093/bioinformatics/bts480"},
        "url": {"@id": "https://snakemake.readthedocs.io"},
    },
    "prefect": {
        "@id": "#language-prefect",
        "name": "Prefect",
        "alternateName": "Python with Prefect flows and tasks",
        "url": {"@id": "https://www.prefect.io/"},
    },
}
RECORDING = "#recording"
NO_LICENSE = "not given (yprov export --license URL sets one)"


@dataclass(frozen=True)
class CrateParts:
    """What the crate's payload holds besides the metadata: the workflow file (None when it
    could not be included) and the PROV document, by their names in the crate."""

    workflow: str | None
    document: str
    license: str | None = None
    created: datetime | None = None


def crate_metadata(index: RunIndex, parts: CrateParts) -> dict[str, Any]:
    """The JSON-LD of `ro-crate-metadata.json`."""
    return {"@context": CONTEXT, "@graph": list(_Builder(index, parts).entities())}


class _Builder:
    """Builds the entities of one crate; each entity once, in a stable order."""

    def __init__(self, index: RunIndex, parts: CrateParts) -> None:
        self.index, self.parts = index, parts
        self.run_node = f"#{_local(index.run_id or 'run')}"
        engine = index.agent(index.run_id or "", "ywf:engine")
        self.engine = index.agents.get(engine or "", {})
        self.engine_name = (text(self.engine.get("prov:label")) or "engine").lower()
        self.person = index.agent(index.run_id or "", "ywf:user")
        self.data: dict[str, Entity] = {}  # data entities and parameters, by @id
        self.groups = index.by_name()

    def entities(self) -> Iterator[Entity]:
        actions = [self._step_action(s) for n in self.groups for s in self.groups[n]]
        yield _descriptor()
        yield self._root(actions)
        yield from _profiles()
        yield self._workflow()
        yield from self._language()
        yield from self._software()
        yield from self._person()
        if self.parts.license:
            yield {"@id": self.parts.license, "@type": "CreativeWork", "name": self.parts.license}
        yield from self._run_actions()
        for position, name in enumerate(self.groups, start=1):
            yield from self._step_entities(name, position)
        for action, usage in actions:
            yield action
            yield from usage
        yield from self.data.values()

    # The crate and its root

    def _root(self, actions: list[tuple[Entity, list[Entity]]]) -> Entity:
        status = text(self.index.run.get("ywf:status")) or "unknown"
        parts = [p for p in (self.parts.workflow, self.parts.document) if p]
        files = [k for k, e in self.data.items() if e["@type"] in ("File", "Dataset")]
        mentions = [self.run_node, f"#organize-{_local(self.index.run_id or 'run')}", RECORDING]
        mentions += [a["@id"] for a, _ in actions]
        return {
            "@id": "./",
            "@type": "Dataset",
            "name": f"{self.engine_label()} run {self.index.run_id or ''}".strip(),
            "description": self._description(status),
            "datePublished": (self.parts.created or datetime.now().astimezone()).isoformat(),
            "license": _ref(self.parts.license) if self.parts.license else NO_LICENSE,
            "conformsTo": _refs(PROFILES),
            "mainEntity": _ref(self._workflow_id()),
            "hasPart": _refs([*parts, *files]),
            "mentions": _refs(mentions),
        }

    def _description(self, status: str) -> str:
        run, steps = self.index.run, len(self.index.steps)
        start, end = _iso(run.get("prov:startTime")), _iso(run.get("prov:endTime"))
        return (
            f"Workflow Run RO-Crate of a {self.engine_label()} run recorded by yprov-workflows: "
            f"{steps} steps, status {status}, {start or '?'} to {end or '?'}."
        )

    def engine_label(self) -> str:
        language = LANGUAGES.get(self.engine_name)
        return str(language["name"]) if language else self.engine_name

    # The workflow, its language, its tools and steps

    def _workflow_id(self) -> str:
        return self.parts.workflow or "#workflow"

    def _workflow(self) -> Entity:
        plan = self.index.entities.get(self.index.plan(self.index.run_id or "") or "", {})
        entity: Entity = {
            "@id": self._workflow_id(),
            "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
            "name": (text(plan.get("ywf:path")) or "workflow").rsplit("/", 1)[-1],
            "programmingLanguage": _ref(self._language_id()),
            "hasPart": _refs(f"#tool-{_local(n)}" for n in self.groups),
            "step": _refs(f"#step-{_local(n)}" for n in self.groups),
        }
        _put(entity, "sha256", text(plan.get("ywf:sha256")))
        _put(entity, "version", _short(text(plan.get("ywf:sha256"))))
        _put(entity, "alternateName", text(plan.get("ywf:path")))
        return entity

    def _language_id(self) -> str:
        found = LANGUAGES.get(self.engine_name)
        return str(found["@id"]) if found else f"#language-{_local(self.engine_name)}"

    def _language(self) -> Iterator[Entity]:
        found = LANGUAGES.get(self.engine_name, {"name": self.engine_name})
        entity = {**found, "@id": self._language_id(), "@type": "ComputerLanguage"}
        _put(entity, "version", text(self.engine.get("ywf:version")))
        yield entity

    def _step_entities(self, name: str, position: int) -> Iterator[Entity]:
        steps = self.groups[name]
        plan = self.index.entities.get(self.index.plan(steps[-1]) or "", {})
        tool: Entity = {
            "@id": f"#tool-{_local(name)}",
            "@type": "SoftwareApplication",
            "name": name,
            "description": f"{self.engine_label()} {_step_word(self.engine_name)} {name}",
        }
        _put(tool, "version", _short(text(plan.get("ywf:code_sha256"))))
        yield tool
        yield {
            "@id": f"#step-{_local(name)}",
            "@type": "HowToStep",
            "name": name,
            "position": str(position),
            "workExample": _ref(tool["@id"]),
        }
        yield {
            "@id": f"#control-{_local(name)}",
            "@type": "ControlAction",
            "name": f"orchestrate {name}",
            "instrument": _ref(f"#step-{_local(name)}"),
            "object": _refs(f"#{_local(s)}" for s in steps),
        }

    # Software and people

    def _software(self) -> Iterator[Entity]:
        recorder = self.index.agent(self.index.run_id or "", "ywf:recorder")
        for agent in (self.engine, self.index.agents.get(recorder or "", {})):
            yield _application(agent)

    def _person(self) -> Iterator[Entity]:
        if self.person is not None:
            label = text(self.index.agents[self.person].get("prov:label")) or self.person
            yield {"@id": f"#{_local(self.person)}", "@type": "Person", "name": label}

    # Actions

    def _run_actions(self) -> Iterator[Entity]:
        run, local = self.index.run, _local(self.index.run_id or "run")
        used, generated = self._run_data()
        action = self._action(self.run_node, run, used, generated)
        action["name"] = text(run.get("prov:label")) or f"run {self.index.run_id}"
        action["instrument"] = _ref(self._workflow_id())
        yield action
        yield {
            **self._times_and_status(run),
            "@id": f"#organize-{local}",
            "@type": "OrganizeAction",
            "name": f"{self.engine_label()} orchestrating run {self.index.run_id}",
            "instrument": _ref(_software_id(self.engine)),
            "object": _refs(f"#control-{_local(n)}" for n in self.groups),
            "result": _ref(self.run_node),
            **self._agent(),
        }
        yield from self._recording(run)

    def _recording(self, run: Mapping[str, Any]) -> Iterator[Entity]:
        recorder = self.index.agent(self.index.run_id or "", "ywf:recorder")
        yield {
            "@id": RECORDING,
            "@type": "CreateAction",
            "name": "provenance recorded by yprov-workflows",
            "description": "The W3C PROV document (PROV-JSON) of the run, in this crate.",
            "instrument": _ref(_software_id(self.index.agents.get(recorder or "", {}))),
            "result": _ref(self.parts.document),
            "actionStatus": _ref(COMPLETED),
            **_times(run),
        }
        yield {
            "@id": self.parts.document,
            "@type": "File",
            "name": "W3C PROV document of the run (PROV-JSON)",
            "encodingFormat": "application/json",
            "conformsTo": _ref("https://www.w3.org/submissions/prov-json/"),
            "about": _ref(self.run_node),
        }

    def _run_data(self) -> tuple[list[Link], list[Link]]:
        """The run's inputs (used, generated by no step) and products (generated, used by no
        step)."""
        used = {link.entity: link for links in self.index.used.values() for link in links}
        made = {link.entity: link for links in self.index.generated.values() for link in links}
        inputs = [link for e, link in used.items() if e not in made]
        return inputs, [link for e, link in made.items() if e not in used]

    def _step_action(self, step: str) -> tuple[Entity, list[Entity]]:
        attrs = self.index.steps[step]
        node = f"#{_local(step)}"
        action = self._action(node, attrs, self.index.used[step], self.index.generated[step])
        action["name"] = text(attrs.get("prov:label")) or step
        action["instrument"] = _ref(f"#tool-{_local(self.index.step_name(step))}")
        usage = list(_usage(node, attrs))
        if usage:
            action["resourceUsage"] = _refs(u["@id"] for u in usage)
        return action, usage

    def _action(
        self, node: str, attrs: Mapping[str, Any], used: Iterable[Link], made: Iterable[Link]
    ) -> Entity:
        action: Entity = {"@id": node, "@type": "CreateAction", **self._times_and_status(attrs)}
        action["object"] = _refs(self._data(link) for link in used)
        action["result"] = _refs(self._data(link) for link in made)
        action.update(self._agent())
        return action

    def _agent(self) -> Entity:
        return {"agent": _ref(f"#{_local(self.person)}")} if self.person else {}

    def _times_and_status(self, attrs: Mapping[str, Any]) -> Entity:
        status = text(attrs.get("ywf:status")) or "unknown"
        entity: Entity = {**_times(attrs), "description": f"status: {status}"}
        if status in ("completed", "cached"):
            entity["actionStatus"] = _ref(COMPLETED)
            return entity
        entity["actionStatus"] = _ref(FAILED)
        entity["error"] = text(attrs.get("ywf:error")) or _why(status)
        return entity

    # Data

    def _data(self, link: Link) -> str:
        node = f"#{_local(link.entity)}"
        if node not in self.data:
            self.data[node] = self._data_entity(node, link.entity)
        return node

    def _data_entity(self, node: str, entity: str) -> Entity:
        attrs = self.index.entities[entity]
        label = text(attrs.get("prov:label")) or entity
        if _is_value(attrs):
            found: Entity = {"@id": node, "@type": "PropertyValue", "name": label}
            found["value"] = _json_value(attrs.get("prov:value", attrs.get("ywf:digest", "")))
            return found
        directory = has_type(attrs, "ywf:Directory")
        found = {"@id": node, "@type": "Dataset" if directory else "File", "name": label}
        _put(found, "alternateName", text(attrs.get("ywf:path")))
        _put(found, "sha256", text(attrs.get("ywf:sha256")))
        size = attrs.get("ywf:size_bytes")
        _put(found, "contentSize", str(size) if isinstance(size, int) else None)
        _put(found, "encodingFormat", text(attrs.get("ywf:format")))
        if directory and self.index.members.get(entity):
            found["hasPart"] = _refs(self._member(m) for m in self.index.members[entity])
        return found

    def _member(self, entity: str) -> str:
        return self._data(Link(entity, None)) if entity in self.index.entities else f"#{entity}"


def _descriptor() -> Entity:
    return {
        "@id": "ro-crate-metadata.json",
        "@type": "CreativeWork",
        "conformsTo": _refs(
            ["https://w3id.org/ro/crate/1.1", "https://w3id.org/workflowhub/workflow-ro-crate/1.0"]
        ),
        "about": _ref("./"),
    }


def _profiles() -> Iterator[Entity]:
    for iri, (name, version) in PROFILES.items():
        yield {"@id": iri, "@type": "CreativeWork", "name": name, "version": version}


def _application(agent: Mapping[str, Any]) -> Entity:
    entity: Entity = {
        "@id": _software_id(agent),
        "@type": "SoftwareApplication",
        "name": text(agent.get("prov:label")) or "unknown",
    }
    _put(entity, "version", text(agent.get("ywf:version")))
    name = str(entity["name"]).lower()
    if name in LANGUAGES:
        entity["url"] = LANGUAGES[name]["url"]
    return entity


def _software_id(agent: Mapping[str, Any]) -> str:
    """A software's release on PyPI, as an absolute IRI."""
    name = quote(text(agent.get("prov:label")) or "unknown", safe="")
    version = quote(text(agent.get("ywf:version")) or "", safe="")
    return f"https://pypi.org/project/{name}/{version}/" if version else f"#software-{name}"


def _usage(node: str, attrs: Mapping[str, Any]) -> Iterator[Entity]:
    """The step's usage figures as PropertyValues with a propertyID and a QUDT unit."""
    for key, value in attrs.items():
        if not key.startswith("ywf:") or isinstance(value, bool):
            continue
        name = key[4:]
        unit = _unit(name)
        if unit is None or not isinstance(value, int | float) or name.startswith("sampled_"):
            continue
        yield {
            "@id": f"{node}-usage-{name}",
            "@type": "PropertyValue",
            "name": name,
            "propertyID": f"{V.NAMESPACES['ywf']}{name}",
            "value": value,
            "unitCode": _ref(unit),
        }


def _unit(name: str) -> str | None:
    if name in COUNTS:
        return f"{QUDT}NUM"
    return next((f"{QUDT}{unit}" for end, unit in UNITS if name.endswith(end)), None)


def _times(attrs: Mapping[str, Any]) -> Entity:
    found: Entity = {}
    _put(found, "startTime", _iso(attrs.get("prov:startTime")))
    _put(found, "endTime", _iso(attrs.get("prov:endTime")))
    return found


def _iso(value: Any) -> str | None:
    """A time to the millisecond, as the profile's ISO 8601 pattern has it; None if it is not
    a time with a timezone."""
    try:
        time = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return time.isoformat(timespec="milliseconds") if time and time.tzinfo else None


def _why(status: str) -> str:
    return {
        "incomplete": "incomplete: the run ended before this step closed (killed?)",
        "cancelled": "cancelled",
        "crashed": "crashed: interrupted",
    }.get(status, status)


def _step_word(engine: str) -> str:
    return {"snakemake": "rule", "prefect": "task"}.get(engine, "step")


def _is_value(attrs: Mapping[str, Any]) -> bool:
    return any(has_type(attrs, t) for t in ("ywf:Parameter", "ywf:Value", "provml:HyperParameter"))


def _json_value(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else str(value)


def _short(digest: str | None) -> str | None:
    return f"sha256:{digest[:12]}" if digest else None


def _local(ident: str) -> str:
    """An identifier as the fragment of a local identifier (`#step:...`)."""
    return quote(ident, safe=":_-.~")


def _ref(ident: str) -> dict[str, str]:
    return {"@id": ident}


def _refs(idents: Iterable[str]) -> list[dict[str, str]]:
    return [{"@id": i} for i in dict.fromkeys(idents)]


def _put(entity: Entity, key: str, value: Any) -> None:
    if value is not None:
        entity[key] = value
