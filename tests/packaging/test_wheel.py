"""The wheel builds clean, installs into a fresh virtual environment with only its declared
dependencies, and both integrations and the `yprov` command work from it (no checkout on the
path). This is what `pip install 'yprov-workflows[snakemake,prefect]'` will give users."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = """
rule all:
    input: "b.txt"

rule a:
    output: "a.txt"
    shell: "echo a > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cat {input} > {output}"
"""
FLOW = """
from yprov_prefect import prov_flow, prov_task


@prov_task
def double(x: int) -> int:
    return 2 * x


@prov_flow
def flow() -> int:
    return double(21)


assert flow() == 42
"""


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(
        sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, REPO, cwd=REPO
    )
    (built,) = out.glob("yprov_workflows-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_every_package_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "yprov_workflows/py.typed",
        "yprov_workflows/schemas/prov-json.schema.json",
        "yprov_workflows/usage/launcher_program.py",
        "yprov_workflows/export/assets/graph.js",  # the offline graph page's renderer
        "yprov_workflows/export/assets/graph.css",
        "snakemake_executor_plugin_yprov/__init__.py",
        "yprov_prefect/__init__.py",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "examples/", "benchmarks/"))]


@pytest.mark.slow
def test_a_fresh_environment_runs_both_integrations_from_the_wheel(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, yprov = venv / "bin" / "python", venv / "bin" / "yprov"
    _run(python, "-m", "pip", "install", "--quiet", f"{wheel}[snakemake,prefect]", cwd=tmp_path)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    }
    where = _run(
        python,
        "-c",
        "import yprov_workflows; print(yprov_workflows.__file__)",
        cwd=tmp_path,
        env=env,
    )
    assert str(venv) in where and str(REPO) not in where
    smk = tmp_path / "smk"
    smk.mkdir()
    (smk / "Snakefile").write_text(textwrap.dedent(SNAKEFILE))
    _run(
        python,
        "-m",
        "snakemake",
        "--executor",
        "yprov",
        "--cores",
        "1",
        "--yprov-strict",
        cwd=smk,
        env=env,
    )
    flow = tmp_path / "flow"
    flow.mkdir()
    (flow / "flow.py").write_text(FLOW)
    _run(python, "flow.py", cwd=flow, env={**env, "YPROV_STRICT": "1"})
    for folder in (smk, flow):
        document = folder / ".yprov" / "latest.prov.json"
        assert "valid" in _run(yprov, "validate", document, cwd=folder, env=env)
        assert "steps" in _run(yprov, "show", document, cwd=folder, env=env)
        _run(yprov, "graph", document, "-o", folder / "graph.html", cwd=folder, env=env)
        assert "yprov graph page" in (folder / "graph.html").read_text()  # assets in the wheel
    assert os.access(yprov, os.X_OK)
