"""Stage 3, ``evaluate``: score one trained model on the test set.

A plain command-line program (run by the Snakefile's ``shell:`` directive):

    python evaluate.py --model models/model_lr0.5.json --test data/test.csv \
        --output metrics/metrics_lr0.5.json

writes accuracy, precision, recall and log-loss (threshold 0.5) as JSON, and logs them into the
step's provenance (context ``test``).
"""

import argparse
import json
import math
from pathlib import Path
from typing import Any

from mlcore import EPSILON, read_csv, sigmoid

import yprov_workflows as yp

THRESHOLD = 0.5


def predict(model: dict[str, Any], features: list[list[float]]) -> list[float]:
    """Probability of label 1 for each row under ``model``."""
    weights: list[float] = model["weights"]
    bias: float = model["bias"]
    return [
        sigmoid(sum(w * x for w, x in zip(weights, row, strict=True)) + bias) for row in features
    ]


def safe_ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator``, or 0.0 when the denominator is zero."""
    return numerator / denominator if denominator else 0.0


def compute_metrics(probabilities: list[float], labels: list[int]) -> dict[str, float | int]:
    """Accuracy, precision, recall (label 1 is positive) and mean log-loss."""
    predictions = [1 if p >= THRESHOLD else 0 for p in probabilities]
    pairs = list(zip(predictions, labels, strict=True))
    true_pos = sum(1 for pred, y in pairs if pred == 1 and y == 1)
    false_pos = sum(1 for pred, y in pairs if pred == 1 and y == 0)
    false_neg = sum(1 for pred, y in pairs if pred == 0 and y == 1)
    correct = sum(1 for pred, y in pairs if pred == y)
    loss = 0.0
    for p, y in zip(probabilities, labels, strict=True):
        p = min(max(p, EPSILON), 1.0 - EPSILON)
        loss -= y * math.log(p) + (1 - y) * math.log(1.0 - p)
    return {
        "n_test": len(labels),
        "accuracy": safe_ratio(correct, len(labels)),
        "precision": safe_ratio(true_pos, true_pos + false_pos),
        "recall": safe_ratio(true_pos, true_pos + false_neg),
        "log_loss": loss / len(labels),
    }


def log_test_metrics(metrics: dict[str, float | int]) -> None:
    """The scores, as metrics of the step (context ``test``)."""
    scores = ("accuracy", "precision", "recall", "log_loss")
    yp.log_metrics({name: metrics[name] for name in scores}, context="test")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments: model, test set and output paths."""
    parser = argparse.ArgumentParser(description="Evaluate a logistic-regression model.")
    parser.add_argument("--model", type=Path, required=True, help="model JSON from train")
    parser.add_argument("--test", type=Path, required=True, help="test CSV from prepare_data")
    parser.add_argument("--output", type=Path, required=True, help="metrics JSON to write")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Evaluate the model on the test set and write the metrics JSON."""
    args = parse_args(argv)
    model = json.loads(args.model.read_text())
    features, labels = read_csv(args.test)
    metrics = compute_metrics(predict(model, features), labels)
    log_test_metrics(metrics)
    result = {"model": str(args.model), "learning_rate": model["learning_rate"], **metrics}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
