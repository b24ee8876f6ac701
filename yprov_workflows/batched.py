"""Step records built and journaled in batches by one background thread.

Why: a Prefect flow runs many short tasks in one process, and each task's record used to be
described, encoded and written in the task's own thread, between two stretches of Prefect's
engine code. Measured there, that work costs three to four times what it costs in a loop: each
task's engine code leaves the CPU caches cold for ours (`benchmarks/bench_prefect_overhead.py`,
issue 12). So the task's thread only reads what cannot wait (counters, clocks, the state of
mutable values, file hashes) and queues a function that builds the record from them; a writer
thread builds, encodes and appends the queued records together, every `INTERVAL_S`, with one
`write`.

What a kill can cost: the records of steps that ended in the last `INTERVAL_S` (the run's
`finish` writes the rest, also when the flow fails or is interrupted). A record whose build
fails is a recording problem of the run like any other; in strict mode the first one is raised
again by `close`, in the thread that finishes the run.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from yprov_workflows.errors import RecordingError
from yprov_workflows.journal import JournalWriter
from yprov_workflows.records import StepRecord
from yprov_workflows.redaction import Redactor

INTERVAL_S = 0.2  # the writer's pace while steps end; a kill loses at most this much

Build = Callable[[], StepRecord | None]  # None: it failed and said so itself
Report = Callable[[Exception, str], None]


class BatchedSteps:
    """Queued step records of one journal and the thread that writes them."""

    def __init__(self, journal: JournalWriter, redactor: Redactor, report: Report) -> None:
        self._journal = journal
        self._redactor = redactor
        self._report = report
        self._queue: deque[Build] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._waiting = False  # the writer sleeps until a record comes: `add` must wake it
        self._closed = threading.Event()
        self._writing = threading.Lock()  # one batch at a time, in queue order
        self._raised: BaseException | None = None  # strict mode: raised again by `close`
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="yprov-journal", daemon=True)
        self._thread.start()

    def add(self, build: Build) -> None:
        """Queue a record (its builder); the writer wakes only after it slept idle. No lock
        while the writer is busy (`deque.append` is atomic): a task thread that waited for one
        the writer held when Python switched threads stalled a thread pool (issue 12)."""
        self._queue.append(build)
        if self._waiting:
            with self._lock:
                if self._waiting:
                    self._waiting = False
                    self._wake.notify()

    def close(self) -> None:
        """Write what is queued, stop the writer; raise a strict-mode error it met."""
        self._closed.set()
        with self._lock:
            self._wake.notify()
        self._thread.join()
        self._flush()
        raised, self._raised = self._raised, None
        if raised is not None:
            raise raised

    def _flush(self) -> None:
        """Build and append every queued record now (in the calling thread)."""
        with self._writing:
            builds = []
            while self._queue:  # `popleft` is atomic: records queued meanwhile stay in order
                builds.append(self._queue.popleft())
            if builds:
                self._write(builds)

    def _run(self) -> None:
        while True:
            with self._lock:
                while True:
                    self._waiting = True  # before looking: a record added now wakes the writer
                    if self._queue or self._closed.is_set():
                        self._waiting = False
                        break
                    self._wake.wait()
                if self._closed.is_set():
                    return  # `close` writes the rest
            self._closed.wait(INTERVAL_S)  # steps that end meanwhile join this batch
            self._flush()

    def _write(self, builds: list[Build]) -> None:
        steps: list[StepRecord] = []
        for build in builds:
            step = self._guarded(build)
            if step is not None:
                steps.append(step)
        try:
            self._journal.append_all(steps, self._redactor)
            self.written += len(steps)
        except BaseException as problem:
            self._keep(problem, "recording a batch of steps")  # one kind, whatever its size

    def _guarded(self, build: Build) -> StepRecord | None:
        try:
            return build()
        except BaseException as problem:
            self._keep(problem, "building a step's record")
            return None

    def _keep(self, problem: BaseException, what: str) -> None:
        """Report a problem; keep a strict-mode error (or anything not an Exception) for `close`.
        A `RecordingError` was reported already (by a build, in strict mode)."""
        try:
            if not isinstance(problem, Exception) or isinstance(problem, RecordingError):
                raise problem
            self._report(problem, what)
        except BaseException as raised:
            if self._raised is None:
                self._raised = raised
