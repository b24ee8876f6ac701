"""Standalone runs (`yp.run`, `start_run`/`end_run`) and the yProv4ML facade, outside and inside
a workflow step."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
from engine import MiniEngine

import yprov_workflows as yp
from yprov_workflows.testing import RunDocument
from yprov_workflows.tracking.read import find_series, read_series


def metric_entities(document: RunDocument) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {
        (e["prov:label"], e.get("provml:context")): e
        for e in document.doc["entity"].values()
        if "provml:Metric" in e.get("prov:type", [])
    }


def test_a_standalone_run_records_the_block_as_its_one_step(
    tmp_path: Path, caplog: Any, capsys: Any
) -> None:
    model = tmp_path / "model.json"
    with yp.run("train", out_dir=tmp_path / "prov", params={"lr": 0.01}) as run:
        yp.log_param("batch_size", 64)
        for epoch in range(3):
            yp.log_metric("loss", 1 / (epoch + 1), step=epoch, context="training")
        model.write_text("{}")
        yp.log_artifact(model, is_model=True)
    assert run.document is not None and run.run_dir is not None
    document = RunDocument.load(run.document)
    document.assert_valid()
    assert document.run["ywf:status"] == "completed"
    (step,) = document.steps("train")
    assert step["ywf:usage_source"] == "rusage_self+children" and step["ywf:cpu_total_s"] >= 0
    assert document.inputs_of(step, "ywf:hyperparameter") == {"lr", "batch_size"}
    assert document.outputs_of(step, "ywf:model") == {str(model)}
    (loss,) = metric_entities(document).values()
    assert (loss["ywf:count"], loss["ywf:last"], loss["provml:context"]) == (3, 1 / 3, "training")
    engine = next(a for a in document.doc["agent"].values() if a["prov:label"] == "python")
    assert engine["prov:type"] == "prov:SoftwareAgent"
    assert (tmp_path / "prov" / "latest.prov.json").exists()
    assert capsys.readouterr() == ("", "")  # nothing printed


def test_start_and_end_run_and_a_failing_block(tmp_path: Path) -> None:
    handle = yp.start_run("fit", out_dir=tmp_path)
    yp.log_metric("loss", 0.5)
    document_path = yp.end_run()
    assert document_path == handle.document and document_path is not None
    RunDocument.load(document_path).assert_valid()
    with pytest.raises(ZeroDivisionError), yp.run("broken", out_dir=tmp_path) as broken:
        yp.log_metric("loss", 1.0)
        1 / 0  # noqa: B018
    assert broken.document is not None
    failed = RunDocument.load(broken.document)
    failed.assert_valid()
    assert failed.steps()[0]["ywf:status"] == "failed"
    with pytest.warns(UserWarning, match="no run was started"):
        assert yp.end_run() is None


def test_a_run_inside_a_workflow_step_joins_the_step(tmp_path: Path) -> None:
    engine = MiniEngine(tmp_path / "out")
    step = engine.open("train")
    with step.channel.active(), yp.run("experiment", out_dir=tmp_path / "elsewhere") as run:
        yp.log_metric("loss", 0.1)
    assert run.joined and run.document is None
    assert not (tmp_path / "elsewhere").exists()
    record = engine.record(step)
    engine.finish()
    assert record.attributes["run_name"] == "experiment"
    assert [s.name for s in record.metrics] == ["loss"]


def test_recording_disabled_records_nothing_and_says_nothing(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("YPROV_DISABLE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with yp.run("train", out_dir=tmp_path / "prov") as run:
            yp.log_metric("loss", 1.0)
    assert run.document is None and not (tmp_path / "prov").exists()


YPROV4ML_SCRIPT = textwrap.dedent(
    """
    import yprov_workflows.compat.yprov4ml as yprov4ml

    yprov4ml.start_run(
        prov_user_namespace="www.example.org",
        experiment_name="mnist",
        provenance_save_dir="prov",
        save_after_n_logs=100,
        collect_all_processes=False,
        metrics_file_type="csv",
    )
    yprov4ml.log_param("optimizer", "Adam")
    yprov4ml.log_param("lr", 0.001, context=yprov4ml.Context.TRAINING)
    yprov4ml.log_execution_start_time()
    for epoch in range(3):
        yprov4ml.log_metric("MSE", 1.0 / (epoch + 1), context=yprov4ml.Context.TRAINING, step=epoch)
        yprov4ml.log_metric("MSE", 2.0 / (epoch + 1), "Validation", step=epoch, source="torch")
        yprov4ml.log_system_metrics(yprov4ml.Context.TRAINING, step=epoch)
        yprov4ml.log_current_execution_time("epoch_time", yprov4ml.Context.TRAINING, step=epoch)
    with open("model.pt", "wb") as handle:
        handle.write(b"state dict")
    yprov4ml.log_artifact("mnist_model", "model.pt", context="Training", is_model=True)
    yprov4ml.log_model("mnist_model", object())  # needs torch in yProv4ML: warns, records nothing
    yprov4ml.end_run(create_graph=True, create_svg=True, crate_ro_crate=True)
    """
)


def test_a_yprov4ml_script_with_only_its_import_changed(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(YPROV4ML_SCRIPT)
    result = subprocess.run(
        [sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "log_model is not covered" in result.stderr
    document = RunDocument.load(tmp_path / "prov" / "latest.prov.json")
    document.assert_valid()
    (step,) = document.steps("mnist")
    assert step["ywf:experiment_name"] == "mnist"
    series = metric_entities(document)
    assert series[("MSE", "training")]["ywf:last"] == 1 / 3
    assert series[("MSE", "Validation")]["ywf:source"] == "torch"
    assert series[("cpu_s", "training")]["ywf:count"] == 3  # system metrics in its context
    assert {"optimizer", "lr", "execution_start_time"} <= document.inputs_of(
        step, "ywf:hyperparameter"
    )
    assert document.outputs_of(step, "ywf:model") == {"model.pt"}
    assert not (tmp_path / "requirements.txt").exists()  # yProv4ML's end_run writes one there
    paths = {e.get("ywf:path", ""): e for e in document.doc["entity"].values()}
    plan = next(e for path, e in paths.items() if path.endswith("train.py"))
    assert plan["prov:type"] == "prov:Plan"


def test_the_yprov4ml_script_inside_a_workflow_step_joins_it(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(YPROV4ML_SCRIPT)
    engine = MiniEngine(tmp_path / "out", strict=False)
    step = engine.open("train")
    env = {**os.environ, **step.channel.env()}
    subprocess.run([sys.executable, "train.py"], cwd=tmp_path, env=env, check=True, timeout=120)
    assert not (tmp_path / "prov").exists()  # no second run: the step is the run
    record = engine.record(step)
    document = engine.finish()
    assert record.attributes["experiment_name"] == "mnist"
    refs = find_series(document.doc, step="train", name="MSE", context="Validation")
    assert [p[1] for p in read_series(engine.run_dir, refs[0]) or []] == [2.0, 1.0, 2 / 3]
    assert [a.file.path for a in record.artifacts] == ["model.pt"]
