"""Where a flow run's records go, found the same way from every process that runs its tasks.

The top-level flow run's folder is `<out>/<flow run id>/`. A subflow adds a link
`<out>/<subflow run id>` to that folder, so a task that knows only its own flow run id (in a
process pool or a Dask worker) appends to the right journal. Nothing here is process-global
except `ACTIVE`, which counts the measured task attempts running in this process (to say whether a
task had its process to itself), `WORKER`, the sampler client of a worker process, and `PROBLEMS`,
the recording problems of tasks that run away from their flow's process (each kind is said once
per flow run in the process; the flow's own process counts them in its `Recorder`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from yprov_workflows.hashing import FileHasher
from yprov_workflows.journal import JournalWriter
from yprov_workflows.recorder import Problems, Recorder
from yprov_workflows.records import Record
from yprov_workflows.runs import journal_path
from yprov_workflows.settings import Settings
from yprov_workflows.usage.monitor import Monitor

log = logging.getLogger("yprov_prefect")


@dataclass
class FlowRecording:
    """The recording of one top-level flow run, shared by its subflows in this process."""

    recorder: Recorder
    run_dir: Path
    pid: int
    flow_run_id: str  # the innermost flow run (a subflow while one runs)
    monitor: Monitor | None = None  # the sampler client of the flow's process


CURRENT: ContextVar[FlowRecording | None] = ContextVar("yprov_flow_recording", default=None)


class ActiveTasks:
    """Which measured task attempts run in this process, to say whether one ran alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.entered = 0

    def enter(self) -> int:
        """A ticket: non-zero when no other attempt runs now."""
        with self._lock:
            self.count += 1
            self.entered += 1
            return self.entered if self.count == 1 else 0

    def leave(self, ticket: int) -> bool:
        """Whether the attempt ran alone from start to end (no other began meanwhile)."""
        with self._lock:
            alone = ticket != 0 and self.entered == ticket and self.count == 1
            self.count -= 1
            return alone


ACTIVE = ActiveTasks()


class WorkerMonitor:
    """The sampler client of a process that runs tasks away from their flow's process (a
    process-pool or Dask worker). Its sampler ends with the process (the pipe closes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._monitor: Monitor | None = None

    def get(self, tick_s: float) -> Monitor:
        with self._lock:
            if self._monitor is None or self._pid != os.getpid():  # new, or a forked child
                self._monitor, self._pid = Monitor(tick_s), os.getpid()
            return self._monitor


WORKER = WorkerMonitor()
PROBLEMS = Problems(log.warning, "the flow goes on")


def monitor(config: Settings) -> Monitor | None:
    """The sampler client for a task in this process; None when sampling is off."""
    if config.sample_tick_s <= 0:
        return None
    current = CURRENT.get()
    if current is not None and current.pid == os.getpid():
        return current.monitor
    return WORKER.get(config.sample_tick_s)


def settings() -> Settings:
    return Settings.from_env()


def run_dir_for(flow_run_id: str, config: Settings) -> Path:
    return config.resolve_out_dir(Path.cwd()) / flow_run_id


def link_subflow(run_dir: Path, subflow_run_id: str) -> None:
    """Let tasks of a subflow find the top-level run's folder by the subflow's run id."""
    link = run_dir.parent / subflow_run_id
    if not link.exists():
        link.symlink_to(run_dir.name, target_is_directory=True)


def append(run_dir: Path, record: Record) -> None:
    """Append one record to a run's journal (open, lock, write, close: safe from any process)."""
    with JournalWriter(journal_path(run_dir)) as writer:
        writer.append(record)


def report(problem: Exception, what: str, config: Settings) -> None:
    """A recording problem: counted and, the first of its kind, a warning; an error in strict
    mode. In the flow's process it is the flow run's (counted in its document, the rest summed
    up at its end); in another process each kind is said once per flow run (see `PROBLEMS`)."""
    current = CURRENT.get()
    if current is not None and current.pid == os.getpid():
        current.recorder.report(problem, what)
    else:
        PROBLEMS.report(problem, what, config.strict, scope=_flow_run_id())


def _flow_run_id() -> str | None:
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    return str(context.task_run.flow_run_id) if context is not None else None


@contextmanager
def guarded(what: str, config: Settings) -> Iterator[None]:
    """Report a failure in the block (see `report`) instead of raising it."""
    try:
        yield
    except Exception as problem:
        report(problem, what, config)


def hasher() -> FileHasher:
    """The file hasher of the current flow run, or a fresh one in other processes."""
    current = CURRENT.get()
    return current.recorder.hasher if current is not None else FileHasher()


def in_flow_process() -> bool:
    current = CURRENT.get()
    return current is not None and current.pid == os.getpid()
