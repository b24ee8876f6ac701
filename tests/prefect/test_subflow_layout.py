"""Subflows are found through `.yprov/.links/`: `.yprov/*/` lists run folders, not subflows."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import flows

from yprov_prefect import ProvProcessPoolTaskRunner, prov_flow
from yprov_workflows.runs import run_dirs, unassembled_runs
from yprov_workflows.testing import RunDocument


@prov_flow(task_runner=ProvProcessPoolTaskRunner(max_workers=2))
def pooled(n: int) -> int:
    """A subflow whose tasks run in worker processes: they know only the subflow's run id."""
    first, second = flows.burn.submit(n), flows.burn.submit(n + 1)
    return int(first.result()) + int(second.result())


@prov_flow
def parent() -> int:
    return pooled(1000) + flows.inner(1)


def test_subflow_tasks_in_a_process_pool_reach_the_top_level_run(workdir: Path) -> None:
    assert parent() in range(2, 15)
    run = RunDocument.latest(workdir)
    run.assert_valid()
    out = workdir / ".yprov"
    run_dir = out / run.run["ywf:run_id"]
    assert run_dir.is_dir() and not run_dir.is_symlink()
    burns = run.steps("burn")
    assert len(burns) == 2, "both pooled tasks are in the top-level document"
    assert os.getpid() not in {s["ywf:pid"] for s in burns}
    subflows = {s["ywf:step_name"]: s for s in run.steps() if s.get("ywf:kind") == "subflow"}
    assert set(subflows) == {"pooled", "inner"}
    assert {s["ywf:flow_run_id"] for s in burns} == {subflows["pooled"]["ywf:flow_run_id"]}
    folders = {Path(p).name: Path(p) for p in glob.glob(f"{out}/*/")}
    assert set(folders) == {run_dir.name}, "each run once: no subflow folder, no pointer"
    assert (run_dir.parent / ".latest").resolve() == run_dir.resolve()
    links = sorted((out / ".links").iterdir())
    assert {p.name for p in links} == {s["ywf:flow_run_id"] for s in subflows.values()}
    assert all(p.resolve() == run_dir.resolve() for p in links)
    assert list(run_dirs(out)) == [run_dir] and list(unassembled_runs(out)) == []
