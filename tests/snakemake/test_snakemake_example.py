"""The example ML pipeline (the quick start's main job) runs and leaves a connected document."""

from __future__ import annotations

from pathlib import Path

from smk_helpers import latest, ok, snakemake

from yprov_workflows.testing import RunDocument
from yprov_workflows.tracking.read import find_series, open_source, params_by_activity, read_series

SNAKEFILE = Path(__file__).resolve().parents[2] / "examples" / "ml_pipeline" / "Snakefile"


def test_the_ml_pipeline_example(tmp_path: Path) -> None:
    ok(snakemake(tmp_path, "--snakefile", str(SNAKEFILE), "--directory", str(tmp_path)))
    run = latest(tmp_path)
    names = sorted(s["ywf:step_name"] for s in run.steps())
    assert names == ["all", "evaluate", "evaluate", "prepare_data", "report", "train", "train"]
    (prepare,) = run.steps("prepare_data")
    for train in run.steps("train"):
        trained_on = {run.generator_of(path)["id"] for path in run.inputs_of(train)}
        assert trained_on == {prepare["id"]}
        assert train["ywf:cpu_total_s"] > 0 and train["ywf:usage_source"] == "wait4"
        assert "ywf:missing_gpu" in train  # this machine has no GPU, and the step says why
    (report,) = run.steps("report")
    assert {run.generator_of(p)["ywf:step_name"] for p in run.inputs_of(report)} == {"evaluate"}
    check_logged_training(run, tmp_path / ".yprov")


def check_logged_training(run: RunDocument, out: Path) -> None:
    """What the training code logged: per-epoch series, hyper-parameters and the model, on each
    train step; the two learning rates compared; the test scores on each evaluate step."""
    _, run_dir = open_source(out)
    hyper = params_by_activity(run.doc)
    final_loss = {}
    for train in run.steps("train"):
        lr = hyper[train["id"]]["learning_rate"]
        assert hyper[train["id"]]["epochs"] == 150
        refs = {(r.name, r.context): r for r in find_series(run.doc) if r.activity == train["id"]}
        assert {("loss", "validation"), ("accuracy", "validation"), ("cpu_s", "system")} <= set(
            refs
        )
        loss = read_series(run_dir, refs[("loss", "training")]) or []
        assert [point[0] for point in loss] == list(range(150))
        assert loss[-1][1] < loss[0][1]
        final_loss[lr] = loss[-1][1]
        (model,) = run.outputs_of(train, "ywf:output")  # also logged: generated once
        assert model == f"models/model_lr{lr}.json"
    assert final_loss[0.5] < final_loss[0.05]  # the larger rate got further in 150 epochs
    for evaluate in run.steps("evaluate"):
        names = {
            r.name for r in find_series(run.doc, context="test") if r.activity == evaluate["id"]
        }
        assert names == {"accuracy", "precision", "recall", "log_loss"}
