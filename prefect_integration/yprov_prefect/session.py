"""Where a flow run's records go, found the same way from every process that runs its tasks.

The top-level flow run's folder is `<out>/<flow run id>/`. A subflow adds a link
`<out>/.links/<subflow run id>` to that folder, so a task that knows only its own flow run id (in a
process pool or a Dask worker) appends to the right journal; the links stay out of the run folders'
namespace (`<out>/*/` lists runs, not subflows). Nothing here is process-global except `ACTIVE`,
which counts the measured task attempts running in this process and in each of its threads (to say
whether a task had its process, or its thread, to itself), `WORKER`, the sampler client of a worker
process, `PROBLEMS`, the recording problems of tasks that run away from their flow's process
(each kind is said once per flow run in the process; the flow's own process counts them in its
`Recorder`), `KEPT`, the runs whose records this process keeps on its side (said once each), and
`DECORATED`, the task keys of the `prov_task` definitions in this process.

A task that runs in another process (Dask, Ray, a process pool) finds the run folder in the flow
run's `context` dict, which the flow's process fills (`carry_run_dir`) and Prefect sends along
with every task it runs elsewhere: no working directory or environment of the worker is needed.
A worker that cannot reach that folder (it does not exist on its host, or cannot be written)
keeps its records under `kept_dir` and says so once; `yprov export RUN --merge` adds them later.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from yprov_workflows.environment import process_id
from yprov_workflows.hashing import FileHasher
from yprov_workflows.journal import JournalWriter, writer_journal_path
from yprov_workflows.recorder import Problems, Recorder
from yprov_workflows.records import Record
from yprov_workflows.runs import LINKS, journal_path
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

    @functools.cached_property
    def guard(self) -> Callable[[str], AbstractContextManager[None]]:
        """`guarded(what)` for this run's problems (the sampler's watch of every task takes
        it; made once, not per task)."""
        return functools.partial(guarded, config=self.recorder.settings, flow=self)


CURRENT: ContextVar[FlowRecording | None] = ContextVar("yprov_flow_recording", default=None)


@dataclass
class _Overlap:
    """The measured attempts running now in one place (a process or a thread), and how many have
    begun there: enough to count the others an attempt overlapped, with no clock."""

    running: int = 0
    begun: int = 0

    def enter(self) -> tuple[int, int]:
        """(attempts running when this one began, attempts begun so far with this one)"""
        mark = (self.running, self.begun + 1)
        self.running += 1
        self.begun += 1
        return mark

    def leave(self, mark: tuple[int, int]) -> int:
        """How many other attempts ran here at some time between this one's start and end."""
        self.running -= 1
        return mark[0] + self.begun - mark[1]


class Ticket(NamedTuple):
    """Where an attempt stands at its start; `ActiveTasks.leave` turns it into overlaps. (Named
    tuples: made twice per task attempt, where a frozen dataclass costs microseconds.)"""

    process: tuple[int, int]
    thread: tuple[int, int]
    thread_id: int

    @property
    def alone(self) -> bool:
        """No other measured attempt ran in the process when this one began."""
        return self.process[0] == 0


class Overlaps(NamedTuple):
    """How many other measured attempts ran, while one did, in its process and in its thread
    (async tasks interleaved on one event loop, or a task called inside another)."""

    process: int
    thread: int


