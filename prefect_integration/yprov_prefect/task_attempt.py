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

import functools
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from prefect.context import TaskRunContext

from yprov_prefect import adapter, run_status, session
from yprov_prefect.standalone import StandaloneRun
from yprov_prefect.task_usage import TaskMeasure
from yprov_workflows.environment import HOST, process_id
from yprov_workflows.hashing import FileHasher
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


def _utc(unix_ns: int) -> datetime:
    """A `time.time_ns()` reading as `utcnow` would have given it (the same clock)."""
    return datetime.fromtimestamp(unix_ns / 1e9, UTC)


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


class Recorded:
    """`Recorded(fn, code)`: run the body of `fn` inside; if a Prefect task run is active,
    journal the attempt afterwards. A class, not a generator-based manager or a function that
    makes one, because it runs around every task call (each costs microseconds)."""

    __slots__ = ("_attempt", "_code")

    def __init__(self, fn: Callable[..., Any], code: Callable[[], Code]) -> None:
        self._code = code
        self._attempt: _Attempt | None = None

    def __enter__(self) -> Outcome:
        context = TaskRunContext.get()
        flow = session.here()
        config = flow.recorder.settings if flow is not None else Settings.from_env()
        if context is None or config.disabled:
            return Outcome()
        self._attempt = _Attempt.begin(context, flow, config, self._code)
        return self._attempt.outcome

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: object
    ) -> None:
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.end(error)


@dataclass(slots=True)
class _Attempt:
    """One attempt while its body runs: what `end` needs to measure and journal it.

    In the flow's process, an attempt whose arguments and result are plain values (numbers,
    text, bytes, None: nothing the body or a later task can change, no file to hash) is
    described and journaled by the flow's batch writer (`Recorder.record_later`, see
    `yprov_workflows.batched`); the task's thread only reads the counters and clocks. Anything
    else (files, mutable values, a failure, logged metrics) is described in the task's thread,
    as it is when it ends."""

    context: Any  # Prefect's TaskRunContext
    code: Callable[[], Code]
    flow: session.FlowRecording | None  # None: a worker process (see `session.here`)
    config: Settings
    redactor: Redactor
    started_ns: int  # time.time_ns(): made a datetime with the record (`_utc`)
    args: adapter.Arguments | None  # None: plain, described later from `parameters`
    parameters: dict[str, Any]
    run_dir: Path
    measure: TaskMeasure
    channel: StepChannel
    outcome: Outcome
    token: Token[StepChannel | None] | None = None
    exported: AbstractContextManager[None] | None = None
    standalone: StandaloneRun | None = None  # a task run outside any flow run: its own run

    @classmethod
    def begin(
        cls,
        context: Any,
        flow: session.FlowRecording | None,
        config: Settings,
        code: Callable[[], Code],
    ) -> _Attempt:
        started = time.time_ns()
        redactor = flow.recorder.redactor if flow is not None else config.redactor()
        parameters = dict(context.parameters)
        later = flow is not None and _PLAIN.issuperset(map(type, parameters.values()))
        args = None if later else _arguments(context, parameters, redactor, config, flow)
        standalone = _standalone(context, code, config) if flow is None else None
        if flow is not None:
            run_dir = flow.run_dir
        elif standalone is not None:
            run_dir = standalone.run_dir
        else:
            run_dir = _worker_run_dir(context.task_run, config)
        here = (
            run_dir
            if flow is not None or session.reachable(run_dir)
            else session.kept_dir(run_dir.name)
        )
        run = context.task_run
        # The attempt's name: its task run's name (`train-4f2`) and attempt, which name its
        # tracking folder and its time-series file.
        key = f"{run.name}-{run.run_count or 1}"
        series = _new_series_plan((_SeriesPath(here, key), config.series_after_s))
        caller = standalone is not None
        measure = TaskMeasure.start(str(next(_WATCH_IDS)), series, config, flow, caller)
        channel = StepChannel.lazy(here, key, measure.t0)
        attempt = cls(
            context,
            code,
            flow,
            config,
            redactor,
            started,
            args,
            parameters,
            run_dir,
            measure,
            channel,
            Outcome(),
            standalone=standalone,
        )
        attempt._enter_tracking()
        return attempt

    def _enter_tracking(self) -> None:
        """The body inside the attempt's channel; in a worker process, also in its environment
        when the attempt has the process to itself (see `_exported`). A failure here ends the
        attempt as the body's failure would."""
        try:
            self.token = self.channel.enter(self.measure.meter.process_cpu_s())
            if self.flow is None:
                exported = _exported(self.channel, self.measure.ticket.alone, self.config)
                exported.__enter__()
                self.exported = exported
        except BaseException as problem:
            self.end(problem)
            raise

    def end(self, error: BaseException | None) -> None:
        """After the body (`error`: what it raised): leave the channel, measure, journal."""
        if error is not None and not isinstance(error, GeneratorExit):  # closed early: no error
            self.outcome.error = error
        try:
            self._leave_tracking()
        finally:
            self._journal()

    def _leave_tracking(self) -> None:
        exported, self.exported = self.exported, None
        token, self.token = self.token, None
        try:
            if exported is not None:
                exported.__exit__(None, None, None)
        finally:
            if token is not None:
                self.channel.leave(token)

    def _journal(self) -> None:
        hasher = self.flow.recorder.hasher if self.flow is not None else session.hasher()
        usage = self.measure.stop_later(hasher)
        try:
            channel = self.channel
            opened = channel.opened
            tracked = _collected(channel, hasher, self.redactor, self.config) if opened else None
            outcome = self.outcome
            plain = outcome.error is None and (
                not outcome.has_result or type(outcome.result) in _PLAIN
            )
            if self.flow is not None and tracked is None and plain:
                self.context = _Context.of(self.context)  # Prefect's own may be freed now
                later = _Later(self, usage, hasher, time.time_ns(), _thread_attributes())
                self.flow.recorder.record_later(later.build)
                return
            step = _step(self, usage(), hasher, time.time_ns(), _thread_attributes())
            _journal(step if tracked is None else tracked.apply(step), self)
        except Exception as problem:
            session.report(problem, f"recording task {self.context.task.name}", self.config)

    def arguments(self, hasher: FileHasher) -> adapter.Arguments:
        """The call's arguments sorted (see `adapter.sort_arguments`), now if not yet."""
        if self.args is None:
            self.args = _arguments(
                self.context, self.parameters, self.redactor, self.config, self.flow, hasher
            )
        return self.args


