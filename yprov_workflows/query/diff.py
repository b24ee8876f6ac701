"""`diff`: what differs between two runs, step by step.

Steps are matched by their stable identity, never by order: the rule or task name and its
wildcards; where these leave several steps alike (Prefect tasks called more than once), also
their parameters; steps of one name that are still unmatched then pair up in order of start (a
task whose parameter changed). Each step is compared by its last attempt.

Differences (any of them makes the runs differ, exit status 1):
- run: config values, the workflow file's hash, the engine's version, the status, the software
  environment (each attribute, and each package whose version changed when both package lists
  are on disk);
- steps added and removed;
- per matched step: status, parameters, hyper-parameters, input and output files (by path, by
  sha256), the returned result, code (`ywf:code_sha256`: the rule's code or script, the task's
  source), script path, conda environment and container image.

Usage is reported, never a difference: wall time, CPU time, peak RSS and energy, per step and for
the run, when the change is above the noise: more than 10 % and more than 0.1 s, 1 MiB or 1 J.
Times (start, end) are never compared. A step whose parameters, code, conda environment or
container changed lists the steps downstream of it (in the second run).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yprov_workflows.gc_pause import paused_gc
from yprov_workflows.query.graph import (
    Attrs,
    RunGraph,
    Step,
    number,
    seconds,
    text,
    wildcards,
)
from yprov_workflows.query.lineage import lineage

NOISE_RELATIVE = 0.10
NOISE_ABSOLUTE = {"s": 0.1, "bytes": float(2**20), "J": 1.0}
"""A usage change is shown when it is above both: 10 % and 0.1 s / 1 MiB / 1 J."""
USAGE = (
    ("wall_s", "s"),
    ("cpu_total_s", "s"),
    ("max_rss_bytes", "bytes"),
    ("gpu_energy_j", "J"),
    ("cpu_energy_attributed_j", "J"),
)
RUN_USAGE = (
    ("total_cpu_total_s", "s"),
    ("max_step_rss_bytes", "bytes"),
    ("total_gpu_energy_j", "J"),
    ("total_cpu_energy_attributed_j", "J"),
)
CAUSES = frozenset({"parameter", "hyperparameter", "code", "script", "conda_env", "container"})
"""Step changes that come from the step itself rather than from its inputs."""
MAX_DOWNSTREAM_LISTS = 50
"""With more changed steps than this, only the union of their downstream steps is listed."""
_STEP_ATTRS = (
    ("ywf:status", "status"),
    ("ywf:code_sha256", "code"),
    ("ywf:script", "script"),
    ("ywf:conda_env", "conda_env"),
    ("ywf:container", "container"),
)
_SKIPPED_ENVIRONMENT = ("prov:type", "prov:label")


@dataclass(frozen=True)
class Change:
    """One difference. `kind`: config, workflow, engine, status, environment, package,
    parameter, hyperparameter, input, output, result, code, script, conda_env, container;
    `name` what changed (a key, a path); `before`/`after` its values (None: absent)."""

    kind: str
    name: str
    before: Any
    after: Any


@dataclass(frozen=True)
class UsageDelta:
    """A usage figure that changed above the noise."""

    figure: str
    unit: str
    before: float
    after: float

    @property
    def relative(self) -> float:
        return (self.after - self.before) / self.before if self.before else float("inf")


@dataclass(frozen=True)
class StepDiff:
    """A step of both runs that differs, or whose usage changed. `downstream`: labels of the
    steps downstream of it in the second run, when a change of its own (parameters, code,
    environment) makes it a cause."""

    label: str
    a: str
    b: str
    changes: tuple[Change, ...]
    usage: tuple[UsageDelta, ...]
    downstream: tuple[str, ...] = ()

    @property
    def is_cause(self) -> bool:
        return any(c.kind in CAUSES for c in self.changes)


@dataclass(frozen=True)
class RunDiff:
    """The differences between run A and run B; `identical` when there are none (usage and
    times aside). `downstream` lists every step downstream of a changed step (second run)."""

    a: str | None
    b: str | None
    matched: int
    run_changes: tuple[Change, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    steps: tuple[StepDiff, ...]
    usage: tuple[UsageDelta, ...]
    downstream: tuple[str, ...]

    @property
    def identical(self) -> bool:
        changed = any(s.changes for s in self.steps)
        return not (self.run_changes or self.added or self.removed or changed)


def diff_runs(
    a: RunGraph, b: RunGraph, a_dir: Path | None = None, b_dir: Path | None = None
) -> RunDiff:
    """Compare two runs' graphs; `a_dir`/`b_dir` are their run folders (for the package lists)."""
    with paused_gc():
        return _diff(a, b, a_dir, b_dir)


