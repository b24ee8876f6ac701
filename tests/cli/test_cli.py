"""The `yprov` command: exit 0 valid, 1 invalid, 2 unreadable input, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from yprov_workflows.journal import JournalWriter
from yprov_workflows.provjson import build_document
from yprov_workflows.records import Agents, RunStart
from yprov_workflows.runs import write_document


def yprov(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yprov_workflows", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _start() -> RunStart:
    from datetime import UTC, datetime

    return RunStart("r1", datetime(2026, 1, 1, tzinfo=UTC), Agents("u", "snakemake", "9", "0"))


def test_validate_accepts_a_valid_document(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    write_document(path, build_document(_start(), [], None))
    result = yprov("validate", str(path))
    assert result.returncode == 0 and "valid" in result.stdout


def test_validate_reports_an_invalid_document(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    doc = build_document(_start(), [], None)
    doc["used"] = {"_:u1": {"prov:activity": "run:nope", "prov:entity": "artifact:nope"}}
    path.write_text(json.dumps(doc))
    result = yprov("validate", str(path))
    assert result.returncode == 1
    assert "structure:" in result.stdout and "invalid" in result.stderr


@pytest.mark.parametrize("content", ["{", "[1, 2]", "\x00\xff"])
def test_malformed_input_is_one_line_and_exit_2(tmp_path: Path, content: str) -> None:
    path = tmp_path / "doc.json"
    path.write_text(content, encoding="latin-1")
    result = yprov("validate", str(path))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_export_errors_are_one_line(tmp_path: Path) -> None:
    missing = yprov("export", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a run folder" in missing.stderr
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "journal.jsonl").write_text("not json\n")
    corrupt = yprov("export", str(tmp_path / "run"))
    assert corrupt.returncode == 2 and len(corrupt.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "run").glob("*.prov.json")), "nothing written on bad input"


def test_export_writes_where_asked(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "run" / "journal.jsonl") as writer:
        writer.append(_start())
    target = tmp_path / "out.json"
    result = yprov("export", str(tmp_path / "run"), "-o", str(target))
    assert result.returncode == 0 and result.stdout.strip() == str(target)
    assert yprov("validate", str(target)).returncode == 0


def test_show_sums_energy_or_says_why_there_is_none(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from yprov_workflows.records import RunEnd, StepRecord, Usage

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    figures = {"cpu_total_s": 2.0, "gpu_energy_j": 1200.25, "cpu_energy_attributed_j": 30.0}
    measured = Usage(figures, "wait4")
    missing = Usage({"cpu_total_s": 1.0}, "wait4", missing={"gpu": "no NVIDIA GPU found"})
    steps = [
        StepRecord("r1", "train", f"k{i}", 1, t0, t0, "completed", usage=usage)
        for i, usage in enumerate([measured, measured])
    ]
    path = tmp_path / "doc.json"
    write_document(path, build_document(_start(), steps, RunEnd("r1", t0, "completed")))
    result = yprov("show", str(path))
    assert "energy: GPU 2400.5 J; CPU 60.0 J (attributed estimate)" in result.stdout
    step = StepRecord("r1", "prep", "k9", 1, t0, t0, "completed", usage=missing)
    write_document(path, build_document(_start(), [step], RunEnd("r1", t0, "completed")))
    result = yprov("show", str(path))
    assert "energy: GPU none (no NVIDIA GPU found); CPU not measured" in result.stdout
