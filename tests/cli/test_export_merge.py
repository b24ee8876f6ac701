"""`yprov export RUN --merge PATH`: journals kept elsewhere (by a worker that could not reach the
run folder) join the run; a foreign or damaged one changes nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from yprov_workflows.journal import JournalWriter, read_run_journal
from yprov_workflows.records import Agents, RunEnd, RunStart, StepRecord, Usage
from yprov_workflows.testing import RunDocument

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def yprov(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yprov_workflows", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _step(run_id: str, key: str, **extra: object) -> StepRecord:
    fields: dict[str, object] = {
        "run_id": run_id,
        "name": "square",
        "key": key,
        "attempt": 1,
        "started": T0 + timedelta(seconds=1),
        "ended": T0 + timedelta(seconds=2),
        "status": "completed",
        "usage": Usage({"cpu_total_s": 0.5}, "exact", "measured in the worker"),
        "host": "far-node",
    }
    return StepRecord(**(fields | extra))  # type: ignore[arg-type]


def _placeholder(key: str) -> StepRecord:
    return _step(
        "r1",
        key,
        attributes={"decorated": True, "record_missing": "no record reached the run folder"},
        usage=Usage({}, "unmeasured", "its record did not reach the run folder"),
        host=None,
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run whose end wrote a placeholder for the step a worker kept on its side."""
    run = tmp_path / "out" / "r1"
    with JournalWriter(run / "journal.jsonl") as writer:
        writer.append(RunStart("r1", T0, Agents("u", "prefect", "3", "0")))
        writer.append(_step("r1", "near"))
        writer.append(RunEnd("r1", T0 + timedelta(seconds=3), "completed"))
    with JournalWriter(run / "journals" / "~missing.jsonl", lock=False) as writer:
        writer.append(_placeholder("far"))
    return run


def _kept(folder: Path, *records: StepRecord, name: str = "far-node-1-abc-1.jsonl") -> Path:
    with JournalWriter(folder / "journals" / name, lock=False) as writer:
        for record in records:
            writer.append(record)
    return folder / "journals"


def _far_step(document: RunDocument) -> dict[str, object]:
    (step,) = [s for s in document.steps("square") if s["ywf:job_key"] == "far"]
    return step


def test_merge_adds_the_kept_records_over_the_placeholders(run_dir: Path, tmp_path: Path) -> None:
    kept = _kept(tmp_path / "worker" / "r1", _step("r1", "far"), _step("sub-1", "x", parent="r1"))
    result = yprov("export", run_dir, "--merge", kept)
    assert result.returncode == 0, result.stderr
    assert "merged 1 journals" in result.stderr
    run = RunDocument.load(Path(result.stdout.strip()))
    run.assert_valid()
    assert len(run.steps("square")) == 3
    far = _far_step(run)
    assert "ywf:record_missing" not in far and far["ywf:cpu_total_s"] == 0.5
    again = yprov("export", run_dir, "--merge", kept.parent)  # the kept run folder: same journal
    assert again.returncode == 0 and "merged 0 journals" in again.stderr
    assert len(list((run_dir / "journals").glob("*.jsonl"))) == 2


def test_without_merge_the_placeholder_says_why(run_dir: Path) -> None:
    result = yprov("export", run_dir)
    assert result.returncode == 0, result.stderr
    run = RunDocument.load(Path(result.stdout.strip()))
    run.assert_valid()
    assert "no record reached" in str(_far_step(run)["ywf:record_missing"])


def _unchanged(run_dir: Path) -> None:
    assert sorted(p.name for p in (run_dir / "journals").iterdir()) == ["~missing.jsonl"]
    assert len(read_run_journal(run_dir).records) == 4


def test_a_foreign_journal_is_one_error_and_changes_nothing(run_dir: Path, tmp_path: Path) -> None:
    good = _kept(tmp_path / "a", _step("r1", "far"), name="a.jsonl")
    foreign = _kept(tmp_path / "b", _step("r2", "other"), name="b.jsonl")
    result = yprov("export", run_dir, "--merge", good, "--merge", foreign)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "b.jsonl" in line and "run r2" in line and "give the journals of this run" in line
    _unchanged(run_dir)


def test_a_damaged_journal_is_one_error_and_changes_nothing(run_dir: Path, tmp_path: Path) -> None:
    kept = _kept(tmp_path / "w", _step("r1", "far"))
    journal = next(kept.iterdir())
    data = journal.read_bytes()
    journal.write_bytes(data.replace(b"far-node", b"far-nodX"))  # its checksum no longer matches
    result = yprov("export", run_dir, "--merge", journal)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "damaged" in line and str(journal) in line
    _unchanged(run_dir)
    not_journal = tmp_path / "notes.jsonl"
    not_journal.write_text("hello\n")
    assert yprov("export", run_dir, "--merge", not_journal).returncode == 2
    assert yprov("export", run_dir, "--merge", tmp_path / "nowhere").returncode == 2
    _unchanged(run_dir)