def _diff(a: RunGraph, b: RunGraph, a_dir: Path | None, b_dir: Path | None) -> RunDiff:
    pairs, removed, added = match_steps(a, b)
    pairs.sort(key=lambda pair: _by_start(b, pair[1].id))
    steps = [d for d in (_step_diff(a, sa, b, sb) for sa, sb in pairs) if d.changes or d.usage]
    causes = [d for d in steps if d.is_cause]
    downstream = _downstream_union(b, [d.b for d in causes])
    if len(causes) <= MAX_DOWNSTREAM_LISTS:
        steps = [_with_downstream(b, d) if d.is_cause else d for d in steps]
    return RunDiff(
        a=a.run_id,
        b=b.run_id,
        matched=len(pairs),
        run_changes=tuple(_run_changes(a, b, a_dir, b_dir)),
        added=tuple(b.label(s.id) for s in added),
        removed=tuple(a.label(s.id) for s in removed),
        steps=tuple(steps),
        usage=tuple(_run_usage(a, b)),
        downstream=downstream,
    )


# Matching steps


def match_steps(a: RunGraph, b: RunGraph) -> tuple[list[tuple[Step, Step]], list[Step], list[Step]]:
    """(A step, B step) pairs, A's unmatched steps, B's unmatched steps (last attempts)."""
    ids_a, ids_b = identities(a), identities(b)
    pairs = [(ids_a[i], ids_b[i]) for i in ids_a if i in ids_b]
    left_a = [s for i, s in ids_a.items() if i not in ids_b]
    left_b = [s for i, s in ids_b.items() if i not in ids_a]
    by_name: dict[str, list[Step]] = {}
    for step in left_b:
        by_name.setdefault(step.name, []).append(step)
    removed = []
    for step in left_a:
        candidates = by_name.get(step.name)
        if candidates:
            pairs.append((step, candidates.pop(0)))
        else:
            removed.append(step)
    added = [s for group in by_name.values() for s in group]
    return pairs, removed, added


def identities(graph: RunGraph) -> dict[str, Step]:
    """Stable identity -> last attempt: name and wildcards, plus the parameters where these
    leave several steps alike (then `#2`, `#3` ... for steps alike in everything)."""
    finals = graph.final_attempts()
    base = {s.id: _base(s) for s in finals}
    counts: dict[str, int] = {}
    for identity in base.values():
        counts[identity] = counts.get(identity, 0) + 1
    found: dict[str, Step] = {}
    for step in finals:
        identity = base[step.id]
        if counts[identity] > 1:
            identity += " " + _params_key(graph, step.id)
        unique, n = identity, 1
        while unique in found:
            n += 1
            unique = f"{identity} #{n}"
        found[unique] = step
    return found


def _base(step: Step) -> str:
    return json.dumps([step.name, sorted(wildcards(step.attrs).items())])


def _params_key(graph: RunGraph, step: str) -> str:
    return json.dumps(sorted(_params(graph, step).items()), default=str)


def _by_start(graph: RunGraph, step: str) -> tuple[bool, float, str]:
    start = graph.steps[step].start
    return start is None, start or 0.0, step


