"""Records written in other processes (process pool, Dask workers) reach the flow's document."""

from __future__ import annotations

from pathlib import Path

import flows
import pytest
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from yprov_prefect import ProvProcessPoolTaskRunner
from yprov_workflows.testing import RunDocument


def _check(workdir: Path, own_process: bool) -> RunDocument:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    burns = run.steps("burn")
    (combine,) = run.steps("combine")
    assert len(burns) == 2
    assert run.inputs_of(combine, "ywf:upstream") == {"result of burn"}
    informed = {
        r["prov:informed"]: r["prov:informant"] for r in run.doc.get("wasInformedBy", {}).values()
    }
    assert informed.get(combine["id"]) in {b["id"] for b in burns}
    for step in burns:
        assert step["ywf:cpu_total_s"] > 0
        if own_process:
            assert 50 * 2**20 <= step["ywf:max_rss_bytes"] < 400 * 2**20
            assert "to itself" in step["ywf:usage_note"]
        else:
            assert "shared" in step["ywf:usage_note"]
    return run


def test_thread_pool(workdir: Path) -> None:
    assert flows.runner_pipeline(ThreadPoolTaskRunner(max_workers=2))() in range(1000, 1020)
    _check(workdir, own_process=False)


def test_process_pool_keeps_upstream_edges_with_our_runner(workdir: Path) -> None:
    assert flows.runner_pipeline(ProvProcessPoolTaskRunner(max_workers=2))() in range(1000, 1020)
    run = _check(workdir, own_process=True)
    pids = {s["ywf:pid"] for s in run.steps("burn")}
    assert __import__("os").getpid() not in pids


def test_prefects_process_pool_loses_upstream_edges(workdir: Path) -> None:
    """Guards the reason ProvProcessPoolTaskRunner exists; if Prefect fixes it, this fails."""
    assert flows.runner_pipeline(ProcessPoolTaskRunner(max_workers=2))() in range(1000, 1020)
    run = RunDocument.latest(workdir)
    run.assert_valid()
    (combine,) = run.steps("combine")
    assert run.inputs_of(combine, "ywf:upstream") == set()
    assert len(run.steps("burn")) == 2


def test_dask_local_cluster_of_processes(workdir: Path) -> None:
    pytest.importorskip("prefect_dask")
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(
        cluster_kwargs={
            "n_workers": 2,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
    assert flows.runner_pipeline(runner)() in range(1000, 1020)
    run = _check(workdir, own_process=True)
    assert __import__("os").getpid() not in {s["ywf:pid"] for s in run.steps("burn")}
