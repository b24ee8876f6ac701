"""Usage figures are exact: short-lived children count, peak memory is the real peak."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from smk_helpers import latest, ok, snakemake, write_workflow

# Fixed work, no interpreter caches: a bash counting loop costs the same CPU every time.
BURN = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"
TOUCH = "b = bytearray(300 * 2**20); b[::4096] = b'x' * (len(b) // 4096)"


def _job_command(python: str) -> str:
    burns = "; ".join(f"bash -c '{BURN}'" for _ in range(10))
    return f'{burns}; "{python}" -c "{TOUCH}"'


def _truth(command: str) -> tuple[float, int]:
    """CPU seconds and peak RSS of the same command, reaped by us with wait4."""
    process = subprocess.Popen(["/bin/bash", "-c", command])
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def test_short_lived_children_and_peak_memory_are_measured_exactly(workdir: Path) -> None:
    command = _job_command(sys.executable)
    write_workflow(
        workdir, f"rule burn:\n    output: 'done'\n    shell: '''{command}; touch {{output}}'''\n"
    )
    ok(snakemake(workdir))
    step = latest(workdir).steps("burn")[0]
    cpu, rss = _truth(command)
    assert step["ywf:usage_source"] == "wait4"
    assert abs(step["ywf:cpu_total_s"] - cpu) <= 0.15 * cpu, (step["ywf:cpu_total_s"], cpu)
    assert step["ywf:cpu_total_s"] >= 0.5, "ten short-lived children, each busy for a while"
    assert abs(step["ywf:max_rss_bytes"] - rss) <= 0.05 * rss, (step["ywf:max_rss_bytes"], rss)
    assert step["ywf:max_rss_bytes"] >= 300 * 2**20


def test_pipe_groups_run_and_pipes_are_not_read(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule all:
            input: "sum.txt"
        rule produce:
            output: pipe("stream.txt")
            shell: "seq 1 1000 > {output}"
        rule consume:
            input: "stream.txt"
            output: "sum.txt"
            shell: "awk '{{s+=$1}} END {{print s}}' {input} > {output}"
        """,
    )
    ok(snakemake(workdir, timeout=120))
    assert (workdir / "sum.txt").read_text().strip() == "500500"
    run = latest(workdir)
    assert {s["ywf:step_name"] for s in run.steps()} == {"all", "produce", "consume"}
    stream = [e for e in run.doc["entity"].values() if e.get("ywf:path") == "stream.txt"]
    assert stream and "ywf:sha256" not in stream[0]


def test_local_wrapper_jobs_are_measured(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule wrapped:
            output: "w.txt"
            params: greeting="hello"
            wrapper: "file:wrappers/greet"
        """,
        {
            "wrappers/greet/wrapper.py": (
                "from snakemake.shell import shell\n"
                "shell('echo {snakemake.params.greeting} > {snakemake.output[0]}')\n"
            ),
        },
    )
    # Without conda, Snakemake cannot hash a wrapper's environment for its metadata: skip that.
    ok(snakemake(workdir, "--drop-metadata"))
    step = latest(workdir).steps("wrapped")[0]
    assert step["ywf:code_kind"] == "wrapper"
    assert step["ywf:usage_source"] == "wait4" and step["ywf:processes"] == 1
    assert (workdir / "w.txt").read_text().strip() == "hello"
