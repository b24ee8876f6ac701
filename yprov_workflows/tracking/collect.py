"""Fold a step folder into what goes into the step's record (`Tracked`), at the step's end.

Reads the small files only: each series' summaries (recomputed from the series file when stale,
after a writer was killed), and the events files. It hashes the series and artifact files (once per
unchanged file: the run's `FileHasher` caches by identity) and never puts a point in a record.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yprov_workflows.errors import RecordingError
from yprov_workflows.hashing import FileHasher
from yprov_workflows.records import Artifact, MetricSeries, StepRecord
from yprov_workflows.redaction import Redactor
from yprov_workflows.tracking.layout import EVENTS, METRICS, SUMMARIES, read_info
from yprov_workflows.tracking.series import Summary, is_fresh, merge, read_points, summarize_file
from yprov_workflows.values import Value, typed_mapping

Report = Callable[[Exception, str], None]
PARQUET_HINT = "pip install 'yprov-workflows[parquet]'"


@dataclass(frozen=True)
class Tracked:
    """What a step's code logged, ready for its record (see `apply`).

    - `metrics`: one `MetricSeries` per series (name x context), in name order;
    - `params`: hyper-parameters by name (the last value logged wins), secrets hidden;
    - `artifacts`: logged files with their hashes (a file logged twice is listed once);
    - `attributes`: more about the step (`experiment_name`, `run_name`);
    - `missing`: system-metric groups that could not be measured, with the reason;
    - `problems`: what went wrong while logging or collecting (each also given to `report`).
    """

    metrics: tuple[MetricSeries, ...] = ()
    params: dict[str, Value] = field(default_factory=dict)
    artifacts: tuple[Artifact, ...] = ()
    attributes: dict[str, Value] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def apply(self, step: StepRecord) -> StepRecord:
        """`step` with these values added to its tracked fields and attributes."""
        return dataclasses.replace(
            step,
            metrics=step.metrics + self.metrics,
            hyperparams={**step.hyperparams, **self.params},
            artifacts=step.artifacts + self.artifacts,
            attributes={**step.attributes, **self.attributes},
            tracking_missing={**step.tracking_missing, **self.missing},
        )


class _Problems:
    def __init__(self, folder: Path, report: Report | None) -> None:
        self.said: list[str] = []
        self._what = f"collecting the tracked values of step folder {folder.name}"
        self._report = report

    def __call__(self, text: str) -> None:
        if text in self.said:
            return
        self.said.append(text)
        if self._report is not None:
            self._report(RecordingError(text), self._what)


def collect_folder(
    folder: Path, hasher: FileHasher, redactor: Redactor, report: Report | None = None
) -> Tracked:
    """The `Tracked` of one step folder (see `StepChannel.collect`)."""
    problems = _Problems(folder, report)
    metrics = tuple(_metrics(folder, hasher, read_info(folder), problems))
    folded = _Folded()
    for event in sorted(_events(folder, problems), key=lambda e: e["t"]):
        folded.add(event, problems)
    return Tracked(
        metrics=metrics,
        params=typed_mapping(folded.params, redactor),
        artifacts=tuple(_artifact(fields, hasher) for fields in folded.artifacts.values()),
        attributes=typed_mapping(folded.attributes, redactor),
        missing={group: reason for group, reason in folded.missing.items() if reason},
        problems=tuple(problems.said),
    )


# -- metric series ---------------------------------------------------------------------------------


def _metrics(
    folder: Path, hasher: FileHasher, info: dict[str, Any], problems: _Problems
) -> Iterator[MetricSeries]:
    metrics = folder / METRICS
    if not metrics.is_dir():
        return
    summaries = _summaries(metrics / SUMMARIES, problems)
    run_dir = folder.parent.parent
    for data in sorted(metrics.glob("*.csv")):
        try:
            summary = _summary(data, summaries.get(data.stem, []))
            path, kind = _converted(data, info.get("metrics_format"), problems)
        except OSError as exc:
            problems(f"metric series {data.name}: {exc}")
            continue
        record = hasher.record(path.relative_to(run_dir).as_posix(), location=str(path))
        yield _series(summary, record, kind)


def _series(summary: Summary, record: Any, kind: str) -> MetricSeries:
    return MetricSeries(
        name=summary.name,
        context=summary.context,
        unit=summary.unit,
        source=summary.source,
        file=record,
        format=kind,
        count=summary.count,
        first=summary.first,
        last=summary.last,
        min=summary.min,
        max=summary.max,
        min_step=summary.min_step,
        max_step=summary.max_step,
    )


def _summaries(folder: Path, problems: _Problems) -> dict[str, list[Summary]]:
    """Series stem -> the summaries of its writers (`<stem>.<writer>.json`)."""
    found: dict[str, list[Summary]] = {}
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in paths:
        try:
            summary = Summary.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems(f"series summary {path.name} could not be read ({exc}): recomputed")
            continue
        found.setdefault(path.name[: -len(".json")].rsplit(".", 1)[0], []).append(summary)
    return found


def _summary(data: Path, parts: list[Summary]) -> Summary:
    """The writers' summaries merged; recomputed from the file when they do not cover it."""
    if parts and is_fresh(data, parts):
        return merge(parts)
    like = merge(parts) if parts else _from_stem(data.stem)
    return summarize_file(data, like)


