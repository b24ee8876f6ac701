"""A miniature engine adapter: what Snakemake's and Prefect's adapters do with the tracking
contract (`StepChannel`), in a few lines, so that core tests produce real run documents."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Agents, RunStart, StepRecord, Usage
from yprov_workflows.runs import new_run_id
from yprov_workflows.settings import Settings
from yprov_workflows.testing import RunDocument
from yprov_workflows.tracking import StepChannel, Tracked


@dataclass
class OpenStep:
    name: str
    key: str
    channel: StepChannel
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


class MiniEngine:
    """One run; steps opened, then recorded with what they logged."""

    def __init__(self, out_dir: Path, strict: bool = True) -> None:
        self.recorder = Recorder(Settings(strict=strict), out_dir)
        agents = Agents("tester", "mini", "1.0", "0")
        self.recorder.start(RunStart(new_run_id(), datetime.now(UTC), agents))
        assert self.recorder.run_dir is not None
        self.run_dir = self.recorder.run_dir
        self.tracked: dict[str, Tracked] = {}

    def open(self, name: str, key: str | None = None) -> OpenStep:
        key = key or name
        return OpenStep(name, key, StepChannel.open(self.run_dir, key, time.monotonic()))

    def record(self, step: OpenStep, params: dict[str, object] | None = None) -> StepRecord:
        recorder = self.recorder
        tracked = step.channel.collect(recorder.hasher, recorder.redactor, report=recorder.report)
        self.tracked[step.key] = tracked
        record = StepRecord(
            run_id=self.run_dir.name,
            name=step.name,
            key=step.key,
            attempt=1,
            started=step.started,
            ended=datetime.now(UTC),
            status="completed",
            params=dict(params or {}),  # type: ignore[arg-type]
            usage=Usage({"cpu_total_s": 0.01}, "wait4"),
        )
        record = tracked.apply(record)
        recorder.record_step(record)
        return record

    def finish(self) -> RunDocument:
        path = self.recorder.finish("completed")
        assert path is not None
        document = RunDocument.load(path)
        document.assert_valid()
        return document
