"""A short human-readable summary of a run's document: what ran, how it ended, what it cost.

The summary reads any document shaped as PROV-JSON (see `shape`), whatever its attribute values:
a value that is not a number where one is expected counts as not measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yprov_workflows.shape import records
from yprov_workflows.tracking.read import element, elements, generations, params_by_activity

Attributes = Mapping[str, Any]
SYSTEM_CONTEXT = "system"  # log_system_metrics' series: not listed among the final values
MAX_SHOWN = 12


def summarize(doc: Mapping[str, Any]) -> list[str]:
    """Lines describing the run: status, steps per name, CPU, peak memory, files."""
    activities = list(records(doc, "activity"))
    run = next((a for a in activities if a.get("prov:type") == "wfprov:WorkflowRun"), {})
    steps = [a for a in activities if a.get("prov:type") == "wfprov:ProcessRun"]
    files = [e for e in records(doc, "entity") if is_file(e.get("prov:type"))]
    return [
        headline(run, len(steps)),
        *_step_lines(steps),
        totals_line(steps, len(files)),
        energy_line(run, steps),
        *tracked_lines(doc),
    ]


def headline(run: Attributes, steps: int) -> str:
    """`run <id>: <status>, <n> steps, <start> -> <end>`."""
    return (
        f"run {run.get('ywf:run_id', '?')}: {run.get('ywf:status', '?')}, {steps} steps, "
        f"{run.get('prov:startTime', '?')} -> {run.get('prov:endTime', '?')}"
    )


def totals_line(steps: list[Attributes], files: int) -> str:
    """The steps' CPU in all, the largest peak RSS and the number of file versions."""
    return (
        f"CPU {_sum(steps, 'ywf:cpu_total_s'):.2f} s in all, {_peak(steps)}, {files} file versions"
    )


def is_file(kind: Any) -> bool:
    """A file entity (a logged model is also typed `provml:Model`)."""
    return kind == "ywf:File" or (isinstance(kind, list) and "ywf:File" in kind)


def tracked_lines(
    doc: Mapping[str, Any], params: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """Per step that logged them: the last value of each metric series and the
    hyper-parameters (`yprov_workflows.tracking`); `params`: the hyper-parameters by activity,
    when the caller knows them already."""
    finals = _finals(doc)
    params = params_by_activity(doc) if params is None else params
    steps = dict(elements(doc, "activity"))
    logged = [a for a in steps if a in finals or a in params]
    logged.sort(key=lambda a: (str(steps[a].get("prov:startTime", "")), a))
    return [_tracked_line(steps[a], a, finals.get(a, []), params.get(a, {})) for a in logged]


def _finals(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    finals: dict[str, list[str]] = {}
    for entity, activity in generations(doc, "ywf:metric"):
        attrs = element(doc, "entity", entity)
        if attrs is None or attrs.get("provml:context") == SYSTEM_CONTEXT:
            continue
        name, context = attrs.get("prov:label", entity), attrs.get("provml:context")
        title = f"{name}[{context}]" if isinstance(context, str) else str(name)
        last = attrs.get("ywf:last")  # absent: the series holds no finite value at its end
        shown = _shown(last) if last is not None else "n/a"
        finals.setdefault(activity, []).append(f"{title}={shown}")
    return finals


def _tracked_line(step: Attributes, ident: str, finals: list[str], params: dict[str, Any]) -> str:
    label = step.get("prov:label", ident)
    parts = []
    if finals:
        parts.append("final " + _listed(sorted(finals)))
    if params:
        parts.append("hyper-parameters " + _listed(f"{k}={_shown(v)}" for k, v in params.items()))
    return f"  {label}: " + "; ".join(parts)


def _listed(items: Any) -> str:
    shown = list(items)
    more = f", ... ({len(shown) - MAX_SHOWN} more)" if len(shown) > MAX_SHOWN else ""
    return ", ".join(shown[:MAX_SHOWN]) + more


def _shown(value: Any) -> str:
    number = _number(value)
    if number is not None:
        return f"{number:.6g}"
    text = str(value) if isinstance(value, str | bool) or value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def energy_line(run: Attributes, steps: list[Attributes]) -> str:
    """The run's GPU and CPU energy, or why there is none."""
    gpu = _number(run.get("ywf:total_gpu_energy_j"))
    cpu = _number(run.get("ywf:total_cpu_energy_attributed_j"))
    parts = [f"GPU {gpu:.1f} J" if gpu is not None else _why(steps, "gpu", "GPU")]
    parts.append(
        f"CPU {cpu:.1f} J (attributed estimate)"
        if cpu is not None
        else _why(steps, "cpu_energy", "CPU")
    )
    return "energy: " + "; ".join(parts)


def _why(steps: list[Attributes], group: str, label: str) -> str:
    reasons = {str(s[f"ywf:missing_{group}"]) for s in steps if f"ywf:missing_{group}" in s}
    return f"{label} none ({sorted(reasons)[0]})" if reasons else f"{label} not measured"


def _step_lines(steps: list[Attributes]) -> list[str]:
    by_name: dict[str, list[Attributes]] = {}
    for step in steps:
        by_name.setdefault(str(step.get("ywf:step_name")), []).append(step)
    return [_step_line(name, group) for name, group in sorted(by_name.items())]


def _step_line(name: str, group: list[Attributes]) -> str:
    failed = sum(1 for s in group if s.get("ywf:status") == "failed")
    note = f", {failed} failed" if failed else ""
    return f"  {name}: {len(group)} step(s){note}, CPU {_sum(group, 'ywf:cpu_total_s'):.2f} s"


def _peak(steps: list[Attributes]) -> str:
    own = _max(steps, "ywf:max_rss_bytes")
    if own:
        return f"peak RSS of one step {own / 2**20:.1f} MiB"
    shared = _max(steps, "ywf:process_max_rss_bytes")
    return f"peak RSS of the shared process {shared / 2**20:.1f} MiB" if shared else "no RSS"


def _sum(steps: list[Attributes], key: str) -> float:
    return sum(_numbers(steps, key), 0.0)


def _max(steps: list[Attributes], key: str) -> float:
    return max(_numbers(steps, key), default=0.0)


def _numbers(steps: list[Attributes], key: str) -> list[float]:
    values = (_number(s.get(key)) for s in steps)
    return [value for value in values if value is not None]


def _number(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (a boolean is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond the range of a float
        return None
