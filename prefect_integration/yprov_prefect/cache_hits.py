"""Cache hits: Prefect skips the task body (so our wrapper never runs) but fires `on_completion`
with a `Cached` state. We record the attempt as reuse of a cached result, not as an execution.

Prefect logs two INFO lines around every hook call of every task run ("Running hook ...",
"Hook ... finished running successfully"), and ships them to the API: for a trivial task that
doubled the cost of recording it, and it fills the user's logs with our plumbing. `quiet_hook_logs`
drops those two lines for our hook only (errors of the hook are still logged).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from yprov_prefect import session
from yprov_workflows.environment import HOST
from yprov_workflows.records import StepRecord, Usage, ValueRecord


def record_cache_hit(task: Any, task_run: Any, state: Any) -> None:
    """A task hook: journal a cache hit; ignore every other completion."""
    if getattr(state, "name", None) != "Cached":
        return
    config = session.settings()
    if config.disabled:
        return
    try:
        run_dir = session.task_run_dir(str(task_run.flow_run_id), config)
        session.append_step(run_dir, _cached_step(task, task_run, state))
    except Exception as problem:
        session.report(problem, f"recording the cache hit of {task.name}", config)


def _cached_step(task: Any, task_run: Any, state: Any) -> StepRecord:
    now = datetime.now(UTC)
    started = min(task_run.start_time or now, now)
    return StepRecord(
        run_id=str(task_run.flow_run_id),
        name=str(task.name),
        key=str(task_run.id),
        attempt=int(task_run.run_count or 1),
        started=started,
        ended=now,
        status="cached",
        result=ValueRecord("cached result"),
        parent=str(task_run.flow_run_id),
        attributes={
            "task_key": str(task_run.task_key),
            "task_run_name": str(task_run.name),
            "cache_key": str(getattr(state.state_details, "cache_key", None) or task_run.cache_key),
            "reused_from_cache": True,
        },
        usage=Usage({}, "none", "cache hit: the task body did not run"),
        host=HOST,
        pid=os.getpid(),
    )


class _DropOurHookLines(logging.Filter):
    """Drops Prefect's INFO lines about calling one of our hooks."""

    def __init__(self, hook: Callable[..., Any]) -> None:
        super().__init__()
        self.mark = f"{hook.__name__!r}"

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or self.mark not in str(record.msg)


def quiet_hook_logs(
    logger_name: str = "prefect.task_runs", hook: Callable[..., Any] = record_cache_hit
) -> None:
    """Install the filter for `hook` on Prefect's task-run (or flow-run) logger, once per
    process. Called where a task with our hook is made (`prov_task`) and where one is unpickled
    (a process pool or Dask worker: `Recording.__setstate__`); for the flow hook, where a flow is
    made (`prov_flow`)."""
    logger = logging.getLogger(logger_name)
    ours = _DropOurHookLines(hook)
    if not any(isinstance(f, _DropOurHookLines) and f.mark == ours.mark for f in logger.filters):
        logger.addFilter(ours)
