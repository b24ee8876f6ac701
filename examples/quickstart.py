#!/usr/bin/env python3
"""Quick start: install yprov-workflows into ./.venv, run the example ML pipeline with provenance.

    python3 examples/quickstart.py

Needs only Python 3.11+. Prints where the PROV-JSON document is, a short summary of the run (with
the final value of each metric the training steps logged, and their hyper-parameters), and draws
the training and validation loss of the two learning rates, epoch by epoch, into one plot.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
WORKDIR = ROOT / "examples" / "ml_pipeline" / "work"


def run(*command: str | Path) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT)


def install(extras: str) -> None:
    """Create ./.venv if needed and install this checkout (editable) with the given extras."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this script may meet older Pythons)
        sys.exit("yprov-workflows needs Python 3.11 or newer")
    if not PYTHON.exists():
        run(sys.executable, "-m", "venv", VENV)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")


def main() -> None:
    install("snakemake,plot")
    run(
        PYTHON,
        "-m",
        "snakemake",
        "--snakefile",
        "examples/ml_pipeline/Snakefile",
        "--directory",
        WORKDIR,
        "--executor",
        "yprov",
        "--cores",
        "2",
        "--forceall",
    )
    document = (WORKDIR / ".yprov" / "latest.prov.json").resolve()
    run(PYTHON, "-m", "yprov_workflows", "validate", document)
    print(f"\nProvenance document: {document}")
    run(PYTHON, "-m", "yprov_workflows", "show", document)
    plot = WORKDIR / "loss.png"
    metrics = ("metrics", document, "--step", "train", "--name", "loss", "--plot", plot)
    run(PYTHON, "-m", "yprov_workflows", *metrics)
    print(f"\nLoss per epoch of both learning rates: {plot}")
    venv = os.path.relpath(VENV)
    print(
        f"\nThe yprov command is in the virtual environment, not on your PATH:\n"
        f"  {venv}/bin/yprov show {document}\n"
        f"  {venv}/bin/yprov metrics {document} --step train\n"
        f"  {venv}/bin/yprov validate {document}\n"
        f"or activate the environment first: source {venv}/bin/activate"
    )


if __name__ == "__main__":
    main()
