"""Record one flow run: open the run at the start, close and assemble it at the end.

A top-level flow run owns a run folder and a `Recorder`. A subflow run (a `@prov_flow` called
inside another, in the same process) becomes a step of the top-level run, and its tasks are
started by that step. At the end the top-level run adds, from the Prefect API, the task runs
that were not decorated (as structure: name, times, state), assembles the document and attaches a
summary to the flow run in the Prefect UI.

The run closes when the body has ended, with the status Prefect will set, worked out from the
body's outcome as Prefect does (`run_status`). Its document is written in the background while
Prefect reports that state to its server (a wait for the network that frees the GIL), and the
flow hook `record_final_state`, first among the final-state hooks, waits for it: the document
exists before the user's hooks run and before the flow call returns. The API calls of the end
wait for that hook too, so that they do not share the server with Prefect's report. What can still
differ is told afterwards: when our API calls at the end find the server gone, the engine cannot
report any final state, and the run says so (`ywf:engine_state`); when the final state differs
(cancelled, crashed after the body), `record_final_state` corrects the run's status with a later
end record.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from yprov_prefect import adapter, run_status, session
from yprov_prefect.api import FlowEndApi
from yprov_prefect.structure import missing_journal, undecorated_steps
from yprov_prefect.task_attempt import Outcome, utcnow
from yprov_workflows.assemble import assemble_to_file
from yprov_workflows.environment import HOST
from yprov_workflows.journal import JournalWriter, last_record, read_journal
from yprov_workflows.pending import Written, complete_later, settle, wait_written
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Code, RunEnd, Status, StepRecord, Usage
from yprov_workflows.runs import journal_path
from yprov_workflows.summary import summarize
from yprov_workflows.usage.monitor import Monitor
from yprov_workflows.values import Value, typed_mapping


@contextmanager
def recorded_flow(fn: Callable[..., Any], code: Callable[[], Code]) -> Iterator[Outcome]:
    context = _flow_context()
    config = session.settings()
    if context is None or config.disabled:
        yield Outcome()
        return
    parent = session.CURRENT.get()
    if parent is not None and parent.pid == os.getpid():
        with _subflow(parent, context, code) as outcome:
            yield outcome
        return
    with _top_level(context, fn) as outcome:
        yield outcome


def _flow_context() -> Any:
    from prefect.context import FlowRunContext

    return FlowRunContext.get()


@contextmanager
def _top_level(context: Any, fn: Callable[..., Any]) -> Iterator[Outcome]:
    config = session.settings()
    run_dir = session.run_dir_for(str(context.flow_run.id), config)
    wait_written(run_dir)  # a retried flow run: its previous attempt's end first
    session.carry_run_dir(context.flow_run, run_dir)
    recorder = Recorder(config, run_dir.parent, warn=session.log.warning)
    params = typed_mapping(dict(context.parameters or {}), recorder.redactor)
    started = utcnow()
    recorder.start(adapter.run_start(context.flow_run, context.flow, fn, started, params))
    recorder.batch_steps()  # many short tasks: their records are written in batches
    monitor = Monitor(config.sample_tick_s) if config.sample_tick_s > 0 else None
    recording = session.FlowRecording(
        recorder, run_dir, os.getpid(), str(context.flow_run.id), monitor
    )
    token = session.CURRENT.set(recording)
    outcome = Outcome()
    try:
        with outcome.watching():
            yield outcome
    finally:
        session.CURRENT.reset(token)
        _close(recording, context, _flow_ending(context, outcome, started, recorder).status)


def _flow_ending(
    context: Any, outcome: Outcome, started: datetime, recorder: Recorder
) -> run_status.Ending:
    """How Prefect will end the flow run, from its body (waiting for the futures it returned,
    as the engine does next: their tasks' records reach the journal before it closes)."""
    elapsed = (utcnow() - started).total_seconds()
    limit = run_status.Limit(context.flow.timeout_seconds, "Flow run", elapsed)
    with recorder.guard("working out the flow run's final state"):
        return run_status.ending(outcome, limit, futures=True)
    return run_status.Ending("failed" if outcome.error else "completed")


def _close(recording: session.FlowRecording, context: Any, status: Status) -> None:
    """Close the run and write its document, then add what only the Prefect API knows
    (`_complete`): both in the background (see `yprov_workflows.pending`). The document is
    written while Prefect reports the flow's final state to its server, and our final-state hook
    waits for it (`record_final_state`), so it exists before the user's hooks run and before the
    flow returns. A flow whose hooks for that state lack ours (`with_options` replaced them)
    writes it here, before returning."""
    run_dir = recording.recorder.run_dir
    if run_dir is None:
        return
    now = not _hooked(context.flow, status)
    document = recording.recorder.finish(status) if now else None
    hook = not (now or _retried(context, status))  # else no final-state hook comes
    reported = _REPORTED.setdefault(str(context.flow_run.id), _FinalState()) if hook else None
    closed = utcnow()  # the body has ended: no task run of this flow run starts later
    work = functools.partial(
        _end, recording, context.flow_run.id, status, now, document, reported, closed
    )
    complete_later(run_dir, work, f"flow-end-{context.flow_run.id}")


class _FinalState:
    """Set by `record_final_state`: Prefect has reported the run's final state, and our API work
    at the end may begin. Started before, it shared the server with that report, which the
    flow's return waits for (a `.map` flow's server still ingests its task runs' events then).
    `at`: when it was set; no task run of the flow run starts after it (nor after the body
    ended, but a task the body submitted as it ended may start a moment later)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.at: datetime | None = None

    def set(self) -> None:
        self.at = utcnow()
        self.event.set()


_REPORTED: dict[str, _FinalState] = {}  # by flow run id
FINAL_STATE_WAIT_S = 5.0  # a run whose hook never comes (a retried flow run): the API work then


def _retried(context: Any, status: Status) -> bool:
    """Whether Prefect's server will retry this failed attempt (its rule: the attempt's run
    count is within the flow's retries): no final-state hook is called for it."""
    if status != "failed":
        return False
    policy = getattr(context.flow_run, "empirical_policy", None)
    retries = getattr(policy, "retries", None)
    if retries is None:
        retries = getattr(context.flow, "retries", None) or 0
    return int(context.flow_run.run_count or 1) <= int(retries)


def _hooked(flow: Any, status: Status) -> bool:
    """Whether Prefect will call `record_final_state` for a run that ends with `status`."""
    hooks = {"completed": "on_completion_hooks", "failed": "on_failure_hooks"}.get(status)
    return hooks is not None and record_final_state in (getattr(flow, hooks, None) or ())


def _end(
    recording: session.FlowRecording,
    flow_run_id: Any,
    status: Status,
    finished: bool,
    document: Path | None,
    reported: _FinalState | None,
    closed: datetime,
    written: Written,
) -> None:
    """In the background: the document (unless `finished` already), then the sampler stopped
    (its process's exit takes a while) and, once Prefect has reported the final state
    (`reported`, set by our final-state hook), what only the API knows. It first yields the GIL:
    the flow's thread, which waits for this thread to start, then goes on to report its final
    state, whose wait for the server frees the GIL for this work (else it waits for the
    interpreter's switch interval, 5 ms)."""
    time.sleep(0)
    if not finished:
        document = recording.recorder.finish(status)
    written()
    if recording.monitor is not None:
        with recording.recorder.guard("stopping the sampler"):
            recording.monitor.close()
    if reported is not None:  # the API work after Prefect's report of the final state
        reported.event.wait(FINAL_STATE_WAIT_S)
        _REPORTED.pop(str(flow_run_id), None)
    try:
        if document is not None:
            ended = (reported.at if reported is not None else None) or closed
            _complete(recording.recorder, recording.run_dir, flow_run_id, document, ended)
    finally:
        recording.recorder.kept = None  # for `_complete` only: not held while the process lives


def _complete(
    recorder: Recorder, run_dir: Path, flow_run_id: Any, document: Path, ended: datetime
) -> None:
    """After the flow returned: the task runs the journal lacks (undecorated tasks, cache hits,
    records that did not come), the summary artifact, and, with the server gone, that Prefect's
    final state is unknown. Our API calls share one short deadline (`FlowEndApi`). `ended`: when
    Prefect had reported the final state (else when the body ended): no task run of the flow run
    starts after it."""
    with FlowEndApi() as api:
        with recorder.guard("adding undecorated task runs"):
            steps = list(undecorated_steps(flow_run_id, run_dir, api, recorder.kept, ended))
            if steps:
                _add_unrecorded(recorder, run_dir, steps)
                assemble_to_file(run_dir, warn=session.log.warning)
        if api.unreachable is None:
            with recorder.guard("attaching the summary artifact"):
                _attach_summary(document, flow_run_id, api)
        if api.unreachable is not None:
            with recorder.guard("recording that the final state is unknown"):
                _mark_unknown(run_dir, _engine_state(api))


def _add_unrecorded(recorder: Recorder, run_dir: Path, steps: Iterable[StepRecord]) -> None:
    """Steps of task runs the journal lacks: those of undecorated tasks go to the run's journal;
    the placeholders of decorated tasks whose record did not come go to a journal of their own
    that is read after every other (`missing_journal`), so a record merged later wins."""
    found: list[StepRecord] = []
    missing: list[StepRecord] = []
    for step in steps:
        (missing if "record_missing" in step.attributes else found).append(step)
    for path, records in ((journal_path(run_dir), found), (missing_journal(run_dir), missing)):
        if records:
            with JournalWriter(path, lock=path == journal_path(run_dir)) as writer:
                for step in records:
                    writer.append(step, recorder.redactor)


def _engine_state(api: FlowEndApi) -> dict[str, Value]:
    """Nothing while the server answers (Prefect sets the state we worked out); else: unknown."""
    if api.unreachable is None:
        return {}
    return {"engine_state": f"unknown: {api.unreachable}; the status is the body's outcome"}


def _attach_summary(document: Path, flow_run_id: Any, api: FlowEndApi) -> None:
    import json

    from prefect.client.schemas.actions import ArtifactCreate

    lines = summarize(json.loads(document.read_text()))
    body = "\n".join(
        [
            "### Provenance (yprov-workflows)",
            "",
            "```",
            *lines,
            "```",
            "",
            f"Document: `{document}`",
        ]
    )
    artifact = ArtifactCreate(
        type="markdown",
        key="yprov-provenance",
        description="W3C PROV of this flow run",
        flow_run_id=flow_run_id,
        data=body,
    )  # our client is a sync one: this works from the event loop of an async flow too
    api.call("attaching the summary artifact", functools.partial(_create, artifact))


def _create(artifact: Any, client: Any) -> Any:
    """Post the artifact. At the interpreter's exit (this runs after the main thread ended) the
    plain request: the client's `create_artifact` also emits an event, whose sender Python may no
    longer start then (a traceback in the user's output); the artifact itself is the same."""
    if threading.main_thread().is_alive():
        return client.create_artifact(artifact)
    body = artifact.model_dump(mode="json", exclude_unset=True)
    return client.request("POST", "/artifacts/", json=body)


def record_final_state(flow: Any, flow_run: Any, state: Any) -> None:
    """A flow hook (`on_completion`, `on_failure`, `on_crashed`, `on_cancellation`): where
    Prefect's final state of a top-level run differs from the status it closed with (the run
    was cancelled, or crashed after its body), a later end record corrects it."""
    reported = _REPORTED.get(str(flow_run.id))
    if reported is not None:
        reported.set()  # before any wait below: `_correct` may wait for that API work
    config = session.settings()
    if config.disabled:
        return
    try:
        run_dir = session.run_dir_for(str(flow_run.id), config)
        if run_dir.name == str(flow_run.id) and not run_dir.is_symlink():  # not a subflow's
            wait_written(run_dir)  # written in the background while Prefect set this state
            _correct(run_dir, run_status.of_state(state), str(state.name))
    except Exception as problem:
        session.report(problem, f"recording the final state of flow run {flow_run.name}", config)


def _correct(run_dir: Path, status: Status, state_name: str) -> None:
    """The run closed with another status than Prefect's final state, or with that state
    unknown: a corrected end record, and the document assembled again."""
    end = _recorded_end(run_dir)
    if end is None or (end.status == status and "engine_state" not in end.attributes):
        return  # as it closed (or not closed)
    settle(run_dir)  # the run's completion in the background first: one writer at a time
    end = _recorded_end(run_dir)
    if end is None:
        return
    attributes: dict[str, Value] = {"engine_state": state_name}
    if (end.status, end.attributes) != (status, attributes):
        _amend(run_dir, end, status, attributes)


def _mark_unknown(run_dir: Path, attributes: dict[str, Value]) -> None:
    end = _recorded_end(run_dir)
    if end is not None and end.attributes != attributes:
        _amend(run_dir, end, end.status, attributes)


def _amend(run_dir: Path, end: RunEnd, status: Status, attributes: dict[str, Value]) -> None:
    session.append(run_dir, dataclasses.replace(end, status=status, attributes=attributes))
    assemble_to_file(run_dir, warn=session.log.warning)


def _recorded_end(run_dir: Path) -> RunEnd | None:
    """The run's end record: usually the journal's last line; else (a late record from another
    process after it) the last end record of the whole journal; None before the run closed."""
    path = journal_path(run_dir)
    if not path.exists():
        return None
    last = last_record(path)
    if isinstance(last, RunEnd):
        return last
    ends = [r for r in read_journal(path, session.log.warning).records if isinstance(r, RunEnd)]
    return ends[-1] if ends else None


@contextmanager
def _subflow(
    parent: session.FlowRecording, context: Any, code: Callable[[], Code]
) -> Iterator[Outcome]:
    """A subflow is a step of the top-level run; its tasks find the run through a link."""
    sub_id = str(context.flow_run.id)
    session.link_subflow(parent.run_dir, sub_id)
    session.carry_run_dir(context.flow_run, parent.run_dir)
    started, outcome = utcnow(), Outcome()
    token = session.CURRENT.set(
        session.FlowRecording(parent.recorder, parent.run_dir, parent.pid, sub_id, parent.monitor)
    )
    try:
        with outcome.watching():
            yield outcome
    finally:
        session.CURRENT.reset(token)
        with parent.recorder.guard(f"recording subflow {context.flow.name}"):
            end = _flow_ending(context, outcome, started, parent.recorder)
            step = _subflow_step(context, code(), started, end, parent)
            parent.recorder.record_step(step)


def _subflow_step(
    context: Any,
    code: Code,
    started: datetime,
    end: run_status.Ending,
    parent: session.FlowRecording,
) -> StepRecord:
    flow_run = context.flow_run
    return StepRecord(
        run_id=str(flow_run.id),
        name=str(context.flow.name),
        key=str(flow_run.id),
        attempt=int(flow_run.run_count or 1),
        started=started,
        ended=utcnow(),
        status=end.status,
        params=typed_mapping(dict(context.parameters or {}), parent.recorder.redactor),
        parent=parent.flow_run_id,
        attributes={
            "kind": "subflow",
            "flow_run_id": str(flow_run.id),
            "parent_task_run_id": str(flow_run.parent_task_run_id),
        },
        code=code,
        usage=Usage({}, "unmeasured", "a subflow's usage is that of its tasks"),
        error=end.error,
        host=HOST,
        pid=os.getpid(),
    )
