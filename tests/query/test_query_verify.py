"""`verify` on real files with the hash cache, and where RUN's document comes from."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from query_docs import pipeline, start

from yprov_workflows.errors import DocumentError
from yprov_workflows.hashing import FileHasher
from yprov_workflows.journal import JournalWriter
from yprov_workflows.liveness import OwnerLock
from yprov_workflows.query import RunGraph, open_run, summarize_run, verify_run
from yprov_workflows.query.verify import CACHE_NAME
from yprov_workflows.records import RunEnd, StepRecord
from yprov_workflows.runs import document_path, journal_path, point_latest, write_document
from yprov_workflows.testing import RunDocument


def recorded_run(workdir: Path, end: bool = True) -> Path:
    """A run of three real files (one in a directory) recorded into workdir/.yprov/r1."""
    (workdir / "out").mkdir(parents=True)
    for name, text in (("raw.txt", "raw"), ("out/a.txt", "a"), ("out/b.txt", "b")):
        (workdir / name).write_text(text)
    (workdir / "series").mkdir()
    hasher = FileHasher()
    steps = pipeline()
    run_dir = workdir / ".yprov" / "r1"
    (run_dir / "environment").mkdir(parents=True)
    (run_dir / "environment" / "packages.txt").write_text("numpy==1.26.4\nclick==8.1.7\n")
    records = [
        replace(
            steps[0],
            inputs=(hasher.record("raw.txt", location=str(workdir / "raw.txt")),),
            outputs=(hasher.record("out", location=str(workdir / "out")),),
        ),
        *(replace(s, inputs=(), outputs=()) for s in steps[1:3]),
    ]
    _journal(run_dir, workdir, records, end)
    return run_dir


def _journal(run_dir: Path, workdir: Path, steps: list[StepRecord], end: bool) -> None:
    with JournalWriter(journal_path(run_dir)) as writer:
        writer.append(start(workdir=str(workdir)))
        for step in steps:
            writer.append(step)
        if end:
            writer.append(RunEnd("r1", steps[-1].ended, "completed"))


def check(run: Path, **kwargs: object) -> tuple[dict[str, str], object]:
    source = open_run(run)
    RunDocument(source.document).assert_valid()
    result = verify_run(RunGraph.from_document(source.document), source, **kwargs)  # type: ignore[arg-type]
    return {f.path: f.state for f in result.files}, result


def test_files_as_recorded_then_changed_and_missing(tmp_path: Path) -> None:
    run_dir = recorded_run(tmp_path)
    states, result = check(run_dir)
    assert states == {
        "raw.txt": "ok",
        "out": "ok",
        "out/a.txt": "ok",
        "out/b.txt": "ok",
        "environment/packages.txt": "ok",
    }
    assert result.ok and result.bytes_read > 0  # type: ignore[attr-defined]
    (tmp_path / "out" / "a.txt").write_text("changed")
    (tmp_path / "raw.txt").unlink()
    states, result = check(run_dir)
    assert states["out/a.txt"] == "changed" and states["raw.txt"] == "missing"
    assert states["out/b.txt"] == "ok" and not result.ok  # type: ignore[attr-defined]


def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    run_dir = recorded_run(tmp_path)
    _, first = check(run_dir)
    assert (run_dir / CACHE_NAME).is_file()
    _, second = check(run_dir)
    assert second.bytes_read == 0 and second.from_cache == 4  # type: ignore[attr-defined]
    os.utime(tmp_path / "out" / "b.txt", ns=(1, 1))  # a new mtime: read again
    _, third = check(run_dir)
    assert third.bytes_read == 1 and third.ok  # type: ignore[attr-defined]
    _, uncached = check(run_dir, use_cache=False)
    assert uncached.bytes_read == first.bytes_read  # type: ignore[attr-defined]


def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    run_dir = recorded_run(tmp_path)
    (run_dir / CACHE_NAME).write_text('{"version": 1, "files": {"x": [1, 2], "y": "z"}')
    _, result = check(run_dir)
    assert result.ok and json.loads((run_dir / CACHE_NAME).read_text())["version"] == 1  # type: ignore[attr-defined]
    (run_dir / CACHE_NAME).write_text('{"version": 1, "files": {"q": [0, 0, 0, 0, "f"]}}')
    assert check(run_dir)[1].ok  # type: ignore[attr-defined]


def test_a_file_that_became_a_pipe_or_lives_in_proc_is_never_read(tmp_path: Path) -> None:
    run_dir = recorded_run(tmp_path)
    (tmp_path / "out" / "a.txt").unlink()
    os.mkfifo(tmp_path / "out" / "a.txt")
    states, _ = check(run_dir)
    assert states["out/a.txt"] == "not a file"
    states, _ = check(run_dir, workdir=Path("/proc/self"))
    assert states["raw.txt"] == "not a file"


def test_the_workdir_falls_back_to_the_folder_holding_yprov(tmp_path: Path) -> None:
    run_dir = recorded_run(tmp_path / "wf")
    moved = tmp_path / "moved"
    (tmp_path / "wf").rename(moved)
    states, result = check(moved / ".yprov" / "r1")
    assert set(states.values()) == {"ok"} and result.workdir == str(moved)  # type: ignore[attr-defined]
    assert run_dir != moved


def test_run_sources_document_run_folder_output_folder(tmp_path: Path) -> None:
    run_dir = recorded_run(tmp_path, end=False)  # killed: no end record, no document
    killed = open_run(run_dir)
    assert killed.document_path is None and killed.run_dir == run_dir.resolve()
    owner = OwnerLock.acquire(run_dir)  # still being recorded: a snapshot, said so
    try:
        with pytest.warns(UserWarning, match="is still going"):
            live = open_run(run_dir)
    finally:
        owner.release()
    assert live.document == killed.document
    assert summarize_run(RunGraph.from_document(live.document)).status == "incomplete"
    write_document(document_path(run_dir), live.document)
    point_latest(tmp_path / ".yprov", run_dir)
    for given in (run_dir, tmp_path / ".yprov", document_path(run_dir)):
        found = open_run(given)
        assert found.run_dir == run_dir.resolve() and found.document == live.document
    with pytest.raises(DocumentError, match="holds no run"):
        open_run(tmp_path / "out")
    with pytest.raises(DocumentError, match="does not exist"):
        open_run(tmp_path / "nope")