def _from_stem(stem: str) -> Summary:
    """What a file name tells of a series whose every summary is lost."""
    name, _, context = stem.partition("@")
    return Summary(name, context or None)


def _converted(data: Path, wanted: Any, problems: _Problems) -> tuple[Path, str]:
    """The series file in the format the step asked for (CSV unless `parquet`)."""
    if wanted != "parquet":
        return data, "csv"
    try:
        return to_parquet(data), "parquet"
    except ImportError:
        problems(f"metrics format parquet needs pyarrow: {PARQUET_HINT}; kept as CSV")
    return data, "csv"


def to_parquet(data: Path) -> Path:
    """Convert a series CSV to Parquet chunk by chunk (bounded memory); the CSV is removed.
    Raises ImportError without pyarrow."""
    arrow: Any = importlib.import_module("pyarrow")
    parquet: Any = importlib.import_module("pyarrow.parquet")
    columns = (("step", arrow.int64()), ("value", arrow.float64()), ("time", arrow.float64()))
    schema = arrow.schema(list(columns))
    target = data.with_suffix(".parquet")
    tmp = target.with_name(f".{target.name}.tmp")
    with parquet.ParquetWriter(str(tmp), schema) as writer:
        for points in read_points(data):
            values = zip(*points, strict=True)
            table = {name: list(column) for (name, _), column in zip(columns, values, strict=True)}
            writer.write_table(arrow.table(table, schema=schema))
    os.replace(tmp, target)
    data.unlink()
    return target


# -- events ----------------------------------------------------------------------------------------

_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "param": {"name": (str,)},
    "attribute": {"name": (str,)},
    "artifact": {"path": (str,), "location": (str,)},
    "missing": {"group": (str,), "reason": (str, type(None))},
    "problem": {"text": (str,)},
}


def _events(folder: Path, problems: _Problems) -> Iterator[dict[str, Any]]:
    paths = sorted((folder / EVENTS).glob("*.jsonl")) if (folder / EVENTS).is_dir() else []
    for path in paths:
        try:
            lines = path.read_bytes().splitlines()
        except OSError as exc:
            problems(f"events {path.name} could not be read: {exc}")
            continue
        for line in lines:
            event = _event(line)
            if event is None:
                problems(f"events {path.name}: a damaged line was skipped (a killed writer?)")
            else:
                yield event


def _event(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("t"), int | float):
        return None
    fields = _FIELDS.get(event.get("kind"))  # type: ignore[arg-type]
    if fields is None or not all(isinstance(event.get(k), t) for k, t in fields.items()):
        return None
    return event


class _Folded:
    """The events of a step, in time order, folded: the last value of a name wins."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.attributes: dict[str, Any] = {}
        self.missing: dict[str, str | None] = {}
        self.artifacts: dict[tuple[str, bool], dict[str, Any]] = {}

    def add(self, event: dict[str, Any], problems: _Problems) -> None:
        kind = event["kind"]
        if kind == "param":
            self.params[event["name"]] = event.get("value")
        elif kind == "attribute":
            self.attributes[event["name"]] = event.get("value")
        elif kind == "missing":
            self.missing[event["group"]] = event["reason"]
        elif kind == "artifact":
            self.artifacts[(event["path"], event.get("is_input") is True)] = event
        else:
            problems(event["text"])


def _artifact(fields: dict[str, Any], hasher: FileHasher) -> Artifact:
    return Artifact(
        file=hasher.record(fields["path"], location=fields["location"]),
        is_model=fields.get("is_model") is True,
        is_input=fields.get("is_input") is True,
        name=_text(fields.get("name")),
        context=_text(fields.get("context")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
