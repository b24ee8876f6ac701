"""The Prefect example pipeline runs and leaves a document of the Snakemake example's shape."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from yprov_workflows.testing import RunDocument
from yprov_workflows.tracking.read import find_series, open_source, params_by_activity, read_series

PIPELINE = Path(__file__).resolve().parents[2] / "examples" / "ml_pipeline_prefect" / "pipeline.py"


def test_the_prefect_ml_pipeline_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("ml_pipeline_prefect", PIPELINE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--workdir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "provenance: " in printed
    assert "loss[training]=" in printed and "learning_rate=0.05" in printed  # the summary
    run = RunDocument.latest(tmp_path)
    run.assert_valid()
    names = sorted(s["ywf:step_name"] for s in run.steps())
    assert names == ["evaluate", "evaluate", "prepare_data", "report", "train", "train"]
    (prepare,) = run.steps("prepare_data")
    for train in run.steps("train"):
        assert {run.generator_of(p)["id"] for p in run.inputs_of(train)} == {prepare["id"]}
        assert run.params_of(train)["lr"] in (0.05, 0.5)
        assert train["ywf:cpu_total_s"] > 0
    (report,) = run.steps("report")
    assert {run.generator_of(p)["ywf:step_name"] for p in run.inputs_of(report)} == {"evaluate"}
    check_logged_training(run, tmp_path / ".yprov")


def check_logged_training(run: RunDocument, out: Path) -> None:
    """What the training code logged lands on the train task runs, as on the Snakemake jobs."""
    _, run_dir = open_source(out)
    hyper = params_by_activity(run.doc)
    final_loss = {}
    for train in run.steps("train"):
        lr = hyper[train["id"]]["learning_rate"]
        refs = {(r.name, r.context): r for r in find_series(run.doc) if r.activity == train["id"]}
        assert {("loss", "validation"), ("accuracy", "validation"), ("cpu_s", "system")} <= set(
            refs
        )
        loss = read_series(run_dir, refs[("loss", "training")]) or []
        assert [point[0] for point in loss] == list(range(150))
        final_loss[lr] = loss[-1][1]
        assert run.outputs_of(train, "ywf:output") == {f"models/model_lr{lr}.json"}
    assert final_loss[0.5] < final_loss[0.05]  # the larger rate got further in 150 epochs
    for evaluate in run.steps("evaluate"):
        names = {
            r.name for r in find_series(run.doc, context="test") if r.activity == evaluate["id"]
        }
        assert names == {"accuracy", "precision", "recall", "log_loss"}
