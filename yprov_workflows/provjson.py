"""The one place that builds PROV: records in, a PROV-JSON document (a dict) out.

It is fast because it writes plain dicts (no `prov.model` objects); `validation` checks the result
with the `prov` library. The mapping is documented in docs/prov-model.md.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from yprov_workflows import vocabulary as V
from yprov_workflows.records import (
    Artifact,
    Code,
    FileRecord,
    MetricSeries,
    RunEnd,
    RunStart,
    Software,
    StepRecord,
    Usage,
    ValueRecord,
)
from yprov_workflows.values import Value

Attrs = dict[str, Any]


class DocumentBuilder:
    """Accumulates the elements and relations of one workflow-level document."""

    def __init__(self) -> None:
        self.doc: dict[str, dict[str, Any]] = {"prefix": dict(V.NAMESPACES)}
        self._relation_count = 0
        self._generated: dict[str, str] = {}  # entity -> the activity that generated it
        self.duplicate_generations = 0
        self.latest: dict[str, str] = {}  # step key -> activity of its last attempt
        # Caches: each attribute name and identifier is made once (and its text shared by every
        # element that has it); a step's start and end are turned into text once each.
        self.attribute_names: dict[str, dict[str, str]] = {}  # prefix -> key -> name
        self._artifacts: dict[tuple[str, str | None], str] = {}
        self.param_ids: dict[tuple[str, type, str], str] = {}
        self._times: dict[int, tuple[datetime, str]] = {}  # by id(): each value is kept

    def names(self, prefix: str) -> dict[str, str]:
        """The attribute names made under `prefix` (`ywf:`...), by key (see `name`)."""
        found = self.attribute_names.get(prefix)
        if found is None:
            found = self.attribute_names[prefix] = {}
        return found

    def name(self, prefix: str, key: str) -> str:
        """The attribute name `prefix` + `key`, with `key` made safe (`prefix`: `ywf:`...)."""
        names = self.names(prefix)
        found = names.get(key)
        if found is None:
            found = names[key] = prefix + V.safe(key)
        return found

    def artifact(self, path: str, sha256: str | None) -> str:
        found = self._artifacts.get((path, sha256))
        if found is None:
            found = self._artifacts[(path, sha256)] = V.artifact_id(path, sha256)
        return found

    def time(self, value: datetime) -> str:
        """`value` in ISO 8601, made once per datetime object (by identity: two equal times in
        different zones have different texts; the object is kept, so its id is not reused)."""
        known = self._times.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        text = value.isoformat()
        self._times[id(value)] = (value, text)
        return text

    def element(self, kind: str, ident: str, attrs: Attrs) -> str:
        bucket = self.doc.setdefault(kind, {})
        if ident not in bucket:
            bucket[ident] = attrs
        return ident

    def relation(self, kind: str, attrs: Attrs) -> None:
        self._relation_count += 1
        bucket = self.doc.get(kind)
        if bucket is None:
            bucket = self.doc[kind] = {}
        bucket[f"_:{kind[:3]}{self._relation_count}"] = attrs

    def generated_by(self, entity: str) -> str | None:
        return self._generated.get(entity)

    def generation(self, entity: str, activity: str, time: datetime, role: str) -> None:
        if entity in self._generated:
            self.duplicate_generations += 1
            return
        self._generated[entity] = activity
        self.relation(
            "wasGeneratedBy",
            {
                "prov:entity": entity,
                "prov:activity": activity,
                "prov:time": self.time(time),
                "prov:role": role,
            },
        )


def build_document(
    start: RunStart, steps: Iterable[StepRecord], end: RunEnd | None, damaged_lines: int = 0
) -> dict[str, Any]:
    """The workflow-level PROV-JSON document of one run (`damaged_lines`: journal lines lost)."""
    builder = DocumentBuilder()
    agents = _add_agents(builder, start)
    run = _add_run(builder, start, agents)
    ordered = sorted((_clamped(s) for s in steps), key=lambda s: (s.started, s.step_id))
    idents = [V.step_id(s.step_id) for s in ordered]
    builder.latest = {s.key: ident for s, ident in zip(ordered, idents, strict=True)}
    for step, ident in zip(ordered, idents, strict=True):
        _add_result(builder, step, ident)
    for step, ident in zip(ordered, idents, strict=True):
        _add_step(builder, step, ident, run, agents["engine"])
    _close_run(builder, run, start, end, len(ordered), damaged_lines)
    builder.doc["activity"][run].update(_totals(ordered))
    return builder.doc


def _clamped(step: StepRecord) -> StepRecord:
    """A step whose clock went backwards (an end before its start) ends when it started."""
    return step if step.ended >= step.started else dataclasses.replace(step, ended=step.started)


SUMMED = ("cpu_total_s", "read_bytes", "write_bytes", "gpu_energy_j", "cpu_energy_attributed_j")


def _totals(steps: list[StepRecord]) -> Attrs:
    """The run's totals over its steps' usage: sums, and the largest peak RSS (one pass)."""
    known: dict[str, list[float | int]] = {name: [] for name in SUMMED}
    peak: float | int | None = None
    for step in steps:
        figures = step.usage.figures
        for name in SUMMED:
            value = _number(figures.get(name))
            if value is not None:
                known[name].append(value)
        rss = _number(figures.get("max_rss_bytes"))
        if rss is not None and (peak is None or rss > peak):
            peak = rss
    totals: Attrs = {f"ywf:total_{n}": round(sum(v), 6) for n, v in known.items() if v}
    if peak is not None:
        totals["ywf:max_step_rss_bytes"] = peak
    return totals


def _number(value: Value | None) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _time(value: datetime) -> str:
    return value.isoformat()


def _typed(value: Value) -> Any:
    """Native JSON numbers and booleans keep their type; strings stay strings."""
    return value


def _add_agents(builder: DocumentBuilder, start: RunStart) -> dict[str, str]:
    a = start.agents
    user = builder.element(
        "agent",
        V.agent_id("user", a.user),
        {"prov:type": "prov:Person", "prov:label": a.user},
    )
    engine = builder.element(
        "agent",
        V.agent_id(a.engine, a.engine_version),
        {
            "prov:type": "prov:SoftwareAgent",
            "prov:label": a.engine,
            "ywf:version": a.engine_version,
        },
    )
    recorder = builder.element(
        "agent",
        V.agent_id("yprov-workflows", a.recorder_version),
        {
            "prov:type": "prov:SoftwareAgent",
            "prov:label": "yprov-workflows",
            "ywf:version": a.recorder_version,
        },
    )
    builder.relation("actedOnBehalfOf", {"prov:delegate": engine, "prov:responsible": user})
    return {"user": user, "engine": engine, "recorder": recorder}


def _add_run(builder: DocumentBuilder, start: RunStart, agents: dict[str, str]) -> str:
    attrs: Attrs = {
        "prov:type": "wfprov:WorkflowRun",
        "prov:label": f"{start.agents.engine} run {start.run_id}",
        "prov:startTime": _time(start.started),
        "ywf:run_id": start.run_id,
        "ywf:command_line": json.dumps(list(start.command_line)),
        "ywf:targets": json.dumps(list(start.targets)),
    }
    _put(attrs, "ywf:workdir", start.workdir)
    _put(attrs, "ywf:host", start.host)
    attrs.update({f"config:{V.safe(k)}": _typed(v) for k, v in start.config.items()})
    run = builder.element("activity", V.run_id(start.run_id), attrs)
    plan = _workflow_plan(builder, start)
    builder.relation(
        "wasAssociatedWith",
        _association(run, agents["engine"], plan, "ywf:engine"),
    )
    builder.relation("wasAssociatedWith", _association(run, agents["user"], None, "ywf:user"))
    builder.relation(
        "wasAssociatedWith", _association(run, agents["recorder"], None, "ywf:recorder")
    )
    if start.software is not None:
        _add_software(builder, run, start.started, start.software)
    return run


def _add_software(builder: DocumentBuilder, run: str, started: datetime, sw: Software) -> None:
    """The run's software environment: an entity the run used (role `ywf:environment`), and the
    list of installed distributions, a file in the run folder (role `ywf:packages`)."""
    attrs = _software_attrs(sw)
    ident = V.environment_id(json.dumps(attrs, sort_keys=True))
    used = {"prov:activity": run, "prov:time": _time(started)}
    builder.element("entity", ident, attrs)
    builder.relation("used", {**used, "prov:entity": ident, "prov:role": "ywf:environment"})
    if sw.packages is not None:
        entity = _file_entity(builder, sw.packages)
        builder.doc["entity"][entity]["prov:type"] = "ywf:PackageList"
        builder.relation("used", {**used, "prov:entity": entity, "prov:role": "ywf:packages"})


def _software_attrs(sw: Software) -> Attrs:
    system = sw.os_release or sw.os
    attrs: Attrs = {
        "prov:type": "ywf:SoftwareEnvironment",
        "prov:label": f"{sw.python_implementation} {sw.python_version} on {system} ({sw.machine})",
        "ywf:python_version": sw.python_version,
        "ywf:python_implementation": sw.python_implementation,
        "ywf:os": sw.os,
        "ywf:kernel": sw.kernel,
        "ywf:machine": sw.machine,
        "ywf:gpu_count": len(sw.gpus),
        "ywf:package_count": sw.package_count,
    }
    for key, value in (
        ("ywf:os_release", sw.os_release),
        ("ywf:cpu_model", sw.cpu_model),
        ("ywf:cpu_count", sw.cpu_count),
        ("ywf:memory_total_bytes", sw.memory_total_bytes),
        ("ywf:gpu_models", json.dumps(list(sw.gpus)) if sw.gpus else None),
        ("ywf:gpu_driver", sw.gpu_driver),
        ("ywf:packages_path", sw.packages.path if sw.packages else None),
        ("ywf:packages_sha256", sw.packages.sha256 if sw.packages else None),
        ("ywf:git_commit", sw.git_commit),
        ("ywf:git_dirty", sw.git_dirty),
    ):
        _put(attrs, key, value)
    attrs.update({f"package:{V.safe(k)}": v for k, v in sw.versions.items()})
    attrs.update({f"ywf:missing_{V.safe(k)}": v for k, v in sw.missing.items()})
    return attrs


def _workflow_plan(builder: DocumentBuilder, start: RunStart) -> str | None:
    if start.workflow_path is None:
        return None
    attrs: Attrs = {
        "prov:type": "prov:Plan",
        "prov:label": start.workflow_path,
        "ywf:path": start.workflow_path,
    }
    _put(attrs, "ywf:sha256", start.workflow_sha256)
    ident = V.plan_id("workflow", start.workflow_path.rsplit("/", 1)[-1], start.workflow_sha256)
    return builder.element("entity", ident, attrs)


def _association(activity: str, agent: str, plan: str | None, role: str) -> Attrs:
    attrs: Attrs = {"prov:activity": activity, "prov:agent": agent, "prov:role": role}
    _put(attrs, "prov:plan", plan)
    return attrs


def _close_run(
    builder: DocumentBuilder,
    run: str,
    start: RunStart,
    end: RunEnd | None,
    count: int,
    damaged_lines: int,
) -> None:
    attrs = builder.doc["activity"][run]
    if end is None:
        attrs["ywf:status"] = "incomplete"
        ends = [a.get("prov:endTime") for k, a in builder.doc["activity"].items() if k != run]
        attrs["prov:endTime"] = max((e for e in ends if e), default=_time(start.started))
    else:
        attrs["ywf:status"] = end.status
        attrs["prov:endTime"] = _time(max(end.ended, start.started))
        attrs["ywf:recording_errors"] = end.recording_errors
        attrs.update(_prefixed("ywf", end.attributes))
    attrs["ywf:steps"] = count
    attrs["ywf:duplicate_generations"] = builder.duplicate_generations
    attrs["ywf:journal_damaged_lines"] = damaged_lines


def _add_step(
    builder: DocumentBuilder, step: StepRecord, ident: str, run: str, engine: str
) -> None:
    ident = builder.element("activity", ident, _step_attrs(builder, step))
    starter = builder.latest.get(step.parent, run) if step.parent else run
    builder.relation(
        "wasStartedBy",
        {"prov:activity": ident, "prov:starter": starter, "prov:time": builder.time(step.started)},
    )
    for key in step.informed_by:
        if key in builder.latest:
            builder.relation(
                "wasInformedBy", {"prov:informed": ident, "prov:informant": builder.latest[key]}
            )
    plan = _step_plan(builder, step)
    builder.relation("wasAssociatedWith", _association(ident, engine, plan, "ywf:engine"))
    _add_usages(builder, ident, step)
    if step.status == "completed":
        used = set(step.inputs)  # a file passed through unchanged was not generated here
        for record in step.outputs:
            _generate(builder, ident, step, record, "ywf:output", used)
    for record in step.logs:
        _generate(builder, ident, step, record, "ywf:log")
    for record in step.benchmarks:
        _generate(builder, ident, step, record, "ywf:benchmark")
    if step.usage.series is not None:
        _add_series(builder, ident, step, step.usage.series)
    _add_tracked(builder, ident, step)


def _step_attrs(builder: DocumentBuilder, step: StepRecord) -> Attrs:
    attrs: Attrs = {
        "prov:type": "wfprov:ProcessRun",
        "prov:label": f"{step.name} (attempt {step.attempt})",
        "prov:startTime": builder.time(step.started),
        "prov:endTime": builder.time(max(step.ended, step.started)),
        "ywf:step_name": step.name,
        "ywf:job_key": step.key,
        "ywf:attempt": step.attempt,
        "ywf:status": step.status,
    }
    _put(attrs, "ywf:error", step.error)
    _put(attrs, "ywf:exit_code", step.exit_code)
    _put(attrs, "ywf:host", step.host)
    _put(attrs, "ywf:pid", step.pid)
    if step.code is not None:
        _put_code(attrs, step.code)
    _put_prefixed(builder, attrs, "wildcard:", step.wildcards)
    _put_prefixed(builder, attrs, "resource:", step.resources)
    _put_prefixed(builder, attrs, "ywf:", step.attributes)
    _put_usage(builder, attrs, step.usage)
    _put_prefixed(builder, attrs, "ywf:missing_", step.tracking_missing)
    return attrs


def _put_code(attrs: Attrs, code: Code) -> None:
    attrs["ywf:code_kind"] = code.kind
    _put(attrs, "ywf:command", code.text)
    _put(attrs, "ywf:script", code.path)
    _put(attrs, "ywf:code_sha256", code.sha256)


def _put_usage(builder: DocumentBuilder, attrs: Attrs, usage: Usage) -> None:
    attrs["ywf:usage_source"] = usage.source
    _put(attrs, "ywf:usage_note", usage.note)
    _put_prefixed(builder, attrs, "ywf:", usage.figures)
    _put_prefixed(builder, attrs, "ywf:source_", usage.sources)
    _put_prefixed(builder, attrs, "ywf:missing_", usage.missing)


def _add_series(
    builder: DocumentBuilder, activity: str, step: StepRecord, record: FileRecord
) -> None:
    """The step's usage time series: a file the recording made, generated by the step."""
    entity = _file_entity(builder, record)
    attrs = builder.doc["entity"][entity]
    attrs["prov:type"] = "ywf:UsageTimeSeries"
    attrs["ywf:format"] = "text/csv+gzip; columns: docs/usage.md"
    builder.generation(entity, activity, step.ended, "ywf:usage_series")


