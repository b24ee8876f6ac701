"""The cluster plugins without a cluster: they import without the plugins they wrap (Snakemake
imports every installed plugin on every call), say how to install them, and the record of a
node is completed by the scheduler's verdict as documented (docs/clusters.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from smk_helpers import snakemake, write_workflow

from snakemake_executor_plugin_yprov.cluster import (
    SchedulerFacts,
    completed_by_scheduler,
    node_args,
)
from snakemake_executor_plugin_yprov.nodes import node_journal_namer, node_records, scheduler_facts
from yprov_workflows.records import FileRecord, StepRecord, Usage
from yprov_workflows.usage.sacct import Accounting

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_without_the_slurm_plugin_the_executor_says_how_to_install_it(tmp_path: Path) -> None:
    write_workflow(tmp_path, 'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n')
    result = snakemake(tmp_path, "--jobs", "2", executor="yprov-slurm")
    assert result.returncode != 0
    assert "pip install 'yprov-workflows[slurm]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a.txt").exists()


def _step(status: str = "completed", error: str | None = None) -> StepRecord:
    out = FileRecord(path="o.txt", kind="file", size=1, sha256="0" * 64)
    usage = Usage({"cpu_total_s": 1.0}, "wait4")
    return StepRecord("run", "make", "uuid-1", 1, NOW, NOW, status, outputs=(out,),  # type: ignore[arg-type]
                      usage=usage, error=error)  # fmt: skip


def test_the_schedulers_failure_wins_over_a_completed_node_record() -> None:
    accounting = Accounting({"sacct_state": "TIMEOUT"}, missing_energy="no energy plugin")
    facts = SchedulerFacts("slurm", NOW, "42", "SLURM status is: 'TIMEOUT'", accounting)
    step = completed_by_scheduler(_step(), "failed", facts)
    assert step.status == "failed" and step.outputs == ()
    assert step.error == "SLURM status is: 'TIMEOUT'"
    assert step.attributes == {
        "scheduler": "slurm",
        "scheduler_job_id": "42",
        "scheduler_reason": "SLURM status is: 'TIMEOUT'",
    }
    assert step.usage.figures == {"cpu_total_s": 1.0, "sacct_state": "TIMEOUT"}
    assert step.usage.sources == {"sacct": "sacct (SLURM accounting)"}
    assert step.usage.missing == {"sacct_energy": "no energy plugin"}


def facts_with(reason: str) -> SchedulerFacts:
    return SchedulerFacts("slurm", NOW, "8", reason)


def test_a_node_failure_stays_failed_with_its_own_error() -> None:
    facts = SchedulerFacts("cluster-generic", NOW, "7", None, Accounting(missing="no sacct"))
    step = completed_by_scheduler(_step("failed", "ValueError: bad"), "failed", facts)
    assert (step.status, step.error) == ("failed", "ValueError: bad")
    killed = completed_by_scheduler(_step("failed", "exit 255"), "failed", facts_with("TIMEOUT"))
    assert killed.error == "exit 255; the scheduler: TIMEOUT"
    assert step.usage.missing == {"sacct": "no sacct"}
    ok = completed_by_scheduler(_step(), "completed", SchedulerFacts("cluster-generic", NOW))
    assert ok.status == "completed" and ok.error is None and ok.outputs


def test_node_records_are_found_by_job_uuid_and_attempt(tmp_path: Path) -> None:
    namer = node_journal_namer(tmp_path)
    from yprov_workflows.journal import JournalWriter

    for attempt in (1, 2):
        step = _step()
        step = StepRecord(**{**step.__dict__, "attempt": attempt})
        with JournalWriter(namer(step), lock=False) as journal:
            journal.append(step)
    found = node_records(tmp_path, "uuid-1", 2, print)
    assert [s.attempt for s in found] == [2]
    assert node_records(tmp_path, "uuid-2", 1, print) == []


def test_what_a_node_says_about_itself_and_what_it_is_told() -> None:
    env = {"SLURM_JOB_ID": "12", "SLURMD_NODENAME": "n1", "HOME": "/root", "PBS_JOBID": ""}
    assert scheduler_facts(env) == {"slurm_job_id": "12", "slurm_node": "n1"}

    class Options:
        strict, no_redact, secret_names, sample_tick, series_after = True, False, "pin,x y", None, 5

    args = node_args(Options(), Path("/runs/a b"))
    assert args == (
        "--yprov-node-run '/runs/a b' --yprov-strict --yprov-secret-names 'pin,x y' "
        "--yprov-series-after 5"
    )