class ActiveTasks:
    """Which measured task attempts run in this process and in each of its threads, to say
    whether one ran alone. One lock, no system call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process = _Overlap()
        self._threads: dict[int, _Overlap] = {}  # only threads running an attempt now

    def enter(self) -> Ticket:
        thread_id = threading.get_ident()
        with self._lock:
            thread = self._threads.get(thread_id)
            if thread is None:
                thread = self._threads[thread_id] = _Overlap()
            return _new_ticket((self._process.enter(), thread.enter(), thread_id))

    @contextmanager
    def environment(self) -> Iterator[int]:
        """Hold the lock while an attempt reads or sets the process's step variables (so that
        two attempts starting at once cannot interleave there); yields how many attempts run."""
        with self._lock:
            yield self._process.running

    def leave(self, ticket: Ticket) -> Overlaps:
        with self._lock:
            thread = self._threads[ticket.thread_id]
            others = (self._process.leave(ticket.process), thread.leave(ticket.thread))
            overlaps = _new_overlaps(others)
            if thread.running == 0:
                del self._threads[ticket.thread_id]
            return overlaps


# Named tuples made as `_make` makes them, without their Python-level `__new__` (a call each,
# on every task's path).
_new_ticket = functools.partial(tuple.__new__, Ticket)
_new_overlaps = functools.partial(tuple.__new__, Overlaps)

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


def monitor(config: Settings, flow: FlowRecording | None) -> Monitor | None:
    """The sampler client for a task in this process (`flow`: see `here`); None when sampling
    is off."""
    if config.sample_tick_s <= 0:
        return None
    return flow.monitor if flow is not None else WORKER.get(config.sample_tick_s)


def settings() -> Settings:
    """The settings of the flow run this process records (read once, at its start), else the
    environment's (a worker, or no flow run: read now)."""
    flow = here()
    return flow.recorder.settings if flow is not None else Settings.from_env()


def run_dir_for(flow_run_id: str, config: Settings) -> Path:
    """The run folder of a flow run: its own (a top-level run), or, for a subflow, the folder
    its link in `<out>/.links/` names. A flow run with neither gets its own (a new run)."""
    out_dir = config.resolve_out_dir(Path.cwd())
    own = out_dir / flow_run_id
    if own.is_dir():
        return own
    try:
        return out_dir / Path(os.readlink(out_dir / LINKS / flow_run_id)).name
    except OSError:  # no link: a top-level run not started yet, or a flow not recorded
        return own


def link_subflow(run_dir: Path, subflow_run_id: str) -> None:
    """Let tasks of a subflow find the top-level run's folder by the subflow's run id, through
    `<out>/.links/<subflow run id> -> ../<run id>` (a recording problem if it cannot be made)."""
    link = run_dir.parent / LINKS / subflow_run_id
    try:
        link.parent.mkdir(exist_ok=True)
        if not link.is_symlink():  # else linked already (the same subflow run, retried)
            link.symlink_to(Path("..", run_dir.name), target_is_directory=True)
    except OSError as problem:
        report(problem, f"linking subflow run {subflow_run_id} to its run folder", settings())


def append(run_dir: Path, record: Record) -> None:
    """Append one record to a run's journal (open, lock, write, close: safe from any process on
    one machine; for records of the run's own process or the very first record of a run)."""
    with JournalWriter(journal_path(run_dir)) as writer:
        writer.append(record)


def append_step(run_dir: Path, record: Record) -> None:
    """Append a record from a process that does not own the run (a worker) to its own journal
    in the run folder: one writer per file, which a shared filesystem needs (see journal.py).
    A run folder this process cannot write (see `reachable`) gets it kept on this side."""
    if not reachable(run_dir):
        keep_here(run_dir, record, "the run folder does not exist on this host")
        return
    try:
        with JournalWriter(writer_journal_path(run_dir), lock=False) as writer:
            writer.append(record)
    except OSError as problem:
        keep_here(run_dir, record, f"the run folder cannot be written: {problem}")


RUN_DIR_KEY = "yprov_run_dir"  # in the flow run's `context`, which Prefect sends to workers


def carry_run_dir(flow_run: object, run_dir: Path) -> None:
    """Put the run folder's absolute path into the flow run's context dict (in the flow's
    process; not sent to the API): Prefect serializes it for every task it runs elsewhere (Dask,
    Ray, process pools), so a worker finds the run without its working directory or env."""
    carried = getattr(flow_run, "context", None)
    if isinstance(carried, dict):
        carried[RUN_DIR_KEY] = str(run_dir.absolute())


