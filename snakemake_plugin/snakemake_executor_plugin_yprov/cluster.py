"""Provenance on a cluster: `snakemake --executor yprov-slurm` and `--executor
yprov-cluster-generic`.

Each is the cluster plugin's own executor (a subclass, `ClusterRecording` first in its bases)
with three additions:
- The run is recorded by this plugin's local executor (`Executor.attached`), which also runs the
  workflow's `localrules` jobs in the main process, so they are recorded like a local run's.
- Every job's process on its node runs `--executor yprov` too (for SLURM through the job-step
  level, `--executor yprov-slurm-jobstep`): it measures the job where it runs and writes its record
  into the run's folder over the shared filesystem (`nodes.py`).
- When the scheduler reports a job finished, the node's record is completed with what only the
  submitting side knows: the scheduler and its job id, its verdict and its reason for a failure,
  and SLURM's own accounting of the job (`sacct`). A job the scheduler killed before its process
  could record (time limit, memory limit, `scancel`) is still recorded, from the job itself.

Users keep the cluster plugin's options under their own names (`--slurm-*`, `--cluster-generic-*`)
and ours (`--yprov-*`). Snakemake hands an executor only the settings of its own prefix, so
`cli_settings` reads the others from Snakemake's parse of this process's command line, profiles
included (Snakemake applies profiles to its main process only).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import shlex
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry
from snakemake_interface_executor_plugins.settings import CommonSettings

from snakemake_executor_plugin_yprov import adapter
from snakemake_executor_plugin_yprov.attempt import Attempt
from snakemake_executor_plugin_yprov.executor import Executor as YprovExecutor
from snakemake_executor_plugin_yprov.nodes import node_records
from yprov_workflows.recorder import Recorder, utcnow
from yprov_workflows.records import Status, StepRecord, Usage
from yprov_workflows.usage import sacct
from yprov_workflows.values import Value

NODE_EXECUTOR = "yprov"
NOT_BACK = (
    "no record came back from the job's node: the scheduler ended the job before its process "
    "could record it, or the node cannot write the run folder"
)


@dataclass(frozen=True)
class SchedulerFacts:
    """What the submitting side knows of one cluster job attempt."""

    scheduler: str
    submitted: datetime
    job_id: str | None = None
    reason: str | None = None
    accounting: sacct.Accounting | None = None


def cli_settings(plugin: str) -> Any:
    """The settings of the executor plugin `plugin` as this Snakemake process was given them (its
    command line, profiles, `SNAKEMAKE_*` variables); the plugin's defaults when the process was
    not started from Snakemake's command line (the Python API)."""
    registered = ExecutorPluginRegistry().get_plugin(plugin)
    args = _command_line()
    if args is not None:
        return registered.get_settings(args)
    settings_cls = registered.settings_cls
    return settings_cls() if settings_cls is not None else None


def _command_line() -> Any:
    """Snakemake's own parse of `sys.argv` (quietly: it already spoke once); None when the
    arguments are not Snakemake's."""
    from snakemake.cli import parse_args

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            _, args = parse_args(sys.argv[1:])
        except (Exception, SystemExit):
            return None
    return args if getattr(args, "executor", None) else None


def node_args(options: Any, run_dir: Path) -> str:
    """The `--yprov-*` arguments that make a job's process record its job into `run_dir` as this
    run does (with `--executor yprov`)."""
    args = [f"--yprov-node-run {shlex.quote(str(run_dir))}"]
    if options is not None:
        args += ["--yprov-strict"] if options.strict else []
        args += ["--yprov-no-redact"] if options.no_redact else []
        for name in ("secret_names", "sample_tick", "series_after"):
            value = getattr(options, name)
            if value is not None:
                args.append(f"--yprov-{name.replace('_', '-')} {shlex.quote(str(value))}")
    return " ".join(args)


