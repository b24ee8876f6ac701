"""The run journal: an append-only JSON-lines file, one per run folder.

Writing: every record is one line written with a single `write` on an `O_APPEND` descriptor, so a
record whose `write` returned survives the writer being killed a moment later. A single append to
a regular file is atomic on local filesystems, so concurrent writers never interleave lines;
writers that may share the file with other processes (`lock=True`, the default) also take an
exclusive `flock`, which shared filesystems need. A process that owns the journal (Snakemake's main
process, a Prefect flow's process) may skip it: each `flock` is two more system calls per record,
and every system call hands the GIL to busy engine threads. A write that fails part-way (a full
disk) leaves half a line; the writer's next record then starts on a fresh line, so only the torn
record is lost. (Truncating the torn bytes away instead is not safe: the owner does not lock, so
another process may have appended after them.)

Many writers: the process that owns a run (Snakemake's main process, a Prefect flow's process)
writes `journal.jsonl`; every other process that records steps of the run (a Snakemake job on a
cluster node, a Prefect task on a Dask or Ray worker) writes a journal of its own under
`journals/`, named by host, process, thread and a random token, so no file ever has two writers.
That is what keeps a journal on a shared filesystem correct: `O_APPEND` and `flock` are not atomic
across NFS clients, a file written by one thread of one process is. Reading a run merges the files
(`read_run_journal`); a record written to several of them is kept once, the owner's first.

Framing: each record line is its JSON text, a tab and the CRC-32 of that text in 8 hex digits
(`zlib.crc32`: about a microsecond per record), so a line changed on disk (a bit flip, bytes of two
writers mixed) is known as damaged instead of being read as a wrong record. JSON text never holds a
raw tab. Version 1 journals (no checksums) are still read.

Reading salvages: a line that does not parse or whose checksum does not match (torn by a full
disk or a killed writer, changed on disk) is skipped and counted, and one warning says how many; a
complete record that follows torn bytes on the same line (another process appended after them) is
kept. A line whose fields have the wrong types is damaged too. Only a file that is unreadable,
empty, not text, or without the journal header is an error. Records repeated under the same
identity are kept once (an end record's identity is all of it: a different later one corrects it).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import secrets
import socket
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from yprov_workflows.errors import JournalError
from yprov_workflows.records import Record, RunEnd, RunStart, StepRecord, from_json, to_line
from yprov_workflows.redaction import Redactor

FORMAT = "yprov-workflows-journal"
VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: no checksums
FILENAME = "journal.jsonl"
WRITERS = "journals"  # the journals of processes other than the run's owner
HEADER = (json.dumps({"format": FORMAT, "version": VERSION}) + "\n").encode()
RECORD_START = b'{"kind":'  # every record line begins so (`to_line`)

Warn = Callable[[str], None]


class JournalWriter:
    """Appends records to one journal file; safe to share between threads."""

    def __init__(self, path: Path, lock: bool = True) -> None:
        self.path = path
        self._flock = lock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()
        self._empty = True  # until a look at the file says otherwise
        self._torn = False  # a write failed part-way: the file ends inside a line
        self._kept: list[Record] | None = None  # see `keep_written`
        self._keep_max = 0

    def append(self, record: Record, redactor: Redactor | None = None) -> None:
        """Append one record; with a `redactor`, its remembered secrets are scrubbed first (one
        search of the line; only a record that holds one is rebuilt)."""
        self.append_all((record,), redactor)

    def append_all(self, records: Sequence[Record], redactor: Redactor | None = None) -> None:
        """Append several records with one `write` (see `append`)."""
        written = list(records)
        lines = [framed_line(record) for record in written]
        if redactor is not None:
            for i, line in enumerate(lines):
                if redactor.found_in(line):
                    written[i] = redactor.scrub_record(written[i])
                    lines[i] = framed_line(written[i])
        if not lines:
            return
        with self._lock:
            if self._flock:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                self._write(self._framed(b"".join(lines)))
            except BaseException:
                self._kept = None  # the file holds what the records do not: it must be read
                raise
            finally:
                if self._flock:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._keep(written)

    def keep_written(self, at_most: int) -> None:
        """Keep the records written from now on, up to `at_most` of them, so that the process
        that owns the run can assemble it without reading its journal back (`kept`). A journal
        that held records before this writer's first write (a retried flow run reopens its own)
        keeps none: it must be read."""
        with self._lock:
            self._kept, self._keep_max = [], at_most

    @property
    def kept(self) -> list[Record] | None:
        """Every record written since `keep_written`, as written; None when not kept (not asked,
        more than `at_most`, or a write failed)."""
        return self._kept

    def _keep(self, written: list[Record]) -> None:
        kept = self._kept
        if kept is not None:
            kept.extend(written)
            if len(kept) > self._keep_max:
                self._kept = None

    def _framed(self, line: bytes) -> bytes:
        """The bytes to append: the header first in an empty file (under the lock: one header,
        however many processes open it), a newline first after a torn write."""
        if self._empty:
            self._empty = os.fstat(self._fd).st_size == 0
            if self._empty:
                return HEADER + line
            self._kept = None  # records written before ours: `kept` would lack them
        return b"\n" + line if self._torn else line

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self._torn = self._torn or len(view) < len(data)
            raise
        self._torn = False
        self._empty = False

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class JournalContents:
    """The distinct records of a journal, in the order they were written. `damaged_lines` counts
    the lines that did not parse (a torn last line included); `skipped_tail` says the last line
    was one of them."""

    records: tuple[Record, ...]
    skipped_tail: bool = False
    damaged_lines: int = 0


def framed_line(record: Record) -> bytes:
    """One journal line: the record's JSON text, a tab, its CRC-32 in hex, a newline."""
    text = to_line(record)[:-1]
    return b"%s\t%08x\n" % (text, zlib.crc32(text))


