"""Many writers of one run: every process and thread other than the run's owner appends to a
journal of its own under `journals/` (one writer per file is what stays correct on a shared
filesystem, where `O_APPEND` and `flock` are not atomic across clients), and reading the run
merges them: the owner's records first, every record once."""

from __future__ import annotations

import multiprocessing
import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from records_factory import run_start, step

from yprov_workflows import journal
from yprov_workflows.assemble import assemble, assemble_to_file
from yprov_workflows.journal import (
    WRITERS,
    JournalWriter,
    framed_line,
    read_run_journal,
    writer_journal_path,
)
from yprov_workflows.records import Record, RunEnd, RunStart, StepRecord
from yprov_workflows.testing import RunDocument

SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.jsonl")


def _write(path: Path, *records: Record) -> Path:
    with JournalWriter(path, lock=False) as writer:
        for record in records:
            writer.append(record)
    return path


def _owner(run_dir: Path, *records: Record) -> Path:
    end = RunEnd("r1", run_start().started, "completed")
    return _write(run_dir / journal.FILENAME, run_start(), *records, end)


def _writer(run_dir: Path, name: str, *records: Record) -> Path:
    return _write(run_dir / WRITERS / f"{name}.jsonl", *records)


def _steps(records: tuple[Record, ...]) -> list[StepRecord]:
    return [r for r in records if isinstance(r, StepRecord)]


def _valid(run_dir: Path) -> RunDocument:
    document = RunDocument.load(assemble_to_file(run_dir))
    document.assert_valid()
    return document


# -- writer_journal_path --------------------------------------------------------------------------


def test_a_writer_journal_is_stable_in_a_thread_and_distinct_per_thread(tmp_path: Path) -> None:
    mine = writer_journal_path(tmp_path)
    assert writer_journal_path(tmp_path) == mine  # every record of a thread goes to one file
    assert mine.parent == tmp_path / WRITERS and SAFE_NAME.fullmatch(mine.name)
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(writer_journal_path(tmp_path)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({mine, *found}) == 5


def _print_path(run_dir: str, queue: multiprocessing.Queue[str]) -> None:
    queue.put(str(writer_journal_path(Path(run_dir))))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_writer_journal_is_distinct_per_process(tmp_path: Path, method: str) -> None:
    """A forked child inherits the parent's cached name: it must not reuse it."""
    writer_journal_path(tmp_path)  # the parent's name is made (and cached) first
    context: Any = multiprocessing.get_context(method)
    queue: multiprocessing.Queue[str] = context.Queue()
    children = [context.Process(target=_print_path, args=(str(tmp_path), queue)) for _ in range(2)]
    for child in children:
        child.start()
    paths = {Path(queue.get(timeout=120)) for _ in children}
    for child in children:
        child.join(timeout=120)
    assert len(paths | {writer_journal_path(tmp_path)}) == 3
    assert all(p.parent == tmp_path / WRITERS and SAFE_NAME.fullmatch(p.name) for p in paths)


@pytest.mark.parametrize(
    "host", ["node 7.cluster", "gpu/01:a", "knoten-ü", "", "../../etc", "a\nb*?"]
)
def test_odd_host_names_give_safe_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: host)
    journal._writer_name.cache_clear()
    try:
        path = writer_journal_path(tmp_path)
    finally:
        journal._writer_name.cache_clear()
    assert path.parent == tmp_path / WRITERS and SAFE_NAME.fullmatch(path.name), path.name
    _write(path, step(1))  # a file of that name can be made
    assert _steps(read_run_journal_with_owner(tmp_path).records)[0].key == "key1"


def read_run_journal_with_owner(run_dir: Path) -> journal.JournalContents:
    if not (run_dir / journal.FILENAME).exists():
        _owner(run_dir)
    return read_run_journal(run_dir)


# -- read_run_journal -----------------------------------------------------------------------------


