"""@prov_task / @prov_flow behave like @task / @flow and leave one valid document per flow run."""

from __future__ import annotations

import asyncio
import inspect
import logging
import subprocess
import sys
from pathlib import Path

import flows
import pytest
from prefect import Flow, Task, flow

from yprov_prefect import prov_task
from yprov_workflows.testing import RunDocument


def latest(workdir: Path) -> RunDocument:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    return run


def test_files_params_and_upstream_results_link_the_steps(workdir: Path) -> None:
    assert flows.pipeline(10) == [0.2, 1.0]
    run = latest(workdir)
    assert run.run["ywf:status"] == "completed"
    (prepare,) = run.steps("prepare")
    assert run.outputs_of(prepare) == {"data.txt"}
    trains = run.steps("train")
    assert len(trains) == 2
    for train in trains:
        assert run.inputs_of(train) == {"data.txt"}
        assert run.generator_of("data.txt")["id"] == prepare["id"]
        assert run.params_of(train)["api_token"] == "[redacted]"
        assert run.inputs_of(train, "ywf:upstream") == {"result of prepare"}
    assert sorted(run.params_of(t)["lr"] for t in trains) == [0.1, 0.5]
    evaluates = run.steps("evaluate")
    assert all(run.inputs_of(e, "ywf:upstream") == {"result of train"} for e in evaluates)
    assert "hunter2" not in str(run.doc)


def test_usage_and_identity_of_each_attempt(workdir: Path) -> None:
    flows.pipeline(5)
    run = latest(workdir)
    for step in run.steps():
        assert step["ywf:usage_source"].startswith("rusage_thread")
        assert step["ywf:cpu_total_s"] >= 0
        assert step["ywf:process_max_rss_bytes"] > 10 * 2**20
        assert step["ywf:task_run_id"] == step["ywf:job_key"]
        assert step["ywf:attempt"] == 1
        assert step["ywf:code_kind"] == "python" and step["ywf:code_sha256"]
    assert run.run["ywf:run_id"] == next(iter(run.steps()))["ywf:flow_run_id"]


def test_async_generator_and_async_generator_tasks_and_async_flows(workdir: Path) -> None:
    assert asyncio.run(flows.async_flow(21)) == 42
    assert latest(workdir).steps("async_double")[0]["ywf:status"] == "completed"
    assert flows.kinds_flow() == (3, 4, 2)
    run = latest(workdir)
    assert run.steps("count_up")[0]["ywf:items_yielded"] == 3
    assert run.steps("count_up_async")[0]["ywf:items_yielded"] == 4
    assert run.steps("async_double") == [], ".fn() calls are not task runs"


def test_decorators_return_real_prefect_objects_with_distinct_keys() -> None:
    assert isinstance(flows.train, Task) and isinstance(flows.pipeline, Flow)
    assert flows.train.task_key != flows.evaluate.task_key
    assert inspect.signature(flows.train.fn) == inspect.signature(flows.train.fn.__wrapped__)
    assert flows.train.with_options(retries=3).retries == 3
    assert flows.add.fn(2, 3) == 5, ".fn works outside a flow"
    assert inspect.iscoroutinefunction(flows.async_double.fn)
    assert inspect.isasyncgenfunction(flows.count_up_async.fn)


def test_prefect_finds_the_users_signature_on_the_wrapper_without_unwrapping_it() -> None:
    """Prefect binds every call's arguments with `inspect.signature(task.fn)`: the wrapper
    carries the user's signature (found once), so nothing is unwrapped or parsed per call."""
    for made in (flows.train, flows.async_double, flows.count_up, flows.count_up_async):
        user_fn = made.fn.__wrapped__
        assert vars(made.fn)["__signature__"] == inspect.signature(user_fn)
        assert inspect.signature(made.fn) is vars(made.fn)["__signature__"]
    bound = inspect.signature(flows.train.fn).bind(Path("d"), 0.1)
    bound.apply_defaults()
    assert bound.arguments == {"data": Path("d"), "lr": 0.1, "api_token": "hunter2"}


def test_subflows_and_undecorated_tasks_are_linked(workdir: Path) -> None:
    assert flows.outer() == 6
    run = latest(workdir)
    (sub,) = run.steps("inner")
    assert sub["ywf:kind"] == "subflow"
    started = {r["prov:activity"]: r["prov:starter"] for r in run.doc["wasStartedBy"].values()}
    plain = run.steps("plain_add")
    assert len(plain) == 2
    assert all(p["ywf:usage_source"] == "unmeasured" for p in plain)
    assert sorted(started[p["id"]] == sub["id"] for p in plain) == [False, True]
    assert started[sub["id"]] == f"run:{run.run['ywf:run_id']}"
    assert run.inputs_of(sub) == set() and run.params_of(sub) == {"k": 3}


