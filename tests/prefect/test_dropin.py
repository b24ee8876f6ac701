# mypy: disable-error-code="call-overload"
# (Prefect's overloads type no classmethod task, and some calls here are wrong on purpose)
"""`prov_task` / `prov_flow` are drop-ins for `@task` / `@flow`: what Prefect's own tests check of
its decorators holds for ours (the behaviour, not our wrapper's internals)."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import pickle
import traceback
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import Task, flow, task
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from prefect.tasks import task_input_hash
from prefect.utilities.hashing import file_hash

from yprov_prefect import prov_flow, prov_task
from yprov_workflows.testing import RunDocument


@dataclasses.dataclass
class EarlyPoint:
    x: int


def latest(workdir: Path) -> RunDocument:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    return run


def double(x: int) -> int:
    return 2 * x


def test_the_decorators_have_prefects_signatures_and_attributes() -> None:
    assert inspect.signature(prov_task) == inspect.signature(task)
    assert inspect.signature(prov_flow) == inspect.signature(flow)
    for ours, theirs in ((prov_task, task), (prov_flow, flow)):
        public = [name for name in dir(theirs) if not name.startswith("_")]
        assert all(getattr(ours, name) == getattr(theirs, name) for name in public)
    assert prov_flow.from_source is flow.from_source
    assert pickle.loads(pickle.dumps(prov_task)) is prov_task
    configured = prov_task(name="renamed", retries=2)
    made = configured(double)
    assert isinstance(made, Task) and (made.name, made.retries) == ("renamed", 2)
    assert made.fn(4) == 8


def _type_error(make: Callable[[], object]) -> str:
    with pytest.raises(TypeError) as caught:
        make()
    return str(caught.value)


def test_a_hook_that_is_not_a_list_gets_prefects_own_error() -> None:
    def hook(*args: Any) -> None: ...

    expected = _type_error(lambda: task(on_completion=hook)(double))
    assert "Expected iterable for 'on_completion'" in expected
    assert _type_error(lambda: prov_task(on_completion=hook)(double)) == expected
    assert _type_error(lambda: prov_task(double, on_completion=hook)) == expected
    flows_error = _type_error(lambda: flow(on_completion=hook)(double))
    assert _type_error(lambda: prov_flow(on_completion=hook)(double)) == flows_error


def test_the_default_flow_version_is_that_of_the_users_file() -> None:
    ours, theirs = prov_flow(double), flow(double)
    assert ours.version == theirs.version == file_hash(__file__)
    assert ours.with_options(name="renamed").version == theirs.version
    assert prov_flow(version="2.0")(double).version == "2.0"
    namespace: dict[str, Any] = {}
    exec("def made_here(x):\n    return x", namespace)  # no file: Prefect gives no version
    assert prov_flow(namespace["made_here"]).version is None


class Scaler:
    factor = 3

    @prov_task
    @classmethod
    def scale(cls, x: int) -> int:
        return cls.factor * x

    @prov_task
    @classmethod
    async def scale_async(cls, x: int) -> int:
        return cls.factor * x

    @prov_task
    @staticmethod
    def shift(x: int) -> int:
        return x + 1

    @prov_task
    @staticmethod
    async def shift_async(x: int) -> int:
        return x + 1

    @prov_flow
    @classmethod
    def run(cls, x: int) -> list[int]:
        again = cls.scale.with_options(name="scale-again")
        return [cls.scale(x), cls().scale(x), cls.shift(x), again(x), cls.shift.with_options()(x)]

    @prov_flow
    @classmethod
    async def run_async(cls, x: int) -> list[int]:
        return [await cls.scale_async(x), await cls().scale_async(x), await cls.shift_async(x)]

    @prov_flow
    @staticmethod
    def run_static(x: int) -> int:
        return Scaler.shift(x)

    @prov_flow
    @staticmethod
    async def run_static_async(x: int) -> int:
        return await Scaler.shift_async.with_options(name="shift-later")(x)


def test_classmethods_and_staticmethods_as_tasks_and_flows(workdir: Path) -> None:
    assert Scaler.run(2) == [6, 6, 3, 6, 3]
    run = latest(workdir)
    assert run.run["ywf:status"] == "completed"
    assert len(run.steps("scale")) == 2 and len(run.steps("shift")) == 2
    assert [s["ywf:status"] for s in run.steps("scale-again")] == ["completed"]
    assert Scaler().run.with_options(name="on-an-instance")(1) == [3, 3, 2, 3, 2]
    assert asyncio.run(Scaler.run_async(2)) == [6, 6, 3]
    assert len(latest(workdir).steps("scale_async")) == 2
    assert Scaler.run_static(4) == 5
    assert asyncio.run(Scaler.run_static_async(4)) == 5
    assert len(latest(workdir).steps("shift-later")) == 1


@prov_task
def one_then_two() -> Generator[int, None, int]:
    yield 1
    return 2


@prov_flow
def yields_then_returns() -> Generator[int, None, int]:
    yield 1
    return 2


def _drain(generator: Iterator[int]) -> tuple[list[int], object]:
    """The items and the return value (`StopIteration.value`) of a generator."""
    items = []
    while True:
        try:
            items.append(next(generator))
        except StopIteration as stop:
            return items, stop.value


def test_a_generators_return_value_reaches_the_caller(workdir: Path) -> None:
    @prov_flow
    def consumes() -> tuple[list[int], object]:
        return _drain(one_then_two())

    assert consumes() == ([1], 2)
    (step,) = latest(workdir).steps("one_then_two")
    assert step["ywf:items_yielded"] == 1
    assert _drain(yields_then_returns()) == ([1], 2)
    assert _drain(one_then_two.fn()) == ([1], 2), "and through .fn"


def test_tasks_of_the_same_name_keep_their_own_cache(workdir: Path) -> None:
    """Before 3.9 Prefect hashed our wrapper's code for every `prov_task`: (2, 2) came back."""

    def first() -> Task[[int], int]:
        @prov_task(cache_key_fn=task_input_hash, persist_result=True)
        def same_name(x: int) -> int:
            return x + 1

        return same_name

    def second() -> Task[[int], int]:
        c = 509

        @prov_task(cache_key_fn=task_input_hash, persist_result=True)
        def same_name(x: int) -> int:
            return x * 10 + c

        return same_name

    one, other = first(), second()

    @prov_flow
    def both() -> tuple[int, int]:
        return one(1), other(1)

    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: workdir / "results"}):
        assert both() == (2, 519)
        assert both() == (2, 519), "from the cache"
    assert [s["ywf:status"] for s in latest(workdir).steps("same_name")] == ["cached", "cached"]


