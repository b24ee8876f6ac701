"""Shared by the training and evaluation scripts: reading datasets, the logistic function."""

import csv
import math
from pathlib import Path

EPSILON = 1e-12


def read_csv(path: Path) -> tuple[list[list[float]], list[int]]:
    """Read a dataset CSV written by ``prepare_data``: returns (features, labels)."""
    features: list[list[float]] = []
    labels: list[int] = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # header
        for row in reader:
            features.append([float(value) for value in row[:-1]])
            labels.append(int(row[-1]))
    return features, labels


def sigmoid(z: float) -> float:
    """Numerically stable logistic function."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    exp_z = math.exp(z)
    return exp_z / (1.0 + exp_z)