def _add_tracked(builder: DocumentBuilder, activity: str, step: StepRecord) -> None:
    """What the step's own code logged: metric series, hyper-parameters and artifacts."""
    for series in step.metrics:
        ident = V.metric_id(step.step_id, series.name, series.context)
        entity = builder.element("entity", ident, _metric_attrs(series))
        builder.generation(entity, activity, step.ended, "ywf:metric")
    for name, value in step.hyperparams.items():
        builder.relation(
            "used",
            {
                "prov:activity": activity,
                "prov:entity": _hyperparam_entity(builder, name, value),
                "prov:time": builder.time(step.started),
                "prov:role": "ywf:hyperparameter",
            },
        )
    for artifact in step.artifacts:
        _add_artifact(builder, activity, step, artifact)


METRIC_FORMATS = {
    "csv": "text/csv; header: step,value,time",
    "parquet": "application/vnd.apache.parquet; columns: step,value,time",
}


def _metric_attrs(series: MetricSeries) -> Attrs:
    """One series: its file and its summary (docs/tracking.md), never its points."""
    attrs: Attrs = {
        "prov:type": ["provml:Metric", "ywf:MetricSeries"],
        "prov:label": series.name,
        "ywf:path": series.file.path,
        "dcterms:identifier": series.file.path,
        "ywf:format": METRIC_FORMATS.get(series.format, series.format),
        "ywf:count": series.count,
    }
    for key, value in (
        ("provml:context", series.context),
        ("ywf:sha256", series.file.sha256),
        ("ywf:size_bytes", series.file.size),
        ("ywf:first", series.first),
        ("ywf:last", series.last),
        ("ywf:min", series.min),
        ("ywf:max", series.max),
        ("ywf:min_step", series.min_step),
        ("ywf:max_step", series.max_step),
        ("ywf:unit", series.unit),
        ("ywf:source", series.source),
    ):
        _put(attrs, key, value)
    return attrs


