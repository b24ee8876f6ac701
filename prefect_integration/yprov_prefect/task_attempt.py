"""Measure and record one task-run attempt, around the task body, in the thread that runs it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from yprov_prefect import adapter, run_status, session
from yprov_prefect.task_usage import TaskMeasure
from yprov_workflows.environment import HOST
from yprov_workflows.records import Code, FileRecord, RunStart, StepRecord, Usage, ValueRecord
from yprov_workflows.redaction import Redactor
from yprov_workflows.settings import Settings
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
    measure = TaskMeasure.start(*_watching(context.task_run, config), config)
    outcome = Outcome()
    try:
        with outcome.watching():
            yield outcome
    finally:
        usage = measure.stop(session.hasher())
        try:
            _journal(context, code, args, outcome, started, usage, redactor)
        except Exception as problem:
            session.report(problem, f"recording task {context.task.name}", config)


def _watching(run: Any, config: Settings) -> tuple[str, SeriesPlan]:
    """The sampler's id for this attempt, and where its time series would go."""
    attempt = f"{run.id}/{run.run_count or 1}"
    current = session.CURRENT.get()
    if current is not None and session.in_flow_process():
        run_dir = current.run_dir  # known: no working-directory lookup per task
    else:
        run_dir = session.run_dir_for(str(run.flow_run_id), config)
    name = safe(f"{run.name}-{run.run_count or 1}")
    return attempt, SeriesPlan(run_dir / "series" / f"{name}.csv", config.series_after_s)


def _redactor(config: Settings) -> Redactor:
    """The flow's redactor in its process (it knows the flow's secrets); a new one elsewhere."""
    current = session.CURRENT.get()
    if current is not None and session.in_flow_process():
        return current.recorder.redactor
    return config.redactor()


def _task_context() -> Any:
    from prefect.context import TaskRunContext

    return TaskRunContext.get()


def _journal(
    context: Any,
    code: Callable[[], Code],
    args: adapter.Arguments,
    outcome: Outcome,
    started: datetime,
    usage: Usage,
    redactor: Redactor,
) -> None:
    step = _step(context, code(), args, outcome, started, usage, redactor)
    current = session.CURRENT.get()
    if current is not None and session.in_flow_process():
        current.recorder.record_step(step)  # the flow's open journal: no open/close per task
        return
    run = context.task_run
    run_dir = session.run_dir_for(str(run.flow_run_id), session.settings())
    if not (run_dir / "journal.jsonl").exists():
        session.append(run_dir, _orphan_start(run, started))
    session.append(run_dir, redactor.scrub_record(step))  # no secret reaches the disk


def _orphan_start(run: Any, started: datetime) -> RunStart:
    """A flow not decorated with @prov_flow: open its journal so `yprov export` can assemble it."""
    import prefect

    from yprov_workflows import __version__
    from yprov_workflows.environment import current_user
    from yprov_workflows.records import Agents

    agents = Agents(current_user(), "prefect", prefect.__version__, __version__)
    return RunStart(str(run.flow_run_id), started, agents, host=HOST)


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
    return attrs | outcome.extra
