"""Wrap a function so that its body runs inside a recording context, keeping its kind.

Prefect decides how to run a task or flow from the function's kind (coroutine, generator, async
generator, plain), so the wrapper must be of the same kind. `functools.wraps` keeps the name,
docstring and signature; `__prefect_task_source__` keeps Prefect's task key and cache identity
those of the user's function (two wrapped functions must not share a key).

The wrapper runs in the namespace of the user's function (its `__globals__`): Prefect resolves
the names in the annotations of the function it runs there (`from __future__ import annotations`
makes them text; a flow's parameters are validated by a model built from them).

The wrapper is invisible in tracebacks: an exception leaves it without this module's frames, so
users see what plain Prefect shows them.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import AbstractContextManager, suppress
from types import TracebackType
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
    wrapper = _in_namespace_of(fn, wrapper)
    functools.update_wrapper(wrapper, fn)
    wrapper.__prefect_task_source__ = fn  # type: ignore[attr-defined]
    with suppress(TypeError, ValueError):  # none to find (a builtin): `inspect` finds none either
        # What `inspect.signature` finds through `__wrapped__`, found once: Prefect asks for it
        # at every call of the task (to bind the arguments), and would unwrap and parse it again.
        wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return wrapper


def _in_namespace_of(fn: Callable[..., Any], wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """`wrapper` with the globals of `fn` (see above). The wrappers below use no global name of
    this module, only their closures, so they run the same in any namespace."""
    namespace = getattr(fn, "__globals__", None)
    if not isinstance(namespace, dict) or not isinstance(wrapper, types.FunctionType):
        return wrapper
    return types.FunctionType(
        wrapper.__code__, namespace, wrapper.__name__, wrapper.__defaults__, wrapper.__closure__
    )


class _Invisible:
    """`recording()`, after which an exception no longer shows this module's frames."""

    def __init__(self, recording: Recording) -> None:
        self.manager = recording()

    def __enter__(self) -> Outcome:
        return self.manager.__enter__()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        handled = self.manager.__exit__(kind, error, tb)
        if error is not None:  # the `with` re-raises `error` with this traceback, adding no frame
            error.__traceback__ = _user_frames(error.__traceback__)
        return handled


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the first frame whose code is not this module's (the wrapper's) on:
    known by its file, since the wrapper runs in the user's namespace."""
    while tb is not None and tb.tb_frame.f_code.co_filename == _THIS_FILE:
        tb = tb.tb_next
    return tb


_THIS_FILE = _user_frames.__code__.co_filename


def _plain(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    invisible = _Invisible

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with invisible(recording) as outcome:
            result = fn(*args, **kwargs)
            outcome.set(result)
            return result

    return wrapper


def _coroutine(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    invisible = _Invisible

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with invisible(recording) as outcome:
            result = await fn(*args, **kwargs)
            outcome.set(result)
            return result

    return wrapper


def _generator(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    invisible, counted = _Invisible, _Counted

    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        with invisible(recording) as outcome:
            items = counted(fn(*args, **kwargs))
            returned = yield from items  # send, throw and close reach the user's generator
            outcome.extra["items_yielded"] = items.count
            return returned  # Prefect's result (`StopIteration.value`), as without us

    return wrapper


class _Counted:
    """Delegates to a generator and counts the items it yields (`yield from` uses `send`,
    `throw` and `close` where the iterator has them)."""

    def __init__(self, generator: Generator[Any, Any, Any]) -> None:
        self.generator = generator
        self.count = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        item = self.generator.send(value)
        self.count += 1
        return item

    def throw(self, kind: Any, error: Any = None, tb: Any = None) -> Any:
        item = self.generator.throw(kind if error is None else error)  # the one-argument form
        self.count += 1
        return item

    def close(self) -> None:
        self.generator.close()


def _async_generator(fn: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    invisible = _Invisible

    async def wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        with invisible(recording) as outcome:
            count = 0
            async for item in fn(*args, **kwargs):
                count += 1
                yield item
            outcome.extra["items_yielded"] = count

    return wrapper
