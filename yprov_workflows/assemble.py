"""Fold a run's journal into its workflow-level PROV-JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from yprov_workflows.errors import JournalError
from yprov_workflows.gc_pause import paused_gc
from yprov_workflows.journal import Warn, read_run_journal
from yprov_workflows.provjson import build_document
from yprov_workflows.records import Record, RunEnd, RunStart, StepRecord
from yprov_workflows.runs import document_path, journal_path, write_document


def assemble(run_dir: Path, warn: Warn | None = None) -> dict[str, Any]:
    """The document of the run in `run_dir`; a run without an end record is marked incomplete,
    the last end record of one with several (corrections, see `RunEnd`) wins.
    Damaged journal lines are skipped, counted on the run and warned about once (see
    `read_journal`); the journals of other writers (`journals/`) are merged in."""
    with paused_gc():
        return _assemble(run_dir, warn)


def _assemble(
    run_dir: Path, warn: Warn | None, owner: Sequence[Record] | None = None
) -> dict[str, Any]:
    contents = read_run_journal(run_dir, warn, owner)
    start = next((r for r in contents.records if isinstance(r, RunStart)), None)
    if start is None:
        raise JournalError(f"{journal_path(run_dir)} has no run_start record")
    steps = [r for r in contents.records if isinstance(r, StepRecord)]
    end = next((r for r in reversed(contents.records) if isinstance(r, RunEnd)), None)
    return build_document(start, steps, end, contents.damaged_lines)


def assemble_to_file(
    run_dir: Path,
    target: Path | None = None,
    warn: Warn | None = None,
    owner: Sequence[Record] | None = None,
) -> Path:
    """Assemble and write the document (by default next to the journal); return its path. The
    records are freed before the document is written, and the document before the collector
    runs again. `owner`: see `read_run_journal`."""
    path = target or document_path(run_dir)
    with paused_gc():
        write_document(path, _assemble(run_dir, warn, owner))
    return path
