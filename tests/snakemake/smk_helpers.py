"""Run real Snakemake, in a subprocess, through the yprov executor."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from yprov_workflows.testing import RunDocument

Runner = Callable[..., subprocess.CompletedProcess[str]]


def write_workflow(workdir: Path, snakefile: str, files: dict[str, str] | None = None) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(textwrap.dedent(snakefile))
    for name, text in (files or {}).items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(textwrap.dedent(text))


def snakemake(
    workdir: Path,
    *args: str,
    executor: str = "yprov",
    strict: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`snakemake` in `workdir`; strict recording by default so recording errors fail tests."""
    command = [sys.executable, "-m", "snakemake", "--executor", executor, "--cores", "2"]
    if executor == "yprov" and strict:
        command.append("--yprov-strict")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*command, *args],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def latest(workdir: Path) -> RunDocument:
    run = RunDocument.latest(workdir)
    run.assert_valid()
    return run
