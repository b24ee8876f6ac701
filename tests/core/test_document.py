"""Assembly of journals into documents: valid, linked, and honest about incomplete runs."""

from __future__ import annotations

from pathlib import Path

from records_factory import T0, run_start, step

from yprov_workflows.assemble import assemble, assemble_to_file
from yprov_workflows.journal import JournalWriter
from yprov_workflows.provjson import build_document
from yprov_workflows.records import RunEnd
from yprov_workflows.testing import RunDocument
from yprov_workflows.vocabulary import NAMESPACES, artifact_id


def _journal(run_dir: Path, *records: object) -> None:
    with JournalWriter(run_dir / "journal.jsonl") as writer:
        for record in records:
            writer.append(record)  # type: ignore[arg-type]


def test_steps_are_linked_through_one_entity_per_file_version(tmp_path: Path) -> None:
    steps = [
        step(1, outputs=("a.csv",)),
        step(2, inputs=("a.csv",), outputs=("m.json",)),
        step(3, inputs=("a.csv", "m.json")),
    ]
    doc = RunDocument(
        build_document(run_start(), steps, RunEnd("r1", T0.replace(hour=13), "completed"))
    )
    doc.assert_valid()
    producer, trainer, evaluator = doc.steps()
    assert doc.generator_of("a.csv")["id"] == producer["id"]
    assert doc.inputs_of(trainer) == {"a.csv"}
    assert doc.inputs_of(evaluator) == {"a.csv", "m.json"}
    files = [e for e in doc.doc["entity"].values() if e.get("ywf:path") == "a.csv"]
    assert len(files) == 1
    assert doc.params_of(trainer) == {"lr": 0.1, "epochs": 3, "name": "x"}


def test_identifiers_are_stable_and_namespaces_absolute() -> None:
    assert artifact_id("a.csv", "ff" * 32) == artifact_id("a.csv", "ff" * 32)
    assert artifact_id("a.csv", "ff" * 32) != artifact_id("b.csv", "ff" * 32)
    assert all(iri.startswith(("http://", "https://")) for iri in NAMESPACES.values())


def test_a_run_without_end_is_incomplete_and_ends_at_its_last_step(tmp_path: Path) -> None:
    _journal(tmp_path, run_start(), step(1), step(5))
    doc = RunDocument(assemble(tmp_path))
    doc.assert_valid()
    assert doc.run["ywf:status"] == "incomplete"
    assert doc.run["prov:endTime"] == doc.steps()[-1]["prov:endTime"]


def test_failed_attempt_claims_no_outputs_and_the_retry_does(tmp_path: Path) -> None:
    _journal(
        tmp_path,
        run_start(),
        step(1, outputs=("o",), status="failed"),
        step(2, outputs=("o",), attempt=2),
        RunEnd("r1", T0.replace(hour=13), "completed"),
    )
    path = assemble_to_file(tmp_path)
    doc = RunDocument.load(path)
    doc.assert_valid()
    failed, retried = doc.steps()
    assert doc.outputs_of(failed) == set() and doc.outputs_of(retried) == {"o"}


def test_the_same_file_version_generated_twice_is_counted_not_duplicated() -> None:
    doc = build_document(run_start(), [step(1, outputs=("o",)), step(2, outputs=("o",))], None)
    RunDocument(doc).assert_valid()
    run = next(a for a in doc["activity"].values() if a.get("ywf:run_id"))
    assert run["ywf:duplicate_generations"] == 1
