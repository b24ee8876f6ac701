"""Must FAIL mypy: wrong argument types for decorated functions."""

from __future__ import annotations

from yprov_prefect import prov_task


@prov_task
def double(x: int) -> int:
    return 2 * x


wrong: str = double.fn(1)
bad_call = double.fn("one")


@prov_task(retries="many")  # the options are checked as Prefect's are
def tried(x: int) -> int:
    return x
