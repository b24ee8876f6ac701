"""Run folders: where a run's journal and document live, and the pointer to the latest run.

Layout under the output folder (default `.yprov/` in the workflow's working directory):

    .yprov/
      <run id>/journal.jsonl          the append-only journal, written while the run goes on
      <run id>/owner.lock             held by the recording process while the run goes on
      <run id>/<run id>.prov.json     the assembled PROV-JSON document
      latest.prov.json -> <run id>/<run id>.prov.json
      .latest -> <run id>             a relative symlink to the newest run folder
      .links/<id> -> ../<run id>      another name of a run, e.g. a Prefect subflow run's id

Only run folders have visible names that are folders: `<out>/*/` lists each run once.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yprov_workflows.journal import FILENAME as JOURNAL
from yprov_workflows.liveness import still_recording

DEFAULT_DIR = ".yprov"
DOCUMENT_SUFFIX = ".prov.json"
LINKS = ".links"  # other names of runs; never a run folder itself
LATEST = ".latest"  # the newest run folder


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the second plus 6 random hex digits."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def journal_path(run_dir: Path) -> Path:
    return run_dir / JOURNAL


def document_path(run_dir: Path) -> Path:
    return run_dir / f"{run_dir.name}{DOCUMENT_SUFFIX}"


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a document, and a failed write leaves nothing
    behind (no temporary file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # No indent: json's C encoder only runs without one (2x faster on large documents).
    text = json.dumps(document, ensure_ascii=False)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8 (a lone surrogate): escape it
        data = json.dumps(document).encode("ascii")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def point_latest(out_dir: Path, run_dir: Path) -> None:
    """Move the `latest` pointers to `run_dir`, atomically (the folder pointer is hidden, so
    that a glob of folders finds each run once; an older version's visible one is removed)."""
    _symlink(out_dir / LATEST, run_dir.name)
    if (out_dir / "latest").is_symlink():
        (out_dir / "latest").unlink(missing_ok=True)
    _symlink(out_dir / f"latest{DOCUMENT_SUFFIX}", f"{run_dir.name}/{document_path(run_dir).name}")


def _symlink(link: Path, target: str) -> None:
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def run_dirs(out_dir: Path) -> Iterator[Path]:
    """Every run folder below `out_dir`, oldest first."""
    if not out_dir.is_dir():
        return
    for child in sorted(out_dir.iterdir()):
        hidden = child.name.startswith(".")  # `.links` and temporary files
        if not hidden and not child.is_symlink() and journal_path(child).is_file():
            yield child


def unassembled_runs(out_dir: Path) -> Iterator[Path]:
    """Run folders with a journal but no document whose recording process is gone: their run was
    killed before assembly. A run still being recorded (see `liveness`) is never one of them."""
    for run_dir in run_dirs(out_dir):
        if not document_path(run_dir).exists() and still_recording(run_dir) is None:
            yield run_dir