_PLAIN = adapter.PLAIN_TYPES  # see `_Attempt`


class _TaskRun(NamedTuple):
    """What a record needs of Prefect's `TaskRun`: its fields as Prefect holds them (made text
    by `_step`, in the batch writer)."""

    id: Any
    flow_run_id: Any
    name: str
    task_key: str
    run_count: int | None
    task_inputs: dict[str, list[Any]]


class _Context(NamedTuple):
    """What a record needs of Prefect's `TaskRunContext`: kept while a record waits in the
    batch writer's queue instead of Prefect's context and everything it holds (which would live
    long enough to reach the collector's oldest generation, whose full passes cost 0.1 s+ in a
    process that imported Prefect)."""

    task: Any  # the task itself: it lives as long as its definition
    task_run: _TaskRun
    parameters: dict[str, Any]

    @classmethod
    def of(cls, context: Any) -> _Context:
        """Read in the task's thread: references only (the inputs are Prefect's small
        `TaskRunResult`s, which it does not change once the run has begun)."""
        run = context.task_run
        light = _new_task_run(
            (run.id, run.flow_run_id, run.name, run.task_key, run.run_count, run.task_inputs)
        )
        return tuple.__new__(cls, (context.task, light, context.parameters))


# Named tuples made as `_make` makes them, without their Python-level `__new__` (a call more
# on every task's path).
_new_task_run = functools.partial(tuple.__new__, _TaskRun)
_new_series_plan = functools.partial(tuple.__new__, SeriesPlan)


@dataclass
class _Later:
    """What builds an attempt's record in the batch writer, read in the task's thread."""

    attempt: _Attempt
    usage: Callable[[], Usage]
    hasher: FileHasher
    ended_ns: int
    attributes: dict[str, Value]  # those only the task's thread knows (`_thread_attributes`)

    def build(self) -> StepRecord | None:
        attempt = self.attempt
        try:
            return _step(attempt, self.usage(), self.hasher, self.ended_ns, self.attributes)
        except Exception as problem:
            what = f"recording task {attempt.context.task.name}"
            session.report_to(attempt.flow, problem, what, attempt.config)
            return None


def _arguments(
    context: Any,
    parameters: dict[str, Any],
    redactor: Redactor,
    config: Settings,
    flow: session.FlowRecording | None,
    hasher: FileHasher | None = None,
) -> adapter.Arguments:
    """The call's arguments sorted (`adapter.sort_arguments`); a problem is reported."""
    try:
        hasher = session.hasher() if hasher is None else hasher
        return adapter.sort_arguments(parameters, context.task_run.task_inputs, hasher, redactor)
    except Exception as problem:
        what = f"describing the arguments of {context.task.name}"
        session.report_to(flow, problem, what, config)
        return adapter.Arguments()


def _standalone(context: Any, code: Callable[[], Code], config: Settings) -> StandaloneRun | None:
    """The run of a task run outside any flow run (see `standalone`); None for one in a flow run
    (in a worker process), or when the run cannot be opened (a recording problem, reported)."""
    if context.task_run.flow_run_id is not None:
        return None
    with session.guarded(f"opening the run of task {context.task.name}", config):
        return StandaloneRun.open(context, code(), config)
    return None