def _unframe(line: bytes, checked: bool) -> bytes:
    """The JSON text of a line; ValueError when its checksum is missing or does not match."""
    if not checked:
        return line
    text, tab, crc = line.rpartition(b"\t")
    if not tab or len(crc) != 8 or b"%08x" % zlib.crc32(text) != crc:
        raise ValueError("checksum mismatch")
    return text


def read_journal(path: Path, warn: Warn | None = None) -> JournalContents:
    """Read, salvage and de-duplicate a journal; damaged lines are skipped and counted, with one
    warning (through `warn`, by default `warnings.warn`). Raises JournalError only for a file that
    cannot be read or is not a journal."""
    return _contents(path, _read(path), warn)


def _read(path: Path) -> bytes:
    """The file's bytes (plain system calls: a run on a cluster may have a journal per job)."""
    chunks: list[bytes] = []
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            while chunk := os.read(fd, 1 << 24):
                chunks.append(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from exc
    return b"".join(chunks)


def _contents(path: Path, data: bytes, warn: Warn | None) -> JournalContents:
    if not data:
        raise JournalError(f"{path} is an empty file, not a yprov-workflows journal: {_NOT_OURS}")
    lines = data.split(b"\n")
    checked = _check_header(path, lines[0]) >= 2
    torn = len(lines) > 1 and lines.pop() != b""  # text after the last newline: a torn record
    damaged: list[int] = []
    records = tuple(_dedupe(_parse_lines(lines, damaged, checked)))
    if torn:
        damaged.append(len(lines) + 1)
    if damaged:
        _warn(warn, _damage_message(path, damaged, torn, len(records)))
    return JournalContents(records, skipped_tail=torn, damaged_lines=len(damaged))


def _parse_lines(lines: list[bytes], damaged: list[int], checked: bool) -> Iterator[Record]:
    """The records of every line after the header; numbers of damaged lines go to `damaged`."""
    for number, line in enumerate(lines[1:], start=2):
        try:
            yield _parse(line, checked)
        except _UNREADABLE:
            if not line.strip():
                continue  # an empty line: a fresh line begun after a failed write, no record
            damaged.append(number)
            salvaged = _salvage(line, checked)
            if salvaged is not None:
                yield salvaged


_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, RecursionError)


def _parse(line: bytes, checked: bool) -> Record:
    return from_json(json.loads(_unframe(line, checked)))


def _salvage(line: bytes, checked: bool) -> Record | None:
    """A complete record after torn bytes on the same line (appended after a failed write)."""
    start = line.find(RECORD_START, 1)
    while start != -1:
        try:
            return _parse(line[start:], checked)
        except _UNREADABLE:
            start = line.find(RECORD_START, start + 1)  # a nested object, or torn too
    return None


