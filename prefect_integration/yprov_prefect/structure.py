"""Task runs of a flow run that the journal lacks, known from the Prefect API at the flow's end:

* task runs of undecorated tasks: structure only (name, state, times, upstream edges), with usage
  marked as unmeasured;
* cache hits (state `Cached`) that no hook recorded (a plain `@task`'s, say): steps with status
  `cached`, reuse of a cached result and not an execution;
* task runs of `prov_task` tasks whose record never reached the run folder (a worker that could
  not write it, or died first): placeholder steps marked `record_missing` with the reason, in a
  journal of their own (`missing_journal`) that a record merged later overrides.

Every request goes through the flow end's `FlowEndApi` (one short deadline, no retries).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from yprov_prefect import session
from yprov_prefect.api import ApiUnreachable, FlowEndApi
from yprov_prefect.standalone import STANDALONE
from yprov_workflows.journal import WRITERS, read_run_journal
from yprov_workflows.records import Record, Status, StepRecord, Usage, ValueRecord
from yprov_workflows.values import Value

PAGE = 200
CATCH_UP_S = 3.0  # how long the flow's end (in the background) waits for the API to catch up
_STATUS: dict[str, Status] = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "CRASHED": "crashed",
    "CANCELLED": "cancelled",
}


def undecorated_steps(
    flow_run_id: UUID,
    run_dir: Path,
    api: FlowEndApi,
    owner: Sequence[Record] | None = None,
    ended: datetime | None = None,
) -> Iterator[StepRecord]:
    """Steps for the task runs of this flow run (and its recorded subflows) not in the journal,
    as far as the Prefect API knows them at the end of the flow (task runs reach it through
    events, a moment after they ran). `owner`: the owner journal's records, as the flow's
    recorder kept them (`Recorder.kept`): that journal is then not read back (parsing and
    checking 200 records held the GIL for about 80 ms, while the flow's thread returned).

    Task runs that ran outside any flow run are left out: Prefect's server files a task called
    outside a flow after one (in the same process) under that flow run. They are those this
    process recorded as runs of their own (`STANDALONE`) and any that started after `ended`
    (when Prefect had reported the flow run's final state, else when its body ended)."""
    records = read_run_journal(run_dir, owner=owner).records
    steps = [r for r in records if isinstance(r, StepRecord)]
    known = {s.key for s in steps} | {str(s.attributes.get("parent_task_run_id")) for s in steps}
    flows = {str(flow_run_id)} | {s.key for s in steps if s.attributes.get("kind") == "subflow"}
    tasks = len({s.key for s in steps if s.attributes.get("kind") != "subflow" and _is_uuid(s.key)})
    _send_prefect_events()
    for task_run in _settled_unknown_runs(flows, known, api, tasks):
        if not _outside(task_run, ended):
            yield _structure_step(task_run)


def _outside(task_run: Any, ended: datetime | None) -> bool:
    """Whether a task run the server files under this flow run ran outside it (see above)."""
    if str(task_run.id) in STANDALONE:
        return True
    started = task_run.start_time
    return ended is not None and started is not None and started > ended


def _send_prefect_events(timeout: float = 2.0) -> None:
    """Prefect tells the API of task runs through events sent from a queue of its own: wait
    (bounded) until what waits there is sent. Its sender runs in a daemon thread, so also at the
    interpreter's exit, where this runs after the main thread ended. (Draining the queue instead
    stops its worker: the summary artifact's event then starts a new one, which Python refuses
    at exit, with a traceback.)"""
    try:
        from prefect.events.worker import EventsWorker
    except ImportError:
        return
    deadline = time.monotonic() + timeout
    for worker in list(getattr(EventsWorker, "_instances", {}).values()):
        queue = getattr(worker, "_queue", None)
        while getattr(queue, "unfinished_tasks", 0) and time.monotonic() < deadline:
            time.sleep(0.01)


def _settled_unknown_runs(
    flow_run_ids: set[str], known: set[str], api: FlowEndApi, tasks: int, timeout: float = 3.0
) -> list[Any]:
    """None when the API shows only known task runs (two counts: about 15 ms, where reading 200
    runs takes about 95); else one read when no unknown run is still going, or reads until those
    end (or the deadline of our API calls comes: what is known then)."""
    if not _any_unknown(flow_run_ids, known, api, tasks):
        return []
    deadline = time.monotonic() + timeout
    while True:
        unknown = [r for r in _task_runs(flow_run_ids, api) if str(r.id) not in known]
        if all(_state(r) in _STATUS for r in unknown) or time.monotonic() > deadline:
            return unknown
        if api.remaining() < 0.5:
            return unknown
        time.sleep(0.2)


def _state(task_run: Any) -> str:
    return str(getattr(task_run.state_type, "value", task_run.state_type) or "")


def _any_unknown(flow_run_ids: set[str], known: set[str], api: FlowEndApi, tasks: int) -> bool:
    """Whether the API counts more task runs in these flow runs than those among `known`, once
    it knows the `tasks` task runs recorded and its count held still for one look (it learns of
    task runs from events, a moment after they ran; at most `CATCH_UP_S`)."""
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterId

    ids = [UUID(k) for k in known if _is_uuid(k)]
    flows = {"flow_runs": _flow_filter(flow_run_ids).model_dump(mode="json", exclude_unset=True)}
    ours = TaskRunFilter(id=TaskRunFilterId(any_=ids)).model_dump(mode="json", exclude_unset=True)

    def count(client: Any) -> tuple[int, int]:
        total = client.request("POST", "/task_runs/count", json=flows).json()
        mine = client.request("POST", "/task_runs/count", json=flows | {"task_runs": ours})
        return int(total), int(mine.json())

    deadline, last = time.monotonic() + CATCH_UP_S, None
    try:
        while True:  # until the API knows our task runs and its count holds still
            total, mine = api.call("counting task runs", count)
            steady = mine >= tasks and (total, mine) == last
            if steady or time.monotonic() > deadline or api.remaining() < 1.5:
                return total > mine
            last = (total, mine)
            time.sleep(0.2)
    except ApiUnreachable:
        raise
    except Exception:  # a server without the count route: read them all
        return True


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _flow_filter(flow_run_ids: set[str]) -> Any:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    return FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids]))


