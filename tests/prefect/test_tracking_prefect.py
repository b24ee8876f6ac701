"""In-step tracking in Prefect: what a task's body logs lands on that task run's step, whatever
runs it (threads of one process, async tasks in one loop, a process pool, Dask workers)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

import yprov_workflows as yp
from yprov_prefect import ProvProcessPoolTaskRunner, prov_flow, prov_task
from yprov_workflows.testing import Element, RunDocument
from yprov_workflows.tracking import StepChannel, TrackingWarning
from yprov_workflows.tracking.process import PROCESS
from yprov_workflows.tracking.read import find_series, open_source, params_by_activity, read_series

POINTS = 300
CHILD = "import sys, yprov_workflows as yp; yp.log_metric('child', float(sys.argv[1]))"


@pytest.fixture(autouse=True)
def _fresh_process_view() -> Iterator[None]:
    """The tests set YPROV_* variables: this process reads them again, and warns again."""
    PROCESS.forget()
    yield
    PROCESS.forget()


def _meet(folder: str, number: int, count: int) -> None:
    """Wait until `count` bodies arrived (a barrier that works across processes)."""
    Path(folder, str(number)).touch()
    deadline = time.monotonic() + 120
    while len(os.listdir(folder)) < count:
        assert time.monotonic() < deadline, "the tasks did not run at once"
        time.sleep(0.005)


@prov_task
def log_at_once(number: int, folder: str, count: int, explicit_env: bool) -> int:
    """Logs its own values while the others log theirs; a child process logs too."""
    _meet(folder, number, count)
    yp.log_params({"number": number, "lr": 0.1 * (number + 1)})
    for i in range(POINTS):
        yp.log_metric("loss", number * 1000 + i, step=i, context="training")
        yp.log_metrics({"acc": number}, step=i, context="validation")
        if i % 50 == 0:
            time.sleep(0.001)  # let the others interleave
    env = {**os.environ, **yp.step_env()} if explicit_env else None
    subprocess.run([sys.executable, "-c", CHILD, str(number)], env=env, check=True)
    return os.getpid()


@prov_task
async def log_async(number: int) -> int:
    for i in range(POINTS):
        yp.log_metric("loss", number * 1000 + i, step=i)
        if i % 10 == 0:
            await asyncio.sleep(0)  # the other tasks of the loop run here
    yp.log_param("number", number)
    return number


@prov_task
def quiet(x: int) -> int:
    return x + 1


@prov_task
def log_while_yielding(n: int) -> Iterator[int]:
    for i in range(n):
        yp.log_metric("item", i, step=i)
        yield i


@prov_task
def yprov4ml_script(out: str) -> None:
    """A yProv4ML 3.x script's calls, only the import changed, in a task body."""
    import yprov_workflows.compat.yprov4ml as yprov4ml

    yprov4ml.start_run(experiment_name="mnist", provenance_save_dir="prov")
    yprov4ml.log_param("optimizer", "Adam")
    for epoch in range(3):
        yprov4ml.log_metric("MSE", 1.0 / (epoch + 1), context=yprov4ml.Context.TRAINING, step=epoch)
        yprov4ml.log_system_metrics(yprov4ml.Context.TRAINING, step=epoch)
    Path(out).write_bytes(b"state dict")
    yprov4ml.log_artifact("mnist_model", out, context="training", is_model=True)
    yprov4ml.end_run(create_graph=True)


def logged(workdir: Path, step: Element) -> dict[Any, list[tuple[int, float]]]:
    """(name, context) -> the points of each series the step logged."""
    doc, run_dir = open_source(workdir / ".yprov")
    found = {}
    for ref in find_series(doc):
        if ref.activity == step["id"]:
            points = read_series(run_dir, ref) or []
            found[(ref.name, ref.context)] = [(int(s), float(v)) for s, v, _ in points]
    return found


def at_once(runner: object, count: int, explicit_env: bool) -> Any:
    @prov_flow(task_runner=runner)  # type: ignore[call-overload]
    def logging_flow(folder: str) -> list[int]:
        futures = [log_at_once.submit(n, folder, count, explicit_env) for n in range(count)]
        quiet(1)
        return [f.result() for f in futures]

    return logging_flow


def _check_at_once(workdir: Path, count: int) -> RunDocument:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    hyper = params_by_activity(run.doc)
    steps = run.steps("log_at_once")
    assert len(steps) == count
    for step in steps:
        number = hyper[step["id"]]["number"]
        series = logged(workdir, step)
        assert series[("loss", "training")] == [(i, number * 1000 + i) for i in range(POINTS)]
        assert series[("acc", "validation")] == [(i, number) for i in range(POINTS)]
        assert series[("child", None)] == [(0, number)]  # its child process found the step
    assert sorted(hyper[s["id"]]["number"] for s in steps) == list(range(count))
    (idle,) = run.steps("quiet")
    assert logged(workdir, idle) == {} and idle["id"] not in hyper
    return run