HYPERPARAMETER = ["ywf:Parameter", "provml:HyperParameter"]


def _hyperparam_entity(builder: DocumentBuilder, name: str, value: Value) -> str:
    """The parameter entity of (name, value), shared with the workflow's own parameters, typed
    as a hyper-parameter too."""
    ident = V.param_id(name, json.dumps(value))
    found = builder.doc.get("entity", {}).get(ident)
    if found is None:
        attrs: Attrs = {"prov:type": list(HYPERPARAMETER), "prov:label": name, "prov:value": value}
        return builder.element("entity", ident, attrs)
    if found.get("prov:type") == "ywf:Parameter":
        found["prov:type"] = list(HYPERPARAMETER)
    return ident


def _add_artifact(
    builder: DocumentBuilder, activity: str, step: StepRecord, artifact: Artifact
) -> None:
    """A logged file: used (`is_input`) or generated by the step, unless the step already
    generated that version (an output it also logged); a model is typed as one."""
    record = artifact.file
    entity = _file_entity(builder, record)
    role = "ywf:model" if artifact.is_model else "ywf:artifact"
    if artifact.is_model:
        _mark_model(builder.doc["entity"][entity])
    if artifact.is_input:
        used = {"prov:activity": activity, "prov:entity": entity, "prov:role": role}
        builder.relation("used", {**used, "prov:time": builder.time(step.started)})
    elif record.kind != "missing" and record not in step.inputs:
        _generate_logged(builder, activity, step, record, role)


