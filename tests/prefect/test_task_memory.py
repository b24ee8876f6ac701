"""A Prefect task that starts processes: their peak RSS is not the flow process's memory."""

from __future__ import annotations

import subprocess
from pathlib import Path

from yprov_prefect import prov_flow, prov_task
from yprov_workflows.testing import RunDocument

MIB = 2**20


@prov_task
def run_echo() -> None:
    subprocess.run(["/bin/sh", "-c", "echo hi > /dev/null"], check=True)


@prov_flow
def fat_flow() -> None:
    table = bytearray(200 * MIB)  # the flow's process holds 200 MiB more while the task runs
    table[::4096] = b"x" * (len(table) // 4096)
    run_echo()
    del table


def test_a_childs_inherited_pages_are_not_reported_as_its_peak(workdir: Path) -> None:
    fat_flow()
    run = RunDocument.latest(workdir)
    run.assert_valid()
    (step,) = run.steps("run_echo")
    assert step["ywf:usage_source"] == "rusage_thread+children"
    assert "ywf:children_max_rss_bytes" not in step
    assert "started it" in step["ywf:missing_children_max_rss"]
    assert step["ywf:children_cpu_total_s"] >= 0
