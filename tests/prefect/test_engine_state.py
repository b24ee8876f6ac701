"""The run's status, and each step's, is Prefect's final state of the flow or task run (issue 13,
items 1 and 4): returned states, futures returned to a flow, timeouts, crashes and a run cancelled
while it ran."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prefect import get_client
from prefect.context import FlowRunContext
from prefect.states import Cancelled, Cancelling, Failed, State

from yprov_prefect import prov_flow, prov_task
from yprov_prefect.flow_run import record_final_state
from yprov_workflows.assemble import assemble
from yprov_workflows.journal import JournalWriter, last_record, read_journal
from yprov_workflows.records import Agents, RunEnd, RunStart, StepRecord
from yprov_workflows.testing import RunDocument


def latest(workdir: Path) -> RunDocument:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    return run


def status_of(run: RunDocument, name: str) -> list[tuple[str, str | None]]:
    return [(s["ywf:status"], s.get("ywf:error")) for s in run.steps(name)]


@prov_task
def boom() -> int:
    raise ValueError("boom")


@prov_task
def refuse() -> State[Any]:
    return Failed(message="bad input")  # a state the task made: Prefect takes it as it is


@prov_task
def slow(x: int) -> int:
    time.sleep(1.0)
    return x


@prov_flow
def inner() -> State[Any]:
    return boom(return_state=True)


def test_returned_states_and_futures_give_prefects_status(workdir: Path) -> None:
    @prov_flow
    def outer() -> list[Any]:
        assert refuse(return_state=True).is_failed()
        assert inner(return_state=True).is_failed()
        return [slow.submit(1), boom.submit()]  # fan-in: Prefect waits, then fails the run

    state = outer(return_state=True)
    assert state.is_failed()
    run = latest(workdir)
    assert run.run["ywf:status"] == "failed" and "ywf:engine_state" not in run.run
    assert status_of(run, "refuse") == [("failed", "Failed: bad input")]
    ((sub_status, sub_error),) = status_of(run, "inner")
    assert sub_status == "failed" and "ValueError: boom" in str(sub_error)
    assert [s for s, _ in status_of(run, "boom")] == ["failed", "failed"]
    (slow_step,) = run.steps("slow")  # it ended after the body returned: waited for, measured
    assert slow_step["ywf:status"] == "completed"
    assert slow_step["ywf:usage_source"] != "unmeasured"


def test_a_task_over_its_timeout_records_what_prefect_reports(workdir: Path) -> None:
    @prov_task(timeout_seconds=0.5)
    async def sleepy() -> None:
        await asyncio.sleep(30)

    @prov_flow
    async def waits() -> str | None:
        state = await sleepy(return_state=True)
        return state.message

    message = asyncio.run(waits())
    assert message == "Task run exceeded timeout of 0.5 second(s)"
    run = latest(workdir)
    assert run.run["ywf:status"] == "completed"
    assert status_of(run, "sleepy") == [("failed", f"TaskRunTimeoutError: {message}")]


def test_a_crash_is_crashed(workdir: Path) -> None:
    @prov_task
    def leaves() -> None:
        raise SystemExit(3)

    @prov_flow
    def crashing() -> None:
        leaves()

    with pytest.raises(SystemExit):
        crashing()
    run = latest(workdir)
    assert run.run["ywf:status"] == "crashed"
    assert status_of(run, "leaves") == [("crashed", "SystemExit: 3")]


def test_a_run_cancelled_while_it_ran_is_cancelled(workdir: Path) -> None:
    """The body returns, but the run was cancelled meanwhile (from the UI, say): Prefect's final
    state is Cancelling, and our flow hook corrects the status the run closed with."""
    lines: list[str] = []
    seen: list[str] = []

    def users_hook(flow: Any, flow_run: Any, state: Any) -> None:
        seen.append(RunDocument.latest(workdir).run["ywf:status"])  # after ours: corrected

    @prov_flow(on_cancellation=[users_hook])
    def cancelled_meanwhile() -> int:
        context = FlowRunContext.get()
        assert context is not None
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(context.flow_run.id, Cancelling(), force=True)
        return 1

    assert cancelled_meanwhile.on_cancellation_hooks == [record_final_state, users_hook]
    with _log_lines("prefect.flow_runs", lines):
        state = cancelled_meanwhile(return_state=True)
    assert state.is_cancelling()
    run = latest(workdir)
    assert (run.run["ywf:status"], run.run["ywf:engine_state"]) == ("cancelled", "Cancelling")
    assert seen == ["cancelled"]
    assert any("Finished in state Cancelling" in line for line in lines)
    assert not [line for line in lines if "record_final_state" in line]  # our hook is quiet
    run_dir = workdir / ".yprov" / str(run.run["ywf:run_id"])
    ends = [r for r in read_journal(run_dir / "journal.jsonl").records if isinstance(r, RunEnd)]
    assert [e.status for e in ends] == ["completed", "cancelled"]  # a later end corrects
    exported = assemble(run_dir)["activity"][f"run:{run.run['ywf:run_id']}"]
    assert exported["ywf:status"] == "cancelled"  # `yprov export` says the same


def _log_lines(name: str, lines: list[str]) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def capturing() -> Any:
        handler = logging.Handler(logging.INFO)
        handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
        logger = logging.getLogger(name)
        level, logger.level = logger.level, logging.INFO
        logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    return capturing()


def test_the_hook_finds_the_end_behind_a_late_record_and_corrects_once(workdir: Path) -> None:
    """A record appended after the run closed (a task in another process, late) hides the end
    record from the look at the last line: the hook then reads the whole journal."""
    run_dir = workdir / ".yprov" / "run-1"
    now = datetime.now(UTC)
    agents = Agents("someone", "prefect", "3", "0")
    late = StepRecord("run-1", "late", "k", 1, now, now, "completed")
    with JournalWriter(run_dir / "journal.jsonl") as journal:
        journal.append(RunStart("run-1", now, agents))
        journal.append(RunEnd("run-1", now, "completed"))
        assert last_record(run_dir / "journal.jsonl") == RunEnd("run-1", now, "completed")
        journal.append(late)
    assert last_record(run_dir / "journal.jsonl") == late
    flow_run = SimpleNamespace(id="run-1", name="a-flow-run")
    for _ in range(2):  # the second call finds the run corrected already
        record_final_state(None, flow_run, Cancelled())
    ends = [r for r in read_journal(run_dir / "journal.jsonl").records if isinstance(r, RunEnd)]
    assert [(e.status, e.attributes) for e in ends] == [
        ("completed", {}),
        ("cancelled", {"engine_state": "Cancelled"}),
    ]
    document = RunDocument.load(run_dir / "run-1.prov.json")
    document.assert_valid()
    assert document.run["ywf:status"] == "cancelled"
