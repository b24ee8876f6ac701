"""Read the metric series a document points to (for `yprov metrics`).

A series entity (`prov:type` `provml:Metric`) names its file by `ywf:path`, relative to the run
folder that holds the document; the step that logged it generated it (role `ywf:metric`). Any
document shaped as PROV-JSON is read without surprises: entries that are not what they should be
are skipped, and a path that leaves the run folder is refused (a document is data, not a key to
the file system).
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yprov_workflows.assemble import assemble
from yprov_workflows.errors import DocumentError, YProvError
from yprov_workflows.pending import settle
from yprov_workflows.runs import document_path, journal_path
from yprov_workflows.tracking.series import read_points
from yprov_workflows.validation import load_prov_document

Point = tuple[int, float, float]
PARQUET_HINT = "pip install 'yprov-workflows[parquet]'"


@dataclass(frozen=True)
class SeriesRef:
    """One series of a document and the step that logged it."""

    activity: str
    step_name: str
    label: str
    name: str
    context: str | None
    unit: str | None
    path: str
    format: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.name if self.context is None else f"{self.name}[{self.context}]"


def open_source(source: Path) -> tuple[dict[str, Any], Path]:
    """The document of RUN_OR_DOCUMENT and the run folder its paths are relative to: a document
    file, a run folder (its document, or its journal assembled now), or an output folder (its
    latest run)."""
    settle()  # documents this process still completes (a Prefect flow's end)
    if source.is_dir():
        return _from_folder(source)
    document = load_prov_document(source)
    return document, source.resolve().parent


def _from_folder(folder: Path) -> tuple[dict[str, Any], Path]:
    run_dir = folder.resolve()
    for candidate in (document_path(run_dir), folder / "latest.prov.json"):
        if candidate.is_file():
            return load_prov_document(candidate), candidate.resolve().parent
    if journal_path(run_dir).is_file():
        return assemble(run_dir), run_dir
    raise DocumentError(
        f"{folder} holds no document and no journal: give a run folder (.yprov/<run id>), its "
        "document, or the output folder (.yprov)"
    )


def find_series(
    doc: Mapping[str, Any],
    step: str | None = None,
    name: str | None = None,
    context: str | None = None,
) -> list[SeriesRef]:
    """The series of the document, filtered, ordered by step start, step and title."""
    activities = dict(elements(doc, "activity"))
    params = params_by_activity(doc)
    found = []
    for entity, activity in generations(doc, "ywf:metric"):
        attrs = element(doc, "entity", entity)
        step_attrs = activities.get(activity)
        if attrs is None or step_attrs is None:
            continue
        ref = _ref(attrs, activity, step_attrs, params.get(activity, {}))
        if ref is not None and _matches(ref, step, name, context):
            found.append((str(step_attrs.get("prov:startTime", "")), ref))
    found.sort(key=lambda pair: (pair[0], pair[1].activity, pair[1].title))
    return [ref for _, ref in found]


def _matches(ref: SeriesRef, step: str | None, name: str | None, context: str | None) -> bool:
    return (
        (step is None or ref.step_name == step)
        and (name is None or ref.name == name)
        and (context is None or ref.context == context)
    )


def _ref(
    attrs: Mapping[str, Any], activity: str, step: Mapping[str, Any], params: dict[str, Any]
) -> SeriesRef | None:
    name, path = attrs.get("prov:label"), attrs.get("ywf:path")
    if not isinstance(name, str) or not isinstance(path, str):
        return None
    return SeriesRef(
        activity=activity,
        step_name=_text(step.get("ywf:step_name")) or activity,
        label=_text(step.get("prov:label")) or activity,
        name=name,
        context=_text(attrs.get("provml:context")),
        unit=_text(attrs.get("ywf:unit")),
        path=path,
        format="parquet" if "parquet" in str(attrs.get("ywf:format", "")) else "csv",
        params=params,
    )


def params_by_activity(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Activity -> the hyper-parameters it used (label -> value)."""
    found: dict[str, dict[str, Any]] = {}
    for used in relations(doc, "used"):
        entity, activity = used.get("prov:entity"), used.get("prov:activity")
        if used.get("prov:role") != "ywf:hyperparameter" or not isinstance(activity, str):
            continue
        attrs = element(doc, "entity", entity) if isinstance(entity, str) else None
        if attrs is not None and isinstance(attrs.get("prov:label"), str):
            found.setdefault(activity, {})[attrs["prov:label"]] = attrs.get("prov:value")
    return found


def generations(doc: Mapping[str, Any], role: str) -> Iterator[tuple[str, str]]:
    for relation in relations(doc, "wasGeneratedBy"):
        entity, activity = relation.get("prov:entity"), relation.get("prov:activity")
        ok = relation.get("prov:role") == role and isinstance(activity, str)
        if ok and isinstance(entity, str):
            yield entity, str(activity)


def relations(doc: Mapping[str, Any], kind: str) -> Iterator[Mapping[str, Any]]:
    for _, attrs in elements(doc, kind):
        yield attrs


def elements(doc: Mapping[str, Any], kind: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    bucket = doc.get(kind)
    if not isinstance(bucket, Mapping):
        return
    for ident, content in bucket.items():
        for attrs in content if isinstance(content, list) else [content]:
            if isinstance(attrs, Mapping):
                yield str(ident), attrs


def element(doc: Mapping[str, Any], kind: str, ident: str) -> Mapping[str, Any] | None:
    bucket = doc.get(kind)
    content = bucket.get(ident) if isinstance(bucket, Mapping) else None
    if isinstance(content, list):
        content = next((c for c in content if isinstance(c, Mapping)), None)
    return content if isinstance(content, Mapping) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def locate(run_dir: Path, ref: SeriesRef) -> Path:
    """The series file of `ref`; YProvError when its path leaves the run folder."""
    root = run_dir.resolve()
    path = (root / ref.path).resolve()
    if Path(ref.path).is_absolute() or not path.is_relative_to(root):
        raise YProvError(f"series {ref.title} of {ref.label}: {ref.path} is outside the run folder")
    if not path.is_file():  # missing, or a folder or pipe that must not be read
        raise YProvError(f"series {ref.title} of {ref.label}: {ref.path} is not a file")
    return path


def read_series(run_dir: Path, ref: SeriesRef) -> list[Point] | None:
    """The points of a series; None (with a warning) when its file cannot be read."""
    try:
        path = locate(run_dir, ref)
        if ref.format == "parquet":
            return _parquet_points(path)
        return [point for chunk in read_points(path) for point in chunk]
    except (OSError, YProvError, ImportError, ValueError) as exc:
        warnings.warn(f"series {ref.title} of {ref.label} skipped: {exc}", stacklevel=2)
        return None


def _parquet_points(path: Path) -> list[Point]:
    try:
        parquet: Any = importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise ImportError(f"reading Parquet needs pyarrow: {PARQUET_HINT}") from exc
    table = parquet.read_table(str(path)).to_pydict()
    return list(zip(table["step"], table["value"], table["time"], strict=True))


def shown(value: float) -> str:
    """A value for a table: 6 significant digits; `nan`/`inf` as Python writes them."""
    return f"{value:.6g}" if math.isfinite(value) else str(value)
