"""Prefect on a local Ray cluster (`RayTaskRunner` from prefect-ray): Ray's own worker processes,
whose working directory is Ray's copy of this folder (`runtime_env` `working_dir`), not the
flow's. prefect-ray hands a task its upstream results as Prefect states (the remote function
returns states), so Prefect keeps the upstream edges without help (unlike a process pool)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fanout_tasks import flaky, square, total

from yprov_prefect import prov_flow
from yprov_workflows.testing import Element, RunDocument

pytest.importorskip("prefect_ray")
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def fan(runner: Any) -> Any:
    @prov_flow(task_runner=runner)
    def fan_out_in_on_ray() -> int:
        squares = [square.submit(n) for n in range(3)]
        retried = flaky.submit(squares[1])
        return int(total.submit([*squares, retried]).result())

    return fan_out_in_on_ray


@pytest.fixture
def ray_temp() -> Iterator[Path]:
    """Ray's session folder: a short path (its socket names must stay under 108 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="yray", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _upstream_steps(run: RunDocument, step: Element) -> set[str]:
    used = {
        r["prov:entity"]
        for r in run._relations("used")
        if r["prov:activity"] == step["id"] and r.get("prov:role") == "ywf:upstream"
    }
    generated = run._relations("wasGeneratedBy")
    return {r["prov:activity"] for r in generated if r["prov:entity"] in used}


def test_ray_local_cluster(workdir: Path, ray_temp: Path) -> None:
    from prefect_ray import RayTaskRunner

    runner = RayTaskRunner(
        init_kwargs={
            "num_cpus": 2,
            "include_dashboard": False,
            "_temp_dir": str(ray_temp),
            "runtime_env": {
                "working_dir": str(HERE),  # importable there, and the workers' cwd
                "excludes": ["__pycache__", ".yprov", "*.pyc"],
                "env_vars": {"RAY_USAGE_STATS_ENABLED": "0"},
            },
        }
    )
    assert fan(runner)() == 0 + 1 + 4 + 2
    run = RunDocument.latest(workdir)
    run.assert_valid()
    squares, flakies, (fan_in,) = run.steps("square"), run.steps("flaky"), run.steps("total")
    assert len(squares) == 3
    attempts = [(s["ywf:attempt"], s["ywf:status"]) for s in flakies]
    assert attempts == [(1, "failed"), (2, "completed")]
    assert _upstream_steps(run, fan_in) == {s["id"] for s in squares} | {flakies[1]["id"]}
    for step in [*squares, *flakies, fan_in]:
        assert step["ywf:pid"] != os.getpid()
        assert step["ywf:task_runner"] == "ray"
        assert len(step["ywf:ray_node_id"]) > 20 and len(step["ywf:worker"]) > 20
        assert "ywf:cpu_total_s" in step and "ywf:max_rss_bytes" in step
    assert all(s["ywf:cpu_total_s"] > 0 for s in squares)
    assert run.run["ywf:recording_errors"] == 0
    assert not (HERE / ".yprov").exists()
