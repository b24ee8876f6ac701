"""The run journal: an append-only JSON-lines file, one per run folder.

Writing: every record is one line written with a single `write` on an `O_APPEND` descriptor, so a
record whose `write` returned survives the writer being killed a moment later. A single append to
a regular file is atomic on local filesystems, so concurrent writers never interleave lines;
writers that may share the file with other processes (`lock=True`, the default) also take an
exclusive `flock`, which shared filesystems need. A process that owns the journal (Snakemake's main
process, a Prefect flow's process) may skip it: each `flock` is two more system calls per record,
and every system call hands the GIL to busy engine threads.

Reading: a half-written last line (the writer died mid-write) is skipped with a warning; any other
unreadable line makes the journal corrupt. Records repeated under the same identity are kept once.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from yprov_workflows.errors import JournalError
from yprov_workflows.records import Record, RunStart, StepRecord, from_json, to_line

FORMAT = "yprov-workflows-journal"
VERSION = 1
FILENAME = "journal.jsonl"
HEADER = (json.dumps({"format": FORMAT, "version": VERSION}) + "\n").encode()


class JournalWriter:
    """Appends records to one journal file; safe to share between threads."""

    def __init__(self, path: Path, lock: bool = True) -> None:
        self.path = path
        self._flock = lock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()
        self._empty = True  # until a look at the file says otherwise

    def append(self, record: Record) -> None:
        line = to_line(record)
        with self._lock:
            if self._flock:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if self._empty:  # under the lock: one header, however many processes open it
                    self._empty = os.fstat(self._fd).st_size == 0
                    if self._empty:
                        _write_all(self._fd, HEADER)
                        self._empty = False
                _write_all(self._fd, line)
            finally:
                if self._flock:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@dataclass(frozen=True)
class JournalContents:
    """The distinct records of a journal, in the order they were written."""

    records: tuple[Record, ...]
    skipped_tail: bool


def read_journal(path: Path) -> JournalContents:
    """Read and de-duplicate a journal. Raises JournalError for anything but a torn last line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from exc
    lines = data.split(b"\n")
    torn = lines.pop() != b""  # text after the last newline is a half-written record
    if torn:
        warnings.warn(f"{path}: skipped a half-written last line", stacklevel=2)
    records = tuple(_dedupe(_parse_lines(path, lines)))
    return JournalContents(records=records, skipped_tail=torn)


def _parse_lines(path: Path, lines: list[bytes]) -> Iterator[Record]:
    if not lines:
        raise JournalError(f"{path} is empty: it is not a yprov-workflows journal")
    _check_header(path, lines[0])
    for number, line in enumerate(lines[1:], start=2):
        try:
            yield from_json(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"{path}:{number}: corrupt record ({exc})") from exc


def _check_header(path: Path, line: bytes) -> None:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise JournalError(f"{path} is not a yprov-workflows journal (bad first line)")
    if header.get("version") != VERSION:
        raise JournalError(
            f"{path} has journal version {header.get('version')}, this yprov-workflows reads "
            f"version {VERSION}: upgrade yprov-workflows"
        )


def _dedupe(records: Iterator[Record]) -> Iterator[Record]:
    seen: set[tuple[str, str]] = set()
    for record in records:
        identity = _identity(record)
        if identity not in seen:
            seen.add(identity)
            yield record


def _identity(record: Record) -> tuple[str, str]:
    if isinstance(record, StepRecord):
        return ("step", record.step_id)
    return (type(record).__name__, record.run_id)


def find_run_start(contents: JournalContents) -> RunStart | None:
    return next((r for r in contents.records if isinstance(r, RunStart)), None)
