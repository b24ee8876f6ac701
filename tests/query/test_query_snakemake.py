"""`yprov show`, `lineage`, `diff` and `verify` end to end on real Snakemake runs: one small
workflow run twice with one `--config` value changed, and the second run as if killed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from yprov_workflows.runs import document_path, journal_path
from yprov_workflows.testing import RunDocument

SNAKEFILE = """
rule all:
    input: "b.txt", "c.txt"

rule a:
    output: "a.txt"
    params: n=config["size"]
    shell: "echo {params.n} > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cat {input} {input} > {output}"

rule c:
    output: "c.txt"
    params: m=config.get("other", 1)
    shell: "echo {params.m} > {output}"
"""


def snakemake(workdir: Path, *args: str) -> None:
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov", "--cores", "2"]
    result = subprocess.run(
        [*command, "--yprov-strict", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def yprov(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "yprov_workflows", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(workdir, first run folder, second run folder): size=1, then size=2."""
    workdir = tmp_path_factory.mktemp("smk") / "wf"
    workdir.mkdir()
    (workdir / "Snakefile").write_text(textwrap.dedent(SNAKEFILE))
    snakemake(workdir, "--config", "size=1")
    snakemake(workdir, "--forceall", "--config", "size=2")
    first, second = sorted(p for p in (workdir / ".yprov").iterdir() if p.name[0] not in ".l")
    for run in (first, second):
        RunDocument.load(document_path(run)).assert_valid()
    return workdir, first, second


def test_show_the_output_folder_as_text_and_json(runs: tuple[Path, Path, Path]) -> None:
    workdir, _, second = runs
    shown = yprov("show", workdir / ".yprov")
    assert shown.returncode == 0 and shown.stderr == ""
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"run {second.name}: completed, 4 steps")
    assert lines[1].startswith("engine snakemake 9.")
    path = [line for line in lines if line.startswith("critical path: 3 steps")]
    assert len(path) == 1 and path[0].endswith(": a -> b -> all")
    data = json.loads(yprov("show", second, "--json").stdout)
    assert sorted(s["label"] for s in data["steps"]) == ["a", "all", "b", "c"]
    assert data["critical_path"]["labels"] == ["a", "b", "all"]
    assert all(s["cpu_s"] is not None for s in data["steps"] if s["name"] != "all")


def test_the_environment_is_recorded_with_the_package_list(runs: tuple[Path, Path, Path]) -> None:
    _, first, _ = runs
    doc = RunDocument.load(document_path(first))
    (env,) = [e for e in doc.doc["entity"].values() if e["prov:type"] == "ywf:SoftwareEnvironment"]
    assert env["package:snakemake"].startswith("9.") and env["ywf:python_version"]
    listing = first / env["ywf:packages_path"]
    assert "snakemake==9." in listing.read_text()
    assert env["ywf:packages_sha256"] == hashlib.sha256(listing.read_bytes()).hexdigest()


def test_diff_names_the_changed_config_value_and_the_steps_downstream(
    runs: tuple[Path, Path, Path],
) -> None:
    _, first, second = runs
    result = yprov("diff", first, second, "--json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert [(c["kind"], c["name"], c["before"], c["after"]) for c in data["run_changes"]] == [
        ("config", "size", 1, 2)
    ]
    steps = {s["label"]: s for s in data["steps"] if s["changes"]}
    assert set(steps) == {"a", "b", "all"}, "c did not change"
    params = [(c["name"], c["before"], c["after"]) for c in steps["a"]["changes"]]
    assert ("n", 1, 2) in params and steps["a"]["downstream"] == ["b", "all"]
    assert {c["kind"] for c in steps["b"]["changes"]} == {"input", "output"}
    assert not data["added"] and not data["removed"] and data["matched"] == 4
    text = yprov("diff", first, second).stdout
    assert "config size: 1 -> 2" in text and "parameter n: 1 -> 2" in text
    assert "downstream: b, all" in text
    same = yprov("diff", second, document_path(second))
    assert same.returncode == 0 and "the runs are the same" in same.stdout


def test_lineage_up_and_down(runs: tuple[Path, Path, Path]) -> None:
    workdir, _, second = runs
    up = json.loads(yprov("lineage", second, "b.txt", "--json").stdout)
    assert {n["label"] for n in up["nodes"] if n["kind"] == "step"} == {"a", "b"}
    assert {n["label"] for n in up["nodes"] if n["kind"] == "parameter"} == {"n=2"}
    down = yprov("lineage", workdir / ".yprov", str(workdir / "a.txt"), "--down")
    assert down.returncode == 0
    assert down.stdout.splitlines()[0] == "downstream of file a.txt: 2 files, 2 steps"
    assert "  [2] all (completed)" in down.stdout.splitlines()
    missing = yprov("lineage", second, "nope.txt")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_an_incomplete_run_reads_like_any_other(
    runs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, _, second = runs
    killed = tmp_path / ".yprov" / second.name
    shutil.copytree(second, killed)
    document_path(killed).unlink()
    lines = journal_path(killed).read_bytes().splitlines(keepends=True)
    journal_path(killed).write_bytes(b"".join(lines[:-1]))  # no run_end: killed
    shown = yprov("show", killed)
    assert shown.returncode == 0 and ": incomplete, 4 steps" in shown.stdout.splitlines()[0]
    assert yprov("lineage", killed, "b.txt").returncode == 0
    changed = json.loads(yprov("diff", second, killed, "--json").stdout)
    assert [c["kind"] for c in changed["run_changes"]] == ["status"]


def test_verify_finds_changed_and_missing_files_and_caches_hashes(
    runs: tuple[Path, Path, Path],
) -> None:
    workdir, first, second = runs
    ok = yprov("verify", second)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1].startswith(f"4 files checked in {workdir}: 4 ok")
    stale = yprov("verify", first)
    assert stale.returncode == 1
    assert sorted(line.split(":")[0] for line in stale.stdout.splitlines()[:-1]) == [
        "a.txt",
        "b.txt",
    ]
    (workdir / "c.txt").unlink()
    gone = json.loads(yprov("verify", second, "--json").stdout)
    assert {f["path"]: f["state"] for f in gone["files"]}["c.txt"] == "missing"
    assert gone["bytes_read"] == 0 and gone["from_cache"] == 3, "unchanged files: from the cache"


TEMP_SNAKEFILE = """
rule all:
    input: "joined.txt"

rule part:
    output: temp("parts/{i}.txt")
    shell: "echo {wildcards.i} > {output}"

rule join:
    input: expand("parts/{i}.txt", i=range(2))
    output: "joined.txt"
    shell: "cat {input} > {output}"
"""


def test_verify_accepts_temp_outputs_that_snakemake_deleted(tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text(TEMP_SNAKEFILE)
    snakemake(tmp_path)
    assert not (tmp_path / "parts" / "0.txt").exists(), "Snakemake deleted its temp() outputs"
    run = RunDocument.latest(tmp_path)
    run.assert_valid()
    assert [json.loads(s["ywf:temp_outputs"]) for s in run.steps("part")] == [
        ["parts/0.txt"],
        ["parts/1.txt"],
    ]
    checked = yprov("verify", tmp_path / ".yprov")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[-1].startswith(
        f"4 files checked in {tmp_path}: 2 ok, 2 removed (temp)"  # the Snakefile too
    )
    (tmp_path / "joined.txt").unlink()  # not a temp() output: missing is a problem
    assert yprov("verify", tmp_path / ".yprov").returncode == 1
