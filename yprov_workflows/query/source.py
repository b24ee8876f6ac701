"""Where a run's document comes from: a document file, a run folder or an output folder.

A run folder gives its document, or, when it has none (a run still going, or killed before its
document was written), the document assembled now from its journal, marked `incomplete`. An
output folder (`.yprov`) gives its newest run (`runs.newest_run`: the folder `.latest` points to,
or a run killed or still going after it), else the document `latest.prov.json` points to.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yprov_workflows.assemble import assemble
from yprov_workflows.errors import DocumentError
from yprov_workflows.liveness import still_recording
from yprov_workflows.pending import settle
from yprov_workflows.runs import DOCUMENT_SUFFIX, document_path, journal_path, newest_run
from yprov_workflows.validation import load_prov_document


@dataclass(frozen=True)
class RunSource:
    """A run's document and where it was found. `run_dir` is the run folder (None for a document
    found elsewhere); paths the recording made (metric series, the package list) are relative
    to it."""

    document: dict[str, Any]
    given: Path
    run_dir: Path | None
    document_path: Path | None


def open_run(path: Path | str) -> RunSource:
    """The document of RUN: a document file, a run folder or an output folder (its newest run).

    Raises:
        DocumentError: RUN does not exist, holds no run, or its document is not PROV-JSON.
        JournalError: a run folder's journal cannot be read.
    """
    settle()  # documents this process still completes (a Prefect flow's end)
    given = Path(path)
    if given.is_dir():
        return _from_folder(given)
    document = load_prov_document(given)
    parent = given.resolve().parent
    run_dir = parent if journal_path(parent).is_file() else None
    return RunSource(document, given, run_dir, given)


def _from_folder(folder: Path) -> RunSource:
    run_dir = _run_folder(folder)
    if run_dir is None:
        latest = folder / f"latest{DOCUMENT_SUFFIX}"
        if latest.is_file():
            return open_run(latest)
        raise DocumentError(
            f"{folder} holds no run: give a run folder (.yprov/<run id>), its document "
            f"(*{DOCUMENT_SUFFIX}) or the output folder (.yprov)"
        )
    document = document_path(run_dir)
    if document.is_file():
        return RunSource(load_prov_document(document), folder, run_dir, document)
    if (alive := still_recording(run_dir)) is not None:
        warnings.warn(
            f"the run in {run_dir} is still going ({alive}): this is a snapshot of it so far, "
            "marked incomplete",
            stacklevel=2,
        )
    return RunSource(assemble(run_dir), folder, run_dir, None)


def _run_folder(folder: Path) -> Path | None:
    """The run folder itself, or the newest run of an output folder."""
    resolved = folder.resolve()
    if journal_path(resolved).is_file() or document_path(resolved).is_file():
        return resolved
    newest = newest_run(folder)
    if newest is not None and (journal_path(newest).is_file() or document_path(newest).is_file()):
        return newest
    return None
