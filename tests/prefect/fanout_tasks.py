"""The tasks of the fan-out flow the Dask and Ray tests run (importable by their workers: Dask's
get this folder on their PYTHONPATH)."""

from __future__ import annotations

from yprov_prefect import prov_task


@prov_task
def square(n: int) -> int:
    sum(i * i for i in range(200_000))  # some CPU to measure
    return n * n


@prov_task(retries=1, retry_delay_seconds=0)
def flaky(n: int) -> int:
    from prefect.runtime import task_run

    if task_run.run_count == 1:
        raise RuntimeError("first attempt fails")
    return n + 1


@prov_task
def total(values: list[int]) -> int:
    return sum(values)
