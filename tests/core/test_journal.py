"""The journal keeps every record once, salvages every intact record around damaged lines, and
rejects files that are not journals clearly."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import warnings
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from records_factory import run_start, step

from yprov_workflows import journal
from yprov_workflows.assemble import assemble
from yprov_workflows.errors import JournalError
from yprov_workflows.journal import HEADER, JournalWriter, framed_line, read_journal
from yprov_workflows.records import (
    Code,
    RunStart,
    StepRecord,
    ValueRecord,
    from_json,
    to_json,
    to_line,
)
from yprov_workflows.testing import RunDocument


def test_records_round_trip_through_json() -> None:
    described = replace(
        step(1, inputs=("a",), outputs=("b",)),
        values={"x": ValueRecord("int", 8, 28, "sha256:00")},
        result=ValueRecord("list", "[1, 2, 3]", 3, None),
        upstream=(("x", "key0"),),
    )
    for record in (run_start(), step(1, inputs=("a",), outputs=("b",)), described):
        assert from_json(json.loads(json.dumps(to_json(record)))) == record
        line = to_line(record)  # the journal's fast path writes the same JSON on one line
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert json.loads(line) == to_json(record)


def _write_steps(path: str, first: int, count: int) -> None:
    with JournalWriter(Path(path)) as writer:
        for number in range(first, first + count):
            writer.append(step(number))


def test_threads_and_processes_never_lose_or_duplicate_records(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.append(run_start())
        threads = [
            threading.Thread(
                target=lambda n=n: [writer.append(step(n * 100 + i)) for i in range(100)]
            )
            for n in range(4)
        ]
        processes = [
            multiprocessing.get_context("spawn").Process(
                target=_write_steps, args=(str(path), 1000 + n * 100, 100)
            )
            for n in range(3)
        ]
        for worker in [*threads, *processes]:
            worker.start()
        for worker in [*threads, *processes]:
            worker.join()
    contents = read_journal(path)
    steps = [r for r in contents.records if isinstance(r, StepRecord)]
    assert len(steps) == 700
    assert len({s.key for s in steps}) == 700
    assert not contents.skipped_tail and contents.damaged_lines == 0


def _journal(tmp_path: Path, *steps: int) -> Path:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.append(run_start())
        for number in steps:
            writer.append(step(number))
    return path


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def _keys(records: tuple[Any, ...]) -> list[str]:
    return [r.key for r in records if isinstance(r, StepRecord)]


def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = _journal(tmp_path, 1)
    _append(path, b'{"kind":"step","run_id":"r1","na')
    with pytest.warns(UserWarning, match="half-written"):
        contents = read_journal(path)
    assert contents.skipped_tail and contents.damaged_lines == 1
    assert [type(r) for r in contents.records] == [RunStart, StepRecord]


def test_damaged_lines_are_skipped_counted_and_warned_about_once(tmp_path: Path) -> None:
    path = _journal(tmp_path, 1)
    _append(path, b"garbage\n" + framed_line(step(2)) + b"\x00\xff\n" + framed_line(step(3)))
    _append(path, b'{"kind":"step","run_id":"r1","na')  # and a torn last line
    with pytest.warns(UserWarning) as caught:
        contents = read_journal(path)
    (warning,) = caught  # one warning for the whole journal, not one per line
    message = str(warning.message)
    assert "skipped 3 damaged lines (lines 4, 6 and the half-written last line)" in message
    assert "kept 4 records" in message
    assert contents.damaged_lines == 3 and contents.skipped_tail
    assert _keys(contents.records) == ["key1", "key2", "key3"]


def test_a_record_after_torn_bytes_on_the_same_line_is_kept(tmp_path: Path) -> None:
    """Another process appended right after a write that failed part-way: the torn record is
    lost, the next one (whose nested `code` object also begins with `{"kind":`) is kept."""
    coded = replace(step(2), code=Code("shell", 'echo {"kind": 1}'))
    path = _journal(tmp_path, 1)
    _append(path, framed_line(coded)[:150] + framed_line(coded) + framed_line(step(3)))
    warned: list[str] = []
    contents = read_journal(path, warn=warned.append)
    assert [r for r in contents.records if isinstance(r, StepRecord)][1] == coded
    assert _keys(contents.records) == ["key1", "key2", "key3"]
    assert contents.damaged_lines == 1 and not contents.skipped_tail
    assert len(warned) == 1 and "skipped 1 damaged line (line 4)" in warned[0]


def test_a_writer_whose_write_fails_part_way_keeps_later_records_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC after a partial write: the torn bytes become one damaged line, nothing else is
    lost, and the journal still assembles into a valid document."""
    path = tmp_path / "journal.jsonl"
    real_write = os.write
    sizes: list[int] = []

    def full_disk(fd: int, data: Any) -> int:
        sizes.append(len(data))
        if len(sizes) == 3:  # the second step: 40 bytes reach the file, then the disk is full
            return real_write(fd, data[:40])
        if len(sizes) in (4, 5):  # the rest of step 2; step 3
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(journal.os, "write", full_disk)
    with JournalWriter(path, lock=False) as writer:
        writer.append(run_start())
        writer.append(step(1))
        for number in (2, 3):
            with pytest.raises(OSError, match="No space"):
                writer.append(step(number))
        writer.append(step(4))  # space again: the record starts on a fresh line
        writer.append(step(5))
    assert sizes[-2] == len(framed_line(step(4))) + 1, "one write per record, the newline included"
    assert sizes[-1] == len(framed_line(step(5))), "and only after a torn write"
    warned: list[str] = []
    contents = read_journal(path, warn=warned.append)
    assert _keys(contents.records) == ["key1", "key4", "key5"]
    assert contents.damaged_lines == 1 and len(warned) == 1
    document = RunDocument(assemble(tmp_path, warn=warned.append))
    document.assert_valid()
    assert document.run["ywf:journal_damaged_lines"] == 1


