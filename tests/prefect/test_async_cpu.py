"""Async tasks interleaved on one event loop share its thread: their CPU is labelled as shared."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prefect.cache_policies import NONE

from yprov_prefect import prov_flow, prov_task
from yprov_workflows.testing import RunDocument

BURN_S = 0.03  # thread CPU per round, between two awaits
ROUNDS = 4


class Gate:
    """Lets the tasks burn only once all of them have started: they overlap for sure."""

    def __init__(self, tasks: int) -> None:
        self.tasks, self.arrived = tasks, 0
        self.open = asyncio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived == self.tasks:
            self.open.set()
        await asyncio.wait_for(self.open.wait(), timeout=120)


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@prov_task(cache_policy=NONE)
async def spin(i: int, gate: Gate | None = None) -> int:
    if gate is not None:
        await gate.wait()
    for _ in range(ROUNDS):
        _burn(BURN_S)
        await asyncio.sleep(0.005)
    return i


@prov_flow
async def gathered(n: int) -> list[int]:
    gate = Gate(n)
    return list(await asyncio.gather(*(spin(i, gate) for i in range(n))))


@prov_flow
async def one_by_one() -> int:
    return await spin(0) + await spin(1)


def _run(workdir: Path) -> RunDocument:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    return run


def test_async_tasks_on_one_event_loop_label_their_cpu_as_shared(workdir: Path) -> None:
    assert asyncio.run(gathered(3)) == [0, 1, 2]
    run = _run(workdir)
    steps = run.steps("spin")
    assert len(steps) == 3
    assert len({s["ywf:thread"] for s in steps}) == 1, "the premise: one event loop's thread"
    for step in steps:
        assert step["ywf:usage_source"] == "rusage_thread_shared"
        assert step["ywf:usage_note"].startswith("shared: 2 other task(s) ran on this task's")
        assert step["ywf:thread_other_tasks"] == 2
        assert "ywf:cpu_total_s" not in step and "ywf:children_cpu_total_s" not in step
        # the thread's CPU over the task's time covers all three tasks' burning (wide margin)
        assert step["ywf:thread_cpu_total_s"] >= 0.8 * 2 * ROUNDS * BURN_S
        assert step["ywf:process_cpu_total_s"] >= step["ywf:thread_cpu_total_s"] - 0.01
    assert "ywf:total_cpu_total_s" not in run.run, "shared figures are never summed"


def test_async_tasks_awaited_one_by_one_keep_their_own_cpu(workdir: Path) -> None:
    assert asyncio.run(one_by_one()) == 1
    steps = _run(workdir).steps("spin")
    assert len(steps) == 2
    for step in steps:
        assert step["ywf:usage_source"] == "rusage_thread+children"
        assert step["ywf:usage_note"].startswith("the task ran alone in the flow's process")
        assert "ywf:thread_other_tasks" not in step
        assert ROUNDS * BURN_S * 0.8 <= step["ywf:cpu_total_s"] < 5


def test_overlaps_count_the_other_attempts_per_process_and_per_thread() -> None:
    import threading

    from yprov_prefect.session import ActiveTasks, Overlaps

    active = ActiveTasks()
    first = active.enter()
    second, third = active.enter(), active.enter()  # interleaved on this thread
    assert first.alone and not second.alone
    assert active.leave(second) == Overlaps(process=2, thread=2)
    elsewhere: list[Overlaps] = []
    worker = threading.Thread(target=lambda: elsewhere.append(active.leave(active.enter())))
    worker.start()
    worker.join()
    assert elsewhere == [Overlaps(process=2, thread=0)], "first and third ran in the process"
    assert active.leave(first) == Overlaps(process=3, thread=2)
    assert active.leave(third) == Overlaps(process=3, thread=2)  # the worker ran in the process
    alone = active.enter()
    assert alone.alone and active.leave(alone) == Overlaps(process=0, thread=0)
