"""A full disk on a real (small) tmpfs: one torn journal line, every other record kept, the run
still assembled, and the problem said once per run with a count at the end."""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path

import pytest
from records_factory import run_start, step

from yprov_workflows.errors import RecordingError
from yprov_workflows.journal import JournalWriter, read_journal
from yprov_workflows.recorder import Problems, Recorder
from yprov_workflows.records import StepRecord
from yprov_workflows.settings import Settings
from yprov_workflows.testing import RunDocument

PAGE = 4096


def fill(mount: Path) -> Path:
    """Fill the tmpfs, then free exactly one page: the next large append is written part-way."""
    filler = mount / "filler"
    chunk = 1 << 16
    with filler.open("wb", buffering=0) as handle:
        while chunk:
            try:
                handle.write(b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                chunk //= 2
    with filler.open("r+b") as handle:
        handle.truncate(filler.stat().st_size - PAGE)
    return filler


def big_step(number: int) -> StepRecord:
    """A record larger than a page plus any slack: it cannot fit in one free page."""
    return replace(step(number), params={f"pad{i}": "x" * 4000 for i in range(5)})


def test_a_write_torn_by_a_full_disk_costs_one_line_only(small_disk: Path) -> None:
    path = small_disk / "run" / "journal.jsonl"
    with JournalWriter(path, lock=False) as writer:
        writer.append(run_start())
        writer.append(step(1))
        filler = fill(small_disk)
        with pytest.raises(OSError) as failed:
            writer.append(big_step(2))
        assert failed.value.errno == errno.ENOSPC
        assert not path.read_bytes().endswith(b"\n"), "half a record reached the file"
        with pytest.raises(OSError):
            writer.append(step(3))
        filler.unlink()
        writer.append(step(4))
    warned: list[str] = []
    contents = read_journal(path, warn=warned.append)
    assert [r.key for r in contents.records if isinstance(r, StepRecord)] == ["key1", "key4"]
    assert contents.damaged_lines == 1 and not contents.skipped_tail
    assert len(warned) == 1 and "skipped 1 damaged line (line 4)" in warned[0]


def test_a_run_survives_a_short_disk_full_and_says_so_once(small_disk: Path) -> None:
    """Issue 8, items 5 and 7: the run closes and assembles; one warning, then a count."""
    warned: list[str] = []
    recorder = Recorder(Settings(), small_disk / ".yprov", warn=warned.append)
    recorder.start(run_start("r1"))
    recorder.record_step(step(1))
    filler = fill(small_disk)
    for number in range(2, 30):  # steps of three different names: one kind of problem
        recorder.record_step(big_step(number))
    filler.unlink()
    recorder.record_step(step(40))
    document_path = recorder.finish("completed")
    assert document_path is not None, warned
    document = RunDocument.load(document_path)
    document.assert_valid()
    assert document.run["ywf:status"] == "completed"
    assert document.run["ywf:recording_errors"] == 28
    assert document.run["ywf:journal_damaged_lines"] == 1
    assert [s["ywf:job_key"] for s in document.steps()] == ["key1", "key40"]
    full = [w for w in warned if "No space left on device" in w]
    assert len(full) == 1 and full[0].startswith("yprov-workflows: recording step rule2 failed")
    assert "yprov-workflows: 27 more recording errors like the above in this run" in warned
    assert sum("skipped 1 damaged line" in w for w in warned) == 1
    assert len(warned) == 3, warned
    assert not (document_path.parent / "owner.lock").exists()


def test_problems_are_said_once_per_kind_and_all_counted() -> None:
    warned: list[str] = []
    problems = Problems(warned.append)
    for name in ("a", "b", "c"):
        problems.report(OSError(errno.ENOSPC, "No space left on device"), f"recording step {name}")
    problems.report(OSError(errno.EACCES, "Permission denied"), "recording step d")
    problems.report(ValueError("bad"), "recording step e")
    problems.report(OSError(errno.ENOSPC, "No space"), "hashing outputs of a")
    assert problems.count == 6 and problems.unsaid == 2 and len(warned) == 4
    assert problems.summary("in this run") == (
        "yprov-workflows: 2 more recording errors like the above in this run"
    )
    with pytest.raises(RecordingError, match="recording step f failed: OSError"):
        problems.report(OSError(errno.ENOSPC, "No space"), "recording step f", strict=True)
    assert problems.count == 7


def test_a_run_with_nothing_unsaid_has_no_summary_line(tmp_path: Path) -> None:
    warned: list[str] = []
    recorder = Recorder(Settings(), tmp_path / ".yprov", warn=warned.append)
    recorder.start(run_start("r1"))
    recorder.record_step(step(1))
    assert recorder.finish("completed") is not None
    assert warned == []


def test_prefect_task_problems_go_to_the_flows_recorder_or_are_said_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = pytest.importorskip("yprov_prefect.session")
    warned: list[str] = []
    recorder = Recorder(Settings(), tmp_path / ".yprov", warn=warned.append)
    recorder.start(run_start("flow"))
    recording = session.FlowRecording(recorder, tmp_path / ".yprov" / "flow", os.getpid(), "flow")
    token = session.CURRENT.set(recording)
    try:
        for name in ("a", "b", "c"):
            session.report(OSError(errno.ENOSPC, "No space"), f"recording task {name}", Settings())
    finally:
        session.CURRENT.reset(token)
    assert recorder.errors == 3 and len(warned) == 1  # counted in the flow run's document
    document = recorder.finish("completed")
    assert document is not None and RunDocument.load(document).run["ywf:recording_errors"] == 3
    assert warned[-1] == "yprov-workflows: 2 more recording errors like the above in this run"

    elsewhere: list[str] = []  # a task away from its flow's process: once per process
    monkeypatch.setattr(session, "PROBLEMS", Problems(elsewhere.append, "the flow goes on"))
    for name in ("a", "b"):
        session.report(OSError(errno.ENOSPC, "No space"), f"recording task {name}", Settings())
    assert len(elsewhere) == 1 and "the flow goes on" in elsewhere[0]
    with pytest.raises(RecordingError):
        session.report(ValueError("x"), "recording task c", Settings(strict=True))
