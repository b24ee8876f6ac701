"""How tracked values map to PROV (provjson): series entities, hyper-parameters, artifacts."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from core.records_factory import T0, run_start, step  # tests/ is on sys.path

from yprov_workflows.provjson import build_document
from yprov_workflows.records import Artifact, FileRecord, MetricSeries, RunEnd
from yprov_workflows.testing import RunDocument

MODEL = FileRecord("model.json", "ab" * 32, 2)
DATA = FileRecord("data.csv", "cd" * 32, 5)
SERIES = MetricSeries(
    name="loss",
    context="training",
    unit=None,
    source="torch",
    file=FileRecord("tracking/s/metrics/loss@training.csv", "ef" * 32, 90),
    count=3,
    first=1.0,
    last=0.25,
    min=0.25,
    max=1.0,
    min_step=2,
    max_step=0,
)


def document() -> RunDocument:
    train = dataclasses.replace(
        step(1),
        inputs=(DATA,),
        outputs=(MODEL,),
        params={"lr": 0.1},
        hyperparams={"lr": 0.1, "epochs": 3},
        metrics=(SERIES,),
        artifacts=(Artifact(MODEL, is_model=True), Artifact(DATA, is_input=True, name="data")),
        tracking_missing={"system_gpu": "no NVIDIA GPU found"},
    )
    doc = build_document(run_start(), [train], RunEnd("r1", T0 + timedelta(1), "completed"))
    run = RunDocument(doc)
    run.assert_valid()
    return run


def test_a_series_is_one_entity_with_its_summary_and_file() -> None:
    run = document()
    (train,) = run.steps()
    (ident,) = [k for k, e in run.doc["entity"].items() if "provml:Metric" in e["prov:type"]]
    series = run.entity(ident)
    assert series["prov:type"] == ["provml:Metric", "ywf:MetricSeries"]
    assert series["ywf:path"] == series["dcterms:identifier"] == SERIES.file.path
    assert (series["ywf:count"], series["ywf:min"], series["ywf:min_step"]) == (3, 0.25, 2)
    assert series["provml:context"] == "training" and "ywf:unit" not in series
    assert series["ywf:format"].startswith("text/csv")
    assert run.outputs_of(train, "ywf:metric") == {"loss"}
    assert train["ywf:missing_system_gpu"] == "no NVIDIA GPU found"
    assert run.doc["prefix"]["provml"] == "https://w3id.org/yprov-workflows/provml#"


def test_hyperparameters_share_the_parameter_entity_of_the_same_value() -> None:
    run = document()
    (train,) = run.steps()
    lr = [e for e in run.doc["entity"].values() if e.get("prov:label") == "lr"]
    assert len(lr) == 1 and lr[0]["prov:type"] == ["ywf:Parameter", "provml:HyperParameter"]
    assert run.params_of(train) == {"lr": 0.1}
    assert run.inputs_of(train, "ywf:hyperparameter") == {"lr", "epochs"}


def test_a_logged_output_is_generated_once_and_typed_as_a_model() -> None:
    run = document()
    (train,) = run.steps()
    assert run.run["ywf:duplicate_generations"] == 0
    assert run.outputs_of(train) == {"model.json"}  # the output generation is kept
    model = next(e for e in run.doc["entity"].values() if e.get("ywf:path") == "model.json")
    assert model["prov:type"] == ["ywf:File", "provml:Model"]
    assert run.inputs_of(train, "ywf:artifact") == {"data.csv"}
