"""Lineage without holes: files inside directory outputs (a checkpoint's), benchmark files, and
jobs that an interrupted Snakemake never accepted as finished."""

from __future__ import annotations

import base64
import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from smk_helpers import latest, ok, snakemake, write_workflow

from yprov_workflows.testing import RunDocument

CHECKPOINT = r"""
rule all:
    input: "total.txt", "listing.txt", "summary.txt"

checkpoint split:
    output: directory("parts")
    benchmark: "bench/split.tsv"
    shell: "mkdir -p parts/deep; cd parts; echo 1 > p1.txt; echo 2 > p2.txt; echo 3 > deep/p3.txt"

def part_files(wildcards):
    folder = checkpoints.split.get().output[0]
    return expand(folder + "/{name}.txt", name=sorted(glob_wildcards(folder + "/{name}.txt").name))

rule total:
    input: part_files
    output: "total.txt"
    shell: "cat {input} > {output}"

rule listing:
    input: "parts"
    output: "listing.txt"
    shell: "ls -R {input} > {output}"

rule summary:
    input: "total.txt"
    output: "summary.txt"
    benchmark: "bench/summary.tsv"
    run:
        with open(output[0], "w") as out:
            out.write(open(input[0]).read().replace("\n", " "))
"""
PARTS = ["parts/deep/p3.txt", "parts/p1.txt", "parts/p2.txt"]


@pytest.fixture(scope="module")
def checkpoint_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunDocument]:
    workdir = tmp_path_factory.mktemp("checkpoint")
    write_workflow(workdir, CHECKPOINT)
    ok(snakemake(workdir))
    return workdir, latest(workdir)


def _memberships(run: RunDocument) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for relation in run.doc.get("hadMember", {}).values():
        found.setdefault(relation["prov:collection"], set()).add(relation["prov:entity"])
    return found


def test_files_inside_a_checkpoint_directory_are_generated_by_the_checkpoint(
    checkpoint_run: tuple[Path, RunDocument],
) -> None:
    _, run = checkpoint_run
    (split,) = run.steps("split")
    for path in ["parts", *PARTS]:
        generator = run.generator_of(path)
        assert generator is not None and generator["id"] == split["id"], path
    (total,) = run.steps("total")
    assert run.inputs_of(total) == set(PARTS)
    assert run.run["ywf:duplicate_generations"] == 0


def test_a_directory_is_one_collection_of_the_entities_later_rules_read(
    checkpoint_run: tuple[Path, RunDocument],
) -> None:
    _, run = checkpoint_run
    directories = [k for k, e in run.doc["entity"].items() if e.get("ywf:path") == "parts"]
    assert len(directories) == 1, "read whole later (after Snakemake's marker): the same version"
    (directory,) = directories
    assert "prov:Collection" in run.entity(directory)["prov:type"]
    (listing,) = run.steps("listing")
    assert run.inputs_of(listing) == {"parts"}
    (total,) = run.steps("total")
    read = {
        r["prov:entity"]
        for r in run.doc["used"].values()
        if r["prov:activity"] == total["id"] and r["prov:role"] == "ywf:input"
    }
    assert _memberships(run) == {directory: read}, "the members are the files `total` read"


def test_benchmark_files_are_hashed_and_generated(checkpoint_run: tuple[Path, RunDocument]) -> None:
    workdir, run = checkpoint_run
    for rule, path in (("split", "bench/split.tsv"), ("summary", "bench/summary.tsv")):
        (step,) = run.steps(rule)
        assert run.outputs_of(step, "ywf:benchmark") == {path}, rule
        (entity,) = [e for e in run.doc["entity"].values() if e.get("ywf:path") == path]
        assert entity["ywf:sha256"] == hashlib.sha256((workdir / path).read_bytes()).hexdigest()
        assert step["ywf:benchmark_file"] == path


SLEEPERS = """
rule all:
    input: "a.txt", "b.txt"

rule slow:
    output: "{x}.txt"
    shell: "touch started_{wildcards.x}; sleep 5; touch {output}"
"""


def test_jobs_running_at_ctrl_c_are_cancelled_not_completed(workdir: Path) -> None:
    write_workflow(workdir, SLEEPERS)
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov", "--cores", "2"]
    process = subprocess.Popen(
        [*command, "--yprov-strict"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(list(workdir.glob("started_*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Snakemake's log handler swallows a KeyboardInterrupt raised while it writes a line
    # (`snakemake/logging.py`: `except (KeyboardInterrupt, SystemExit): pass`), and it logs the
    # jobs' start just then: the signal comes once that is written (the jobs sleep for 5 s).
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode != 0, stderr[-3000:]
    markers = (workdir / ".snakemake" / "incomplete").iterdir()
    incomplete = {base64.urlsafe_b64decode(p.name).decode() for p in markers}
    assert incomplete == {"a.txt", "b.txt"}, "Snakemake did not accept either job as finished"
    run = latest(workdir)
    assert run.run["ywf:status"] == "cancelled"
    steps = run.steps("slow")
    assert [s["ywf:status"] for s in steps] == ["cancelled", "cancelled"]
    assert all(s["ywf:snakemake_verdict"].startswith("not reported") for s in steps)
    assert run.generator_of("a.txt") is None and run.generator_of("b.txt") is None
