"""Run folders: where a run's journal and document live, and the pointer to the latest run.

Layout under the output folder (default `.yprov/` in the workflow's working directory):

    .yprov/
      <run id>/journal.jsonl          the append-only journal, written while the run goes on
      <run id>/<run id>.prov.json     the assembled PROV-JSON document
      latest -> <run id>              a relative symlink to the newest run folder
      latest.prov.json -> <run id>/<run id>.prov.json
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

DEFAULT_DIR = ".yprov"
DOCUMENT_SUFFIX = ".prov.json"


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the second plus 6 random hex digits."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def journal_path(run_dir: Path) -> Path:
    return run_dir / JOURNAL


def document_path(run_dir: Path) -> Path:
    return run_dir / f"{run_dir.name}{DOCUMENT_SUFFIX}"


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a document."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # No indent: json's C encoder only runs without one (2x faster on large documents).
    tmp.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def point_latest(out_dir: Path, run_dir: Path) -> None:
    """Move the `latest` pointers to `run_dir`, atomically."""
    _symlink(out_dir / "latest", run_dir.name)
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
        if not child.is_symlink() and journal_path(child).is_file():
            yield child


def unassembled_runs(out_dir: Path) -> Iterator[Path]:
    """Run folders with a journal but no document: their run was killed before assembly."""
    for run_dir in run_dirs(out_dir):
        if not document_path(run_dir).exists():
            yield run_dir
