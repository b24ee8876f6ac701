"""A short human-readable summary of a run's document: what ran, how it ended, what it cost."""

from __future__ import annotations

from collections import Counter
from typing import Any


def summarize(doc: dict[str, Any]) -> list[str]:
    """Lines describing the run: status, steps per name, CPU, peak memory, files."""
    activities = doc.get("activity", {})
    run: dict[str, Any] = next(
        (a for a in activities.values() if a.get("prov:type") == "wfprov:WorkflowRun"), {}
    )
    steps = [a for a in activities.values() if a.get("prov:type") == "wfprov:ProcessRun"]
    files = [e for e in doc.get("entity", {}).values() if e.get("prov:type") == "ywf:File"]
    return [
        f"run {run.get('ywf:run_id', '?')}: {run.get('ywf:status', '?')}, {len(steps)} steps, "
        f"{run.get('prov:startTime', '?')} -> {run.get('prov:endTime', '?')}",
        *_step_lines(steps),
        f"CPU {_sum(steps, 'ywf:cpu_total_s'):.2f} s in all, {_peak(steps)}, "
        f"{len(files)} file versions",
        _energy(run, steps),
    ]


def _energy(run: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    gpu, cpu = run.get("ywf:total_gpu_energy_j"), run.get("ywf:total_cpu_energy_attributed_j")
    parts = [f"GPU {gpu:.1f} J" if isinstance(gpu, int | float) else _why(steps, "gpu", "GPU")]
    parts.append(
        f"CPU {cpu:.1f} J (attributed estimate)"
        if isinstance(cpu, int | float)
        else _why(steps, "cpu_energy", "CPU")
    )
    return "energy: " + "; ".join(parts)


def _why(steps: list[dict[str, Any]], group: str, label: str) -> str:
    reasons = {str(s[f"ywf:missing_{group}"]) for s in steps if f"ywf:missing_{group}" in s}
    return f"{label} none ({sorted(reasons)[0]})" if reasons else f"{label} not measured"


def _step_lines(steps: list[dict[str, Any]]) -> list[str]:
    by_name: Counter[str] = Counter(str(s.get("ywf:step_name")) for s in steps)
    failed: Counter[str] = Counter(
        str(s.get("ywf:step_name")) for s in steps if s.get("ywf:status") == "failed"
    )
    lines = []
    for name, count in sorted(by_name.items()):
        cpu = _sum([s for s in steps if s.get("ywf:step_name") == name], "ywf:cpu_total_s")
        note = f", {failed[name]} failed" if failed[name] else ""
        lines.append(f"  {name}: {count} step(s){note}, CPU {cpu:.2f} s")
    return lines


def _peak(steps: list[dict[str, Any]]) -> str:
    own = _max(steps, "ywf:max_rss_bytes")
    if own:
        return f"peak RSS of one step {own / 2**20:.1f} MiB"
    shared = _max(steps, "ywf:process_max_rss_bytes")
    return f"peak RSS of the shared process {shared / 2**20:.1f} MiB" if shared else "no RSS"


def _sum(steps: list[dict[str, Any]], key: str) -> float:
    return float(sum(s.get(key, 0) for s in steps if isinstance(s.get(key), int | float)))


def _max(steps: list[dict[str, Any]], key: str) -> float:
    values = [s[key] for s in steps if isinstance(s.get(key), int | float)]
    return float(max(values, default=0))
