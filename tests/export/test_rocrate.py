"""The Workflow Run RO-Crate: read back by the `rocrate` library, valid for roc-validator's
Provenance Run Crate 0.5 profile at the REQUIRED level (offline, see offline_rocrate.py), and
holding what the profile asks for, for both engines and for a killed run."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ExampleRun
from offline_rocrate import SERVED, serve_contexts, validation_issues

from yprov_workflows.assemble import assemble
from yprov_workflows.export import write_rocrate
from yprov_workflows.testing import RunDocument

pytest.importorskip("rocrate_validator")
rocrate = pytest.importorskip("rocrate.rocrate")

COMPLETED = "http://schema.org/CompletedActionStatus"
FAILED = "http://schema.org/FailedActionStatus"


def by_id(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["@id"]: e for e in metadata["@graph"]}


def of_type(metadata: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = []
    for entity in metadata["@graph"]:
        types = entity["@type"] if isinstance(entity["@type"], list) else [entity["@type"]]
        if kind in types:
            found.append(entity)
    return found


def ids(refs: Any) -> list[str]:
    return [r["@id"] for r in (refs if isinstance(refs, list) else [refs])]


@pytest.mark.slow
def test_a_zip_crate_of_each_engine_is_valid_and_complete(
    example: ExampleRun, tmp_path: Path
) -> None:
    target = write_rocrate(example.run.doc, tmp_path / "run.crate.zip", run_id="r1")
    assert validation_issues(target) == []
    crate = rocrate.ROCrate(target)
    workflow = crate.mainEntity
    assert {"File", "SoftwareSourceCode", "ComputationalWorkflow"} <= set(workflow.type)
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        metadata = json.loads(archive.read("ro-crate-metadata.json"))
        document = json.loads(archive.read("r1.prov.json"))
    assert {"ro-crate-metadata.json", "r1.prov.json", workflow.id} == names
    RunDocument(document).assert_valid()
    check_contents(metadata, example.run)


def check_contents(metadata: dict[str, Any], run: RunDocument) -> None:
    entities = by_id(metadata)
    steps = run.steps()
    actions = {a["@id"]: a for a in of_type(metadata, "CreateAction")}
    (organize,) = of_type(metadata, "OrganizeAction")
    controls = of_type(metadata, "ControlAction")
    names = {s["ywf:step_name"] for s in steps}
    assert {c["name"] for c in controls} == {f"orchestrate {n}" for n in names}
    assert sorted(ids(organize["object"])) == sorted(c["@id"] for c in controls)
    engine = entities[ids(organize["instrument"])[0]]
    assert engine["@type"] == "SoftwareApplication" and engine["version"]
    run_action = actions[ids(organize["result"])[0]]
    assert ids(run_action["instrument"]) == ids(entities["./"]["mainEntity"])
    stepped = [a for c in controls for a in ids(c["object"])]
    assert len(stepped) == len(steps) == len(set(stepped))
    (train, *_) = run.steps("train")
    action = actions["#" + train["id"]]
    assert action["actionStatus"] == {"@id": COMPLETED} and "error" not in action
    assert action["startTime"].endswith("+00:00") and action["endTime"] >= action["startTime"]
    inputs = {entities[i]["name"] for i in ids(action["object"])}
    assert "data/train.csv" in inputs and {"lr", "epochs"} & inputs
    outputs = {entities[i]["name"] for i in ids(action["result"])}
    assert any(o.startswith("models/model_lr") for o in outputs)
    usage = {entities[i]["name"]: entities[i] for i in ids(action["resourceUsage"])}
    assert usage["cpu_total_s"]["unitCode"] == {"@id": "http://qudt.org/vocab/unit/SEC"}
    assert usage["cpu_total_s"]["propertyID"].endswith("ns#cpu_total_s")
    assert usage["write_bytes"]["unitCode"] == {"@id": "http://qudt.org/vocab/unit/BYTE"}
    software = {e["name"] for e in of_type(metadata, "SoftwareApplication")}
    assert {"yprov-workflows", str(run.run["prov:label"]).split()[0]} <= software


@pytest.mark.slow
def test_a_folder_crate_of_a_killed_run_marks_its_steps_and_stays_valid(
    incomplete_run: Path, tmp_path: Path
) -> None:
    document = assemble(incomplete_run)
    assert document["activity"][f"run:{incomplete_run.name}"]["ywf:status"] == "incomplete"
    target = write_rocrate(document, tmp_path / "crate", run_id=incomplete_run.name)
    assert target.is_dir() and (target / "ro-crate-metadata.json").is_file()
    assert validation_issues(target) == []
    metadata = json.loads((target / "ro-crate-metadata.json").read_text())
    run_action = by_id(metadata)[f"#run:{incomplete_run.name}"]
    assert run_action["actionStatus"] == {"@id": FAILED}
    assert run_action["error"].startswith("incomplete")
    assert rocrate.ROCrate(target).mainEntity is not None
    cc0 = "https://spdx.org/licenses/CC0-1.0"
    again = write_rocrate(document, target, run_id=incomplete_run.name, license=cc0)
    assert again == target, "an earlier crate is replaced"
    metadata = json.loads((target / "ro-crate-metadata.json").read_text())
    assert by_id(metadata)["./"]["license"] == {"@id": cc0}
    assert by_id(metadata)[cc0]["@type"] == "CreativeWork"
    assert validation_issues(target) == []


def test_the_validator_helper_serves_the_contexts_and_nothing_else() -> None:
    import requests

    with serve_contexts() as requested:
        reply = requests.get("https://w3id.org/ro/crate/1.1/context", timeout=5)
        assert reply.json()["@context"]["File"] == "http://schema.org/MediaObject"
        with pytest.raises(requests.ConnectionError):
            requests.get("https://example.org/", timeout=5)
    assert requested == ["https://w3id.org/ro/crate/1.1/context", "https://example.org"]
    assert set(SERVED) == {
        "https://w3id.org/ro/crate/1.1/context",
        "https://w3id.org/ro/crate/1.2/context",
        "https://w3id.org/ro/crate/1.3/context",
        "https://w3id.org/ro/terms/workflow-run/context",
    }


def test_a_crate_is_not_written_over_a_folder_of_other_files(tmp_path: Path) -> None:
    from yprov_workflows.errors import YProvError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(YProvError, match="not a crate"):
        write_rocrate({"entity": {}}, tmp_path / "mine", run_id="r")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_changed_workflow_file_is_named_but_not_included(
    snakemake_run: ExampleRun, tmp_path: Path
) -> None:
    document = json.loads(json.dumps(snakemake_run.run.doc))
    for entity in document["entity"].values():
        if entity.get("prov:type") == "prov:Plan" and "ywf:path" in entity:
            entity["ywf:sha256"] = "0" * 64
    with pytest.warns(UserWarning, match="has changed since the run"):
        target = write_rocrate(document, tmp_path / "c.zip", run_id="r")
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["r.prov.json", "ro-crate-metadata.json"]
