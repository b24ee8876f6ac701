"""Content hashes of files and folders, each read at most once per run while unchanged.

A `FileHasher` remembers the digest of every path it hashed together with the file's identity
(device, inode, size, modification time); asking again for an unchanged file costs one `stat`.

A directory's record lists the files below it as members, named by the directory's path joined
with their path inside it (normalised: `parts/p1.txt`, as a rule that reads one of them names it),
so that each member is the same file version, hashed once, wherever the workflow names it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from yprov_workflows.records import FileRecord

CHUNK = 1 << 20
MAX_MEMBERS = 10_000
"""A directory record lists at most this many files below it; it counts the others."""
MARKER_NAMES = frozenset({".snakemake_timestamp"})
"""Files an engine puts into directory outputs after the step wrote them (Snakemake's timestamp
marker): not content, so neither part of a directory's digest nor a member."""


@dataclass(frozen=True)
class _Seen:
    identity: tuple[int, int, int, int]
    record: FileRecord


class FileHasher:
    """Hashes files with sha256 and caches results by file identity. Thread-safe."""

    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()
        self.bytes_read = 0

    def record(self, path: str, *, location: str | None = None) -> FileRecord:
        """Describe `path` (as the workflow names it), reading it from `location` if given."""
        real = location or path
        try:
            info = os.stat(real)
        except OSError:
            return FileRecord(path=path, sha256=None, size=None, kind="missing")
        if stat.S_ISDIR(info.st_mode):
            return self._directory_record(path, real)
        if not stat.S_ISREG(info.st_mode):  # a pipe or socket: reading it would block or consume
            return FileRecord(path=path, sha256=None, size=None, kind="special")
        return self._file_record(path, real, info)

    def _file_record(self, path: str, real: str, info: os.stat_result) -> FileRecord:
        identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        key = os.path.abspath(real)
        with self._lock:
            seen = self._seen.get(key)
        if seen is not None and seen.identity == identity:
            return FileRecord(path=path, sha256=seen.record.sha256, size=seen.record.size)
        record = FileRecord(path=path, sha256=self._hash_file(real), size=info.st_size)
        with self._lock:
            self._seen[key] = _Seen(identity, record)
        return record

    def _hash_file(self, real: str) -> str | None:
        digest = hashlib.sha256()
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        read = 0
        try:
            with open(real, "rb", buffering=0) as handle:
                while n := handle.readinto(buffer):
                    digest.update(view[:n])
                    read += n
        except OSError:
            return None
        finally:
            with self._lock:
                self.bytes_read += read
        return digest.hexdigest()

    def _directory_record(self, path: str, real: str) -> FileRecord:
        """Digest: sha256 over the sorted (relative path, file sha256) pairs of every file below;
        members: the records of the first `MAX_MEMBERS` of those files."""
        lines: list[str] = []
        members: list[FileRecord] = []
        total = 0
        for rel, full in _files_below(real):
            record = self.record(os.path.normpath(os.path.join(path, rel)), location=full)
            total += record.size or 0
            lines.append(f"{rel}\0{record.sha256}\n")
            if len(members) < MAX_MEMBERS:
                members.append(record)
        digest = hashlib.sha256("".join(lines).encode("utf-8", "surrogatepass")).hexdigest()
        left_out = len(lines) - len(members)
        return FileRecord(path, digest, total, "directory", tuple(members), left_out)


def _files_below(real: str) -> Iterator[tuple[str, str]]:
    """(path relative to `real`, full path) of every file below `real`, in a stable order."""
    for root, dirs, files in os.walk(real):
        dirs.sort()
        for name in sorted(files):
            if name not in MARKER_NAMES:
                full = os.path.join(root, name)
                yield os.path.relpath(full, real), full
