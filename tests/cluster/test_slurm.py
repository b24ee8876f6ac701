"""`snakemake --executor yprov-slurm` on a real one-node SLURM cluster (tests/cluster/conftest.py):
the same document as a local run, with each job's node, SLURM job id, our usage measured on the
node and SLURM's own accounting; a failing job, a job cancelled with `scancel` and a job SLURM
kills at its time limit are failed, with SLURM's state."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from cluster_workflow import ALL_TARGETS, check_document, local_outputs, same_outputs, write

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
SLURM_ARGS = (
    "--default-resources",
    "slurm_account=ci",
    "slurm_partition=debug",
    "--slurm-init-seconds-before-status-checks",
    "2",
    # The plugin's sacct status check (2.8.0) never ends a job that `scancel` cancelled: sacct
    # says "CANCELLED by 0", which is not in its list of failed states, so Snakemake waits
    # forever, with or without provenance. Its squeue check says "CANCELLED".
    "--slurm-status-command",
    "squeue",
)


def _cancel_when_running(rule: str, deadline_s: float = 120) -> str:
    """scancel the SLURM job of `rule` once it runs; its job id."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        listed = subprocess.run(
            ["squeue", "-h", "-t", "RUNNING", "-o", "%i %k"], capture_output=True, text=True
        ).stdout.split("\n")
        for line in listed:
            job_id, _, comment = line.partition(" ")
            if comment.startswith(f"rule_{rule}"):
                time.sleep(2)  # let its process start on the node
                subprocess.run(["scancel", job_id], check=True)
                return job_id
        time.sleep(0.5)
    raise AssertionError(f"no running SLURM job of rule {rule} within {deadline_s} s")


def test_a_workflow_through_slurm(slurm: None, cluster_env: dict[str, str], tmp_path: Path) -> None:
    expected = local_outputs(tmp_path)
    workdir = write(tmp_path / "slurm")
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov-slurm", "-j", "3"]
    command += ["--keep-going", "--yprov-strict", *SLURM_ARGS, *ALL_TARGETS]
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=cluster_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        cancelled = _cancel_when_running("sleepy")
        output, _ = process.communicate(timeout=600)
    finally:
        process.kill()  # a hung Snakemake must not hang the tests
        process.wait()
    assert process.returncode != 0, output[-3000:]  # boom and sleepy failed
    same_outputs(workdir, expected)
    run, steps = check_document(workdir, "slurm")
    for step in [*steps["make"], *steps["train"]]:
        assert step["ywf:slurm_job_id"] == step["ywf:scheduler_job_id"]
        assert step["ywf:slurm_node"] == "localhost"
        assert step["ywf:sacct_state"] == "COMPLETED"
        assert step["ywf:source_sacct"].startswith("sacct")
        assert step["ywf:sacct_total_cpu_s"] >= step["ywf:cpu_total_s"]  # + Snakemake's own
        assert step["ywf:sacct_max_rss_bytes"] > 0 and step["ywf:sacct_elapsed_s"] > 0
        assert "ywf:missing_sacct_energy" in step  # no energy plugin on this cluster
    (boom,) = steps["boom"]
    assert boom["ywf:sacct_state"] == "FAILED" and "FAILED" in boom["ywf:scheduler_reason"]
    (sleepy,) = run.steps("sleepy")
    assert sleepy["ywf:status"] == "failed"
    assert sleepy["ywf:scheduler_job_id"] == cancelled
    assert sleepy["ywf:sacct_state"].startswith("CANCELLED")
    assert "CANCELLED" in sleepy["ywf:error"]
    (overtime,) = run.steps("overtime")  # killed by SLURM at its 1-minute time limit
    assert overtime["ywf:status"] == "failed" and overtime["ywf:sacct_state"] == "TIMEOUT"
    assert "TIMEOUT" in overtime["ywf:error"]
