"""Stage 2, ``train``: fit a logistic regression by full-batch gradient descent, in pure Python.

Reads the training CSV (the synthetic features are already on a unit scale, so they are used
as they are), runs ``epochs`` steps of gradient descent on the mean log-loss with the given
learning rate, and writes the model as JSON: weights, bias, hyper-parameters, initial and final
training loss. The loss every tenth of the run goes to the job's log file.

Run by Snakemake through the ``script:`` directive, which provides the ``snakemake`` object.
"""

import json
import logging
import math
from pathlib import Path
from typing import Any

from mlcore import EPSILON, read_csv, sigmoid


def log_loss(probabilities: list[float], labels: list[int]) -> float:
    """Mean binary cross-entropy of ``probabilities`` against ``labels``."""
    total = 0.0
    for p, y in zip(probabilities, labels, strict=True):
        p = min(max(p, EPSILON), 1.0 - EPSILON)
        total -= y * math.log(p) + (1 - y) * math.log(1.0 - p)
    return total / len(labels)


def predict(weights: list[float], bias: float, features: list[list[float]]) -> list[float]:
    """Probability of label 1 for each row."""
    return [
        sigmoid(sum(w * x for w, x in zip(weights, row, strict=True)) + bias) for row in features
    ]


def gradient_step(
    weights: list[float],
    bias: float,
    features: list[list[float]],
    labels: list[int],
    learning_rate: float,
) -> tuple[list[float], float, float]:
    """One full-batch descent step; returns (new weights, new bias, loss before the step)."""
    probabilities = predict(weights, bias, features)
    n_rows = len(labels)
    grad_w = [0.0] * len(weights)
    grad_b = 0.0
    for row, p, y in zip(features, probabilities, labels, strict=True):
        error = p - y
        grad_b += error
        for j, x in enumerate(row):
            grad_w[j] += error * x
    new_weights = [w - learning_rate * g / n_rows for w, g in zip(weights, grad_w, strict=True)]
    new_bias = bias - learning_rate * grad_b / n_rows
    return new_weights, new_bias, log_loss(probabilities, labels)


def train(
    features: list[list[float]], labels: list[int], learning_rate: float, epochs: int
) -> tuple[list[float], float, list[float]]:
    """Gradient descent from zero weights; returns (weights, bias, loss per epoch)."""
    weights = [0.0] * len(features[0])
    bias = 0.0
    losses: list[float] = []
    for _ in range(epochs):
        weights, bias, loss = gradient_step(weights, bias, features, labels, learning_rate)
        losses.append(loss)
    return weights, bias, losses


def write_model(
    output: Path,
    learning_rate: float,
    epochs: int,
    n_train: int,
    weights: list[float],
    bias: float,
    losses: list[float],
    final_loss: float,
) -> None:
    """Write the trained model as JSON (shared with the Prefect example)."""
    model = {
        "model": "logistic_regression",
        "learning_rate": learning_rate,
        "epochs": epochs,
        "n_train": n_train,
        "weights": weights,
        "bias": bias,
        "initial_loss": losses[0],
        "final_loss": final_loss,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(model, indent=2) + "\n")


def main(smk: Any) -> None:
    """Train one model with the rule's ``lr`` and ``epochs`` params and write it as JSON."""
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(message)s")
    learning_rate = float(smk.params.lr)
    epochs = int(smk.params.epochs)
    features, labels = read_csv(Path(smk.input.train))
    weights, bias, losses = train(features, labels, learning_rate, epochs)
    final_loss = log_loss(predict(weights, bias, features), labels)
    for epoch in range(0, epochs, max(1, epochs // 10)):
        logging.info("epoch %4d  loss %.6f", epoch, losses[epoch])
    logging.info("final      loss %.6f", final_loss)
    output = Path(smk.output.model)
    write_model(output, learning_rate, epochs, len(labels), weights, bias, losses, final_loss)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821  (injected by Snakemake's script: directive)
