"""The public decorators: drop-in replacements for `prefect.task` and `prefect.flow`.

`prov_task` and `prov_flow` take what Prefect's decorators take (the same signature, overloads and
attributes, such as `prov_flow.from_source`) and return real Prefect objects: they hand Prefect the
user's function wrapped in a recording of the same kind (`wrapping.py`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from typing import TYPE_CHECKING, Any

import prefect

from yprov_prefect import adapter, session
from yprov_prefect.cache_hits import may_hit_cache, record_cache_hit
from yprov_prefect.flow_run import record_final_state, recorded_flow
from yprov_prefect.hook_logs import quiet_hook_logs
from yprov_prefect.task_attempt import Outcome, Recorded
from yprov_prefect.wrapping import wrap
from yprov_workflows.records import Code


class Recording:
    """Opens the recording context of one call of `fn`. A plain object (no lambdas), so that
    Prefect and Dask can pickle the wrapped function to run it in other processes."""

    def __init__(self, fn: Callable[..., Any], context: Callable[..., Any]) -> None:
        self.fn = fn
        self.context = context
        self._code: Code | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # a worker process that runs our tasks: our cache-hit hook's log lines are dropped there
        quiet_hook_logs("prefect.task_runs", record_cache_hit)

    def code(self) -> Code:
        if self._code is None:
            self._code = adapter.code_of(self.fn)
        return self._code

    def __call__(self) -> AbstractContextManager[Outcome]:
        manager: AbstractContextManager[Outcome] = self.context(self.fn, self.code)
        return manager


class ProvDecorator:
    """One of Prefect's decorators (`prefect.task`, `prefect.flow`), recording each run: the same
    signature and attributes; Prefect gets the function wrapped, and checks the options itself."""

    def __init__(self, name: str, prefect_decorator: Any, context: Callable[..., Any]) -> None:
        self.__name__ = self.__qualname__ = self._name = name
        prefect_doc = inspect.getdoc(prefect_decorator) or ""
        self.__doc__ = f"`prefect.{name[5:]}`, recording W3C PROV.\n\n{prefect_doc}"
        self.__signature__ = inspect.signature(prefect_decorator)
        self._prefect = prefect_decorator
        self._context = context

    def __call__(self, fn: Any = None, /, **options: Any) -> Any:
        if fn is None:
            return functools.partial(self, **options)
        return self._make(fn, self._wrapped(fn), options)

    def __getattr__(self, name: str) -> Any:
        """What Prefect's decorator offers besides decorating (`flow.from_source`)."""
        if name.startswith("_"):
            raise AttributeError(f"{self._name!r} has no attribute {name!r}")
        return getattr(self._prefect, name)

    def __reduce__(self) -> str:
        return self._name  # pickled as a reference to this module's attribute

    def __repr__(self) -> str:
        return f"<yprov_prefect.{self._name}: {self._prefect!r} recording W3C PROV>"

    def _wrapped(self, fn: Any) -> Any:
        """`fn` wrapped; a classmethod or staticmethod stays one, as Prefect expects it."""
        if isinstance(fn, classmethod | staticmethod):
            return type(fn)(self._wrapped(fn.__func__))
        return wrap(fn, Recording(fn, self._context))

    def _make(self, fn: Any, wrapped: Any, options: dict[str, Any]) -> Any:
        return self._prefect(wrapped, **options)


class ProvTaskDecorator(ProvDecorator):
    def _make(self, fn: Any, wrapped: Any, options: dict[str, Any]) -> Any:
        """Prefect's task, keyed as ours (a decorated task whose record never came is told from
        an undecorated one at the flow's end). A task made to be cached gets our cache-hit hook
        first in its `on_completion` list (when that is a list of hooks: anything else goes to
        Prefect untouched, whose own error says what it expects); others get no hook (see
        `cache_hits`)."""
        if may_hit_cache(options):
            quiet_hook_logs("prefect.task_runs", record_cache_hit)
            hooks = options.get("on_completion")
            with suppress(TypeError):
                options["on_completion"] = [record_cache_hit, *(() if hooks is None else hooks)]
        made = self._prefect(wrapped, **options)
        session.DECORATED.add(str(made.task_key))
        return made


FINAL_STATE_HOOKS = ("on_completion", "on_failure", "on_crashed", "on_cancellation")


class ProvFlowDecorator(ProvDecorator):
    def _make(self, fn: Any, wrapped: Any, options: dict[str, Any]) -> Any:
        """Prefect's default version hashes the file of the function it gets: ours, not the
        user's, so it is set again as Prefect computes it for the user's function. Our hook
        that records Prefect's final state joins each final-state hook list first (before the
        user's hooks, which may read the document), when that option is a list of hooks (anything
        else goes to Prefect untouched, whose own error says what it expects)."""
        quiet_hook_logs("prefect.flow_runs", record_final_state)
        for name in FINAL_STATE_HOOKS:
            hooks = options.get(name)
            with suppress(TypeError):
                options[name] = [record_final_state, *(() if hooks is None else hooks)]
        made = self._prefect(wrapped, **options)
        if not options.get("version"):
            made.version = _file_version(getattr(fn, "__func__", fn))
        return made


def _file_version(fn: Any) -> str | None:
    """The version `prefect.Flow` gives a flow by default: the hash of its function's file."""
    from prefect.utilities.hashing import file_hash

    try:
        path = inspect.getsourcefile(fn)
        return file_hash(path) if path is not None else None
    except (TypeError, OSError):  # no file: a notebook, a REPL, `<stdin>`
        return None


if TYPE_CHECKING:  # type checkers and editors see Prefect's own overloads and documentation
    prov_task = prefect.task
    prov_flow = prefect.flow
else:
    prov_task = ProvTaskDecorator("prov_task", prefect.task, Recorded)
    prov_flow = ProvFlowDecorator("prov_flow", prefect.flow, recorded_flow)
