"""The public decorators: drop-in replacements for `prefect.task` and `prefect.flow`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar, overload

from prefect import Flow, Task, flow, task

from yprov_prefect import adapter
from yprov_prefect.cache_hits import quiet_hook_logs, record_cache_hit
from yprov_prefect.flow_run import recorded_flow
from yprov_prefect.task_attempt import Outcome, recorded
from yprov_prefect.wrapping import wrap
from yprov_workflows.records import Code

P = ParamSpec("P")
R = TypeVar("R")


class Recording:
    """Opens the recording context of one call of `fn`. A plain object (no lambdas), so that
    Prefect and Dask can pickle the wrapped function to run it in other processes."""

    def __init__(self, fn: Callable[..., Any], context: Callable[..., Any]) -> None:
        self.fn = fn
        self.context = context
        self._code: Code | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        quiet_hook_logs()  # a worker process that runs our tasks gets the log filter too

    def code(self) -> Code:
        if self._code is None:
            self._code = adapter.code_of(self.fn)
        return self._code

    def __call__(self) -> AbstractContextManager[Outcome]:
        manager: AbstractContextManager[Outcome] = self.context(self.fn, self.code)
        return manager


@overload
def prov_task(__fn: Callable[P, R]) -> Task[P, R]: ...


@overload
def prov_task(__fn: None = None, **kwargs: Any) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def prov_task(__fn: Callable[P, R] | None = None, **kwargs: Any) -> Any:
    """`@task` (bare or with any of its arguments), recording every task-run attempt as PROV."""
    if __fn is None:
        return lambda fn: prov_task(fn, **kwargs)
    quiet_hook_logs()
    kwargs["on_completion"] = [record_cache_hit, *(kwargs.get("on_completion") or [])]
    return task(wrap(__fn, Recording(__fn, recorded)), **kwargs)


@overload
def prov_flow(__fn: Callable[P, R]) -> Flow[P, R]: ...


@overload
def prov_flow(__fn: None = None, **kwargs: Any) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def prov_flow(__fn: Callable[P, R] | None = None, **kwargs: Any) -> Any:
    """`@flow` (bare or with any of its arguments); each flow run leaves one PROV document."""
    if __fn is None:
        return lambda fn: prov_flow(fn, **kwargs)
    return flow(wrap(__fn, Recording(__fn, recorded_flow)), **kwargs)
