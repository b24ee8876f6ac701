"""Steps journaled in batches by a background thread (`yprov_workflows.batched`): every record
is written once and in order, soon after its step ended, and a problem is counted (or raised in
strict mode); the owner's kept records assemble the same document as its journal read back."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from records_factory import run_start, step

from yprov_workflows import batched
from yprov_workflows.assemble import assemble_to_file
from yprov_workflows.errors import RecordingError
from yprov_workflows.journal import JournalWriter, read_journal
from yprov_workflows.recorder import Recorder
from yprov_workflows.records import RunEnd, StepRecord
from yprov_workflows.settings import Settings
from yprov_workflows.testing import RunDocument


def _recorder(tmp_path: Path, strict: bool = False, said: list[str] | None = None) -> Recorder:
    settings = dataclasses.replace(Settings.from_env(), strict=strict)
    warn = (lambda message: None) if said is None else said.append
    recorder = Recorder(settings, tmp_path / ".yprov", warn=warn)
    recorder.start(run_start())
    recorder.batch_steps()
    return recorder


def _steps(recorder: Recorder) -> list[str]:
    assert recorder.run_dir is not None
    records = read_journal(recorder.run_dir / "journal.jsonl").records
    return [r.key for r in records if isinstance(r, StepRecord)]


def test_queued_and_direct_steps_are_written_once_in_their_order(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    for number in range(30):
        if number % 3:
            recorder.record_later(lambda n=number: step(n))  # type: ignore[misc]
        else:
            recorder.record_step(step(number))
    assert recorder.finish("completed") is not None
    assert _steps(recorder) == [f"key{n}" for n in range(30)]
    assert recorder.steps == 30


def test_queueing_a_record_never_waits_for_the_writer_thread(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    recorder.record_later(lambda: step(0))
    time.sleep(0.05)  # the writer woke for it and gathers its batch (not waiting for records)
    queued = threading.Thread(target=lambda: [recorder.record_later(lambda: step(1))])
    with recorder._batched._lock:  # type: ignore[union-attr]  # the writer held it here
        queued.start()
        queued.join(2)
        assert not queued.is_alive(), "a task's record waited for the writer's lock"
    recorder.finish("completed")
    assert _steps(recorder) == ["key0", "key1"]


def test_a_queued_step_reaches_the_journal_before_the_run_ends(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    recorder.record_later(lambda: step(1))
    deadline = time.monotonic() + 10 * batched.INTERVAL_S + 5
    while not _steps(recorder) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _steps(recorder) == ["key1"]  # what a kill of the process a moment later keeps
    recorder.finish("completed")


def test_a_failing_build_is_counted_and_the_others_are_written(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)

    def broken() -> StepRecord:
        raise ValueError("no record")

    recorder.record_later(lambda: step(1))
    recorder.record_later(broken)
    recorder.record_later(lambda: step(2))
    document = recorder.finish("completed")
    assert _steps(recorder) == ["key1", "key2"]
    assert document is not None
    assert RunDocument.load(document).run["ywf:recording_errors"] == 1


def test_in_strict_mode_a_failing_build_is_raised_when_the_run_finishes(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, strict=True)

    def broken() -> StepRecord:
        raise ValueError("no record")

    recorder.record_later(broken)
    with pytest.raises(RecordingError, match="no record"):
        recorder.finish("completed")


def test_the_kept_records_assemble_the_document_the_journal_does(tmp_path: Path) -> None:
    run_dir = tmp_path / "r1"
    writer = JournalWriter(run_dir / "journal.jsonl", lock=False)
    writer.keep_written(100)
    writer.append(run_start())
    writer.append_all([step(n, inputs=("a",), outputs=(f"o{n}",)) for n in range(5)])
    writer.append(step(1))  # the same step again: kept once, as when read back
    writer.append(RunEnd("r1", step(9).ended, "completed"))
    writer.close()
    assert writer.kept is not None
    kept = assemble_to_file(run_dir, tmp_path / "kept.json", owner=writer.kept)
    read = assemble_to_file(run_dir, tmp_path / "read.json")
    assert kept.read_bytes() == read.read_bytes()


def test_records_are_not_kept_beyond_the_limit_or_after_a_failed_write(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "journal.jsonl", lock=False)
    writer.keep_written(3)
    writer.append_all([step(n) for n in range(3)])
    assert writer.kept is not None and len(writer.kept) == 3
    writer.append(step(4))
    assert writer.kept is None  # the end reads the journal back
    failing = JournalWriter(tmp_path / "other.jsonl", lock=False)
    failing.keep_written(10)
    failing.close()  # its descriptor is gone: the next write fails
    with pytest.raises(OSError):
        failing.append(step(1))
    assert failing.kept is None


def test_a_reopened_journal_keeps_nothing(tmp_path: Path) -> None:
    """A retried flow run reopens its journal: what a new writer keeps would lack the earlier
    attempts' records, so the end reads the journal back."""
    with JournalWriter(tmp_path / "journal.jsonl", lock=False) as first:
        first.append(step(1))
    again = JournalWriter(tmp_path / "journal.jsonl", lock=False)
    again.keep_written(10)
    again.append(step(2))
    assert again.kept is None
    again.close()


def test_batches_that_cannot_be_written_are_warned_about_once(tmp_path: Path) -> None:
    said: list[str] = []
    recorder = _recorder(tmp_path, said=said)
    assert recorder._journal is not None
    recorder._journal.close()  # every later write fails, as on a full disk
    recorder.record_later(lambda: step(1))
    deadline = time.monotonic() + 10 * batched.INTERVAL_S + 5
    while recorder.errors == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    for number in range(2, 5):  # a second batch, of another size
        recorder.record_later(lambda n=number: step(n))  # type: ignore[misc]
    recorder.finish("completed")
    assert recorder.errors >= 2
    assert sum("recording a batch of steps failed" in message for message in said) == 1
