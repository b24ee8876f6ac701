"""A Prefect task in its own process: short-lived children count, peak memory is the real peak."""

from __future__ import annotations

from pathlib import Path

import flows

from yprov_prefect import ProvProcessPoolTaskRunner
from yprov_workflows.testing import RunDocument


def test_children_cpu_and_peak_memory_of_a_task_in_its_own_process(workdir: Path) -> None:
    truths = flows.children_pipeline(ProvProcessPoolTaskRunner(max_workers=1))()
    run = RunDocument.latest(workdir)
    run.assert_valid()
    (step,) = run.steps("children_burn")
    cpu = sum(t["cpu"] for t in truths)
    peak = max(t["rss"] for t in truths)
    assert cpu > 0.5, truths  # about 1 s of children's CPU on this machine, and the body's own
    assert step["ywf:usage_source"] == "rusage_thread+children"
    assert "to itself" in step["ywf:usage_note"]
    assert step["ywf:cpu_total_s"] >= cpu * 0.99, "the recording around the body only adds"
    # the recording inside the measured window (around the body) costs a few ms of the thread
    assert step["ywf:cpu_total_s"] <= cpu * 1.05 + 0.05, (step["ywf:cpu_total_s"], cpu)
    assert abs(step["ywf:max_rss_bytes"] - peak) <= 0.05 * peak, (step["ywf:max_rss_bytes"], peak)
    assert step["ywf:children_max_rss_bytes"] >= 300 * 2**20
    # the sampler followed the task's process tree (the children join as they start)
    assert step["ywf:source_gauges"].startswith("sampled from /proc")
    assert step["ywf:sampled_processes_max"] >= 2
    assert run.run["ywf:total_cpu_total_s"] >= step["ywf:cpu_total_s"]  # the run's totals
    assert run.run["ywf:max_step_rss_bytes"] == step["ywf:max_rss_bytes"]
