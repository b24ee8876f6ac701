"""Hand-built runs for the query tests: an ML pipeline as core records, and its document.

    prepare (seed) -> data.csv -> train[lr=0.05], train[lr=0.5] (lr, epochs) -> model_<lr>.json
    -> evaluate[lr] -> metrics_<lr>.json -> report -> report.json;   plot (failed)

File hashes follow from what made them, so a changed parameter changes every file downstream.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from yprov_workflows.provjson import build_document
from yprov_workflows.records import (
    Agents,
    Code,
    FileRecord,
    RunEnd,
    RunStart,
    Software,
    StepRecord,
    Usage,
)
from yprov_workflows.validation import validate

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RATES = (0.05, 0.5)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def file(path: str, content: str) -> FileRecord:
    return FileRecord(path, sha(content), len(content))


def software(**changes: Any) -> Software:
    base = Software(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        kernel="6.1.0",
        machine="x86_64",
        cpu_model="AMD EPYC",
        cpu_count=2,
        memory_total_bytes=8 << 30,
        packages=file("environment/packages.txt", "numpy==1.26.4\nclick==8.1.7\n"),
        package_count=2,
        versions={"snakemake": "9.27.1"},
    )
    return replace(base, **changes)


def start(run_id: str = "r1", engine: str = "snakemake", **changes: Any) -> RunStart:
    base = RunStart(
        run_id=run_id,
        started=T0,
        agents=Agents("alice", engine, "9.27.1", "0.1.0"),
        workflow_path="Snakefile",
        workflow_sha256=sha("Snakefile"),
        workdir="/nowhere/wf",
        config={"epochs": 150, "seed": 1},
        software=software(),
    )
    return replace(base, **changes)


def _step(name: str, key: str, begin: float, seconds: float, **fields: Any) -> StepRecord:
    usage = fields.pop("usage", None) or Usage({"wall_s": seconds, "cpu_total_s": seconds / 2})
    return StepRecord(
        run_id=fields.pop("run_id", "r1"),
        name=name,
        key=key,
        attempt=fields.pop("attempt", 1),
        started=T0 + timedelta(seconds=begin),
        ended=T0 + timedelta(seconds=begin + seconds),
        status=fields.pop("status", "completed"),
        usage=usage,
        code=fields.pop("code", Code("script", path=f"scripts/{name}.py", sha256=sha(name))),
        **fields,
    )


def data() -> FileRecord:
    return file("data.csv", "data seed=1")


def model(lr: float, epochs: int) -> FileRecord:
    return file(f"model_{lr}.json", f"model {lr} {epochs}")


def metrics(lr: float, epochs: int) -> FileRecord:
    return file(f"metrics_{lr}.json", f"metrics {lr} {epochs}")


def pipeline(epochs: int = 150, run_id: str = "r1", wildcards: bool = True) -> list[StepRecord]:
    """The steps of one run; `wildcards=False` makes train and evaluate look like Prefect tasks
    (told apart by their parameters only)."""
    steps = [_step("prepare", "k-prepare", 0, 1, params={"seed": 1}, outputs=(data(),))]
    for i, lr in enumerate(RATES):
        marks = {"wildcards": {"lr": str(lr)}} if wildcards else {}
        steps.append(
            _step(
                "train",
                f"k-train-{lr}",
                1,
                3 + i,
                inputs=(data(),),
                outputs=(model(lr, epochs),),
                params={"lr": lr, "epochs": epochs},
                hyperparams={"lr": lr},
                **marks,
            )
        )
        steps.append(
            _step(
                "evaluate",
                f"k-evaluate-{lr}",
                5 + i,
                1,
                inputs=(model(lr, epochs), data()),
                outputs=(metrics(lr, epochs),),
                **({"wildcards": {"lr": str(lr)}} if wildcards else {"params": {"lr": lr}}),
            )
        )
    metric_files = tuple(metrics(lr, epochs) for lr in RATES)
    report = file("report.json", f"report {epochs}")
    steps.append(_step("report", "k-report", 7, 1, inputs=metric_files, outputs=(report,)))
    steps.append(_step("plot", "k-plot", 2, 0.5, status="failed", error="ValueError: bad"))
    return [replace(s, run_id=run_id) for s in steps]


def document(
    steps: list[StepRecord] | None = None, run_start: RunStart | None = None, **end: Any
) -> dict[str, Any]:
    """The validated document of a run (the pipeline by default)."""
    opening = run_start or start()
    closing = (
        None
        if end.get("status") == "incomplete"
        else RunEnd(opening.run_id, T0 + timedelta(seconds=9), end.get("status", "failed"))
    )
    doc = build_document(opening, pipeline() if steps is None else steps, closing)
    report = validate(doc)
    assert report.ok, report.problems
    return doc
