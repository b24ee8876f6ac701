"""Measure and record one task-run attempt, around the task body, in the thread that runs it.

The body runs inside the attempt's step channel (`yprov_workflows.tracking`): `yp.log_*` calls in
it (and in the threads and asyncio tasks it starts with its context) go to this attempt. The
channel is lazy: a body that logs nothing costs a context variable set and reset, and no file. A
task alone in a worker process (process pool, Dask) also has its step folder in the process's
environment (`YPROV_STEP_DIR`) while the body runs, so its child processes log into it; in a
process shared by several tasks (the thread pool) a child process finds the step only through
`yp.step_env()`, passed to it explicitly. What the body logged is collected into the step's
record when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yprov_prefect import adapter, run_status, session
from yprov_prefect.task_usage import TaskMeasure
from yprov_workflows.environment import HOST
from yprov_workflows.records import Code, FileRecord, RunStart, StepRecord, Usage, ValueRecord
from yprov_workflows.redaction import Redactor
from yprov_workflows.settings import Settings
from yprov_workflows.tracking import STEP_DIR_VARIABLE, StepChannel, Tracked
from yprov_workflows.tracking.layout import STEP_INFO_VARIABLE, TRACKING
from yprov_workflows.usage.watch import SeriesPlan
from yprov_workflows.values import Value
from yprov_workflows.vocabulary import safe


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    """What the body produced; set by the wrapper."""

    result: Any = None
    has_result: bool = False
    error: BaseException | None = None
    extra: dict[str, Value] = field(default_factory=dict)

    def set(self, value: Any) -> None:
        self.result, self.has_result = value, True

    @contextmanager
    def watching(self) -> Iterator[Outcome]:
        """Note the body's exception (and let it through); a generator closed early is none."""
        try:
            yield self
        except GeneratorExit:
            raise
        except BaseException as exc:
            self.error = exc
            raise


@contextmanager
def recorded(fn: Callable[..., Any], code: Callable[[], Code]) -> Iterator[Outcome]:
    """Run the body inside; if a Prefect task run is active, journal the attempt afterwards."""
    context = _task_context()
    config = session.settings()
    if context is None or config.disabled:
        yield Outcome()
        return
    started = utcnow()
    redactor = _redactor(config)
    try:
        args = adapter.sort_arguments(
            context.parameters, context.task_run.task_inputs, session.hasher(), redactor
        )
    except Exception as problem:
        session.report(problem, f"describing the arguments of {context.task.name}", config)
        args = adapter.Arguments()
    run_dir, in_flow = _run_dir(context.task_run, config)
    here = run_dir if in_flow or session.reachable(run_dir) else session.kept_dir(run_dir.name)
    measure = TaskMeasure.start(*_watching(context.task_run, here, config), config)
    channel = StepChannel.lazy(here, _channel_key(context.task_run), measure.t0)
    worker = not session.in_flow_process()
    outcome = Outcome()
    try:
        with outcome.watching(), _tracking(channel, worker, measure.ticket.alone, config):
            yield outcome
    finally:
        usage = measure.stop(session.hasher())
        try:
            tracked = _collected(channel, redactor, config)
            step = _step(context, code(), args, outcome, started, usage, redactor)
            _journal(step if tracked is None else tracked.apply(step), run_dir, redactor)
        except Exception as problem:
            session.report(problem, f"recording task {context.task.name}", config)


def _run_dir(run: Any, config: Settings) -> tuple[Path, bool]:
    """The folder of the task's run, and whether this is its flow's process (where the folder
    is known, and made); elsewhere the flow run's context carries it (`session.task_run_dir`)."""
    current = session.CURRENT.get()
    if current is not None and session.in_flow_process():
        return current.run_dir, True
    return session.task_run_dir(str(run.flow_run_id), config), False


def _watching(run: Any, run_dir: Path, config: Settings) -> tuple[str, SeriesPlan]:
    """The sampler's id for this attempt, and where its time series would go."""
    attempt = f"{run.id}/{run.run_count or 1}"
    name = safe(f"{run.name}-{run.run_count or 1}")
    return attempt, SeriesPlan(run_dir / "series" / f"{name}.csv", config.series_after_s)


def _channel_key(run: Any) -> str:
    """The name of the attempt's tracking folder: its task run's name (`train-4f2`) and attempt."""
    return f"{run.name}-{run.run_count or 1}"


@contextmanager
def _tracking(channel: StepChannel, worker: bool, alone: bool, config: Settings) -> Iterator[None]:
    """The body inside the attempt's channel; in a worker process, also in its environment when
    the attempt has the process to itself (see `_exported`)."""
    with channel.active():
        if not worker:
            yield
            return
        with _exported(channel, alone, config):
            yield


