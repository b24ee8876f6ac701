"""The journal keeps every record once, survives torn writes, and rejects corruption clearly."""

from __future__ import annotations

import json
import multiprocessing
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from records_factory import run_start, step

from yprov_workflows.errors import JournalError
from yprov_workflows.journal import JournalWriter, read_journal
from yprov_workflows.records import (
    RunStart,
    StepRecord,
    ValueRecord,
    from_json,
    to_json,
    to_line,
)


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
    assert not contents.skipped_tail


def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.append(run_start())
        writer.append(step(1))
    with path.open("ab") as handle:
        handle.write(b'{"kind":"step","run_id":"r1","na')
    with pytest.warns(UserWarning, match="half-written"):
        contents = read_journal(path)
    assert contents.skipped_tail
    assert [type(r) for r in contents.records] == [RunStart, StepRecord]


def test_a_corrupt_middle_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.append(run_start())
    with path.open("ab") as handle:
        handle.write(b"garbage\n")
        handle.write(json.dumps(to_json(step(1))).encode() + b"\n")
    with pytest.raises(JournalError, match=r"journal.jsonl:3: corrupt record"):
        read_journal(path)


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        (b"", "empty|not a yprov-workflows journal"),
        (b"[1, 2]\n", "not a yprov-workflows journal"),
        (b'{"format": "yprov-workflows-journal", "version": 99}\n', "version 99.*upgrade"),
    ],
)
def test_foreign_or_future_journals_are_rejected(
    tmp_path: Path, first_line: bytes, message: str
) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(first_line)
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
