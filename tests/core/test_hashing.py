"""Files are hashed once per run while unchanged; folders and pipes are handled."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from yprov_workflows import hashing
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


def test_directory_members_are_its_files_named_as_the_workflow_reads_them(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    (folder / "sub").mkdir(parents=True)
    (folder / "p1.txt").write_text("1")
    (folder / "sub" / "p2.txt").write_text("22")
    hasher = FileHasher()
    record = hasher.record("parts/", location=str(folder))
    assert [(m.path, m.size) for m in record.members] == [
        ("parts/p1.txt", 1),
        ("parts/sub/p2.txt", 2),
    ]
    assert record.members_left_out == 0
    read = hasher.bytes_read
    p1 = hasher.record("parts/p1.txt", location=str(folder / "p1.txt"))
    assert p1 == record.members[0], "the same file version as the member"
    assert hasher.bytes_read == read, "a member is not read a second time"


def test_snakemake_timestamp_marker_is_not_content(tmp_path: Path) -> None:
    """Snakemake adds `.snakemake_timestamp` to a directory output after the job wrote it."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    before = FileHasher().record(str(folder))
    (folder / ".snakemake_timestamp").write_text("")
    after = FileHasher().record(str(folder))
    assert after.sha256 == before.sha256
    assert [m.path for m in after.members] == [str(folder / "a.txt")]


def test_directory_members_are_capped_and_the_rest_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "MAX_MEMBERS", 3)
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text(str(i))
    record = FileHasher().record(str(tmp_path))
    assert len(record.members) == 3 and record.members_left_out == 2
    assert record.size == 5, "the digest and size still cover every file"
