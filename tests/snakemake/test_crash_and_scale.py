"""Nothing is lost: a killed Snakemake leaves every finished step in the journal; parallel jobs
are each recorded exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from smk_helpers import latest, ok, snakemake, write_workflow

from yprov_workflows.journal import read_journal
from yprov_workflows.records import StepRecord
from yprov_workflows.testing import RunDocument

KILLED = """
rule all:
    input: "slow.txt"

rule quick:
    output: "quick_{i}.txt"
    shell: "echo {wildcards.i} > {output}"

rule slow:
    input: expand("quick_{i}.txt", i=range(4))
    output: "slow.txt"
    shell: "sleep 600; touch {output}"
"""


def _journal_steps(workdir: Path) -> int:
    journals = list((workdir / ".yprov").glob("*/journal.jsonl"))
    if not journals:
        return 0
    lines = journals[0].read_text().splitlines()
    return sum(1 for line in lines if '"kind":"step"' in line)


def _export(run_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "yprov_workflows", "export", str(run_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _start_and_kill_after_quick_steps(workdir: Path) -> None:
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov", "--cores", "2"]
    process = subprocess.Popen(
        command,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while _journal_steps(workdir) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def killed_run(workdir: Path) -> Path:
    write_workflow(workdir, KILLED)
    _start_and_kill_after_quick_steps(workdir)
    (run_dir,) = [p for p in (workdir / ".yprov").iterdir() if not p.is_symlink()]
    assert not list(run_dir.glob("*.prov.json")), "the run was killed before assembly"
    return run_dir


def test_export_of_a_killed_run_keeps_every_finished_step(killed_run: Path) -> None:
    result = _export(killed_run)
    assert result.returncode == 0, result.stderr
    document = RunDocument.load(Path(result.stdout.strip()))
    document.assert_valid()
    assert document.run["ywf:status"] == "incomplete"
    quick = document.steps("quick")
    assert len(quick) == 4 and all(s["ywf:status"] == "completed" for s in quick)
    assert document.steps("slow") == []


def test_the_next_run_assembles_a_killed_run(killed_run: Path, workdir: Path) -> None:
    write_workflow(workdir, 'rule other:\n    output: "other"\n    shell: "touch {output}"\n')
    ok(snakemake(workdir))
    recovered = RunDocument.load(next(killed_run.glob("*.prov.json")))
    recovered.assert_valid()
    assert recovered.run["ywf:status"] == "incomplete"
    assert len(recovered.steps("quick")) == 4
    assert latest(workdir).steps("other")


def test_a_torn_last_journal_line_is_skipped(killed_run: Path) -> None:
    journal = killed_run / "journal.jsonl"
    with journal.open("a") as handle:
        handle.write('{"kind":"step","run_id":"x","na')
    result = _export(killed_run)
    assert result.returncode == 0, result.stderr
    assert "half-written" in result.stderr
    assert len(RunDocument.load(Path(result.stdout.strip())).steps("quick")) == 4


def test_200_parallel_jobs_give_exactly_200_steps(workdir: Path) -> None:
    write_workflow(
        workdir,
        """
        rule all:
            input: expand("out/{i}.txt", i=range(200))
        rule one:
            output: "out/{i}.txt"
            shell: "echo {wildcards.i} > {output}"
        """,
    )
    ok(snakemake(workdir, "--cores", "4", timeout=600))
    run = latest(workdir)
    steps = run.steps("one")
    assert len(steps) == 200
    assert len({s["ywf:job_key"] for s in steps}) == 200
    assert {s["wildcard:i"] for s in steps} == {str(i) for i in range(200)}
    contents = read_journal(next((workdir / ".yprov").glob("*/journal.jsonl")))
    assert contents.damaged_lines == 0, "every journal line is whole, its checksum right"
    assert sum(isinstance(r, StepRecord) for r in contents.records) == 201


def test_a_finished_job_is_kept_when_snakemake_aborts_before_its_verdict(workdir: Path) -> None:
    """Without conda, Snakemake aborts while writing metadata of a finished wrapper job: kept,
    but not completed (Snakemake never accepted it as finished), its output not claimed."""
    write_workflow(
        workdir,
        'rule wrapped:\n    output: "w.txt"\n    wrapper: "file:wrappers/touch"\n',
        {"wrappers/touch/wrapper.py": "open(snakemake.output[0], 'w').close()\n"},
    )
    assert snakemake(workdir).returncode != 0
    run = latest(workdir)
    assert run.run["ywf:status"] == "cancelled"
    (step,) = run.steps("wrapped")
    assert step["ywf:status"] == "cancelled"
    assert step["ywf:snakemake_verdict"].startswith("not reported")
    assert run.generator_of("w.txt") is None