def test_the_owner_comes_first_then_the_writers_in_name_order(tmp_path: Path) -> None:
    _owner(tmp_path, step(1))
    _writer(tmp_path, "node-b-2-ffffff-9", step(4), step(5))
    _writer(tmp_path, "node-a-1-000000-9", step(2), step(3))
    contents = read_run_journal(tmp_path)
    assert [type(r) for r in contents.records[:3]] == [RunStart, StepRecord, RunEnd]
    assert [s.key for s in _steps(contents.records)] == ["key1", "key2", "key3", "key4", "key5"]
    assert contents.damaged_lines == 0
    document = _valid(tmp_path)
    assert len(document.steps()) == 5 and document.run["ywf:steps"] == 5


def test_a_step_written_by_the_owner_and_a_node_is_kept_once_the_owners(
    tmp_path: Path,
) -> None:
    _owner(tmp_path, replace(step(1), host="submit-host"))
    _writer(tmp_path, "node-a", replace(step(1), host="node-a"), step(2))
    _writer(tmp_path, "node-b", replace(step(1), host="node-b"), replace(step(2), host="node-b"))
    steps = _steps(read_run_journal(tmp_path).records)
    assert [(s.key, s.host) for s in steps] == [("key1", "submit-host"), ("key2", None)]
    document = _valid(tmp_path)
    assert [(s["ywf:job_key"], s.get("ywf:host")) for s in document.steps()] == [
        ("key1", "submit-host"),
        ("key2", None),
    ]
    assert document.run["ywf:duplicate_generations"] == 0


def test_another_attempt_of_a_step_from_a_node_is_kept(tmp_path: Path) -> None:
    _owner(tmp_path, step(1, status="failed"))
    _writer(tmp_path, "node-a", step(1, attempt=2))
    steps = _steps(read_run_journal(tmp_path).records)
    assert [(s.key, s.attempt) for s in steps] == [("key1", 1), ("key1", 2)]


def test_a_damaged_writer_journal_is_counted_and_warned_about_once(tmp_path: Path) -> None:
    _owner(tmp_path, step(1))
    path = _writer(tmp_path, "node-a", step(2))
    with path.open("ab") as handle:  # a changed line, an intact one, a torn last line
        handle.write(framed_line(step(3)).replace(b"rule0", b"rule9") + framed_line(step(4)))
        handle.write(framed_line(step(5))[:40])
    _writer(tmp_path, "node-b", step(6))
    warned: list[str] = []
    contents = read_run_journal(tmp_path, warn=warned.append)
    assert [s.key for s in _steps(contents.records)] == ["key1", "key2", "key4", "key6"]
    assert contents.damaged_lines == 2
    assert not contents.skipped_tail  # the owner's journal is whole; the count says the rest
    (message,) = warned
    assert str(path) in message and "skipped 2 damaged lines" in message
    with pytest.warns(UserWarning, match="skipped 2 damaged lines") as caught:
        document = _valid(tmp_path)
    assert len(caught) == 1
    assert document.run["ywf:journal_damaged_lines"] == 2
    assert [s["ywf:job_key"] for s in document.steps()] == ["key1", "key2", "key4", "key6"]


def test_an_empty_writer_journal_is_ignored(tmp_path: Path) -> None:
    """A writer whose first write failed (or that was killed first) left an empty file."""
    _owner(tmp_path, step(1))
    (tmp_path / WRITERS).mkdir()
    (tmp_path / WRITERS / "node-a-1-abcdef-1.jsonl").write_bytes(b"")
    warned: list[str] = []
    contents = read_run_journal(tmp_path, warn=warned.append)
    assert warned == [] and contents.damaged_lines == 0
    assert [s.key for s in _steps(contents.records)] == ["key1"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not a journal\n", "not a yprov-workflows journal"),
        (b"\x00\x01binary", "not text"),
        (b'{"format": "yprov-workflows-journal", "version": 99}\n', "version 99"),
    ],
)
def test_a_file_in_journals_that_is_not_one_is_counted_not_fatal(
    tmp_path: Path, content: bytes, why: str
) -> None:
    _owner(tmp_path, step(1))
    _writer(tmp_path, "node-b", step(2))
    stranger = tmp_path / WRITERS / "node-a.jsonl"
    stranger.write_bytes(content)
    warned: list[str] = []
    contents = read_run_journal(tmp_path, warn=warned.append)
    assert [s.key for s in _steps(contents.records)] == ["key1", "key2"]
    assert contents.damaged_lines == 1
    (message,) = warned
    assert str(stranger) in message and why in message and "not in the document" in message
    with pytest.warns(UserWarning, match="not in the document"):
        document = _valid(tmp_path)
    assert document.run["ywf:journal_damaged_lines"] == 1


