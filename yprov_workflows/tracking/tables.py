"""`yprov metrics` output: a readable table per step, CSV (long form) or JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from typing import Any

from yprov_workflows.tracking.read import Point, SeriesRef, shown

Loaded = list[tuple[SeriesRef, list[Point]]]
CSV_COLUMNS = ("step_name", "activity", "name", "context", "step", "value", "time", "unit")


def table_lines(loaded: Loaded) -> Iterator[str]:
    """Per step activity: a title line, then one row per step with one column per series."""
    for activity, group in _by_activity(loaded):
        yield f"{group[0][0].label} [{activity}]"
        yield from _table([ref.title for ref, _ in group], [points for _, points in group])
        yield ""


def _by_activity(loaded: Loaded) -> list[tuple[str, Loaded]]:
    groups: dict[str, Loaded] = {}
    for ref, points in loaded:
        groups.setdefault(ref.activity, []).append((ref, points))
    return list(groups.items())


def _table(titles: list[str], series: list[list[Point]]) -> Iterator[str]:
    columns: list[dict[int, str]] = [{p[0]: shown(p[1]) for p in points} for points in series]
    steps = sorted({step for column in columns for step in column})
    cells = [["step", *titles]]
    cells += [[str(step), *(column.get(step, "") for column in columns)] for step in steps]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        yield "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))


def csv_text(loaded: Loaded) -> str:
    """Every point, one row each: readable with one `pandas.read_csv` call."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ref, points in loaded:
        for step, value, time in points:
            row = (ref.step_name, ref.activity, ref.name, ref.context or "", step, value, time)
            writer.writerow((*row, ref.unit or ""))
    return out.getvalue()


def json_text(loaded: Loaded) -> str:
    """A list of series, each with its step, name, context, unit and points [step, value, time]
    (a value that is not finite is null)."""
    return json.dumps([_series_json(ref, points) for ref, points in loaded], indent=1)


def _series_json(ref: SeriesRef, points: list[Point]) -> dict[str, Any]:
    return {
        "step_name": ref.step_name,
        "activity": ref.activity,
        "label": ref.label,
        "name": ref.name,
        "context": ref.context,
        "unit": ref.unit,
        "path": ref.path,
        "params": ref.params,
        "points": [[s, v if math.isfinite(v) else None, t] for s, v, t in points],
    }