def test_retries_give_one_activity_per_attempt(workdir: Path) -> None:
    marker = workdir / "tried"

    @prov_task(retries=2, retry_delay_seconds=0)
    def flaky() -> str:
        if not marker.exists():
            marker.touch()
            raise ValueError("first attempt fails")
        return "ok"

    @flows.prov_flow
    def retrying() -> str:
        return flaky()

    assert retrying() == "ok"
    run = latest(workdir)
    attempts = run.steps("flaky")
    assert [(a["ywf:attempt"], a["ywf:status"]) for a in attempts] == [
        (1, "failed"),
        (2, "completed"),
    ]
    assert "ValueError: first attempt fails" in attempts[0]["ywf:error"]
    assert attempts[0]["ywf:job_key"] == attempts[1]["ywf:job_key"]


def test_a_failing_task_fails_the_flow_and_is_recorded(workdir: Path) -> None:
    @prov_task
    def broken(x: int) -> int:
        raise RuntimeError(f"cannot handle {x}")

    @flows.prov_flow
    def failing() -> int:
        return broken(3)

    with pytest.raises(RuntimeError, match="cannot handle 3"):
        failing()
    run = latest(workdir)
    assert run.run["ywf:status"] == "failed"
    (step,) = run.steps("broken")
    assert step["ywf:status"] == "failed" and "RuntimeError: cannot handle 3" in step["ywf:error"]


def test_a_cache_hit_is_recorded_as_reuse(workdir: Path) -> None:
    @prov_task(cache_key_fn=lambda context, parameters: "always-the-same")
    def expensive(x: int) -> int:
        return x * 10

    @flows.prov_flow
    def twice() -> tuple[int, int]:
        return expensive(1), expensive(2)

    assert twice() == (10, 10)
    run = latest(workdir)
    executed, reused = run.steps("expensive")
    assert executed["ywf:status"] == "completed" and executed["ywf:usage_source"].startswith(
        "rusage_thread"
    )
    assert reused["ywf:status"] == "cached" and reused["ywf:reused_from_cache"] is True
    assert reused["ywf:usage_source"] == "none"


def test_our_cache_hook_leaves_no_lines_in_the_task_run_logs(workdir: Path) -> None:
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("prefect.task_runs")
    level, logger.level = logger.level, logging.INFO
    logger.addHandler(handler)
    try:
        assert flows.pipeline(1) == [0.2, 1.0]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any("Finished in state Completed" in line for line in lines)  # the handler sees them
    assert not [line for line in lines if "record_cache_hit" in line]


def test_map_and_big_parameters(workdir: Path) -> None:
    @prov_task
    def size(values: list[int], factor: int) -> int:
        return len(values) * factor

    @flows.prov_flow
    def mapped() -> list[int]:
        big = list(range(200_000))
        return [f.result() for f in size.map([big, [1, 2]], [1, 2])]

    assert mapped() == [200_000, 4]
    run = latest(workdir)
    steps = run.steps("size")
    assert len(steps) == 2
    entities = [
        run.entity(r["prov:entity"])
        for r in run.doc["used"].values()
        if r.get("prov:role") == "ywf:parameter"
        and run.entity(r["prov:entity"])["prov:label"] == "values"
    ]
    big = next(e for e in entities if e.get("ywf:size") == 200_000)
    assert big["prov:value"] == "<list of 200000 items>" and "ywf:digest" not in big
    small = next(e for e in entities if e.get("ywf:size") == 2)
    assert small["ywf:digest"]


def test_tasks_of_an_undecorated_flow_can_be_exported(workdir: Path) -> None:
    @flow
    def plain_flow() -> int:
        return flows.add(1, 1)

    assert plain_flow() == 2
    (run_dir,) = (workdir / ".yprov").iterdir()
    result = subprocess.run(
        [sys.executable, "-m", "yprov_workflows", "export", str(run_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    run = RunDocument.load(Path(result.stdout.strip()))
    run.assert_valid()
    assert run.run["ywf:status"] == "incomplete" and len(run.steps("add")) == 1


def test_disable_variable_records_nothing(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YPROV_DISABLE", "1")
    assert flows.pipeline(3) == [0.2, 1.0]
    assert not (workdir / ".yprov").exists()


def test_the_flow_run_gets_a_summary_artifact(workdir: Path) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    flows.pipeline(4)
    run = latest(workdir)
    flow_run_id = run.run["ywf:run_id"]
    found = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=found)
    (artifact,) = [a for a in artifacts if a.key == "yprov-provenance"]
    assert "prepare: 1 step(s)" in str(artifact.data)
    assert str(run.path.resolve()) in str(artifact.data)
