"""Real runs of the two ML examples, made once per test session: the documents every export test
reads. Snakemake runs through its command line, the Prefect flow in a child Python with its own
temporary Prefect server (PREFECT_HOME in a temporary folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from yprov_workflows.testing import RunDocument

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class ExampleRun:
    """A finished example run: its working folder, run folder and document."""

    workdir: Path
    run_dir: Path
    run: RunDocument

    @property
    def out(self) -> Path:
        return self.workdir / ".yprov"

    @property
    def document_file(self) -> Path:
        return self.run_dir / f"{self.run_dir.name}.prov.json"


def _finished(workdir: Path) -> ExampleRun:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    run_dir = (workdir / ".yprov" / "latest.prov.json").resolve().parent
    return ExampleRun(workdir, run_dir, run)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run an example; no YPROV_* setting of the developer's shell leaks into it."""
    env = {k: v for k, v in env.items() if not k.startswith("YPROV_") or k == "YPROV_STRICT"}
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope="session")
def snakemake_run(tmp_path_factory: pytest.TempPathFactory) -> ExampleRun:
    """examples/ml_pipeline run by real Snakemake with the yprov executor."""
    workdir = tmp_path_factory.mktemp("smk")
    snakefile = EXAMPLES / "ml_pipeline" / "Snakefile"
    command = [sys.executable, "-m", "snakemake", "--executor", "yprov", "--yprov-strict"]
    command += ["--cores", "2", "--snakefile", str(snakefile), "--directory", str(workdir)]
    _run(command, workdir, dict(os.environ))
    return _finished(workdir)


@pytest.fixture(scope="session")
def prefect_run(tmp_path_factory: pytest.TempPathFactory) -> ExampleRun:
    """examples/ml_pipeline_prefect run by real Prefect (a temporary server of its own)."""
    workdir = tmp_path_factory.mktemp("prefect")
    home = tmp_path_factory.mktemp("prefect-home")
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "YPROV_STRICT": "1",
    }
    env.pop("PREFECT_API_URL", None)
    pipeline = EXAMPLES / "ml_pipeline_prefect" / "pipeline.py"
    _run([sys.executable, str(pipeline), "--workdir", str(workdir)], workdir, env)
    return _finished(workdir)


@pytest.fixture(scope="session")
def incomplete_run(snakemake_run: ExampleRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Snakemake run's folder whose journal lost its end (a killed run): it
    assembles into a document marked incomplete."""
    run_dir = tmp_path_factory.mktemp("killed") / snakemake_run.run_dir.name
    shutil.copytree(snakemake_run.run_dir, run_dir)
    journal = run_dir / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(line for line in lines if b'"kind":"run_end"' not in line))
    (run_dir / f"{run_dir.name}.prov.json").unlink()
    return run_dir


@pytest.fixture(params=["snakemake", "prefect"])
def example(request: pytest.FixtureRequest) -> ExampleRun:
    """Each engine's example run in turn."""
    run: ExampleRun = request.getfixturevalue(f"{request.param}_run")
    return run
