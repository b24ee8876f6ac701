"""The example ML pipeline (the quick start's main job) runs and leaves a connected document."""

from __future__ import annotations

from pathlib import Path

from smk_helpers import latest, ok, snakemake

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
