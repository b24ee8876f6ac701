"""Flows used by the tests. Module-level so that process pools and Dask workers can import them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from prefect import task

from yprov_prefect import prov_flow, prov_task


@prov_task
def prepare(n: int, out: Path) -> Path:
    out.write_text("\n".join(str(i) for i in range(n)))
    return out


@prov_task(retries=0)
def train(data: Path, lr: float, api_token: str = "hunter2") -> dict[str, float]:
    rows = data.read_text().split()
    return {"lr": lr, "rows": float(len(rows))}


@prov_task
def evaluate(model: dict[str, float], scale: float = 2.0) -> float:
    return model["lr"] * scale


@prov_flow
def pipeline(n: int = 10) -> list[float]:
    data = prepare(n, Path("data.txt"))
    models = [train.submit(data, lr) for lr in (0.1, 0.5)]
    return [evaluate(m) for m in models]


@prov_task
async def async_double(x: int) -> int:
    await asyncio.sleep(0.01)
    return 2 * x


@prov_task
def count_up(n: int) -> Iterator[int]:
    yield from range(n)


@prov_task
async def count_up_async(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


@prov_flow
async def async_flow(x: int) -> int:
    return await async_double(x)


@prov_flow
def kinds_flow() -> tuple[int, int, int]:
    sync_items = list(count_up(3))

    async def consume() -> list[int]:
        return [i async for i in count_up_async(4)]

    async_items = asyncio.run(consume())
    return len(sync_items), len(async_items), asyncio.run(async_double.fn(1))


@task
def plain_add(a: int, b: int) -> int:
    return a + b


@prov_task
def add(a: int, b: int) -> int:
    return a + b


@prov_flow
def inner(k: int) -> int:
    return plain_add(k, 1)


@prov_task
def pause(seconds: float) -> None:
    time.sleep(seconds)


@prov_flow
def outer() -> int:
    first = add(1, 2)
    total = inner(first) + plain_add(1, 1)
    pause(1.0)  # task runs reach the API through events: give the undecorated ones a moment
    return total


@prov_task
def burn(n: int) -> int:
    """Some CPU and memory in the task's own process."""
    block = bytearray(50 * 2**20)
    block[::4096] = b"x" * (len(block) // 4096)
    return sum(i * i for i in range(n)) % 7


@prov_task
def combine(a: int, b: int) -> int:
    return a + b + 1000


def runner_pipeline(runner: object) -> object:
    """The same small graph under a given task runner."""

    @prov_flow(task_runner=runner)  # type: ignore[call-overload]
    def under_runner() -> int:
        first = burn.submit(200_000)
        second = burn.submit(300_000)
        return combine.submit(first, second, wait_for=[first]).result()

    return under_runner


# A child that burns CPU (or touches memory) and reports its own rusage, which is the truth.
CHILD = """
import json, resource, sys
if sys.argv[1] == "touch":
    block = bytearray(300 * 2**20)
    block[::4096] = b"x" * (len(block) // 4096)
else:
    sum(i * i for i in range(int(sys.argv[1])))
own = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": own.ru_utime + own.ru_stime, "rss": own.ru_maxrss * 1024}))
"""


@prov_task
def children_burn(loops: int) -> list[dict[str, float]]:
    """Short-lived children: ten burn CPU, one touches 300 MiB; each reports its own usage. The
    last item is the body's own thread's CPU (starting eleven processes costs some) and what the
    children spent after their reports (each interpreter's exit: 5-10 ms a child, which their
    reaping counts), from the children's usage this process reaped meanwhile."""
    import json
    import resource
    import subprocess
    import sys

    def reaped() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    started, before = time.thread_time(), reaped()
    runs = [str(loops)] * 10 + ["touch"]
    reports = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", CHILD, arg], capture_output=True, text=True, check=True
            ).stdout
        )
        for arg in runs
    ]
    exits = reaped() - before - sum(r["cpu"] for r in reports)
    return [*reports, {"cpu": time.thread_time() - started + exits, "rss": 0}]


def children_pipeline(runner: object) -> object:
    @prov_flow(task_runner=runner)  # type: ignore[call-overload]
    def measured_children() -> list[dict[str, float]]:
        return children_burn.submit(1_000_000).result()  # type: ignore[no-any-return]

    return measured_children
