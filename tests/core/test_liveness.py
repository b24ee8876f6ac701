"""A run that is still being recorded is never taken for a killed one (issue 8, item 8); a killed
one is assembled by the next run, which says so in one line (item 24)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from records_factory import run_start, step

from yprov_workflows.journal import JournalWriter
from yprov_workflows.liveness import FILENAME, Owner, OwnerLock, pid_start, still_recording
from yprov_workflows.recorder import Recorder
from yprov_workflows.runs import document_path, journal_path
from yprov_workflows.settings import Settings
from yprov_workflows.testing import RunDocument

HOLDER = """
import sys
from pathlib import Path
from yprov_workflows.liveness import OwnerLock
OwnerLock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


def _journal(run_dir: Path) -> None:
    """An unfinished run: a start and a step, no end, no document."""
    with JournalWriter(journal_path(run_dir)) as writer:
        writer.append(run_start(run_dir.name))
        writer.append(step(1, run_id=run_dir.name))


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A run folder whose recording process (another process) is alive and holds the lock."""
    run_dir = tmp_path / ".yprov" / "live"
    command = [sys.executable, "-c", HOLDER, str(run_dir)]
    holder = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    _journal(run_dir)
    yield run_dir, holder
    holder.kill()
    holder.wait()


def _recorder(out_dir: Path, warned: list[str]) -> Recorder:
    return Recorder(Settings(strict=True), out_dir, warn=warned.append)


def test_a_live_run_is_left_alone_and_a_killed_one_is_assembled_once(
    live_run: tuple[Path, subprocess.Popen[str]],
) -> None:
    run_dir, holder = live_run
    assert "holds" in (still_recording(run_dir) or "")
    warned: list[str] = []
    recorder = _recorder(run_dir.parent, warned)
    recorder.start(run_start("second"))
    assert not document_path(run_dir).exists(), "a live run was assembled as if killed"
    assert recorder.finish("completed") is not None
    assert warned == []

    os.kill(holder.pid, signal.SIGKILL)  # kill -9: the kernel drops the lock
    holder.wait()
    assert still_recording(run_dir) is None
    third = _recorder(run_dir.parent, warned)
    third.start(run_start("third"))
    (line,) = warned
    assert line == (
        "yprov-workflows: the run live did not finish (killed?): assembled its document, "
        f"marked incomplete: {document_path(run_dir)}"
    )
    recovered = RunDocument.load(document_path(run_dir))
    recovered.assert_valid()
    assert recovered.run["ywf:status"] == "incomplete"
    assert third.finish("completed") is not None
    assert len(warned) == 1


def _owner_file(run_dir: Path, **owner: object) -> None:
    mine = Owner.me()
    data = {"host": mine.host, "pid": mine.pid, "pid_start": mine.pid_start, **owner}
    (run_dir / FILENAME).write_text(json.dumps(data))


def test_without_a_lock_the_owners_pid_and_start_time_decide(tmp_path: Path) -> None:
    """Where locks are not kept: a live owner (same pid, same start time) is alive; a reused
    pid (another start time) or a dead pid is not; another host cannot be checked."""
    run_dir = tmp_path / "run"
    _journal(run_dir)
    _owner_file(run_dir)
    assert f"process {os.getpid()} is alive" in (still_recording(run_dir) or "")
    _owner_file(run_dir, pid_start=(pid_start(os.getpid()) or 0) + 1)
    assert still_recording(run_dir) is None
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    _owner_file(run_dir, pid=int(dead.stdout))
    assert still_recording(run_dir) is None
    _owner_file(run_dir, host="elsewhere.example")
    assert "recorded on host elsewhere.example" in (still_recording(run_dir) or "")
    warned: list[str] = []
    recorder = _recorder(tmp_path, warned)
    recorder.start(run_start("next"))
    assert not document_path(run_dir).exists(), "a run on another host is left to yprov export"


def test_a_run_without_owner_file_is_recovered_as_before(tmp_path: Path) -> None:
    run_dir = tmp_path / "old"
    _journal(run_dir)
    assert still_recording(run_dir) is None
    _owner_file(run_dir)
    (run_dir / FILENAME).write_text("half-writ")  # the owner died while writing itself
    assert still_recording(run_dir) is None
    (run_dir / FILENAME).unlink()
    warned: list[str] = []
    _recorder(tmp_path, warned).start(run_start("next"))
    assert document_path(run_dir).exists() and len(warned) == 1


def test_the_owner_holds_the_lock_until_the_run_ends(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, [])
    recorder.start(run_start("r1"))
    run_dir = tmp_path / "r1"
    assert f"holds {run_dir / FILENAME}" in (still_recording(run_dir) or "")
    owner = json.loads((run_dir / FILENAME).read_text())
    assert owner == {"host": Owner.me().host, "pid": os.getpid(), "pid_start": Owner.me().pid_start}
    with pytest.raises(BlockingIOError):
        OwnerLock.acquire(run_dir)
    recorder.record_step(step(1))
    assert recorder.finish("completed") is not None
    assert not (run_dir / FILENAME).exists()
    assert still_recording(run_dir) is None


def test_export_of_a_live_run_warns_that_it_is_a_snapshot(
    live_run: tuple[Path, subprocess.Popen[str]],
) -> None:
    run_dir, _ = live_run
    command = [sys.executable, "-m", "yprov_workflows", "export", str(run_dir)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "still going" in x]
    assert line.startswith("yprov: warning: the run in") and "snapshot" in line
    document = RunDocument.load(Path(result.stdout.strip()))
    document.assert_valid()
    assert document.run["ywf:status"] == "incomplete"