def test_files_in_journals_without_the_journal_suffix_are_not_read(tmp_path: Path) -> None:
    """NFS leaves `.nfsXXXX` files behind for files deleted while open; editors leave backups."""
    _owner(tmp_path, step(1))
    path = _writer(tmp_path, "node-a", step(2))
    (tmp_path / WRITERS / ".nfs0000000000001234").write_bytes(path.read_bytes())
    (tmp_path / WRITERS / "notes.txt").write_text("hello\n")
    (tmp_path / WRITERS / "sub.jsonl").mkdir()  # not a file: unreadable, counted
    warned: list[str] = []
    contents = read_run_journal(tmp_path, warn=warned.append)
    assert [s.key for s in _steps(contents.records)] == ["key1", "key2"]
    assert contents.damaged_lines == 1 and len(warned) == 1 and "sub.jsonl" in warned[0]


def test_without_a_journals_folder_only_the_owner_is_read(tmp_path: Path) -> None:
    _owner(tmp_path, step(1), step(2))
    contents = read_run_journal(tmp_path)
    assert [s.key for s in _steps(contents.records)] == ["key1", "key2"]
    assert assemble(tmp_path)["activity"]  # the run and its steps


# -- many writers at once -------------------------------------------------------------------------

PROCESSES, THREADS, PER_THREAD = 8, 4, 100  # 3,300 steps: validating is most of the time


def _node(run_dir: str, process: int) -> None:
    """One process of a worker host: its threads each append to their own writer journal."""

    def work(thread: int) -> None:
        first = 10_000 * (1 + process) + 1_000 * thread
        with JournalWriter(writer_journal_path(Path(run_dir)), lock=False) as writer:
            for number in range(first, first + PER_THREAD):
                writer.append(replace(step(number, outputs=(f"out/{number}",)), host="node"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_many_processes_and_threads_each_with_its_own_journal(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    nodes = [context.Process(target=_node, args=(str(tmp_path), n)) for n in range(PROCESSES)]
    with JournalWriter(tmp_path / journal.FILENAME) as owner:
        owner.append(run_start())
        for node in nodes:
            node.start()
        for number in range(PER_THREAD):  # the owner records steps of its own meanwhile
            owner.append(step(number, outputs=(f"out/{number}",)))
        for node in nodes:
            node.join(timeout=300)
        owner.append(RunEnd("r1", run_start().started, "completed"))
    assert [node.exitcode for node in nodes] == [0] * PROCESSES
    files = sorted((tmp_path / WRITERS).iterdir())
    assert len(files) == PROCESSES * THREADS and all(SAFE_NAME.fullmatch(p.name) for p in files)
    contents = read_run_journal(tmp_path)
    expected = {f"key{n}" for n in range(PER_THREAD)} | {
        f"key{10_000 * (1 + p) + 1_000 * t + i}"
        for p in range(PROCESSES)
        for t in range(THREADS)
        for i in range(PER_THREAD)
    }
    keys = [s.key for s in _steps(contents.records)]
    assert len(keys) == len(expected) == PER_THREAD * (1 + PROCESSES * THREADS)
    assert set(keys) == expected and contents.damaged_lines == 0
    document = _valid(tmp_path)
    assert sorted(s["ywf:job_key"] for s in document.steps()) == sorted(expected)
    assert document.run["ywf:journal_damaged_lines"] == 0
