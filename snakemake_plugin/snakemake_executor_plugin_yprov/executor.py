"""The executor: Snakemake's local executor plus provenance recording around every job attempt.

Hooks (all in Snakemake's executor API or its local executor, guarded by tests):
- `cached_or_run` runs in the worker thread of every single job: we hash inputs, run the job while
  collecting the usage of every process the thread reaps (see `measuring.py`), hash its outputs.
- `spawn_job` runs `run:` jobs in their own process: we reap it with `wait4` for exact usage. That
  process runs this executor too (`additional_general_args`), which leaves the job's real error in a
  file for us (`failures.py`); its output is untouched.
- `handle_job_success` / `handle_job_error` come after Snakemake checked the outputs: the attempt
  is then written to the journal, as completed or failed, with what its code logged.
- `shutdown` / `cancel` close the run and assemble the document.

In-step tracking (`yprov_workflows.tracking`): each attempt has a step channel, made in its worker
thread when the attempt begins (lazily: its folder exists once the job's code logs). The job's
processes get its planned folder in their environment (`YPROV_STEP_DIR`, `YPROV_STEP_INFO`, through
the measuring Popen or the spawned process's environment), with the run's secret names, redaction
and strict settings (`YPROV_SECRET_NAMES`, `YPROV_REDACT`, `YPROV_STRICT`) so that they hide
secrets before anything reaches the disk; a `run:` block in a Snakemake thread runs inside the
channel's context. At the verdict the channel is collected into the step's record.
"""

from __future__ import annotations

import os
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

from snakemake_executor_plugin_yprov import adapter, failures
from snakemake_executor_plugin_yprov.attempt import Attempt
from snakemake_executor_plugin_yprov.measuring import measure_shell_processes
from snakemake_executor_plugin_yprov.nodes import node_journal_namer, scheduler_facts
from yprov_workflows.environment import HOST
from yprov_workflows.errors import RecordingError
from yprov_workflows.recorder import Recorder, utcnow
from yprov_workflows.records import RunStart, Status, StepRecord
from yprov_workflows.redaction import Redactor
from yprov_workflows.runs import new_run_id
from yprov_workflows.settings import Settings
from yprov_workflows.tracking import StepChannel
from yprov_workflows.tracking.channel import CURRENT
from yprov_workflows.usage.launcher import Launcher
from yprov_workflows.usage.monitor import Monitor
from yprov_workflows.usage.process import ThreadUsage
from yprov_workflows.usage.watch import SeriesPlan, Watch
from yprov_workflows.values import Value
from yprov_workflows.vocabulary import safe