def _worker_run_dir(run: Any, config: Settings) -> Path:
    """The folder of the task's run in a process other than its flow's: the flow run's context
    carries it (`session.task_run_dir`)."""
    return session.task_run_dir(str(run.flow_run_id), config)


_WATCH_IDS = itertools.count(1)  # the sampler's id of an attempt, unique in this process


class _SeriesPath:
    """`<run>/series/<attempt key>.csv`, named only when the sampler is told of the attempt
    (`os.fspath`, in its sender thread): most attempts end before."""

    __slots__ = ("key", "run_dir")

    def __init__(self, run_dir: Path, key: str) -> None:
        self.run_dir, self.key = run_dir, key

    def __fspath__(self) -> str:
        return os.path.join(self.run_dir, "series", safe(self.key) + ".csv")

    __str__ = __fspath__


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


def _collected(
    channel: StepChannel, hasher: FileHasher, redactor: Redactor, config: Settings
) -> Tracked:
    """What the body logged, from the channel's folder (the caller asks only when the channel
    was opened: a body that logged nothing has no folder to read)."""

    def report(problem: Exception, what: str) -> None:
        session.report(problem, what, config)

    return channel.collect(hasher, redactor, report=report)


def _journal(step: StepRecord, attempt: _Attempt) -> None:
    if attempt.standalone is not None:
        attempt.standalone.close(step)
        return
    if attempt.flow is not None:
        attempt.flow.recorder.record_step(step)  # the flow's open journal: no open/close per task
        return
    run_dir = attempt.run_dir
    if session.carried_run_dir() is None and not (run_dir / "journal.jsonl").exists():
        session.append(run_dir, _orphan_start(step))
    session.append_step(run_dir, attempt.redactor.scrub_record(step))  # no secret reaches disk


def _orphan_start(step: StepRecord) -> RunStart:
    """A flow not decorated with @prov_flow: open its journal so `yprov export` can assemble it."""
    return RunStart(step.run_id, step.started, adapter.prefect_agents(), host=HOST)


def _step(
    attempt: _Attempt,
    usage: Usage,
    hasher: FileHasher,
    ended_ns: int,
    thread_attributes: dict[str, Value],
) -> StepRecord:
    context, outcome, args = attempt.context, attempt.outcome, attempt.arguments(hasher)
    run = context.task_run
    outputs: tuple[FileRecord, ...] = ()
    result: ValueRecord | None = None
    inputs = tuple(args.files)
    if outcome.has_result and outcome.error is None:
        previews = attempt.config.result_previews
        outputs, result = adapter.result_record(outcome.result, hasher, attempt.redactor, previews)
        if outputs or inputs:
            rewritten = {f.path for f in outputs} - {f.path for f in inputs if f in outputs}
            inputs = tuple(f for f in inputs if f.path not in rewritten)  # an output's old version
    end = _ending(context, outcome, (ended_ns - attempt.started_ns) / 1e9)
    task_run_id = str(run.id)
    flow_run_id = task_run_id if run.flow_run_id is None else str(run.flow_run_id)  # standalone
    return StepRecord(
        run_id=flow_run_id,
        name=str(context.task.name),
        key=task_run_id,
        attempt=int(run.run_count or 1),
        started=_utc(attempt.started_ns),
        ended=_utc(ended_ns),
        status=end.status,
        inputs=inputs,
        outputs=outputs,
        params=args.params,
        values=args.values,
        upstream=tuple(args.upstream),
        informed_by=tuple(args.informed_by),
        result=result,
        parent=None if run.flow_run_id is None else flow_run_id,
        attributes=_attributes(run, task_run_id, outcome, thread_attributes),
        code=attempt.code(),
        usage=usage,
        error=end.error,
        host=HOST,
        pid=process_id(),
    )


def _ending(context: Any, outcome: Outcome, elapsed_s: float) -> run_status.Ending:
    """The attempt's status and error as Prefect reports them (see `run_status`)."""
    limit = run_status.Limit(context.task.timeout_seconds, "Task run", elapsed_s)
    return run_status.ending(outcome, limit)


def _attributes(
    run: Any, task_run_id: str, outcome: Outcome, thread_attributes: dict[str, Value]
) -> dict[str, Value]:
    attrs: dict[str, Value] = {
        "task_key": str(run.task_key),
        "task_run_name": str(run.name),
        "task_run_id": task_run_id,
    }
    if run.flow_run_id is not None:  # else a task run outside any flow run
        attrs["flow_run_id"] = str(run.flow_run_id)
    attrs |= thread_attributes
    if outcome.extra:
        attrs |= outcome.extra
    return attrs


def _thread_attributes() -> dict[str, Value]:
    """What only the task's own thread can tell: its id, and the Dask or Ray worker it is in."""
    attrs: dict[str, Value] = {"thread": threading.get_native_id()}
    identity = adapter.worker_identity()
    if identity:
        attrs |= identity
    return attrs