def _damage_message(path: Path, damaged: list[int], torn: bool, kept: int) -> str:
    middle = [str(n) for n in (damaged[:-1] if torn else damaged)]
    where = f"line{'s' if len(middle) > 1 else ''} {', '.join(middle[:5])}" if middle else ""
    where += "..." if len(middle) > 5 else ""
    if torn:
        where += (" and " if where else "") + "the half-written last line"
    return (
        f"{path}: skipped {len(damaged)} damaged line{'s' if len(damaged) > 1 else ''} "
        f"({where}), kept {kept} records: a write failed part-way (disk full?) or the writer "
        "was killed mid-write; the document counts them in ywf:journal_damaged_lines"
    )


def _warn(warn: Warn | None, message: str) -> None:
    if warn is not None:
        warn(message)
    else:
        warnings.warn(message, stacklevel=3)


def _check_header(path: Path, line: bytes) -> int:
    """The journal's version; say precisely what a file without a valid journal header is."""
    if line == HEADER[:-1]:
        return VERSION
    if b"\0" in line or not _is_text(line):
        raise JournalError(f"{path} is not text (binary data), not a journal: {_NOT_OURS}")
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise JournalError(
            f"{path} is not a yprov-workflows journal: its first line is not the header "
            f"{HEADER.decode().strip()} ({_NOT_OURS})"
        )
    version = header.get("version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise JournalError(
            f"{path} has journal version {version}, this yprov-workflows reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}: upgrade yprov-workflows"
        )
    return int(version)


_NOT_OURS = "pass the folder of a run that yprov-workflows recorded"


def _is_text(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
    if isinstance(record, RunEnd):
        return ("end", to_line(record).decode())
    return (type(record).__name__, record.run_id)


def last_record(path: Path, tail: int = 8192) -> Record | None:
    """The record on a journal's last line, read from the end of the file (a look at the last
    record without reading the whole journal); None when that line is torn, damaged, longer than
    `tail` or the header, or the journal is not of the checksummed version."""
    with path.open("rb") as handle:
        start = max(0, handle.seek(0, os.SEEK_END) - tail)
        handle.seek(start)
        lines = handle.read().split(b"\n")
    if len(lines) < (2 if start == 0 else 3) or lines[-1]:
        return None  # no complete last line in the tail, or a torn one
    try:
        return _parse(lines[-2], checked=True)
    except _UNREADABLE:
        return None


def writer_journal_path(run_dir: Path) -> Path:
    """The journal of this process and thread in a run folder (see "Many writers" above)."""
    return run_dir / WRITERS / f"{_writer_name(os.getpid())}-{threading.get_native_id()}.jsonl"


@functools.cache
def _writer_name(pid: int) -> str:
    """Host, process and a random token (two hosts may share a name; pids are reused)."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"
    return f"{host}-{pid}-{secrets.token_hex(3)}"


def writer_journals(run_dir: Path) -> list[Path]:
    """The journals of a run's other writers, in name order."""
    folder = run_dir / WRITERS
    try:
        names = sorted(p for p in os.listdir(folder) if p.endswith(".jsonl"))
    except OSError:
        return []
    return [folder / name for name in names]


def read_run_journal(
    run_dir: Path, warn: Warn | None = None, owner: Sequence[Record] | None = None
) -> JournalContents:
    """All records of a run: its owner's journal, then every other writer's (see `read_journal`;
    a writer's journal that cannot be read is counted as one damaged line and warned about).
    `owner`: the owner journal's records, as its writer kept them (`JournalWriter.kept`), in the
    owner's process: that journal is then not read back."""
    if owner is None:
        main = read_journal(run_dir / FILENAME, warn)
    else:
        main = JournalContents(tuple(_dedupe(iter(owner))))
    parts, damaged = [main.records], main.damaged_lines
    for path in writer_journals(run_dir):
        try:
            data = _read(path)
            if not data:
                continue  # its first write failed: it holds no record
            contents = _contents(path, data, warn)
        except JournalError as problem:
            _warn(warn, f"{problem}: its records are not in the document")
            damaged += 1
            continue
        parts.append(contents.records)
        damaged += contents.damaged_lines
    records = main.records if len(parts) == 1 else tuple(_dedupe(r for p in parts for r in p))
    return JournalContents(records, main.skipped_tail, damaged)


def find_run_start(contents: JournalContents) -> RunStart | None:
    return next((r for r in contents.records if isinstance(r, RunStart)), None)