class Executor(LocalExecutor):
    # The `--yprov-*` settings when this executor works for a cluster executor (`cluster.py`),
    # whose own settings are then the workflow's.
    yprov_options: Any = None

    @classmethod
    def attached(cls, workflow: Any, logger: Any, options: Any) -> Executor:
        """This executor for a cluster executor: it records the run and runs its `localrules`."""
        executor = cls.__new__(cls)
        executor.yprov_options = options
        executor.__init__(workflow, logger)  # type: ignore[misc]
        return executor

    def __post_init__(self) -> None:
        super().__post_init__()
        self._attempts: dict[tuple[int, int], tuple[Any, Attempt]] = {}
        self._lock = threading.Lock()
        self._final: dict[str, Status] = {}
        self._recorder: Recorder | None = None
        self._usage = ThreadUsage()
        self._unmeasure: Callable[[], None] | None = None
        self._opening: tuple[Recorder, RunStart | None] | None = None
        self._monitor: Monitor | None = None
        self._launcher: Launcher | None = None
        self._job_env: dict[str, str] = {}
        self._node_facts: dict[str, Value] = {}
        if self.workflow.is_main_process:
            self._prepare_run()
        elif self._options() is not None and self._options().node_run:
            self._prepare_node(Path(self._options().node_run))

    # -- the run -------------------------------------------------------------------------------

    def _options(self) -> Any:
        return self.yprov_options or self.workflow.executor_settings

    def _settings(self) -> Settings:
        ours = self._options()
        return Settings.from_env(
            out_dir=Path(ours.out) if ours and ours.out else None,
            strict=True if ours and ours.strict else None,
            redact=False if ours and ours.no_redact else None,
            secret_names=_patterns(ours.secret_names) if ours and ours.secret_names else None,
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
        start = adapter.run_start(self.workflow, new_run_id(), utcnow(), recorder.redactor)
        self._opening = (recorder, start)

    def _prepare_node(self, run_dir: Path) -> None:
        """A cluster job's process on its node (`snakemake --mode remote`): its jobs are recorded
        into the submitting run's folder, one writer journal per job attempt (`cluster.py`)."""
        settings = Settings.from_env() if self._options() is None else self._settings()
        if settings.disabled:
            return
        recorder = Recorder(settings, run_dir.parent, warn=logger.warning)
        adapter.run_config(self.workflow, recorder.redactor)
        recorder.join(run_dir, node_journal_namer(run_dir))
        self._node_facts = scheduler_facts(os.environ)
        self._opening = (recorder, None)

    def run_jobs(self, jobs: Any) -> None:
        self.open_run()
        super().run_jobs(jobs)

    def open_run(self) -> None:
        """Start recording (once): before the first jobs run, when the run's folder is needed."""
        if self._opening is not None:
            self._open_run(*self._opening)
            self._opening = None

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    def _open_run(self, recorder: Recorder, start: RunStart | None) -> None:
        self._note_secret_params(recorder)
        if start is not None:
            self._raise_strict(recorder.start, start)
        if recorder.active:
            self._recorder = recorder
            self._job_env = job_env(recorder.settings)
            self._launcher = Launcher()
            self._unmeasure = measure_shell_processes(self._usage, self._launcher, self._step_env)
            self._monitor = Monitor(recorder.settings.sample_tick_s)

    def _note_secret_params(self, recorder: Recorder) -> None:
        """Secret-named params of every job to run, so no earlier record can carry their values."""
        with recorder.guard("noting the jobs' secret params"):
            for job in self.workflow.dag.needrun_jobs():
                adapter.params(job, recorder.redactor)

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
        if self._launcher is not None:
            self._launcher.close()
        if recorder is None:
            return
        self._record_unreported(recorder, status)
        document = self._raise_strict(recorder.finish, status)
        if document is not None:
            logger.info(
                f"yprov-workflows: provenance of {recorder.steps} steps ({status}) in {document}"
            )

    # -- one job attempt, in its worker thread --------------------------------------------------

    def cached_or_run(self, job: Any, run_func: Any, *args: Any) -> None:
        recorder = self._recorder
        if recorder is None:
            return self._run_unrecorded(job, run_func, *args)
        attempt = self._begin(recorder, job)
        attempt.in_thread = run_func is run_wrapper and bool(job.is_run)
        watch = self._watch(recorder, job)
        cpu0 = time.thread_time()
        with self._usage.collecting(on_spawn=watch.add_root) as reaped:
            try:
                super().cached_or_run(job, _in_channel(attempt.channel, run_func), *args)
            except BaseException as exc:
                with recorder.guard(f"describing the error of {job.rule.name}"):
                    attempt.error = attempt.error or failures.describe(job, exc, adapter.logs(job))
                    attempt.exit_code = attempt.exit_code or failures.exit_code(exc)
                raise
            else:
                with recorder.guard(f"hashing outputs of {job.rule.name}"):
                    attempt.outputs = adapter.files(recorder.hasher, job.output, job.shadow_dir)
                with recorder.guard(f"hashing the benchmark file of {job.rule.name}"):
                    attempt.benchmarks = adapter.files(recorder.hasher, adapter.benchmarks(job))
            finally:
                attempt.finish(time.thread_time() - cpu0, reaped)
                attempt.sampled, attempt.series = watch.stop(attempt.wall_s(), recorder.hasher)
                with recorder.guard(f"hashing logs of {job.rule.name}"):
                    attempt.logs = adapter.files(recorder.hasher, job.log, job.shadow_dir)

    def _run_unrecorded(self, job: Any, run_func: Any, *args: Any) -> None:
        """No recording here; in a spawned job's process, leave its error for the main process."""
        report = None if self.workflow.is_main_process else os.getenv(failures.REPORT_VARIABLE)
        try:
            super().cached_or_run(job, run_func, *args)
        except BaseException as exc:
            if report:
                scrub = self._spawned_redactor(job).scrub
                failures.write_report(report, job, exc, adapter.logs(job), scrub)
            raise

    def _spawned_redactor(self, job: Any) -> Redactor:
        """In a spawned job's process: the secrets the main process would hide (the environment,
        its name patterns, the job's params and the config), so the report holds none."""
        redactor = Settings.from_env().redactor()
        adapter.params(job, redactor)
        adapter.run_config(self.workflow, redactor)
        return redactor

    def additional_general_args(self) -> str:
        """A spawned `run:` job's process runs this executor too, to report the job's error."""
        args = str(super().additional_general_args())
        return f"{args} {failures.SPAWN_ARGS}" if self._recorder is not None else args

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
        if recorder.run_dir is not None:
            attempt.channel = StepChannel.lazy(recorder.run_dir, channel_key(job))
        with self._lock:
            self._attempts[(id(job), job.attempt)] = (job, attempt)
        with recorder.guard(f"hashing inputs of {job.rule.name}"):
            attempt.inputs = adapter.files(recorder.hasher, job.input)
        return attempt

    def spawn_job(self, job: Any) -> None:
        """Run a job that Snakemake runs in a process of its own (`run:` and shadowed jobs), started
        from the launcher and reaped with wait4 for exact usage."""
        _, attempt = self._attempts.get((id(job), job.attempt), (None, None))
        if attempt is None:
            return super().spawn_job(job)
        cmd = self.format_job_exec(job)
        logger.debug(f"spawned job: {cmd}")
        report = self._report_path(job)
        launcher = self._launcher
        popen = launcher.popen_class(self._usage) if launcher else self._usage.popen_class()
        settings = self._recorder.settings if self._recorder else Settings()
        env = {**failures.with_report(report, settings.secret_names), **self._step_env()}
        process = popen(cmd, shell=True, env=env)
        process.wait()  # reports the process tree's usage to this thread's collector
        attempt.spawned = True
        if process.returncode:
            attempt.exit_code = process.returncode
            attempt.error = failures.read_report(report) or failures.spawned_failed(process)
            raise SpawnedJobError()

    def _step_env(self) -> dict[str, str]:
        """The variables of the job whose code runs in this context (its worker thread): its step
        folder, made now, and the run's tracking settings; nothing outside a job."""
        channel, recorder = CURRENT.get(), self._recorder
        if channel is None or recorder is None:
            return {}
        with recorder.guard(f"recording step {channel.step_key}"):  # its folder: as its record
            return {**self._job_env, **channel.env()}
        return dict(self._job_env)

    def _report_path(self, job: Any) -> Path:
        recorder = self._recorder
        folder = recorder.run_dir if recorder and recorder.run_dir else Path(".")
        return folder / f".{safe(f'{job.rule.name}-{job.jobid}-{job.attempt}')}.error"

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
            step = self.step_record(recorder, job, attempt, status)
            if attempt.channel is not None:
                step = self._tracked(recorder, job, attempt.channel, step)
            self.record_step(step, recorder)

    def record_step(self, step: StepRecord, recorder: Recorder | None = None) -> None:
        """Journal a step of this run (also one a cluster executor completed, `cluster.py`)."""
        recorder = recorder or self._recorder
        if recorder is not None:
            self._raise_strict(recorder.record_step, step)
            self._final[step.key] = step.status

    def _tracked(
        self, recorder: Recorder, job: Any, channel: StepChannel, step: StepRecord
    ) -> StepRecord:
        """The step with what its code logged (nothing to read when it logged nothing)."""
        with recorder.guard(f"collecting what {job.rule.name} logged"):
            collected = channel.collect(recorder.hasher, recorder.redactor, report=recorder.report)
            return collected.apply(step)
        return step

    def _record_unreported(self, recorder: Recorder, run_status: Status) -> None:
        """Attempts Snakemake never accepted as finished (it stopped first) are kept, marked so,
        and never `completed`: their outputs are not claimed (Snakemake marks them incomplete)."""
        with self._lock:
            pending, self._attempts = list(self._attempts.values()), {}
        stopped: Status = "cancelled" if run_status == "cancelled" else "incomplete"
        for job, attempt in pending:
            attempt.unreported = True
            self._record(recorder, job, attempt, "failed" if attempt.error else stopped)

    def step_record(
        self, recorder: Recorder, job: Any, attempt: Attempt, status: Status
    ) -> StepRecord:
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
            benchmarks=attempt.benchmarks,
            params=adapter.params(job, recorder.redactor),
            wildcards=adapter.wildcards(job),
            resources=adapter.resources(job),
            attributes=adapter.attributes(job) | attempt.verdict() | self._node_facts,
            code=adapter.code(job),
            usage=attempt.usage(has_action=not getattr(job.rule, "norun", False)),
            error=attempt.error if status == "failed" else None,
            exit_code=attempt.exit_code,
            host=HOST,
            pid=attempt.pid,
        )


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def job_env(settings: Settings) -> dict[str, str]:
    """The run's settings that the job's own processes need when they log (`yprov_workflows`
    reads them from the environment): hide the same secrets, fail the same way."""
    env: dict[str, str] = {}
    if settings.secret_names:
        env["YPROV_SECRET_NAMES"] = ",".join(settings.secret_names)
    if not settings.redact:
        env["YPROV_REDACT"] = "0"
    if settings.strict:
        env["YPROV_STRICT"] = "1"
    return env


def channel_key(job: Any) -> str:
    """The name of a job's tracking folder: its rule and wildcards (`train-lr=0.5`)."""
    wildcards = (f"{name}={value}" for name, value in job.wildcards_dict.items())
    return "-".join([str(job.rule.name), *wildcards])


def _in_channel(channel: StepChannel | None, run_func: Callable[..., Any]) -> Callable[..., Any]:
    """`run_func` running in the job's channel context. It must be set inside the call: the job
    runs in the worker thread's asyncio runner, whose context was copied once, at its start."""
    if channel is None:
        return run_func

    def run(*args: Any) -> Any:
        with channel.active():
            return run_func(*args)

    return run
