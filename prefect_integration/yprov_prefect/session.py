"""Where a flow run's records go, found the same way from every process that runs its tasks.

The top-level flow run's folder is `<out>/<flow run id>/`. A subflow adds a link
`<out>/<subflow run id>` to that folder, so a task that knows only its own flow run id (in a
process pool or a Dask worker) appends to the right journal. Nothing here is process-global
except `ACTIVE`, which counts the measured task attempts running in this process (to say whether a
task had its process to itself).
"""

from __future__ import annotations

import logging
import os
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from yprov_workflows.errors import RecordingError
from yprov_workflows.hashing import FileHasher
from yprov_workflows.journal import JournalWriter
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import Record
from yprov_workflows.runs import journal_path
from yprov_workflows.settings import Settings

log = logging.getLogger("yprov_prefect")


@dataclass
class FlowRecording:
    """The recording of one top-level flow run, shared by its subflows in this process."""

    recorder: Recorder
    run_dir: Path
    pid: int
    flow_run_id: str  # the innermost flow run (a subflow while one runs)


CURRENT: ContextVar[FlowRecording | None] = ContextVar("yprov_flow_recording", default=None)


class ActiveTasks:
    """How many measured task attempts run in this process right now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def enter(self) -> int:
        with self._lock:
            self.count += 1
            return self.count

    def leave(self) -> int:
        with self._lock:
            self.count -= 1
            return self.count + 1


ACTIVE = ActiveTasks()


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
    """A recording problem: a warning, or an error in strict mode."""
    message = f"yprov-workflows: {what} failed: {type(problem).__name__}: {problem}"
    if config.strict:
        raise RecordingError(message) from problem
    log.warning(message + " (the flow goes on; provenance may be incomplete)")


def hasher() -> FileHasher:
    """The file hasher of the current flow run, or a fresh one in other processes."""
    current = CURRENT.get()
    return current.recorder.hasher if current is not None else FileHasher()


def in_flow_process() -> bool:
    current = CURRENT.get()
    return current is not None and current.pid == os.getpid()
