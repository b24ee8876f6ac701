"""`snakemake --executor yprov-cluster-generic` with a user's own submit and status scripts (a tiny
scheduler that runs jobs in the background): every job recorded from its process, localrules in
the main process, a failing job failed, outputs the same as a local run's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cluster_workflow import GOOD_TARGETS, check_document, local_outputs, same_outputs, write

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SUBMIT = """#!/bin/bash
# submit.sh JOBSCRIPT: run the job in the background; print its id (the pid)
nohup bash "$1" > "$(dirname "$0")/logs/$(basename "$1").log" 2>&1 &
echo $!
"""


def test_a_workflow_through_cluster_generic(cluster_env: dict[str, str], tmp_path: Path) -> None:
    expected = local_outputs(tmp_path)
    workdir = write(tmp_path / "generic")
    (workdir / "logs").mkdir()
    (workdir / "submit.sh").write_text(SUBMIT)
    (workdir / "submit.sh").chmod(0o755)
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov-cluster-generic", "-j", "3"]
    command += ["--keep-going", "--yprov-strict", "--cluster-generic-submit-cmd", "./submit.sh"]
    command += [*GOOD_TARGETS, "out/boom.txt"]
    result = subprocess.run(
        command, cwd=workdir, env=cluster_env, capture_output=True, text=True, timeout=500
    )
    assert result.returncode != 0, result.stderr[-3000:]  # boom failed
    same_outputs(workdir, expected)
    _, steps = check_document(workdir, "cluster-generic")
    for step in steps["make"]:
        assert step["ywf:scheduler_job_id"].isdigit()  # the pid submit.sh printed
