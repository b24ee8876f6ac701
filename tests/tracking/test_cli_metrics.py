"""`yprov metrics` (table, CSV, JSON, plot) and the tracked lines of `yprov show`."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from engine import MiniEngine

import yprov_workflows as yp
from yprov_workflows.cli import main
from yprov_workflows.testing import RunDocument

EPOCHS = 4


@pytest.fixture(scope="module")
def two_rates(tmp_path_factory: pytest.TempPathFactory) -> RunDocument:
    """One run, two steps of one rule with two learning rates, each logging per epoch."""
    engine = MiniEngine(tmp_path_factory.mktemp("metrics") / ".yprov")
    for key, lr in (("train-a", 0.1), ("train-b", 0.01)):
        step = engine.open("train", key)
        with step.channel.active():
            yp.log_params({"lr": lr})
            for epoch in range(EPOCHS):
                yp.log_metric("loss", lr * 10 / (epoch + 1), step=epoch, context="training")
                yp.log_metric("accuracy", 1 - lr / (epoch + 1), step=epoch, context="validation")
                yp.log_system_metrics(step=epoch)
        engine.record(step)
    return engine.finish()


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, ["metrics", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_the_table_shows_each_step_with_its_series(two_rates: RunDocument) -> None:
    result = invoke(str(two_rates.path), "--context", "training")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("train (attempt 1)") for line in lines) == 2
    header = next(line for line in lines if line.lstrip().startswith("step"))
    assert header.split() == ["step", "loss[training]"]
    assert "0.333333" in result.stdout  # 0.1 * 10 / 3


def test_csv_has_one_row_per_point(two_rates: RunDocument) -> None:
    run_dir = two_rates.path.parent  # a run folder works as well as its document
    result = invoke(str(run_dir), "--name", "loss", "--csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2 * EPOCHS
    assert {row["context"] for row in rows} == {"training"}
    assert sorted(float(r["value"]) for r in rows if r["step"] == "0") == [0.1, 1.0]


def test_json_lists_series_with_their_points_and_parameters(two_rates: RunDocument) -> None:
    result = invoke(str(two_rates.path.parents[1]), "--step", "train", "--json")  # .yprov: latest
    assert result.exit_code == 0, result.stderr
    series = json.loads(result.stdout)
    loss = [s for s in series if s["name"] == "loss"]
    assert sorted(s["params"]["lr"] for s in loss) == [0.01, 0.1]
    assert all(len(s["points"]) == EPOCHS for s in series)
    assert {s["name"] for s in series} >= {"loss", "accuracy", "time_s", "cpu_s"}


def test_plot_draws_one_line_per_step(two_rates: RunDocument, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    for x_axis in ("step", "energy"):
        target = tmp_path / f"loss-{x_axis}.png"
        result = invoke(str(two_rates.path), "--name", "loss", "--plot", str(target), "--x", x_axis)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == str(target)
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_gives_the_install_hint(
    two_rates: RunDocument, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    result = invoke(str(two_rates.path), "--plot", str(tmp_path / "x.png"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "yprov: error: --plot needs matplotlib: pip install 'yprov-workflows[plot]'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json"], "does not exist"),
        (["{doc}", "--name", "nope"], "no series of"),
        (["{doc}", "--csv", "--json"], "at most one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    two_rates: RunDocument, args: list[str], message: str
) -> None:
    result = invoke(*(a.format(doc=two_rates.path) for a in args))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("yprov: error: ") and message in line


def test_a_series_path_outside_the_run_folder_is_refused(
    two_rates: RunDocument, tmp_path: Path
) -> None:
    doc = json.loads(json.dumps(two_rates.doc))
    for entity in doc["entity"].values():
        if "provml:Metric" in entity.get("prov:type", []):
            entity["ywf:path"] = "../../../../etc/passwd"
    path = tmp_path / "doc.prov.json"
    path.write_text(json.dumps(doc))
    result = invoke(str(path), "--name", "loss")
    assert result.exit_code == 2
    assert "outside the run folder" in result.stderr and "passwd" not in result.stdout


def test_show_lists_final_metrics_and_hyperparameters(two_rates: RunDocument) -> None:
    result = CliRunner().invoke(main, ["show", str(two_rates.path)])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "hyper-parameters" in line]
    assert len(lines) == 2
    assert "final accuracy[validation]=0.975, loss[training]=0.25" in lines[0]
    assert lines[0].endswith("hyper-parameters lr=0.1") or lines[1].endswith("lr=0.1")
    assert "time_s" not in result.stdout  # system series are not final metrics


def test_parquet_series_are_written_at_the_step_end_and_read_back(
    tmp_path: Path, monkeypatch: Any
) -> None:
    pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    monkeypatch.setenv("YPROV_METRICS_FORMAT", "parquet")
    engine = MiniEngine(tmp_path / ".yprov")
    step = engine.open("train")
    with step.channel.active():
        for epoch in range(3):
            yp.log_metric("loss", 1 / (epoch + 1), step=epoch)
    (series,) = engine.record(step).metrics
    document = engine.finish()
    assert series.format == "parquet" and series.file.path.endswith("loss.parquet")
    assert not list((step.channel.folder / "metrics").glob("*.csv"))
    result = invoke(str(document.path), "--csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [float(r["value"]) for r in rows] == [1.0, 0.5, 1 / 3]


def test_parquet_without_pyarrow_keeps_csv_and_says_why(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("YPROV_METRICS_FORMAT", "parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    engine = MiniEngine(tmp_path / ".yprov", strict=False)
    step = engine.open("train")
    with step.channel.active():
        yp.log_metric("loss", 1.0)
    (series,) = engine.record(step).metrics
    engine.finish()
    assert series.format == "csv"
    assert any(
        "pip install 'yprov-workflows[parquet]'" in p for p in engine.tracked["train"].problems
    )