def _task_runs(flow_run_ids: set[str], api: FlowEndApi) -> list[Any]:
    flows = _flow_filter(flow_run_ids)
    found: list[Any] = []
    while True:  # the server answers at most a page at a time
        page = api.call("reading task runs", _page_reader(flows, len(found)))
        found += page
        if len(page) < PAGE:
            return found


def _page_reader(flows: Any, offset: int) -> Callable[[Any], list[Any]]:
    def read(client: Any) -> list[Any]:
        return list(client.read_task_runs(flow_run_filter=flows, limit=PAGE, offset=offset))

    return read


def _structure_step(task_run: Any) -> StepRecord:
    started = task_run.start_time or task_run.expected_start_time or datetime.now(UTC)
    ended = max(task_run.end_time or started, started)
    state = _state(task_run)
    inputs = dict(task_run.task_inputs or {})
    upstream = [
        (name, str(item.id))
        for name, items in inputs.items()
        if name != "wait_for"
        for item in items
        if getattr(item, "input_type", None) == "task_run"
    ]
    cached = str(getattr(task_run, "state_name", "")) == "Cached"
    kind = _kind(task_run, cached)
    return StepRecord(
        run_id=str(task_run.flow_run_id),
        name=str(task_run.task_key).rsplit("-", 1)[0],
        key=str(task_run.id),
        attempt=int(task_run.run_count or 1),
        started=started,
        ended=ended,
        status="cached" if cached else _STATUS.get(state, "incomplete"),
        upstream=tuple(upstream),
        informed_by=tuple(str(i.id) for i in inputs.get("wait_for", [])),
        result=ValueRecord("cached result") if cached else None,
        parent=str(task_run.flow_run_id),
        attributes={
            "task_key": str(task_run.task_key),
            "task_run_name": str(task_run.name),
            "state": state,
            **(_cache_attributes(task_run) if cached else _KIND_ATTRIBUTES[kind]),
        },
        usage=_CACHE_HIT if cached else _KIND_USAGE[kind],
    )


def _kind(task_run: Any, cached: bool) -> str:
    """Why a task run has no record: undecorated; decorated but its body never ran; or decorated,
    it ran and its record did not reach the run folder."""
    if cached or str(task_run.task_key) not in session.DECORATED:
        return "undecorated"
    return "missing" if task_run.start_time is not None else "not_run"


MISSING = (
    "no record reached the run folder (the worker could not write it, or ended before it "
    "could?); add records kept elsewhere with `yprov export RUN --merge PATH`"
)
_KIND_ATTRIBUTES: dict[str, dict[str, Value]] = {
    "undecorated": {"decorated": False},
    "not_run": {"decorated": True},
    "missing": {"decorated": True, "record_missing": MISSING},
}
_CACHE_HIT = Usage({}, "none", "cache hit: the task body did not run")
_KIND_USAGE = {
    "undecorated": Usage({}, "unmeasured", "task not decorated with @prov_task: structure only"),
    "not_run": Usage({}, "none", "the task body did not run"),
    "missing": Usage({}, "unmeasured", "its record did not reach the run folder"),
}


def missing_journal(run_dir: Path) -> Path:
    """The journal of placeholder steps for decorated tasks without a record. Its name sorts
    after every writer's journal (`~`), so a real record merged later is read first and wins
    (`read_run_journal` keeps the first record of a step)."""
    return run_dir / WRITERS / "~missing.jsonl"


def _cache_attributes(task_run: Any) -> dict[str, Value]:
    details = getattr(getattr(task_run, "state", None), "state_details", None)
    key = getattr(details, "cache_key", None) or task_run.cache_key
    return {"reused_from_cache": True, "cache_key": str(key)}
