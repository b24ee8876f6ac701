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
    assert missing.returncode == 2 and "does not exist" in missing.stderr
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


def test_export_of_the_current_folder_names_the_document_after_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "20260101T000000Z-abcdef"
    with JournalWriter(run_dir / "journal.jsonl") as writer:
        writer.append(_start())
    command = [sys.executable, "-m", "yprov_workflows", "export", "."]
    result = subprocess.run(command, cwd=run_dir, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "20260101T000000Z-abcdef.prov.json\n"
    assert (run_dir / "20260101T000000Z-abcdef.prov.json").is_file()


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


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert result.stderr.startswith("yprov: error: ") and result.stderr.count("\n") == 1
    return result.stderr


def test_export_says_what_is_wrong_with_the_run_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    assert "nope does not exist" in _one_error(yprov("export", str(tmp_path / "nope")))
    assert "is a file, not a run folder" in _one_error(yprov("export", str(tmp_path / "file")))
    no_journal = _one_error(yprov("export", str(tmp_path / "empty")))
    assert "has no journal.jsonl: not a run folder" in no_journal
    with JournalWriter(tmp_path / "run" / "journal.jsonl") as writer:
        writer.append(_start())
    into_missing = yprov("export", str(tmp_path / "run"), "-o", str(tmp_path / "no" / "d.json"))
    assert "does not exist" in _one_error(into_missing)
    into_folder = yprov("export", str(tmp_path / "run"), "-o", str(tmp_path / "empty"))
    assert "is a folder" in _one_error(into_folder)
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "empty",
        "file",
        "journal.jsonl",
        "run",
    ], "nothing written on bad input"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("null", "holds JSON null at the top level"),
        ("[1]", "holds JSON array at the top level"),
        (
            '{"entity": 5}',
            "'entity' must be an object mapping identifiers to records, found a number",
        ),
        ('{"entity": {"a": 5}}', "found a number for 'a'"),
        ('{"activity": {"a": [5]}}', "found an array holding a number for 'a'"),
        (
            '{"activity": []}',
            "'activity' must be an object mapping identifiers to records, found an array",
        ),
        ('{"bundle": {"b": {"used": {"u": null}}}}', "in bundle 'b': 'used' must map identifiers"),
        (
            '{"prefix": {"ex": 1}}',
            "'prefix' must map prefixes to IRI strings, found a number for 'ex'",
        ),
        ('{"name": "x"}', "'name' is not a PROV-JSON key"),
    ],
)
def test_show_names_what_is_not_prov_json(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "doc.json"
    path.write_text(content)
    assert message in _one_error(yprov("show", str(path)))


def test_show_into_a_closed_pipe_exits_quietly_like_cat(tmp_path: Path) -> None:
    steps = {
        f"s{i}": {"prov:type": "wfprov:ProcessRun", "ywf:step_name": f"step{i:05}"}
        for i in range(20_000)
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"activity": steps}))
    script = '"$0" -m yprov_workflows show "$1" 2>"$2" | head -1; exit "${PIPESTATUS[0]}"'
    command = ["bash", "-c", script, sys.executable, str(path), str(tmp_path / "err")]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.stdout.startswith("run ?") and result.stdout.count("\n") == 1
    assert (tmp_path / "err").read_text() == "", "no message when the reader goes away"
    assert result.returncode == 141, "the status of a program killed by SIGPIPE, as cat gives"


def test_an_unexpected_exception_is_one_line_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from yprov_workflows import cli
    from yprov_workflows.cli import query

    def broken(graph: object) -> list[str]:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(query, "summarize_run", broken)
    path = tmp_path / "doc.json"
    path.write_text("{}")
    result = CliRunner().invoke(cli.main, ["show", str(path)])
    assert result.exit_code == 2
    assert (
        result.stderr == "yprov: internal error: RuntimeError: boom second line (please report)\n"
    )
