"""Snakemake's bundled executor-plugin test workflows, run through `--executor yprov`.

Snakemake ships `snakemake.common.tests.TestWorkflowsLocalStorageBase` for executor plugins: its
tests (`test_simple_workflow`, `test_group_workflow`) copy a bundled workflow (`simple`, `groups`)
to `tmp_path / <name>` and execute it in-process through `snakemake.api.SnakemakeApi` with the
executor named by `get_executor()`. Here each such run must also leave a valid PROV document in
`<workdir>/.yprov/latest.prov.json` describing every job: that proves the run really went through
our executor and that recording worked (`strict=True`: a recording error fails the run).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("snakemake")

from snakemake.common.tests import TestWorkflowsLocalStorageBase

from snakemake_executor_plugin_yprov import ExecutorSettings
from yprov_workflows.validation import validate

# The jobs each bundled workflow runs, by rule name, and the files its jobs write.
EXPECTED_STEPS = {
    "simple": Counter({"a": 1, "b": 1, "c": 1, "d": 2, "all": 1}),
    "groups": Counter({"a": 3, "b": 3, "c": 1, "all": 1}),
}
EXPECTED_OUTPUTS = {
    "simple": {
        "test1.out",
        "test2.out",
        "test3.out",
        "res/somedir1.out",
        "res/somedir2/subdir.out",
        "a.log",
        "b.log",
        "c.log",
    },
    "groups": {f"test{n}.{s}.out" for n in (1, 2) for s in (1, 2, 3)} | {"test3.out"},
}


def _check_document(test_name: str, workdir: Path) -> dict[str, Any]:
    latest = workdir / ".yprov" / "latest.prov.json"
    assert latest.is_file(), f"no provenance document at {latest}: did the yprov executor run?"
    document = json.loads(latest.read_text())
    report = validate(document)
    assert report.ok, report.problems

    activities = document["activity"]
    runs = {k: v for k, v in activities.items() if k.startswith("run:")}
    steps = {k: v for k, v in activities.items() if k.startswith("step:")}
    assert len(runs) == 1, runs
    assert [run["ywf:status"] for run in runs.values()] == ["completed"]
    assert Counter(step["ywf:step_name"] for step in steps.values()) == EXPECTED_STEPS[test_name]
    assert {step["ywf:status"] for step in steps.values()} == {"completed"}

    entities = document["entity"]
    generated = {
        entities[rel["prov:entity"]]["ywf:path"]
        for rel in document.get("wasGeneratedBy", {}).values()
        if rel.get("prov:activity") in steps
    }
    assert generated == EXPECTED_OUTPUTS[test_name]
    return document


class TestBundledWorkflowsYprov(TestWorkflowsLocalStorageBase):
    __test__ = True

    def get_executor(self) -> str:
        return "yprov"

    def get_executor_settings(self) -> ExecutorSettings:
        return ExecutorSettings(strict=True)

    @pytest.fixture(autouse=True)
    def _no_yprov_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A developer's YPROV_* variables (YPROV_DISABLE, YPROV_OUT, ...) must not leak in."""
        for name in [n for n in os.environ if n.startswith("YPROV_")]:
            monkeypatch.delenv(name)

    def run_workflow(self, test_name, tmp_path, deployment_method=frozenset()):
        super().run_workflow(test_name, tmp_path, deployment_method)
        # The base class ran the workflow in its copy at tmp_path / test_name (omit_tmp is False).
        _check_document(test_name, Path(tmp_path) / test_name)
