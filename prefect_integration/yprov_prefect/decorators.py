"""The public decorators: drop-in replacements for `prefect.task` and `prefect.flow`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from prefect import Flow, Task, flow, task

from yprov_prefect import adapter
from yprov_prefect.cache_hits import record_cache_hit
from yprov_prefect.flow_run import recorded_flow
from yprov_prefect.task_attempt import recorded
from yprov_prefect.wrapping import wrap

P = ParamSpec("P")
R = TypeVar("R")


@overload
def prov_task(__fn: Callable[P, R]) -> Task[P, R]: ...


@overload
def prov_task(__fn: None = None, **kwargs: Any) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def prov_task(__fn: Callable[P, R] | None = None, **kwargs: Any) -> Any:
    """`@task` (bare or with any of its arguments), recording every task-run attempt as PROV."""
    if __fn is None:
        return lambda fn: prov_task(fn, **kwargs)
    fn = __fn
    code = functools.cache(lambda: adapter.code_of(fn))
    kwargs["on_completion"] = [record_cache_hit, *(kwargs.get("on_completion") or [])]
    return task(wrap(fn, lambda: recorded(fn, code)), **kwargs)


@overload
def prov_flow(__fn: Callable[P, R]) -> Flow[P, R]: ...


@overload
def prov_flow(__fn: None = None, **kwargs: Any) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def prov_flow(__fn: Callable[P, R] | None = None, **kwargs: Any) -> Any:
    """`@flow` (bare or with any of its arguments); each flow run leaves one PROV document."""
    if __fn is None:
        return lambda fn: prov_flow(fn, **kwargs)
    fn = __fn
    code = functools.cache(lambda: adapter.code_of(fn))
    return flow(wrap(fn, lambda: recorded_flow(fn, code)), **kwargs)