def missing_plugin(name: str, extra: str) -> tuple[type, CommonSettings]:
    """What `--executor <name>` is when the cluster plugin it needs is not installed: an executor
    that says how to install it. (Snakemake imports every installed plugin on every call, so our
    cluster plugins must import without theirs.)"""
    from snakemake_interface_common.exceptions import WorkflowError
    from snakemake_interface_executor_plugins.executors.base import AbstractExecutor

    class Missing(AbstractExecutor):
        def __new__(cls, *args: Any, **kwargs: Any) -> Missing:
            raise WorkflowError(
                f"--executor {name} needs Snakemake's {extra} executor plugin: install it with "
                f"pip install 'yprov-workflows[{extra}]'"
            )

    settings = CommonSettings(
        non_local_exec=True, implies_no_shared_fs=False, job_deploy_sources=False
    )
    return Missing, settings


def attach_local_executor(executor: YprovExecutor) -> None:
    """Make the next local executor Snakemake makes (the scheduler makes it for `localrules`
    right after the cluster executor) be `executor`. Snakemake picks it from its plugin registry
    by name; the entry is restored as soon as it is used (`restore_local_executor` otherwise)."""
    registry = ExecutorPluginRegistry()
    stock = registry.plugins["local"]

    def ours(workflow: Any, logger: Any) -> YprovExecutor:
        registry.plugins["local"] = stock
        return executor

    registry.plugins["local"] = dataclasses.replace(stock, executor=ours)


def restore_local_executor() -> None:
    """Undo `attach_local_executor` if Snakemake never asked (it runs every job remotely)."""
    registry = ExecutorPluginRegistry()
    plugin = registry.plugins.get("local")
    if plugin is not None and not isinstance(plugin.executor, type):
        from snakemake.executors import local

        registry.plugins["local"] = dataclasses.replace(plugin, executor=local.Executor)


class ClusterRecording:
    """The provenance half of a cluster executor (see the module's docstring)."""

    wrapped = ""  # the cluster plugin whose options the user gives (`--<wrapped>-*`)
    scheduler = ""  # its scheduler, as recorded on steps
    job_executor = NODE_EXECUTOR  # what the job's process runs (SLURM: its job-step level)

    def __init__(self, workflow: Any, logger: Any) -> None:
        workflow.executor_settings = cli_settings(self.wrapped)
        self.yprov = YprovExecutor.attached(workflow, logger, cli_settings("yprov"))
        self._submitted: dict[tuple[int, int], tuple[datetime, str | None]] = {}
        self._reasons: dict[tuple[int, int], str] = {}
        attach_local_executor(self.yprov)
        super().__init__(workflow, logger)  # type: ignore[call-arg]

    def run_jobs(self, jobs: Any) -> None:
        restore_local_executor()
        self.yprov.open_run()
        super().run_jobs(jobs)  # type: ignore[misc]

    def additional_general_args(self) -> str:
        args = joined_args(super().additional_general_args())  # type: ignore[misc]
        recorder = self.yprov.recorder
        if recorder is None or recorder.run_dir is None:
            return args
        args = re.sub(r"--executor\s+\S+", "", args).strip()
        ours = node_args(self.yprov.yprov_options, recorder.run_dir.resolve())
        return f"--executor {self.job_executor} {args} {ours}"

    # -- what the scheduler says -------------------------------------------------------------

    def report_job_submission(self, job_info: Any, register_job: bool = True) -> None:
        self._submitted[_key(job_info.job)] = (utcnow(), job_info.external_jobid)
        super().report_job_submission(job_info, register_job=register_job)  # type: ignore[misc]

    def report_job_error(self, job_info: Any, msg: str | None = None, **kwargs: Any) -> None:
        if msg:
            self._reasons[_key(job_info.job)] = msg
        super().report_job_error(job_info, msg=msg, **kwargs)  # type: ignore[misc]

    def handle_job_success(self, job: Any) -> None:
        super().handle_job_success(job)  # type: ignore[misc]
        self._record(job, "completed")

    def handle_job_error(self, job: Any) -> None:
        super().handle_job_error(job)  # type: ignore[misc]
        self._record(job, "failed")

    def shutdown(self) -> None:
        super().shutdown()  # type: ignore[misc]
        self.yprov.shutdown()

    def cancel(self) -> None:
        super().cancel()  # type: ignore[misc]
        self.yprov.cancel()

    # -- the record ---------------------------------------------------------------------------

    def accounting(self, job_id: str | None) -> sacct.Accounting | None:
        """The scheduler's own accounting of a job (None: this scheduler has none)."""
        return None

    def _record(self, job: Any, status: Status) -> None:
        recorder = self.yprov.recorder
        if recorder is None or recorder.run_dir is None:
            return
        with recorder.guard(f"recording the cluster job {job}"):
            submitted, job_id = self._submitted.pop(_key(job), (utcnow(), None))
            reason = self._reasons.pop(_key(job), None)
            facts = SchedulerFacts(self.scheduler, submitted, job_id, reason)
            facts = dataclasses.replace(facts, accounting=self.accounting(job_id))
            for single in job.jobs if job.is_group() else (job,):
                self.yprov.record_step(self._step(recorder, single, status, facts))

    def _step(self, recorder: Recorder, job: Any, status: Status, facts: SchedulerFacts) -> Any:
        assert recorder.run_dir is not None
        key, attempt = adapter.job_key(job), int(job.attempt)
        found = node_records(recorder.run_dir, key, attempt, recorder.warn)
        step = found[-1] if found else self._from_job(recorder, job, status, facts)
        return completed_by_scheduler(step, status, facts)

    def _from_job(
        self, recorder: Recorder, job: Any, status: Status, facts: SchedulerFacts
    ) -> StepRecord:
        """The record of a job whose node never wrote one: what the job itself says."""
        attempt = Attempt(started=facts.submitted)
        attempt.inputs = adapter.files(recorder.hasher, job.input)
        if status == "completed":
            attempt.outputs = adapter.files(recorder.hasher, job.output)
        attempt.logs = adapter.files(recorder.hasher, job.log)
        attempt.ended = utcnow()
        step: StepRecord = self.yprov.step_record(recorder, job, attempt, status)
        figures: dict[str, Value] = {"wall_s": round(attempt.wall_s(), 6)}
        usage = Usage(figures, "unmeasured", NOT_BACK)
        return dataclasses.replace(step, usage=usage, host=None, pid=None)