def _generate_logged(
    builder: DocumentBuilder, activity: str, step: StepRecord, record: FileRecord, role: str
) -> None:
    """Generated by the step, unless it already generated that version (a logged output)."""
    entity = _file_entity(builder, record)
    if builder.generated_by(entity) != activity:
        builder.generation(entity, activity, step.ended, role)
    for member in record.members:
        _generate_logged(builder, activity, step, member, role)


def _mark_model(attrs: Attrs) -> None:
    kind = attrs.get("prov:type")
    kinds = list(kind) if isinstance(kind, list) else [kind]
    if "provml:Model" not in kinds:
        attrs["prov:type"] = [*kinds, "provml:Model"]


def _prefixed(prefix: str, values: dict[str, Value]) -> Attrs:
    return {f"{prefix}:{V.safe(k)}": _typed(v) for k, v in values.items()}


def _put_prefixed(
    builder: DocumentBuilder, attrs: Attrs, prefix: str, values: Mapping[str, Value]
) -> None:
    """`values` written into `attrs` under the names `prefix` + safe key (made once per
    document: `prefix` ends in its separator, `ywf:` or `ywf:missing_`)."""
    if not values:
        return
    names = builder.names(prefix)
    for key, value in values.items():
        attrs[names.get(key) or builder.name(prefix, key)] = value


