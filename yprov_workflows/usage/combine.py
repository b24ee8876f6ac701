"""Join a step's exact counters (`Usage` from wait4 or the thread's rusage) with what the sampler
measured, and attribute the CPU package energy by the step's share of the host's busy CPU time."""

from __future__ import annotations

from yprov_workflows.records import FileRecord, Usage
from yprov_workflows.usage.monitor import Sampled
from yprov_workflows.usage.rapl import attributed_energy_j
from yprov_workflows.values import Value


def with_sampled(usage: Usage, sampled: Sampled, series: FileRecord | None = None) -> Usage:
    if _only_reasons(usage, sampled, series):  # most steps: too short to be sampled
        missing = {**usage.missing, **sampled.missing}
        return Usage(usage.figures, usage.source, usage.note, usage.sources, missing)
    figures: dict[str, Value] = {**usage.figures, **sampled.figures}
    sources = {**usage.sources, **sampled.sources}
    missing = {**usage.missing, **sampled.missing}
    figures.update(_cpu_energy_share(figures, missing))
    # Built directly: `dataclasses.replace` looks up the fields on every call (once per step).
    return Usage(
        figures=figures,
        source=usage.source,
        note=usage.note,
        sources=sources,
        missing=missing,
        series=series,
    )


def _only_reasons(usage: Usage, sampled: Sampled, series: FileRecord | None) -> bool:
    """The sampler brought nothing but reasons, and there is no energy to attribute: `usage`'s
    figures and sources stay as they are (no copies)."""
    nothing = not sampled.figures and not sampled.sources and series is None
    return nothing and "cpu_package_energy_j" not in usage.figures


def _cpu_energy_share(figures: dict[str, Value], missing: dict[str, str]) -> dict[str, Value]:
    package, busy = figures.get("cpu_package_energy_j"), figures.get("host_busy_cpu_s")
    step_cpu = figures.get("cpu_total_s")
    if not _numbers(package, busy, step_cpu):
        return {}
    share = attributed_energy_j(float(package), float(step_cpu), float(busy))  # type: ignore[arg-type]
    if share is None:
        missing["cpu_energy_attributed"] = "the host's busy CPU time did not grow during the step"
        return {}
    return {
        "cpu_energy_share": round(share[0], 6),
        "cpu_energy_attributed_j": round(share[1], 3),  # an estimate: package energy x share
    }


def _numbers(*values: object) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
