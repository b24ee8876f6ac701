"""A step channel: the folder a step attempt's tracked values go to, and how code finds it.

An engine adapter makes one per step attempt, at its start (`StepChannel.open`); gives the step's
child processes `channel.env()`; runs in-process code (a Prefect task body, a Snakemake `run:`
block) inside `with channel.active():`; and at the step's end, once its processes ended, calls
`channel.collect(hasher, redactor)` and adds the result to the step's record (`Tracked.apply`).
`StepChannel.lazy` is the same channel whose folder is made only when first needed (a logging
call, `env()`): a step that logs nothing costs no file.

The logging calls find the step from the context variable that `active()` sets (it follows each
thread and each asyncio task: steps running at once in one process never mix), and otherwise from
`YPROV_STEP_DIR` in the environment (a child process of the step). There is no process-wide
"current step".
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from pathlib import Path

from yprov_workflows.environment import HOST
from yprov_workflows.hashing import FileHasher
from yprov_workflows.redaction import Redactor
from yprov_workflows.tracking.collect import Report, Tracked, collect_folder
from yprov_workflows.tracking.layout import (
    EVENTS,
    FORMAT_VARIABLE,
    METRICS,
    STEP_DIR_VARIABLE,
    STEP_INFO_VARIABLE,
    ensure_step_folder,
    planned_step_folder,
)
from yprov_workflows.tracking.process import PROCESS
from yprov_workflows.tracking.sink import Sink
from yprov_workflows.tracking.system import process_cpu_s, rapl_mark

FORMATS = ("csv", "parquet")
CURRENT: ContextVar[StepChannel | None] = ContextVar("yprov_workflows_step", default=None)


class StepChannel:
    """The tracking folder of one step attempt (see the module's docstring and `layout`)."""

    def __init__(self, folder: Path, step_key: str | None = None) -> None:
        self._folder: Path | None = Path(folder).absolute()  # the same whatever the cwd later
        self.step_key = step_key
        self._sink: Sink | None = None
        self.entered: tuple[int, float] | None = None  # (pid, CPU s) when made active there
        self._pending: _Pending | None = None  # a lazy channel's folder, not made yet

    @classmethod
    def open(
        cls, run_dir: Path, step_key: str, started_monotonic: float | None = None
    ) -> StepChannel:
        """Make the folder of a new attempt of `step_key` below `run_dir` and write its
        `channel.json` (the start, the metrics format, the RAPL counters when readable).
        Raises OSError when the folder cannot be made: guard it as any recording step."""
        return cls.lazy(run_dir, step_key, started_monotonic).made()

    @classmethod
    def lazy(
        cls, run_dir: Path, step_key: str, started_monotonic: float | None = None
    ) -> StepChannel:
        """The channel `open` makes, but no file yet: its folder is made when first needed, by
        the first logging call in this process, `folder` or pickling (to hand it to another
        process); `env()` hands the planned folder to the step's processes, the first of which
        that logs makes it. `collect` of a channel whose folder was never made reads nothing and
        returns an empty `Tracked`, so a step that logs nothing costs no file. The start is the
        call's (or `started_monotonic`); the RAPL counters are read when the folder is made, so a
        step's first `log_system_metrics` counts CPU energy from there. Where the folder cannot be
        made, a logging call reports it as a tracking problem (a warning, or `RecordingError` in
        strict mode); `folder` raises OSError: guard it."""
        started = time.monotonic() if started_monotonic is None else started_monotonic
        run_dir = run_dir if isinstance(run_dir, Path) else Path(run_dir)  # cheap when a Path
        channel = cls.__new__(cls)
        channel._folder = channel._sink = channel.entered = None
        channel.step_key = step_key
        channel._pending = _Pending(run_dir.absolute(), step_key, started, time.time())
        return channel

    def made(self) -> StepChannel:
        """This channel, its folder made (see `lazy`). Raises OSError."""
        self.folder  # noqa: B018 (the property makes it)
        return self

    @property
    def folder(self) -> Path:
        """The attempt's folder; a lazy channel makes it now if it has none yet."""
        folder = self._folder
        if folder is None:
            assert self._pending is not None
            folder = self._folder = self._pending.make()
        return folder

    @property
    def opened(self) -> bool:
        """Whether the folder was made (always, for a channel from `open` or `at`)."""
        return self._folder is not None

    def __getstate__(self) -> dict[str, object]:
        """Pickled as its folder and key (to a process-pool or Dask worker): no open files."""
        return {"folder": self.folder, "step_key": self.step_key}

    def __setstate__(self, state: dict[str, object]) -> None:
        folder, key = state["folder"], state["step_key"]
        assert isinstance(folder, Path) and (key is None or isinstance(key, str))
        self.__init__(folder, key)  # type: ignore[misc]

    @classmethod
    def at(cls, folder: Path) -> StepChannel:
        """The channel of an existing step folder (as a child process finds it)."""
        return cls(Path(folder))

    @property
    def run_dir(self) -> Path:
        if self._folder is None and self._pending is not None:
            return self._pending.run_dir
        return self.folder.parent.parent

    def env(self) -> dict[str, str]:
        """What the engine adds to the environment of the step's processes. A lazy channel whose
        folder is not made yet touches no file: it hands over the folder it will have and its
        `channel.json`, and the first process that logs makes them (a job that starts processes
        but logs nothing costs no folder)."""
        pending = self._pending
        if self._folder is None and pending is not None:
            return {STEP_DIR_VARIABLE: str(pending.planned), STEP_INFO_VARIABLE: pending.info()}
        return {STEP_DIR_VARIABLE: str(self.folder)}

    @contextmanager
    def active(self) -> Iterator[StepChannel]:
        """Make in-process logging calls in this context (this thread, this asyncio task and the
        tasks it creates) go to this channel; flush them when the block ends."""
        token = self.enter()
        try:
            yield self
        finally:
            self.leave(token)

    def enter(self, cpu_s: float | None = None) -> Token[StepChannel | None]:
        """`active()` without a block, for a caller that is itself a context manager: the
        token goes back to `leave`. `cpu_s`: the process's CPU seconds now (`process_cpu_s`),
        when the caller has just read them."""
        token = CURRENT.set(self)
        self.entered = (os.getpid(), process_cpu_s() if cpu_s is None else cpu_s)
        return token

    def leave(self, token: Token[StepChannel | None]) -> None:
        _reset(token)
        if self._folder is not None:
            PROCESS.flush(self._folder)

    def sink(self) -> Sink:
        """This process's sink of the channel (the hot path of every logging call)."""
        sink = self._sink
        if sink is not None and sink.generation is PROCESS.generation and not sink.closed:
            return sink
        sink = self._sink = PROCESS.sink(self.folder)
        return sink

    def entered_cpu(self) -> float | None:
        """The process's CPU seconds when this channel was made active in this process."""
        entered = self.entered
        return entered[1] if entered is not None and entered[0] == os.getpid() else None

    def collect(
        self, hasher: FileHasher, redactor: Redactor, *, report: Report | None = None
    ) -> Tracked:
        """What the step logged, for its record: flushes and closes this process's writers of
        the folder, reads the summaries and events, hashes the files. Call it in the engine's
        process once the step's processes ended. Problems go to `report(exception, what)` (a
        `Recorder.report`) when given, and are listed in `Tracked.problems` in any case. A lazy
        channel whose folder was never made logged nothing: an empty `Tracked`, no file read."""
        folder = self._folder
        if folder is None and self._pending is not None and self._pending.planned.exists():
            folder = self._pending.planned  # made by a process of the step (see `env`)
        if folder is None:
            return Tracked()
        PROCESS.close(folder)
        if not (folder / METRICS).exists() and not (folder / EVENTS).exists():
            return Tracked()  # its processes logged nothing: no file to read
        return collect_folder(folder, hasher, redactor, report)


class _Pending:
    """What a lazy channel needs to make its folder, once, whichever thread needs it first."""

    def __init__(
        self, run_dir: Path, step_key: str, started_monotonic: float, started_unix: float
    ) -> None:
        self.run_dir = run_dir
        self.step_key = step_key
        self.started = started_monotonic
        self.started_unix = started_unix
        self._lock = threading.Lock()
        self._planned: Path | None = None  # named when first needed: most steps never are
        self._info: str | None = None
        self._folder: Path | None = None

    @property
    def planned(self) -> Path:
        """The folder it will have (see `planned_step_folder`): one name, whoever asks first."""
        with self._lock:
            if self._planned is None:
                self._planned = planned_step_folder(self.run_dir, self.step_key)
            return self._planned

    def info(self) -> str:
        """The folder's `channel.json` text: the start, the metrics format, the RAPL counters
        now (read once)."""
        with self._lock:
            if self._info is None:
                self._info = _info(self)
            return self._info

    def make(self) -> Path:
        """The planned folder, made with its `channel.json`. Raises OSError."""
        info, planned = self.info(), self.planned
        with self._lock:
            if self._folder is None:
                ensure_step_folder(planned, info)
                self._folder = planned
            return self._folder


def _info(pending: _Pending) -> str:
    rapl_uj, busy = rapl_mark(PROCESS)
    info = {
        "format": "yprov-workflows-step-channel",
        "version": 1,
        "step_key": pending.step_key,
        "host": HOST,
        "pid": os.getpid(),
        "started_unix": pending.started_unix,
        "started_monotonic": pending.started,
        "metrics_format": _metrics_format(),
        "rapl_uj": rapl_uj,
        "host_busy_s": busy,
    }
    return json.dumps(info)


def _reset(token: Token[StepChannel | None]) -> None:
    """Leave the channel a block made active; where the block ended in another context than it
    began (a generator resumed elsewhere), leave none there rather than fail the step's code."""
    try:
        CURRENT.reset(token)
    except ValueError:
        CURRENT.set(None)


def current() -> tuple[Sink | None, StepChannel | None]:
    """The sink logging calls in this context go to, and the channel when one is active here."""
    channel = CURRENT.get()
    if channel is not None:
        return channel.sink(), channel
    return PROCESS.env_sink(), None


def step_env() -> dict[str, str]:
    """The environment variables that make a child process log into the current step: add them
    to the `env` of a process you start (`{**os.environ, **yp.step_env()}`); empty outside a
    step."""
    channel = CURRENT.get()
    if channel is not None:
        return channel.env()
    folder = os.environ.get(STEP_DIR_VARIABLE)
    return {STEP_DIR_VARIABLE: folder} if folder else {}


def _metrics_format() -> str:
    wanted = os.environ.get(FORMAT_VARIABLE, "csv").strip().lower() or "csv"
    if wanted in FORMATS:
        return wanted
    PROCESS.say(f"{FORMAT_VARIABLE}={wanted!r} is not one of {', '.join(FORMATS)}: using csv")
    return "csv"
