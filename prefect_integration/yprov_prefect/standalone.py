"""A task run outside any flow run: a run of its own, of one step.

Prefect 3 runs a task called outside a flow (`load(2)` in a script or a notebook, after a flow or
without one) as a task run with no flow run. Its record has no flow run to join, so it opens a run
named by its task run id, with its own folder and document, as a flow run would: opened before the
body (a process killed meanwhile leaves an incomplete run that the next one recovers), closed and
assembled when the attempt is journaled, and the `latest` pointers moved to it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yprov_prefect import adapter, session
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Code, StepRecord
from yprov_workflows.settings import Settings

# The ids of the latest task runs recorded so in this process, which a flow's end leaves out (see
# `structure.undecorated_steps`): bounded, for a process that calls tasks so for days.
STANDALONE: deque[str] = deque(maxlen=1000)


@dataclass
class StandaloneRun:
    """The run of one task run that has no flow run; `run_id` is the task run's id."""

    recorder: Recorder
    run_id: str

    @classmethod
    def open(cls, context: Any, code: Code, config: Settings) -> StandaloneRun:
        """Start the run (a failure to start is a recording problem: warned, and the attempt
        is then recorded nowhere, as a flow run's would be)."""
        out_dir = config.resolve_out_dir(Path.cwd())
        recorder = Recorder(config, out_dir, warn=session.log.warning)
        run = context.task_run
        run_id = str(run.id)
        STANDALONE.append(run_id)
        targets = (f"task:{context.task.name}", f"task_run:{run.name}")
        recorder.start(adapter.opening(run_id, code, targets, datetime.now(UTC)))
        return cls(recorder, run_id)

    @property
    def run_dir(self) -> Path:
        return self.recorder.run_dir or self.recorder.out_dir / self.run_id

    def close(self, step: StepRecord) -> None:
        """Journal the attempt, close the run with its status and write the document."""
        self.recorder.record_step(step)
        self.recorder.finish(step.status)
