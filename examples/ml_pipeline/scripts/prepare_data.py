"""Stage 1, ``prepare_data``: generate a synthetic binary-classification dataset.

Two noisy Gaussian blobs, one per class, are drawn deterministically from the configured seed,
shuffled, and split into a training and a test set written as CSV files (features ``x0..xN``,
then the ``label`` column, 0 or 1).

Run by Snakemake through the ``script:`` directive, which provides the ``snakemake`` object.
"""

import csv
import logging
import random
from pathlib import Path
from typing import Any

Row = tuple[list[float], int]


def generate_blobs(
    rng: random.Random,
    n_samples: int,
    n_features: int,
    separation: float,
    noise: float,
) -> list[Row]:
    """Draw ``n_samples`` rows: half around ``+separation`` (label 1), half around its opposite."""
    rows: list[Row] = []
    for index in range(n_samples):
        label = index % 2
        centre = separation if label == 1 else -separation
        features = [rng.gauss(centre, noise) for _ in range(n_features)]
        rows.append((features, label))
    return rows


def split_rows(
    rng: random.Random, rows: list[Row], test_fraction: float
) -> tuple[list[Row], list[Row]]:
    """Shuffle ``rows`` and cut them into (train, test) with ``test_fraction`` of them in test."""
    shuffled = list(rows)
    rng.shuffle(shuffled)
    n_test = round(len(shuffled) * test_fraction)
    return shuffled[n_test:], shuffled[:n_test]


def write_csv(path: Path, rows: list[Row], n_features: int) -> None:
    """Write ``rows`` to ``path`` with a header line; features are rounded to 6 decimals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"x{i}" for i in range(n_features)] + ["label"])
        for features, label in rows:
            writer.writerow([f"{value:.6f}" for value in features] + [label])


def main(smk: Any) -> None:
    """Generate, split and write the dataset described by the rule's params."""
    logging.basicConfig(filename=smk.log[0], level=logging.INFO, format="%(message)s")
    params = smk.params
    rng = random.Random(params.seed)
    rows = generate_blobs(rng, params.n_samples, params.n_features, params.separation, params.noise)
    train, test = split_rows(rng, rows, params.test_fraction)
    write_csv(Path(smk.output.train), train, params.n_features)
    write_csv(Path(smk.output.test), test, params.n_features)
    logging.info(
        "seed=%s: %d rows x %d features -> %d train, %d test",
        params.seed,
        len(rows),
        params.n_features,
        len(train),
        len(test),
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821  (injected by Snakemake's script: directive)
