"""Files are hashed once per run while unchanged; folders and pipes are handled."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from yprov_workflows.hashing import FileHasher


def test_hash_matches_hashlib_and_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(3 << 20))
    hasher = FileHasher()
    first = hasher.record(str(path))
    assert first.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert first.size == 3 << 20
    read = hasher.bytes_read
    assert hasher.record(str(path)).sha256 == first.sha256
    assert hasher.bytes_read == read, "an unchanged file is not read again"
    path.write_bytes(b"changed")
    assert hasher.record(str(path)).sha256 == hashlib.sha256(b"changed").hexdigest()


def test_missing_file_and_named_pipe(tmp_path: Path) -> None:
    hasher = FileHasher()
    assert hasher.record(str(tmp_path / "nope")).kind == "missing"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    record = hasher.record(str(fifo))
    assert record.kind == "special" and record.sha256 is None


def test_directory_digest_depends_on_names_and_contents(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("bb")
    hasher = FileHasher()
    first = hasher.record(str(folder))
    assert first.kind == "directory" and first.size == 3
    (folder / "sub" / "b.txt").write_text("bc")
    assert FileHasher().record(str(folder)).sha256 != first.sha256


def test_location_reads_elsewhere_but_records_the_workflow_path(tmp_path: Path) -> None:
    (tmp_path / "shadow").mkdir()
    (tmp_path / "shadow" / "out.txt").write_text("x")
    record = FileHasher().record("out.txt", location=str(tmp_path / "shadow" / "out.txt"))
    assert record.path == "out.txt" and record.size == 1
