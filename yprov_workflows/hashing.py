"""Content hashes of files and folders, each read at most once per run while unchanged.

A `FileHasher` remembers the digest of every path it hashed together with the file's identity
(device, inode, size, modification time); asking again for an unchanged file costs one `stat`.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from dataclasses import dataclass

from yprov_workflows.records import FileRecord

CHUNK = 1 << 20


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
            digest, size = self._directory_digest(real)
            return FileRecord(path=path, sha256=digest, size=size, kind="directory")
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

    def _directory_digest(self, real: str) -> tuple[str, int]:
        """sha256 over the sorted (relative path, file sha256) pairs of every file below."""
        lines: list[str] = []
        total = 0
        for root, dirs, files in os.walk(real):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                rel = os.path.relpath(full, real)
                record = self.record(rel, location=full)
                total += record.size or 0
                lines.append(f"{rel}\0{record.sha256}\n")
        return hashlib.sha256("".join(lines).encode()).hexdigest(), total
