"""The Recorder: one object per run that adapters hand their records to.

It owns the run folder, its owner lock, the journal and the file hasher. It never lets a recording
problem break the workflow: errors become a warning and a count in the document, unless `strict`
is set, in which case they raise `RecordingError`. Each kind of problem is said once per run (a
full disk fails every step's record: one warning, not one per step), the rest are counted and
summed up in one line at the end.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from yprov_workflows.assemble import assemble_to_file
from yprov_workflows.batched import BatchedSteps
from yprov_workflows.errors import RecordingError
from yprov_workflows.hashing import FileHasher
from yprov_workflows.journal import JournalWriter
from yprov_workflows.liveness import OwnerLock
from yprov_workflows.records import Record, RunEnd, RunStart, Status, StepRecord
from yprov_workflows.runs import journal_path, point_latest, unassembled_runs
from yprov_workflows.settings import Settings
from yprov_workflows.software import capture
from yprov_workflows.values import Value

Warn = Callable[[str], None]
KEEP_AT_MOST = 5_000  # records kept in memory for the end's assembly (`JournalWriter.kept`)
_log = logging.getLogger("yprov_workflows")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _same(step: StepRecord) -> StepRecord:
    return step


class Problems:
    """Recording problems: the first of each kind is a warning, every one is counted.

    A kind is what failed without its subject (callers name it last: `recording step <name>`),
    the exception's type and its errno, plus an optional `scope` (e.g. a run). Safe to share
    between threads.
    """

    def __init__(self, warn: Warn, goes_on: str = "the workflow goes on") -> None:
        self._warn = warn
        self._goes_on = goes_on
        self._lock = threading.Lock()
        self._seen: set[Hashable] = set()
        self.count = 0
        self.unsaid = 0

    def report(
        self, problem: Exception, what: str, strict: bool = False, scope: Hashable = None
    ) -> None:
        """Count `problem`; warn if it is the first of its kind; raise it in strict mode."""
        message = f"yprov-workflows: {what} failed: {type(problem).__name__}: {problem}"
        with self._lock:
            self.count += 1
            key = (scope, what.rsplit(" ", 1)[0], type(problem), getattr(problem, "errno", None))
            first = key not in self._seen
            self._seen.add(key)
            if not first:
                self.unsaid += 1
        if strict:
            raise RecordingError(message) from problem
        if first:
            self._warn(
                f"{message} ({self._goes_on}; provenance may be incomplete; more problems "
                "like this one are counted, not shown)"
            )

    def summary(self, where: str) -> str | None:
        """One line on the problems not shown, if any."""
        if not self.unsaid:
            return None
        return f"yprov-workflows: {self.unsaid} more recording errors like the above {where}"


class Recorder:
    """Records one run into `<out_dir>/<run id>/`."""

    def __init__(self, settings: Settings, out_dir: Path, warn: Warn | None = None) -> None:
        self.settings = settings
        self.out_dir = out_dir
        self.hasher = FileHasher()
        self.redactor = settings.redactor()  # hides secrets; scrubs them from every record
        self.steps = 0
        self.run_dir: Path | None = None
        self.document: Path | None = None
        # the owner journal's records as `finish` wrote them (`JournalWriter.kept`), for a caller
        # that reads the run again in this process; None when not kept
        self.kept: list[Record] | None = None
        plain = warn or _log.warning
        self._warn: Warn = lambda message: plain(self.redactor.scrub(message))  # no secret shown
        self.problems = Problems(self._warn)
        self._journal: JournalWriter | None = None
        self._owner: OwnerLock | None = None
        self._journal_of: Callable[[StepRecord], Path] | None = None  # see `join`
        self._batched: BatchedSteps | None = None  # see `batch_steps`

    def warn(self, message: str) -> None:
        """Say something to the user (secrets scrubbed)."""
        self._warn(message)

    @property
    def errors(self) -> int:
        """Recording errors so far, shown or not (the document's `ywf:recording_errors`)."""
        return self.problems.count

    @property
    def active(self) -> bool:
        return self._journal is not None or self._journal_of is not None

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Turn any exception into a warning and a count (or RecordingError in strict mode)."""
        try:
            yield
        except Exception as exc:
            self.report(exc, what)

    def report(self, problem: Exception, what: str) -> None:
        """A recording problem of this run (see `Problems`)."""
        self.problems.report(problem, what, self.settings.strict)

    def start(self, start: RunStart) -> None:
        """Open the run folder and journal; on failure recording is off for this run. A start
        without its software environment gets it captured here (`software.capture`)."""
        self._recover_killed_runs()
        run_dir = self.out_dir / start.run_id
        with self.guard(f"opening the run folder in {self.out_dir}"):
            self._owner = OwnerLock.acquire(run_dir)  # before the journal exists: see liveness
            start = self._with_software(start, run_dir)
            # The recording process owns the journal: no flock (see journal.py).
            journal = JournalWriter(journal_path(run_dir), lock=False)
            journal.keep_written(KEEP_AT_MOST)  # assembled at the end without reading it back
            try:
                journal.append(start, self.redactor)
            except BaseException:
                journal.close()
                raise
            self._journal, self.run_dir = journal, run_dir
        if self._journal is None:
            self._release_owner()

    def join(self, run_dir: Path, journal_of: Callable[[StepRecord], Path]) -> None:
        """Record steps of a run that another process owns (a cluster job's process on its
        node): each step goes to `journal_of(step)`, a writer journal of that run (see
        journal.py), opened for that record. No start record, no owner lock, no document: the
        owner assembles."""
        self.run_dir, self._journal_of = run_dir, journal_of

    def _with_software(self, start: RunStart, run_dir: Path) -> RunStart:
        if start.software is not None:
            return start
        with self.guard("capturing the software environment"):
            software = capture(start.workdir, run_dir, start.agents.engine, start.workflow_path)
            return dataclasses.replace(start, software=software)
        return start

    def batch_steps(self) -> None:
        """From now on, steps are built and journaled by a background thread, in batches (see
        `yprov_workflows.batched`: for engines that run many short steps in one process)."""
        if self._journal is not None and self._batched is None:
            self._batched = BatchedSteps(self._journal, self.redactor, self.report)

    def record_later(self, build: Callable[[], StepRecord | None]) -> None:
        """Record the step `build()` returns: later, by the batch writer (see `batch_steps`),
        else now. `build` reports its own problems (see `report`) and then returns None."""
        if self._batched is not None:
            self._batched.add(build)
            return
        step = build()
        if step is not None:
            self.record_step(step)

    def record_step(self, step: StepRecord) -> None:
        if self._journal_of is not None:
            return self._record_joined(self._journal_of, step)
        if self._batched is not None:  # after the steps queued before it
            self._batched.add(functools.partial(_same, step))
            return
        if self._journal is None:
            return
        try:  # not `with self.guard(...)`: a guard and its text for every step cost microseconds
            self._journal.append(step, self.redactor)
        except Exception as problem:
            self.report(problem, f"recording step {step.name}")
            return
        self.steps += 1

    def _record_joined(self, journal_of: Callable[[StepRecord], Path], step: StepRecord) -> None:
        with self.guard(f"recording step {step.name}"):
            with JournalWriter(journal_of(step), lock=False) as journal:
                journal.append(step, self.redactor)
            self.steps += 1

    def finish(self, status: Status, attributes: dict[str, Value] | None = None) -> Path | None:
        """Close the journal and assemble the document; return its path (None if none).
        `attributes`: more about the end (see `RunEnd`)."""
        if self._journal_of is not None:
            self._journal_of = None
            self._say_unsaid()
            return None
        journal, self._journal = self._journal, None
        if journal is None or self.run_dir is None:
            return None
        try:
            with self.guard("closing the run"):
                self._close_batch()
                end = RunEnd(self.run_dir.name, utcnow(), status, self.errors, attributes or {})
                try:
                    journal.append(end)
                finally:
                    journal.close()
                owner = self.kept = journal.kept
                self.document = assemble_to_file(self.run_dir, warn=self._warn, owner=owner)
                point_latest(self.out_dir, self.run_dir)
        finally:
            self._release_owner()
            self._say_unsaid()
        return self.document

    def _close_batch(self) -> None:
        """Journal the steps still queued (see `batch_steps`); raises in strict mode."""
        batched, self._batched = self._batched, None
        if batched is not None:
            try:
                batched.close()
            finally:
                self.steps += batched.written

    def _release_owner(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            with self.guard("unlocking the run folder"):
                owner.release()

    def _say_unsaid(self) -> None:
        summary = self.problems.summary("in this run")
        if summary is not None:
            self._warn(summary)

    def _recover_killed_runs(self) -> None:
        """Assemble documents of earlier runs that were killed before they could; runs still being
        recorded by a live process are left alone."""
        with self.guard("assembling earlier unfinished runs"):
            for run_dir in unassembled_runs(self.out_dir):
                with self.guard(f"assembling the unfinished run {run_dir.name}"):
                    path = assemble_to_file(run_dir, warn=self._warn)
                    self._warn(
                        f"yprov-workflows: the run {run_dir.name} did not finish (killed?): "
                        f"assembled its document, marked incomplete: {path}"
                    )
