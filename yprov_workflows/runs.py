"""Run folders: where a run's journal and document live, and the pointer to the latest run.

Layout under the output folder (default `.yprov/` in the workflow's working directory):

    .yprov/
      <run id>/journal.jsonl          the append-only journal, written while the run goes on
      <run id>/journals/*.jsonl       the journals of other processes (cluster jobs, workers)
      <run id>/owner.lock             held by the recording process while the run goes on
      <run id>/<run id>.prov.json     the assembled PROV-JSON document
      latest.prov.json -> <run id>/<run id>.prov.json
      .latest -> <run id>             a relative symlink to the run of the newest document
      .links/<id> -> ../<run id>      another name of a run, e.g. a Prefect subflow run's id

Only run folders have visible names that are folders: `<out>/*/` lists each run once.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yprov_workflows.fastjson import ascii_text, encoded
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
    behind (no temporary file). The text is compact JSON in UTF-8, encoded a slice of each bucket
    at a time (`_json_pieces`): a large document is never held in memory a second time as one
    text."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            for piece in _json_pieces(document):
                handle.write(piece)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


SLICE = 1000  # bucket members encoded at a time: about 100 kB of text


def _json_pieces(document: dict[str, Any]) -> Iterator[bytes]:
    """The text of the document in pieces (`fastjson.encoded`: what orjson refuses, a name with
    a lone surrogate, is written by `json` with non-ASCII characters escaped)."""
    yield b"{"
    for number, (kind, bucket) in enumerate(document.items()):
        yield (b"," if number else b"") + encoded(kind, ascii_text) + b":"
        if not isinstance(bucket, dict) or len(bucket) <= SLICE:
            yield encoded(bucket, ascii_text)
            continue
        yield from _bucket_pieces(bucket)
    yield b"}"


def _bucket_pieces(bucket: dict[Any, Any]) -> Iterator[bytes]:
    """The text of a large bucket, `SLICE` members at a time."""
    piece: dict[Any, Any] = {}
    separator = b"{"
    for name, value in bucket.items():
        piece[name] = value
        if len(piece) == SLICE:
            yield separator + encoded(piece, ascii_text)[1:-1]
            piece, separator = {}, b","
    if piece:
        yield separator + encoded(piece, ascii_text)[1:-1]
    yield b"}"


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


def newest_run(out_dir: Path) -> Path | None:
    """The newest run of an output folder: the run `.latest` points to (moved when a run's
    document is written), unless a run without a document (killed before its end, or still
    going) wrote to its journal after that document: that run is newer."""
    pointed = next(
        (link.resolve() for link in (out_dir / LATEST, out_dir / "latest") if _is_run_link(link)),
        None,
    )
    since = _mtime(document_path(pointed)) if pointed is not None else None
    written = (
        (_mtime(journal_path(r)), r) for r in run_dirs(out_dir) if not document_path(r).exists()
    )
    unfinished = [(mtime, r) for mtime, r in written if mtime is not None]  # a journal to read
    if not unfinished:
        return pointed
    mtime, newest = max(unfinished, key=lambda pair: pair[0])
    return newest if since is None or mtime > since else pointed


def _is_run_link(link: Path) -> bool:
    return link.is_symlink() and link.is_dir()


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def unassembled_runs(out_dir: Path) -> Iterator[Path]:
    """Run folders with a journal but no document whose recording process is gone: their run was
    killed before assembly. A run still being recorded (see `liveness`) is never one of them."""
    for run_dir in run_dirs(out_dir):
        if not document_path(run_dir).exists() and still_recording(run_dir) is None:
            yield run_dir
