"""A task that finished is in its run's journal when the flow's process is killed (SIGKILL) a
second later, although task records are written in batches by a background thread
(`yprov_workflows.batched`), and the next run assembles that run as killed."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from yprov_prefect import prov_flow
from yprov_workflows.journal import read_run_journal
from yprov_workflows.records import StepRecord
from yprov_workflows.testing import RunDocument

FLOW = """
import time
from yprov_prefect import prov_flow, prov_task

@prov_task
def plain(x: int) -> int:
    return x + 1

@prov_task
def listed(items: list) -> list:
    return items + [1]

@prov_flow
def killed() -> None:
    plain(1)
    listed([0])
    print("tasks done", flush=True)
    time.sleep(120)

killed()
"""


@prov_flow
def next_run() -> None:
    pass


def test_finished_tasks_survive_a_kill_a_second_later(workdir: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    (workdir / "flow.py").write_text(FLOW)
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    process = subprocess.Popen(
        [sys.executable, "flow.py"], cwd=workdir, env=env, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], 120)
        assert readable and process.stdout.readline() == b"tasks done\n"
        time.sleep(1.0)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    (run_dir,) = [p for p in (workdir / ".yprov").iterdir() if not p.name.startswith(".")]
    records = read_run_journal(run_dir).records
    steps = sorted(r.name for r in records if isinstance(r, StepRecord))
    assert steps == ["listed", "plain"]  # a plain-valued one (batched) and a list-valued one

    next_run()  # assembles the killed one
    document = RunDocument.load(run_dir / f"{run_dir.name}.prov.json")
    assert document.run["ywf:status"] == "incomplete"