# Comparing one step


def _step_diff(a: RunGraph, sa: Step, b: RunGraph, sb: Step) -> StepDiff:
    changes = [
        *_parameters(_params(a, sa.id), _params(b, sb.id)),
        *_mapping(
            "hyperparameter",
            a.params(sa.id, "ywf:hyperparameter"),
            b.params(sb.id, "ywf:hyperparameter"),
        ),
        *_mapping("input", _files(a, a.used, sa.id), _files(b, b.used, sb.id)),
        *_mapping("output", _files(a, a.generated, sa.id), _files(b, b.generated, sb.id)),
        *_mapping("result", _results(a, sa.id), _results(b, sb.id)),
    ]
    for attr, kind in _STEP_ATTRS:
        before, after = sa.attrs.get(attr), sb.attrs.get(attr)
        if before != after:
            changes.append(Change(kind, attr.split(":", 1)[1], before, after))
    usage = _usage(sa.attrs, sb.attrs, USAGE)
    return StepDiff(b.label(sb.id), sa.id, sb.id, tuple(changes), tuple(usage))


def _mapping(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    names = sorted(set(before) | set(after))
    return [
        Change(kind, name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name) or (name in before) != (name in after)
    ]


def _params(graph: RunGraph, step: str) -> dict[str, tuple[Any, Any]]:
    """Parameter name -> (value, digest): a value is its preview and, for arguments described
    by `describe` (Prefect), its digest (None when not computed)."""
    found: dict[str, tuple[Any, Any]] = {}
    for entity, role in graph.used.get(step, ()):
        attrs = graph.entities.get(entity)
        if role == "ywf:parameter" and attrs is not None:
            name = text(attrs.get("prov:label")) or entity
            found[name] = (attrs.get("prov:value"), attrs.get("ywf:digest"))
    return found


def _parameters(
    before: dict[str, tuple[Any, Any]], after: dict[str, tuple[Any, Any]]
) -> list[Change]:
    """Changed parameters, shown by value (by digest where the previews are the same)."""
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            by_digest = old is not None and new is not None and old[0] == new[0]
            changes.append(
                Change("parameter", name, _param(old, by_digest), _param(new, by_digest))
            )
    return changes


def _param(pair: tuple[Any, Any] | None, by_digest: bool) -> Any:
    if pair is None:
        return None
    return f"sha256:{pair[1]}" if by_digest else pair[0]


def _files(
    graph: RunGraph, pairs: Mapping[str, list[tuple[str, str]]], step: str
) -> dict[str, Any]:
    """Path -> sha256 of the files a step used (inputs) or generated (outputs)."""
    roles = ("ywf:input", "ywf:output")
    found: dict[str, Any] = {}
    for entity, role in pairs.get(step, ()):
        attrs = graph.entities.get(entity)
        path = text(attrs.get("ywf:path")) if attrs is not None and role in roles else None
        if path is not None and attrs is not None:
            found[path] = attrs.get("ywf:sha256")
    return found


def _results(graph: RunGraph, step: str) -> dict[str, Any]:
    for entity, role in graph.generated.get(step, ()):
        attrs = graph.entities.get(entity)
        if role == "ywf:result" and attrs is not None:
            return {"result": attrs.get("ywf:digest", attrs.get("prov:value"))}
    return {}


def _usage(before: Attrs, after: Attrs, figures: Iterable[tuple[str, str]]) -> list[UsageDelta]:
    found = []
    for name, unit in figures:
        old, new = number(before.get(f"ywf:{name}")), number(after.get(f"ywf:{name}"))
        if old is not None and new is not None and _beyond_noise(old, new, unit):
            found.append(UsageDelta(name, unit, old, new))
    return found


def _beyond_noise(before: float, after: float, unit: str) -> bool:
    change = abs(after - before)
    relative = change / abs(before) if before else float("inf")
    return change > NOISE_ABSOLUTE[unit] and relative > NOISE_RELATIVE


def _with_downstream(graph: RunGraph, step: StepDiff) -> StepDiff:
    found = lineage(graph, step.b, "down").of_kind("step")
    labels = tuple(dict.fromkeys(n.label for n in found if n.id != step.b))
    return StepDiff(step.label, step.a, step.b, step.changes, step.usage, labels)


def _downstream_union(graph: RunGraph, steps: list[str]) -> tuple[str, ...]:
    if not steps:
        return ()
    reached: dict[str, None] = {}
    for step in steps:
        if step not in reached:
            for node in lineage(graph, step, "down").of_kind("step"):
                reached.setdefault(node.id)
    return tuple(dict.fromkeys(graph.label(s) for s in reached if s not in steps))


# Comparing the runs


def _run_changes(a: RunGraph, b: RunGraph, a_dir: Path | None, b_dir: Path | None) -> list[Change]:
    changes = _mapping("config", _prefixed(a.run, "config:"), _prefixed(b.run, "config:"))
    for kind, before, after in (
        ("workflow", _workflow(a), _workflow(b)),
        ("engine", a.engine, b.engine),
        ("status", a.run.get("ywf:status"), b.run.get("ywf:status")),
    ):
        if before != after:
            changes.append(Change(kind, kind, _plain(before), _plain(after)))
    env_a, env_b = _environment(a), _environment(b)
    changes += _mapping("environment", env_a, env_b)
    if env_a.get("ywf:packages_sha256") != env_b.get("ywf:packages_sha256"):
        changes += _mapping("package", _packages(a, a_dir), _packages(b, b_dir))
    return changes


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _prefixed(attrs: Attrs, prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in attrs.items() if k.startswith(prefix)}


def _workflow(graph: RunGraph) -> Any:
    """The sha256 of the workflow file (the plan of the run's engine association)."""
    for attrs in _relations(graph, "wasAssociatedWith"):
        plan = attrs.get("prov:plan")
        if attrs.get("prov:activity") == graph.run_activity and isinstance(plan, str):
            return graph.entities.get(plan, {}).get("ywf:sha256")
    return None


def _relations(graph: RunGraph, kind: str) -> Iterable[Attrs]:
    bucket = graph.document.get(kind)
    for content in bucket.values() if isinstance(bucket, Mapping) else ():
        for attrs in content if isinstance(content, list) else [content]:
            if isinstance(attrs, Mapping):
                yield attrs


def _environment(graph: RunGraph) -> dict[str, Any]:
    """The attributes of the software environment the run used."""
    for entity, role in graph.used.get(graph.run_activity or "", ()):
        attrs = graph.entities.get(entity)
        if role == "ywf:environment" and attrs is not None:
            return {k: v for k, v in attrs.items() if k not in _SKIPPED_ENVIRONMENT}
    return {}


def _packages(graph: RunGraph, run_dir: Path | None) -> dict[str, str]:
    """name -> version from the run's package list, when it is on disk (inside the run folder)."""
    path = text(_environment(graph).get("ywf:packages_path"))
    if run_dir is None or path is None:
        return {}
    file = (run_dir / path).resolve()
    if not file.is_relative_to(run_dir.resolve()) or not file.is_file():
        return {}
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    pairs = (line.partition("==") for line in lines)
    return {name: version for name, sep, version in pairs if sep}


def _run_usage(a: RunGraph, b: RunGraph) -> list[UsageDelta]:
    walls = []
    for graph in (a, b):
        start, end = (
            seconds(graph.run.get("prov:startTime")),
            seconds(graph.run.get("prov:endTime")),
        )
        walls.append({"ywf:wall_s": end - start} if start is not None and end is not None else {})
    return _usage(walls[0], walls[1], [("wall_s", "s")]) + _usage(a.run, b.run, RUN_USAGE)