@pytest.fixture
def prefect_errors() -> Iterator[list[logging.LogRecord]]:
    """Records Prefect logs about failed runs (with their tracebacks)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # type: ignore[method-assign, assignment]
    loggers = [logging.getLogger(f"prefect.{kind}_runs") for kind in ("task", "flow")]
    for logger in loggers:
        logger.addHandler(handler)
    yield records
    for logger in loggers:
        logger.removeHandler(handler)


def _assert_users_traceback(shown: str) -> None:
    assert "yprov_prefect" not in shown, shown
    assert 'raise ValueError(f"cannot take {x}")' in shown and "in breaks" in shown


def test_tracebacks_show_no_frame_of_ours(
    workdir: Path, prefect_errors: list[logging.LogRecord]
) -> None:
    @prov_task
    def breaks(x: int) -> int:
        raise ValueError(f"cannot take {x}")

    @prov_flow
    def fails() -> int:
        return breaks(1)

    with pytest.raises(ValueError, match="cannot take 1") as caught:
        fails()
    _assert_users_traceback("".join(traceback.format_exception(caught.value)))
    logged = [info for record in prefect_errors if (info := record.exc_info)]
    assert logged, "Prefect logs the failure with its traceback"
    for info in logged:
        _assert_users_traceback(logging.Formatter().formatException(info))
    assert latest(workdir).steps("breaks")[0]["ywf:status"] == "failed"


def test_a_generators_traceback_shows_no_frame_of_ours(workdir: Path) -> None:
    @prov_task
    def breaks(x: int) -> Iterator[int]:
        yield x
        raise ValueError(f"cannot take {x}")

    with pytest.raises(ValueError) as caught:
        list(breaks.fn(1))
    _assert_users_traceback("".join(traceback.format_exception(caught.value)))


@prov_flow
def typed_by_module_classes(early: EarlyPoint, late: LatePoint) -> int:
    """Annotations are text here (PEP 563); `LatePoint` is defined after the flow."""
    return early.x + late.x


@prov_task
def typed_task(point: LatePoint) -> int:
    return point.x


@prov_flow
def calls_typed_task(point: LatePoint) -> int:
    return typed_task(point)


@dataclasses.dataclass
class LatePoint:
    x: int


def test_parameters_typed_by_the_users_classes_under_pep_563(workdir: Path) -> None:
    """Prefect validates a flow's parameters with a model built from its annotations, resolved
    in the namespace of the function it runs: with `from __future__ import annotations` the
    flow failed (`... is not fully defined`) when that function was our wrapper."""
    assert typed_by_module_classes(EarlyPoint(1), LatePoint(2)) == 3
    assert typed_by_module_classes({"x": 1}, {"x": 5}) == 6  # coerced by the model, as with @flow
    assert calls_typed_task(LatePoint(4)) == 4
    assert latest(workdir).run["ywf:status"] == "completed"