def _step_plan(builder: DocumentBuilder, step: StepRecord) -> str:
    digest = step.code.sha256 if step.code else None
    attrs: Attrs = {"prov:type": "prov:Plan", "prov:label": step.name, "ywf:step_name": step.name}
    _put(attrs, "ywf:code_sha256", digest)
    return builder.element("entity", V.plan_id("step", step.name, digest), attrs)


def _add_usages(builder: DocumentBuilder, activity: str, step: StepRecord) -> None:
    time = builder.time(step.started)
    for record in step.inputs:
        entity = _file_entity(builder, record)
        builder.relation(
            "used",
            {
                "prov:activity": activity,
                "prov:entity": entity,
                "prov:time": time,
                "prov:role": "ywf:input",
            },
        )
    for name, value in step.params.items():
        entity = _param_entity(builder, name, value, step.values.get(name), step.key)
        builder.relation(
            "used",
            {
                "prov:activity": activity,
                "prov:entity": entity,
                "prov:time": time,
                "prov:role": "ywf:parameter",
            },
        )
    for name, key in step.upstream:
        builder.relation(
            "used",
            {
                "prov:activity": activity,
                "prov:entity": _upstream_entity(builder, key),
                "prov:time": time,
                "prov:role": "ywf:upstream",
                "ywf:argument": name,
            },
        )