def completed_by_scheduler(step: StepRecord, status: Status, facts: SchedulerFacts) -> StepRecord:
    """A node's record of a job with the submitting side's facts: the scheduler's verdict wins
    over a completed record (the job may have been killed after its process recorded), its job
    id and reason, and its accounting next to our figures, labelled as its own."""
    final: Status = "failed" if "failed" in (status, step.status) else step.status
    attributes = {**step.attributes, "scheduler": facts.scheduler}
    if facts.job_id:
        attributes["scheduler_job_id"] = facts.job_id
    if facts.reason:
        attributes["scheduler_reason"] = facts.reason
    error = _error(step.error, facts.reason)
    return dataclasses.replace(
        step,
        status=final,
        attributes=attributes,
        error=error if final == "failed" else None,
        outputs=step.outputs if final == "completed" else (),
        usage=_with_accounting(step.usage, facts.accounting),
    )


def _error(on_node: str | None, reason: str | None) -> str:
    """The job's own error and what the scheduler says (a job killed at its time limit fails on
    its node with a signal; the scheduler says why)."""
    if on_node and reason and reason not in on_node:
        return f"{on_node}; the scheduler: {reason}"
    return on_node or reason or "the scheduler reported the job failed"


def _with_accounting(usage: Usage, accounting: sacct.Accounting | None) -> Usage:
    if accounting is None:
        return usage
    sources, missing = dict(usage.sources), dict(usage.missing)
    if accounting.missing:
        missing["sacct"] = accounting.missing
    else:
        sources["sacct"] = sacct.SOURCE
    if accounting.missing_energy:
        missing["sacct_energy"] = accounting.missing_energy
    figures = {**usage.figures, **accounting.figures}
    return dataclasses.replace(usage, figures=figures, sources=sources, missing=missing)


def joined_args(args: Any) -> str:
    """Executors return their extra arguments as a string or a list of them."""
    return " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args or "")


def _key(job: Any) -> tuple[int, int]:
    return (id(job), int(job.attempt))
