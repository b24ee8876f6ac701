"""Checked by mypy (test_public_api_types.py): the decorators keep the wrapped signatures."""

from __future__ import annotations

from pathlib import Path

from prefect import Flow, Task
from prefect.tasks import task_input_hash

from yprov_prefect import prov_flow, prov_task


@prov_task
def bare(data: Path, lr: float) -> int:
    return 1


@prov_task(retries=2)
def configured(x: int) -> str:
    return str(x)


@prov_flow(log_prints=True)
def pipeline(n: int = 3) -> int:
    return bare(Path("x"), 0.1) + len(configured(n))


task_object: Task[[Path, float], int] = bare
other: Task[[int], str] = configured
flow_object: Flow[[int], int] = pipeline
result: int = bare.fn(Path("x"), 0.5)


@prov_task(name="keyed", cache_key_fn=task_input_hash, persist_result=True)
def keyed(x: int) -> int:
    return x


keyed_task: Task[[int], int] = keyed
load_flow = prov_flow.from_source  # Prefect's decorator attributes, typed as Prefect types them
