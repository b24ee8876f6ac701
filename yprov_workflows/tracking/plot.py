"""`yprov metrics --plot FILE.png`: one panel per series (name and context), one line per step,
so runs of one step with different hyper-parameters are compared at a glance.

The x axis is the step (epoch) by default, `time` (seconds since the series' first point), or
`energy`: the step's cumulative energy at each step, from its `log_system_metrics` series
(`gpu_energy_j` plus `cpu_energy_j`), or its cumulative CPU seconds (`cpu_s`) where it logged no
energy. matplotlib is an optional extra (`pip install 'yprov-workflows[plot]'`).
"""

from __future__ import annotations

import importlib
import itertools
import math
import warnings
from pathlib import Path
from typing import Any

from yprov_workflows.errors import YProvError
from yprov_workflows.tracking.read import Point, SeriesRef

PLOT_HINT = "pip install 'yprov-workflows[plot]'"
ENERGY = ("gpu_energy_j", "cpu_energy_j")
MAX_PARAMS_SHOWN = 3
Loaded = list[tuple[SeriesRef, list[Point]]]


def pyplot() -> Any:
    """matplotlib's pyplot on a file-only backend; YProvError with the install hint without it."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError as exc:
        raise YProvError(f"--plot needs matplotlib: {PLOT_HINT}") from exc
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def plot(loaded: Loaded, system: Loaded, target: Path, x: str = "step") -> None:
    """Draw `loaded` into `target`; `system` holds every step's system series (for `energy`)."""
    plt = pyplot()
    panels = _panels(loaded)
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    axis_label = _x_label(x, system)
    for axis, (title, series) in zip(axes[:, 0], panels.items(), strict=True):
        for ref, points in series:
            xs = _xs(ref, points, x, system)
            if xs is not None:
                axis.plot(xs, [p[1] for p in points], marker=".", label=_legend(ref))
        axis.set_title(title)
        axis.set_xlabel(axis_label)
        axis.set_ylabel(_unit(series))
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(str(target))
    plt.close(figure)


def _panels(loaded: Loaded) -> dict[str, Loaded]:
    panels: dict[str, Loaded] = {}
    for ref, points in loaded:
        panels.setdefault(ref.title, []).append((ref, points))
    return panels


def _legend(ref: SeriesRef) -> str:
    params = itertools.islice(sorted(ref.params.items()), MAX_PARAMS_SHOWN)
    shown = ", ".join(f"{k}={v}" for k, v in params)
    return f"{ref.label} ({shown})" if shown else ref.label


def _unit(series: Loaded) -> str:
    units = {ref.unit for ref, _ in series if ref.unit}
    return units.pop() if len(units) == 1 else ""


def _x_label(x: str, system: Loaded) -> str:
    if x == "time":
        return "seconds since the first point"
    if x == "energy":
        has_energy = any(ref.name in ENERGY for ref, _ in system)
        return "cumulative energy (J)" if has_energy else "cumulative CPU time (s)"
    return "step"


def _xs(ref: SeriesRef, points: list[Point], x: str, system: Loaded) -> list[float] | None:
    if x == "step":
        return [float(p[0]) for p in points]
    if x == "time":
        start = points[0][2] if points else 0.0
        return [p[2] - start for p in points]
    by_step = _cumulative(ref.activity, system)
    if by_step is None:
        warnings.warn(
            f"{ref.title} of {ref.label}: no energy or CPU series to plot against", stacklevel=2
        )
        return None
    return [by_step.get(p[0], math.nan) for p in points]


def _cumulative(activity: str, system: Loaded) -> dict[int, float] | None:
    """Step -> the activity's energy (or CPU seconds) summed over its steps up to that one."""
    mine = [(ref, points) for ref, points in system if ref.activity == activity]
    chosen = [p for ref, p in mine if ref.name in ENERGY] or [
        p for ref, p in mine if ref.name == "cpu_s"
    ]
    if not chosen:
        return None
    per_step: dict[int, float] = {}
    for points in chosen:
        for step, value, _ in points:
            per_step[step] = per_step.get(step, 0.0) + (value if math.isfinite(value) else 0.0)
    total, cumulative = 0.0, {}
    for step in sorted(per_step):
        total += per_step[step]
        cumulative[step] = total
    return cumulative
