"""The executor: Snakemake's local executor plus provenance recording around every job attempt.

Hooks (all in Snakemake's executor API or its local executor, guarded by tests):
- `cached_or_run` runs in the worker thread of every single job: we hash inputs, run the job while
  collecting the usage of every process the thread reaps (see `measuring.py`), hash its outputs.
- `spawn_job` runs `run:` jobs in their own process: we reap it with `wait4` for exact usage.
- `handle_job_success` / `handle_job_error` come after Snakemake checked the outputs: the attempt
  is then written to the journal, as completed or failed.
- `shutdown` / `cancel` close the run and assemble the document.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from snakemake.exceptions import SpawnedJobError
from snakemake.executors.local import Executor as LocalExecutor
from snakemake.executors.local import run_wrapper
from snakemake.logging import logger
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_yprov import adapter
from snakemake_executor_plugin_yprov.attempt import Attempt
from snakemake_executor_plugin_yprov.measuring import measure_shell_processes
from yprov_workflows.environment import HOST
from yprov_workflows.errors import RecordingError
from yprov_workflows.recorder import Recorder, utcnow
from yprov_workflows.records import RunStart, Status, StepRecord
from yprov_workflows.runs import new_run_id
from yprov_workflows.settings import Settings
from yprov_workflows.usage.monitor import Monitor
from yprov_workflows.usage.process import ThreadUsage, reap
from yprov_workflows.usage.watch import SeriesPlan, Watch
from yprov_workflows.vocabulary import safe


class Executor(LocalExecutor):
    def __post_init__(self) -> None:
        super().__post_init__()
        self._attempts: dict[tuple[int, int], tuple[Any, Attempt]] = {}
        self._lock = threading.Lock()
        self._final: dict[str, Status] = {}
        self._recorder: Recorder | None = None
        self._usage = ThreadUsage()
        self._unmeasure: Callable[[], None] | None = None
        self._opening: tuple[Recorder, RunStart] | None = None
        self._monitor: Monitor | None = None
        if self.workflow.is_main_process:
            self._prepare_run()

    # -- the run -------------------------------------------------------------------------------

    def _settings(self) -> Settings:
        ours = self.workflow.executor_settings
        return Settings.from_env(
            out_dir=Path(ours.out) if ours and ours.out else None,
            strict=True if ours and ours.strict else None,
            redact=False if ours and ours.no_redact else None,
            sample_tick_s=ours.sample_tick if ours else None,
            series_after_s=ours.series_after if ours else None,
        )

    def _prepare_run(self) -> None:
        """Note the run's start; its folder is made only once a job runs (none may need to)."""
        try:
            settings = self._settings()
        except Exception as exc:
            raise WorkflowError(f"yprov: {exc}") from exc
        if settings.disabled:
            logger.info("yprov-workflows: recording is off (YPROV_DISABLE is set)")
            return
        workdir = Path(self.workflow.workdir_init)
        recorder = Recorder(settings, settings.resolve_out_dir(workdir), warn=logger.warning)
        start = adapter.run_start(self.workflow, new_run_id(), utcnow(), settings.redact)
        self._opening = (recorder, start)

    def run_jobs(self, jobs: Any) -> None:
        if self._opening is not None:
            self._open_run(*self._opening)
            self._opening = None
        super().run_jobs(jobs)

    def _open_run(self, recorder: Recorder, start: RunStart) -> None:
        self._raise_strict(recorder.start, start)
        if recorder.active:
            self._recorder = recorder
            self._unmeasure = measure_shell_processes(self._usage)
            self._monitor = Monitor(recorder.settings.sample_tick_s)

    def _raise_strict(self, func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except RecordingError as exc:
            raise WorkflowError(str(exc)) from exc

    def shutdown(self) -> None:
        super().shutdown()
        self._close_run(self._run_status())

    def cancel(self) -> None:
        super().cancel()
        self._close_run("cancelled")

    def _run_status(self) -> Status:
        return "failed" if "failed" in self._final.values() else "completed"

    def _close_run(self, status: Status) -> None:
        recorder, self._recorder = self._recorder, None
        if self._unmeasure is not None:
            self._unmeasure()
            self._unmeasure = None
        if self._monitor is not None:
            self._monitor.close()
        if recorder is None:
            return
        self._record_unreported(recorder)
        document = self._raise_strict(recorder.finish, status)
        if document is not None:
            logger.info(
                f"yprov-workflows: provenance of {recorder.steps} steps ({status}) in {document}"
            )

    # -- one job attempt, in its worker thread --------------------------------------------------

    def cached_or_run(self, job: Any, run_func: Any, *args: Any) -> None:
        recorder = self._recorder
        if recorder is None:
            return super().cached_or_run(job, run_func, *args)
        attempt = self._begin(recorder, job)
        attempt.in_thread = run_func is run_wrapper and bool(job.is_run)
        watch = self._watch(recorder, job)
        cpu0 = time.thread_time()
        with self._usage.collecting(on_spawn=watch.add_root) as reaped:
            try:
                super().cached_or_run(job, run_func, *args)
            except BaseException as exc:
                attempt.error = attempt.error or _describe(exc)
                attempt.exit_code = attempt.exit_code or _exit_code(exc)
                raise
            else:
                with recorder.guard(f"hashing outputs of {job.rule.name}"):
                    attempt.outputs = adapter.files(recorder.hasher, job.output, job.shadow_dir)
            finally:
                attempt.finish(time.thread_time() - cpu0, reaped)
                attempt.sampled, attempt.series = watch.stop(attempt.wall_s(), recorder.hasher)
                with recorder.guard(f"hashing logs of {job.rule.name}"):
                    attempt.logs = adapter.files(recorder.hasher, job.log, job.shadow_dir)

    def _watch(self, recorder: Recorder, job: Any) -> Watch:
        """The sampler watches the processes the job starts (none yet: they join as they start)."""
        name = safe(f"{job.rule.name}-{job.jobid}-{job.attempt}")
        run_dir, after_s = recorder.run_dir, recorder.settings.series_after_s
        series = SeriesPlan(run_dir / "series" / f"{name}.csv", after_s) if run_dir else None
        watch = Watch(self._monitor, f"{id(job)}/{job.attempt}", recorder.guard, series)
        watch.start([])
        return watch

    def _begin(self, recorder: Recorder, job: Any) -> Attempt:
        attempt = Attempt(started=utcnow())
        with self._lock:
            self._attempts[(id(job), job.attempt)] = (job, attempt)
        with recorder.guard(f"hashing inputs of {job.rule.name}"):
            attempt.inputs = adapter.files(recorder.hasher, job.input)
        return attempt

    def spawn_job(self, job: Any) -> None:
        """Run a `run:` job in its own Snakemake process, reaped with wait4 for exact usage."""
        _, attempt = self._attempts.get((id(job), job.attempt), (None, None))
        if attempt is None:
            return super().spawn_job(job)
        cmd = self.format_job_exec(job)
        logger.debug(f"spawned job: {cmd}")
        process = subprocess.Popen(cmd, shell=True)
        self._usage.spawned(process.pid)
        _, status, usage = reap(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        attempt.spawned = True
        if usage is not None:
            self._usage.report(usage)
        if process.returncode:
            attempt.exit_code = process.returncode
            raise SpawnedJobError()

    # -- Snakemake's verdict, in the scheduler thread -----------------------------------------

    def handle_job_success(self, job: Any) -> None:
        super().handle_job_success(job)
        self._finish(job, "completed")

    def handle_job_error(self, job: Any) -> None:
        super().handle_job_error(job)
        self._finish(job, "failed")

    def _finish(self, job: Any, status: Status) -> None:
        recorder = self._recorder
        if recorder is None:
            return
        for single in job.jobs if job.is_group() else (job,):
            with self._lock:
                _, attempt = self._attempts.pop((id(single), single.attempt), (None, None))
            if attempt is not None:  # a job inside a failed group may have failed by itself
                self._record(recorder, single, attempt, "failed" if attempt.error else status)

    def _record(self, recorder: Recorder, job: Any, attempt: Attempt, status: Status) -> None:
        with recorder.guard(f"describing {job.rule.name}"):
            step = self._step(recorder, job, attempt, status)
            self._raise_strict(recorder.record_step, step)
            self._final[step.key] = status

    def _record_unreported(self, recorder: Recorder) -> None:
        """Attempts Snakemake never gave a verdict on (it stopped first) are kept, marked so."""
        with self._lock:
            pending, self._attempts = list(self._attempts.values()), {}
        for job, attempt in pending:
            attempt.unreported = True
            ran: Status = "completed" if attempt.ended else "incomplete"
            self._record(recorder, job, attempt, "failed" if attempt.error else ran)

    def _step(self, recorder: Recorder, job: Any, attempt: Attempt, status: Status) -> StepRecord:
        redact = recorder.settings.redact
        return StepRecord(
            run_id=recorder.run_dir.name if recorder.run_dir else "",
            name=str(job.rule.name),
            key=adapter.job_key(job),
            attempt=int(job.attempt),
            started=attempt.started,
            ended=attempt.ended or utcnow(),
            status=status,
            inputs=attempt.inputs,
            outputs=attempt.outputs if status == "completed" else (),
            logs=attempt.logs,
            params=adapter.params(job, redact),
            wildcards=adapter.wildcards(job),
            resources=adapter.resources(job),
            attributes=adapter.attributes(job) | attempt.verdict(),
            code=adapter.code(job),
            usage=attempt.usage(has_action=not getattr(job.rule, "norun", False)),
            error=attempt.error if status == "failed" else None,
            exit_code=attempt.exit_code,
            host=HOST,
            pid=attempt.pid,
        )


def _describe(exc: BaseException) -> str:
    """The original error (Snakemake wraps it in RuleException), type and first line."""
    root = _chain(exc)[-1]
    lines = str(root).strip().splitlines()
    return f"{type(root).__name__}: {lines[0] if lines else ''}"[:1000]


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _exit_code(exc: BaseException) -> int | None:
    codes = [getattr(e, "returncode", None) for e in _chain(exc)]
    return next((c for c in codes if isinstance(c, int)), None)
