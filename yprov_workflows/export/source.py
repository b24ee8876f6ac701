"""What every export reads: the document of RUN, which is a run folder, an output folder or a
PROV-JSON document file.

- a run folder (`.yprov/<run id>`, with a journal): its journal assembled now, so a run that was
  killed or is still going is exported too (marked `incomplete`);
- an output folder (`.yprov`): its newest run folder (`runs.newest_run`), as above;
- a folder holding only a document (`<name>/<name>.prov.json`), or a document file: that document.

`locate` only looks at the file system (cheap: a command checks its output path before the work);
`load` then reads or assembles the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from yprov_workflows.assemble import assemble
from yprov_workflows.errors import DocumentError, JournalError
from yprov_workflows.runs import document_path, journal_path, newest_run
from yprov_workflows.shape import records
from yprov_workflows.validation import load_prov_document

Kind = Literal["journal", "document"]
GIVE = "give a run folder (.yprov/<run id>), the output folder (.yprov) or a PROV-JSON document"


@dataclass(frozen=True)
class Located:
    """Where a run's document comes from: a journal to assemble, or a document file."""

    kind: Kind
    path: Path
    """The run folder (journal) or the document file."""
    given: Path
    """The path as the user gave it."""

    @property
    def run_dir(self) -> Path:
        """The folder the document's relative paths (metric series) start from, and where
        exports are written by default."""
        return self.path if self.kind == "journal" else self.path.resolve().parent


@dataclass(frozen=True)
class Loaded:
    """A run's document and where it came from."""

    document: dict[str, Any]
    located: Located

    @property
    def run_id(self) -> str:
        """The run's id as the document names it (else the run folder's or the file's name)."""
        return run_id_of(self.document) or _name_of(self.located)


def locate(source: Path) -> Located:
    """Where the document of `source` comes from; JournalError/DocumentError (one line, naming
    what to give instead) when it is neither a run, an output folder nor a document."""
    if not source.exists():
        raise JournalError(f"{source} does not exist; {GIVE}")
    if source.is_file():
        return Located("document", source, source)
    if not source.is_dir():
        raise DocumentError(f"{source} is not a file or a folder; {GIVE}")
    return _in_folder(source, source)


def _in_folder(folder: Path, given: Path) -> Located:
    journal = journal_path(folder)
    if journal.exists() or journal.is_symlink():
        if not journal.is_file():
            raise JournalError(f"{journal} is not a file: not a run folder; {GIVE}")
        return Located("journal", folder, given)
    latest = newest_run(folder)
    if latest is not None:
        return _in_folder(latest, given)
    document = document_path(folder.resolve())  # `.` has no name
    if document.is_file():
        return Located("document", document, given)
    raise JournalError(f"{folder} has no {journal.name}: not a run folder; {GIVE}")


def load(located: Located) -> Loaded:
    """The document: assembled from the journal, or read from the file (shaped as PROV-JSON)."""
    if located.kind == "journal":
        return Loaded(assemble(located.path), located)
    try:
        return Loaded(load_prov_document(located.path), located)
    except DocumentError as exc:
        if located.given.is_file():
            raise DocumentError(
                f"{located.given} is a file, not a run folder, and not a PROV-JSON document: {exc}"
            ) from exc
        raise


def load_run(source: Path) -> Loaded:
    """`load(locate(source))`: the document of a run folder, an output folder or a file."""
    return load(locate(source))


def run_id_of(document: dict[str, Any]) -> str | None:
    """The `ywf:run_id` of the document's run activity, if it has one."""
    for attrs in records(document, "activity"):
        if attrs.get("prov:type") == "wfprov:WorkflowRun":
            value = attrs.get("ywf:run_id")
            return value if isinstance(value, str) and value else None
    return None


def _name_of(located: Located) -> str:
    if located.kind == "journal":
        return located.path.resolve().name
    name = located.path.name
    return name.removesuffix(".prov.json").removesuffix(".json") or "run"
