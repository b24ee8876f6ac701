"""Small builders of core records for unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yprov_workflows.records import Agents, FileRecord, RunStart, StepRecord, Usage

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def run_start(run_id: str = "r1") -> RunStart:
    return RunStart(
        run_id=run_id,
        started=T0,
        agents=Agents("alice", "snakemake", "9.27.1", "0.1.0"),
        workflow_path="Snakefile",
        workflow_sha256="ab" * 32,
        command_line=("snakemake", "-j2"),
        config={"seed": 1},
    )


def step(
    number: int,
    *,
    run_id: str = "r1",
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    attempt: int = 1,
    status: str = "completed",
) -> StepRecord:
    return StepRecord(
        run_id=run_id,
        name=f"rule{number % 3}",
        key=f"key{number}",
        attempt=attempt,
        started=T0 + timedelta(seconds=number),
        ended=T0 + timedelta(seconds=number, milliseconds=500),
        status=status,  # type: ignore[arg-type]
        inputs=tuple(FileRecord(p, f"{hash(p) & 0xFFFF:064x}", 10) for p in inputs),
        outputs=tuple(FileRecord(p, f"{hash(p) & 0xFFFF:064x}", 10) for p in outputs),
        params={"lr": 0.1, "epochs": 3, "name": "x"},
        usage=Usage({"cpu_total_s": 0.25, "max_rss_bytes": 1 << 20}, "wait4"),
    )
