"""`yprov show`, `lineage`, `diff` and `verify` end to end on real Prefect runs: one flow run
twice with one parameter changed, in a subprocess with its own temporary Prefect server (the
same harness as tests/prefect, started once for this module)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from yprov_workflows.runs import document_path
from yprov_workflows.testing import RunDocument

pytestmark = pytest.mark.slow

FLOW = """
from pathlib import Path

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from yprov_prefect import prov_flow, prov_task


@prov_task
def prepare(n: int) -> Path:
    path = Path("data.txt")
    path.write_text("\\n".join(str(i) for i in range(n)))
    return path


@prov_task
def train(data: Path, lr: float, epochs: int) -> Path:
    path = Path(f"model_{lr}.txt")
    path.write_text(f"{lr} {epochs} {len(data.read_text().split())}")
    return path


@prov_task
def report(first: Path, second: Path) -> Path:
    path = Path("report.txt")
    path.write_text(first.read_text() + second.read_text())
    return path


@prov_flow
def pipeline(epochs: int) -> Path:
    data = prepare(10)
    first, second = (train(data, lr, epochs) for lr in (0.1, 0.5))
    return report(first, second)


with prefect_test_harness(server_startup_timeout=90), temporary_settings(
    {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
):
    pipeline(3)
    pipeline(5)
"""


def yprov(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "yprov_workflows", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(workdir, first run folder, second run folder): epochs=3, then epochs=5."""
    workdir = tmp_path_factory.mktemp("prefect")
    (workdir / "flow.py").write_text(textwrap.dedent(FLOW))
    env = {
        **os.environ,
        "PREFECT_HOME": str(workdir / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "YPROV_STRICT": "1",
    }
    command = [sys.executable, "flow.py"]
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=400, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    folders = [p for p in (workdir / ".yprov").iterdir() if p.is_dir() and p.name[0] != "."]
    first, second = sorted(folders, key=lambda p: document_path(p).stat().st_mtime)
    for run in (first, second):
        RunDocument.load(document_path(run)).assert_valid()
    return workdir, first, second


def test_show_a_prefect_run(runs: tuple[Path, Path, Path]) -> None:
    _, _, second = runs
    data = json.loads(yprov("show", second, "--json").stdout)
    assert data["engine"] == "prefect" and data["status"] == "completed"
    labels = sorted(s["label"] for s in data["steps"])
    assert labels == ["prepare", "report", "train(lr=0.1)", "train(lr=0.5)"]
    assert data["critical_path"]["labels"][0] == "prepare"
    assert data["critical_path"]["labels"][-1] == "report"
    assert yprov("show", second).returncode == 0


def test_lineage_of_the_report_reaches_prepare(runs: tuple[Path, Path, Path]) -> None:
    workdir, _, second = runs
    up = json.loads(yprov("lineage", second, "report.txt", "--json").stdout)
    steps = {n["label"] for n in up["nodes"] if n["kind"] == "step"}
    assert steps == {"report", "train(lr=0.1)", "train(lr=0.5)", "prepare"}
    params = {n["label"] for n in up["nodes"] if n["kind"] == "parameter"}
    assert {"epochs=5", "lr=0.1", "lr=0.5", "n=10"} <= params
    down = json.loads(yprov("lineage", workdir / ".yprov", "prepare", "--down", "--json").stdout)
    assert {n["label"] for n in down["nodes"] if n["kind"] == "step"} >= {"report", "prepare"}


def test_diff_pairs_tasks_whose_parameter_changed(runs: tuple[Path, Path, Path]) -> None:
    _, first, second = runs
    result = yprov("diff", first, second, "--json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert ("config", "epochs", 3, 5) in [
        (c["kind"], c["name"], c["before"], c["after"]) for c in data["run_changes"]
    ]
    assert not data["added"] and not data["removed"] and data["matched"] == 4
    causes = {
        s["label"]: s for s in data["steps"] if any(c["kind"] == "parameter" for c in s["changes"])
    }
    assert set(causes) == {"train(lr=0.1)", "train(lr=0.5)"}
    for step in causes.values():
        assert [c["name"] for c in step["changes"] if c["kind"] == "parameter"] == ["epochs"]
        assert step["downstream"] == ["report"]
    assert "prepare" not in {s["label"] for s in data["steps"] if s["changes"]}


def test_verify_a_prefect_run(runs: tuple[Path, Path, Path]) -> None:
    _, first, second = runs
    assert yprov("verify", second).returncode == 0
    stale = yprov("verify", first)
    assert stale.returncode == 1 and "model_0.1.txt: changed" in stale.stdout
