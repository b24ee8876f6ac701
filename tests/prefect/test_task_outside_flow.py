"""A task called outside any flow (Prefect 3 runs it as a task run with no flow run): a run of its
own, of one step, with its own folder and document; never a folder named `None`, never a step of
the flow run that happened to come before it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect import task

from yprov_prefect import prov_flow, prov_task
from yprov_workflows.testing import RunDocument


@prov_task
def double(x: int) -> int:
    return 2 * x


@prov_task
def refuse(x: int) -> int:
    raise KeyError(x)


@prov_task
async def async_double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


@task
def plain_double(x: int) -> int:
    return 2 * x


@prov_flow
def one_step() -> int:
    return double(1)


def _runs(workdir: Path) -> dict[str, RunDocument]:
    """Every run's document, by run folder name, each checked valid."""
    found = {}
    for path in sorted((workdir / ".yprov").glob("[!.]*/*.prov.json")):
        document = RunDocument.load(path)
        document.assert_valid()
        found[path.parent.name] = document
    return found


def test_a_task_outside_any_flow_is_a_run_of_its_own(workdir: Path) -> None:
    state = double(21, return_state=True)
    assert state.result() == 42
    task_run_id = str(state.state_details.task_run_id)
    runs = _runs(workdir)
    assert list(runs) == [task_run_id], "one run, named by the task run's id (no `None` folder)"
    run = runs[task_run_id]
    assert run.run["ywf:status"] == "completed"
    assert run.run["ywf:targets"] == '["task:double", "task_run:double"]'
    (step,) = run.steps("double")
    assert step["ywf:status"] == "completed" and step["ywf:task_run_id"] == task_run_id
    assert "ywf:flow_run_id" not in step
    assert run.params_of(step) == {"x": 21}
    # The process is the caller's (a script's): its memory is not the task's own.
    assert "ywf:max_rss_bytes" not in step and "ywf:process_max_rss_bytes" in step
    assert "process that called it outside a flow" in step["ywf:usage_note"]
    assert RunDocument.latest(workdir).doc == run.doc, "latest.prov.json is this run's"


def test_a_failing_task_outside_a_flow_raises_as_usual_and_its_run_failed(
    workdir: Path,
) -> None:
    with pytest.raises(KeyError):
        refuse(3)
    (run,) = _runs(workdir).values()
    assert run.run["ywf:status"] == "failed"
    (step,) = run.steps("refuse")
    assert step["ywf:error"].startswith("KeyError")


def test_async_and_nested_tasks_outside_a_flow(workdir: Path) -> None:
    assert asyncio.run(async_double(4)) == 8
    assert double(double(1)) == 4
    runs = _runs(workdir)
    assert sorted(len(r.steps()) for r in runs.values()) == [1, 1, 1]
    assert sorted(s["ywf:step_name"] for r in runs.values() for s in r.steps()) == [
        "async_double",
        "double",
        "double",
    ]


def test_tasks_called_after_a_flow_are_not_steps_of_that_flow(workdir: Path) -> None:
    """Prefect's server files a task run called outside a flow under the flow run that came
    before it in the process; the flow's end, which reads the API, leaves such runs out."""
    state = one_step(return_state=True)
    flow_run_id = str(state.state_details.flow_run_id)
    assert double(5) == 10
    assert plain_double(6) == 12
    runs = _runs(workdir)  # waits for the flow's end (its API part runs in the background)
    flow = runs.pop(flow_run_id)
    assert [s["ywf:step_name"] for s in flow.steps()] == ["double"]
    assert [len(r.steps("double")) for r in runs.values()] == [1]
