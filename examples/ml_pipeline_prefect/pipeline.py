#!/usr/bin/env python3
"""The ML pipeline of `examples/ml_pipeline/` as a Prefect flow, with provenance.

    prepare_data ──> train (lr=0.05) ──> evaluate (lr=0.05) ──┐
                 └─> train (lr=0.5)  ──> evaluate (lr=0.5)  ──┴─> report

Run from the repository root (outputs and `.yprov/` go to the work folder):

    python examples/ml_pipeline_prefect/pipeline.py [--workdir DIR]

Same stages, settings and files as the Snakemake example, whose pure-Python code is imported
from `examples/ml_pipeline/scripts/`. Each stage is a `@prov_task` that takes its input files as
`pathlib.Path` arguments and returns the files it wrote, so the PROV document links the steps
file by file (sha256), as it does for Snakemake jobs. The training code logs its hyper-parameters,
per-epoch metrics and model (`import yprov_workflows as yp`): they land on the `train` task runs,
as they land on the Snakemake jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from prefect import get_run_logger

from yprov_prefect import prov_flow, prov_task
from yprov_workflows.summary import summarize

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE.parent / "ml_pipeline" / "scripts"
sys.path.insert(0, str(SCRIPTS))

# The Snakemake example's scripts run their `main(snakemake)` only as `__main__`: importing them
# gives their functions without side effects.
import evaluate as evaluate_script  # noqa: E402
import prepare_data as prepare_script  # noqa: E402
import train as train_script  # noqa: E402
from mlcore import read_csv  # noqa: E402


@prov_task
def prepare_data(
    seed: int,
    n_samples: int,
    n_features: int,
    separation: float,
    noise: float,
    test_fraction: float,
) -> tuple[Path, Path]:
    """Two noisy Gaussian blobs drawn from `seed`, split into data/train.csv and data/test.csv."""
    rng = random.Random(seed)
    rows = prepare_script.generate_blobs(rng, n_samples, n_features, separation, noise)
    train_rows, test_rows = prepare_script.split_rows(rng, rows, test_fraction)
    train_csv, test_csv = Path("data/train.csv"), Path("data/test.csv")
    prepare_script.write_csv(train_csv, train_rows, n_features)
    prepare_script.write_csv(test_csv, test_rows, n_features)
    get_run_logger().info(
        "seed=%s: %d rows x %d features -> %d train, %d test",
        seed,
        len(rows),
        n_features,
        len(train_rows),
        len(test_rows),
    )
    return train_csv, test_csv


@prov_task
def train(train_csv: Path, lr: float, epochs: int, validation_fraction: float) -> Path:
    """Logistic regression by full-batch gradient descent; writes models/model_lr{lr}.json.

    The training code logs its hyper-parameters, per-epoch training and validation metrics,
    per-epoch system metrics and the model into this task run's provenance."""
    output = Path(f"models/model_lr{lr}.json")
    losses, final_loss = train_script.fit(train_csv, lr, epochs, validation_fraction, output)
    get_run_logger().info("lr=%s: loss %.6f -> %.6f", lr, losses[0], final_loss)
    return output


@prov_task
def evaluate(model_json: Path, test_csv: Path) -> Path:
    """Accuracy, precision, recall and log-loss of one model; writes metrics/metrics_lr{lr}.json."""
    model = json.loads(model_json.read_text())
    features, labels = read_csv(test_csv)
    metrics = evaluate_script.compute_metrics(evaluate_script.predict(model, features), labels)
    evaluate_script.log_test_metrics(metrics)
    result = {"model": str(model_json), "learning_rate": model["learning_rate"], **metrics}
    output = Path(f"metrics/metrics_lr{model['learning_rate']}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    get_run_logger().info("%s: accuracy %.4f", model_json, result["accuracy"])
    return output


def best_model(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics row with the highest accuracy, ties broken by the lowest log-loss."""
    return max(rows, key=lambda row: (row["accuracy"], -row["log_loss"]))


def markdown_report(rows: list[dict[str, Any]], best: dict[str, Any]) -> str:
    """A markdown table of the metrics, one line per model, the best one marked."""
    lines = [
        "# ML pipeline report",
        "",
        f"Test set: {best['n_test']} rows; best model: `{best['model']}`.",
        "",
        "| learning rate | accuracy | precision | recall | log-loss | best |",
        "|---:|---:|---:|---:|---:|:---:|",
    ]
    for row in rows:
        mark = "**best**" if row is best else ""
        lines.append(
            f"| {row['learning_rate']} | {row['accuracy']:.4f} | {row['precision']:.4f}"
            f" | {row['recall']:.4f} | {row['log_loss']:.4f} | {mark} |"
        )
    return "\n".join(lines) + "\n"


@prov_task
def report(metrics: list[Path]) -> tuple[Path, Path]:
    """Gather every model's metrics into report.md (a table) and report.json."""
    rows = [json.loads(path.read_text()) for path in metrics]
    rows.sort(key=lambda row: row["learning_rate"])
    best = best_model(rows)
    markdown, summary = Path("report.md"), Path("report.json")
    markdown.write_text(markdown_report(rows, best))
    summary.write_text(json.dumps({"best_model": best["model"], "models": rows}, indent=2) + "\n")
    get_run_logger().info("%d models compared; best: %s", len(rows), best["model"])
    return markdown, summary


@prov_flow(name="ml-pipeline")
def ml_pipeline(
    seed: int = 42,
    n_samples: int = 4000,
    n_features: int = 6,
    class_separation: float = 1.0,
    noise: float = 1.5,
    test_fraction: float = 0.2,
    epochs: int = 150,
    validation_fraction: float = 0.25,
    learning_rates: tuple[float, ...] = (0.05, 0.5),
) -> tuple[Path, Path]:
    """prepare_data -> train (one per learning rate, concurrently) -> evaluate -> report.

    The defaults are the settings of examples/ml_pipeline/config.yaml.
    """
    train_csv, test_csv = prepare_data(
        seed, n_samples, n_features, class_separation, noise, test_fraction
    )
    models = [train.submit(train_csv, lr, epochs, validation_fraction) for lr in learning_rates]
    metrics = [evaluate.submit(model, test_csv) for model in models]
    return report(metrics)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=HERE / "work",
        help="folder for the outputs and .yprov/ (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(args.workdir)
    ml_pipeline()
    document = (Path(".yprov") / "latest.prov.json").resolve()
    print(f"provenance: {document}")
    for line in summarize(json.loads(document.read_text())):
        print(line)


if __name__ == "__main__":
    main()
