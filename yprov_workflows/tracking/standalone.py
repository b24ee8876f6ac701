"""Standalone runs: the same logging calls outside any workflow engine.

    with yp.run("train") as run:         # or: yp.start_run("train") ... yp.end_run()
        yp.log_params({"lr": 0.01})
        yp.log_metric("loss", 0.5, step=0)
    print(run.document)

records a run with engine "python" in the usual layout (`.yprov/<run id>/`, or `out_dir`, or
`YPROV_OUT`): a `Recorder` with its journal and document, the script as the workflow's plan, and
the block as the run's one step, whose usage is the process's (its CPU and its reaped children's,
its peak memory). It prints nothing: problems go through `logging` (and raise in strict mode).

Inside a workflow step (a channel active in this context, or `YPROV_STEP_DIR` set) a run joins the
step instead of starting a second run: its name becomes the step's `run_name` attribute. The run
started by `start_run` is kept in a context variable, so `end_run` must be called in the same
thread (or asyncio task) as `start_run`.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yprov_workflows._version import __version__
from yprov_workflows.environment import HOST, current_user, file_sha256
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Agents, Code, RunStart, Status, StepRecord, Usage
from yprov_workflows.runs import new_run_id
from yprov_workflows.tracking.api import log_attribute, log_params
from yprov_workflows.tracking.channel import CURRENT, StepChannel, current
from yprov_workflows.tracking.process import PROCESS
from yprov_workflows.tracking.system import process_cpu_s
from yprov_workflows.usage.thread import peak_rss_bytes
from yprov_workflows.values import Value

ENGINE = "python"
USAGE_NOTE = (
    "a standalone run: CPU of the whole process (every thread) and of the child processes it "
    "reaped during the block; max_rss_bytes is the process's peak since it started"
)


@dataclass
class RunHandle:
    """A standalone run, as `run` and `start_run` give it. `run_dir` is None when nothing is
    recorded (recording disabled or failed, or the run joined a workflow step: `joined`);
    `document` is set when the run ended."""

    name: str
    run_dir: Path | None = None
    document: Path | None = None
    joined: bool = False


@dataclass
class _Open:
    """What an open standalone run keeps until its end."""

    handle: RunHandle
    recorder: Recorder | None = None
    channel: StepChannel | None = None
    token: Token[StepChannel | None] | None = None
    started: datetime = dataclasses.field(default_factory=lambda: datetime.now(UTC))
    t0: float = dataclasses.field(default_factory=time.monotonic)
    cpu0: float = dataclasses.field(default_factory=process_cpu_s)


_RUN: ContextVar[_Open | None] = ContextVar("yprov_workflows_standalone_run", default=None)


@contextmanager
def run(
    name: str = "main",
    *,
    out_dir: str | os.PathLike[str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Iterator[RunHandle]:
    """Record the block as a standalone run (see the module's docstring); an exception that
    leaves the block marks the run failed and goes on."""
    handle = start_run(name, out_dir=out_dir, params=params)
    try:
        yield handle
    except BaseException:
        end_run("failed")
        raise
    end_run("completed")


def start_run(
    name: str = "main",
    *,
    out_dir: str | os.PathLike[str] | None = None,
    params: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> RunHandle:
    """Start a standalone run in this context (or join the workflow step that runs this code);
    end it with `end_run`."""
    going = _RUN.get()
    if going is not None:
        PROCESS.say(f"start_run({name!r}): the run {going.handle.name!r} is still going here")
        return going.handle
    state = _joined(name) if current()[0] is not None else _started(name, out_dir)
    _RUN.set(state)
    for key, value in (attributes or {}).items():
        log_attribute(key, value)
    if params:
        log_params(params)
    return state.handle


def end_run(status: Status | None = None) -> Path | None:
    """End the run `start_run` started in this context: collect what was logged, record the
    step, assemble the document; return its path (None when nothing was recorded)."""
    state = _RUN.get()
    if state is None:
        PROCESS.say("end_run: no run was started here (start_run)", kind="end_run")
        return None
    _RUN.set(None)
    if state.token is not None:
        _deactivate(state.token)
    if state.recorder is None:
        return None
    state.handle.document = _close(state, status or "completed")
    return state.handle.document


def _joined(name: str) -> _Open:
    log_attribute("run_name", name)
    return _Open(RunHandle(name, joined=True))


def _started(name: str, out_dir: str | os.PathLike[str] | None) -> _Open:
    settings = PROCESS.settings()
    state = _Open(RunHandle(name))
    if settings.disabled:
        return state
    out = Path(out_dir).absolute() if out_dir is not None else settings.resolve_out_dir(Path.cwd())
    recorder = state.recorder = Recorder(settings, out)
    recorder.start(_run_start(state.started))
    if recorder.run_dir is None:
        return state
    with recorder.guard(f"opening the tracking folder of {name}"):
        state.channel = StepChannel.open(recorder.run_dir, name, state.t0)
        state.token = CURRENT.set(state.channel)
        state.channel.entered = (os.getpid(), state.cpu0)
    state.handle.run_dir = recorder.run_dir
    return state


def _deactivate(token: Token[StepChannel | None]) -> None:
    try:
        CURRENT.reset(token)
    except ValueError:  # ended in another context than it started: leave no channel here
        CURRENT.set(None)


def _close(state: _Open, status: Status) -> Path | None:
    recorder = state.recorder
    assert recorder is not None
    try:
        with recorder.guard(f"recording the step {state.handle.name}"):
            step = _step(state, status)
            if state.channel is not None:
                tracked = state.channel.collect(
                    recorder.hasher, recorder.redactor, report=recorder.report
                )
                step = tracked.apply(step)
            recorder.record_step(step)
    finally:
        document = recorder.finish(status)
    return document


def _script() -> str | None:
    """The script being run, if it is a file (not `python -c` or an interactive session)."""
    path = sys.argv[0] if sys.argv else ""
    return os.path.abspath(path) if path and os.path.isfile(path) else None


def _run_start(started: datetime) -> RunStart:
    script = _script()
    return RunStart(
        run_id=new_run_id(started),
        started=started,
        agents=Agents(current_user(), ENGINE, platform.python_version(), __version__),
        workflow_path=script,
        workflow_sha256=file_sha256(script),
        workdir=str(Path.cwd()),
        command_line=tuple(sys.argv),
        host=HOST,
    )


def _step(state: _Open, status: Status) -> StepRecord:
    script = _script()
    assert state.recorder is not None and state.recorder.run_dir is not None
    code = Code("script", path=script, sha256=file_sha256(script)) if script else Code("python")
    return StepRecord(
        run_id=state.recorder.run_dir.name,
        name=state.handle.name,
        key=state.handle.name,
        attempt=1,
        started=state.started,
        ended=datetime.now(UTC),
        status=status,
        code=code,
        usage=_usage(state),
        host=HOST,
        pid=os.getpid(),
    )


def _usage(state: _Open) -> Usage:
    figures: dict[str, Value] = {
        "wall_s": round(time.monotonic() - state.t0, 6),
        "cpu_total_s": round(process_cpu_s() - state.cpu0, 6),
    }
    peak = peak_rss_bytes()
    if peak is not None:
        figures["max_rss_bytes"] = peak
    return Usage(figures, "rusage_self+children", USAGE_NOTE)
