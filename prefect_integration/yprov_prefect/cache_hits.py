"""Cache hits: Prefect skips the task body (so our wrapper never runs) but fires `on_completion`
with a `Cached` state. We record the attempt as reuse of a cached result, not as an execution.

The hook is attached only to tasks that are made to be cached (`may_hit_cache`): Prefect's hook
machinery on every run of every task cost about as much as recording it. A task that hits a cache
only because its flow persists results is found at the flow's end, from the API's task runs
(`structure.py`), as far as the API knows them then.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from yprov_prefect import session
from yprov_workflows.environment import HOST
from yprov_workflows.records import StepRecord, Usage, ValueRecord

CACHE_OPTIONS = ("cache_key_fn", "cache_expiration", "result_storage_key", "refresh_cache")


def may_hit_cache(options: dict[str, Any]) -> bool:
    """Whether a task made with these `@task` options may be a cache hit: it asks for caching
    or persisted results, or Prefect's settings persist results by default."""
    from prefect.settings import get_current_settings

    if options.get("persist_result") is False:
        return False
    policy = options.get("cache_policy")
    asked = options.get("persist_result") or any(options.get(o) for o in CACHE_OPTIONS)
    if asked or (policy is not None and type(policy).__name__ not in ("NotSet", "NoCache")):
        return True
    settings = get_current_settings()
    return bool(settings.results.persist_by_default or settings.tasks.default_persist_result)


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
