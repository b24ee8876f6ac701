"""Stage 2, ``train``: fit a logistic regression by full-batch gradient descent, in pure Python.

Reads the training CSV (the synthetic features are already on a unit scale, so they are used
as they are), holds out its last ``validation_fraction`` of rows for validation, runs ``epochs``
steps of gradient descent on the mean log-loss with the given learning rate, and writes the model
as JSON: weights, bias, hyper-parameters, initial and final training loss. The loss every tenth
of the run goes to the job's log file.

What happens inside the training is logged into the step's provenance (``yprov_workflows``, no
setup code): the hyper-parameters, per epoch the training loss, the validation loss and accuracy
and what the epoch cost (time, CPU, memory, energy where measurable), and the model file.

Run by Snakemake through the ``script:`` directive, which provides the ``snakemake`` object.
"""

import json
import logging
import math
from pathlib import Path
from typing import Any

from mlcore import EPSILON, read_csv, sigmoid

import yprov_workflows as yp

Rows = tuple[list[list[float]], list[int]]


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


def accuracy(probabilities: list[float], labels: list[int]) -> float:
    """Share of rows whose predicted label (probability >= 0.5) is right."""
    right = sum(1 for p, y in zip(probabilities, labels, strict=True) if (p >= 0.5) == (y == 1))
    return right / len(labels)


def hold_out(features: list[list[float]], labels: list[int], fraction: float) -> tuple[Rows, Rows]:
    """The rows to train on and the last ``fraction`` of them, held out for validation."""
    cut = len(labels) - round(len(labels) * fraction)
    return (features[:cut], labels[:cut]), (features[cut:], labels[cut:])


def train(
    features: list[list[float]],
    labels: list[int],
    learning_rate: float,
    epochs: int,
    validation: Rows | None = None,
) -> tuple[list[float], float, list[float]]:
    """Gradient descent from zero weights; returns (weights, bias, loss per epoch).

    Each epoch logs its training loss, the validation loss and accuracy (with ``validation``)
    and what it cost, into the provenance of the step that runs this code."""
    weights = [0.0] * len(features[0])
    bias = 0.0
    losses: list[float] = []
    for epoch in range(epochs):
        weights, bias, loss = gradient_step(weights, bias, features, labels, learning_rate)
        losses.append(loss)
        yp.log_metric("loss", loss, step=epoch, context="training")
        if validation is not None:
            probabilities = predict(weights, bias, validation[0])
            scores = {
                "loss": log_loss(probabilities, validation[1]),
                "accuracy": accuracy(probabilities, validation[1]),
            }
            yp.log_metrics(scores, step=epoch, context="validation")
        yp.log_system_metrics(step=epoch)
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


def fit(
    train_csv: Path, learning_rate: float, epochs: int, validation_fraction: float, output: Path
) -> tuple[list[float], float]:
    """Train on ``train_csv`` less its validation rows, write the model to ``output`` and log
    the run into the step's provenance; returns (loss per epoch, final training loss)."""
    features, labels = read_csv(train_csv)
    (features, labels), validation = hold_out(features, labels, validation_fraction)
    yp.log_params(
        {
            "learning_rate": learning_rate,
            "epochs": epochs,
            "validation_fraction": validation_fraction,
            "n_train": len(labels),
            "n_validation": len(validation[1]),
        }
    )
    weights, bias, losses = train(features, labels, learning_rate, epochs, validation)
    final_loss = log_loss(predict(weights, bias, features), labels)
    write_model(output, learning_rate, epochs, len(labels), weights, bias, losses, final_loss)
    yp.log_artifact(output, is_model=True)
    return losses, final_loss


def main(smk: Any) -> None:
    """Train one model with the rule's ``lr``, ``epochs`` and ``validation_fraction`` params and
    write it as JSON."""
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(message)s")
    epochs = int(smk.params.epochs)
    losses, final_loss = fit(
        Path(smk.input.train),
        float(smk.params.lr),
        epochs,
        float(smk.params.validation_fraction),
        Path(smk.output.model),
    )
    for epoch in range(0, epochs, max(1, epochs // 10)):
        logging.info("epoch %4d  loss %.6f", epoch, losses[epoch])
    logging.info("final      loss %.6f", final_loss)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821  (injected by Snakemake's script: directive)
