"""One workflow for the cluster tests, and the checks every cluster run's document must pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from yprov_workflows.testing import RunDocument
from yprov_workflows.tracking.read import find_series

SECRET = "sk-cluster-secret-4242"
SNAKEFILE = f"""
localrules: all, gather

rule all:
    input: "out/gather.txt", "out/train.txt"

rule make:
    output: "out/{{n}}.txt"
    params: lr=0.1, api_token="{SECRET}"
    shell:
        "python3 -c 'x = bytearray(60 * 2**20); print(len(x))' > {{output}}; "
        "echo {{wildcards.n}} >> {{output}}; "
        "printf '%s' '{{params.api_token}}' | sha256sum >> {{output}}"

rule train:
    input: "out/1.txt"
    output: "out/train.txt"
    run:
        import yprov_workflows as yp
        for epoch in range(3):
            yp.log_metric("loss", 1.0 / (epoch + 1), step=epoch, context="training")
        with open(output[0], "w") as handle:
            handle.write("trained\\n")

rule gather:
    input: expand("out/{{n}}.txt", n=[1, 2])
    output: "out/gather.txt"
    shell: "cat {{input}} > {{output}}"

rule boom:
    output: "out/boom.txt"
    shell: "echo going down >&2; exit 3"

rule sleepy:
    output: "out/sleepy.txt"
    shell: "sleep 300; touch {{output}}"

rule overtime:
    output: "out/overtime.txt"
    resources: runtime=1
    shell: "sleep 300; touch {{output}}"
"""
GOOD_TARGETS = ("all",)
ALL_TARGETS = ("all", "out/boom.txt", "out/sleepy.txt", "out/overtime.txt")
OUTPUTS = ("out/1.txt", "out/2.txt", "out/train.txt", "out/gather.txt")


def write(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(SNAKEFILE)
    return workdir


def local_outputs(tmp: Path) -> dict[str, bytes]:
    """The good targets' outputs of a plain local run: what the cluster must reproduce."""
    workdir = write(tmp / "local")
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *GOOD_TARGETS]
    subprocess.run(command, cwd=workdir, check=True, capture_output=True, timeout=300)
    return {name: (workdir / name).read_bytes() for name in OUTPUTS}


def check_document(workdir: Path, scheduler: str) -> tuple[RunDocument, dict[str, Any]]:
    """The checks every cluster run passes; returns the document and its steps by rule."""
    run = RunDocument.latest(workdir)
    run.assert_valid()
    steps = {rule: run.steps(rule) for rule in ("make", "train", "gather", "all", "boom")}
    assert len(steps["make"]) == 2 and all(len(s) == 1 for r, s in steps.items() if r != "make")
    for step in [*steps["make"], *steps["train"]]:  # measured on the node
        assert step["ywf:status"] == "completed"
        assert step["ywf:scheduler"] == scheduler and step["ywf:scheduler_job_id"]
        assert step["ywf:host"] and step["ywf:usage_source"].startswith("wait4")
    for step in steps["make"]:  # the job's own processes: 60 MiB, not Snakemake's ~100 MiB more
        assert 60 * 2**20 < step["ywf:max_rss_bytes"] < 140 * 2**20
        assert step["ywf:cpu_total_s"] > 0
    for rule in ("gather", "all"):  # localrules: recorded in the main process, no scheduler
        assert "ywf:scheduler" not in steps[rule][0] and steps[rule][0]["ywf:status"] == "completed"
    (boom,) = steps["boom"]
    assert boom["ywf:status"] == "failed" and boom["ywf:scheduler"] == scheduler
    assert "exit" in boom["ywf:error"] or "3" in boom["ywf:error"]
    (train,) = steps["train"]
    series = [ref for ref in find_series(run.doc) if ref.activity == train["id"]]
    assert [(ref.name, ref.context) for ref in series] == [("loss", "training")]
    _no_secret_anywhere(workdir)
    return run, steps


def _no_secret_anywhere(workdir: Path) -> None:
    for path in (workdir / ".yprov").rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path


def same_outputs(workdir: Path, expected: dict[str, bytes]) -> None:
    for name, data in expected.items():
        assert (workdir / name).read_bytes() == data, name