def test_an_intact_journal_has_no_damaged_lines_and_no_warning(tmp_path: Path) -> None:
    _journal(tmp_path, 1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document = RunDocument(assemble(tmp_path))
    document.assert_valid()
    assert document.run["ywf:journal_damaged_lines"] == 0


def test_export_salvages_a_damaged_journal_with_one_warning_line(tmp_path: Path) -> None:
    """Issue 8, item 6: a damaged middle line and a torn last line no longer lose the run."""
    path = _journal(tmp_path, 1)
    _append(path, b"\x00garbage\n" + framed_line(step(2)) + b'{"kind":"step","run_id":"r1","na')
    command = [sys.executable, "-m", "yprov_workflows", "export", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("yprov: warning: ") and "skipped 2 damaged lines" in line
    document = RunDocument.load(Path(result.stdout.strip()))
    document.assert_valid()
    assert document.run["ywf:journal_damaged_lines"] == 2
    assert [s["ywf:job_key"] for s in document.steps()] == ["key1", "key2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is an empty file, not a yprov-workflows journal"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"is not text \(binary data\)"),
        (b"\xff\xfe\xfd" * 100, r"is not text \(binary data\)"),
        (b"[1, 2]\n", "not a yprov-workflows journal: its first line is not the header"),
        (b"\n" + framed_line(run_start()), "its first line is not the header"),
        (b'{"format": "yprov-workflows-journal", "version": 99}\n', "version 99.*upgrade"),
    ],
)
def test_foreign_or_future_journals_are_rejected(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(content)
    with pytest.raises(JournalError, match=message):
        read_journal(path)


def test_a_repeated_record_is_kept_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.append(run_start())
        writer.append(step(1))
        writer.append(step(1))
        writer.append(step(1, attempt=2))
    steps = [r for r in read_journal(path).records if isinstance(r, StepRecord)]
    assert [(s.key, s.attempt) for s in steps] == [("key1", 1), ("key1", 2)]


def test_a_missing_journal_is_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot read journal"):
        read_journal(tmp_path / "nope.jsonl")


def test_a_line_changed_on_disk_is_damage_not_a_wrong_record(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        for record in (run_start(), step(1), step(2)):
            writer.append(record)
    flipped = path.read_bytes().replace(b'"attempt":1', b'"attempt":3', 1)  # valid JSON still
    path.write_bytes(flipped)
    contents = read_journal(path, warn=lambda message: None)
    assert contents.damaged_lines == 1 and _keys(contents.records) == ["key2"]


def test_a_field_of_the_wrong_type_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    bad = json.loads(to_line(step(1)))
    bad["inputs"] = [{"path": "a", "sha256": None, "size": None, "kind": []}]
    text = json.dumps(bad).encode()
    path.write_bytes(HEADER + framed_line(run_start()) + b"%s\t%08x\n" % (text, zlib.crc32(text)))
    contents = read_journal(path, warn=lambda message: None)
    assert contents.damaged_lines == 1 and len(contents.records) == 1


def test_version_1_journals_without_checksums_are_read(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    header = json.dumps({"format": "yprov-workflows-journal", "version": 1}).encode() + b"\n"
    path.write_bytes(header + to_line(run_start()) + to_line(step(1)))
    assert _keys(read_journal(path).records) == ["key1"]
