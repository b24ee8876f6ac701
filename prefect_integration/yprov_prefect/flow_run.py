"""Record one flow run: open the run at the start, close and assemble it at the end.

A top-level flow run owns a run folder and a `Recorder`. A subflow run (a `@prov_flow` called
inside another, in the same process) becomes a step of the top-level run, and its tasks are
started by that step. At the end the top-level run adds, from the Prefect API, the task runs
that were not decorated (as structure: name, times, state), assembles the document and attaches a
summary to the flow run in the Prefect UI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from yprov_prefect import adapter, session
from yprov_prefect.structure import undecorated_steps
from yprov_prefect.task_attempt import Outcome, utcnow
from yprov_workflows.environment import HOST
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Code, Status, StepRecord, Usage
from yprov_workflows.summary import summarize
from yprov_workflows.usage.monitor import Monitor
from yprov_workflows.values import typed_mapping


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
    recorder = Recorder(config, run_dir.parent, warn=session.log.warning)
    params = typed_mapping(dict(context.parameters or {}), recorder.redactor)
    recorder.start(adapter.run_start(context.flow_run, context.flow, fn, utcnow(), params))
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
        _close(recording, context, "failed" if outcome.error else "completed")


def _close(recording: session.FlowRecording, context: Any, status: Status) -> None:
    if recording.monitor is not None:
        recording.monitor.close()
    recorder = recording.recorder
    if recorder.run_dir is None:
        return
    with recorder.guard("adding undecorated task runs"):
        for step in undecorated_steps(context.flow_run.id, recorder.run_dir):
            recorder.record_step(step)
    document = recorder.finish(status)
    if document is not None:
        with recorder.guard("attaching the summary artifact"):
            _attach_summary(document)


def _attach_summary(document: Any) -> None:
    import json

    from prefect.artifacts import create_markdown_artifact

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
    create_markdown_artifact(  # type: ignore[call-arg]  # _sync: async_dispatch's switch,
        markdown=body,  # so this works from the event loop of an async flow too
        key="yprov-provenance",
        description="W3C PROV of this flow run",
        _sync=True,
    )


@contextmanager
def _subflow(
    parent: session.FlowRecording, context: Any, code: Callable[[], Code]
) -> Iterator[Outcome]:
    """A subflow is a step of the top-level run; its tasks find the run through a link."""
    sub_id = str(context.flow_run.id)
    session.link_subflow(parent.run_dir, sub_id)
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
            step = _subflow_step(context, code(), started, outcome, parent)
            parent.recorder.record_step(step)


def _subflow_step(
    context: Any, code: Code, started: Any, outcome: Outcome, parent: session.FlowRecording
) -> StepRecord:
    flow_run = context.flow_run
    return StepRecord(
        run_id=str(flow_run.id),
        name=str(context.flow.name),
        key=str(flow_run.id),
        attempt=int(flow_run.run_count or 1),
        started=started,
        ended=utcnow(),
        status="failed" if outcome.error else "completed",
        params=typed_mapping(dict(context.parameters or {}), parent.recorder.redactor),
        parent=parent.flow_run_id,
        attributes={
            "kind": "subflow",
            "flow_run_id": str(flow_run.id),
            "parent_task_run_id": str(flow_run.parent_task_run_id),
        },
        code=code,
        usage=Usage({}, "unmeasured", "a subflow's usage is that of its tasks"),
        error=str(outcome.error)[:1000] if outcome.error else None,
        host=HOST,
        pid=os.getpid(),
    )