def _generate(
    builder: DocumentBuilder,
    activity: str,
    step: StepRecord,
    record: FileRecord,
    role: str,
    used: set[FileRecord] | None = None,
) -> None:
    """The step generated the file; a directory's member files too, with the same role."""
    if record.kind == "missing" or (used and record in used):
        return
    builder.generation(_file_entity(builder, record), activity, step.ended, role)
    for member in record.members:
        _generate(builder, activity, step, member, role, used)


def _file_entity(builder: DocumentBuilder, record: FileRecord) -> str:
    ident = builder.artifact(record.path, record.sha256)
    if ident in builder.doc.get("entity", {}):
        return ident
    builder.element("entity", ident, _file_attrs(record))
    for member in record.members:
        entity = _file_entity(builder, member)
        builder.relation("hadMember", {"prov:collection": ident, "prov:entity": entity})
    return ident


def _file_attrs(record: FileRecord) -> Attrs:
    directory = record.kind == "directory"
    attrs: Attrs = {
        "prov:type": ["ywf:Directory", "prov:Collection"] if directory else "ywf:File",
        "prov:label": record.path,
        "ywf:path": record.path,
    }
    _put(attrs, "ywf:sha256", record.sha256)
    _put(attrs, "ywf:size_bytes", record.size)
    if record.kind == "missing":
        attrs["ywf:missing"] = True
    if record.members_left_out:
        attrs["ywf:members_left_out"] = record.members_left_out
        attrs["ywf:members_note"] = (
            f"only the first {len(record.members)} files below the directory are its members"
        )
    return attrs


def _param_entity(
    builder: DocumentBuilder, name: str, value: Value, info: ValueRecord | None, key: str
) -> str:
    """One entity per (name, value); a value known only by a preview is also per step."""
    if info is not None:
        return _new_param_entity(builder, name, value, info, key)
    known = (name, type(value), repr(value))  # json.dumps(value) differs where repr does
    found = builder.param_ids.get(known)
    if found is None:
        found = builder.param_ids[known] = _new_param_entity(builder, name, value, None, key)
    return found


def _new_param_entity(
    builder: DocumentBuilder, name: str, value: Value, info: ValueRecord | None, key: str
) -> str:
    attrs: Attrs = {"prov:type": "ywf:Parameter", "prov:label": name, "prov:value": _typed(value)}
    identity = int.__repr__(value) if type(value) is int else json.dumps(value)  # the same text
    if info is not None:
        attrs.update(_value_attrs(info))
        identity += info.digest or f"/{key}"
    return builder.element("entity", V.param_id(name, identity), attrs)


def _value_attrs(info: ValueRecord) -> Attrs:
    attrs: Attrs = {"ywf:type": info.type}
    _put(attrs, "ywf:size", info.size)
    _put(attrs, "ywf:digest", info.digest)
    return attrs


def _add_result(builder: DocumentBuilder, step: StepRecord, activity: str) -> None:
    """The value a completed (or cached) step returned, as an entity it generated."""
    if step.result is None or step.status not in ("completed", "cached"):
        return
    attrs: Attrs = {"prov:type": "ywf:Value", "prov:label": f"result of {step.name}"}
    _put(attrs, "prov:value", step.result.preview)
    attrs.update(_value_attrs(step.result))
    entity = builder.element("entity", V.value_id(step.key), attrs)
    builder.generation(entity, activity, step.ended, "ywf:result")


def _upstream_entity(builder: DocumentBuilder, key: str) -> str:
    """The result of an upstream step; declared bare if that step left no record of it."""
    attrs: Attrs = {"prov:type": "ywf:Value", "prov:label": f"result of {key}"}
    return builder.element("entity", V.value_id(key), attrs)


def _put(attrs: Attrs, key: str, value: Any) -> None:
    if value is not None:
        attrs[key] = value
