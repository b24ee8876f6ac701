"""`yprov metrics`: find the series of a document, read their files, print or draw them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from yprov_workflows.errors import YProvError
from yprov_workflows.tracking.plot import ENERGY, Loaded, plot
from yprov_workflows.tracking.read import SeriesRef, find_series, open_source, read_series
from yprov_workflows.tracking.tables import csv_text, json_text, table_lines


def metrics_output(
    source: Path,
    step: str | None,
    name: str | None,
    context: str | None,
    as_csv: bool,
    as_json: bool,
    target: Path | None,
    x_axis: str,
) -> Iterator[str]:
    """The lines `yprov metrics` prints (the plot's path when it draws one)."""
    document, run_dir = open_source(source)
    refs = find_series(document, step, name, context)
    if not refs:
        raise YProvError(_nothing_found(source, find_series(document)))
    loaded = _load(run_dir, refs)
    if not loaded:
        raise YProvError(f"no series of {source} could be read (see the warnings)")
    if target is not None:
        activities = {ref.activity for ref in refs}
        energy = [r for r in find_series(document) if r.activity in activities and _cost(r)]
        plot(loaded, _load(run_dir, energy) if x_axis == "energy" else [], target, x_axis)
        yield str(target)
    elif as_csv:
        yield csv_text(loaded).rstrip("\n")
    elif as_json:
        yield json_text(loaded)
    else:
        yield from table_lines(loaded)


def _cost(ref: SeriesRef) -> bool:
    return ref.name in ENERGY or ref.name == "cpu_s"


def _load(run_dir: Path, refs: list[SeriesRef]) -> Loaded:
    loaded = [(ref, read_series(run_dir, ref)) for ref in refs]
    return [(ref, points) for ref, points in loaded if points is not None]


def _nothing_found(source: Path, every: list[SeriesRef]) -> str:
    if not every:
        return f"{source} has no metric series (a step logs them with yprov_workflows.log_metric)"
    names = sorted({f"{r.step_name}: {r.title}" for r in every})
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return f"no series of {source} matches --step/--name/--context; it has {shown}"