@contextmanager
def _exported(channel: StepChannel, alone: bool, config: Settings) -> Iterator[None]:
    """`YPROV_STEP_DIR` of a worker process while the body runs: this attempt's folder when it
    began alone there, so that its child processes log into it. An attempt that began next to
    another one (a worker with several threads) takes out the folder that one put there: a child
    process of either then logs nowhere (with a warning), rather than into the wrong step."""
    with session.ACTIVE.environment() as running:  # one attempt at a time here
        saved = {name: os.environ.get(name) for name in _STEP_VARIABLES}
        folder = saved[STEP_DIR_VARIABLE]
        exported = alone and running <= 1  # still alone: none began since
        if not exported and folder is not None and _in_run(folder, channel):
            for name in _STEP_VARIABLES:  # the attempt that set them puts back its own
                os.environ.pop(name, None)
        if exported:
            with session.guarded(f"making the tracking folder of {channel.step_key}", config):
                os.environ.update(channel.env())
    try:
        yield
    finally:
        if exported:
            with session.ACTIVE.environment():
                _restore(saved)


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


_STEP_VARIABLES = (STEP_DIR_VARIABLE, STEP_INFO_VARIABLE)


def _in_run(folder: str, channel: StepChannel) -> bool:
    """Whether a step folder is one of this run's (another attempt's, in this process)."""
    return Path(folder).parent == channel.run_dir / TRACKING


def _collected(channel: StepChannel, redactor: Redactor, config: Settings) -> Tracked | None:
    """What the body logged; None when it logged nothing (no folder: nothing to read)."""
    if not channel.opened:
        return None

    def report(problem: Exception, what: str) -> None:
        session.report(problem, what, config)

    return channel.collect(session.hasher(), redactor, report=report)


def _redactor(config: Settings) -> Redactor:
    """The flow's redactor in its process (it knows the flow's secrets); a new one elsewhere."""
    current = session.CURRENT.get()
    if current is not None and session.in_flow_process():
        return current.recorder.redactor
    return config.redactor()


def _task_context() -> Any:
    from prefect.context import TaskRunContext

    return TaskRunContext.get()


def _journal(step: StepRecord, run_dir: Path, redactor: Redactor) -> None:
    current = session.CURRENT.get()
    if current is not None and session.in_flow_process():
        current.recorder.record_step(step)  # the flow's open journal: no open/close per task
        return
    if session.carried_run_dir() is None and not (run_dir / "journal.jsonl").exists():
        session.append(run_dir, _orphan_start(step))
    session.append_step(run_dir, redactor.scrub_record(step))  # no secret reaches the disk


def _orphan_start(step: StepRecord) -> RunStart:
    """A flow not decorated with @prov_flow: open its journal so `yprov export` can assemble it."""
    import prefect

    from yprov_workflows import __version__
    from yprov_workflows.environment import current_user
    from yprov_workflows.records import Agents

    agents = Agents(current_user(), "prefect", prefect.__version__, __version__)
    return RunStart(step.run_id, step.started, agents, host=HOST)


def _step(
    context: Any,
    code: Code,
    args: adapter.Arguments,
    outcome: Outcome,
    started: datetime,
    usage: Usage,
    redactor: Redactor,
) -> StepRecord:
    run = context.task_run
    hasher = session.hasher()
    outputs: tuple[FileRecord, ...] = ()
    result: ValueRecord | None = None
    inputs = tuple(args.files)
    if outcome.has_result and outcome.error is None:
        previews = session.settings().result_previews
        outputs, result = adapter.result_record(outcome.result, hasher, redactor, previews)
        rewritten = {f.path for f in outputs} - {f.path for f in inputs if f in outputs}
        inputs = tuple(f for f in inputs if f.path not in rewritten)  # an output's old version
    ended = utcnow()
    end = _ending(context, outcome, (ended - started).total_seconds())
    return StepRecord(
        run_id=str(run.flow_run_id),
        name=str(context.task.name),
        key=str(run.id),
        attempt=int(run.run_count or 1),
        started=started,
        ended=ended,
        status=end.status,
        inputs=inputs,
        outputs=outputs,
        params=args.params,
        values=args.values,
        upstream=tuple(args.upstream),
        informed_by=tuple(args.informed_by),
        result=result,
        parent=str(run.flow_run_id),
        attributes=_attributes(context, outcome),
        code=code,
        usage=usage,
        error=end.error,
        host=HOST,
        pid=__import__("os").getpid(),
    )


def _ending(context: Any, outcome: Outcome, elapsed_s: float) -> run_status.Ending:
    """The attempt's status and error as Prefect reports them (see `run_status`)."""
    limit = run_status.Limit(context.task.timeout_seconds, "Task run", elapsed_s)
    return run_status.ending(outcome, limit)


def _attributes(context: Any, outcome: Outcome) -> dict[str, Value]:
    run = context.task_run
    attrs: dict[str, Value] = {
        "task_key": str(run.task_key),
        "task_run_name": str(run.name),
        "task_run_id": str(run.id),
        "flow_run_id": str(run.flow_run_id),
        "thread": __import__("threading").get_native_id(),
    }
    return attrs | adapter.worker_identity() | outcome.extra
