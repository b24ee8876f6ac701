"""The Prefect example pipeline runs and leaves a document of the Snakemake example's shape."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from yprov_workflows.testing import RunDocument

PIPELINE = Path(__file__).resolve().parents[2] / "examples" / "ml_pipeline_prefect" / "pipeline.py"


def test_the_prefect_ml_pipeline_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("ml_pipeline_prefect", PIPELINE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--workdir", str(tmp_path)])
    assert "provenance: " in capsys.readouterr().out
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
