"""Wrap a function so that its body runs inside a recording context, keeping its kind.

Prefect decides how to run a task or flow from the function's kind (coroutine, generator, async
generator, plain), so the wrapper must be of the same kind. `functools.wraps` keeps the name,
docstring and signature; `__prefect_task_source__` keeps Prefect's task key and cache identity
those of the user's function (two wrapped functions must not share a key).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from yprov_prefect.task_attempt import Outcome

Recording = Callable[[], AbstractContextManager[Outcome]]


def wrap(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    """A function of the same kind as `fn` that runs `fn` inside `recording()`."""
    if inspect.isasyncgenfunction(fn):
        wrapper = _async_generator(fn, recording)
    elif inspect.isgeneratorfunction(fn):
        wrapper = _generator(fn, recording)
    elif inspect.iscoroutinefunction(fn):
        wrapper = _coroutine(fn, recording)
    else:
        wrapper = _plain(fn, recording)
    functools.update_wrapper(wrapper, fn)
    wrapper.__prefect_task_source__ = fn  # type: ignore[attr-defined]
    return wrapper


def _plain(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with recording() as outcome:
            result = fn(*args, **kwargs)
            outcome.set(result)
            return result

    return wrapper


def _coroutine(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with recording() as outcome:
            result = await fn(*args, **kwargs)
            outcome.set(result)
            return result

    return wrapper


def _generator(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with recording() as outcome:
            count = 0
            for item in fn(*args, **kwargs):
                count += 1
                yield item
            outcome.extra["items_yielded"] = count

    return wrapper


def _async_generator(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        with recording() as outcome:
            count = 0
            async for item in fn(*args, **kwargs):
                count += 1
                yield item
            outcome.extra["items_yielded"] = count

    return wrapper
