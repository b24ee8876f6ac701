"""`show`: what ran, how it ended, what each step cost, and the chain of steps that set the wall
time (the critical path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yprov_workflows.gc_pause import paused_gc
from yprov_workflows.query.graph import (
    FAILED,
    UNFINISHED,
    RunGraph,
    Step,
    seconds,
    text,
)
from yprov_workflows.summary import energy_line, headline, is_file, totals_line, tracked_lines


@dataclass(frozen=True)
class StepRow:
    """One step attempt: status, times and usage (None: not measured). `energy_j` is the GPU
    energy plus the CPU energy attributed to the step, where either is known."""

    id: str
    label: str
    name: str
    attempt: int
    status: str
    start: str | None
    duration_s: float | None
    cpu_s: float | None
    max_rss_bytes: float | None
    gpu_energy_j: float | None
    cpu_energy_j: float | None
    energy_j: float | None


@dataclass(frozen=True)
class NameRow:
    """The steps of one rule or task together: count, failures, summed time, CPU and energy,
    largest peak RSS."""

    name: str
    steps: int
    failed: int
    duration_s: float
    cpu_s: float
    max_rss_bytes: float | None
    energy_j: float | None


@dataclass(frozen=True)
class CriticalPath:
    """The chain of steps that set the wall time: from the step that ended last, back through
    the step each one waited for longest (of those whose outputs it used, that informed it, or
    its own earlier attempt), to a step that waited for none. `busy_s` sums their durations;
    `span_s` runs from the first one's start to the last one's end."""

    steps: tuple[str, ...]
    labels: tuple[str, ...]
    busy_s: float
    span_s: float | None


@dataclass(frozen=True)
class RunSummary:
    """What `yprov show` prints. `steps` lists failed and crashed steps first, then unfinished
    (cancelled, incomplete) ones, each group in order of start. `lines` are the summary lines
    of `yprov_workflows.summary` (headline, totals, energy, logged metrics and parameters)."""

    run_id: str | None
    engine: str | None
    engine_version: str | None
    status: str | None
    start: str | None
    end: str | None
    duration_s: float | None
    steps: tuple[StepRow, ...]
    by_name: tuple[NameRow, ...]
    critical_path: CriticalPath
    headline: str
    totals: str
    energy: str
    tracked: tuple[str, ...]


def summarize_run(graph: RunGraph) -> RunSummary:
    """The summary of one run's graph."""
    with paused_gc():
        return _summary(graph)


def _summary(graph: RunGraph) -> RunSummary:
    run, attrs = graph.run, [s.attrs for s in graph.steps.values()]
    files = sum(1 for e in graph.entities.values() if is_file(e.get("prov:type")))
    start, end = seconds(run.get("prov:startTime")), seconds(run.get("prov:endTime"))
    rows = tuple(_row(graph, s) for s in sorted(graph.steps.values(), key=_order))
    return RunSummary(
        run_id=graph.run_id,
        engine=graph.engine[0],
        engine_version=graph.engine[1],
        status=text(run.get("ywf:status")),
        start=text(run.get("prov:startTime")),
        end=text(run.get("prov:endTime")),
        duration_s=max(end - start, 0.0) if start is not None and end is not None else None,
        steps=rows,
        by_name=_by_name(rows),
        critical_path=critical_path(graph),
        headline=headline(run, len(rows)),
        totals=totals_line(attrs, files),
        energy=energy_line(run, attrs),
        tracked=tuple(tracked_lines(graph.document, _hyperparameters(graph))),
    )


def _hyperparameters(graph: RunGraph) -> dict[str, dict[str, Any]]:
    """Activity -> the hyper-parameters it logged (label -> value), from the index."""
    found: dict[str, dict[str, Any]] = {}
    for activity, pairs in graph.used.items():
        for entity, role in pairs:
            attrs = graph.entities.get(entity) if role == "ywf:hyperparameter" else None
            if attrs is not None and isinstance(attrs.get("prov:label"), str):
                found.setdefault(activity, {})[attrs["prov:label"]] = attrs.get("prov:value")
    return found


def _order(step: Step) -> tuple[int, bool, float, str]:
    group = 0 if step.status in FAILED else 1 if step.status in UNFINISHED else 2
    return group, step.start is None, step.start or 0.0, step.id


def _row(graph: RunGraph, step: Step) -> StepRow:
    gpu, cpu = step.figure("gpu_energy_j"), step.figure("cpu_energy_attributed_j")
    return StepRow(
        id=step.id,
        label=graph.label(step.id),
        name=step.name,
        attempt=step.attempt,
        status=step.status,
        start=text(step.attrs.get("prov:startTime")),
        duration_s=step.duration_s,
        cpu_s=step.figure("cpu_total_s"),
        max_rss_bytes=step.figure("max_rss_bytes"),
        gpu_energy_j=gpu,
        cpu_energy_j=cpu,
        energy_j=_total(gpu, cpu),
    )


def _total(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _by_name(rows: tuple[StepRow, ...]) -> tuple[NameRow, ...]:
    groups: dict[str, list[StepRow]] = {}
    for row in rows:
        groups.setdefault(row.name, []).append(row)
    return tuple(_name_row(name, group) for name, group in sorted(groups.items()))


def _name_row(name: str, rows: list[StepRow]) -> NameRow:
    peaks = [r.max_rss_bytes for r in rows if r.max_rss_bytes is not None]
    return NameRow(
        name=name,
        steps=len(rows),
        failed=sum(1 for r in rows if r.status in FAILED),
        duration_s=sum(r.duration_s or 0.0 for r in rows),
        cpu_s=sum(r.cpu_s or 0.0 for r in rows),
        max_rss_bytes=max(peaks) if peaks else None,
        energy_j=_total(*(r.energy_j for r in rows)),
    )


def critical_path(graph: RunGraph) -> CriticalPath:
    """See `CriticalPath`; steps without both times take no part."""
    timed = {i: s for i, s in graph.steps.items() if s.start is not None and s.end is not None}
    if not timed:
        return CriticalPath((), (), 0.0, None)
    current = max(timed.values(), key=lambda s: (s.end, s.id))
    chain, seen = [current], {current.id}
    while True:
        waited = [timed[p] for p in graph.predecessors(current.id) if p in timed and p not in seen]
        if not waited:
            break
        current = max(waited, key=lambda s: (s.end, s.id))
        chain.append(current)
        seen.add(current.id)
    chain.reverse()
    busy = sum(s.duration_s or 0.0 for s in chain)
    span = (chain[-1].end or 0.0) - (chain[0].start or 0.0)
    ids = tuple(s.id for s in chain)
    return CriticalPath(ids, tuple(graph.label(i) for i in ids), busy, max(span, 0.0))