def carried_run_dir() -> Path | None:
    """The run folder the flow run's context carries (see `carry_run_dir`), if any."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    carried = getattr(getattr(context, "flow_run", None), "context", None)
    path = carried.get(RUN_DIR_KEY) if isinstance(carried, dict) else None
    return Path(path) if isinstance(path, str) else None


def task_run_dir(flow_run_id: str, config: Settings) -> Path:
    """The run folder of a task of `flow_run_id` in a process other than the flow's: the one
    its flow run carries, else found from the working directory (see `run_dir_for`)."""
    return carried_run_dir() or run_dir_for(flow_run_id, config)


def reachable(run_dir: Path) -> bool:
    """Whether the run folder exists here. A worker never creates a carried run folder: one
    missing is on a filesystem this host does not share (its records are kept here instead)."""
    return run_dir.is_dir() or carried_run_dir() != run_dir


def kept_dir(run_id: str) -> Path:
    """Where a worker keeps the records of a run whose folder it cannot reach."""
    return Path(tempfile.gettempdir()) / "yprov-workflows" / run_id


def keep_here(run_dir: Path, record: Record, why: str) -> None:
    """Append `record` to this process's journal in the run's folder on this side, and say so
    once per run and process (a warning naming the folder and `yprov export --merge`)."""
    kept = kept_dir(run_dir.name)
    with JournalWriter(writer_journal_path(kept), lock=False) as writer:
        writer.append(record)
    KEPT.once(
        run_dir.name,
        f"yprov-workflows: records of run {run_dir.name} are kept in {kept / 'journals'} on "
        f"{socket.gethostname()} ({why}: {run_dir}); the flow's document marks their tasks "
        f"as missing; add them with `yprov export {run_dir} --merge {kept / 'journals'}`",
    )


class Once:
    """Says each message once per key in this process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said: set[str] = set()

    def once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        log.warning(message)


KEPT = Once()


class TaskKeys:
    """The task keys of the tasks made with `prov_task` in this process: definitions, not runs
    (Prefect keys a task by its function). At a flow's end they tell a decorated task whose
    record never reached the run folder from a task that was not decorated."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    def add(self, key: str) -> None:
        with self._lock:
            self._keys.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._keys


DECORATED = TaskKeys()


def report(problem: Exception, what: str, config: Settings) -> None:
    """A recording problem: counted and, the first of its kind, a warning; an error in strict
    mode. In the flow's process it is the flow run's (counted in its document, the rest summed
    up at its end); in another process each kind is said once per flow run (see `PROBLEMS`)."""
    report_to(here(), problem, what, config)


def report_to(flow: FlowRecording | None, problem: Exception, what: str, config: Settings) -> None:
    """`report`, for a thread that knows the flow recording (`here`) or knows there is none."""
    if flow is not None:
        flow.recorder.report(problem, what)
    else:
        PROBLEMS.report(problem, what, config.strict, scope=_flow_run_id())


def _flow_run_id() -> str | None:
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    return str(context.task_run.flow_run_id) if context is not None else None


@contextmanager
def guarded(what: str, config: Settings, flow: FlowRecording | None = None) -> Iterator[None]:
    """Report a failure in the block (see `report`; to `flow` when given: a thread that does not
    know the flow run) instead of raising it."""
    try:
        yield
    except Exception as problem:
        report_to(flow if flow is not None else here(), problem, what, config)


def hasher() -> FileHasher:
    """The file hasher of the current flow run, or a fresh one in other processes."""
    current = CURRENT.get()
    return current.recorder.hasher if current is not None else FileHasher()


def here() -> FlowRecording | None:
    """The recording of the flow run this process runs (None in a worker process, or with no
    recorded flow run): one context-variable read, done once per task attempt."""
    current = CURRENT.get()
    return current if current is not None and current.pid == process_id() else None