def test_four_tasks_in_threads_of_one_process(workdir: Path) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    (workdir / "meet").mkdir()
    flow = at_once(ThreadPoolTaskRunner(max_workers=4), 4, explicit_env=True)
    assert set(flow(str(workdir / "meet"))) == {os.getpid()}
    run = _check_at_once(workdir, 4)
    _, run_dir = open_source(workdir / ".yprov")
    assert len(list((run_dir / "tracking").iterdir())) == 4  # none for the task that logged nothing
    found = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.run["ywf:run_id"]]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=found)
    (artifact,) = [a for a in artifacts if a.key == "yprov-provenance"]
    assert "loss[training]=3299" in str(artifact.data)  # the final value of a step's series
    assert "number=3" in str(artifact.data)  # and its hyper-parameters


def test_async_tasks_interleaved_in_one_loop(workdir: Path) -> None:
    @prov_flow
    async def interleaved() -> list[int]:
        return list(await asyncio.gather(*(log_async(n) for n in range(4))))

    assert asyncio.run(interleaved()) == [0, 1, 2, 3]
    run = RunDocument.latest(workdir)
    run.assert_valid()
    hyper = params_by_activity(run.doc)
    steps = run.steps("log_async")
    assert len(steps) == 4
    for step in steps:
        number = hyper[step["id"]]["number"]
        assert logged(workdir, step) == {
            ("loss", None): [(i, number * 1000 + i) for i in range(POINTS)]
        }


def test_a_process_pool_and_child_processes_of_its_tasks(workdir: Path) -> None:
    (workdir / "meet").mkdir()
    flow = at_once(ProvProcessPoolTaskRunner(max_workers=2), 2, explicit_env=False)
    pids = flow(str(workdir / "meet"))
    assert len(set(pids)) == 2 and os.getpid() not in pids
    _check_at_once(workdir, 2)
    assert "YPROV_STEP_DIR" not in os.environ


def test_a_dask_worker_alone_and_shared(workdir: Path) -> None:
    """One Dask worker process with two threads: a task alone in it gives its child processes its
    step; two tasks at once there never give theirs the other's."""
    pytest.importorskip("prefect_dask")
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(
        cluster_kwargs={
            "n_workers": 1,
            "threads_per_worker": 2,
            "processes": True,
            "dashboard_address": None,
        }
    )

    @prov_flow(task_runner=runner)  # type: ignore[call-overload]
    def phases(alone: str, shared: str) -> list[int]:
        first = log_at_once.submit(0, alone, 1, False).result()
        pair = [log_at_once.submit(n, shared, 2, False) for n in (1, 2)]
        return [first, *(future.result() for future in pair)]

    (workdir / "alone").mkdir()
    (workdir / "shared").mkdir()
    pids = phases(str(workdir / "alone"), str(workdir / "shared"))
    assert len(set(pids)) == 1 and os.getpid() not in pids
    run = RunDocument.latest(workdir)
    run.assert_valid()
    hyper = params_by_activity(run.doc)
    for step in run.steps("log_at_once"):
        number = hyper[step["id"]]["number"]
        series = logged(workdir, step)
        assert series[("loss", "training")] == [(i, number * 1000 + i) for i in range(POINTS)]
        if number == 0:
            assert series[("child", None)] == [(0, 0)]  # alone: its child found its step
        else:
            assert ("child", None) not in series  # shared: no child logged into a wrong step


def test_a_yprov4ml_script_a_generator_task_and_a_log_in_the_flow_body(workdir: Path) -> None:
    @prov_flow
    def with_facade() -> None:
        yprov4ml_script("model.pt")
        for item in log_while_yielding(3):
            yp.log_metric("consumer", item)  # between two items: in the generator task's context
        yp.log_metric("in_the_flow_body", 1.0)  # not a step: dropped, with a warning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with_facade()
    assert any(
        issubclass(w.category, TrackingWarning) and "no workflow step" in str(w.message)
        for w in caught
    )
    run = RunDocument.latest(workdir)
    run.assert_valid()
    (step,) = run.steps("yprov4ml_script")
    assert step["ywf:experiment_name"] == "mnist"
    assert not (workdir / "prov").exists()  # joined the task: no second run
    series = logged(workdir, step)
    assert series[("MSE", "training")] == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert len(series[("cpu_s", "training")]) == 3
    assert params_by_activity(run.doc)[step["id"]] == {"optimizer": "Adam"}
    assert run.outputs_of(step, "ywf:model") == {"model.pt"}
    assert not any(ref.name == "in_the_flow_body" for ref in find_series(run.doc))
    (generator,) = run.steps("log_while_yielding")
    assert logged(workdir, generator) == {
        ("item", None): [(0, 0.0), (1, 1.0), (2, 2.0)],
        ("consumer", None): [(0, 0.0), (1, 1.0), (2, 2.0)],
    }


def test_a_worker_gets_its_environment_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attempt alone in a worker puts its folder in the environment, one that began next to
    it takes it out, and the worker's own value comes back whatever ends first."""
    from yprov_prefect.task_attempt import _exported
    from yprov_workflows.settings import Settings

    monkeypatch.setenv("YPROV_STEP_DIR", "/outer/step")
    alone, shared = StepChannel.lazy(tmp_path, "alone"), StepChannel.lazy(tmp_path, "shared")
    first, second = _exported(alone, True, Settings()), _exported(shared, False, Settings())
    first.__enter__()
    assert os.environ["YPROV_STEP_DIR"] == str(alone.folder)
    second.__enter__()
    assert "YPROV_STEP_DIR" not in os.environ and not shared.opened
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert os.environ["YPROV_STEP_DIR"] == "/outer/step"
