"""Real Snakemake: a second run in the same working directory leaves a live run alone; the run
after a `kill -9` assembles it and says so once; a short disk full on the output folder costs one
journal line, is warned about once with a count, and the run's document is still assembled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from smk_helpers import latest, ok, snakemake, write_workflow

from yprov_workflows.testing import RunDocument

pytestmark = pytest.mark.slow

TWO_RUNS = """
rule slow:
    output: "slow.txt"
    shell: "while [ ! -e go ]; do sleep 0.2; done; touch {output}"

rule other:
    output: "other.txt"
    shell: "touch {output}"

rule third:
    output: "third.txt"
    shell: "touch {output}"
"""


def _started_run(workdir: Path, deadline_s: float = 120) -> Path:
    """The run folder of the first run, once its journal has the run's start."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        journals = list((workdir / ".yprov").glob("*/journal.jsonl"))
        if journals and b'"kind":"run_start"' in journals[0].read_bytes():
            return journals[0].parent
        time.sleep(0.1)
    raise AssertionError("the first run never started recording")


def test_a_second_run_leaves_a_live_run_alone_and_the_next_recovers_it_once(
    workdir: Path,
) -> None:
    write_workflow(workdir, TWO_RUNS)
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov", "--cores", "1"]
    first = subprocess.Popen(
        [*command, "--yprov-strict", "slow.txt"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        run_dir = _started_run(workdir)
        second = ok(snakemake(workdir, "other.txt"))  # disjoint targets: Snakemake allows it
        assert first.poll() is None, "the first run must still be going"
        assert not list(run_dir.glob("*.prov.json")), "a live run was assembled as if killed"
        assert "did not finish" not in second.stderr
        assert latest(workdir).steps("other")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # kill -9, its waiting job with it
        first.wait()
    third = ok(snakemake(workdir, "third.txt"))
    lines = [line for line in third.stderr.splitlines() if "did not finish" in line]
    assert len(lines) == 1, third.stderr[-3000:]
    assert f"the run {run_dir.name} did not finish (killed?)" in lines[0]
    recovered = RunDocument.load(next(run_dir.glob("*.prov.json")))
    recovered.assert_valid()
    assert recovered.run["ywf:status"] == "incomplete"
    assert latest(workdir).steps("third")


DISK_FULL = """
PAD = "x" * 4000

rule all:
    input: "free.txt"

rule before:
    output: "before.txt"
    shell: "touch {output}"

# Fill the output folder's tmpfs, then free one page: this job's large record is written part-way.
rule fill:
    input: "before.txt"
    output: "fill.txt"
    params: mnt=config["mnt"], pad0=PAD, pad1=PAD, pad2=PAD, pad3=PAD, pad4=PAD
    shell:
        "dd if=/dev/zero of={params.mnt}/filler bs=4096 2>/dev/null || true; "
        "truncate -s -4096 {params.mnt}/filler; touch {output}"

rule during:
    input: "fill.txt"
    output: "during_{i}.txt"
    shell: "touch {output}"

rule free:
    input: expand("during_{i}.txt", i=range(3))
    output: "free.txt"
    params: mnt=config["mnt"]
    shell: "sleep 1; rm {params.mnt}/filler; touch {output}"
"""


def test_a_short_disk_full_costs_one_line_and_one_warning(workdir: Path, small_disk: Path) -> None:
    write_workflow(workdir, DISK_FULL)
    out = small_disk / ".yprov"
    result = ok(
        snakemake(workdir, "--yprov-out", str(out), "--config", f"mnt={small_disk}", strict=False)
    )
    full = [line for line in result.stderr.splitlines() if "No space left on device" in line]
    assert len(full) == 1, result.stderr[-4000:]
    assert "yprov-workflows: recording step fill failed: OSError: [Errno 28]" in full[0]
    assert "yprov-workflows: 3 more recording errors like the above in this run" in result.stderr
    assert result.stderr.count("skipped 1 damaged line") == 1
    document = RunDocument.latest(workdir, out=str(out))
    document.assert_valid()
    assert document.run["ywf:status"] == "completed"
    assert document.run["ywf:recording_errors"] == 4  # fill and the three `during` jobs
    assert document.run["ywf:journal_damaged_lines"] == 1
    assert document.steps("before") and document.steps("free")
    assert not document.steps("fill") and not document.steps("during")
