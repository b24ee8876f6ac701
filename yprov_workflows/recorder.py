"""The Recorder: one object per run that adapters hand their records to.

It owns the run folder, the journal and the file hasher. It never lets a recording problem break
the workflow: errors become one warning each and a count in the document, unless `strict` is set,
in which case they raise `RecordingError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from yprov_workflows.assemble import assemble_to_file
from yprov_workflows.errors import RecordingError
from yprov_workflows.hashing import FileHasher
from yprov_workflows.journal import JournalWriter
from yprov_workflows.records import RunEnd, RunStart, Status, StepRecord
from yprov_workflows.runs import journal_path, point_latest, unassembled_runs
from yprov_workflows.settings import Settings

Warn = Callable[[str], None]
_log = logging.getLogger("yprov_workflows")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Recorder:
    """Records one run into `<out_dir>/<run id>/`."""

    def __init__(self, settings: Settings, out_dir: Path, warn: Warn | None = None) -> None:
        self.settings = settings
        self.out_dir = out_dir
        self.hasher = FileHasher()
        self.errors = 0
        self.steps = 0
        self.run_dir: Path | None = None
        self.document: Path | None = None
        self._warn = warn or _log.warning
        self._journal: JournalWriter | None = None

    @property
    def active(self) -> bool:
        return self._journal is not None

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Turn any exception into a warning and a count (or RecordingError in strict mode)."""
        try:
            yield
        except Exception as exc:
            self.errors += 1
            message = f"yprov-workflows: {what} failed: {type(exc).__name__}: {exc}"
            if self.settings.strict:
                raise RecordingError(message) from exc
            self._warn(message + " (the workflow goes on; provenance may be incomplete)")

    def start(self, start: RunStart) -> None:
        """Open the run folder and journal; on failure recording is off for this run."""
        self._recover_killed_runs()
        with self.guard(f"opening the run folder in {self.out_dir}"):
            run_dir = self.out_dir / start.run_id
            # The recording process owns the journal: no flock (see journal.py).
            self._journal = JournalWriter(journal_path(run_dir), lock=False)
            self.run_dir = run_dir
            self._journal.append(start)

    def record_step(self, step: StepRecord) -> None:
        if self._journal is None:
            return
        with self.guard(f"recording step {step.name}"):
            self._journal.append(step)
            self.steps += 1

    def finish(self, status: Status) -> Path | None:
        """Close the journal and assemble the document; return its path (None if none)."""
        journal, self._journal = self._journal, None
        if journal is None or self.run_dir is None:
            return None
        with self.guard("closing the run"):
            end = RunEnd(self.run_dir.name, utcnow(), status, self.errors)
            journal.append(end)
            journal.close()
            self.document = assemble_to_file(self.run_dir)
            point_latest(self.out_dir, self.run_dir)
        return self.document

    def _recover_killed_runs(self) -> None:
        """Assemble documents of earlier runs that were killed before they could."""
        with self.guard("assembling earlier unfinished runs"):
            for run_dir in unassembled_runs(self.out_dir):
                with self.guard(f"assembling the unfinished run {run_dir.name}"):
                    assemble_to_file(run_dir)
