"""What the executor records for each kind of job: real Snakemake runs, validated documents."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from smk_helpers import latest, ok, snakemake, write_workflow

from yprov_workflows.testing import RunDocument

KINDS = r"""
import sys
rule all:
    input: "report.txt"

rule prepare:
    output: "data/raw.txt"
    params: n=3, ratio=0.5, flag=True, folder=Path("a/b"), sizes=[1, 2], opts={"x": 1},
            api_token="hunter2"
    log: "logs/prepare.log"
    shell: "seq 1 {params.n} > {output} 2> {log}"

rule train:
    input: "data/raw.txt"
    output: "models/model_{lr}.txt"
    params: lr=lambda wc: float(wc.lr)
    threads: 1
    resources: mem_mb=100
    script: "train.py"

rule summarise:
    input: expand("models/model_{lr}.txt", lr=["0.1", "0.5"])
    output: "report.txt"
    run:
        with open(output[0], "w") as out:
            for path in input:
                out.write(open(path).read())
"""
TRAIN = """
from pathlib import Path
lines = Path(snakemake.input[0]).read_text().split()
Path(snakemake.output[0]).write_text(f"lr={snakemake.params.lr} n={len(lines)}\\n")
"""


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunDocument]:
    """One run of a workflow with every kind of job, shared by the tests below."""
    workdir = tmp_path_factory.mktemp("kinds")
    write_workflow(workdir, KINDS, {"train.py": TRAIN})
    result = ok(snakemake(workdir))
    assert "yprov-workflows: provenance of 5 steps (completed) in" in result.stderr
    return workdir, latest(workdir)


def test_every_job_kind_is_one_step_linked_through_files(kinds: tuple[Path, RunDocument]) -> None:
    _, run = kinds
    names = sorted(s["ywf:step_name"] for s in run.steps())
    assert names == ["all", "prepare", "summarise", "train", "train"]
    kinds = {s["ywf:step_name"]: s["ywf:code_kind"] for s in run.steps()}
    assert kinds == {"all": "none", "prepare": "shell", "train": "script", "summarise": "run"}
    prepare = run.steps("prepare")[0]
    assert run.outputs_of(prepare) == {"data/raw.txt"}
    assert run.outputs_of(prepare, "ywf:log") == {"logs/prepare.log"}
    for train in run.steps("train"):
        assert run.inputs_of(train) == {"data/raw.txt"}
        assert run.generator_of("data/raw.txt")["id"] == prepare["id"]
    summarise = run.steps("summarise")[0]
    assert run.inputs_of(summarise) == {"models/model_0.1.txt", "models/model_0.5.txt"}
    assert run.run["ywf:status"] == "completed"
    assert run.run["ywf:steps"] == 5


def test_one_file_version_is_one_entity_with_its_real_hash(kinds: tuple[Path, RunDocument]) -> None:
    workdir, run = kinds
    raw = [e for e in run.doc["entity"].values() if e.get("ywf:path") == "data/raw.txt"]
    assert len(raw) == 1, "generated once, used twice: one entity"
    content = (workdir / "data/raw.txt").read_bytes()
    assert raw[0]["ywf:sha256"] == hashlib.sha256(content).hexdigest()
    assert raw[0]["ywf:size_bytes"] == len(content)


def test_params_are_typed_named_and_secrets_redacted(kinds: tuple[Path, RunDocument]) -> None:
    _, run = kinds
    params = run.params_of(run.steps("prepare")[0])
    assert params == {
        "n": 3,
        "ratio": 0.5,
        "flag": True,
        "folder": "a/b",
        "sizes": "[1,2]",
        "opts": '{"x":1}',
        "api_token": "[redacted]",
    }
    assert "hunter2" not in json.dumps(run.doc)
    lrs = sorted(run.params_of(s)["lr"] for s in run.steps("train"))
    assert lrs == [0.1, 0.5]


def test_wildcards_resources_threads_and_code_are_recorded(kinds: tuple[Path, RunDocument]) -> None:
    workdir, run = kinds
    train = {s["wildcard:lr"]: s for s in run.steps("train")}
    assert set(train) == {"0.1", "0.5"}
    step = train["0.1"]
    assert step["resource:mem_mb"] == 100
    assert step["ywf:threads"] == 1
    assert step["ywf:script"] == "train.py"
    script_hash = hashlib.sha256((workdir / "train.py").read_bytes()).hexdigest()
    assert step["ywf:code_sha256"] == script_hash
    prepare = run.steps("prepare")[0]
    assert prepare["ywf:command"] == "seq 1 3 > data/raw.txt 2> logs/prepare.log"
    assert prepare["ywf:attempt"] == 1 and prepare["ywf:status"] == "completed"


def test_usage_is_exact_and_names_its_source(kinds: tuple[Path, RunDocument]) -> None:
    _, run = kinds
    for step in run.steps("train"):
        assert step["ywf:usage_source"] == "wait4"
        assert step["ywf:cpu_total_s"] > 0
        assert step["ywf:max_rss_bytes"] > 5 * 2**20  # a Python interpreter ran
        assert step["ywf:processes"] == 1, "the script's own shell() calls are not counted twice"
    summarise = run.steps("summarise")[0]
    assert summarise["ywf:usage_source"] == "wait4"
    assert "own Snakemake process" in summarise["ywf:usage_note"]
    assert run.steps("all")[0]["ywf:usage_source"] == "none"


def test_run_activity_has_agents_config_and_workflow_plan(workdir: Path) -> None:
    write_workflow(
        workdir,
        'configfile: "config.yaml"\nrule a:\n    output: "a"\n    shell: "touch {output}"\n',
        {"config.yaml": "alpha: 1\nname: demo\ndb_password: s3cret\n"},
    )
    ok(snakemake(workdir))
    run = latest(workdir)
    assert run.run["config:alpha"] == 1 and run.run["config:name"] == "demo"
    assert run.run["config:db_password"] == "[redacted]"
    agents = {a["prov:label"]: a for a in run.doc["agent"].values()}
    assert set(agents) >= {"snakemake", "yprov-workflows"}
    assert agents["snakemake"]["ywf:version"].startswith("9.")
    plans = [e for e in run.doc["entity"].values() if e.get("ywf:path", "").endswith("Snakefile")]
    assert (
        plans[0]["ywf:sha256"] == hashlib.sha256((workdir / "Snakefile").read_bytes()).hexdigest()
    )
