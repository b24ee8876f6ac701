"""Directories are collections of their files; benchmark files are generated like logs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from records_factory import T0, run_start, step

from yprov_workflows.assemble import assemble
from yprov_workflows.journal import JournalWriter
from yprov_workflows.provjson import build_document
from yprov_workflows.records import FileRecord, RunEnd, StepRecord, from_json, to_json, to_line
from yprov_workflows.testing import RunDocument

P1 = FileRecord("parts/p1.txt", "1" * 64, 1)
P2 = FileRecord("parts/p2.txt", "2" * 64, 1)
PARTS = FileRecord("parts", "d" * 64, 2, "directory", (P1, P2))
BENCH = FileRecord("bench/split.tsv", "b" * 64, 120)


def _steps() -> list[StepRecord]:
    split = dataclasses.replace(step(1), outputs=(PARTS,), benchmarks=(BENCH,))
    total = dataclasses.replace(step(2), inputs=(P1, P2))
    whole = dataclasses.replace(step(3), inputs=(PARTS,))
    return [split, total, whole]


def _document(steps: list[StepRecord]) -> RunDocument:
    end = RunEnd("r1", T0.replace(hour=13), "completed")
    document = RunDocument(build_document(run_start(), steps, end))
    document.assert_valid()
    return document


def test_a_directory_generates_its_members_and_holds_them() -> None:
    document = _document(_steps())
    split, total, whole = document.steps()
    assert document.outputs_of(split) == {"parts", "parts/p1.txt", "parts/p2.txt"}
    assert document.generator_of("parts/p1.txt")["id"] == split["id"]
    assert document.inputs_of(total) == {"parts/p1.txt", "parts/p2.txt"}
    assert document.inputs_of(whole) == {"parts"}
    relations = list(document.doc["hadMember"].values())
    assert {r["prov:collection"] for r in relations} == {whole_input(document, whole)}
    directory = document.entity(relations[0]["prov:collection"])
    assert directory["prov:type"] == ["ywf:Directory", "prov:Collection"]
    labels = sorted(document.entity(r["prov:entity"])["ywf:path"] for r in relations)
    assert labels == ["parts/p1.txt", "parts/p2.txt"], "one membership per file, declared once"
    assert document.run["ywf:duplicate_generations"] == 0


def whole_input(document: RunDocument, whole: dict[str, object]) -> str:
    (used,) = [
        r
        for r in document.doc["used"].values()
        if r["prov:activity"] == whole["id"] and r["prov:role"] == "ywf:input"
    ]
    return str(used["prov:entity"])


def test_benchmark_files_are_generated_with_their_own_role() -> None:
    document = _document(_steps())
    split = document.steps()[0]
    assert document.outputs_of(split, "ywf:benchmark") == {"bench/split.tsv"}


def test_members_left_out_are_counted_on_the_directory() -> None:
    capped = dataclasses.replace(PARTS, members=(P1,), members_left_out=1)
    document = _document([dataclasses.replace(step(1), outputs=(capped,))])
    (directory,) = [e for e in document.doc["entity"].values() if e.get("ywf:path") == "parts"]
    assert directory["ywf:members_left_out"] == 1
    assert "first 1 files" in directory["ywf:members_note"]


def test_members_and_benchmarks_survive_the_journal(tmp_path: Path) -> None:
    steps = _steps()
    assert from_json(json.loads(to_line(steps[0]))) == steps[0]
    assert from_json(to_json(steps[0])) == steps[0]
    with JournalWriter(tmp_path / "journal.jsonl") as writer:
        writer.append(run_start())
        for record in steps:
            writer.append(record)
    document = RunDocument(assemble(tmp_path))
    document.assert_valid()
    assert document.generator_of("parts/p2.txt")["id"] == document.steps()[0]["id"]


def test_a_journal_line_written_before_members_and_benchmarks_still_reads() -> None:
    line = json.loads(to_line(step(1, outputs=("a.csv",))))
    del line["benchmarks"]
    for record in line["outputs"]:
        del record["members"], record["members_left_out"]
    old = from_json(line)
    assert isinstance(old, StepRecord)
    assert old.benchmarks == () and old.outputs[0].members == ()
    hash(old.outputs[0])
